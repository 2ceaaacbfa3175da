"""Instants as users read them: in the plan time zone with the zone shown (workstation-ux.md, "Words").

Stored and computed instants are UTC; only display converts. Durations read "3 d 4 h" or "2 h 15 m".
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PLAN_TZ = ZoneInfo("America/Los_Angeles")


def to_plan(instant: datetime) -> datetime:
    return instant.astimezone(PLAN_TZ)


def zone_abbreviation(instant: datetime) -> str:
    """'PT' whatever the season: users know the plan's zone as Pacific time."""
    return "PT"


def format_instant(instant: datetime | None, *, year: bool = False) -> str:
    """'Tue 11/24 11:59 PM PT' (with the year when asked: 'Tue 11/24/2026 11:59 PM PT')."""
    if instant is None:
        return ""
    local = to_plan(instant)
    day = local.strftime("%a %m/%d/%Y" if year else "%a %m/%d")
    clock = local.strftime("%I:%M %p").lstrip("0")
    return f"{day} {clock} {zone_abbreviation(local)}"


def iso_plan(instant: datetime | None) -> str | None:
    """ISO 8601 with the plan-local offset and no fractions of a second, e.g. 2026-11-24T23:59:59-08:00."""
    if instant is None:
        return None
    return to_plan(instant).replace(microsecond=0).isoformat()


def format_duration(duration: timedelta) -> str:
    """'3 d 4 h' from a day up, '2 h 15 m' under a day, '45 m' under an hour; negative durations get a minus."""
    sign = "-" if duration < timedelta(0) else ""
    minutes = int(abs(duration).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} m"
    return f"{sign}{minutes} m"
