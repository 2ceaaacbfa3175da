"""One sync of this laptop with the central store (issue 9): versions, push, pull. Used by `umws sync` and by the
workstation's sync worker (app.ui.sync_ui), off the GUI thread.

    sync(store)   1. hello: protocol and schema versions first (VersionMismatch: nothing is pushed);
                  2. push the outbox in batches, oldest first, with this device's audit records after the last one
                     the server holds; each answered change becomes `acked` with its outcome, in one local
                     transaction per batch (an answer lost on the way leaves the rows pending: the next push sends
                     them again and gets the first answer back);
                  3. documents: the files of the intake documents received on this laptop that the central
                     store does not hold yet go up, one request per file (app.server.documents); a file missing
                     or changed on disk since it was attached is a warning in the report, never uploaded, and
                     does not stop the sync. Before the pull, because a case that leaves the laptop at the pull
                     (closed offline, given to another queue) takes its document rows with it;
                  4. pull: the first time every case of the user's queues, page by page (resumable), then the
                     changes after the cursor; the cases whose changes were answered come again in any case,
                     but for echoes: changes the server did as this laptop had, whose answer carried the lease
                     (app.sync.apply.take_echoes), and whose cases the pull leaves out.
Every step that fails on the network raises Offline and loses nothing; `status(store)` says what waits.
"""
from __future__ import annotations

import hashlib
import json
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import bindparam, func, select, update

from app.server.chains import local_records
from app.services import audit, intents
from app.store.models import Case, IntakeDocument, Setting, SyncConflict, SyncOutbox, utcnow
from app.sync import apply, credentials, leftovers
from app.sync.api import Api, DeviceRevoked, ServerRefused, SignInNeeded, SyncError

PUSH_BATCH = 200  # changes per push request (the server takes up to 1,000); docs/benchmarks.md, "Push batch size"
PUSH_BYTES = 8_000_000  # and no more JSON than this in one, past its first change (letters carry their PDFs)
REFRESH_PAGE = 500  # cases asked for again per pull request, after their changes were answered
KEYS = {name: f"sync.{name}" for name in ("user", "cursor", "full_cursor", "after_id", "last_sync", "last_error",
                                           "clock", "audit_seq", "last_attempt")}


@dataclass
class SyncReport:
    server: str
    pushed: int = 0
    applied: int = 0
    merged: int = 0
    conflicts: int = 0
    duplicates: int = 0
    pulled_cases: int = 0
    echoes: int = 0  # changes the server did as this laptop had: their cases were not pulled back (app.server.push)
    removed: int = 0
    skipped: list[str] = field(default_factory=list)
    cursor: int = 0
    stopped: str | None = None  # why the push stopped early (e.g. another user's changes)
    clock: str | None = None  # the server's words about this laptop's clock, when it is off
    cancelled: bool = False
    finished_at: str | None = None
    documents_uploaded: int = 0  # files of intake documents sent to the central store
    warnings: list[str] = field(default_factory=list)  # e.g. a document's file missing or changed on disk

    def to_json(self) -> dict:
        return asdict(self)


def _get(session, name: str) -> str | None:
    row = session.get(Setting, KEYS[name])
    return row.value if row else None


def _set(session, name: str, value) -> None:
    row = session.get(Setting, KEYS[name])
    if value is None:
        if row is not None:
            session.delete(row)
        return
    text = str(value)[:200]
    if row is None:
        session.add(Setting(key=KEYS[name], value=text))
    else:
        row.value = text


def server_of(store) -> str | None:
    with store.session() as session:
        row = session.get(Setting, intents.ENROLLED_KEY)
        return row.value if row else None


def _device(store) -> str:
    with store.session() as session, session.begin():
        return str(audit.device_id(session))


def login(store, server: str, username: str, password: str, *, device_name: str | None = None,
          transport=None, clock: Callable[[], datetime] | None = None) -> dict:
    """Sign in on the server (which registers this laptop as a device), keep the token in the OS keyring, and enrol
    this store in sync: from now on every write here keeps its intent in the outbox."""
    device = _device(store)
    kwargs = {"clock": clock} if clock else {}
    with Api(server, device, transport=transport, **kwargs) as api:
        api.hello()
        answer = api.login(username, password, device_name or socket.gethostname())
        credentials.save(api.url, answer["username"], answer["token"], answer["expires_at"])
        with store.session() as session, session.begin():
            intents.enroll(session, api.url)
            _set(session, "user", answer["username"])
            _set(session, "audit_seq", answer.get("audit_seq") or 0)
            if answer.get("tar_block") is not None:  # this laptop's own intake numbers (app.services.intake)
                _keep_tar_block(session, int(answer["tar_block"]))
    return answer


def _keep_tar_block(session, block: int) -> None:
    from app.services.intake import TAR_BLOCK_KEY

    row = session.get(Setting, TAR_BLOCK_KEY)
    if row is None:
        session.add(Setting(key=TAR_BLOCK_KEY, value=str(block)))
    else:
        row.value = str(block)


def logout(store) -> None:
    server = server_of(store)
    with store.session() as session:
        user = _get(session, "user")
    if server and user:
        credentials.forget(server, user)


def _api(store, server: str | None, transport, clock) -> tuple[Api, str]:
    enrolled = server_of(store)
    server = server or enrolled
    if not server:
        raise SignInNeeded("This laptop is not signed in to a sync server yet: run 'umws login --server URL --user "
                           "NAME' (or Sync > Sign in to server…).")
    with store.session() as session:
        user = _get(session, "user")
    token = credentials.load(server, user) if user else None
    if token is None:
        raise SignInNeeded(f"Sign in to {server} first (umws login --server {server} --user NAME): the sign-in "
                           "has expired or was never made on this laptop. Your changes wait here.")
    kwargs = {"clock": clock} if clock else {}
    return Api(server, _device(store), token=token, transport=transport, **kwargs), user


def sync(store, *, server: str | None = None, transport=None, clock: Callable[[], datetime] | None = None,
         progress: Callable[[int, int], None] | None = None,
         cancelled: Callable[[], bool] | None = None) -> SyncReport:
    """Push the outbox and pull the user's queues (see the module docstring). SyncError subclasses say why not."""
    api, user = _api(store, server, transport, clock)
    report = SyncReport(api.url)
    cancelled = cancelled or (lambda: False)
    progress = progress or (lambda done, total: None)
    try:
        with store.session() as session, session.begin():
            _set(session, "last_attempt", utcnow().isoformat())
        api.hello()
        _push(store, api, report, progress, cancelled)
        if not report.cancelled:
            upload_documents(store, api, report, progress, cancelled)
        if not report.cancelled:
            _pull(store, api, user, report, progress, cancelled)
        if not report.cancelled and not report.stopped:
            _push(store, api, report, progress, cancelled)  # the audit records the pull wrote
    except SyncError as error:
        with store.session() as session, session.begin():
            _set(session, "last_error", str(error))
        raise
    finally:
        api.close()
    with store.session() as session, session.begin():
        if not report.cancelled:
            report.finished_at = utcnow().isoformat()
            _set(session, "last_sync", report.finished_at)
        _set(session, "last_error", report.stopped)
        _set(session, "clock", report.clock)
    return report


@dataclass
class _Batch:
    """One push request: outbox rows (as JSON) and this device's audit records after those the server holds."""
    mutations: list[dict]
    records: list[dict]
    audit_seq: int  # the last record the server held when the batch was read

    @property
    def last_seq(self) -> int:
        return self.mutations[-1]["seq"] if self.mutations else 0

    @property
    def audit_after(self) -> int:
        """The last audit record the server holds once it has taken this batch."""
        return self.records[-1]["seq"] if self.records else self.audit_seq

    def answered_whole(self, answer: dict) -> bool:
        """The server took all of it: every change answered and every record held, nothing stopped."""
        return (not answer.get("stopped") and len(answer.get("results") or []) == len(self.mutations)
                and answer.get("audit_seq", self.audit_seq) == self.audit_after)


def _read_batch(store, after_seq: int = 0, audit_seq: int | None = None) -> _Batch:
    with store.session() as session:
        mutations = _within_bytes([_mutation_json(row) for row in
                                   intents.pending(session, PUSH_BATCH, after_seq=after_seq)])
        if audit_seq is None:
            audit_seq = int(_get(session, "audit_seq") or 0)
        records = local_records(session, audit.device_id(session), audit_seq)
        return _Batch(mutations, records, audit_seq)


def _within_bytes(mutations: list[dict]) -> list[dict]:
    """The first of `mutations` that fit in PUSH_BYTES of JSON, and always the first one: a batch of letters
    printed offline is sent in several requests, not one of hundreds of megabytes. The rest go in the next batch."""
    size = 0
    for count, mutation in enumerate(mutations):
        size += len(json.dumps(mutation))
        if count and size > PUSH_BYTES:
            return mutations[:count]
    return mutations


def _push(store, api: Api, report: SyncReport, progress, cancelled) -> None:
    """Push the outbox batch after batch. The next batch goes out as soon as the server has answered the last one,
    and the laptop acknowledges that answer and reads the batch after while the server works on it (one request in
    flight at a time, in outbox order: the server sees the same sequence of requests as one at a time). After an
    answer that did not take its whole batch (stopped, or records the server did not keep), the rest is read again
    from the outbox."""
    with store.session() as session:
        total = intents.pending_count(session)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="umws-push") as sender:
        def send(batch: _Batch):
            """The request of `batch` on its way, or None: nothing in it, or the user cancelled (noted)."""
            if not batch.mutations and not batch.records:
                return None
            if cancelled():
                report.cancelled = True
                return None
            return sender.submit(api.push, batch.mutations, batch.records)

        batch = _read_batch(store)
        coming = send(batch)
        while coming is not None:
            answer = coming.result()
            _note_clock(report, answer)
            following = coming = None
            if batch.answered_whole(answer) and batch.mutations:
                following = _read_batch(store, batch.last_seq, batch.audit_after)
                coming = send(following)
            _acknowledge(store, batch, answer, report)  # while the server works on the next batch
            progress(report.pushed, total)
            stopped = answer.get("stopped")
            if stopped:
                report.stopped = stopped.get("message")
                return
            if report.cancelled:
                return
            if coming is None:
                if not batch.mutations and answer.get("audit_seq", batch.audit_seq) == batch.audit_seq:
                    return  # only records were left, and the server keeps no more of them
                following = _read_batch(store)  # from what the outbox and the server now say
                coming = send(following)
            batch = following


def _acknowledge(store, batch: _Batch, answer: dict, report: SyncReport) -> None:
    """Keep the server's answer to a batch: its outcomes on the outbox rows and how far it holds the chain."""
    with store.session() as session, session.begin():
        _set(session, "audit_seq", answer.get("audit_seq", batch.audit_seq))
        results = answer.get("results") or []
        if results:
            _ack(session, audit.device_id(session), results)
            report.echoes += apply.take_echoes(session, results)
        for result in results:
            report.pushed += 1
            if result.get("duplicate"):
                report.duplicates += 1
            key = {"applied": "applied", "merged": "merged", "conflict": "conflicts"}[result["outcome"]]
            setattr(report, key, getattr(report, key) + 1)


ASK_BATCH = 500  # SHA-256s per question to the server


def _own_document_hashes(session) -> set[str]:
    """The SHA-256s of the documents this laptop attached itself (its `intake` changes name them)."""
    hashes: set[str] = set()
    for payload in session.scalars(select(SyncOutbox.payload).where(SyncOutbox.intent == "intake")):
        data = payload if isinstance(payload, dict) else json.loads(payload or "{}")
        hashes.update(str(d.get("sha256")) for d in data.get("documents") or () if d.get("sha256"))
    return hashes


def _file_sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def upload_documents(store, api: Api, report: SyncReport, progress, cancelled) -> None:
    """Step 3 of a sync (module docstring). The intake documents not yet confirmed centrally whose file is here
    (matching its SHA-256) are asked about, then the ones the server lacks are uploaded; each confirmation sets
    `stored_centrally_at` here at once (and on the server, whose copy comes back with the case), so a document is
    asked about until the central store holds it and never after. Offline (raised) loses nothing."""
    with store.session() as session:
        rows = session.execute(
            select(IntakeDocument.sha256, IntakeDocument.stored_path, IntakeDocument.file_name, Case.tar)
            .join(Case, Case.id == IntakeDocument.case_id)
            .where(IntakeDocument.stored_centrally_at.is_(None))
            .order_by(IntakeDocument.attached_at)).all()
        own = _own_document_hashes(session) if rows else set()
    files: dict[str, tuple[str, str, str]] = {}  # sha256 -> path, file name, TAR
    seen: set[str] = set()
    for sha256, path, name, tar in rows:
        if sha256 in seen:  # the same file attached twice: asked about (or warned of) once
            continue
        seen.add(sha256)
        actual = _file_sha256(path)
        if actual == sha256:
            files[sha256] = (path, name, tar)
        elif sha256 in own and actual is None:
            report.warnings.append(f"The file of '{name}' (TAR {tar}) is no longer at {path}; it cannot be sent to "
                                   "the central store. Put the file back there, or ask the sender for it again.")
        elif sha256 in own:
            report.warnings.append(f"The file of '{name}' (TAR {tar}) at {path} has changed since it was attached "
                                   "(its SHA-256 differs), so it was not sent to the central store. Put the "
                                   "original back there.")
    hashes = sorted(files)
    total = len(hashes)
    for start in range(0, total, ASK_BATCH):
        if cancelled():
            report.cancelled = True
            return
        asked = hashes[start:start + ASK_BATCH]
        answer = api.documents_missing(asked)
        _confirm(store, answer.get("held") or [])
        for sha256 in answer.get("unknown") or []:
            path, name, tar = files[sha256]
            if sha256 in own:
                report.warnings.append(f"The central store has no document '{name}' (TAR {tar}): the request it "
                                       "came with may have become a conflict. The file stays on this laptop.")
        for number, sha256 in enumerate(answer.get("missing") or [], start=1):
            if cancelled():
                report.cancelled = True
                return
            path, name, tar = files[sha256]
            try:
                with open(path, "rb") as handle:
                    content = handle.read()
            except OSError:
                content = None
            if content is None or hashlib.sha256(content).hexdigest() != sha256:
                report.warnings.append(f"The file of '{name}' (TAR {tar}) changed while it was being sent; it goes "
                                       "at the next sync if it is the original again.")
                continue
            try:
                api.upload_document(sha256, content)
            except ServerRefused as refused:  # the server's words (too large, unknown); the sync goes on
                report.warnings.append(f"'{name}' (TAR {tar}) was not stored centrally: {refused}")
                continue
            _confirm(store, [sha256])
            report.documents_uploaded += 1
            progress(start + number, total)


def _confirm(store, hashes: list[str]) -> None:
    if not hashes:
        return
    with store.session() as session, session.begin():
        session.execute(update(IntakeDocument).where(IntakeDocument.sha256.in_(hashes),
                                                     IntakeDocument.stored_centrally_at.is_(None))
                        .values(stored_centrally_at=utcnow()).execution_options(synchronize_session=False))


def document_fetcher(store, *, transport=None, progress: Callable[[int, int], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> Callable[[str], bytes] | None:
    """For app.services.documents.open_document on an enrolled laptop: `fetch(document_id)` downloads the file
    from the sync server (None: this store is not enrolled in sync). Offline and a lapsed sign-in are
    `Unreachable`; the server's refusal (outside the user's queues, not uploaded yet) is `ActionRefused`. The
    download streams in chunks (app.sync.api.Api.fetch_document): `progress(received, total)` in bytes after each,
    and `cancelled()` between them; a cancelled download is `Cancelled`, and nothing of it is returned."""
    from app.services.cases import ActionRefused
    from app.services.documents import Cancelled, Unavailable, Unreachable
    from app.sync.api import DownloadCancelled

    if server_of(store) is None:
        return None

    def fetch(document_id: str) -> bytes:
        try:
            api, _user = _api(store, None, transport, None)
        except SignInNeeded as error:
            raise Unreachable(f"{error} Then open the document again.") from error
        try:
            with api:
                return api.fetch_document(document_id, progress=progress, cancelled=cancelled)
        except DownloadCancelled as error:
            raise Cancelled("The download was cancelled; nothing of it was kept.") from error
        except (SignInNeeded, DeviceRevoked) as error:
            raise Unreachable(str(error)) from error
        except ServerRefused as error:
            if error.server_code in ("not-uploaded", "unknown-document"):
                raise Unavailable(str(error)) from error
            raise ActionRefused(str(error), who=("nurse-supervisor",)) from error
        except SyncError as error:  # offline, the server busy, versions
            raise Unreachable("The central store cannot be reached, so the file cannot be fetched now: sync when "
                              "online to fetch it.") from error

    return fetch


def _ack(session, device: uuid.UUID, results: list[dict]) -> None:
    """The outbox rows the server answered become `acked` with its answer (one statement for the batch)."""
    outbox = SyncOutbox.__table__
    acked_at = utcnow()
    session.execute(
        update(outbox).where(outbox.c.device_id == bindparam("device"), outbox.c.seq == bindparam("number"),
                             outbox.c.state == "pending")
        .values(state="acked", outcome=bindparam("answer"), message=bindparam("words"), acked_at=acked_at),
        [{"device": device, "number": result["seq"], "answer": result["outcome"], "words": result.get("message")}
         for result in results])


def _mutation_json(row: SyncOutbox) -> dict:
    return {"mutation_id": str(row.mutation_id), "seq": row.seq, "case_id": str(row.case_id) if row.case_id else None,
            "tar": row.tar, "base_version": row.base_version,
            "base_mutation_id": str(row.base_mutation_id) if row.base_mutation_id else None,
            "after_version": row.after_version, "intent": row.intent, "payload": row.payload, "actor": row.actor,
            "created_at": row.created_at.astimezone(timezone.utc).isoformat(), "mine": row.mine}


def _note_clock(report: SyncReport, answer: dict) -> None:
    clock = answer.get("clock")
    if clock:
        report.clock = clock.get("message")


def _pull(store, api: Api, user: str, report: SyncReport, progress, cancelled) -> None:
    """Pull page after page. The next page is asked for while this one is applied (its request follows from the
    page alone: the cursor, or where a first pull goes on), so the server builds one page while the laptop writes
    the one before; a page is applied, and the cursor kept, in one local transaction, in order."""
    with store.session() as session:
        refresh = sorted({str(case_id) for case_id in session.scalars(
            select(SyncOutbox.case_id).where(SyncOutbox.state == "acked", SyncOutbox.case_id.is_not(None)))})
        stored, full_cursor = _get(session, "cursor"), _get(session, "full_cursor")
        where = {"cursor": int(stored) if stored is not None else None, "after_id": _get(session, "after_id"),
                 "full_cursor": int(full_cursor) if full_cursor else None}
    pages = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="umws-pull") as fetcher:
        asked, refresh = refresh[:REFRESH_PAGE], refresh[REFRESH_PAGE:]
        coming = fetcher.submit(api.pull, where["cursor"], after_id=where["after_id"],
                                full_cursor=where["full_cursor"], refresh=asked)
        while True:
            if cancelled():
                report.cancelled = True
                return
            page = coming.result()
            started_after = where["after_id"]  # where this page's request started (a first pull's pages)
            _note_clock(report, page)
            if page.get("first_pull_again"):  # the cursor was behind the central change log's horizon
                report.warnings.append(page["first_pull_again"]["message"])
            if page["mode"] == "full":
                refresh = []  # a first pull brings every case anyway
            elif refresh:  # a case asked for again that came in this page is not asked for twice
                came = {snap["case"]["id"] for snap in page.get("cases") or []} | set(page.get("gone") or [])
                refresh = [case_id for case_id in refresh if case_id not in came]
            where = _after(page)
            last = not page["more"] and not refresh
            if not last:
                asked, refresh = refresh[:REFRESH_PAGE], refresh[REFRESH_PAGE:]
                coming = fetcher.submit(api.pull, where["cursor"], after_id=where["after_id"],
                                        full_cursor=where["full_cursor"], refresh=asked)
            with store.session() as session, session.begin():
                applied = apply.apply_page(session, page, user)
                applied.removed += leftovers.let_go_unlisted(session, page, started_after)
                for name, value in where.items():
                    _set(session, name, value)
            report.pulled_cases += applied.cases
            report.removed += applied.removed
            report.skipped += applied.skipped
            pages += 1
            progress(pages, pages + (0 if last else 1))
            if last:
                report.cursor = int(where["cursor"] or 0)
                return


def _after(page: dict) -> dict:
    """Where the pull goes on after `page`: the cursor, and while a first pull is under way, where it is."""
    if page["mode"] == "full" and page["more"]:
        return {"cursor": None, "full_cursor": page["full_cursor"], "after_id": page["after_id"]}
    return {"cursor": page["cursor"], "full_cursor": None, "after_id": None}


def status(store) -> dict:
    """What `umws sync status --json` and the status bar show: pending changes, last sync, open conflicts, server."""
    with store.session() as session:
        server_row = session.get(Setting, intents.ENROLLED_KEY)
        pending = intents.pending_count(session)
        conflicts = session.scalar(select(func.count()).select_from(SyncConflict)
                                   .where(SyncConflict.resolved_at.is_(None))) or 0
        values = {name: _get(session, name) for name in KEYS}
    last_sync = values["last_sync"]
    return {"server": server_row.value if server_row else None, "user": values["user"], "pending": pending,
            "last_sync": last_sync, "conflicts": conflicts, "last_error": values["last_error"],
            "clock": values["clock"], "cursor": int(values["cursor"] or 0),
            "last_attempt": values["last_attempt"]}


def seconds_since(instant: str | None, now: datetime | None = None) -> float | None:
    if not instant:
        return None
    return ((now or datetime.now(timezone.utc)) - datetime.fromisoformat(instant)).total_seconds()
