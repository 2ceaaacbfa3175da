"""What else leaves a laptop at a pull (issue 9), besides the cases the page names (app.sync.apply):

* **Members and providers whose cases left.** A member (provider) came down with a case; once the last case
  that named them leaves the laptop (`gone`), nothing here needs them, and a lost laptop should hold no more member
  data than its user's queues. At the end of the page's transaction, the members and providers of the cases that
  left go too, unless a row of this store still points at them (any foreign key to `members` or `providers`: a
  case, a care involvement, a stay's member, facility or physicians, enrolment months ...) or an unsent change
  names them (an outbox row still `pending`). One `parties-removed` audit record says who went and why. Only a
  laptop does this: on the central store they are the record.
* **Cases a first pull did not list.** A first pull (every case of the user's scope, page by page in case-id
  order) brings no `gone`: on a laptop that already holds cases (a first pull again, its cursor behind the central
  change log's horizon: app.server.change_log) a case that left the queues meanwhile would stay. Each page covers
  the ids after the one the request started from, up to its last (to the end, for the last page): the laptop's
  cases in that range that the page did not bring, and that hold no change still unsettled (unsent, or answered
  but not yet followed by the server's copy: a refused intake stays with its conflict), leave as `gone` ones do.
"""
from __future__ import annotations

import json
import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.services import audit
from app.sync import apply
from app.store import sync_rows
from app.store.models import Base, Case, CareInvolvement, Member, Provider, Stay, SyncOutbox

_PARTIES = (("members", Member.__table__), ("providers", Provider.__table__))


def parties_of(session: Session, case_ids) -> dict[str, set[uuid.UUID]]:
    """The members and providers the laptop's rows of these cases name (read before the cases leave)."""
    found: dict[str, set[uuid.UUID]] = {"members": set(), "providers": set()}
    ids = list(case_ids)
    provider_columns = [(Case.__table__, "requesting_provider_id"), (Case.__table__, "servicing_provider_id"),
                        *sync_rows.CHILD_PROVIDERS]
    member_columns = [(Case.__table__, "member_id"), (CareInvolvement.__table__, "member_id"),
                      (Stay.__table__, "member_id")]
    for chunk in apply._chunks(ids):
        for name, columns in (("members", member_columns), ("providers", provider_columns)):
            for table, column in columns:
                key = table.c.id if table is Case.__table__ else table.c.case_id
                found[name].update(value for value in session.scalars(
                    select(table.c[column]).where(key.in_(chunk))) if value is not None)
    return found


def remove_orphans(session: Session, parties: dict[str, set[uuid.UUID]]) -> dict[str, list[str]]:
    """Delete the members and providers of `parties` nothing here points at any more and no unsent change names
    (module docstring), in the caller's transaction, with one audit record. Returns the ids removed."""
    if session.get_bind().dialect.name != "sqlite" or not any(parties.values()):
        return {}
    removed: dict[str, list[str]] = {}
    unsent = None
    for name, table in _PARTIES:
        candidates = set(parties.get(name) or ())
        for referring in _referring_columns(table):
            for chunk in apply._chunks(list(candidates)):
                candidates -= set(session.scalars(select(referring).where(referring.in_(chunk)).distinct()))
        if candidates and unsent is None:
            unsent = " ".join(json.dumps(payload, default=str) for payload in session.scalars(
                select(SyncOutbox.payload).where(SyncOutbox.state == "pending")))
        gone = sorted((value for value in candidates if str(value) not in unsent and value.hex not in unsent),
                      key=str)
        for chunk in apply._chunks(gone):
            session.execute(delete(table).where(table.c.id.in_(chunk)))
        if gone:
            removed[name] = [str(value) for value in gone]
    if removed:
        audit.append(session, actor="sync", actor_kind="system", action="change", what="parties-removed",
                     body={**removed, "why": "every case that named them left this laptop; nothing else here "
                           "names them and no unsent change does", "os_user": audit.os_user()})
    return removed


def _referring_columns(table) -> list:
    """Every column of the schema with a foreign key to `table`'s id."""
    return [fk.parent for other in Base.metadata.sorted_tables for fk in other.foreign_keys
            if fk.column.table is table]


def let_go_unlisted(session: Session, page: dict, after_id: str | None) -> int:
    """After a first-pull page is applied: the laptop's cases in the id range it covers that it did not bring
    leave, as `gone` ones do, unless they hold an unsent change (module docstring). `after_id`: where the page's
    request started. Returns how many left."""
    if page.get("mode") != "full":
        return 0
    condition = Case.id > uuid.UUID(after_id) if after_id else Case.id.is_not(None)
    if page.get("more"):
        condition = condition & (Case.id <= uuid.UUID(page["after_id"]))
    came = {uuid.UUID(snap["case"]["id"]) for snap in page.get("cases") or []}
    # a change not settled by a pulled copy yet (unsent, or answered, e.g. a refused intake kept with its conflict)
    kept = set(session.scalars(select(SyncOutbox.case_id).where(SyncOutbox.state != "done",
                                                               SyncOutbox.case_id.is_not(None))))
    leaving = [case_id for case_id in session.scalars(select(Case.id).where(condition))
               if case_id not in came and case_id not in kept]
    parties = parties_of(session, leaving)
    removed = sum(apply._remove(session, case_id, "no longer in your queues (a first pull again did not bring it)")
                  for case_id in leaving)
    remove_orphans(session, parties)
    return removed
