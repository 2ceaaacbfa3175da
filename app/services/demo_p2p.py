"""Peer-to-peer demo data (issue 8): every demo reviewer's availability for the coming 4 weeks, and a few requests
and booked calls on demo denials so the queues have something to show.

Availability goes in by one bulk insert (weekly hours from today for 28 days), only for reviewers who have none.
The requests and calls go through app.services.p2p like a coordinator's (their events and audit records included);
there are only a handful, so they cost milliseconds.
"""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.domain.plantime import PLAN_TZ
from app.store.models import Case, P2PAvailability, P2PRequest, User

DAYS = 28
# username -> [(weekdays, start, end, slot minutes)], plan time
DEMO_HOURS = {
    "dr.shah": [((0, 1, 2, 3, 4), time(10), time(12), 30), ((0, 1, 2, 3, 4), time(14), time(16), 30)],
    "dr.morales": [((0, 2, 4), time(8), time(10), 30), ((1, 3), time(13), time(16), 30)],
    "dr.lee": [((0, 1, 2, 3, 4), time(11), time(13), 30)],
    "pharmd.kim": [((1, 3), time(9), time(11), 20)],
}
REQUESTS = 6  # demo denials given a peer-to-peer request; every other one is booked


def ensure_availability(session: Session, users: dict[str, User], now: datetime) -> int:
    """Weekly hours for the coming 4 weeks for each demo reviewer without availability; the rows added."""
    have = set(session.scalars(select(P2PAvailability.user_id).where(P2PAvailability.withdrawn_at.is_(None))))
    today = now.astimezone(PLAN_TZ).date()
    rows = []
    for username, hours in DEMO_HOURS.items():
        user = users.get(username)
        if user is None or user.id in have:
            continue
        for weekdays, start, end, minutes in hours:
            for weekday in weekdays:
                rows.append({"id": uuid.uuid4(), "user_id": user.id, "kind": "weekly", "weekday": weekday,
                             "first_day": today, "last_day": today + timedelta(days=DAYS - 1),
                             "start_time": start, "end_time": end, "slot_minutes": minutes,
                             "note": "demo hours", "created_at": now, "created_by": "demo"})
    if rows:
        session.execute(insert(P2PAvailability), rows)
    return len(rows)


def add_requests(store, now: datetime, count: int = REQUESTS) -> int:
    """Peer-to-peer requests on up to `count` recent demo denials (by coord.jones), every other one booked in the
    deciding physician's (or a similar reviewer's) first free slot; the requests made."""
    from app.services import p2p
    from app.services.cases import ActionRefused, InvalidInput

    with store.session() as session:
        tars = session.scalars(
            select(Case.tar).where(Case.status.in_(("determined", "notified")),
                                   Case.outcome.in_(("denied", "partially-approved")),
                                   Case.decided_at >= now - timedelta(days=5),
                                   ~Case.id.in_(select(P2PRequest.case_id)))
            .order_by(Case.decided_at.desc()).limit(count * 3)).all()
    made = 0
    for tar in tars:
        if made >= count:
            break
        try:
            with store.session() as session, session.begin():
                p2p.request_p2p(session, tar, "coord.jones", reason="The treating physician asks to discuss the "
                                "denial with the reviewer.", at=now)
                if made % 2 == 0:
                    proposal = p2p.propose_slots(session, tar, "coord.jones", at=now)
                    if proposal.candidates:
                        p2p.book_call(session, tar, "coord.jones", proposal.candidates[0].slot.id,
                                      at=now + timedelta(seconds=1))
            made += 1
        except (ActionRefused, InvalidInput):
            continue  # e.g. a demo denial whose window closed, or no fit reviewer: skip it
    return made
