"""Applying a laptop's pushed changes on the central store (issue 9, design 4).

A push is a batch of outbox rows of one device, in its sequence order, handled in one transaction:

1. Idempotence: a (device, seq) the server has answered before gets that first answer again, and nothing is done.
   The next new number must follow the last one applied (`sync_devices.last_seq`); a batch that starts past a
   gap (batches reordered) stops there, applied up to the gap, and says which number it expects.
2. The change must be the signed-in user's own (a shared laptop's other users push their own changes).
3. The base: the case version the laptop made the change on. When the laptop made it on top of one of its own
   changes not yet confirmed (`base_mutation_id`), the server version that change produced is the base (or, when
   that change became a conflict, the version it was judged on, and this one is judged as stale).
4. Fresh (the case is still at the base): the intent is done again through the same service function
   (app.services.intents.IntentSpec.replay), so authority, the state machine and the clocks decide again. Stale:
   the intent's `commutes` rule looks at the events since the base; a change that commutes is done again the same
   way (a merge); one that does not is a conflict. A change the rules refuse is a conflict too (kind 'refused').
   Never last-writer-wins: a conflict keeps both versions (sync_conflicts) for a person to resolve.
5. The instant the event carries is the laptop's (events keep device time), unless its clock is flagged as more
   than 5 minutes off: then the laptop's time corrected by the measured offset. Never later than the server
   received it. sync_mutations keeps the device time, the instant used and the receive time.
6. Echoes (migration 0021): a change done again exactly as the laptop did it (`_echo`) is answered with the lease
   the server took, and marked in sync_mutations, so the laptop's next pull leaves its case out (app.server.pull).

The transaction takes the central store's audit chain head first (every write appends to that chain), so
pushes queue on one lock in one order and never deadlock each other; each case is read FOR UPDATE.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, joinedload

from app.server import leases
from app.server.accounts import SKEW_LIMIT, Caller
from app.services import audit, batch_lookups
from app.services.cases import ActionRefused, InvalidInput, NotFound
from app.services.criteria import InvalidInput as CriteriaInput
from app.services.intake import AlreadyImported, DuplicatesFound
from app.services.intents import INTENTS, Call, load_all
from app.store import sync_rows
from app.store.models import (
    AuditChainHead, AuditRecord, Case, CaseLease, CaseWorkflow, SyncConflict, SyncMutation, User, utcnow,
)

MAX_BATCH = 1000
CHUNK = 100  # changes applied optimistically under one savepoint (_apply_chunk)
REFUSALS = (ActionRefused, InvalidInput, CriteriaInput, NotFound, LookupError, ValueError, AlreadyImported,
            DuplicatesFound)
# Intents whose replay on the version the laptop made them on writes what the laptop wrote, but for the lease the
# server takes: each is done on a laptop and its copy compared with the server's, table by table, by
# tests/sync/test_sync_echoes.py. Their answers are echoes (`_echo`): the laptop takes the lease from the answer
# and its next pull leaves the case out (app.server.pull). Any other intent's case comes back as before.
ECHOES = frozenset({"claim", "assign", "pend", "information-received", "refer", "extend", "decide", "notify",
                    "close", "declare-involvement", "record-fact", "choose-criteria-set", "answer-criterion"})


@dataclass
class Mutation:
    mutation_id: uuid.UUID
    seq: int
    case_id: uuid.UUID | None
    tar: str | None
    base_version: int | None
    base_mutation_id: uuid.UUID | None
    after_version: int | None
    intent: str
    payload: dict
    actor: str
    created_at: datetime
    mine: dict | None

    @classmethod
    def from_json(cls, data: dict) -> "Mutation":
        def uid(key):
            return uuid.UUID(data[key]) if data.get(key) else None

        return cls(uid("mutation_id"), int(data["seq"]), uid("case_id"), data.get("tar"), data.get("base_version"),
                   uid("base_mutation_id"), data.get("after_version"), data["intent"], data.get("payload") or {},
                   data["actor"], datetime.fromisoformat(data["created_at"]), data.get("mine"))


def lock_server_chain(session: Session) -> None:
    """Take the central store's own audit chain head (made on first use) before anything else."""
    device = audit.device_id(session)
    session.execute(select(AuditChainHead.device_id).where(AuditChainHead.device_id == device).with_for_update())


class _Answered:
    """The sync_mutations rows of this push, written together (one multi-row insert) when the push ends, or
    before anything reads the table again (a change made on top of an earlier change of the same batch)."""

    def __init__(self):
        self.rows: list[dict] = []
        self.by_id: dict[uuid.UUID, dict] = {}  # this push's answers, and those its changes were made on

    def add(self, **row) -> None:
        self.rows.append(row)
        self.by_id[row["mutation_id"]] = row

    def forget_since(self, mark: int) -> None:
        """Rows added after the first `mark` were rolled back with their changes."""
        for row in self.rows[mark:]:
            self.by_id.pop(row["mutation_id"], None)
        del self.rows[mark:]

    def know_bases(self, session: Session, batch: list["Mutation"]) -> None:
        """The earlier answers this batch's changes were made on (`base_mutation_id`), read in one statement."""
        wanted = {m.base_mutation_id for m in batch if m.base_mutation_id is not None} - set(self.by_id)
        if not wanted:
            return
        columns = (SyncMutation.mutation_id, SyncMutation.outcome, SyncMutation.server_base,
                   SyncMutation.server_after, SyncMutation.answer)
        for row in session.execute(select(*columns).where(SyncMutation.mutation_id.in_(wanted))):
            self.by_id[row.mutation_id] = row._asdict()

    def write(self, session: Session) -> None:
        if self.rows:
            session.execute(insert(SyncMutation.__table__), self.rows)
            self.rows = []


def push(session: Session, caller: Caller, mutations: list[dict], *, received_at: datetime | None = None) -> dict:
    """Apply a batch in the caller's transaction; the answer lists each change's outcome."""
    load_all()
    received_at = received_at or utcnow()
    if len(mutations) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} changes per push")
    lock_server_chain(session)
    device = caller.device
    results, stopped, todo = [], None, []
    batch = sorted(mutations, key=lambda m: int(m["seq"]))
    answered = {row.seq: row for row in session.scalars(select(SyncMutation).where(
        SyncMutation.device_id == device.device_id,
        SyncMutation.seq.in_([int(m["seq"]) for m in batch])))} if batch else {}
    last_seq = device.last_seq
    for data in batch:  # sorted: the changes answered before (numbers up to last_seq) come first
        mutation = Mutation.from_json(data)
        earlier = answered.get(mutation.seq)
        if earlier is not None:
            if earlier.mutation_id != mutation.mutation_id:
                stopped = {"code": "sequence-reused", "expected_seq": last_seq + 1, "message": (
                    f"change number {mutation.seq} of this laptop was already used by another change; the "
                    "outbox of this laptop does not match what the server received. Ask the administrator.")}
                break
            results.append({**earlier.answer, "duplicate": True})
            continue
        if mutation.seq != last_seq + 1:
            stopped = {"code": "gap", "expected_seq": last_seq + 1,
                       "message": f"the server expects change number {last_seq + 1} first"}
            break
        if mutation.actor != caller.username and not (mutation.actor == "system"
                                                      and mutation.intent == "receive"):
            stopped = {"code": "other-user", "expected_seq": mutation.seq, "message": (
                f"changes made by {mutation.actor} on this laptop wait until {mutation.actor} signs in and "
                "syncs")}
            break
        todo.append(mutation)
        last_seq = mutation.seq
    written = _Answered()
    written.know_bases(session, todo)
    with batch_lookups.batch_lookups(session):
        for start in range(0, len(todo), CHUNK):
            results.extend(_apply_chunk(session, caller, todo[start:start + CHUNK], received_at, written))
        written.write(session)
    if device.last_seq != last_seq:
        device.last_seq = last_seq
    return {"results": results, "stopped": stopped, "last_seq": device.last_seq}


def _apply_chunk(session: Session, caller: Caller, chunk: list[Mutation], received_at: datetime,
                 written: _Answered) -> list[dict]:
    """Apply up to CHUNK changes, optimistically first: their cases locked in one statement, no savepoint and no
    flush per change, one flush for the chunk (what the ORM then writes in a few multi-row statements). Most
    changes stand; when one is refused (or anything else goes wrong), the chunk's savepoint is rolled back and the
    chunk done again change by change, each in its own savepoint, so that a refusal undoes only its own change.
    Both ways run the same rules in the same order on the same rows: only the statements differ."""
    _lock_cases(session, [m.case_id for m in chunk if m.case_id is not None])
    mark = len(written.rows)
    savepoint = session.begin_nested()
    try:
        answers = [_apply(session, caller, mutation, received_at, written, careful=False) for mutation in chunk]
        session.flush()
    except Exception:  # noqa: BLE001 - whatever it was, the careful pass decides, and raises what it raises
        savepoint.rollback()
        written.forget_since(mark)  # (the batch's lookups forget what the savepoint held: batch_lookups)
        return [_apply(session, caller, mutation, received_at, written, careful=True) for mutation in chunk]
    savepoint.commit()
    return answers


def _lock_cases(session: Session, case_ids: list[uuid.UUID]) -> None:
    """Lock a chunk's cases FOR UPDATE in one statement (in id order, as every push takes them), with their holder,
    workflow and lease rows, which the changes' replays then need not read again (app.services.batch_lookups)."""
    if not case_ids:
        return
    rows = session.execute(
        select(Case, CaseWorkflow, CaseLease).outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .outerjoin(CaseLease, CaseLease.case_id == Case.id).where(Case.id.in_(set(case_ids))).order_by(Case.id)
        .options(joinedload(Case.assignee)).with_for_update(of=Case)
        .execution_options(populate_existing=True)).unique().all()
    for case, workflow, lease in rows:
        batch_lookups.remember_locked_case(session, case)
        batch_lookups.prefetch(session, CaseWorkflow, case.id, workflow)
        batch_lookups.prefetch(session, CaseLease, case.id, lease)


def _applied_time(caller: Caller, device_time: datetime, received_at: datetime) -> datetime:
    offset = caller.device.clock_offset_seconds or 0
    at = device_time
    if caller.device.skew_flagged_at is not None and abs(timedelta(seconds=offset)) > SKEW_LIMIT:
        at = device_time + timedelta(seconds=offset)
    return min(at, received_at)


def _base(session: Session, caller: Caller, mutation: Mutation,
          written: _Answered) -> tuple[int | None, list[list[int]]]:
    """(the server version the change was made on, version ranges of events the laptop had not seen when it
    made the change although the version says so).

    A change made on top of this laptop's own unconfirmed change (`base_mutation_id`) was made on the version that
    change produced; but when that change was merged over other people's events, or became a conflict, the laptop
    never saw those events, nor (for a conflict) was its own change applied: those ranges are judged again."""
    if mutation.base_mutation_id is None:
        return mutation.base_version, []
    earlier = written.by_id.get(mutation.base_mutation_id)
    if earlier is None:
        return mutation.base_version, [[0, mutation.base_version or 0]]
    unseen = list(earlier["answer"].get("unseen") or [])
    if earlier["outcome"] in ("applied", "merged"):
        return earlier["server_after"], unseen
    return earlier["server_base"], unseen


def events_since(session: Session, case_id: uuid.UUID, version: int,
                 ranges: list[list[int]] = ()) -> list[tuple[str, dict]]:
    """The central store's events on a case after `version` and within `ranges` ((from, to]: versions), as
    (kind, payload), from its own audit chain (each event's record holds the version it made)."""
    own = audit.device_id(session)
    bodies = session.scalars(select(AuditRecord.body).where(
        AuditRecord.case_id == case_id, AuditRecord.device_id == own, AuditRecord.action.in_(("create", "change")))
        .order_by(AuditRecord.seq))
    since = []
    for body in bodies:
        content = json.loads(body)
        event = content.get("event")
        made = content.get("version") or 0
        if event and (made > version or any(low < made <= high for low, high in ranges)):
            since.append((event["kind"], event.get("payload") or {}))
    return since


def _case_view(session: Session, case: Case | None) -> dict | None:
    if case is None:
        return None
    assignee = session.scalar(select(User.username).where(User.id == case.assignee_id)) if case.assignee_id else None
    return {"version": case.version, "status": case.status, "outcome": case.outcome, "assignee": assignee,
            "decided_at": case.decided_at.isoformat() if case.decided_at else None}


def _locked_case(session: Session, condition) -> Case | None:
    """The case, read FOR UPDATE; with its holder, workflow and lease row in the same statement, which the change's
    replay and `leases.follow_holder` then need not read again (app.services.batch_lookups)."""
    row = session.execute(
        select(Case, CaseWorkflow, CaseLease).outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .outerjoin(CaseLease, CaseLease.case_id == Case.id).where(condition)
        .options(joinedload(Case.assignee)).with_for_update(of=Case)
        .execution_options(populate_existing=True)).unique().one_or_none()
    if row is None:
        return None
    case, workflow, lease = row
    batch_lookups.remember_locked_case(session, case)
    batch_lookups.prefetch(session, CaseWorkflow, case.id, workflow)
    batch_lookups.prefetch(session, CaseLease, case.id, lease)
    return case


def _made_here(session: Session, caller: Caller, tar: str, written: _Answered) -> SyncMutation | None:
    """The answer this device got for the request it received offline under `tar` (None: it made no such)."""
    written.write(session)
    makers = [name for name, spec in INTENTS.items() if spec.makes_case]
    return session.scalars(select(SyncMutation).where(
        SyncMutation.device_id == caller.device.device_id, SyncMutation.tar == tar,
        SyncMutation.intent.in_(makers)).order_by(SyncMutation.seq.desc()).limit(1)).first()


def _case_for(session: Session, caller: Caller, mutation: Mutation,
              written: _Answered) -> tuple[Case | None, str | None]:
    """The central case a change is about, and why there is none when the laptop's case is not the central one.

    By id first: a case the laptop pulled, or received offline and the central store made (the same id,
    app.services.intents.derived_id), whatever its TAR is now (the central store may have numbered it anew). By TAR
    otherwise -- but a TAR the central store holds under another id is another request, unless this laptop's own
    receipt of that TAR became that case (laptops before ids were derived)."""
    if mutation.case_id is not None:
        case = batch_lookups.locked_case(session, mutation.case_id) or _locked_case(session,
                                                                                   Case.id == mutation.case_id)
        if case is not None:
            return case, None
    if not mutation.tar:
        return None, None
    case = _locked_case(session, Case.tar == mutation.tar)
    if case is None or mutation.case_id is None or case.id == mutation.case_id:
        return case, None
    made = _made_here(session, caller, mutation.tar, written)
    if made is not None and made.outcome in ("applied", "merged") and made.case_id == case.id:
        return case, None
    if made is not None and made.answer.get("central_tar"):
        return None, (f"The request TAR {mutation.tar} received on this laptop is TAR {made.answer['central_tar']} "
                      f"on the central store ({made.answer.get('message') or 'it was added to that case'}); do "
                      "this change there.")
    return None, (f"TAR {mutation.tar} on the central store is another request than this laptop's TAR "
                  f"{mutation.tar}, which the central store never made (its receipt became a conflict).")


def _resolves_unmade_request(session: Session, mutation: Mutation) -> bool:
    """Whether the change resolves a conflict about a request the central store never made (a refused intake:
    app.services.conflicts.request_not_made). Such a change has no central case to be about."""
    if mutation.intent != "resolve-conflict":
        return False
    from app.services import conflicts

    try:
        conflict = conflicts.conflict_by_id(session, str(mutation.payload.get("conflict_id")))
    except (InvalidInput, NotFound):
        return False
    return conflicts.request_not_made(session, conflict)


def _central_tar(session: Session) -> str:
    from app.services.intake import next_tars

    return next_tars(session)[0]


def _apply(session: Session, caller: Caller, mutation: Mutation, received_at: datetime,
           written: _Answered, *, careful: bool) -> dict:
    spec = INTENTS.get(mutation.intent)
    at = _applied_time(caller, mutation.created_at, received_at)
    makes_case = spec is not None and spec.makes_case and bool(mutation.payload.get("tar"))
    payload, tar, renumbered = mutation.payload, mutation.tar, None
    unmade = _resolves_unmade_request(session, mutation)
    case, missing = (None, None) if makes_case or unmade else _case_for(session, caller, mutation, written)
    if case is not None:
        tar = case.tar  # the central number (a request received offline may have a new one)
    base, unseen = _base(session, caller, mutation, written)
    server_base = case.version if case is not None else None
    since: list[tuple[str, dict]] = []
    reason, kind, stale = None, None, False
    if spec is None:
        kind, reason = "refused", (f"The server does not know the change '{mutation.intent}': it runs an older "
                                   "version of the workstation. Ask the administrator to update the server.")
    elif makes_case:
        if mutation.case_id is not None and session.get(Case, mutation.case_id) is not None:
            kind, reason = "concurrent", f"TAR {mutation.tar} was already received on the central store."
        elif _locked_case(session, Case.tar == mutation.tar) is not None:
            # Another request holds the number centrally: this one gets a central number (the laptop learns it
            # at its next pull); nothing is refused for a number.
            tar = _central_tar(session)
            payload = {**payload, "tar": tar}
            renumbered = {"from": mutation.tar, "to": tar}
    elif mutation.tar is None or unmade:
        pass  # an intent about no case (or a request never made here): only its own rules decide
    elif case is None:
        kind, reason = "refused", missing or f"TAR {mutation.tar} is not on the central store."
    else:
        stale = bool(unseen) or base is None or case.version != base
        if stale:
            since = events_since(session, case.id, base if base is not None else 0, unseen)
            if not spec.commutes(mutation.payload, since):
                kind = "concurrent"
                reason = _concurrent_reason(session, mutation, case, since)
    outcome = "conflict"
    said: dict | None = None
    if kind is None and not careful:  # a refusal raises out of the chunk, which is then done carefully
        result = spec.replay(session, Call(tar, mutation.actor, payload), at=at, mutation_id=mutation.mutation_id)
        outcome = "merged" if stale else "applied"
        said = spec.answer(payload, result) if spec.answer is not None else None
    elif kind is None:
        nested = session.begin_nested()
        try:
            result = spec.replay(session, Call(tar, mutation.actor, payload), at=at,
                                 mutation_id=mutation.mutation_id)
            session.flush()
        except REFUSALS as error:
            nested.rollback()
            kind, reason = "refused", str(error)
        else:
            nested.commit()
            outcome = "merged" if stale else "applied"
            said = spec.answer(payload, result) if spec.answer is not None else None
    if said and said.get("central_tar"):
        tar = said["central_tar"]  # the request became (part of) another central case
    echo = None
    if tar and kind is None:
        case = session.get(Case, mutation.case_id) if mutation.case_id and not said else None
        case = case or session.scalars(select(Case).where(Case.tar == tar)).one_or_none()
        if case is not None:
            lease = leases.follow_holder(session, case, caller)
            if _echo(spec, mutation, outcome, at, case, said or renumbered):
                echo = {"lease": sync_rows.row_to_json(CaseLease.__table__, {
                    column.key: getattr(lease, column.key) for column in CaseLease.__table__.columns})
                    if lease is not None else None}
    if stale and base is not None and server_base is not None and server_base > base:
        unseen = unseen + [[base, server_base]]  # what this change was merged over, or set aside because of
    answer = {"seq": mutation.seq, "mutation_id": str(mutation.mutation_id), "outcome": outcome,
              "tar": mutation.tar, "message": None, "conflict_id": None, "unseen": unseen}
    if renumbered and kind is None:
        answer.update(central_tar=renumbered["to"], **_renumbered_answer(renumbered))
    if said and kind is None:
        answer.update({key: value for key, value in said.items() if key != "outcome"})
        if said.get("renumbered"):  # cases the change made besides its own (a transfer, a discharge's needs)
            answer.update(_renumbered_answer(said["renumbered"]))
        outcome = answer["outcome"] = said.get("outcome", outcome)
    if kind is not None:
        conflict = _record_conflict(session, caller, mutation, case, kind, reason, since, at)
        answer.update(message=reason, conflict_id=str(conflict.id), conflict_kind=kind)
    if echo is not None:
        answer["echo"] = echo
    written.add(
        device_id=caller.device.device_id, seq=mutation.seq, mutation_id=mutation.mutation_id,
        case_id=case.id if case is not None else mutation.case_id, tar=mutation.tar, intent=mutation.intent,
        actor=mutation.actor, client_base=mutation.base_version, client_after=mutation.after_version,
        server_base=base if kind is None or base is not None else server_base,
        server_after=case.version if case is not None and kind is None else None, outcome=outcome,
        answer=answer, device_time=mutation.created_at, applied_time=at, received_at=received_at,
        echo=echo is not None)
    return answer


def _echo(spec, mutation: Mutation, outcome: str, at: datetime, case: Case, server_words) -> bool:
    """Whether the change, done again here, left the case as the laptop holds it but for its lease (migration
    0021): an intent of ECHOES, applied on the very version the laptop made it on (not merged over others' work),
    at the laptop's own instant, with nothing the server added in words (a new number, another case), and the case
    now as the laptop said it saw it after the change (`mine`: version, status, outcome, holder, decision time)."""
    mine = mutation.mine or {}
    if spec.name not in ECHOES or outcome != "applied" or server_words or at != mutation.created_at:
        return False
    holder = case.assignee.username if case.assignee is not None else None
    decided = mine.get("decided_at")
    return (case.version == mutation.after_version == mine.get("version") and mine.get("status") == case.status
            and mine.get("outcome") == case.outcome and mine.get("assignee") == holder
            and (datetime.fromisoformat(decided) if decided else None) == case.decided_at)


def _renumbered_answer(renumbered: dict | list[dict]) -> dict:
    """Both numbers of each new case whose number the laptop gave was another request's centrally (`renumbered`:
    from, to, and what the case is when it is not the change's own request; a list for a discharge's needs): the
    laptop shows the new ones after the pull, and the changes it made on them meanwhile follow them by their ids
    (`_case_for`)."""
    words = " ".join(
        f"TAR {each['from']} was already used on the central store for another request: "
        f"{each.get('what') or 'this request'} is TAR {each['to']} now."
        for each in (renumbered if isinstance(renumbered, list) else [renumbered]))
    return {"renumbered": renumbered, "message": f"{words} This laptop shows the new number after the sync."}


_STATE_WORDS = {"claimed": "claimed it", "assigned": "assigned it", "determined": "decided it",
                "pended": "pended it", "referred": "referred it", "closed": "closed it", "reopened": "reopened it",
                "notified": "recorded a notice", "extended": "extended it", "criterion-answered": "answered criteria",
                "information-received": "recorded information received", "letter-issued": "issued the letter",
                "letter-mailed": "marked a letter mailed", "letter-sent": "sent a letter",
                "letter-translated": "translated a letter", "letter-effective-date-set": "set a letter's effective date",
                "intake-merged": "added a request to it", "intake-linked": "linked a request to it"}
_STATE_WORDS.update({  # stays (app.services.stays)
    "stay-determined": "decided days of the stay", "stay-days-requested": "recorded days requested",
    "stay-days-pending": "referred the stay's days", "stay-leave-recorded": "recorded a leave of absence",
    "stay-care-plan-agreed": "recorded a care plan", "stay-expected-discharge-set": "set the expected discharge",
    "stay-discharged": "recorded the discharge", "stay-transferred": "recorded a transfer",
})


def _concurrent_reason(session: Session, mutation: Mutation, case: Case, since) -> str:
    what = sorted({_STATE_WORDS.get(kind, kind) for kind, _ in since})
    view = _case_view(session, case)
    holder = f"; it is now {view['status']}" + (f", held by {view['assignee']}" if view["assignee"] else "")
    return (f"TAR {case.tar} changed on the central store after you worked on it offline (someone "
            f"{', '.join(what) or 'changed it'}){holder}. Your '{mutation.intent}' was kept as a conflict for a "
            "person to resolve.")


def _record_conflict(session: Session, caller: Caller, mutation: Mutation, case: Case | None, kind: str,
                     reason: str, since, at: datetime) -> SyncConflict:
    conflict = SyncConflict(
        id=uuid.uuid4(), mutation_id=mutation.mutation_id, device_id=caller.device.device_id, seq=mutation.seq,
        case_id=case.id if case is not None else mutation.case_id, tar=mutation.tar,
        team=case.team if case is not None else None, intent=mutation.intent, payload=mutation.payload,
        actor=mutation.actor, kind=kind, reason=reason,
        mine={"intent": mutation.intent, "payload": mutation.payload, "actor": mutation.actor,
              "device_time": mutation.created_at.isoformat(), "base_version": mutation.base_version,
              "case": mutation.mine},
        theirs={"case": _case_view(session, case),
                "since": [{"kind": k, "payload": p} for k, p in since]},
        detected_at=utcnow())
    session.add(conflict)
    audit.append(session, actor=mutation.actor, actor_kind="user", action="change", what="sync-conflict",
                 case_id=conflict.case_id, tar=mutation.tar,
                 body={"conflict_id": str(conflict.id), "kind": kind, "intent": mutation.intent,
                       "mutation_id": str(mutation.mutation_id), "device_id": str(caller.device.device_id),
                       "seq": mutation.seq, "reason": reason, "device_time": mutation.created_at.isoformat(),
                       "applied_time": at.isoformat()})
    return conflict
