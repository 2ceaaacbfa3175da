"""Peer-to-peer review (issue 8; ../shared/reference/peer-to-peer.md): who may talk to whom, when, and about what.

Pure Python: no Qt, no database. The services (app.services.p2p) pass in what the rules depend on.

* **Offered** to the requesting or treating practitioner for a denial or a modification based on medical necessity
  (a *denial*), or for a *potential denial*: an undecided case that is with a physician (referred to one, or held
  by one) -- "any denial or potential denial determination ... with the physician reviewer" (source 002).
* **Request window**: a denial's closes at the end of the plan's N-th business day after the decision (N from
  resources/plan.toml `utilization_management.peer_to_peer_business_days`, default 5; holidays and weekends from
  app.domain.calendar); for concurrent review, at the end of the member's discharge day instead (when it is known).
  A potential denial's closes when the decision is due: the clock never pauses for a peer-to-peer, so such a call
  must also *end* by the decision due. Once an appeal is filed it is not offered (it becomes the appeal).
* **Scheduling**: at least two windows are offered; the reviewer's availability is booked; two booked windows the
  practitioner missed close the request as attempted (a call the plan missed does not count against them).
* **Outcome**: held / practitioner no-show / plan missed; upheld, overturned (a new approval) or modified (a new
  partial approval). New clinical information offered in the call is routed to an appeal, not decided in the call.

Availability is published in plan time (America/Los_Angeles): weekly hours (a weekday, from-to, between two days),
one-off hours (one day) and out-of-office blocks (from a day and time to a day and time). Weekly hours are not held
on plan holidays. Hours are cut into slots of their slot length from their start; a slot is identified by its
reviewer and its start instant (`slot_id`), and hours of one reviewer never overlap (`hours_overlap`), so a start
names one slot. Around the daylight-saving changes slots are counted on the wall clock: a slot whose start does not
exist (the spring-forward hour) or whose real length differs from its length on the wall clock (the fall-back hour)
is left out.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from operator import itemgetter
from typing import Iterable, NamedTuple, Sequence

from app.domain.authority import Refusal
from app.domain.calendar import BusinessCalendar
from app.domain.case_states import ADVERSE_OUTCOMES, OUTCOMES, UNDECIDED_STATES
from app.domain.plantime import PLAN_TZ, format_instant
from app.domain.roles import PHYSICIAN_ROLES, ROLES, works_category

UTC = timezone.utc

KINDS = {"denial": "Denial", "potential-denial": "Potential denial"}
REQUEST_STATUSES = {
    "requested": "To schedule",
    "offered": "Windows offered",
    "booked": "Call booked",
    "completed": "Held",
    "closed-attempted": "Closed as attempted",
    "cancelled": "Cancelled",
}
OPEN_REQUEST_STATUSES = ("requested", "offered", "booked")
TO_SCHEDULE_STATUSES = ("requested", "offered")
BOOKING_STATUSES = {
    "booked": "Booked",
    "held": "Held",
    "no-show": "Practitioner no-show",
    "plan-missed": "Plan missed the call",
    "cancelled": "Cancelled",
    "rescheduled": "Rescheduled",
}
CALL_STATUSES = {"held": "Held", "no-show": "Practitioner no-show", "plan-missed": "Plan missed the call"}
RESULTS = {"upheld": "Upheld", "overturned": "Overturned: approved", "modified": "Modified: approved in part"}
AVAILABILITY_KINDS = {"weekly": "Weekly hours", "one-off": "One-off hours", "out-of-office": "Out of office"}
SLOT_MINUTES = (15, 20, 30, 45, 60)
DEFAULT_SLOT_MINUTES = 30
REQUEST_WINDOW_BUSINESS_DAYS = 5
MISSED_WINDOWS_TO_CLOSE = 2
MIN_WINDOWS_OFFERED = 2
REMINDER_MINUTES = 15
# The appeals work records this case event kind when an appeal is filed (docs/p2p.md, "Appeals").
APPEAL_FILED_EVENT = "appeal-filed"
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Who holds peer-to-peer calls: physician reviewers, and clinical pharmacists for pharmacy peer discussions.
PEER_ROLES = PHYSICIAN_ROLES | {"clinical-pharmacist"}
# Who schedules them: the UM coordinators (the CMO's assistant "coordinates Peer-to-Peer requests"), supervisors,
# administrators, and the physicians themselves.
SCHEDULER_ROLES = frozenset({"um-coordinator", "nurse-supervisor", "administrator"}) | PHYSICIAN_ROLES
# Who keeps other reviewers' availability (the CMO's assistant schedules the medical directors' coverage).
AVAILABILITY_KEEPERS = frozenset({"um-coordinator", "nurse-supervisor", "administrator"})


# ----- wording ----------------------------------------------------------------------------------------------
def _either(roles: Iterable[str]) -> str:
    labels = [ROLES[r] for r in ROLES if r in set(roles)]
    if not labels:
        return "nobody"
    labels = [("an " if label[0].lower() in "aeio" else "a ") + label for label in labels]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _refusal(reason: str, who: Iterable[str]) -> Refusal:
    who = tuple(r for r in ROLES if r in set(who))
    return Refusal(f"{reason} Who may: {_either(who)}.", who)


def day_text(day: date) -> str:
    return day.strftime("%a %m/%d/%Y")


def minutes_text(value: time) -> str:
    return value.strftime("%I:%M %p").lstrip("0")


# ----- authority ----------------------------------------------------------------------------------------------
def may_keep_availability(actor_role: str, *, own: bool, target_role: str) -> Refusal | None:
    """A reviewer publishes their own availability; coordinators, supervisors and administrators keep anyone's."""
    if target_role not in PEER_ROLES:
        return _refusal(f"A {ROLES.get(target_role, target_role)} does not hold peer-to-peer calls, so has no "
                        "availability to publish.", ())
    if own and actor_role in PEER_ROLES:
        return None
    if actor_role in AVAILABILITY_KEEPERS:
        return None
    reason = ("You may keep only your own availability." if actor_role in PEER_ROLES else
              f"A {ROLES.get(actor_role, actor_role)} may not keep reviewers' availability.")
    return _refusal(reason, AVAILABILITY_KEEPERS | (PEER_ROLES if own else set()))


def may_schedule(actor_role: str) -> Refusal | None:
    """Requesting, offering, booking, rescheduling and cancelling peer-to-peer calls."""
    if actor_role in SCHEDULER_ROLES:
        return None
    return _refusal(f"A {ROLES.get(actor_role, actor_role)} does not schedule peer-to-peer calls.", SCHEDULER_ROLES)


def peer_unfit(role: str, category: str, *, active: bool = True, involved: bool = False) -> str | None:
    """Why this reviewer cannot hold the call on a case of `category` (None when they can): a physician who works
    the category (the BH clinical director: BH/SUD), or a clinical pharmacist for a medication TAR; never someone
    involved in the member's care (conflict of interest)."""
    if not active:
        return "the account is not active"
    if role not in PEER_ROLES:
        return f"a {ROLES.get(role, role)} does not hold peer-to-peer calls"
    if not works_category(role, category):
        return f"a {ROLES.get(role, role)} does not review this service category"
    if involved:
        return "recorded as involved in the member's care (conflict of interest)"
    return None


def may_record_call(actor_role: str, call: str, *, is_peer: bool, is_decider: bool,
                    peer_is_physician: bool) -> Refusal | None:
    """A call's result (held: upheld, overturned, modified) is recorded by a physician: the one who held the call,
    or the deciding physician when a pharmacist held it. A missed call (no-show, plan missed) may also be recorded
    by the schedulers."""
    if call == "held":
        if actor_role not in PHYSICIAN_ROLES:
            return _refusal(f"Only a physician records the outcome of a peer-to-peer call; a "
                            f"{ROLES.get(actor_role, actor_role)} may not.", PHYSICIAN_ROLES)
        if is_peer or (not peer_is_physician and is_decider):
            return None
        return Refusal("The call was booked with another reviewer: only the physician who held it records its "
                       "outcome (reschedule it to yourself first if you hold it instead).", ())
    if is_peer or actor_role in SCHEDULER_ROLES:
        return None
    return _refusal(f"A {ROLES.get(actor_role, actor_role)} may not record a missed peer-to-peer call.",
                    SCHEDULER_ROLES)


# ----- availability -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Availability:
    """One published entry. Weekly: `weekday` (0 = Monday) from `first_day` to `last_day` (None: open-ended).
    One-off: `first_day` only. Out of office: from `first_day` at `start` (None: midnight) to `last_day` at `end`
    (None: the end of that day)."""

    id: object
    kind: str
    first_day: date
    last_day: date | None = None
    weekday: int | None = None
    start: time | None = None
    end: time | None = None
    slot_minutes: int = DEFAULT_SLOT_MINUTES

    def on(self, day: date) -> bool:
        """Whether these hours are held on `day` (weekly hours skip plan holidays: the caller checks those)."""
        if self.kind == "one-off":
            return day == self.first_day
        if self.kind == "weekly":
            return (day.weekday() == self.weekday and day >= self.first_day
                    and (self.last_day is None or day <= self.last_day))
        return False

    def interval(self) -> tuple[datetime, datetime]:
        """An out-of-office block as UTC instants [from, to)."""
        start = datetime.combine(self.first_day, self.start or time(0), tzinfo=PLAN_TZ)
        last = self.last_day or self.first_day
        end = (datetime.combine(last, self.end, tzinfo=PLAN_TZ) if self.end is not None
               else datetime.combine(last + timedelta(days=1), time(0), tzinfo=PLAN_TZ))
        return start.astimezone(UTC), end.astimezone(UTC)

    def describe(self) -> str:
        if self.kind == "weekly":
            until = f" until {day_text(self.last_day)}" if self.last_day else ""
            return (f"Weekly: {WEEKDAY_NAMES[self.weekday]}s {minutes_text(self.start)}–{minutes_text(self.end)} PT, "
                    f"{self.slot_minutes}-minute calls, from {day_text(self.first_day)}{until}")
        if self.kind == "one-off":
            return (f"One-off: {day_text(self.first_day)} {minutes_text(self.start)}–{minutes_text(self.end)} PT, "
                    f"{self.slot_minutes}-minute calls")
        start = f"{day_text(self.first_day)}" + (f" {minutes_text(self.start)}" if self.start else "")
        end = f"{day_text(self.last_day or self.first_day)}" + (f" {minutes_text(self.end)}" if self.end else "")
        return f"Out of office: {start} to {end}" + ("" if self.end else " (whole days)")


def availability_problem(kind: str, *, first_day: date | None, last_day: date | None = None,
                         weekday: int | None = None, start: time | None = None, end: time | None = None,
                         slot_minutes: int | None = DEFAULT_SLOT_MINUTES) -> str | None:
    """What is wrong with an availability entry, in the user's words (None: nothing)."""
    if kind not in AVAILABILITY_KINDS:
        return f"the kind of availability is one of: {', '.join(AVAILABILITY_KINDS)} (not '{kind}')"
    if first_day is None:
        return "give the first day"
    if kind == "out-of-office":
        last = last_day or first_day
        if last < first_day:
            return "the out-of-office block ends before it starts"
        if last == first_day and start is not None and end is not None and end <= start:
            return "the out-of-office block ends before it starts"
        return None
    if kind == "weekly" and weekday not in range(7):
        return "choose the weekday of the weekly hours"
    if kind == "weekly" and last_day is not None and last_day < first_day:
        return "the weekly hours end before they start"
    if start is None or end is None:
        return "give the hours' start and end times"
    if end <= start:
        return f"the hours end ({minutes_text(end)}) before they start ({minutes_text(start)})"
    if slot_minutes not in SLOT_MINUTES:
        return f"a call lasts one of {', '.join(map(str, SLOT_MINUTES))} minutes (not {slot_minutes})"
    length = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if length < slot_minutes:
        return f"the hours are shorter than one {slot_minutes}-minute call"
    if start.second or end.second or start.microsecond or end.microsecond:
        return "hours start and end on whole minutes"
    return None


def _days_overlap(a: Availability, b: Availability) -> bool:
    a_last = a.first_day if a.kind == "one-off" else a.last_day
    b_last = b.first_day if b.kind == "one-off" else b.last_day
    if a_last is not None and a_last < b.first_day:
        return False
    if b_last is not None and b_last < a.first_day:
        return False
    if a.kind == "one-off" and b.kind == "one-off":
        return a.first_day == b.first_day
    if a.kind == "weekly" and b.kind == "weekly":
        return a.weekday == b.weekday
    one, weekly = (a, b) if a.kind == "one-off" else (b, a)
    return weekly.on(one.first_day)


def hours_overlap(a: Availability, b: Availability) -> bool:
    """Whether two hours entries of one reviewer share any minute (they may not: a start names one slot)."""
    if "out-of-office" in (a.kind, b.kind):
        return False
    return _days_overlap(a, b) and a.start < b.end and b.start < a.end


class Slot(NamedTuple):
    """A bookable call: a reviewer's time from `start` to `end` (UTC), cut from the availability `source`. A named
    tuple: a search makes tens of thousands of them."""

    reviewer: str  # username
    start: datetime
    end: datetime
    source: object = None

    @property
    def id(self) -> str:
        return slot_id(self.reviewer, self.start)


def slot_id(reviewer: str, start: datetime) -> str:
    """'dr.shah@20261124T1800Z': the reviewer's username and the slot's start in UTC (to the minute)."""
    return f"{reviewer}@{start.astimezone(UTC):%Y%m%dT%H%MZ}"


def parse_slot_id(text: str) -> tuple[str, datetime]:
    """(username, start) of a slot id; ValueError saying what a slot id looks like."""
    reviewer, sep, stamp = (text or "").strip().rpartition("@")
    try:
        if not sep or not reviewer:
            raise ValueError
        start = datetime.strptime(stamp, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"'{text}' is not a slot id; slot ids look like dr.shah@20261124T1800Z "
                         "('umws p2p slots' lists them)") from None
    return reviewer, start


def _exists(local: datetime) -> bool:
    """Whether a plan-local wall time exists (not in the spring-forward gap)."""
    return local.astimezone(UTC).astimezone(PLAN_TZ).replace(tzinfo=None) == local.replace(tzinfo=None)


@lru_cache(maxsize=4096)
def _clocks_change(day: date) -> bool:
    """Whether the plan's UTC offset changes during `day` (the two daylight-saving days of a year)."""
    midnight = datetime.combine(day, time(0), tzinfo=PLAN_TZ)
    return midnight.utcoffset() != datetime.combine(day + timedelta(days=1), time(0), tzinfo=PLAN_TZ).utcoffset()


_new = tuple.__new__  # a Slot without the named tuple's Python-level __new__ (a search makes thousands)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@lru_cache(maxsize=256)
def _offsets(minutes: int, count: int) -> tuple[timedelta, ...]:
    """0, 1, ... `count` slot lengths (int * timedelta is slow: made once per length and count)."""
    return tuple(timedelta(minutes=minutes * n) for n in range(count + 1))


def _cut(reviewer: str, entry: Availability, day: date, after: datetime = _EARLIEST,
         taken: set[datetime] | frozenset[datetime] = frozenset(), midnight: datetime | None = None) -> list[Slot]:
    """The slots of `entry` on `day` that start after `after` and are not `taken` (`midnight`: the day's start
    in UTC, when the caller has it)."""
    step = timedelta(minutes=entry.slot_minutes)
    count = ((entry.end.hour - entry.start.hour) * 60 + entry.end.minute - entry.start.minute) // entry.slot_minutes
    source = entry.id
    if not _clocks_change(day):
        # No clock change that day: the hours' start is the day's midnight (UTC) plus its wall-clock time.
        midnight = midnight or datetime.combine(day, time(0), tzinfo=PLAN_TZ).astimezone(UTC)
        start = midnight + timedelta(hours=entry.start.hour, minutes=entry.start.minute)
        if start + _offsets(entry.slot_minutes, count)[-1] <= after:
            return []
        starts = [start + offset for offset in _offsets(entry.slot_minutes, count)]
        return [_new(Slot, (reviewer, starts[n], starts[n + 1], source)) for n in range(count)
                if starts[n] > after and starts[n] not in taken]
    slots = []
    first = datetime.combine(day, entry.start, tzinfo=PLAN_TZ)
    for n in range(count):  # a daylight-saving change that day: count on the wall clock
        local = first + n * step
        if not _exists(local):
            continue
        start, end = local.astimezone(UTC), (local + step).astimezone(UTC)
        if end - start == step and start > after and start not in taken:
            slots.append(Slot(reviewer, start, end, source))
    return slots


def generate_slots(reviewer: str, entries: Sequence[Availability], first_day: date, last_day: date,
                   calendar: BusinessCalendar, *, taken: set[datetime] | frozenset[datetime] = frozenset(),
                   after: datetime | None = None) -> list[Slot]:
    """Every slot of `reviewer`'s published hours on the plan days `first_day` to `last_day`, earliest first: weekly
    hours on their weekday except plan holidays, one-off hours on their day, less what an out-of-office block
    touches. Overlapping hours (which the services refuse to publish) keep the earlier slot. With `taken` (booked
    start instants) and `after` (an instant), only the free slots that start after it (see `free_slots`).

    Built day by day, in order, so that only a day with more than one entry is sorted, and a slot that is not wanted
    is never made: a search over 50 reviewers and 4 weeks yields some 12,000 slots (bench/bench_p2p.py)."""
    # In UTC, like the slots: comparing instants of one tzinfo object compares their fields, not their offsets.
    after = after.astimezone(UTC) if after is not None else _EARLIEST
    weekly: dict[int, list[Availability]] = {}
    one_off: dict[date, list[Availability]] = {}
    blocks: list[tuple[datetime, datetime]] = []
    for entry in entries:
        if entry.kind == "weekly":
            weekly.setdefault(entry.weekday, []).append(entry)
        elif entry.kind == "one-off":
            if first_day <= entry.first_day <= last_day:
                one_off.setdefault(entry.first_day, []).append(entry)
        else:
            blocks.append(entry.interval())
    blocked_days = {day for start, end in blocks for day in _days_touched(start, end)}
    slots: list[Slot] = []
    day = first_day
    one_day = timedelta(days=1)
    midnight = datetime.combine(first_day, time(0), tzinfo=PLAN_TZ).astimezone(UTC)
    while day <= last_day:
        todays = one_off.get(day, [])
        if day.weekday() in weekly and not calendar.is_holiday(day):
            todays = todays + [e for e in weekly[day.weekday()]
                               if e.first_day <= day and (e.last_day is None or day <= e.last_day)]
        if len(todays) == 1:
            made = _cut(reviewer, todays[0], day, after, taken, midnight)
        elif todays:
            made = []
            for slot in sorted((slot for entry in todays
                                for slot in _cut(reviewer, entry, day, after, taken, midnight)), key=_START):
                if not made or slot.start >= made[-1].end:
                    made.append(slot)
        else:
            made = []
        if made and day in blocked_days:
            made = [s for s in made if not any(s.start < end and start < s.end for start, end in blocks)]
        slots += made
        day += one_day
        # the next midnight: a day later in UTC, unless the clocks changed during this day (then counted afresh)
        midnight = (datetime.combine(day, time(0), tzinfo=PLAN_TZ).astimezone(UTC)
                    if _clocks_change(day - one_day) else midnight + one_day)
    return slots


def _days_touched(start: datetime, end: datetime) -> list[date]:
    """The plan days an interval [start, end) touches."""
    first, last = start.astimezone(PLAN_TZ).date(), (end - timedelta(microseconds=1)).astimezone(PLAN_TZ).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


_START = itemgetter(1)  # Slot.start


def free_slots(slots: Iterable[Slot], taken: set[datetime] | frozenset[datetime], now: datetime) -> list[Slot]:
    """The slots that start after `now` and that no booked call holds (`taken`: booked start instants)."""
    return [slot for slot in slots if slot.start > now and slot.start not in taken]


# ----- specialty match ------------------------------------------------------------------------------------------
# "Same or similar specialty" (roles-and-authority.md). Our reading of the board groupings: specialties sharing a
# group are similar. Pharmacotherapy (a clinical pharmacist) is similar to nothing: it is matched to medication TARs.
SPECIALTY_GROUPS = (
    frozenset({"Internal Medicine", "Family Medicine", "Pediatrics"}),  # primary care
    frozenset({"Internal Medicine", "Cardiology", "Gastroenterology", "Pulmonology", "Endocrinology",
               "Rheumatology", "Oncology"}),  # internal medicine and its subspecialties
    frozenset({"Orthopaedic Surgery", "Physical Medicine and Rehabilitation", "Rheumatology"}),  # musculoskeletal
    frozenset({"Orthopaedic Surgery", "General Surgery"}),  # surgery
    frozenset({"Neurology", "Physical Medicine and Rehabilitation"}),
    frozenset({"Psychiatry", "Addiction Medicine"}),  # behavioral health
)
MATCHES = {"deciding": "Deciding physician", "same": "Same specialty", "similar": "Similar specialty",
           "different": "Different specialty", "unknown": "Requester's specialty not recorded"}


def specialty_match(reviewer: str | None, requester: str | None) -> str:
    """'same', 'similar', 'different' or 'unknown' (either specialty not recorded)."""
    if not reviewer or not requester:
        return "unknown"
    a, b = reviewer.strip().lower(), requester.strip().lower()
    if a == b:
        return "same"
    for group in SPECIALTY_GROUPS:
        lowered = {name.lower() for name in group}
        if a in lowered and b in lowered:
            return "similar"
    return "different"


# ----- which peer-to-peer, and its window ---------------------------------------------------------------------
@dataclass(frozen=True)
class CaseFacts:
    """What the peer-to-peer rules need to know about a case."""

    tar: str
    status: str
    outcome: str | None
    basis: str | None  # of the current determination; None (made before bases were recorded) reads as medical
    decided_at: datetime | None
    decision_due: datetime | None
    review_timing: str
    referred_to: str | None = None
    holder_role: str | None = None
    discharge_day: date | None = None
    appeal_filed_at: datetime | None = None


def kind_of(facts: CaseFacts) -> tuple[str | None, str | None]:
    """('denial' | 'potential-denial', None), or (None, why no peer-to-peer is offered on this case)."""
    if facts.status in UNDECIDED_STATES:
        if facts.referred_to in ("physician", "same-specialty") or facts.holder_role in PHYSICIAN_ROLES:
            return "potential-denial", None
        return None, (f"TAR {facts.tar} is not decided and is not with a physician: a peer-to-peer is offered for "
                      "a denial, or for a potential denial once a physician reviews the case. Refer it to a "
                      "physician first.")
    if facts.outcome not in ADVERSE_OUTCOMES:
        outcome = OUTCOMES.get(facts.outcome, facts.outcome or "not decided").lower()
        return None, (f"TAR {facts.tar} was {outcome}: a peer-to-peer is offered only for a denial or a "
                      "modification (or a potential one).")
    if facts.basis not in (None, "medical-necessity"):
        return None, (f"TAR {facts.tar} was denied as not a covered benefit, not for medical necessity: a "
                      "peer-to-peer discusses medical necessity. The provider may appeal.")
    return "denial", None


def expected_discharge(received_at: datetime, requested_los_days: int | None,
                       line_end_days: Iterable[date | None]) -> date | None:
    """The member's discharge day for concurrent review, as far as the case says: the last day of the requested
    services, else the receipt day plus the requested length of stay; None when neither is known."""
    ends = [day for day in line_end_days if day is not None]
    if ends:
        return max(ends)
    if requested_los_days:
        return received_at.astimezone(PLAN_TZ).date() + timedelta(days=requested_los_days)
    return None


@dataclass(frozen=True)
class Window:
    closes: datetime
    basis: str  # in words: "5 business days after the decision on Mon 11/23/2026", "the decision due", ...


def request_window(facts: CaseFacts, kind: str, calendar: BusinessCalendar,
                   business_days: int = REQUEST_WINDOW_BUSINESS_DAYS) -> Window | None:
    """When a peer-to-peer may no longer be asked for (None: no limit known, e.g. an undecided case without a
    decision clock)."""
    if kind == "potential-denial":
        if facts.decision_due is None:
            return None
        return Window(facts.decision_due, "the decision due (the clock does not pause for a peer-to-peer)")
    if facts.review_timing == "concurrent" and facts.discharge_day is not None:
        return Window(calendar.end_of_day(facts.discharge_day).astimezone(UTC),
                      f"the member's discharge on {day_text(facts.discharge_day)} (concurrent review)")
    decided = facts.decided_at.astimezone(PLAN_TZ).date()
    last = calendar.add_business_days(decided, business_days)
    return Window(calendar.end_of_day(last).astimezone(UTC),
                  f"{business_days} business days after the decision on {day_text(decided)}")


def appeal_refusal(facts: CaseFacts) -> str | None:
    if facts.appeal_filed_at is None:
        return None
    return (f"An appeal was filed on TAR {facts.tar} ({format_instant(facts.appeal_filed_at, year=True)}): a "
            "peer-to-peer is no longer offered; the discussion becomes part of the appeal.")


def request_refusal(facts: CaseFacts, now: datetime, calendar: BusinessCalendar,
                    business_days: int = REQUEST_WINDOW_BUSINESS_DAYS) -> tuple[str | None, Window | None, str | None]:
    """(kind, window, None) when a peer-to-peer may be asked for at `now`, else (kind, window, why not)."""
    kind, why = kind_of(facts)
    if kind is None:
        return None, None, why
    window = request_window(facts, kind, calendar, business_days)
    why = appeal_refusal(facts)
    if why is None and window is not None and now > window.closes:
        why = (f"The peer-to-peer window of TAR {facts.tar} closed {format_instant(window.closes, year=True)} "
               f"({window.basis})." + (" The provider may appeal." if kind == "denial" else ""))
    return kind, window, why


def booking_refusal(kind: str, slot: Slot, decision_due: datetime | None, now: datetime) -> str | None:
    """A slot that cannot be booked for this request: in the past, or (a potential denial) not over before the
    decision is due."""
    if slot.start <= now:
        return f"The slot {format_instant(slot.start, year=True)} has already started; choose a future one."
    if kind == "potential-denial" and decision_due is not None and slot.end > decision_due:
        return (f"The decision on this case is due {format_instant(decision_due, year=True)}, and the clock does not "
                f"pause for a peer-to-peer: a call at {format_instant(slot.start, year=True)} would end after it. "
                "Choose an earlier slot, or decide the case.")
    return None


def missed_windows_close(missed: int) -> bool:
    """Two booked windows the practitioner missed close the request as attempted (peer-to-peer.md)."""
    return missed >= MISSED_WINDOWS_TO_CLOSE


# ----- the report --------------------------------------------------------------------------------------------
def median_hours(durations: Iterable[timedelta]) -> float | None:
    values = [d.total_seconds() / 3600 for d in durations]
    return round(statistics.median(values), 1) if values else None


# ----- timeline -------------------------------------------------------------------------------------------------
def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return format_instant(datetime.fromisoformat(value), year=True)
    except ValueError:
        return value


def event_text(kind: str, payload: dict) -> str | None:
    """A peer-to-peer event as the case timeline says it (None: not one of ours)."""
    who = payload.get("reviewer_name") or payload.get("reviewer") or ""
    if kind == "p2p-requested":
        return (f"Peer-to-peer requested by {payload.get('requester_name')} ({payload.get('requester_phone')})"
                + (f": {payload['reason']}" if payload.get("reason") else "")
                + (f"; window closes {_when(payload.get('window_closes'))}" if payload.get("window_closes") else ""))
    if kind == "p2p-offered":
        return f"Peer-to-peer windows offered: {', '.join(_when(s) for s in payload.get('starts', []))}"
    if kind == "p2p-booked":
        return f"Peer-to-peer booked {_when(payload.get('starts_at'))} with {who}"
    if kind == "p2p-rescheduled":
        return (f"Peer-to-peer moved from {_when(payload.get('from_starts_at'))} to {_when(payload.get('starts_at'))}"
                f" with {who}: {payload.get('reason', '')}")
    if kind == "p2p-cancelled":
        return f"Peer-to-peer call {_when(payload.get('starts_at'))} cancelled: {payload.get('reason', '')}"
    if kind == "p2p-request-cancelled":
        return f"Peer-to-peer request cancelled: {payload.get('reason', '')}"
    if kind == "p2p-call":
        call = CALL_STATUSES.get(payload.get("call"), payload.get("call"))
        text = f"Peer-to-peer call {call.lower()} ({_when(payload.get('held_at') or payload.get('starts_at'))})"
        if payload.get("result"):
            text += f": {RESULTS.get(payload['result'], payload['result']).lower()}"
        if payload.get("new_information"):
            text += "; new clinical information offered: route it to an appeal"
        return text + (f". {payload['note']}" if payload.get("note") else "")
    if kind == "p2p-closed-attempted":
        return (f"Peer-to-peer request closed as attempted: the practitioner missed "
                f"{payload.get('missed', MISSED_WINDOWS_TO_CLOSE)} booked windows")
    return None
