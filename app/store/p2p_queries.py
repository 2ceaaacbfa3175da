"""Peer-to-peer read queries (issue 8): availability and booked starts for the free-slot search, the two queues'
conditions for the worklist (paged in SQL by app.store.worklist), upcoming calls for reminders, the report, and the
hook that tells whether an appeal was filed on a case.

Nothing here writes; app.services.p2p does.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import String, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from app.domain.p2p import APPEAL_FILED_EVENT, TO_SCHEDULE_STATUSES, Availability, median_hours
from app.domain.plantime import PLAN_TZ
from app.store.models import Case, CaseEvent, P2PAvailability, P2PBooking, P2PRequest, User

# Which calls hold their slot (the partial unique index ux_p2p_bookings_slot) and count as a reviewer's calls of
# the day (the "P2P today" queue, the week view): all but the cancelled and moved ones.
SLOT_TAKEN_STATUSES = ("booked", "held", "no-show", "plan-missed")
TODAY_BOOKING_STATUSES = SLOT_TAKEN_STATUSES


def appeal_filed_at(session: Session, case_id: uuid.UUID) -> datetime | None:
    """When an appeal was filed on the case: its first `appeal-filed` event (the appeals work records it;
    docs/p2p.md, "Appeals"). None while no appeal is filed. The one place the peer-to-peer rules ask."""
    return session.scalar(select(func.min(CaseEvent.occurred_at))
                          .where(CaseEvent.case_id == case_id, CaseEvent.kind == APPEAL_FILED_EVENT))


def entry_of(row: P2PAvailability) -> Availability:
    return Availability(id=row.id, kind=row.kind, first_day=row.first_day, last_day=row.last_day,
                        weekday=row.weekday, start=row.start_time, end=row.end_time,
                        slot_minutes=row.slot_minutes or 30)


def availability_of(session: Session, user_ids: list[uuid.UUID], first_day: date,
                    last_day: date) -> dict[uuid.UUID, list[Availability]]:
    """The reviewers' current (not withdrawn) availability that touches the plan days `first_day`..`last_day`."""
    rows = session.execute(
        select(P2PAvailability.user_id, P2PAvailability.id, P2PAvailability.kind, P2PAvailability.first_day,
               P2PAvailability.last_day, P2PAvailability.weekday, P2PAvailability.start_time,
               P2PAvailability.end_time, P2PAvailability.slot_minutes)
        .where(P2PAvailability.user_id.in_(user_ids), P2PAvailability.withdrawn_at.is_(None),
               P2PAvailability.first_day <= last_day,
               or_(P2PAvailability.last_day.is_(None), P2PAvailability.last_day >= first_day - timedelta(days=1)))
    )
    found: dict[uuid.UUID, list[Availability]] = {user_id: [] for user_id in user_ids}
    for user_id, entry_id, kind, first, last, weekday, start, end, minutes in rows:
        found[user_id].append(Availability(entry_id, kind, first, last, weekday, start, end, minutes or 30))
    return found


def booked_starts(session: Session, user_ids: list[uuid.UUID], start: datetime,
                  end: datetime) -> dict[uuid.UUID, set[datetime]]:
    """The start instants of the reviewers' slots taken in [start, end): by a booked call, or one held or missed
    (a cancelled or moved call lets go of its slot)."""
    taken: dict[uuid.UUID, set[datetime]] = {user_id: set() for user_id in user_ids}
    by_hex = {user_id.hex: user_id for user_id in user_ids}
    # The columns as the driver returns them (SQLite: text; PostgreSQL: uuid and timestamptz), converted here in
    # bulk: a search reads thousands of booked starts, and the column types' per-value processing dominated it.
    rows = session.connection().execute(
        select(type_coerce(P2PBooking.reviewer_id, String), type_coerce(P2PBooking.starts_at, String))
        .where(P2PBooking.reviewer_id.in_(user_ids), P2PBooking.status.in_(SLOT_TAKEN_STATUSES),
               P2PBooking.starts_at >= start, P2PBooking.starts_at < end)).all()
    utc = timezone.utc
    for reviewer_id, starts_at in rows:
        key = by_hex[reviewer_id.replace("-", "")] if isinstance(reviewer_id, str) else reviewer_id
        taken[key].add(datetime.fromisoformat(starts_at).replace(tzinfo=utc) if isinstance(starts_at, str)
                       else starts_at.astimezone(utc))
    return taken


def plan_day_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[midnight of first_day, midnight after last_day) in plan time, as UTC instants."""
    start = datetime.combine(first_day, time(0), tzinfo=PLAN_TZ).astimezone(timezone.utc)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=PLAN_TZ).astimezone(timezone.utc)
    return start, end


# ----- the queues (app.domain.queues: p2p-today, p2p-to-schedule) ----------------------------------------------
def queue_condition(kind: str, user_id: uuid.UUID, now: datetime):
    """The WHERE term of a peer-to-peer queue over `cases`: today's calls of the viewer (any case state: a denied
    case may be closed), or the cases whose request waits to be scheduled."""
    if kind == "today":
        today = now.astimezone(PLAN_TZ).date()
        start, end = plan_day_bounds(today, today)
        return Case.id.in_(select(P2PBooking.case_id).where(
            P2PBooking.reviewer_id == user_id, P2PBooking.status.in_(TODAY_BOOKING_STATUSES),
            P2PBooking.starts_at >= start, P2PBooking.starts_at < end))
    if kind == "to-schedule":
        return Case.id.in_(select(P2PRequest.case_id).where(P2PRequest.status.in_(TO_SCHEDULE_STATUSES)))
    raise ValueError(f"unknown peer-to-peer queue '{kind}'")


# ----- reminders ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UpcomingCall:
    """A booked call for the reminder (no member data: the TAR number names the case)."""

    booking_id: uuid.UUID
    tar: str
    starts_at: datetime
    ends_at: datetime
    requester_name: str
    requester_phone: str


def upcoming_calls(session: Session, user_id: uuid.UUID, now: datetime,
                   within: timedelta = timedelta(hours=2)) -> list[UpcomingCall]:
    """The reviewer's booked calls starting from 10 minutes ago to `within` from now, soonest first."""
    rows = session.execute(
        select(P2PBooking.id, Case.tar, P2PBooking.starts_at, P2PBooking.ends_at, P2PRequest.requester_name,
               P2PRequest.requester_phone)
        .join(Case, Case.id == P2PBooking.case_id).join(P2PRequest, P2PRequest.id == P2PBooking.request_id)
        .where(P2PBooking.reviewer_id == user_id, P2PBooking.status == "booked",
               P2PBooking.starts_at >= now - timedelta(minutes=10), P2PBooking.starts_at < now + within)
        .order_by(P2PBooking.starts_at))
    return [UpcomingCall(*row) for row in rows]


# ----- the report ------------------------------------------------------------------------------------------
def p2p_report(session: Session, first_day: date, last_day: date) -> dict:
    """Counts for the plan days `first_day`..`last_day` (included): requests made; calls held, missed (the
    practitioner's no-shows and the plan's misses) and cancelled, by the call's booked start (held calls by when
    they took place); results (upheld, overturned, modified) of calls held; requests closed as attempted; the median
    hours from request to the call held. No figure per reviewer: nothing ranks reviewers by their decisions
    (roles-and-authority.md)."""
    start, end = plan_day_bounds(first_day, last_day)
    requested = session.scalar(select(func.count()).select_from(P2PRequest)
                               .where(P2PRequest.requested_at >= start, P2PRequest.requested_at < end))
    held_rows = session.execute(
        select(P2PRequest.result, P2PRequest.requested_at, P2PRequest.held_at)
        .where(P2PRequest.status == "completed", P2PRequest.held_at >= start, P2PRequest.held_at < end)).all()
    calls = dict(session.execute(
        select(P2PBooking.status, func.count()).where(
            P2PBooking.status.in_(("no-show", "plan-missed", "cancelled")),
            P2PBooking.starts_at >= start, P2PBooking.starts_at < end)
        .group_by(P2PBooking.status)).all())
    attempted = session.scalar(select(func.count()).select_from(P2PRequest).where(
        P2PRequest.status == "closed-attempted", P2PRequest.closed_at >= start, P2PRequest.closed_at < end))
    results = {"upheld": 0, "overturned": 0, "modified": 0}
    for result, _, _ in held_rows:
        if result in results:
            results[result] += 1
    no_show, plan_missed = calls.get("no-show", 0), calls.get("plan-missed", 0)
    return {
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "requested": requested,
        "held": len(held_rows),
        "missed": no_show + plan_missed,
        "practitioner_no_show": no_show,
        "plan_missed": plan_missed,
        "cancelled": calls.get("cancelled", 0),
        "upheld": results["upheld"],
        "overturned": results["overturned"],
        "modified": results["modified"],
        "closed_as_attempted": attempted,
        "median_request_to_call_hours": median_hours(held - asked for _, asked, held in held_rows),
    }


# ----- one case -----------------------------------------------------------------------------------------------
def latest_request(session: Session, case_id: uuid.UUID) -> P2PRequest | None:
    return session.scalars(select(P2PRequest).where(P2PRequest.case_id == case_id)
                           .order_by(P2PRequest.requested_at.desc()).limit(1)).first()


def booked_call(session: Session, request_id: uuid.UUID) -> P2PBooking | None:
    return session.scalars(select(P2PBooking).where(P2PBooking.request_id == request_id,
                                                    P2PBooking.status == "booked")).first()


def bookings_of(session: Session, case_id: uuid.UUID) -> list[P2PBooking]:
    return list(session.scalars(select(P2PBooking).where(P2PBooking.case_id == case_id)
                                .order_by(P2PBooking.booked_at, P2PBooking.starts_at)))


def reviewer_bookings(session: Session, user_id: uuid.UUID, start: datetime,
                      end: datetime) -> list[tuple[datetime, datetime, str, str]]:
    """(starts_at, ends_at, status, TAR) of the reviewer's calls (not cancelled or moved) in [start, end)."""
    return [tuple(row) for row in session.execute(
        select(P2PBooking.starts_at, P2PBooking.ends_at, P2PBooking.status, Case.tar)
        .join(Case, Case.id == P2PBooking.case_id)
        .where(P2PBooking.reviewer_id == user_id, P2PBooking.status.in_(TODAY_BOOKING_STATUSES),
               P2PBooking.starts_at >= start, P2PBooking.starts_at < end)
        .order_by(P2PBooking.starts_at))]


def summary_line(session: Session, case_id: uuid.UUID) -> str | None:
    """The case's current peer-to-peer in one line, for the case summary ("Peer-to-peer: ...")."""
    from app.domain.p2p import REQUEST_STATUSES, RESULTS
    from app.domain.plantime import format_instant

    request = latest_request(session, case_id)
    if request is None:
        return None
    text = f"{REQUEST_STATUSES.get(request.status, request.status)}; requested by {request.requester_name} " \
           f"({request.requester_phone})"
    booking = booked_call(session, request.id)
    if booking is not None:
        reviewer = session.scalar(select(User.full_name).where(User.id == booking.reviewer_id))
        text = f"Call {format_instant(booking.starts_at, year=True)} with {reviewer}; requester " \
               f"{request.requester_name} ({request.requester_phone})"
    elif request.result:
        text += f"; {RESULTS.get(request.result, request.result).lower()}"
    return text


def reviewers(session: Session, roles) -> list[User]:
    return list(session.scalars(select(User).where(User.role.in_(tuple(roles)), User.active.is_(True))
                                .order_by(User.full_name)))

