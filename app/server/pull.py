"""What a laptop pulls (issue 9, design 5): its user's queues and reference data, by a cursor that skips nothing.

* The cursor is a number of the central store's commit-ordered change log (sync_changes, migration 0006): numbers
  are taken at commit under one lock, so when a reader sees number n every smaller number has committed. A pull
  asks for the changes after its cursor; a page ends at a change number, and the next pull starts there.
* A cursor behind the change log's horizon (rows pruned after it: app.server.change_log) is answered with the first
  page of a first pull and `first_pull_again` saying why.
* The first pull (cursor 0) reads the cases in the user's scope by id, page after page, under the change number
  read before the first page: whatever commits meanwhile comes again in the next incremental pull (applying a
  snapshot twice changes nothing).
* Scope: the union of the queues the user's role sees (app.domain.queues: my cases, the team's unassigned and
  pended queues, referrals for physicians, pharmacy TARs for pharmacy staff, every open case for supervisors;
  for the stay queues, their open stays whatever the hour: app.store.stay_worklist.scope_condition);
  for UM coordinators, whose work is the letters, the cases with letters still to go out (drafted, waiting for a
  translation, or issued and not yet mailed). Plus the cases of the user's own open conflicts, until resolved.
  A changed case outside it (closed, or gone to someone else's queue) is listed in `gone`: the laptop lets its
  copy go once it holds no unsent change of it.
* Reference data: users (with no password hash but the caller's own, for signing in offline), criteria sets, and
  the caller's conflicts (a supervisor's: every open conflict of their teams, or all).
* Echoes (migration 0021): a case whose changes after the cursor were all made by the caller's own pushes,
  answered as echoes (app.server.push.ECHOES), is left out: the laptop holds it as it is here. It is still listed
  in `gone` when it left the scope.
"""
from __future__ import annotations

import os
import uuid
from typing import Iterable

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from app.domain.queues import QUEUES
from app.domain.roles import SUPERVISOR_ROLES
from app.server.accounts import Caller
from app.store import sync_rows
from app.store.models import Case, Letter, SyncChange, SyncConflict, SyncMutation, User
from app.store.worklist import Viewer, _queue_condition

LETTER_ROLES = frozenset({"um-coordinator"})
LETTERS_TO_GO = ("draft", "translation-needed", "issued")  # app.services.letters.OPEN_STATUSES

# Page sizes (the test bench makes them small, through the environment, to have many pages with few cases).
PAGE_CASES = int(os.environ.get("UMWS_SYNC_PAGE_CASES", "500"))
PAGE_CHANGES = int(os.environ.get("UMWS_SYNC_PAGE_CHANGES", "2000"))


def scope_condition(caller: Caller):
    user = caller.user
    viewer = Viewer(user.id, user.username, user.role, user.team)
    from app.store import stay_worklist

    conditions = [stay_worklist.scope_condition(queue, viewer) if queue.stays
                  else _queue_condition(queue, viewer, _now())
                  for queue in QUEUES.values() if user.role in queue.roles and not queue.due_today]
    if user.role in LETTER_ROLES:  # the coordinators' letter queue (app.services.letters.letter_queue)
        conditions.append((Case.status != "closed") & Case.id.in_(
            select(Letter.case_id).where(Letter.status.in_(LETTERS_TO_GO))))
    conditions += _appeal_and_p2p_scope(user)
    # A case with an open conflict of the user's own stays on their laptop until it is resolved.
    conditions.append(Case.id.in_(select(SyncConflict.case_id).where(SyncConflict.actor == user.username,
                                                                     SyncConflict.resolved_at.is_(None))))
    return or_(*conditions)


def _appeal_and_p2p_scope(user) -> list:
    """The cases of the user's appeal queues (their rows are appeals, chosen by the appeal's status and reviewer,
    in any case state: app.store.appeal_queues) and, for a peer-to-peer reviewer, the cases of the calls booked with
    them on any day (so that a call held offline can be recorded there)."""
    from app.domain.p2p import PEER_ROLES
    from app.store.models import Appeal, P2PBooking

    conditions = []
    for queue in QUEUES.values():
        if queue.source == "appeals" and user.role in queue.roles:
            chosen = Appeal.status.in_(queue.states)
            if queue.assignee == "me":
                chosen = chosen & (Appeal.reviewer_id == user.id)
            conditions.append(Case.id.in_(select(Appeal.case_id).where(chosen)))
    if user.role in PEER_ROLES:
        conditions.append(Case.id.in_(select(P2PBooking.case_id).where(P2PBooking.reviewer_id == user.id,
                                                                       P2PBooking.status == "booked")))
    return conditions


def _now():
    from app.store.models import utcnow

    return utcnow()


def last_change(session: Session) -> int:
    """The last change number a first pull has seen (the horizon's last pruned one when the log holds none)."""
    from app.server import change_log

    latest = session.scalar(select(func.coalesce(func.max(SyncChange.change_no), 0)))
    return max(latest, change_log.horizon(session) - 1)


def snapshots(session: Session, case_ids: Iterable[uuid.UUID]) -> list[dict]:
    """Each case with everything that belongs to it, as JSON (app.store.sync_rows)."""
    ids = list(case_ids)
    cases = sync_rows.rows(session, sync_rows.CASES, "id", ids)
    if not cases:
        return []
    children = sync_rows.case_children(session, ids)
    members = {row["id"]: row for row in sync_rows.rows(session, sync_rows.MEMBERS, "id",
                                                          {uuid.UUID(c["member_id"]) for c in cases})}
    named = {c["id"]: {c[key] for key in ("requesting_provider_id", "servicing_provider_id") if c[key]}
             for c in cases}
    for table, column in sync_rows.CHILD_PROVIDERS:  # a stay's facility and physicians
        for case_id, row in children[table.name]:
            if row[column]:
                named[case_id].add(row[column])
    provider_ids = {uuid.UUID(value) for values in named.values() for value in values}
    providers = {row["id"]: row for row in sync_rows.rows(session, sync_rows.PROVIDERS, "id", provider_ids)}
    by_case: dict[str, dict] = {c["id"]: {"case": c, "member": members.get(c["member_id"]),
                                          "providers": [providers[p] for p in sorted(named[c["id"]])
                                                        if p in providers]} for c in cases}
    for table_name, table_rows in children.items():
        for snapshot in by_case.values():
            snapshot.setdefault(table_name, [])
        for case_id, row in table_rows:
            by_case[case_id][table_name].append(row)
    return list(by_case.values())


def users_json(session: Session, caller: Caller, ids: Iterable[uuid.UUID] | None = None) -> list[dict]:
    statement = select(sync_rows.USERS)
    if ids is not None:
        ids = list(ids)
        if not ids:
            return []
        statement = statement.where(sync_rows.USERS.c.id.in_(ids))
    out = []
    for row in session.execute(statement):
        data = sync_rows.row_to_json(sync_rows.USERS, row._mapping)
        if data["username"] != caller.username:
            for column in sync_rows.PRIVATE_USER_COLUMNS:
                data.pop(column, None)
        else:
            for column in ("failed_sign_ins", "locked_until", "last_sign_in_at"):
                data.pop(column, None)
        out.append(data)
    return out


def _referenced_users(snaps: list[dict]) -> set[uuid.UUID]:
    ids = set()
    for snap in snaps:
        if snap["case"]["assignee_id"]:
            ids.add(uuid.UUID(snap["case"]["assignee_id"]))
        for event in snap["case_events"]:
            if event["actor_id"]:
                ids.add(uuid.UUID(event["actor_id"]))
        for involvement in snap["care_involvements"]:
            ids.update({uuid.UUID(involvement["user_id"]), uuid.UUID(involvement["declared_by_id"])})
        for issued in snap["issued_letters"]:
            ids.add(uuid.UUID(issued["issued_by_id"]))
        for table_name, columns in sync_rows.USER_COLUMNS.items():  # appeals' reviewers, P2P physicians ...
            ids.update(uuid.UUID(row[column]) for row in snap.get(table_name) or [] for column in columns
                       if row.get(column))
    return ids


def availability_json(session: Session, user_ids: Iterable[uuid.UUID] | None = None) -> list[dict]:
    """Reviewers' peer-to-peer availability (reference data, edited centrally only): every row, or those of
    `user_ids` (whose availability changed: migration 0014 logs it as a change of the user)."""
    if user_ids is None:
        return [sync_rows.row_to_json(sync_rows.AVAILABILITY, row._mapping)
                for row in session.execute(select(sync_rows.AVAILABILITY))]
    return sync_rows.rows(session, sync_rows.AVAILABILITY, "user_id", user_ids)


def conflicts_condition(caller: Caller):
    user = caller.user
    if user.role in SUPERVISOR_ROLES or user.role == "auditor":
        return SyncConflict.id.is_not(None)
    mine = SyncConflict.actor == user.username
    return or_(mine, SyncConflict.team == user.team) if user.team and user.role == "nurse-supervisor" else mine


def pull(session: Session, caller: Caller, *, cursor: int | None = None, after_id: str | None = None,
         full_cursor: int | None = None, refresh: Iterable[str] = ()) -> dict:
    """One page of what the caller's laptop should hold (see the module docstring)."""
    from app.server import change_log, leases

    leases.renew(session, caller)
    refresh_ids = {uuid.UUID(value) for value in refresh}
    if cursor is None:  # never pulled (or told to start again): every case of the scope
        return _full_page(session, caller, after_id, full_cursor, refresh_ids)
    device = caller.device.device_id
    changes = session.execute(select(SyncChange.change_no, SyncChange.entity, SyncChange.entity_id,
                                     _echoed(device).label("echo"))
                              .where(SyncChange.change_no > cursor).order_by(SyncChange.change_no)
                              .limit(PAGE_CHANGES)).all()
    served_from = change_log.horizon(session)  # read after the changes: a prune committed meanwhile shows
    if change_log.behind(cursor, served_from):
        return _first_pull_again(session, caller, cursor, served_from)
    new_cursor = changes[-1].change_no if changes else cursor
    more = len(changes) == PAGE_CHANGES
    changed = {c.entity_id for c in changes if c.entity == "case"}
    case_ids = changed | refresh_ids
    later = _coming_later(session, case_ids, new_cursor, device) if more else set()
    case_ids -= later
    # Changed only by this device's own pushes, answered as echoes: the laptop holds them as they are here.
    echoes = changed - {c.entity_id for c in changes if c.entity == "case" and not c.echo} - later - refresh_ids
    user_ids = {c.entity_id for c in changes if c.entity == "user"}
    set_ids = {c.entity_id for c in changes if c.entity == "criteria-set"}
    conflict_ids = {c.entity_id for c in changes if c.entity == "conflict"}
    conflicts = _conflicts(session, caller, conflict_ids)
    with_conflicts = {uuid.UUID(c["case_id"]) for c in conflicts if c["case_id"]}
    case_ids |= with_conflicts
    echoes -= with_conflicts
    in_scope = _in_scope(session, caller, case_ids)
    snaps = snapshots(session, [case_id for case_id in in_scope if case_id not in echoes])
    users = users_json(session, caller, user_ids | _referenced_users(snaps))
    sets = sync_rows.rows(session, sync_rows.CRITERIA_SETS, "id", set_ids)
    return {"mode": "changes", "cursor": new_cursor, "more": more, "cases": snaps,
            "gone": sorted(str(i) for i in case_ids - set(in_scope)), "users": users, "criteria_sets": sets,
            "conflicts": conflicts, "p2p_availability": availability_json(session, user_ids),
            "echoes": len(echoes & set(in_scope))}


def _echoed(device: uuid.UUID):
    """A change-log row of a case made by a transaction that answered changes of `device` on that case, all of them
    echoes (migration 0021, app.server.push.ECHOES): the device already holds what the row changed, but for the
    lease its push answer carried."""
    answered = ((SyncMutation.case_id == SyncChange.entity_id) & (SyncMutation.xact == SyncChange.xact)
                & (SyncMutation.device_id == device))
    return (SyncChange.xact.is_not(None) & exists().where(answered, SyncMutation.echo)
            & ~exists().where(answered, ~SyncMutation.echo))


def _first_pull_again(session: Session, caller: Caller, cursor: int, served_from: int) -> dict:
    """A cursor behind the change log's horizon (app.server.change_log): the changes after it are no longer all
    kept, so the answer is the first page of a first pull, saying why (the laptop shows it and pulls on)."""
    page = _full_page(session, caller, None, None, set())
    page["first_pull_again"] = {
        "cursor": cursor, "horizon": served_from,
        "message": f"This laptop last synced before the central store's change log was pruned (it keeps changes "
                   f"from number {served_from} on; this laptop had seen up to {cursor}): every case of your queues "
                   "is pulled again. Your unsent changes stay on this laptop and go up as usual."}
    return page


def _coming_later(session: Session, case_ids: set[uuid.UUID], cursor: int, device: uuid.UUID) -> set[uuid.UUID]:
    """The cases of this page (changed in it, or asked for again) that the change log holds a later change of,
    not an echo of the caller's (`_echoed`): the laptop pages on while `more`, so each comes once, in the page of
    its last such change. A push writes its cases' rows table by table (one flush a chunk), so a case's changes are
    spread over the log, and cases pushed are asked for again besides: without this, a pushed case came down two
    to six times. Echoes do not hold a case back: the page that lists it sends it whole."""
    later = select(SyncChange.entity_id).where(SyncChange.change_no > cursor, SyncChange.entity == "case",
                                               SyncChange.entity_id.in_(case_ids), ~_echoed(device)).distinct()
    return set(session.scalars(later))


def _in_scope(session: Session, caller: Caller, case_ids: set[uuid.UUID]) -> list[uuid.UUID]:
    if not case_ids:
        return []
    found = []
    ids = list(case_ids)
    for start in range(0, len(ids), 900):
        found += session.scalars(select(Case.id).where(Case.id.in_(ids[start:start + 900]),
                                                       scope_condition(caller))).all()
    return found


def _conflicts(session: Session, caller: Caller, ids: set[uuid.UUID] | None) -> list[dict]:
    statement = select(sync_rows.CONFLICTS).where(conflicts_condition(caller))
    if ids is not None:
        if not ids:
            return []
        statement = statement.where(SyncConflict.id.in_(list(ids)))
    else:
        statement = statement.where(SyncConflict.resolved_at.is_(None))
    return [sync_rows.row_to_json(sync_rows.CONFLICTS, row._mapping) for row in session.execute(statement)]


def _full_page(session: Session, caller: Caller, after_id: str | None, full_cursor: int | None,
               refresh_ids: set[uuid.UUID]) -> dict:
    first = after_id is None
    if full_cursor is None:
        full_cursor = last_change(session)  # read before any case: what commits later comes again
    statement = select(Case.id).where(scope_condition(caller)).order_by(Case.id).limit(PAGE_CASES)
    if after_id:
        statement = statement.where(Case.id > uuid.UUID(after_id))
    ids = session.scalars(statement).all()
    snaps = snapshots(session, ids)
    more = len(ids) == PAGE_CASES
    users = users_json(session, caller) if first else users_json(session, caller, _referenced_users(snaps))
    return {"mode": "full", "cursor": full_cursor, "full_cursor": full_cursor, "more": more,
            "after_id": str(ids[-1]) if ids else after_id, "cases": snaps, "gone": [], "users": users,
            "criteria_sets": sync_rows.rows(session, sync_rows.CRITERIA_SETS, "id",
                                            session.scalars(select(sync_rows.CRITERIA_SETS.c.id)).all())
            if first else [],
            "conflicts": _conflicts(session, caller, None) if first else [],
            "p2p_availability": availability_json(session) if first else []}
