"""Leases on claimed cases (issue 9, design 6).

Claiming a case online takes a lease on the server: who holds it, from which laptop, until when (default 8 hours).
Every sync of the holder renews the leases of the open cases they hold; a case that changes hands, or closes,
drops its lease. Others see the lease in what they pull (who holds the case, until when). An offline claim is
provisional: it becomes a lease when it is pushed, or comes back as a conflict when someone else's came first.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.server.accounts import Caller
from app.services import batch_lookups
from app.store.models import Case, CaseLease, utcnow

LEASE = timedelta(hours=8)


def follow_holder(session: Session, case: Case, caller: Caller, now: datetime | None = None) -> CaseLease | None:
    """After a change applied on `case`: the lease follows its holder (none when nobody holds it or it closed).
    Returns the case's lease now."""
    now = now or utcnow()
    found, lease = batch_lookups.take_prefetched(session, CaseLease, case.id)
    if not found:
        lease = session.get(CaseLease, case.id)
    holder = case.assignee.username if case.assignee is not None else None
    if holder is None or case.status == "closed":
        if lease is not None:
            session.delete(lease)
        batch_lookups.prefetch(session, CaseLease, case.id, None)  # the next change of the batch on it knows
        return None
    device = caller.device.device_id if holder == caller.username else None
    if lease is None:
        lease = CaseLease(case_id=case.id, username=holder, device_id=device, taken_at=now, expires_at=now + LEASE)
        session.add(lease)
    elif lease.username != holder:
        lease.username, lease.device_id, lease.taken_at, lease.expires_at = holder, device, now, now + LEASE
    batch_lookups.prefetch(session, CaseLease, case.id, lease)
    return lease


def renew(session: Session, caller: Caller, now: datetime | None = None) -> int:
    """Renew the leases of the open cases the caller holds (each sync of theirs); returns how many."""
    now = now or utcnow()
    held = select(Case.id).where(Case.assignee_id == caller.user.id, Case.status != "closed")
    result = session.execute(update(CaseLease).where(CaseLease.username == caller.username,
                                                     CaseLease.case_id.in_(held),
                                                     CaseLease.expires_at < now + LEASE - timedelta(minutes=30))
                             .values(expires_at=now + LEASE, device_id=caller.device.device_id))
    return result.rowcount or 0


def drop_closed(session: Session) -> None:
    session.execute(delete(CaseLease).where(CaseLease.case_id.in_(select(Case.id).where(Case.status == "closed"))))
