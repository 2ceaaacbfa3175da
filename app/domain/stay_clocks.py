"""The clocks of a stay (issue 12), counted with the regulatory clock engine's durations and the plan calendar.

Sources: ../shared/reference/timeliness.md ("Inpatient and SNF admissions: reviewed within 24 hours of notification
of admission. A facility that does not notify within one business day of admission may be denied for that
reason"); the plan's UM program ("Requests for authorization are reviewed within 24 hours of notification of
admission and concurrently throughout the stay"); 42 CFR 438.114(d) (no denial of emergency services for failure
to notify). Business days and plan-local days are `app.domain.calendar`'s, durations `app.domain.clocks.Duration`:
nothing here counts days on its own.

Readings (docs/stays.md):

* Admission review: due 24 elapsed hours after the facility notified the plan (an hour clock on UTC instants,
  like every hour clock of the engine).
* Late notice: the facility had until the end (23:59:59 plan time) of the first business day after the plan-local
  admission day (day 0), as the engine counts "1 business day"; a notification after that is late. An emergency
  admission is never flagged (its emergency and stabilization days may not be denied for late notice, 42 CFR
  438.114(d)). The days the plan may deny for late notice are those before the plan-local day it was notified.
* Review due: before the first determination, the admission review's due. After it, the earliest of the end of the
  next review date, the end of the last approved day ("sorted by the earliest of next review date and last approved
  day", issue 12) and the regulatory decision due (the engine's concurrent row) of the oldest request for days
  still undecided. A discharged stay has none.
* Readmission: admitted within 30 days of the discharge of an earlier stay of the same member: 0 to 30 days between
  the plan-local discharge day and the plan-local admission day (so 29 and 30 are, 31 is not). A transfer from
  another facility is one continuing stay, not a readmission.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from app.domain.calendar import BusinessCalendar, default_calendar
from app.domain.clocks import ClockRequest, Duration, decision_due_for

UTC = timezone.utc
ADMISSION_REVIEW = Duration("hours", 24)
NOTICE_WINDOW = Duration("business_days", 1)
READMISSION_DAYS = 30


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def plan_day(instant: datetime, cal: BusinessCalendar | None = None) -> date:
    """The plan-local calendar day of an instant."""
    cal = cal or default_calendar()
    return _aware("instant", instant).astimezone(cal.tz).date()


def admission_review_due(notified_at: datetime, cal: BusinessCalendar | None = None) -> datetime:
    """Reviewed within 24 hours of the notification of admission (plan UM program; timeliness.md)."""
    return ADMISSION_REVIEW.after(_aware("notified_at", notified_at), cal or default_calendar())


def notice_deadline(admitted_at: datetime, cal: BusinessCalendar | None = None) -> datetime:
    """The end of the first business day after the plan-local admission day: when notice of it was due."""
    return NOTICE_WINDOW.after(_aware("admitted_at", admitted_at), cal or default_calendar())


@dataclass(frozen=True)
class LateNotice:
    late: bool
    deadline: datetime  # when the notice was due (UTC)
    business_days_late: int  # business days after the deadline's day, up to the notification's day
    deniable_days: tuple[date, ...]  # the days the plan may deny for late notice (a physician decides)
    reason: str

    def to_json(self) -> dict:
        return {"late": self.late, "deadline": self.deadline.isoformat(), "business_days_late": self.business_days_late,
                "deniable_days": [d.isoformat() for d in self.deniable_days], "reason": self.reason}


def late_notice(admitted_at: datetime, notified_at: datetime, admission_type: str,
                cal: BusinessCalendar | None = None) -> LateNotice:
    """Whether the facility notified the plan of the admission more than one business day late."""
    cal = cal or default_calendar()
    admitted_at, notified_at = _aware("admitted_at", admitted_at), _aware("notified_at", notified_at)
    deadline = notice_deadline(admitted_at, cal)
    if notified_at <= deadline:
        return LateNotice(False, deadline, 0, (), "Notified within one business day of the admission.")
    days_late = cal.business_days_between(deadline.astimezone(cal.tz).date(), notified_at.astimezone(cal.tz).date())
    if admission_type == "emergency":
        return LateNotice(False, deadline, days_late, (),
                          "Emergency admission: never denied for late notice, nor its stabilization days "
                          "(42 CFR 438.114(d)).")
    first, notified_day = plan_day(admitted_at, cal), plan_day(notified_at, cal)
    deniable = tuple(first + timedelta(days=n) for n in range((notified_day - first).days))
    return LateNotice(True, deadline, days_late, deniable,
                      f"Notified {max(days_late, 1)} business day{'s' if days_late > 1 else ''} after the notice was "
                      f"due ({deadline.astimezone(cal.tz):%a %m/%d %I:%M %p} PT): the days before the notice may "
                      "be denied for late notice, a physician's decision.")


def request_decision_due(lob: str, urgency: str, category: str, requested_at: datetime) -> datetime:
    """The regulatory decision due of a concurrent request for days received at `requested_at` (the engine)."""
    return decision_due_for(ClockRequest(lob=lob, timing="concurrent", urgency=urgency,
                                         category="medication" if category == "medication" else "other",
                                         received=_aware("requested_at", requested_at)))


def review_due(*, notified_at: datetime, determined: bool, next_review: date | None, approved_through: date | None,
               oldest_undecided_request: datetime | None, lob: str, urgency: str, category: str,
               discharged: bool = False, cal: BusinessCalendar | None = None) -> datetime | None:
    """When the stay's next review is due (UTC), or None for a discharged stay (module docstring)."""
    if discharged:
        return None
    cal = cal or default_calendar()
    candidates = []
    if not determined:
        candidates.append(admission_review_due(notified_at, cal))
    for day in (next_review, approved_through):
        if day is not None:
            candidates.append(cal.end_of_day(day).astimezone(UTC))
    if oldest_undecided_request is not None:
        candidates.append(request_decision_due(lob, urgency, category, oldest_undecided_request))
    return min(candidates) if candidates else None


def days_between_stays(previous_discharged_at: datetime, admitted_at: datetime,
                       cal: BusinessCalendar | None = None) -> int:
    """Calendar days from the plan-local discharge day to the plan-local admission day."""
    return (plan_day(admitted_at, cal) - plan_day(previous_discharged_at, cal)).days


def is_readmission(previous_discharged_at: datetime, admitted_at: datetime,
                   cal: BusinessCalendar | None = None) -> bool:
    """Admitted within 30 days of an earlier discharge (0..30 days; 31 is not)."""
    return 0 <= days_between_stays(previous_discharged_at, admitted_at, cal) <= READMISSION_DAYS
