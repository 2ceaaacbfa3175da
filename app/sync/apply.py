"""Applying a pulled page on the laptop (issue 9, design 5), one local transaction per page.

* Reference data first: users (the laptop's own user's password hash only; other users' sign-in columns are never
  touched), criteria sets (immutable: a version the laptop holds stays), then members and providers.
* A case with an unsent change (an outbox row still `pending`) is not touched: the server's copy waits for the
  next pull, after the change went up.
* Members and providers: the central store's rows are the record. A member (provider) the laptop made offline
  that the central store knows under another id (the same Medi-Cal number, plan member id or NPI) gives way to it:
  the laptop's cases point at the central row, and the laptop's row goes.
* Otherwise the laptop's copy becomes the server's: the case row (its TAR too, when the central store gave a
  request received here a number of its own), its workflow row, lines, diagnoses, notes, involvements, lease,
  letters and issued letters, intake record, import sources and documents as the server holds them. The ids of
  what a change made are the same on both sides (app.services.intents.derived_id), so the laptop's own events and
  letters stay as they are when the server's copy is the same; events and issued letters the laptop has that the
  server does not (a change the server kept as a conflict), or holds differently (a change merged over others'
  work), are let go while the case is listed in `sync_rebase`, the one time the local store allows it. A case made
  here that the server knows by another id is replaced. When the case's received, decided or notice dates (or its
  TAR) change, or events are let go, a `case-synced` audit record on this device's chain says so (before and
  after), so `umws audit verify` still matches every case row against the trail.
* `gone` cases (closed, out of the user's queues, or made here and never made on the central store: a request it
  added to a case it already held) leave the laptop with their letters and intake rows, once they hold no unsent
  change.
* Their members and providers leave with them when nothing else here names them (app.sync.leftovers).
* The outbox rows the server has answered for the case become `done`: their effect is now the server's copy.
* A case left aside for an unsent change has that change's rows marked `copy_waiting`: the case is pulled again
  after the push whatever the answer (`take_echoes`, which otherwise takes an echo's answer as the server's copy).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.services import audit
from app.store import sync_rows
from app.store.models import (
    Appeal, AppealTask, P2PBooking, P2PRequest,
    Case, CaseEvent, CaseLease, CaseWorkflow, CareInvolvement, ClinicalNote, CriteriaSetRecord, Diagnosis,
    IntakeDocument, IntakeRecord, IntakeSource, IssuedLetter, Letter, Member, Provider, RequestLine, Stay, StayDay,
    StayMonth, SyncConflict, SyncOutbox, SyncRebase,
)

WATCHED = ("received_at", "decided_at")
NOTICES = ("provider_notified_at", "member_notified_at")
# Rows of a case the laptop simply takes as the server holds them (`_replace`).
_REPLACED = (RequestLine.__table__, Diagnosis.__table__, ClinicalNote.__table__, CaseWorkflow.__table__,
             CaseLease.__table__, CareInvolvement.__table__, IntakeRecord.__table__, IntakeDocument.__table__)
# Rows of a case that other rows of the case point at (a stay's ledger days, an appeal's tasks, a request's
# bookings), replaced as the server holds them: deleted last table first, written again in this order; each with
# the column that ties it to the case (directly, or through its parent: sync_rows.THROUGH).
_REPLACED_IN_ORDER = ((Stay.__table__, "case_id"), (StayDay.__table__, "stay_id"), (StayMonth.__table__, "stay_id"),
                      (Appeal.__table__, "case_id"),
                      (AppealTask.__table__, "case_id"), (P2PRequest.__table__, "case_id"),
                      (P2PBooking.__table__, "case_id"))
# Identities the central store's members and providers are known by besides their ids, and what points at them.
_IDENTITIES = (
    (Member.__table__, ("cin", "plan_member_id"), ((Case.__table__, "member_id"),
                                                   (CareInvolvement.__table__, "member_id"),
                                                   (Stay.__table__, "member_id"))),
    (Provider.__table__, ("npi",), ((Case.__table__, "requesting_provider_id"),
                                    (Case.__table__, "servicing_provider_id"),
                                    *sync_rows.CHILD_PROVIDERS)),
)
_EVENT_CONTENT = ("case_id", "occurred_at", "actor_id", "kind", "payload")
_ISSUED_SAME = ("letter_id", "sha256", "issued_at", "issued_by_id", "notice_date")


@dataclass
class Applied:
    cases: int = 0
    new_cases: int = 0
    skipped: list[str] = field(default_factory=list)  # TARs with unsent changes, left as they are
    removed: int = 0
    conflicts: int = 0


def _upsert(session: Session, table, rows: list[dict], keep: tuple[str, ...] = ()) -> None:
    """Insert or update rows by primary key (columns in `keep` are never overwritten on update), in one statement
    per set of columns. A row the laptop already holds as given is left untouched (no index or search trigger
    rewritten: a case pulled back after the laptop's own change to it is most often the same row)."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for columns, group in groups.items():
        statement = sqlite_insert(table)
        changes = {name: statement.excluded[name] for name in columns if name not in keys and name not in keep}
        if changes:
            differs = or_(*(table.c[name].is_distinct_from(value) for name, value in changes.items()))
            statement = statement.on_conflict_do_update(index_elements=keys, set_=changes, where=differs)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        session.execute(statement, group)


def apply_reference(session: Session, page: dict, own_username: str | None) -> None:
    users = []
    for data in page.get("users") or []:
        row = sync_rows.row_from_json(sync_rows.USERS, data)
        users.append(row)
    keep = sync_rows.PRIVATE_USER_COLUMNS
    # A user names their supervisor (appeals' independence rule): every user first, then who reports to whom, so
    # that a supervisor later in the page is never a missing foreign key.
    supervisors = {row["id"]: row.pop("supervisor_id") for row in users if "supervisor_id" in row}
    for row in users:
        if row.get("username") == own_username and row.get("password_hash"):
            _upsert(session, sync_rows.USERS, [row], keep=keep[1:])
        else:
            row.pop("password_hash", None)
            _upsert(session, sync_rows.USERS, [row], keep=keep)
    for user_id, supervisor_id in supervisors.items():
        session.execute(update(sync_rows.USERS).where(sync_rows.USERS.c.id == user_id)
                        .values(supervisor_id=supervisor_id))
    for data in page.get("criteria_sets") or []:
        row = sync_rows.row_from_json(sync_rows.CRITERIA_SETS, data)
        held = session.scalar(select(CriteriaSetRecord.id).where(CriteriaSetRecord.set_id == row["set_id"],
                                                                 CriteriaSetRecord.version == row["version"]))
        if held is None:
            session.execute(insert(sync_rows.CRITERIA_SETS).values(**row))
    # Reviewers' peer-to-peer availability: the central store's rows as they are (edited there only).
    _upsert(session, sync_rows.AVAILABILITY, [sync_rows.row_from_json(sync_rows.AVAILABILITY, data)
                                              for data in page.get("p2p_availability") or []])


def apply_conflicts(session: Session, page: dict) -> int:
    rows = [sync_rows.row_from_json(sync_rows.CONFLICTS, data) for data in page.get("conflicts") or []]
    _upsert(session, sync_rows.CONFLICTS, rows)
    return len(rows)


def _pending_cases(session: Session) -> set[uuid.UUID]:
    return set(session.scalars(select(SyncOutbox.case_id).where(SyncOutbox.state == "pending",
                                                                SyncOutbox.case_id.is_not(None))))


def apply_page(session: Session, page: dict, own_username: str | None) -> Applied:
    """Apply one pulled page (see the module docstring) in the caller's transaction."""
    result = Applied()
    apply_reference(session, page, own_username)
    snaps = page.get("cases") or []
    members = {s["member"]["id"]: s["member"] for s in snaps if s.get("member")}
    providers = {p["id"]: p for s in snaps for p in s.get("providers") or []}
    for (table, keys, references), rows in zip(_IDENTITIES, (members, providers)):
        rows = [sync_rows.row_from_json(table, data) for data in rows.values()]
        _adopt_identities(session, table, keys, references, rows)
        _upsert(session, table, rows)
    pending = _pending_cases(session)
    ids = [_case_id(s) for s in snaps]
    held = {}
    for start in range(0, len(ids), 900):
        held.update(session.execute(select(Case.id, Case.tar).where(Case.id.in_(ids[start:start + 900]))).all())
    renumbered = _make_way_for_new_numbers(session, snaps, held, pending)
    holders = {}  # TAR -> the laptop's case holding it
    for chunk in _chunks([snap["case"]["tar"] for snap in snaps]):
        holders.update(session.execute(select(Case.tar, Case.id).where(Case.tar.in_(chunk))).all())
    fresh, rebased, left_aside = [], [], []
    for snap, case_id in zip(snaps, ids):
        tar = snap["case"]["tar"]
        if case_id in pending:
            result.skipped.append(tar)
            left_aside.append(case_id)
            continue
        other = holders.get(tar)
        other = other if other != case_id else None
        if other is not None:
            if other in pending:
                result.skipped.append(tar)
                left_aside += [case_id, other]
                continue
            _remove(session, other, "the central store holds this request under its own id")
        (rebased if case_id in held else fresh).append(snap)
        result.cases += 1
    if rebased:
        _rebase(session, rebased, renumbered)
    if fresh:
        _insert_new(session, fresh)
        result.new_cases = len(fresh)
    _done(session, [_case_id(snap) for snap in rebased + fresh])
    from app.sync import leftovers  # (imports this module)

    parties = leftovers.parties_of(session, [uuid.UUID(value) for value in page.get("gone") or []])
    for value in page.get("gone") or []:
        case_id = uuid.UUID(value)
        if case_id in pending:
            left_aside.append(case_id)
            continue
        if session.get(Case, case_id) is None:
            _done(session, case_id)
            continue
        if _remove(session, case_id, "closed on the central store, or no longer in your queues"):
            result.removed += 1
    leftovers.remove_orphans(session, parties)  # their members and providers, when nothing else names them
    _copy_waiting(session, left_aside)
    result.conflicts = apply_conflicts(session, page)
    return result


def _copy_waiting(session: Session, case_ids: list[uuid.UUID]) -> None:
    """The server's copy of these cases came and was left aside for their unsent changes: the cases come again
    after the push whatever its answer (an echo's too: `take_echoes`)."""
    for chunk in _chunks(case_ids):
        session.execute(update(SyncOutbox).where(SyncOutbox.case_id.in_(chunk), SyncOutbox.state == "pending")
                        .values(copy_waiting=True))


def take_echoes(session: Session, results: list[dict]) -> int:
    """The answered changes the server did exactly as this laptop had (echoes: app.server.push.ECHOES), in the
    caller's transaction after they were acknowledged: the case here is the server's copy but for its lease, which
    the answer carries, so the lease is written and the rows are done, and the next pull leaves the case out. A
    row whose case's copy a pull left aside meanwhile (`copy_waiting`) stays acknowledged: the case is pulled again.
    Returns how many changes were taken so."""
    echoed = {uuid.UUID(result["mutation_id"]): result["echo"] for result in results if result.get("echo")}
    if not echoed:
        return 0
    rows = []
    for chunk in _chunks(list(echoed)):
        rows += session.execute(select(SyncOutbox.mutation_id, SyncOutbox.case_id).where(
            SyncOutbox.mutation_id.in_(chunk), SyncOutbox.state == "acked", SyncOutbox.case_id.is_not(None),
            SyncOutbox.copy_waiting.is_(False))).all()
    position = {mutation_id: number for number, mutation_id in enumerate(echoed)}  # the answers' (push) order
    leases: dict[uuid.UUID, dict | None] = {}  # the lease after the case's last echo of these answers
    for mutation_id, case_id in sorted(rows, key=lambda row: position[row.mutation_id]):
        lease = echoed[mutation_id].get("lease")
        leases[case_id] = sync_rows.row_from_json(CaseLease.__table__, lease) if lease else None
    for chunk in _chunks(list(leases)):
        session.execute(delete(CaseLease).where(CaseLease.case_id.in_(chunk)))
    held = [lease for lease in leases.values() if lease is not None]
    if held:
        session.execute(insert(CaseLease.__table__), held)
    for chunk in _chunks([row.mutation_id for row in rows]):
        session.execute(update(SyncOutbox).where(SyncOutbox.mutation_id.in_(chunk)).values(state="done"))
    return len(rows)


def _adopt_identities(session: Session, table, keys: tuple[str, ...], references, rows: list[dict]) -> None:
    """Rows the laptop holds under another id but the same identity (a member made here offline whom the central
    store knows): the laptop's rows that point at them point at the central row, and the laptop's row goes."""
    for key in keys:
        wanted = {row[key]: row for row in rows if row.get(key)}
        if not wanted:
            continue
        values = list(wanted)
        for chunk in _chunks(values):
            for local_id, value in session.execute(select(table.c.id, table.c[key]).where(table.c[key].in_(chunk))):
                central = wanted[value]
                if local_id == central["id"]:
                    continue
                session.execute(update(table).where(table.c.id == local_id).values(
                    **{name: None for name in keys}))  # frees the identity for the central row
                _upsert(session, table, [central])
                for referring, column in references:
                    session.execute(update(referring).where(referring.c[column] == local_id)
                                    .values(**{column: central["id"]}))
                session.execute(delete(table).where(table.c.id == local_id))


def _make_way_for_new_numbers(session: Session, snaps: list[dict], held: dict,
                              pending: set) -> dict[uuid.UUID, dict]:
    """A request received here that the central store numbered anew (its TAR was taken there): its old number
    is freed first, so that the case now holding it centrally can come down beside it. Returns {case: {"before":
    old TAR, "after": new TAR}}."""
    renumbered = {}
    for snap in snaps:
        case_id = _case_id(snap)
        local_tar = held.get(case_id)
        if local_tar is not None and local_tar != snap["case"]["tar"] and case_id not in pending:
            session.execute(update(Case).where(Case.id == case_id).values(tar=f"~{case_id.hex[:19]}"))
            renumbered[case_id] = {"before": local_tar, "after": snap["case"]["tar"]}
    return renumbered


def _case_id(snap: dict) -> uuid.UUID:
    return uuid.UUID(snap["case"]["id"])


def _rows(snap: dict, table) -> list[dict]:
    return [sync_rows.row_from_json(table, data) for data in snap.get(table.name) or []]


def _insert_new(session: Session, snaps: list[dict]) -> None:
    """Cases the laptop does not hold yet: bulk inserts, children after their case."""
    session.execute(insert(sync_rows.CASES), [sync_rows.row_from_json(sync_rows.CASES, s["case"]) for s in snaps])
    for table, _ in sync_rows.CASE_CHILDREN:
        rows = [row for snap in snaps for row in _rows(snap, table)]
        if not rows:
            continue
        if table is IntakeSource.__table__:  # a submission this laptop also imported (under a case of its own)
            _upsert(session, table, rows)
        elif table is P2PBooking.__table__:
            _insert_bookings(session, rows)
        else:
            session.execute(insert(table), rows)


def _chunks(values: list, size: int = 900):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _dates_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    out = {}
    for chunk in _chunks(ids):
        rows = session.execute(select(Case.id, Case.received_at, Case.decided_at,
                                      CaseWorkflow.provider_notified_at, CaseWorkflow.member_notified_at)
                               .outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id).where(Case.id.in_(chunk)))
        for case_id, *values in rows:
            out[case_id] = _dates(values)
    return out


def _dates_written(cases: list[dict], workflows: list[dict]) -> dict[uuid.UUID, dict]:
    """_dates_of the rows just written (the server's), without reading them back."""
    notices = {row["case_id"]: row for row in workflows}
    return {row["id"]: _dates([row.get(key) for key in WATCHED]
                              + [notices.get(row["id"], {}).get(key) for key in NOTICES]) for row in cases}


def _dates(values: list) -> dict:
    from app.services.cases import iso_utc

    return {key: iso_utc(value) for key, value in zip(WATCHED + NOTICES, values)}


def _rebase(session: Session, snaps: list[dict], renumbered: dict[uuid.UUID, dict] | None = None) -> None:
    """The laptop's copies of cases it holds become the server's, a page at a time."""
    ids = [_case_id(snap) for snap in snaps]
    before = _dates_of(session, ids)
    # While the cases are listed here, and only then, the local store lets their events and issued letters go.
    session.execute(insert(SyncRebase.__table__), [{"case_id": case_id} for case_id in ids])
    cases = [sync_rows.row_from_json(sync_rows.CASES, snap["case"]) for snap in snaps]
    _upsert(session, sync_rows.CASES, cases)
    written = {}
    for table in _REPLACED:
        written[table] = [row for snap in snaps for row in _rows(snap, table)]
        _replace(session, table, ids, written[table])
    for table, column in reversed(_REPLACED_IN_ORDER):
        for chunk in _chunks(ids):
            session.execute(delete(table).where(sync_rows.of_cases(table, column, chunk)))
    for table, _ in _REPLACED_IN_ORDER:
        rows = [row for snap in snaps for row in _rows(snap, table)]
        if rows and table is P2PBooking.__table__:
            _insert_bookings(session, rows)
        elif rows:
            session.execute(insert(table), rows)
    sources = [row for snap in snaps for row in _rows(snap, IntakeSource.__table__)]
    for chunk in _chunks(ids):
        session.execute(delete(IntakeSource).where(IntakeSource.case_id.in_(chunk)))
    _upsert(session, IntakeSource.__table__, sources)
    _rebase_letters(session, snaps, ids)
    replaced = _rebase_events(session, snaps, ids)
    session.execute(delete(SyncRebase))
    after = _dates_written(cases, written[CaseWorkflow.__table__])
    tars = {case_id: snap["case"]["tar"] for case_id, snap in zip(ids, snaps)}
    versions = {case_id: snap["case"]["version"] for case_id, snap in zip(ids, snaps)}
    quiet = {}
    renumbered = renumbered or {}
    for case_id in ids:
        if before.get(case_id) != after.get(case_id) or case_id in renumbered:
            body = {"before": before.get(case_id), "after": after.get(case_id), "version": versions[case_id],
                    "replaced_events": replaced.get(case_id, []), "os_user": audit.os_user()}
            if case_id in renumbered:
                body["tar"] = renumbered[case_id]
            audit.append(session, actor="sync", actor_kind="system", action="change", what="case-synced",
                         case_id=case_id, tar=tars[case_id], body=body)
        elif case_id in replaced:
            quiet[tars[case_id]] = replaced[case_id]
    if quiet:  # events replaced by the server's copies, no date changed: one record for the page
        audit.append(session, actor="sync", actor_kind="system", action="change", what="cases-synced",
                     body={"replaced_events": quiet, "os_user": audit.os_user()})


def _replace(session: Session, table, case_ids: list[uuid.UUID], rows: list[dict]) -> None:
    """The laptop's rows of these cases in `table` (one of _REPLACED: a one-column key, no other unique key)
    become `rows`: those the server does not hold go, the others are written where they differ (most of a case
    pulled back after the laptop's own change is as the laptop holds it, and is not written again)."""
    (key,) = table.primary_key.columns
    wanted = {row[key.name] for row in rows}
    held = [value for chunk in _chunks(case_ids)
            for value in session.scalars(select(key).where(table.c.case_id.in_(chunk)))]
    for chunk in _chunks([value for value in held if value not in wanted]):
        session.execute(delete(table).where(key.in_(chunk)))
    _upsert(session, table, rows)


def _insert_bookings(session: Session, rows: list[dict]) -> None:
    """The central store's peer-to-peer calls. A slot holds one call (a partial unique index, as centrally): a call
    this laptop still shows in a slot the central store gave another case is a stale copy of a case it has already
    pushed (its own copy comes with the case), and gives way. A call of a case with unsent changes is left alone:
    the central one waits (its change is answered as a conflict at the push, and the server's copies follow)."""
    from app.store.p2p_queries import SLOT_TAKEN_STATUSES

    table = P2PBooking.__table__
    pending = _pending_cases(session)
    for row in rows:
        if row["status"] not in SLOT_TAKEN_STATUSES:
            continue
        for local_id, case_id in session.execute(select(table.c.id, table.c.case_id).where(
                table.c.reviewer_id == row["reviewer_id"], table.c.starts_at == row["starts_at"],
                table.c.status.in_(SLOT_TAKEN_STATUSES), table.c.id != row["id"])).all():
            if case_id not in pending:
                session.execute(delete(table).where(table.c.id == local_id))
    session.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)


def _rebase_letters(session: Session, snaps: list[dict], ids: list[uuid.UUID]) -> None:
    """The server's letters and issued letters. An issued letter the laptop holds as the server does (same id,
    same document, issued at the same instant by the same user) stays; the others go (the server's copy is the
    record)."""
    letters = {row["id"]: row for snap in snaps for row in _rows(snap, Letter.__table__)}
    issued = {row["id"]: row for snap in snaps for row in _rows(snap, IssuedLetter.__table__)}
    table = IssuedLetter.__table__
    kept = set()
    for chunk in _chunks(ids):
        for row in session.execute(select(table.c.id, *(table.c[name] for name in _ISSUED_SAME))
                                   .where(table.c.case_id.in_(chunk))).all():
            central = issued.get(row.id)
            if central is not None and all(row._mapping[name] == central[name] for name in _ISSUED_SAME):
                kept.add(row.id)
            else:
                session.execute(delete(IssuedLetter).where(IssuedLetter.id == row.id))
    _upsert(session, Letter.__table__, list(letters.values()))
    for chunk in _chunks(ids):
        session.execute(delete(Letter).where(Letter.case_id.in_(chunk), Letter.id.not_in(list(letters) or [None])))
    missing = [row for key, row in issued.items() if key not in kept]
    if missing:
        session.execute(insert(IssuedLetter.__table__), missing)


def _rebase_events(session: Session, snaps: list[dict], ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The server's events: the laptop's copy of an event stays when it is the server's (same id, same content);
    events the server does not hold, or holds differently, are let go. Returns the events let go, by case."""
    server_events = {row["id"]: row for snap in snaps for row in _rows(snap, CaseEvent.__table__)}
    table = CaseEvent.__table__
    local: dict[uuid.UUID, dict] = {}
    for chunk in _chunks(ids):
        for event, *content in session.execute(select(table.c.id, *(table.c[name] for name in _EVENT_CONTENT))
                                               .where(table.c.case_id.in_(chunk))):
            local[event] = dict(zip(_EVENT_CONTENT, content))
    let_go = sorted((event for event, row in local.items()
                     if event not in server_events or _differs(row, server_events[event])), key=str)
    replaced: dict[uuid.UUID, list[str]] = {}
    for event in let_go:
        replaced.setdefault(local[event]["case_id"], []).append(str(event))
    for chunk in _chunks(let_go):
        session.execute(delete(CaseEvent).where(CaseEvent.id.in_(chunk)))
    gone = set(let_go)
    missing = [row for key, row in server_events.items() if key not in local or key in gone]
    if missing:
        session.execute(insert(table), missing)
    return replaced


def _differs(local: dict, central: dict) -> bool:
    return any(local[name] != central.get(name) for name in _EVENT_CONTENT)


def _done(session: Session, case_ids: list[uuid.UUID] | uuid.UUID) -> None:
    """The answered outbox rows of these cases: their effect is now the server's copy."""
    case_ids = [case_ids] if isinstance(case_ids, uuid.UUID) else case_ids
    for chunk in _chunks(case_ids):
        session.execute(update(SyncOutbox).where(SyncOutbox.case_id.in_(chunk), SyncOutbox.state == "acked")
                        .values(state="done"))


def _remove(session: Session, case_id: uuid.UUID, why: str) -> bool:
    """Let the laptop's copy of a case go (its audit records stay). False when something else still points at it."""
    tar = session.scalar(select(Case.tar).where(Case.id == case_id))
    nested = session.begin_nested()
    try:
        session.add(SyncRebase(case_id=case_id))
        session.flush()
        for table, column in reversed(sync_rows.CASE_CHILDREN):
            session.execute(delete(table).where(sync_rows.of_cases(table, column, [case_id])))
        session.execute(delete(Case).where(Case.id == case_id))
        session.execute(delete(SyncRebase).where(SyncRebase.case_id == case_id))
        _done(session, case_id)
    except IntegrityError:
        nested.rollback()
        return False
    nested.commit()
    audit.append(session, actor="sync", actor_kind="system", action="change", what="case-removed", case_id=case_id,
                 tar=tar, body={"why": why, "os_user": audit.os_user()})
    return True


__all__ = ["Applied", "apply_page", "SyncConflict"]
