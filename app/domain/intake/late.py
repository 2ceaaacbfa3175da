"""Late post-service (retrospective) requests (../shared/reference/timeliness.md, "Table"):

"Retrospective TARs are due within 15 business days of the date of service, or 60 calendar days of a primary
insurer's denial or of retroactive eligibility; later ones are 'late' but still reviewed (flag, do not refuse)."

Our readings (docs/intake.md):
* the date of service of a request is its last date of service (a span of care is complete at its end); a request
  with no service date and no denial or eligibility date cannot be counted, and gets no flag;
* "within 15 business days of the date of service": received no later than the 15th business day after it
  (app.domain.calendar.BusinessCalendar.add_business_days, plan holidays excluded), counted on plan-local days;
* a primary insurer's denial or retroactive eligibility entered at intake opens its own 60-calendar-day window;
  the request is timely if it is inside any window that applies, and late only when it is past all of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.domain.calendar import BusinessCalendar, default_calendar
from app.domain.plantime import to_plan

SERVICE_BUSINESS_DAYS = 15
SECONDARY_CALENDAR_DAYS = 60


@dataclass(frozen=True)
class Window:
    opened_by: str  # 'date of service', 'primary insurer denial', 'retroactive eligibility'
    start: date
    due: date  # last plan-local day on which the request is timely

    def to_json(self) -> dict:
        return {"from": self.opened_by, "start": self.start.isoformat(), "due": self.due.isoformat()}


@dataclass(frozen=True)
class LateFlag:
    late: bool
    received_on: date
    windows: tuple[Window, ...]

    @property
    def reason(self) -> str:
        latest = max(self.windows, key=lambda w: w.due)
        if not self.late:
            return f"Timely: received {self.received_on:%m/%d/%Y}, due by {latest.due:%m/%d/%Y} ({latest.opened_by})"
        parts = "; ".join(f"{w.opened_by} {w.start:%m/%d/%Y} → due {w.due:%m/%d/%Y}" for w in self.windows)
        return f"Late post-service request: received {self.received_on:%m/%d/%Y}, after every window ({parts})"

    def to_json(self) -> dict:
        return {"late": self.late, "received_on": self.received_on.isoformat(), "reason": self.reason,
                "windows": [w.to_json() for w in self.windows]}


def late_flag(timing: str, received_at: datetime, service_dates: list[date], *,
              primary_denial: date | None = None, retro_eligibility: date | None = None,
              calendar: BusinessCalendar | None = None) -> LateFlag | None:
    """The late flag of a post-service request (None for other timings or when nothing can be counted)."""
    if timing != "post-service":
        return None
    calendar = calendar or default_calendar()
    windows = []
    if service_dates:
        service = max(service_dates)
        windows.append(Window("date of service", service, calendar.add_business_days(service, SERVICE_BUSINESS_DAYS)))
    if primary_denial is not None:
        windows.append(Window("primary insurer denial", primary_denial,
                              primary_denial + timedelta(days=SECONDARY_CALENDAR_DAYS)))
    if retro_eligibility is not None:
        windows.append(Window("retroactive eligibility", retro_eligibility,
                              retro_eligibility + timedelta(days=SECONDARY_CALENDAR_DAYS)))
    if not windows:
        return None
    received_on = to_plan(received_at).date()
    return LateFlag(all(received_on > w.due for w in windows), received_on, tuple(windows))
