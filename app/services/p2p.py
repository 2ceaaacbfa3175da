"""Peer-to-peer use cases (issue 8): availability, requests, offering and booking calls, rescheduling and cancelling,
invitations, and the outcome of a call -- which, overturned or modified, becomes a new determination.

Every action runs the steps of app.services.cases, in the caller's transaction: who and what (NotFound), authority
(app.domain.p2p; ActionRefused naming who may), the rules (app.domain.p2p: the offer, the window, an appeal filed,
the decision due; ActionRefused), the input (InvalidInput), then the writes: the rows, and an event on the case
(`record_event`: the timeline and the audit trail). Availability is not about a case: its additions and withdrawals
are audit records of their own. A refusal or bad input raises before anything is written.

Never double-booked: a booked call holds its slot through a partial unique index (p2p_bookings: reviewer and start,
while booked). The booking's row is written first and flushed at once, so when two sessions book the same slot at
the same moment the database lets one win and the other is told (ActionRefused, kind 'conflict'), with nothing of
its own written.

Offline (issue 9): every write about a case is an intent (`p2p-request`, `p2p-book`, `p2p-outcome` ...), done again
on the central store at the next sync under the laptop's ids (`derived_id`); a slot the central store gave someone
else meanwhile is refused there, and the change becomes the booker's conflict. Availability is reference data: the
central store's, pulled by every laptop, and refused on a laptop enrolled in sync (docs/p2p.md, "Working offline").

Overturned or modified: the physician who held the call records it; the case is reopened (`cases.reopen_case`,
when it was decided) and decided again by that physician (`cases.decide_case`: authority applies), which drafts the
new notice through the letters pipeline (app.services.letters.draft_for_determination) in the same transaction.
"""
from __future__ import annotations

import gc
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.domain import p2p as rules
from app.domain.calendar import BusinessCalendar, default_calendar
from app.domain.case_states import DECIDED_STATES
from app.domain.p2p import Availability, CaseFacts, Slot, Window
from app.domain.p2p_invitation import Invitation, invitation_ics
from app.domain.plantime import PLAN_TZ, format_instant, iso_plan
from app.domain.roles import PHYSICIAN_ROLES
from app.services import audit
from app.services.intents import derived_id, intent, outbox_enabled, p2p_untouched_since
from app.services.cases import (
    ActionRefused, InvalidInput, NotFound, case_by_tar, decide_case, iso_utc, is_involved, record_event,
    reopen_case, user_by_name,
)
from app.store import p2p_queries as q
from app.store.models import Case, CaseEvent, CaseWorkflow, P2PAvailability, P2PBooking, P2PRequest, User, utcnow

TICK = timedelta(microseconds=1)  # events of one action, a microsecond apart, so the timeline reads in order


def window_business_days() -> int:
    """The request window in business days: resources/plan.toml `utilization_management.peer_to_peer_business_days`
    (the same number the provider's letter prints), default 5."""
    from app.letters.templates import plan_profile

    value = plan_profile().get("utilization_management", {}).get("peer_to_peer_business_days")
    return int(value) if isinstance(value, int) and value > 0 else rules.REQUEST_WINDOW_BUSINESS_DAYS


def _plan_contact() -> tuple[str, str | None]:
    from app.letters.templates import plan_profile

    profile = plan_profile()
    return (profile.get("plan", {}).get("name", "the health plan"),
            profile.get("utilization_management", {}).get("phone"))


# ----- common steps ------------------------------------------------------------------------------------------
def _actor(session: Session, username: str) -> User:
    actor = user_by_name(session, username)
    if not actor.active:
        raise ActionRefused(f"The account '{username}' is not active; an administrator may reactivate it.",
                            who=("administrator",))
    return actor


def _at(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"the time {at.isoformat()} has no time zone; give a timezone-aware instant")
    return at.astimezone(timezone.utc)


def _refuse(refusal, kind: str = "authority") -> None:
    if refusal is not None:
        raise ActionRefused(refusal.reason, who=refusal.who, kind=kind)


def _text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"give {what}")
    return text


def _phone(value: str | None) -> str:
    phone = (value or "").strip()
    if sum(ch.isdigit() for ch in phone) < 7 or len(phone) > 20:
        raise InvalidInput(f"'{phone}' is not a telephone number; give the requester's number, e.g. (707) 555-0100")
    return phone


def _flush(session: Session, what: str) -> None:
    """Write now, so that a uniqueness rule the database keeps (a slot, an open request) refuses here."""
    try:
        session.flush()
    except IntegrityError as error:
        text = str(error.orig)
        if "p2p_requests" in text:
            raise ActionRefused("Someone else opened a peer-to-peer request on this case at the same moment; "
                                "nothing of yours was saved. Refresh the case and book on their request.",
                                kind="conflict") from error
        raise ActionRefused(f"{what} was booked by someone else at the same moment; nothing of yours was saved. "
                            "Refresh the slots and choose another.", kind="conflict") from error
    except OperationalError as error:  # SQLite: another workstation process held the store too long
        raise ActionRefused("The store was busy with someone else's change; nothing of yours was saved. Try again.",
                            kind="conflict") from error


@dataclass
class _Context:
    actor: User
    case: Case
    facts: CaseFacts
    determination_id: uuid.UUID | None
    decider: User | None
    at: datetime


def _determination(session: Session, case: Case) -> tuple[uuid.UUID | None, dict, uuid.UUID | None]:
    """(event id, payload, actor id) of the case's current determination, or (None, {}, None)."""
    if case.outcome is None:
        return None, {}, None
    workflow = session.get(CaseWorkflow, case.id)
    query = select(CaseEvent.id, CaseEvent.payload, CaseEvent.actor_id).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "determined")
    if workflow is not None and workflow.determination_event_id is not None:
        query = query.where(CaseEvent.id == workflow.determination_event_id)
    else:
        query = query.order_by(CaseEvent.occurred_at.desc()).limit(1)
    row = session.execute(query).first()
    return (row[0], row[1] or {}, row[2]) if row else (None, {}, None)


def case_facts(session: Session, case: Case) -> tuple[CaseFacts, uuid.UUID | None, User | None]:
    """The case as the peer-to-peer rules see it, its current determination and the deciding physician (for a
    potential denial: the physician who holds the case, if one does)."""
    workflow = session.get(CaseWorkflow, case.id)
    determination_id, payload, actor_id = _determination(session, case)
    referred_to = workflow.referred_to if workflow else ("physician" if case.status == "referred" else None)
    holder = case.assignee
    decider = None
    if case.status in DECIDED_STATES:
        username = (payload.get("decided_by") or {}).get("username")
        decider = (session.scalar(select(User).where(User.username == username)) if username
                   else session.get(User, actor_id) if actor_id else None)
    elif holder is not None and holder.role in PHYSICIAN_ROLES:
        decider = holder
    facts = CaseFacts(
        tar=case.tar, status=case.status, outcome=case.outcome, basis=payload.get("basis"),
        decided_at=case.decided_at, decision_due=case.decision_due_at, review_timing=case.review_timing,
        referred_to=referred_to, holder_role=holder.role if holder else None,
        discharge_day=rules.expected_discharge(case.received_at, case.requested_los_days,
                                               [line.to_date for line in case.lines]),
        appeal_filed_at=q.appeal_filed_at(session, case.id))
    return facts, determination_id, decider


def _context(session: Session, tar: str, username: str, at: datetime | None) -> _Context:
    actor = _actor(session, username)
    case = case_by_tar(session, tar)
    facts, determination_id, decider = case_facts(session, case)
    return _Context(actor, case, facts, determination_id, decider, _at(at))


def _open_request(session: Session, case: Case) -> P2PRequest | None:
    return session.scalars(select(P2PRequest).where(P2PRequest.case_id == case.id,
                                                    P2PRequest.status.in_(rules.OPEN_REQUEST_STATUSES))).first()


def _event(session: Session, ctx: _Context, kind: str, payload: dict, *, at: datetime | None = None,
           before: dict | None = None, after: dict | None = None) -> CaseEvent:
    return record_event(session, ctx.case, ctx.actor, kind, payload, at or ctx.at, before=before, after=after)


# ----- availability -----------------------------------------------------------------------------------------
CENTRAL_ONLY = ("Availability is kept on the central store, so that every laptop books from the same calendar and "
                "no slot is published twice: edit it there (the workstation or `umws p2p availability ...` with "
                "--database-url, as a supervisor or the reviewer on the plan's network); this laptop receives it at "
                "its next sync.")


def _refuse_on_laptop(session: Session) -> None:
    """Availability is reference data (docs/p2p.md, "Offline"): pulled by every laptop, edited centrally only."""
    if outbox_enabled(session):
        raise ActionRefused(CENTRAL_ONLY, kind="state")


def _target(session: Session, actor: User, username: str | None) -> User:
    target = actor if username in (None, actor.username) else user_by_name(session, username)
    _refuse(rules.may_keep_availability(actor.role, own=target.id == actor.id, target_role=target.role))
    return target


def add_availability(session: Session, username: str, *, reviewer: str | None = None, kind: str,
                     first_day: date, last_day: date | None = None, weekday: int | None = None,
                     start: time | None = None, end: time | None = None,
                     slot_minutes: int | None = rules.DEFAULT_SLOT_MINUTES, note: str = "",
                     at: datetime | None = None) -> P2PAvailability:
    """Publish weekly hours, one-off hours or an out-of-office block (plan time) for `reviewer` (default: the
    acting user). Hours that overlap hours already published are refused: a start names one slot."""
    actor = _actor(session, username)
    target = _target(session, actor, reviewer)
    _refuse_on_laptop(session)
    at = _at(at)
    problem = rules.availability_problem(kind, first_day=first_day, last_day=last_day, weekday=weekday,
                                         start=start, end=end, slot_minutes=slot_minutes)
    if problem:
        raise InvalidInput(problem)
    if kind == "one-off":
        last_day, weekday = first_day, None
    elif kind == "out-of-office":
        last_day, weekday, slot_minutes = last_day or first_day, None, None
    entry = Availability(None, kind, first_day, last_day, weekday, start, end, slot_minutes or 30)
    if kind != "out-of-office":
        current = q.availability_of(session, [target.id], first_day, last_day or date.max - timedelta(days=2))
        for other in current[target.id]:
            if rules.hours_overlap(entry, other):
                raise ActionRefused(f"These hours overlap {target.username}'s {other.describe()}; withdraw those "
                                    "first or choose other times.", kind="state")
    row = P2PAvailability(id=uuid.uuid4(), user_id=target.id, kind=kind, weekday=weekday, first_day=first_day,
                          last_day=last_day, start_time=start, end_time=end, slot_minutes=slot_minutes,
                          note=(note or "").strip(), created_at=at, created_by=actor.username)
    session.add(row)
    audit.append(session, actor=actor.username, actor_kind="user", action="create", what="p2p-availability-added",
                 at=at, body={"after": _availability_json(row, target), "os_user": audit.os_user()})
    return row


def withdraw_availability(session: Session, username: str, availability_id: uuid.UUID | str, *, reason: str,
                          at: datetime | None = None) -> P2PAvailability:
    """Withdraw published availability (kept, marked withdrawn). Calls already booked in it stay booked."""
    actor = _actor(session, username)
    try:
        key = availability_id if isinstance(availability_id, uuid.UUID) else uuid.UUID(str(availability_id))
    except ValueError:
        raise NotFound(f"No availability {availability_id}; 'umws p2p availability list' shows them.") from None
    row = session.get(P2PAvailability, key)
    if row is None or row.withdrawn_at is not None:
        raise NotFound(f"No current availability {availability_id}; 'umws p2p availability list' shows them.")
    target = session.get(User, row.user_id)
    _refuse(rules.may_keep_availability(actor.role, own=target.id == actor.id, target_role=target.role))
    _refuse_on_laptop(session)
    reason = _text(reason, "the reason for withdrawing it")
    at = _at(at)
    before = _availability_json(row, target)
    row.withdrawn_at, row.withdrawn_by, row.withdrawn_reason = at, actor.username, reason
    audit.append(session, actor=actor.username, actor_kind="user", action="change",
                 what="p2p-availability-withdrawn", at=at,
                 body={"before": before, "after": {"withdrawn_at": iso_utc(at), "reason": reason},
                       "os_user": audit.os_user()})
    return row


def _availability_json(row: P2PAvailability, user: User) -> dict:
    return {"id": str(row.id), "reviewer": user.username, "kind": row.kind, "weekday": row.weekday,
            "first_day": row.first_day.isoformat(), "last_day": row.last_day.isoformat() if row.last_day else None,
            "start": row.start_time.strftime("%H:%M") if row.start_time else None,
            "end": row.end_time.strftime("%H:%M") if row.end_time else None, "slot_minutes": row.slot_minutes,
            "note": row.note}


def list_availability(session: Session, reviewer: str) -> list[dict]:
    """A reviewer's current availability entries, as JSON-ready dicts with a description in words."""
    user = user_by_name(session, reviewer)
    rows = session.scalars(select(P2PAvailability).where(P2PAvailability.user_id == user.id,
                                                         P2PAvailability.withdrawn_at.is_(None))
                           .order_by(P2PAvailability.kind, P2PAvailability.weekday, P2PAvailability.first_day,
                                     P2PAvailability.start_time))
    return [{**_availability_json(row, user), "description": q.entry_of(row).describe()} for row in rows]


# ----- slots ------------------------------------------------------------------------------------------------
def reviewer_free_slots(session: Session, reviewers: Sequence[User], first_day: date, last_day: date, *,
                        now: datetime | None = None,
                        calendar: BusinessCalendar | None = None) -> dict[str, list[Slot]]:
    """Each reviewer's free future slots on the plan days `first_day`..`last_day`: two queries (availability,
    booked starts) for all of them, then the slots in Python (app.domain.p2p.generate_slots)."""
    now = now or utcnow()
    calendar = calendar or default_calendar()
    ids = [user.id for user in reviewers]
    entries = q.availability_of(session, ids, first_day, last_day)
    start, end = q.plan_day_bounds(first_day, last_day)
    taken = q.booked_starts(session, ids, start, end)
    # Tens of thousands of small acyclic tuples: without the cyclic collector walking the whole heap (the ORM's,
    # Qt's) every few hundred of them, the search takes a third less time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return {user.username: rules.generate_slots(user.username, entries[user.id], first_day, last_day, calendar,
                                                    taken=taken[user.id], after=now)
                for user in reviewers}
    finally:
        if collecting:
            gc.enable()


def _slot_of(session: Session, reviewer: User, start: datetime, calendar: BusinessCalendar) -> Slot | None:
    """The reviewer's published slot that starts at `start` (booked or not), or None."""
    day = start.astimezone(PLAN_TZ).date()
    entries = q.availability_of(session, [reviewer.id], day, day)[reviewer.id]
    return next((slot for slot in rules.generate_slots(reviewer.username, entries, day, day, calendar)
                 if slot.start == start), None)


# ----- which peer, and the match ------------------------------------------------------------------------------
def _match(ctx: _Context, peer: User) -> str:
    if ctx.decider is not None and peer.id == ctx.decider.id:
        return "deciding"
    if peer.role == "clinical-pharmacist" and ctx.case.service_category == "medication":
        return "similar"  # a pharmacy peer discussion of a medication TAR
    return rules.specialty_match(peer.specialty, ctx.case.requesting_provider.specialty
                                 if ctx.case.requesting_provider else None)


def _peer_refusal(session: Session, ctx: _Context, peer: User) -> str | None:
    return rules.peer_unfit(peer.role, ctx.case.service_category, active=peer.active,
                            involved=is_involved(session, peer, ctx.case.member_id))


@dataclass(frozen=True)
class Candidate:
    slot: Slot
    username: str
    full_name: str
    role: str
    specialty: str | None
    match: str  # app.domain.p2p.MATCHES
    preferred: bool  # inside one of the practitioner's preferred windows

    def to_json(self) -> dict:
        return {"id": self.slot.id, "start": iso_plan(self.slot.start), "end": iso_plan(self.slot.end),
                "username": self.username, "full_name": self.full_name, "specialty": self.specialty,
                "match": self.match, "match_text": rules.MATCHES[self.match], "preferred": self.preferred}


@dataclass
class Proposal:
    tar: str
    kind: str
    window: Window | None
    decider: str | None
    first_day: date
    last_day: date
    candidates: list[Candidate] = field(default_factory=list)
    note: str | None = None  # e.g. fewer than two free windows

    def to_json(self) -> dict:
        return {"tar": self.tar, "kind": self.kind, "deciding_physician": self.decider,
                "window_closes": iso_plan(self.window.closes) if self.window else None,
                "window_basis": self.window.basis if self.window else None,
                "from": self.first_day.isoformat(), "to": self.last_day.isoformat(), "note": self.note,
                "candidates": [c.to_json() for c in self.candidates]}


_MATCH_ORDER = {"deciding": 0, "same": 1, "similar": 2, "unknown": 3, "different": 4}


def _preferred(windows: list[dict], slot: Slot) -> bool:
    for window in windows or []:
        try:
            start, end = datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if start <= slot.start and slot.end <= end:
            return True
    return False


def _kind_and_window(ctx: _Context) -> tuple[str, Window | None]:
    kind, window, why = rules.request_refusal(ctx.facts, ctx.at, default_calendar(), window_business_days())
    if kind is None:
        raise ActionRefused(why, kind="p2p")
    return kind, window


def propose_slots(session: Session, tar: str, username: str, *, first_day: date | None = None,
                  last_day: date | None = None, include_all: bool = False, at: datetime | None = None,
                  limit: int = 300) -> Proposal:
    """Free future slots for a call on the case: the deciding physician's first, then reviewers of the same or a
    similar specialty as the requesting practitioner (with the match shown); every fit reviewer with `include_all`.
    A potential denial's slots end before its decision is due. Default days: from today to the window's close
    (a denial: at least the next 5 business days)."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    kind, window = _kind_and_window(ctx)
    if (why := rules.appeal_refusal(ctx.facts)) is not None:
        raise ActionRefused(why, kind="p2p")
    calendar = default_calendar()
    today = ctx.at.astimezone(PLAN_TZ).date()
    first_day = first_day or today
    if last_day is None:
        if kind == "potential-denial" and ctx.case.decision_due_at is not None:
            last_day = ctx.case.decision_due_at.astimezone(PLAN_TZ).date()
        else:
            soonest = calendar.add_business_days(today, rules.REQUEST_WINDOW_BUSINESS_DAYS)
            closes = window.closes.astimezone(PLAN_TZ).date() if window else soonest
            last_day = max(soonest, closes)
    if last_day < first_day:
        raise InvalidInput("the last day is before the first day")
    peers = [user for user in q.reviewers(session, rules.PEER_ROLES) if _peer_refusal(session, ctx, user) is None]
    matches = {user.username: _match(ctx, user) for user in peers}
    wanted = [user for user in peers
              if include_all or matches[user.username] in ("deciding", "same", "similar")]
    if not any(matches[user.username] == "deciding" for user in wanted) and not include_all:
        wanted += [user for user in peers if matches[user.username] == "unknown"]
    slots = reviewer_free_slots(session, wanted, first_day, last_day, now=ctx.at, calendar=calendar)
    request = _open_request(session, ctx.case)
    windows = request.preferred_windows if request else []
    candidates = []
    for user in wanted:
        for slot in slots[user.username]:
            if rules.booking_refusal(kind, slot, ctx.case.decision_due_at, ctx.at) is None:
                candidates.append(Candidate(slot, user.username, user.full_name, user.role, user.specialty,
                                            matches[user.username], _preferred(windows, slot)))
    candidates.sort(key=lambda c: (_MATCH_ORDER[c.match], not c.preferred, c.slot.start, c.username))
    proposal = Proposal(ctx.case.tar, kind, window, ctx.decider.username if ctx.decider else None, first_day,
                        last_day, candidates[:limit])
    if len(candidates) < rules.MIN_WINDOWS_OFFERED:
        proposal.note = (f"Only {len(candidates)} free window{'s' if len(candidates) != 1 else ''} from "
                         f"{rules.day_text(first_day)} to {rules.day_text(last_day)}: offer at least "
                         f"{rules.MIN_WINDOWS_OFFERED}. Widen the days, show every reviewer, or ask a reviewer to "
                         "add hours.")
    return proposal


# ----- requests ---------------------------------------------------------------------------------------------
def _windows(windows: Iterable[tuple[datetime, datetime]]) -> list[dict]:
    out = []
    for start, end in windows:
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidInput("give the preferred windows with their time zone")
        if end <= start:
            raise InvalidInput(f"the preferred window {format_instant(start)} to {format_instant(end)} ends "
                               "before it starts")
        out.append({"start": iso_utc(start), "end": iso_utc(end)})
    return out


def _new_request(session: Session, ctx: _Context, *, requester_name: str | None, requester_phone: str | None,
                 reason: str, windows: Iterable[tuple[datetime, datetime]]) -> P2PRequest:
    kind, window = _kind_and_window(ctx)
    _, _, why = rules.request_refusal(ctx.facts, ctx.at, default_calendar(), window_business_days())
    if why:
        raise ActionRefused(why, kind="p2p")
    current = _open_request(session, ctx.case)
    if current is not None:
        raise ActionRefused(f"TAR {ctx.case.tar} already has an open peer-to-peer request "
                            f"({rules.REQUEST_STATUSES[current.status].lower()}); book, reschedule or cancel it.",
                            kind="state")
    if ctx.determination_id is not None:
        done = session.scalars(select(P2PRequest).where(
            P2PRequest.case_id == ctx.case.id, P2PRequest.determination_event_id == ctx.determination_id,
            P2PRequest.status.in_(("completed", "closed-attempted")))).first()
        if done is not None:
            what = ("was held" if done.status == "completed" else
                    "was closed as attempted after two missed windows")
            raise ActionRefused(f"A peer-to-peer on this determination {what} "
                                f"({format_instant(done.held_at or done.closed_at, year=True)}); the provider may "
                                "appeal.", kind="p2p")
    provider = ctx.case.requesting_provider
    name = _text(requester_name or (provider.name if provider else None), "the requesting practitioner's name")
    phone = _phone(requester_phone or (provider.phone if provider else None))
    request = P2PRequest(
        id=derived_id("p2p-request"), case_id=ctx.case.id, kind=kind, status="requested", requester_name=name,
        requester_phone=phone, reason=(reason or "").strip(), preferred_windows=_windows(windows),
        requested_at=ctx.at, requested_by_id=ctx.actor.id, physician_id=ctx.decider.id if ctx.decider else None,
        determination_event_id=ctx.determination_id, window_closes_at=window.closes if window else None,
        missed_windows=0, new_information=False, updated_at=ctx.at)
    session.add(request)
    _flush(session, "The request")
    _event(session, ctx, "p2p-requested", {
        "request_id": str(request.id), "kind": kind, "requester_name": name, "requester_phone": phone,
        "reason": request.reason, "preferred_windows": request.preferred_windows,
        "window_closes": iso_utc(window.closes) if window else None, "window_basis": window.basis if window else None,
        "deciding_physician": ctx.decider.username if ctx.decider else None,
        "determination_id": str(ctx.determination_id) if ctx.determination_id else None,
    }, after={"p2p_status": "requested"})
    return request


@intent("p2p-request", commutes=p2p_untouched_since)
def request_p2p(session: Session, tar: str, username: str, *, requester_name: str | None = None,
                requester_phone: str | None = None, reason: str = "",
                windows: Iterable[tuple[datetime, datetime]] = (), at: datetime | None = None) -> P2PRequest:
    """A practitioner asks for a peer-to-peer (name and phone default to the requesting provider's)."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    return _new_request(session, ctx, requester_name=requester_name, requester_phone=requester_phone,
                        reason=reason, windows=windows)


def _resolve(session: Session, ctx: _Context, kind: str, slot_id: str) -> tuple[Slot, User]:
    """The slot a slot id names, checked: a fit reviewer's published, free, future slot (for a potential denial,
    over before the decision is due)."""
    try:
        username, start = rules.parse_slot_id(slot_id)
    except ValueError as error:
        raise InvalidInput(str(error)) from error
    try:
        reviewer = user_by_name(session, username)
    except NotFound as error:
        raise InvalidInput(f"slot {slot_id}: {error}") from error
    unfit = _peer_refusal(session, ctx, reviewer)
    if unfit:
        raise ActionRefused(f"{reviewer.full_name} cannot hold this call: {unfit}.", kind="authority")
    slot = _slot_of(session, reviewer, start, default_calendar())
    if slot is None:
        raise ActionRefused(f"{format_instant(start, year=True)} is not in {reviewer.full_name}'s published "
                            "availability (or they are out of office then); 'umws p2p slots' lists the free slots.",
                            kind="state")
    why = rules.booking_refusal(kind, slot, ctx.case.decision_due_at, ctx.at)
    if why:
        raise ActionRefused(why, kind="clock" if kind == "potential-denial" and slot.start > ctx.at else "state")
    taken = session.scalar(select(P2PBooking.id).where(P2PBooking.reviewer_id == reviewer.id,
                                                       P2PBooking.starts_at == slot.start,
                                                       P2PBooking.status.in_(q.SLOT_TAKEN_STATUSES)))
    if taken is not None:
        raise ActionRefused(f"{reviewer.full_name}'s slot {format_instant(slot.start, year=True)} is already booked; "
                            "choose another.", kind="conflict")
    return slot, reviewer


@intent("p2p-offer", commutes=p2p_untouched_since)
def offer_windows(session: Session, tar: str, username: str, slot_ids: Sequence[str], *,
                  at: datetime | None = None) -> P2PRequest:
    """Record the windows offered to the practitioner (at least two free slots)."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    request = _open_request(session, ctx.case)
    if request is None or request.status not in rules.TO_SCHEDULE_STATUSES:
        raise ActionRefused(f"TAR {ctx.case.tar} has no peer-to-peer request waiting to be scheduled.", kind="state")
    if (why := rules.appeal_refusal(ctx.facts)) is not None:
        raise ActionRefused(why, kind="p2p")
    ids = list(dict.fromkeys(s.strip() for s in slot_ids if s and s.strip()))
    if len(ids) < rules.MIN_WINDOWS_OFFERED:
        raise InvalidInput(f"offer at least {rules.MIN_WINDOWS_OFFERED} windows (peer-to-peer.md: common practice "
                           f"is two or more); {len(ids)} chosen")
    slots = [_resolve(session, ctx, request.kind, slot_id)[0] for slot_id in ids]
    before = request.status
    request.status, request.offered, request.updated_at = "offered", ids, ctx.at
    _event(session, ctx, "p2p-offered", {"request_id": str(request.id), "slots": ids,
                                         "starts": [iso_utc(s.start) for s in slots]},
           before={"p2p_status": before}, after={"p2p_status": "offered"})
    return request


def _insert_booking(session: Session, ctx: _Context, request: P2PRequest, slot: Slot, reviewer: User) -> P2PBooking:
    booking = P2PBooking(id=derived_id("p2p-booking"), request_id=request.id, case_id=ctx.case.id, reviewer_id=reviewer.id,
                         starts_at=slot.start, ends_at=slot.end, status="booked",
                         availability_id=slot.source if isinstance(slot.source, uuid.UUID) else None,
                         match=_match(ctx, reviewer), booked_at=ctx.at, booked_by_id=ctx.actor.id, sequence=0)
    session.add(booking)
    _flush(session, f"{reviewer.full_name}'s slot {format_instant(slot.start, year=True)}")
    return booking


def _booking_payload(request: P2PRequest, booking: P2PBooking, reviewer: User) -> dict:
    return {"request_id": str(request.id), "booking_id": str(booking.id), "slot": rules.slot_id(reviewer.username,
                                                                                             booking.starts_at),
            "starts_at": iso_utc(booking.starts_at), "ends_at": iso_utc(booking.ends_at),
            "reviewer": reviewer.username, "reviewer_name": reviewer.full_name, "specialty": reviewer.specialty,
            "match": booking.match}


@intent("p2p-book", commutes=p2p_untouched_since)
def book_call(session: Session, tar: str, username: str, slot_id: str, *, requester_name: str | None = None,
              requester_phone: str | None = None, reason: str = "", at: datetime | None = None) -> P2PBooking:
    """Book the call in a reviewer's free slot (opening the request when none is open)."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    request = _open_request(session, ctx.case)
    if request is not None and request.status == "booked":
        booking = q.booked_call(session, request.id)
        raise ActionRefused(f"TAR {ctx.case.tar} already has a call booked "
                            f"({format_instant(booking.starts_at, year=True) if booking else 'see the case'}); "
                            "reschedule or cancel it.", kind="state")
    if request is None:
        kind, _ = _kind_and_window(ctx)
        slot, reviewer = _resolve(session, ctx, kind, slot_id)
        request = _new_request(session, ctx, requester_name=requester_name, requester_phone=requester_phone,
                               reason=reason, windows=())
    else:
        if (why := rules.appeal_refusal(ctx.facts)) is not None:
            raise ActionRefused(why, kind="p2p")
        slot, reviewer = _resolve(session, ctx, request.kind, slot_id)
    booking = _insert_booking(session, ctx, request, slot, reviewer)
    before = request.status
    request.status, request.updated_at = "booked", ctx.at
    _event(session, ctx, "p2p-booked", _booking_payload(request, booking, reviewer),
           at=ctx.at + TICK if before == "requested" and request.requested_at == ctx.at else None,
           before={"p2p_status": before}, after={"p2p_status": "booked"})
    return booking


def _current_booking(session: Session, ctx: _Context) -> tuple[P2PRequest, P2PBooking]:
    request = _open_request(session, ctx.case)
    booking = q.booked_call(session, request.id) if request is not None else None
    if booking is None:
        raise ActionRefused(f"TAR {ctx.case.tar} has no peer-to-peer call booked.", kind="state")
    return request, booking


@intent("p2p-reschedule", commutes=p2p_untouched_since)
def reschedule_call(session: Session, tar: str, username: str, slot_id: str, *, reason: str,
                    at: datetime | None = None) -> P2PBooking:
    """Move the booked call to another free slot (of the same or another fit reviewer), with the reason."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    request, old = _current_booking(session, ctx)
    if (why := rules.appeal_refusal(ctx.facts)) is not None:
        raise ActionRefused(why, kind="p2p")
    reason = _text(reason, "the reason for moving the call")
    slot, reviewer = _resolve(session, ctx, request.kind, slot_id)
    old.status, old.closed_at, old.close_reason = "rescheduled", ctx.at, reason
    old.sequence += 1
    _flush(session, "The call")  # the old booking lets go of the request before the new one holds it
    booking = _insert_booking(session, ctx, request, slot, reviewer)
    request.updated_at = ctx.at
    _event(session, ctx, "p2p-rescheduled", {**_booking_payload(request, booking, reviewer), "reason": reason,
                                             "from_booking_id": str(old.id),
                                             "from_starts_at": iso_utc(old.starts_at)})
    return booking


@intent("p2p-cancel-call", commutes=p2p_untouched_since)
def cancel_call(session: Session, tar: str, username: str, *, reason: str, at: datetime | None = None) -> P2PBooking:
    """Cancel the booked call with the reason; the request goes back to "to schedule"."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    request, booking = _current_booking(session, ctx)
    reason = _text(reason, "the reason for cancelling the call")
    booking.status, booking.closed_at, booking.close_reason = "cancelled", ctx.at, reason
    booking.sequence += 1
    request.status, request.updated_at = "requested", ctx.at
    _event(session, ctx, "p2p-cancelled", {"request_id": str(request.id), "booking_id": str(booking.id),
                                           "starts_at": iso_utc(booking.starts_at), "reason": reason},
           before={"p2p_status": "booked"}, after={"p2p_status": "requested"})
    return booking


@intent("p2p-cancel-request", commutes=p2p_untouched_since)
def cancel_request(session: Session, tar: str, username: str, *, reason: str,
                   at: datetime | None = None) -> P2PRequest:
    """Cancel the open request (and its booked call) with the reason, e.g. the practitioner withdrew it."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    request = _open_request(session, ctx.case)
    if request is None:
        raise ActionRefused(f"TAR {ctx.case.tar} has no open peer-to-peer request.", kind="state")
    reason = _text(reason, "the reason for cancelling the request")
    booking = q.booked_call(session, request.id)
    if booking is not None:
        booking.status, booking.closed_at, booking.close_reason = "cancelled", ctx.at, reason
        booking.sequence += 1
    before = request.status
    request.status, request.closed_at, request.updated_at = "cancelled", ctx.at, ctx.at
    _event(session, ctx, "p2p-request-cancelled", {
        "request_id": str(request.id), "reason": reason, "booking_id": str(booking.id) if booking else None},
        before={"p2p_status": before}, after={"p2p_status": "cancelled"})
    return request


# ----- the outcome ------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    request: P2PRequest
    booking: P2PBooking
    case: Case
    determination_id: uuid.UUID | None = None  # the new determination (overturned, modified)
    closed_as_attempted: bool = False


@intent("p2p-outcome", commutes=p2p_untouched_since)
def record_outcome(session: Session, tar: str, username: str, *, call: str = "held", result: str | None = None,
                   note: str, held_at: datetime | None = None, member_reason: str = "",
                   lines: Mapping[int, int] | None = None, new_information: bool = False,
                   at: datetime | None = None) -> Outcome:
    """Record what became of the booked call: held (upheld, overturned or modified), the practitioner did not come,
    or the plan missed it. `held_at`: when the call actually took place (default now). Overturned: a new approval;
    modified: a new partial approval (`lines`: approved units per line, and the member's reason) -- each a new
    determination by this physician, which drafts its notice. Two practitioner no-shows close the request as
    attempted. New clinical information offered in the call goes to an appeal: it cannot overturn in the call."""
    if call not in rules.CALL_STATUSES:
        raise InvalidInput(f"the call is one of: {', '.join(rules.CALL_STATUSES)} (not '{call}')")
    ctx = _context(session, tar, username, at)
    # The role first (a physician records a held call's result), then who held this call.
    _refuse(rules.may_record_call(ctx.actor.role, call, is_peer=ctx.actor.role in rules.PEER_ROLES,
                                  is_decider=True, peer_is_physician=True))
    request, booking = _current_booking(session, ctx)
    reviewer = session.get(User, booking.reviewer_id)
    _refuse(rules.may_record_call(ctx.actor.role, call, is_peer=reviewer.id == ctx.actor.id,
                                  is_decider=request.physician_id == ctx.actor.id,
                                  peer_is_physician=reviewer.role in PHYSICIAN_ROLES))
    if call == "held":
        if result not in rules.RESULTS:
            raise InvalidInput(f"a held call's result is one of: {', '.join(rules.RESULTS)}")
        if (why := rules.appeal_refusal(ctx.facts)) is not None:
            raise ActionRefused(why, kind="p2p")
        if new_information and result != "upheld":
            raise ActionRefused("New clinical information offered in a peer-to-peer is decided in an appeal, not in "
                                "the call: record the call as upheld and route the information to an appeal.",
                                kind="p2p")
    elif result is not None:
        raise InvalidInput("only a held call has a result (upheld, overturned, modified)")
    note = _text(note, "notes on the call")
    when = _at(held_at) if held_at is not None else ctx.at
    if call == "held":
        if when > ctx.at:
            raise InvalidInput("the call's time is in the future")
        if when < request.requested_at:
            raise InvalidInput("the call cannot have taken place before it was requested "
                               f"({format_instant(request.requested_at, year=True)})")
    outcome = Outcome(request, booking, ctx.case)
    before = request.status
    booking.status, booking.closed_at = call, ctx.at
    if call == "held":
        request.status, request.result, request.held_at = "completed", result, when
        request.new_information, request.closed_at = bool(new_information), ctx.at
    elif call == "no-show":
        request.missed_windows += 1
        if rules.missed_windows_close(request.missed_windows):
            request.status, request.closed_at = "closed-attempted", ctx.at
            outcome.closed_as_attempted = True
        else:
            request.status = "requested"
    else:
        request.status = "requested"
    request.updated_at = ctx.at
    payload = {"request_id": str(request.id), "booking_id": str(booking.id), "call": call, "result": result,
               "note": note, "held_at": iso_utc(when) if call == "held" else None,
               "starts_at": iso_utc(booking.starts_at), "reviewer": reviewer.username,
               "reviewer_name": reviewer.full_name, "missed_windows": request.missed_windows,
               "new_information": bool(new_information),
               "new_determination": result in ("overturned", "modified"),
               "appeal_window": "running" if result == "upheld" and request.kind == "denial" else None}
    _event(session, ctx, "p2p-call", payload, before={"p2p_status": before}, after={"p2p_status": request.status})
    if outcome.closed_as_attempted:
        _event(session, ctx, "p2p-closed-attempted", {"request_id": str(request.id),
                                                      "missed": request.missed_windows}, at=ctx.at + TICK)
    if result in ("overturned", "modified"):
        outcome.determination_id = _redetermine(session, ctx, result, note=note, member_reason=member_reason,
                                                lines=lines)
        request.new_determination_event_id = outcome.determination_id
    return outcome


def _redetermine(session: Session, ctx: _Context, result: str, *, note: str, member_reason: str,
                 lines: Mapping[int, int] | None) -> uuid.UUID:
    """The physician's new determination after the call: reopen a decided case (peer-to-peer), then approve
    (overturned) or approve in part (modified) through cases.decide_case, which drafts the notice."""
    tar, username = ctx.case.tar, ctx.actor.username
    if ctx.case.status in DECIDED_STATES:
        reopen_case(session, tar, username, reason="peer-to-peer", note=f"Peer-to-peer: {result}. {note}",
                    at=ctx.at + TICK)
    if result == "overturned":
        case = decide_case(session, tar, username, outcome="approve", rationale=note,
                           member_reason=member_reason or "", basis="medical-necessity", at=ctx.at + 2 * TICK)
    else:
        if not lines:
            raise InvalidInput("a modification says how many units of which lines are approved (e.g. line 1: 3)")
        case = decide_case(session, tar, username, outcome="partial", rationale=note,
                           member_reason=_text(member_reason, "the reason for the member, in plain language"),
                           basis="medical-necessity", lines=dict(lines), at=ctx.at + 2 * TICK)
    workflow = session.get(CaseWorkflow, case.id)
    return workflow.determination_event_id


# ----- invitations and reminders --------------------------------------------------------------------------------
@intent("p2p-invitation", commutes=p2p_untouched_since)
def send_invitation(session: Session, tar: str, username: str, *, at: datetime | None = None) -> tuple[str, bytes]:
    """The .ics file of the case's booked call (or, after a cancellation, its cancellation), recorded on the
    case as sent. Returns (file name, bytes). No member identifiers beyond the TAR number."""
    ctx = _context(session, tar, username, at)
    _refuse(rules.may_schedule(ctx.actor.role))
    request = q.latest_request(session, ctx.case.id)
    booking = q.booked_call(session, request.id) if request is not None else None
    cancelled = False
    if booking is None and request is not None:
        booking = session.scalars(select(P2PBooking).where(P2PBooking.request_id == request.id,
                                                           P2PBooking.status.in_(("cancelled", "rescheduled")))
                                  .order_by(P2PBooking.closed_at.desc()).limit(1)).first()
        cancelled = booking is not None
    if booking is None:
        raise ActionRefused(f"TAR {ctx.case.tar} has no peer-to-peer call to send an invitation for.", kind="state")
    reviewer = session.get(User, booking.reviewer_id)
    plan_name, plan_phone = _plan_contact()
    data = invitation_ics(Invitation(
        uid=f"{booking.id}@umws", tar=ctx.case.tar, starts_at=booking.starts_at, ends_at=booking.ends_at,
        reviewer_name=reviewer.full_name, reviewer_phone=reviewer.phone, requester_name=request.requester_name,
        requester_phone=request.requester_phone, plan_name=plan_name, plan_phone=plan_phone,
        sequence=booking.sequence,
        cancelled=cancelled, stamp=ctx.at))
    _event(session, ctx, "p2p-invitation-sent", {"booking_id": str(booking.id), "uid": f"{booking.id}@umws",
                                                 "method": "CANCEL" if cancelled else "REQUEST",
                                                 "starts_at": iso_utc(booking.starts_at)})
    local = booking.starts_at.astimezone(PLAN_TZ)
    name = f"p2p-{ctx.case.tar}-{local:%Y%m%d-%H%M}{'-cancelled' if cancelled else ''}.ics"
    return name, data


def upcoming_calls(session: Session, username: str, now: datetime | None = None) -> list[q.UpcomingCall]:
    """The reviewer's booked calls of the next two hours (for the in-app reminder 15 minutes ahead)."""
    user = user_by_name(session, username)
    return q.upcoming_calls(session, user.id, now or utcnow())


# ----- reading -----------------------------------------------------------------------------------------------
def case_p2p(session: Session, tar: str, username: str, *, at: datetime | None = None) -> dict:
    """The case's peer-to-peer as JSON-ready data: whether one is offered (and until when, or why not), the
    deciding physician, the requests and their calls."""
    ctx = _context(session, tar, username, at)
    kind, window, why = rules.request_refusal(ctx.facts, ctx.at, default_calendar(), window_business_days())
    requests = session.scalars(select(P2PRequest).where(P2PRequest.case_id == ctx.case.id)
                               .order_by(P2PRequest.requested_at)).all()
    bookings = q.bookings_of(session, ctx.case.id)
    names = {user.id: user for user in session.scalars(select(User).where(
        User.id.in_({b.reviewer_id for b in bookings} | ({ctx.decider.id} if ctx.decider else set()))))}
    return {
        "tar": ctx.case.tar,
        "kind": kind,
        "offered": why is None and kind is not None,
        "refusal": why,
        "window_closes": iso_plan(window.closes) if window else None,
        "window_basis": window.basis if window else None,
        "decision_due": iso_plan(ctx.case.decision_due_at),
        "deciding_physician": ({"username": ctx.decider.username, "full_name": ctx.decider.full_name,
                                "specialty": ctx.decider.specialty} if ctx.decider else None),
        "requesting_specialty": ctx.case.requesting_provider.specialty if ctx.case.requesting_provider else None,
        "requests": [{
            "id": str(r.id), "kind": r.kind, "status": r.status, "requester_name": r.requester_name,
            "requester_phone": r.requester_phone, "reason": r.reason, "preferred_windows": r.preferred_windows,
            "requested_at": iso_plan(r.requested_at), "window_closes": iso_plan(r.window_closes_at),
            "missed_windows": r.missed_windows, "offered": r.offered or [], "result": r.result,
            "held_at": iso_plan(r.held_at), "new_information": r.new_information,
            "calls": [{"id": str(b.id), "slot": rules.slot_id(names[b.reviewer_id].username, b.starts_at),
                       "starts_at": iso_plan(b.starts_at), "ends_at": iso_plan(b.ends_at), "status": b.status,
                       "reviewer": names[b.reviewer_id].username, "reviewer_name": names[b.reviewer_id].full_name,
                       "specialty": names[b.reviewer_id].specialty, "match": b.match,
                       "close_reason": b.close_reason}
                      for b in bookings if b.request_id == r.id],
        } for r in requests],
    }


# ----- the week calendar (read) ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeekCell:
    """Something the week view draws: a slot (free, booked, held, missed, past) or an out-of-office block, on a
    plan day from minute `start` to minute `end` after midnight (plan time)."""

    day: date
    start: int
    end: int
    kind: str  # free, booked, held, missed, past, away
    text: str
    entry_id: uuid.UUID | None = None  # the availability it comes from (to withdraw it)
    tar: str | None = None


@dataclass
class WeekCalendar:
    reviewer: str
    full_name: str
    specialty: str | None
    monday: date
    holidays: dict[date, str]
    cells: list[WeekCell]
    entries: list[dict]

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(7)]


def _minute(instant: datetime, day: date) -> int:
    local = instant.astimezone(PLAN_TZ)
    if local.date() > day:
        return 24 * 60
    if local.date() < day:
        return 0
    return local.hour * 60 + local.minute


def week_calendar(session: Session, reviewer: str, monday: date, *, now: datetime | None = None,
                  calendar: BusinessCalendar | None = None) -> WeekCalendar:
    """A reviewer's week (Monday to Sunday, plan time): every published slot with its state, the calls booked in
    it, out-of-office blocks and plan holidays, and the availability entries -- for the week calendar view."""
    now = now or utcnow()
    calendar = calendar or default_calendar()
    user = user_by_name(session, reviewer)
    sunday = monday + timedelta(days=6)
    entries = q.availability_of(session, [user.id], monday, sunday)[user.id]
    start, end = q.plan_day_bounds(monday, sunday)
    calls = {row[0]: row for row in q.reviewer_bookings(session, user.id, start, end)}
    cells: list[WeekCell] = []
    seen: set[datetime] = set()
    words = {"booked": "Booked", "held": "Held", "no-show": "No-show", "plan-missed": "Missed"}
    for slot in rules.generate_slots(user.username, entries, monday, sunday, calendar):
        day = slot.start.astimezone(PLAN_TZ).date()
        call = calls.get(slot.start)
        seen.add(slot.start)
        if call is not None:
            kind = "booked" if call[2] == "booked" else "held" if call[2] == "held" else "missed"
            cells.append(WeekCell(day, _minute(slot.start, day), _minute(slot.end, day), kind,
                                  f"{words[call[2]]} · TAR {call[3]}", slot.source, call[3]))
        else:
            kind = "free" if slot.start > now else "past"
            cells.append(WeekCell(day, _minute(slot.start, day), _minute(slot.end, day), kind,
                                  "Free" if kind == "free" else "Past", slot.source))
    for starts_at, ends_at, status, tar in calls.values():  # calls in hours withdrawn since they were booked
        if starts_at not in seen:
            day = starts_at.astimezone(PLAN_TZ).date()
            kind = "booked" if status == "booked" else "held" if status == "held" else "missed"
            cells.append(WeekCell(day, _minute(starts_at, day), _minute(ends_at, day), kind,
                                  f"{words[status]} · TAR {tar}", None, tar))
    for entry in entries:
        if entry.kind != "out-of-office":
            continue
        begin, finish = entry.interval()
        for day in (monday + timedelta(days=n) for n in range(7)):
            day_start, day_end = q.plan_day_bounds(day, day)
            if begin < day_end and day_start < finish:
                cells.append(WeekCell(day, _minute(max(begin, day_start), day), _minute(min(finish, day_end), day),
                                      "away", "Out of office", entry.id))
    holidays = {day: calendar.holiday_name(day) for day in (monday + timedelta(days=n) for n in range(7))
                if calendar.is_holiday(day)}
    return WeekCalendar(user.username, user.full_name, user.specialty, monday, holidays,
                        sorted(cells, key=lambda c: (c.day, c.start)), list_availability(session, reviewer))
