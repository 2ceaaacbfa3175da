"""`stay_months` (migration 0016), each stay's ledger counted by month for the committee's utilization figures,
never drifts from the ledger: after every stay action (admit, days requested, reviewed, referred, denied, level of
care changed, leave, discharge, transfer) its rows are the ledger's bed days, SNF days and denied days by month,
counted here in Python from the ledger rows; migration 0016 fills it the same way; and the committee's figures read
from it equal the ledger counts of `umws stay figures` over periods cut anywhere (whole months, mid-month, across
today, in the future), on encrypted SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from app.services import stays as svc
from app.store import migrate
from app.store.models import Case, Stay, StayDay, StayMonth
from app.store.stay_figures import stay_figures, stay_figures_by_line
from tests.stays.conftest import PT, StayMaker, plan_today, stay_store  # noqa: F401 - fixtures


def act(store, call):
    with store.session() as session, session.begin():
        return call(session)


def summary(store) -> dict:
    with store.session() as session:
        return {(row.stay_id, row.month): (row.bed_days, row.snf_days, row.denied_days, row.line_of_business,
                                           row.admit_level_of_care, row.team)
                for row in session.scalars(select(StayMonth))}


def from_ledger(store) -> dict:
    """Every stay's ledger by month, counted in Python: a bed day is used, not on leave, and before the discharge
    day (or the admission day of a same-day stay); with the stay's line of business, admitting level and team."""
    out: dict = {}
    stays: dict = {}
    with store.session() as session:
        for stay, day in session.execute(select(Stay, StayDay).join(StayDay, StayDay.stay_id == Stay.id)):
            bed = (day.status != "not-used" and not day.on_leave and (
                stay.discharge_date is None or day.day < stay.discharge_date or day.day == stay.admit_date))
            counts = out.setdefault((stay.id, day.day.replace(day=1)), [0, 0, 0])
            counts[0] += bed
            counts[1] += bed and day.level_of_care == "snf"
            counts[2] += day.status == "denied"
            stays[stay.id] = (stay.line_of_business, stay.admit_level_of_care, stay.team)
    return {key: (*value, *stays[key[0]]) for key, value in out.items()}


def agrees(store) -> dict:
    held = summary(store)
    assert held == from_ledger(store) and held
    return held


def admitted_at(days_ago: int) -> datetime:
    return datetime.combine(plan_today() - timedelta(days=days_ago), datetime.min.time(), tzinfo=PT).replace(hour=9)


def noon_of(days_ago: int) -> datetime:
    """Noon on a plan day (not "now minus n days": across a daylight-saving change, or in the plan's last hour
    before midnight UTC, that lands on another plan day than `plan_today() - n`)."""
    return datetime.combine(plan_today() - timedelta(days=days_ago), datetime.min.time(), tzinfo=PT).replace(hour=12)


def test_the_summary_follows_every_stay_action(stay_store):
    store, today = stay_store, plan_today()
    maker = StayMaker(store)
    # an acute stay admitted 45 days ago: its ledger spans two or three months
    tar = maker.admit(admitted=admitted_at(45), days=20).case.tar
    agrees(store)
    act(store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="On IV antibiotics",
                                         approve_through=today - timedelta(days=30), criteria_result="criteria-met"))
    agrees(store)
    act(store, lambda s: svc.request_days(s, tar, "nurse.garcia", through=today + timedelta(days=3)))
    agrees(store)
    act(store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="Still on oxygen",
                                         approve_through=today - timedelta(days=2), criteria_result="criteria-met"))
    agrees(store)
    act(store, lambda s: svc.refer_stay(s, tar, "nurse.garcia", summary="Stable, no acute need"))
    agrees(store)
    act(store, lambda s: svc.deny_days(s, tar, "dr.shah", first=today + timedelta(days=2),
                                       through=today + timedelta(days=3), rationale="No acute need",
                                       member_reason="You can go home"))
    denied = agrees(store)
    assert sum(row[2] for row in denied.values()) == 2
    act(store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="Ready soon",
                                         approve_through=today + timedelta(days=1), criteria_result="criteria-met"))
    act(store, lambda s: svc.record_leave(s, tar, "nurse.garcia", first=today - timedelta(days=20),
                                          last=today - timedelta(days=19), reason="home visit"))
    agrees(store)
    act(store, lambda s: svc.discharge_stay(s, tar, "nurse.garcia", disposition="home",
                                            discharged_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    discharged = agrees(store)
    # a SNF stay: its level of care changed, then moved to another facility (the new stay continues it)
    snf = maker.admit(admitted=admitted_at(10), days=15, level="snf", by="nurse.garcia").case.tar
    act(store, lambda s: svc.review_stay(s, snf, "nurse.garcia", clinical_update="Rehab progressing",
                                         approve_through=today + timedelta(days=1), criteria_result="criteria-met"))
    act(store, lambda s: svc.refer_stay(s, snf, "nurse.garcia", summary="Custodial soon"))
    act(store, lambda s: svc.change_level_of_care(
        s, snf, "dr.shah", level="administrative", effective=today + timedelta(days=2),
        rationale="Awaiting placement", member_reason="You are waiting for a bed"))
    held = agrees(store)
    assert sum(row[1] for row in held.values()) > 0  # SNF bed days
    providers = maker.providers()
    moved = act(store, lambda s: svc.transfer_stay(
        s, snf, "nurse.garcia", transferred_at=datetime.now(timezone.utc) - timedelta(minutes=1),
        to_facility_id=providers[3].id, level_of_care="snf", requested_days=3))
    after = agrees(store)
    with store.session() as session:
        stays = {tar: session.scalar(select(Stay.id).join(Case, Case.id == Stay.case_id).where(Case.tar == tar))
                 for tar in (tar, snf, moved.case.tar)}
    assert {stay for stay, _ in after} == set(stays.values())
    assert {k: v for k, v in after.items() if k[0] == stays[tar]} == discharged  # the first stay did not change


def test_the_migration_fills_it_as_the_services_keep_it(stay_store):
    store = stay_store
    maker = StayMaker(store)
    tar = maker.admit(admitted=admitted_at(40), days=12).case.tar
    act(store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="x",
                                         approve_through=plan_today() - timedelta(days=31),
                                         criteria_result="criteria-met"))
    act(store, lambda s: svc.discharge_stay(s, tar, "nurse.garcia", disposition="home",
                                            discharged_at=noon_of(30)))
    maker.admit(admitted=admitted_at(3), days=6, level="snf")
    kept = agrees(store)
    migrate.downgrade(store.engine, "0015")
    migrate.upgrade(store.engine)
    assert summary(store) == kept


def test_the_committee_figures_equal_the_ledger_counts_over_any_period(stay_store):
    store, today = stay_store, plan_today()
    maker = StayMaker(store)
    old = maker.admit(admitted=admitted_at(70), days=25).case.tar
    act(store, lambda s: svc.review_stay(s, old, "nurse.garcia", clinical_update="x",
                                         approve_through=today - timedelta(days=46), criteria_result="criteria-met"))
    act(store, lambda s: svc.discharge_stay(s, old, "nurse.garcia", disposition="home",
                                            discharged_at=noon_of(45)))
    maker.admit(admitted=admitted_at(35), days=30, level="snf")  # open, with days requested ahead of today
    recent = maker.admit(admitted=admitted_at(5), days=8).case.tar
    act(store, lambda s: svc.refer_stay(s, recent, "nurse.garcia", summary="x"))
    act(store, lambda s: svc.deny_days(s, recent, "dr.shah", first=today - timedelta(days=1),
                                       through=today + timedelta(days=2), rationale="x", member_reason="y"))
    agrees(store)
    this_month = today.replace(day=1)
    months_ago = (this_month - timedelta(days=75)).replace(day=1)
    periods = [
        (date(today.year - 1, 1, 1), date(today.year + 1, 12, 31)),  # whole months, past and future
        (months_ago, this_month - timedelta(days=1)),  # whole months before this one
        (months_ago + timedelta(days=9), today),  # cut mid-month at both ends
        (today - timedelta(days=40), today + timedelta(days=10)),  # across today
        (this_month, (this_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)),  # this month
        (today + timedelta(days=1), today + timedelta(days=40)),  # the future: no bed day yet
        (today - timedelta(days=60), today - timedelta(days=60)),  # one day
    ]
    with store.session() as session:
        for first, last in periods:
            plain = stay_figures(session, first, last, today)
            total = stay_figures_by_line(session, first, last, today)["total"]
            for key in ("admits", "bed_days", "discharges", "alos", "days_denied", "readmissions"):
                assert total[key] == plain[key], (first, last, key)
            snf = sum(1 for stay, day in session.execute(
                select(Stay, StayDay).join(StayDay, StayDay.stay_id == Stay.id)
                .where(StayDay.day >= first, StayDay.day <= min(last, today), StayDay.level_of_care == "snf",
                       StayDay.status != "not-used", StayDay.on_leave.is_(False)))
                if stay.discharge_date is None or day.day < stay.discharge_date or day.day == stay.admit_date)
            assert total["snf_days"] == snf, (first, last)
        year = stay_figures_by_line(session, date(today.year - 1, 1, 1), date(today.year + 1, 12, 31), today)
    assert year["total"]["bed_days"] > 0 and year["total"]["days_denied"] > 0 and year["total"]["snf_days"] > 0
