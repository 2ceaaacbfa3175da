"""Applying a pulled page on the laptop (issue 9, design 5), one local transaction per page.

* Reference data first: users (the laptop's own user's password hash only; other users' sign-in columns are never
  touched), criteria sets (immutable: a version the laptop holds stays), then members and providers.
* A case with an unsent change (an outbox row still `pending`) is not touched: the server's copy waits for the
  next pull, after the change went up.
* Otherwise the laptop's copy becomes the server's: the case row, its workflow row, lines, diagnoses, notes,
  involvements and lease as the server holds them; events the laptop has that the server does not (its own,
  replaced by the server's copy of them, or a change the server kept as a conflict) are let go while the case is
  listed in `sync_rebase`, the one time the local store allows it. A case made here that the server knows by
  another id (a request received offline) is replaced the same way. When the case's received, decided or notice
  dates change, or events are let go, a `case-synced` audit record on this device's chain says so (before and
  after), so `umws audit verify` still matches every case row against the trail.
* `gone` cases (closed, or out of the user's queues) leave the laptop once they hold no unsent change.
* The outbox rows the server has answered for the case become `done`: their effect is now the server's copy.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.services import audit
from app.store import sync_rows
from app.store.models import (
    Case, CaseEvent, CaseLease, CaseWorkflow, CareInvolvement, ClinicalNote, CriteriaSetRecord, Diagnosis,
    RequestLine, SyncConflict, SyncOutbox, SyncRebase,
)

WATCHED = ("received_at", "decided_at")
NOTICES = ("provider_notified_at", "member_notified_at")
_REPLACED = (RequestLine.__table__, Diagnosis.__table__, ClinicalNote.__table__)


@dataclass
class Applied:
    cases: int = 0
    new_cases: int = 0
    skipped: list[str] = field(default_factory=list)  # TARs with unsent changes, left as they are
    removed: int = 0
    conflicts: int = 0


def _upsert(session: Session, table, rows: list[dict], keep: tuple[str, ...] = ()) -> None:
    """Insert or update rows by primary key (columns in `keep` are never overwritten on update), in one statement
    per set of columns."""
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
            statement = statement.on_conflict_do_update(index_elements=keys, set_=changes)
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
    _upsert(session, sync_rows.MEMBERS,
            [sync_rows.row_from_json(sync_rows.MEMBERS, s["member"]) for s in snaps if s.get("member")])
    providers = {p["id"]: p for s in snaps for p in s.get("providers") or []}
    _upsert(session, sync_rows.PROVIDERS,
            [sync_rows.row_from_json(sync_rows.PROVIDERS, p) for p in providers.values()])
    pending = _pending_cases(session)
    ids = [uuid.UUID(s["case"]["id"]) for s in snaps]
    held = set()
    for start in range(0, len(ids), 900):
        held |= set(session.scalars(select(Case.id).where(Case.id.in_(ids[start:start + 900]))))
    fresh, rebased = [], []
    for snap in snaps:
        case_id = uuid.UUID(snap["case"]["id"])
        tar = snap["case"]["tar"]
        if case_id in pending:
            result.skipped.append(tar)
            continue
        other = session.scalar(select(Case.id).where(Case.tar == tar, Case.id != case_id))
        if other is not None:
            if other in pending:
                result.skipped.append(tar)
                continue
            _remove(session, other, "the central store holds this request under its own id")
        (rebased if case_id in held else fresh).append(snap)
        result.cases += 1
    if rebased:
        _rebase(session, rebased)
    if fresh:
        _insert_new(session, fresh)
        result.new_cases = len(fresh)
    _done(session, [uuid.UUID(snap["case"]["id"]) for snap in rebased + fresh])
    for value in page.get("gone") or []:
        case_id = uuid.UUID(value)
        if case_id in pending:
            continue
        if session.get(Case, case_id) is None:
            _done(session, case_id)
            continue
        if _remove(session, case_id, "closed on the central store, or no longer in your queues"):
            result.removed += 1
    result.conflicts = apply_conflicts(session, page)
    return result


def _rows(snap: dict, table) -> list[dict]:
    return [sync_rows.row_from_json(table, data) for data in snap.get(table.name) or []]


def _insert_new(session: Session, snaps: list[dict]) -> None:
    """Cases the laptop does not hold yet: bulk inserts, children after their case."""
    session.execute(insert(sync_rows.CASES), [sync_rows.row_from_json(sync_rows.CASES, s["case"]) for s in snaps])
    for table, _ in sync_rows.CASE_CHILDREN:
        rows = [row for snap in snaps for row in _rows(snap, table)]
        if rows:
            session.execute(insert(table), rows)


def _chunks(values: list, size: int = 900):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _dates_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    from app.services.cases import iso_utc

    out = {}
    for chunk in _chunks(ids):
        rows = session.execute(select(Case.id, Case.received_at, Case.decided_at, CaseWorkflow.provider_notified_at,
                                      CaseWorkflow.member_notified_at)
                               .outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id).where(Case.id.in_(chunk)))
        for case_id, *values in rows:
            out[case_id] = {key: iso_utc(value) for key, value in zip(WATCHED + NOTICES, values)}
    return out


def _rebase(session: Session, snaps: list[dict]) -> None:
    """The laptop's copies of cases it holds become the server's, a page at a time."""
    ids = [uuid.UUID(snap["case"]["id"]) for snap in snaps]
    before = _dates_of(session, ids)
    _upsert(session, sync_rows.CASES, [sync_rows.row_from_json(sync_rows.CASES, snap["case"]) for snap in snaps])
    for table in (*_REPLACED, CaseWorkflow.__table__, CaseLease.__table__):
        for chunk in _chunks(ids):
            session.execute(delete(table).where(table.c.case_id.in_(chunk)))
        rows = [row for snap in snaps for row in _rows(snap, table)]
        if rows:
            session.execute(insert(table), rows)
    held_involvements = set()
    for chunk in _chunks(ids):
        held_involvements |= set(session.scalars(select(CareInvolvement.id).where(CareInvolvement.case_id.in_(chunk))))
    new_involvements = [row for snap in snaps for row in _rows(snap, CareInvolvement.__table__)
                        if row["id"] not in held_involvements]
    if new_involvements:
        session.execute(insert(CareInvolvement.__table__), new_involvements)
    server_events = {row["id"]: row for snap in snaps for row in _rows(snap, CaseEvent.__table__)}
    local: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in _chunks(ids):
        local.update(session.execute(select(CaseEvent.id, CaseEvent.case_id).where(CaseEvent.case_id.in_(chunk))).all())
    let_go = sorted((event for event in local if event not in server_events), key=str)
    replaced: dict[uuid.UUID, list[str]] = {}
    for event in let_go:
        replaced.setdefault(local[event], []).append(str(event))
    if let_go:
        session.execute(insert(SyncRebase.__table__), [{"case_id": case_id} for case_id in replaced])
        for chunk in _chunks(let_go):
            session.execute(delete(CaseEvent).where(CaseEvent.id.in_(chunk)))
        session.execute(delete(SyncRebase))
    missing = [row for key, row in server_events.items() if key not in local]
    if missing:
        session.execute(insert(CaseEvent.__table__), missing)
    after = _dates_of(session, ids)
    tars = {uuid.UUID(snap["case"]["id"]): snap["case"]["tar"] for snap in snaps}
    versions = {uuid.UUID(snap["case"]["id"]): snap["case"]["version"] for snap in snaps}
    quiet = {}
    for case_id in ids:
        if before.get(case_id) != after.get(case_id):
            audit.append(session, actor="sync", actor_kind="system", action="change", what="case-synced",
                         case_id=case_id, tar=tars[case_id],
                         body={"before": before.get(case_id), "after": after.get(case_id),
                               "version": versions[case_id], "replaced_events": replaced.get(case_id, []),
                               "os_user": audit.os_user()})
        elif case_id in replaced:
            quiet[tars[case_id]] = replaced[case_id]
    if quiet:  # events replaced by the server's copies, no date changed: one record for the page
        audit.append(session, actor="sync", actor_kind="system", action="change", what="cases-synced",
                     body={"replaced_events": quiet, "os_user": audit.os_user()})


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
            session.execute(delete(table).where(table.c[column] == case_id))
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
