"""The central change log's horizon (issue 9, docs/sync.md "Scaling"): `sync_changes` grows by one row per changed
case, so an administrator prunes the rows older than a number of days (`umws server prune-changes`).

* The rows deleted are every row up to the last one numbered before the cut-off, so the log that stays is
  contiguous: `sync_counter.horizon` (migration 0020) becomes the lowest change number still served, and a cursor
  of at least horizon - 1 misses nothing.
* A pull whose cursor is behind it is answered with the first page of a first pull (app.server.pull), saying so:
  the laptop pulls every case of its queues again, its unsent changes untouched (app.sync.apply).
* Nothing else reads old rows: a push answers from `sync_mutations`, conflicts are `sync_conflicts`, and a pull
  reads only the rows after its cursor.
* The horizon is written last, just before the commit: the log's trigger takes the counter's row at every commit,
  so the delete itself never holds writers up. A pull reads the horizon after the changes it serves
  (app.server.pull), so one that read its changes before a prune committed still checks the horizon after it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.server.accounts import AccessRefused
from app.services import audit
from app.store.models import SyncChange, SyncCounter, User, utcnow


def horizon(session: Session) -> int:
    """The lowest change number the log still serves (0: never pruned)."""
    return session.scalar(select(SyncCounter.horizon).where(SyncCounter.id == 1)) or 0


def behind(cursor: int, served_from: int) -> bool:
    """A cursor has seen every change up to its number: it misses some when changes after it were pruned."""
    return cursor < served_from - 1


def check_pruner(session: Session, by: str) -> None:
    """AccessRefused unless `by` is an administrator: only they prune the change log (checked before anything else
    about the request)."""
    actor = session.scalar(select(User).where(User.username == by))
    if actor is None or actor.role != "administrator":
        raise AccessRefused("Only an Administrator may prune the change log.", 403, "authority")


def prune(session: Session, *, older_than: timedelta, by: str, now: datetime | None = None) -> dict:
    """Delete the change-log rows numbered before now - older_than and move the horizon past them (administrators;
    AccessRefused otherwise). Returns what was done (the audit record's details)."""
    check_pruner(session, by)
    cutoff = (now or utcnow()) - older_than
    before = horizon(session)
    last = session.scalar(select(func.max(SyncChange.change_no)).where(SyncChange.changed_at < cutoff))
    details = {"older_than_days": older_than / timedelta(days=1), "cutoff": cutoff.isoformat(), "deleted": 0,
               "horizon_before": before, "horizon": before}
    if last is None or last < before:
        return details
    first = session.scalar(select(func.min(SyncChange.change_no)))
    deleted = session.execute(delete(SyncChange).where(SyncChange.change_no <= last)).rowcount
    details.update(deleted=deleted, first_deleted=first, last_deleted=last, horizon=last + 1)
    session.execute(update(SyncCounter).where(SyncCounter.id == 1).values(horizon=last + 1))
    audit.append(session, actor=by, actor_kind="user", action="change", what="change-log-pruned",
                 body={"details": details, "why": f"change-log rows older than {details['older_than_days']:g} "
                       "days: a laptop that last synced before them pulls its queues again",
                       "os_user": audit.os_user()})
    return details
