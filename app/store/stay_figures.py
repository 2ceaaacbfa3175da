"""Stay figures for the oversight reports (issue 12, scope 5), counted in SQL over a period of plan-local days.

Readings (docs/stays.md, "Figures"):

* member-months: the enrolment months (`enrolment_months`, counted per month and line in `enrolment_month_counts`)
  from the month of `first` to the month of `last`;
* admits: stays admitted in the period, transfers from another facility left out (they continue a stay);
* bed days: ledger days in the period up to `today` that the member spent in the bed (not after the discharge,
  not on leave), decided or not; both per 1,000 member-months;
* average length of stay: over the stays discharged in the period, each stay's bed days, by the level of care it
  was admitted at and by facility;
* days denied: ledger days in the period that a physician denied;
* readmissions within 30 days: stays admitted in the period flagged as readmissions (app.domain.stay_clocks), and
  their share of the stays discharged in the period.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import Date, and_, case, cast, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from app.domain.plantime import PLAN_TZ
from app.store.models import EnrolmentMonthCount, Provider, Stay, StayDay, StayMonth


def _ratio(numerator: int, denominator: int, scale: int) -> float | None:
    return round(numerator * scale / denominator, 1) if denominator else None


def _bed_day():
    """A night in the bed (app.domain.stays.Ledger.is_bed_day): not on leave, not after the discharge (a denied day
    after it included), the admission day of a same-day stay counted."""
    return and_(StayDay.status != "not-used", StayDay.on_leave.is_(False),
                or_(Stay.discharge_date.is_(None), StayDay.day < Stay.discharge_date, StayDay.day == Stay.admit_date))


def stay_figures(session: Session, first: date, last: date, today: date | None = None) -> dict:
    today = today or datetime.now(timezone.utc).astimezone(PLAN_TZ).date()
    member_months = session.scalar(select(func.coalesce(func.sum(EnrolmentMonthCount.members), 0)).where(
        EnrolmentMonthCount.month >= first.replace(day=1), EnrolmentMonthCount.month <= last.replace(day=1)))
    admits = session.scalar(select(func.count()).select_from(Stay).where(
        Stay.admit_date >= first, Stay.admit_date <= last, Stay.admission_source == "admission"))
    bed_days = session.scalar(select(func.count()).select_from(StayDay).join(Stay, Stay.id == StayDay.stay_id).where(
        StayDay.day >= first, StayDay.day <= min(last, today), _bed_day()))
    days_denied = session.scalar(select(func.count()).select_from(StayDay).where(
        StayDay.day >= first, StayDay.day <= last, StayDay.status == "denied"))
    discharged = (Stay.discharge_date >= first) & (Stay.discharge_date <= last)
    discharges = session.scalar(select(func.count()).select_from(Stay).where(discharged))
    readmissions = session.scalar(select(func.count()).select_from(Stay).where(
        Stay.admit_date >= first, Stay.admit_date <= last, Stay.readmission_of_id.is_not(None)))
    length = (select(StayDay.stay_id, func.count().label("days")).join(Stay, Stay.id == StayDay.stay_id)
              .where(_bed_day()).group_by(StayDay.stay_id).subquery())

    def alos(*keys):
        rows = session.execute(
            select(*keys, func.count(), func.coalesce(func.sum(length.c.days), 0))
            .select_from(Stay).outerjoin(length, length.c.stay_id == Stay.id)
            .join(Provider, Provider.id == Stay.facility_id)
            .where(discharged).group_by(*keys).order_by(*keys))
        return [(row[:-2], row[-2], int(row[-1])) for row in rows]

    by_level = [{"level_of_care": key[0], "stays": stays, "bed_days": days, "alos": _ratio(days, stays, 1)}
                for key, stays, days in alos(Stay.admit_level_of_care)]
    by_facility = [{"facility": key[0], "facility_npi": key[1], "stays": stays, "bed_days": days,
                    "alos": _ratio(days, stays, 1)}
                   for key, stays, days in alos(Provider.name, Provider.npi)]
    total_stays = sum(row["stays"] for row in by_level)
    total_days = sum(row["bed_days"] for row in by_level)
    return {
        "from": first.isoformat(), "to": last.isoformat(), "member_months": member_months,
        "admits": admits, "admits_per_1000": _ratio(admits, member_months, 1000),
        "bed_days": bed_days, "bed_days_per_1000": _ratio(bed_days, member_months, 1000),
        "discharges": discharges, "alos": _ratio(total_days, total_stays, 1),
        "alos_by_level": by_level, "alos_by_facility": by_facility,
        "days_denied": days_denied, "readmissions": readmissions,
        "readmission_rate": _ratio(readmissions, discharges, 100),
    }


def _month_of(session: Session, day):
    """The first day of `day`'s month, in SQL, on either engine."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(day, "start of month")
    return cast(func.date_trunc("month", day), Date)


# what `stay_months` keeps of its stay (fixed at the admission), to group and filter by
_STAY_KEYS = (Stay.line_of_business, Stay.admit_level_of_care, Stay.team)


def refresh_stay_months(session: Session, stay_ids: Iterable[uuid.UUID]) -> None:
    """Count the ledgers of `stay_ids` again into `stay_months` (one row per stay and month of its ledger: bed days,
    SNF bed days, days denied), from the ledger rows and the stays as this session holds them. The stay services call
    it in the transaction of every stay action (app.services.stays), the demo after writing its stays; migration
    0016 filled it for the stays recorded before."""
    ids = list(stay_ids)
    if not ids:
        return
    session.flush()
    bed = _bed_day()
    month = _month_of(session, StayDay.day)
    for start in range(0, len(ids), 900):  # SQLite's limit on bound parameters, with room to spare
        chunk = ids[start:start + 900]
        session.execute(delete(StayMonth).where(StayMonth.stay_id.in_(chunk)))
        counts = (select(StayDay.stay_id, month, *_STAY_KEYS, func.sum(case((bed, 1), else_=0)),
                         func.sum(case((bed & (StayDay.level_of_care == "snf"), 1), else_=0)),
                         func.sum(case((StayDay.status == "denied", 1), else_=0)))
                  .join(Stay, Stay.id == StayDay.stay_id).where(StayDay.stay_id.in_(chunk))
                  .group_by(StayDay.stay_id, month, *_STAY_KEYS))
        session.execute(insert(StayMonth).from_select(
            ["stay_id", "month", *(c.name for c in _STAY_KEYS), "bed_days", "snf_days", "denied_days"], counts))


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _whole_months(first: date, last: date) -> tuple[date, date]:
    """[start, end): the first days of the calendar months that lie wholly within first..last (none: start >= end)."""
    return (first if first.day == 1 else _month_after(first)), (last + timedelta(days=1)).replace(day=1)


def stay_figures_by_line(session: Session, first: date, last: date, today: date | None = None, *,
                         team: str | None = None, line_of_business: str | None = None) -> dict:
    """The same figures as `stay_figures`, by line of business (and the admits, bed days and lengths of stay by the
    level of care the stay was admitted at), for the UM committee (issue 14). A stay's line of business and team are
    its case's, kept on the stay (migration 0015: no wide case row is read); member-months are the enrolment months
    of that line (plan-wide: enrolment has no team). SNF days are the bed days whose ledger level of care is SNF.
    Summed over the lines, each figure is `stay_figures`'.

    Each statement groups by line and level of care at admission and reads a covering index, no wide row: the
    enrolment months; the stays admitted in the period (admits, readmissions) and those discharged in it (discharges
    and, for the average length of stay, their bed days from `stay_months`); the bed days, SNF days and days denied
    of the period's whole calendar months up to today from `stay_months` (migration 0016: one row per stay and month,
    kept by the stay services); and from the ledger itself (ix_stay_days_period, day first) the same counts on the
    days left: those of the period before its first whole month, and from the month of today (or of the period's
    end) on, where only days up to today are bed days."""
    today = today or datetime.now(timezone.utc).astimezone(PLAN_TZ).date()
    # by month and line: the counts the triggers of migration 0018 keep (one row per month and line, not one per
    # member and month: 740,500 index entries were 146 ms of a cold page cache)
    month_query = (select(EnrolmentMonthCount.line_of_business, EnrolmentMonthCount.members)
                   .where(EnrolmentMonthCount.month >= first.replace(day=1),
                          EnrolmentMonthCount.month <= last.replace(day=1), EnrolmentMonthCount.members > 0))
    if line_of_business:
        month_query = month_query.where(EnrolmentMonthCount.line_of_business == line_of_business)

    def one(condition):
        return case((condition, 1), else_=0)

    discharged = (Stay.discharge_date >= first) & (Stay.discharge_date <= last)
    admitted = (Stay.admit_date >= first) & (Stay.admit_date <= last)
    group = (Stay.line_of_business, Stay.admit_level_of_care)

    def filtered(query):
        if team:
            query = query.where(Stay.team == team)
        if line_of_business:
            query = query.where(Stay.line_of_business == line_of_business)
        return query.group_by(*group)

    # the stays admitted in the period and those discharged in it, each from a covering index (migration 0016)
    stay_bed_days = (select(func.sum(StayMonth.bed_days)).where(StayMonth.stay_id == Stay.id)
                     .correlate(Stay).scalar_subquery())
    stays = [filtered(select(*group, func.sum(one(Stay.admission_source == "admission")),
                             func.sum(one(Stay.readmission_of_id.is_not(None))), literal(0), literal(0))
                      .where(admitted)),
             filtered(select(*group, literal(0), literal(0), func.count(), func.sum(stay_bed_days)).where(discharged))]
    # Whole months of the period up to today from the summary; the rest of the period's days from the ledger.
    counted_to = min(last, today)
    whole_from, whole_to = _whole_months(first, counted_to)
    summed = []
    if whole_from < whole_to:  # the covering index ix_stay_months_figures: no stay row is read
        months = (select(StayMonth.line_of_business, StayMonth.admit_level_of_care, func.sum(StayMonth.bed_days),
                         func.sum(StayMonth.snf_days), func.sum(StayMonth.denied_days))
                  .where(StayMonth.month >= whole_from, StayMonth.month < whole_to))
        if team:
            months = months.where(StayMonth.team == team)
        if line_of_business:
            months = months.where(StayMonth.line_of_business == line_of_business)
        summed.append(months.group_by(StayMonth.line_of_business, StayMonth.admit_level_of_care))
    bed = _bed_day()

    def ledger_days(lo: date, hi: date, bed_days: bool):
        """The ledger's days lo..hi: bed days, SNF days and days denied; after today (`bed_days` False), the days
        denied only (no day is a bed day yet)."""
        counts = ((func.sum(one(bed)), func.sum(one(bed & (StayDay.level_of_care == "snf"))),
                   func.sum(one(StayDay.status == "denied"))) if bed_days else (literal(0), literal(0), func.count()))
        query = (select(*group, *counts).select_from(StayDay).join(Stay, Stay.id == StayDay.stay_id)
                 .where(StayDay.day >= lo, StayDay.day <= hi))
        return filtered(query if bed_days else query.where(StayDay.status == "denied"))

    cut = [(first, last)] if whole_from >= whole_to else [
        (lo, hi) for lo, hi in ((first, whole_from - timedelta(days=1)), (whole_to, last)) if lo <= hi]
    for lo, hi in cut:
        if lo <= counted_to:
            summed.append(ledger_days(lo, min(hi, counted_to), True))
        if hi > counted_to:
            summed.append(ledger_days(max(lo, counted_to + timedelta(days=1)), hi, False))
    lines: dict[str, dict] = {}
    levels: dict[str, dict] = {}

    def line(key: str) -> dict:
        return lines.setdefault(key, {"line_of_business": key, "member_months": 0, "admits": 0, "bed_days": 0,
                                      "snf_days": 0, "discharges": 0, "_discharged_days": 0, "days_denied": 0,
                                      "readmissions": 0})

    def level(key: str) -> dict:
        return levels.setdefault(key, {"level_of_care": key, "admits": 0, "bed_days": 0, "discharges": 0,
                                       "_discharged_days": 0})

    for key, n in session.execute(month_query):
        line(key)["member_months"] += n
    for query in stays:
        for lob, admit_level, admits, readmissions, discharges, days in session.execute(query):
            for target in (line(lob), level(admit_level)):
                target["admits"] += int(admits or 0)
                target["discharges"] += int(discharges or 0)
                target["_discharged_days"] += int(days or 0)
            line(lob)["readmissions"] += int(readmissions or 0)
    for query in summed:
        for lob, admit_level, bed_days, snf_days, denied in session.execute(query):
            for target in (line(lob), level(admit_level)):
                target["bed_days"] += int(bed_days or 0)
            line(lob)["snf_days"] += int(snf_days or 0)
            line(lob)["days_denied"] += int(denied or 0)
    levels = {key: row for key, row in levels.items() if row["admits"] or row["bed_days"] or row["discharges"]}

    keys = ("member_months", "admits", "bed_days", "snf_days", "discharges", "_discharged_days", "days_denied",
            "readmissions")
    total = {"line_of_business": None, **{k: sum(r[k] for r in lines.values()) for k in keys}}

    def finish(row: dict) -> dict:
        row["alos"] = _ratio(row.pop("_discharged_days"), row["discharges"], 1)
        if "member_months" in row:
            row["admits_per_1000"] = _ratio(row["admits"], row["member_months"], 1000)
            row["bed_days_per_1000"] = _ratio(row["bed_days"], row["member_months"], 1000)
            row["snf_days_per_1000"] = _ratio(row["snf_days"], row["member_months"], 1000)
            row["readmission_rate"] = _ratio(row["readmissions"], row["discharges"], 100)
        return row

    return {"from": first.isoformat(), "to": last.isoformat(),
            "lines": [finish(lines[key]) for key in sorted(lines, key=str)],
            "levels": [finish(levels[key]) for key in sorted(levels)], "total": finish(total)}
