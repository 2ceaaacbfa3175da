"""The committee's Utilization section reads the stays (issue 12) as the stay services record them, on encrypted
SQLite and PostgreSQL: exact admits, bed days, SNF days, lengths of stay and rates per 1,000 enrolment
member-months by line of business and level of care, with the team and line filters (issue 14, scope 4)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, text

from app.domain.committee import Filters
from app.services import stays as svc
from app.store.committee import build
from app.store.models import EnrolmentMonth, Member, Provider
from tests.stays.conftest import PT, StayMaker, plan_today, stay_store  # noqa: F401 - fixtures


def act(store, call):
    with store.session() as session, session.begin():
        return call(session)


def admit(store, *, lob: str, level: str, days_ago: int, days: int) -> str:
    member = StayMaker(store).member()
    admitted = datetime.combine(plan_today() - timedelta(days=days_ago), datetime.min.time(), tzinfo=PT)
    admitted = admitted.replace(hour=9)

    def work(session):
        providers = list(session.scalars(select(Provider).order_by(Provider.npi)))
        return svc.admit_stay(session, svc.NewStay(
            tar=f"5{uuid.uuid4().int % 10**10:010d}", line_of_business=lob, member=session.get(Member, member),
            facility_id=providers[0].id, admitted_at=admitted, notified_at=admitted + timedelta(hours=2),
            level_of_care=level, requested_days=days, attending_physician_id=providers[-1].id,
            diagnoses=[("J18.9", "Pneumonia, unspecified organism")]), None).case.tar
    return act(store, work)


def months(first: date, last: date) -> list[date]:
    out, month = [], first.replace(day=1)
    while month <= last.replace(day=1):
        out.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return out


@pytest.fixture
def stays(stay_store):
    """A Medi-Cal acute stay of 4 nights, reviewed and discharged today; a Medi-Cal SNF stay admitted 3 days ago
    (10 days requested, still open); a Medicare acute stay admitted 2 days ago (2 days requested). Enrolment: 3
    Medi-Cal members and 1 Medicare member in every month of the period, besides the demo members' (counted in SQL).
    Returns (store, first, today, member-months by line)."""
    store = stay_store
    today = plan_today()
    first = today - timedelta(days=30)
    acute = admit(store, lob="medi-cal", level="acute", days_ago=4, days=4)
    act(store, lambda s: svc.review_stay(s, acute, "nurse.garcia", clinical_update="Afebrile, ready to go home",
                                         approve_through=today - timedelta(days=1), criteria_result="criteria-met"))
    act(store, lambda s: svc.discharge_stay(s, acute, "nurse.garcia", disposition="home",
                                            discharged_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    admit(store, lob="medi-cal", level="snf", days_ago=3, days=10)
    admit(store, lob="medicare", level="acute", days_ago=2, days=2)
    members = [StayMaker(store).member() for _ in range(4)]
    rows = [{"id": uuid.uuid4(), "member_id": member, "month": month,
             "line_of_business": "medicare" if n == 3 else "medi-cal"}
            for n, member in enumerate(members) for month in months(first, today)]
    act(store, lambda s: s.execute(insert(EnrolmentMonth.__table__), rows))
    with store.session() as session:
        member_months = dict(session.execute(text(
            "SELECT line_of_business, count(*) FROM enrolment_months WHERE month BETWEEN :a AND :b GROUP BY 1"),
            {"a": first.replace(day=1), "b": today.replace(day=1)}).all())
    m = len(months(first, today))
    assert member_months["medi-cal"] >= 3 * m and member_months["medicare"] >= m
    return store, first, today, member_months


def utilization(store, first, last, **kwargs) -> dict:
    with store.session() as session:
        return build(session, Filters(first, last, **kwargs), only=("utilization",)).figures["utilization"]


def test_utilization_reads_the_stays_by_line_and_level_of_care(stays):
    store, first, today, mm = stays
    figures = utilization(store, first, today)
    lines = {row["line_of_business"]: row for row in figures["lines"]}
    medi_cal, medicare = lines["medi-cal"], lines["medicare"]
    # Medi-Cal: 2 admits; bed days 4 (acute, discharged today) + 4 (SNF: the 3 days before today and today)
    assert (medi_cal["member_months"], medi_cal["admits"], medi_cal["bed_days"], medi_cal["snf_days"]) == (
        mm["medi-cal"], 2, 8, 4)
    assert (medi_cal["discharges"], medi_cal["alos"]) == (1, 4.0)
    assert medi_cal["admits_per_1000"] == round(2000 / mm["medi-cal"], 1)
    assert medi_cal["bed_days_per_1000"] == round(8000 / mm["medi-cal"], 1)
    assert medi_cal["snf_days_per_1000"] == round(4000 / mm["medi-cal"], 1)
    assert (medicare["member_months"], medicare["admits"], medicare["bed_days"], medicare["snf_days"]) == (
        mm["medicare"], 1, 2, 0)
    assert (medicare["discharges"], medicare["alos"], medicare["readmission_rate"]) == (0, None, None)
    levels = {row["level_of_care"]: (row["admits"], row["bed_days"], row["discharges"], row["alos"])
              for row in figures["levels"]}
    assert levels == {"acute": (2, 6, 1, 4.0), "snf": (1, 4, 0, None)}
    total = figures["total"]
    assert (total["member_months"], total["admits"], total["bed_days"], total["snf_days"], total["alos"]) == (
        mm["medi-cal"] + mm["medicare"], 3, 10, 4, 4.0)
    # the same figures as `umws stay figures` over the period
    from app.store.stay_figures import stay_figures

    with store.session() as session:
        plain = stay_figures(session, first, today, today)
    assert (plain["member_months"], plain["admits"], plain["bed_days"], plain["discharges"], plain["alos"]) == (
        total["member_months"], total["admits"], total["bed_days"], total["discharges"], total["alos"])
    # the view: a table per line (with the total) and one per level of care, each with its chart
    with store.session() as session:
        view = build(session, Filters(first, today), only=("utilization",)).views[0]
    by_line, by_level = view.panels
    assert [row["line_of_business"] for row in by_line.table.rows] == ["Medi-Cal", "Medicare (D-SNP)"]
    assert by_line.table.total["bed_days"] == 10 and by_line.chart.series[2].name == "SNF days"
    assert [row["level_of_care"] for row in by_level.table.rows] == ["Acute", "Skilled nursing facility"]
    assert not any("Not yet connected" in note or "authorizations" in note for note in view.notes)


def test_utilization_follows_the_team_and_line_filters(stays):
    store, first, today, mm = stays
    medicare = utilization(store, first, today, line_of_business="medicare")
    assert [(r["line_of_business"], r["member_months"], r["admits"], r["bed_days"]) for r in medicare["lines"]] == [
        ("medicare", mm["medicare"], 1, 2)]
    ltss = utilization(store, first, today, team="ltss")  # the SNF stay's team; member-months stay plan-wide
    assert {r["line_of_business"]: (r["member_months"], r["admits"], r["bed_days"], r["snf_days"])
            for r in ltss["lines"]} == {"medi-cal": (mm["medi-cal"], 1, 4, 4), "medicare": (mm["medicare"], 0, 0, 0)}
    assert ltss["team_filtered"]
    with store.session() as session:
        view = build(session, Filters(first, today, team="ltss"), only=("utilization",)).views[0]
    assert any("member-months the whole plan's" in note for note in view.notes)
    before = utilization(store, first - timedelta(days=30), first - timedelta(days=1))
    assert before["total"]["admits"] == before["total"]["bed_days"] == 0
