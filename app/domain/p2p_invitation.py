"""The calendar invitation (.ics, RFC 5545) of a booked peer-to-peer call (issue 8, scope 4), made with icalendar.

No member identifiers beyond the TAR number: an invitation travels through e-mail and calendar servers outside the
plan, so it names the case by its TAR only -- never the member's name, CIN, birth date or diagnosis. It carries the
call's time (with the plan's time zone), the reviewer and the requesting practitioner and the number to call. One
UID per booking: a cancellation (METHOD:CANCEL) has the booking's UID and a higher SEQUENCE, so calendars remove the
invitation they hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import icalendar

from app.domain.plantime import PLAN_TZ

PRODUCT = "-//UM reviewer workstation//peer-to-peer//EN"


@dataclass(frozen=True)
class Invitation:
    uid: str  # stable per booking
    tar: str
    starts_at: datetime
    ends_at: datetime
    reviewer_name: str
    reviewer_phone: str | None
    requester_name: str
    requester_phone: str
    plan_name: str
    plan_phone: str | None  # the UM line the practitioner calls
    sequence: int = 0
    cancelled: bool = False
    stamp: datetime | None = None  # DTSTAMP: when the invitation was made


def _tel(phone: str | None) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit() or ch == "+")
    return f"tel:{digits}" if digits else "tel:unknown"


def invitation_ics(invitation: Invitation) -> bytes:
    """The .ics bytes (METHOD:REQUEST, or METHOD:CANCEL for a cancelled call)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if invitation.cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", invitation.stamp or invitation.starts_at)
    event.add("dtstart", invitation.starts_at.astimezone(PLAN_TZ))
    event.add("dtend", invitation.ends_at.astimezone(PLAN_TZ))
    event.add("summary", f"Peer-to-peer discussion, TAR {invitation.tar}")
    call = (f"Call {invitation.plan_name} Utilization Management at {invitation.plan_phone} and ask for the "
            f"peer-to-peer on TAR {invitation.tar}." if invitation.plan_phone else
            f"The reviewer calls {invitation.requester_name} at {invitation.requester_phone}.")
    event.add("description", (
        f"Peer-to-peer discussion of the determination on TAR {invitation.tar} between {invitation.reviewer_name} "
        f"({invitation.plan_name}) and {invitation.requester_name}. {call} "
        "New clinical information is handled as an appeal."))
    event.add("location", f"Telephone: {invitation.plan_phone or invitation.requester_phone}")
    event.add("status", "CANCELLED" if invitation.cancelled else "CONFIRMED")
    organizer = icalendar.vCalAddress(_tel(invitation.reviewer_phone or invitation.plan_phone))
    organizer.params["cn"] = icalendar.vText(invitation.reviewer_name)
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(_tel(invitation.requester_phone))
    attendee.params["cn"] = icalendar.vText(invitation.requester_name)
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    # The plan's zone for the year around the call only (the whole 1970-2038 history is kilobytes of RDATEs).
    start = invitation.starts_at.astimezone(PLAN_TZ).date()
    calendar.add_missing_timezones(first_date=date(start.year - 1, 1, 1), last_date=date(start.year + 2, 1, 1))
    return calendar.to_ical()
