"""Inpatient and facility stays (issue 12): the words of a stay, its day ledger and who may act on it.

Pure Python: no Qt, no database. The services (`app.services.stays`) load a stay's days, ask the `Ledger` what an
action changes, and write the changed days with the event that changes them. The clock rules of a stay (admission
review within 24 hours of notification, the late-notice flag, the review due, readmissions) are in
`app.domain.stay_clocks`, next to the regulatory clock engine.

The ledger, in the words of the issue: "each day requested, approved, denied, or pending, with the level of care and
the determination that decided it". Our readings (docs/stays.md):

* A day is a plan-local calendar day of the stay, counted at midnight like a hospital census: the admission day is
  a day, the discharge day is not, and a stay admitted and discharged on the same day has one day.
* ``requested``: the facility asked for the day and nobody has decided it; ``pending``: the day is before a
  physician (the stay is referred); ``approved`` and ``denied``: decided, each naming the determination (the
  `stay-determined` event) that decided it; ``not-used``: a day asked for (or approved) after the discharge. A
  denied day stays denied after the discharge (the determination was made); it is not a bed day.
* Approving fewer days than requested leaves the rest requested, to be decided at the next review (whose due
  includes the regulatory clock of that request). Only a physician denies a day (H&SC 1367.01(e)).
* Leave of absence: the member is away from the facility (a bed hold); the day stays in the ledger with its
  decision, flagged ``on_leave``, and is not a bed day.
* A change of level of care applies from its effective day to every undecided or approved day after it; an
  approved day keeps its approval at the new level, now decided by the change's determination.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Iterable

from app.domain import authority
from app.domain.roles import NURSE_ROLES, PHYSICIAN_ROLES, ROLES, works_category

# ----- vocabulary ------------------------------------------------------------------------------------------------
LEVELS_OF_CARE = {
    "icu": "ICU",
    "acute": "Acute",
    "acute-psych": "Acute psychiatric",
    "ltac": "Long-term acute care",
    "sub-acute": "Sub-acute",
    "snf": "Skilled nursing facility",
    "residential-sud": "Residential SUD",
    "administrative": "Administrative days (awaiting placement)",
}
# How intensive each level is: a change to a lower rank lowers the level of care (a modification, a physician's
# decision). Acute psychiatric and residential SUD are ranked with the medical levels they replace (our reading).
LEVEL_RANK = {"icu": 7, "acute": 6, "acute-psych": 6, "ltac": 5, "sub-acute": 4, "snf": 3, "residential-sud": 3,
              "administrative": 1}
# Days to the next concurrent review by level of care: the default the reviewer may change (our reading of the
# plan's "on a frequency consistent with the member's condition"; ICU daily, acute every other day, SNF every two
# weeks, residential SUD weekly as ASAM reviews are).
REVIEW_INTERVAL_DAYS = {"icu": 1, "acute": 2, "acute-psych": 3, "ltac": 7, "sub-acute": 7, "snf": 14,
                        "residential-sud": 7, "administrative": 7}
# The service category (so the team, the clocks' category and who decides) of a stay admitted at each level.
LEVEL_CATEGORY = {"icu": "inpatient", "acute": "inpatient", "ltac": "inpatient", "administrative": "inpatient",
                  "sub-acute": "ltc-snf", "snf": "ltc-snf", "acute-psych": "bh-sud", "residential-sud": "bh-sud"}
# CMS place-of-service code of each level (the criteria's place-of-service rules read it).
LEVEL_PLACE_OF_SERVICE = {"icu": "21", "acute": "21", "ltac": "21", "administrative": "21", "sub-acute": "31",
                          "snf": "31", "acute-psych": "51", "residential-sud": "55"}
# The request line a stay carries (per diem or initial care code, from resources/demo/codes.json's lists).
LEVEL_LINE = {
    "icu": ("99223", "Initial hospital inpatient care, high complexity (ICU)"),
    "acute": ("99223", "Initial hospital inpatient care, high complexity"),
    "ltac": ("99223", "Initial hospital inpatient care, long-term acute care"),
    "administrative": ("99222", "Inpatient care, administrative days awaiting placement"),
    "sub-acute": ("0191", "Subacute care, per day"),
    "snf": ("0022", "Skilled nursing facility level of care, per day"),
    "acute-psych": ("99223", "Initial hospital inpatient care, acute psychiatric"),
    "residential-sud": ("H0018", "Behavioral health short-term residential treatment, per diem"),
}
# Criteria sets (resources/criteria) a review walks at each level: (admission, continued stay). None: no set
# ships for that level, and a nurse records "no criteria apply" and refers to a physician.
LEVEL_CRITERIA = {
    "icu": ("inpatient-acute-admission", "inpatient-continued-stay"),
    "acute": ("inpatient-acute-admission", "inpatient-continued-stay"),
    "ltac": (None, "inpatient-continued-stay"),
    "administrative": ("ltc-snf-level-of-care", "ltc-snf-level-of-care"),
    "sub-acute": ("ltc-snf-level-of-care", "ltc-snf-level-of-care"),
    "snf": ("ltc-snf-level-of-care", "ltc-snf-level-of-care"),
    "acute-psych": (None, None),
    "residential-sud": ("bh-residential-sud-asam", "bh-residential-sud-asam"),
}
ADMISSION_TYPES = {
    "emergency": "Emergency (through the emergency department)",
    "urgent": "Urgent (unscheduled, not an emergency)",
    "elective": "Elective (scheduled)",
}
DISPOSITIONS = {
    "home": "Home",
    "home-health": "Home with home health",
    "snf": "Skilled nursing facility",
    "acute-rehab": "Acute rehabilitation",
    "another-acute": "Another acute facility",
    "ama": "Left against medical advice",
    "expired": "Expired",
}
# Discharge needs: each becomes a new request, pre-filled from the stay: (label, service category, code, text).
DISCHARGE_NEEDS = {
    "dme": ("DME", "dme", "E0260", "Hospital bed, semi-electric, with mattress (discharge need)"),
    "home-health": ("Home health", "home-health", "G0299", "Skilled nursing visits at home (discharge need)"),
    "snf-placement": ("SNF placement", "ltc-snf", "0022", "Skilled nursing facility placement (discharge need)"),
    "medications": ("Medications", "medication", "J3490", "Discharge medications (discharge need)"),
}
DAY_STATUSES = {
    "requested": "Requested",
    "pending": "Pending (physician review)",
    "approved": "Approved",
    "denied": "Denied",
    "not-used": "Not used (after discharge)",
}
UNDECIDED = frozenset({"requested", "pending"})
DENIAL_BASES = {
    "medical-necessity": "The days do not meet the continued-stay criteria (medical necessity)",
    "late-notice": "The facility did not notify the plan within one business day of the admission",
}
STAY_STATES = {"open": "Open", "discharged": "Discharged"}


class StayError(ValueError):
    """An action the stay's days or dates do not allow; the message says why and what to do instead."""


def level_label(level: str) -> str:
    return LEVELS_OF_CARE.get(level, level)


def require_level(level: str) -> str:
    if level not in LEVELS_OF_CARE:
        raise StayError(f"level of care '{level}' is not one of: {', '.join(LEVELS_OF_CARE)}")
    return level


def lowers_level(old: str, new: str) -> bool:
    """A change to a less intensive level of care (e.g. acute to administrative days awaiting a SNF bed)."""
    return LEVEL_RANK[new] < LEVEL_RANK[old]


def default_next_review(level: str, today: date) -> date:
    """The next review date a review proposes: today plus the level's interval (REVIEW_INTERVAL_DAYS)."""
    return today + timedelta(days=REVIEW_INTERVAL_DAYS[require_level(level)])


def _d(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _span(days: list[date]) -> str:
    days = sorted(days)
    if len(days) == 1:
        return _d(days[0])
    return f"{_d(days[0])}-{_d(days[-1])} ({len(days)} days)"


# ----- the day ledger ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerDay:
    day: date
    status: str
    level_of_care: str
    determination_id: str | None = None  # the `stay-determined` event that decided it
    on_leave: bool = False

    def to_json(self) -> dict:
        return {"day": self.day.isoformat(), "status": self.status, "level_of_care": self.level_of_care,
                "determination_id": self.determination_id, "on_leave": self.on_leave}


@dataclass(frozen=True)
class Ledger:
    """A stay's days in order, from the admission day. Each method returns the days it changes (new values),
    or raises StayError saying why not; `with_days` applies them."""

    admit_day: date
    days: tuple[LedgerDay, ...] = ()
    discharge_day: date | None = None  # set once the stay is discharged

    # --- reading ---
    def get(self, day: date) -> LedgerDay | None:
        index = (day - self.admit_day).days
        if 0 <= index < len(self.days) and self.days[index].day == day:
            return self.days[index]
        return next((d for d in self.days if d.day == day), None)

    @property
    def last_day(self) -> date | None:
        return self.days[-1].day if self.days else None

    def with_status(self, *statuses: str) -> list[LedgerDay]:
        return [d for d in self.days if d.status in statuses]

    @property
    def approved_through(self) -> date | None:
        """The last approved day (the day the approved days run out)."""
        approved = self.with_status("approved")
        return approved[-1].day if approved else None

    @property
    def requested_through(self) -> date | None:
        used = [d for d in self.days if d.status != "not-used"]
        return used[-1].day if used else None

    def counts(self) -> dict[str, int]:
        counts = {status: 0 for status in DAY_STATUSES}
        for d in self.days:
            counts[d.status] += 1
        counts["on_leave"] = sum(1 for d in self.days if d.on_leave and d.status != "not-used")
        counts["bed_days"] = self.bed_days()
        return counts

    @property
    def last_bed_day(self) -> date | None:
        """The last night in the bed: the day before the discharge day (the admission day of a same-day stay)."""
        if self.discharge_day is None:
            return None
        return max(self.admit_day, self.discharge_day - timedelta(days=1))

    def is_bed_day(self, d: LedgerDay, until: date | None = None) -> bool:
        last = self.last_bed_day
        return (d.status != "not-used" and not d.on_leave and (last is None or d.day <= last)
                and (until is None or d.day <= until))

    def bed_days(self, until: date | None = None) -> int:
        """Days the member was in the bed: every day up to the night before the discharge, but those on leave (and,
        with `until`, those after it: an open stay's future days are not bed days yet)."""
        return sum(1 for d in self.days if self.is_bed_day(d, until))

    def days_by_level(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for d in self.days:
            if self.is_bed_day(d):
                result[d.level_of_care] = result.get(d.level_of_care, 0) + 1
        return result

    def with_days(self, changed: Iterable[LedgerDay]) -> Ledger:
        by_day = {d.day: d for d in self.days}
        for d in changed:
            by_day[d.day] = d
        return replace(self, days=tuple(by_day[day] for day in sorted(by_day)))

    # --- actions ---
    def request_through(self, through: date, level: str) -> list[LedgerDay]:
        """The facility asks for every day up to `through` (new days are requested at `level`)."""
        require_level(level)
        if through < self.admit_day:
            raise StayError(f"{_d(through)} is before the admission on {_d(self.admit_day)}: days of a stay start "
                            "on the admission day.")
        start = self.admit_day if not self.days else self.days[-1].day + timedelta(days=1)
        if self.days and self.days[-1].status == "not-used":
            raise StayError("The stay is discharged: no more days can be requested.")
        if through < start:
            raise StayError(f"Days through {_d(through)} are already in the ledger (requested through "
                            f"{_d(start - timedelta(days=1))}).")
        return [LedgerDay(start + timedelta(days=n), "requested", level)
                for n in range((through - start).days + 1)]

    def _decidable(self, first: date, last: date, verb: str) -> list[LedgerDay]:
        if last < self.admit_day:
            raise StayError(f"{_d(last)} is before the admission on {_d(self.admit_day)}: nothing to {verb}.")
        if first > last:
            raise StayError(f"the first day {_d(first)} is after the last one {_d(last)}.")
        missing = [first + timedelta(days=n) for n in range((last - first).days + 1)
                   if self.get(first + timedelta(days=n)) is None]
        if missing:
            asked = self.requested_through
            raise StayError(f"Only days through {_d(asked) if asked else 'none'} were requested; {_span(missing)} "
                            f"{'was' if len(missing) == 1 else 'were'} not. Record the facility's request for more "
                            f"days first: a review cannot {verb} days beyond those requested.")
        return [d for d in self.days if first <= d.day <= last]

    def approve_through(self, through: date, determination_id: str) -> list[LedgerDay]:
        """Approve every undecided day up to `through` (the days after it stay as they are)."""
        first = self.admit_day
        days = self._decidable(first, through, "approve")
        after_discharge = [d.day for d in days if d.status == "not-used"]
        if after_discharge:
            raise StayError(f"{_span(after_discharge)} {'is' if len(after_discharge) == 1 else 'are'} after the "
                            "discharge: nothing to approve.")
        changed = [replace(d, status="approved", determination_id=determination_id)
                   for d in days if d.status in UNDECIDED]
        if not changed:
            raise StayError(f"Every day through {_d(through)} is already decided; approve through a later "
                            "requested day.")
        return changed

    def deny(self, first: date, last: date, determination_id: str) -> list[LedgerDay]:
        """Deny the undecided days from `first` to `last` (an approved day is not taken back)."""
        days = self._decidable(max(first, self.admit_day), last, "deny")
        approved = [d.day for d in days if d.status == "approved"]
        if approved:
            raise StayError(f"{_span(approved)} {'is' if len(approved) == 1 else 'are'} already approved; an "
                            "approval is not taken back. Lower the level of care from a later day instead.")
        changed = [replace(d, status="denied", determination_id=determination_id)
                   for d in days if d.status in UNDECIDED]
        if not changed:
            raise StayError(f"No undecided day from {_d(first)} to {_d(last)}.")
        return changed

    def pend(self) -> list[LedgerDay]:
        """A referral to a physician: every requested day is now before the physician."""
        return [replace(d, status="pending") for d in self.days if d.status == "requested"]

    def unpend(self) -> list[LedgerDay]:
        """The physician answered: the days they left undecided go back to the concurrent review."""
        return [replace(d, status="requested") for d in self.days if d.status == "pending"]

    def change_level(self, effective: date, level: str, determination_id: str) -> list[LedgerDay]:
        """From `effective` on, every day not denied or unused is at `level`; approved days keep their approval,
        now decided by this change's determination."""
        require_level(level)
        if effective < self.admit_day:
            raise StayError(f"{_d(effective)} is before the admission on {_d(self.admit_day)}.")
        changed = []
        for d in self.days:
            if d.day < effective or d.status in ("denied", "not-used") or d.level_of_care == level:
                continue
            changed.append(replace(d, level_of_care=level,
                                   determination_id=determination_id if d.status == "approved" else
                                   d.determination_id))
        return changed

    def leave(self, first: date, last: date) -> list[LedgerDay]:
        """The member is on a leave of absence from `first` to `last` (both in the ledger)."""
        if first < self.admit_day:
            raise StayError(f"A leave of absence cannot start before the admission on {_d(self.admit_day)}.")
        if last < first:
            raise StayError(f"The leave ends ({_d(last)}) before it starts ({_d(first)}).")
        days = self._decidable(first, last, "record a leave on")
        changed = [replace(d, on_leave=True) for d in days if not d.on_leave and d.status != "not-used"]
        if not changed:
            raise StayError(f"The member is already recorded on leave from {_d(first)} to {_d(last)}.")
        return changed

    def discharge(self, discharge_day: date) -> list[LedgerDay]:
        """Days from the discharge day on (but the admission day of a same-day stay) are not used, except those
        denied, which stay denied; refused while a day before the discharge is still undecided. Apply the result
        with `with_days(...)` and `discharged(discharge_day)`."""
        if discharge_day < self.admit_day:
            raise StayError(f"The discharge ({_d(discharge_day)}) is before the admission "
                            f"({_d(self.admit_day)}).")
        last_used = max(self.admit_day, discharge_day - timedelta(days=1))
        undecided = [d.day for d in self.days if d.day <= last_used and d.status in UNDECIDED]
        if undecided:
            raise StayError(f"{_span(undecided)} {'is' if len(undecided) == 1 else 'are'} still undecided: decide "
                            "(or refer) the days first, then record the discharge.")
        if not self.days or self.days[0].day > self.admit_day:
            raise StayError("No day of the stay has been requested or decided: review the admission first.")
        missing = [self.admit_day + timedelta(days=n) for n in range((last_used - self.admit_day).days + 1)
                   if self.get(self.admit_day + timedelta(days=n)) is None]
        if missing:
            raise StayError(f"{_span(missing)} {'was' if len(missing) == 1 else 'were'} never requested: record "
                            "the facility's request and decide the days before the discharge.")
        return [replace(d, status="not-used") for d in self.days
                if d.day > last_used and d.status in ("requested", "pending", "approved")]

    def discharged(self, discharge_day: date) -> Ledger:
        return replace(self, discharge_day=discharge_day)


def ledger_outcome(ledger: Ledger) -> str:
    """The outcome of a discharged stay's request as a whole: approved (no day denied), denied (no day approved),
    partially-approved (both)."""
    approved = bool(ledger.with_status("approved"))
    denied = bool(ledger.with_status("denied"))
    if denied and approved:
        return "partially-approved"
    return "denied" if denied else "approved"


# ----- who may do what on a stay --------------------------------------------------------------------------------------
# Facts of a stay anyone working it records (they decide nothing): the facility's request for days, a leave of
# absence, the expected discharge, the discharge itself, a transfer. UM coordinators enter requests, so they may too.
FACT_ROLES = NURSE_ROLES | PHYSICIAN_ROLES | frozenset({"um-coordinator", "administrator"})
STAY_FACTS = {
    "admit": "record an admission",
    "request-days": "record a facility's request for days",
    "leave": "record a leave of absence",
    "expected-discharge": "set the expected discharge date",
    "discharge": "record a discharge",
    "transfer": "record a transfer",
    "care-plan": "record that the treating provider was told and a care plan agreed",
}
FACT_ACTION_ROLES = {action: FACT_ROLES for action in STAY_FACTS}
FACT_ACTION_ROLES["care-plan"] = NURSE_ROLES | PHYSICIAN_ROLES | frozenset({"administrator"})


def may_record(role: str, action: str, category: str) -> authority.Refusal | None:
    """May `role` record the stay fact `action` on a stay of service category `category`?"""
    roles = FACT_ACTION_ROLES[action]

    def allowed(r: str) -> bool:
        return r in roles and works_category(r, category)

    if allowed(role):
        return None
    who = tuple(r for r in ROLES if allowed(r))
    names = [ROLES[r] for r in who]
    listing = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)
    label = ROLES.get(role, role)
    article = "An" if label[:1].lower() in "aeio" else "A"
    return authority.Refusal(f"{article} {label} may not {STAY_FACTS[action]} on this stay. Who may: {listing}.",
                             who)


def may_deny_days(role: str, category: str, basis: str, *, member_under_21: bool, involved: bool,
                  emergency: bool, late_notice: bool) -> authority.Refusal | None:
    """Only a physician denies days (H&SC 1367.01(e)): for lack of medical necessity through the decision rules of
    `app.domain.authority`, and for late notice too (the plan "may deny those days for late notice, a physician's
    decision", issue 12) -- never an emergency admission or its stabilization days (42 CFR 438.114(d)), and only
    when the admission is flagged late."""
    if basis not in DENIAL_BASES:
        raise StayError(f"denial basis '{basis}' is not one of: {', '.join(DENIAL_BASES)}")
    refusal = authority.may_decide(role, "denied", category, basis="medical-necessity", criteria="not-met",
                                   member_under_21=member_under_21, involved=involved)
    if refusal:
        return refusal
    if basis == "late-notice":
        if emergency:
            return authority.Refusal("An emergency admission and its stabilization days are never denied for late "
                                     "notice (42 CFR 438.114(d)).")
        if not late_notice:
            return authority.Refusal("The facility notified the plan in time (within one business day of the "
                                     "admission): the days cannot be denied for late notice.")
    return None
