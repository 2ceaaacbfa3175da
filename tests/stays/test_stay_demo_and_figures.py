"""Demo stays agree with what the services would write, and the oversight figures agree with plain SQL counts."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from app.domain.stays import LEVEL_CATEGORY
from app.services import demo
from app.store.stay_figures import stay_figures
from app.store.stays import load_stay
from app.store.worklist import WorklistQuery, viewer_for
from tests.stays.conftest import PT


@pytest.fixture
def demo_store(local_store):
    demo.generate(local_store, 1500, seed=21)
    return local_store


def rows(store, sql: str, **params):
    with store.session() as session:
        return session.execute(text(sql), params).all()


def test_demo_has_open_stays_at_several_levels_some_due_today(demo_store):
    levels = dict(rows(demo_store, "SELECT level_of_care, count(*) FROM stays WHERE status = 'open' GROUP BY 1"))
    assert len(levels) >= 4
    with demo_store.session() as session:
        lead = viewer_for(session, "lead.patel")
        due = WorklistQuery("reviews-due", lead).count(session)
        overdue = WorklistQuery("overdue-reviews", lead).count(session)
        garcia = WorklistQuery("reviews-due", viewer_for(session, "nurse.garcia")).count(session)
    assert due > 0 and overdue > 0 and garcia > 0
    assert rows(demo_store, "SELECT count(*) FROM stays WHERE readmission_of_id IS NOT NULL")[0][0] > 0
    assert rows(demo_store, "SELECT count(*) FROM stays WHERE status = 'discharged'")[0][0] > 0


def test_demo_stays_are_consistent(demo_store):
    stays = rows(demo_store, """
        SELECT s.tar, s.member_id, s.admitted_at, s.discharged_at, s.status, s.review_due_at, c.decision_due_at,
               c.status, c.review_timing, c.service_category, s.admit_level_of_care, s.approved_through
        FROM stays s JOIN cases c ON c.id = s.case_id""")
    by_member = defaultdict(list)
    with demo_store.session() as session:
        for tar, member, admitted, discharged, status, review_due, case_due, case_status, timing, category, level, \
                approved in stays:
            assert timing == "concurrent" and LEVEL_CATEGORY[level] == category
            if status == "open":
                assert case_status in ("received", "in-review", "pended", "referred")
                assert review_due == case_due and review_due is not None
            else:
                assert case_status in ("determined", "notified", "closed") and discharged is not None
            view = load_stay(session, tar)
            assert view.approved_through == view.ledger.approved_through
            days = [d.day for d in view.ledger.days]
            assert days == [view.admit_date + timedelta(days=n) for n in range(len(days))]
            if case_status == "referred":
                assert any(d.status == "pending" for d in view.ledger.days)
            by_member[member].append((admitted, discharged))
    for intervals in by_member.values():  # no member in two facilities at once
        intervals.sort(key=lambda i: i[0])
        for (_, end), (start, _) in zip(intervals, intervals[1:]):
            assert end is not None and end <= start


def test_figures_agree_with_sql_counts(demo_store):
    today = datetime.now(timezone.utc).astimezone(PT).date()
    first, last = today.replace(day=1) - timedelta(days=150), today
    with demo_store.session() as session:
        figures = stay_figures(session, first, last, today)
    p = {"first": first, "last": last, "month0": first.replace(day=1), "month1": last.replace(day=1)}
    member_months = rows(demo_store, "SELECT count(*) FROM enrolment_months WHERE month BETWEEN :month0 AND :month1",
                         **p)[0][0]
    admits = rows(demo_store, "SELECT count(*) FROM stays WHERE admit_date BETWEEN :first AND :last "
                              "AND admission_source = 'admission'", **p)[0][0]
    bed_days = rows(demo_store, """
        SELECT count(*) FROM stay_days d JOIN stays s ON s.id = d.stay_id
        WHERE d.day BETWEEN :first AND :last AND d.status <> 'not-used' AND NOT d.on_leave
          AND (s.discharge_date IS NULL OR d.day < s.discharge_date OR d.day = s.admit_date)""", **p)[0][0]
    denied = rows(demo_store, "SELECT count(*) FROM stay_days WHERE status = 'denied' AND day BETWEEN :first AND :last",
                  **p)[0][0]
    discharges = rows(demo_store, "SELECT count(*) FROM stays WHERE discharge_date BETWEEN :first AND :last",
                      **p)[0][0]
    readmissions = rows(demo_store, "SELECT count(*) FROM stays WHERE admit_date BETWEEN :first AND :last AND "
                                    "readmission_of_id IS NOT NULL", **p)[0][0]
    assert member_months > 0 and admits > 0 and bed_days > 0 and discharges > 0
    assert figures["member_months"] == member_months
    assert figures["admits"] == admits and figures["admits_per_1000"] == round(admits * 1000 / member_months, 1)
    assert figures["bed_days"] == bed_days
    assert figures["bed_days_per_1000"] == round(bed_days * 1000 / member_months, 1)
    assert figures["days_denied"] == denied and figures["discharges"] == discharges
    assert figures["readmissions"] == readmissions
    # Average length of stay by level and facility: each discharged stay's nights in the bed, counted in Python
    # from the ledgers (the domain's reading) and compared.
    with demo_store.session() as session:
        tars = [tar for (tar,) in rows(demo_store, "SELECT tar FROM stays WHERE discharge_date BETWEEN :first AND "
                                                   ":last", **p)]
        per_level = defaultdict(list)
        per_facility = defaultdict(list)
        for tar in tars:
            view = load_stay(session, tar)
            per_level[view.admit_level_of_care].append(view.ledger.bed_days())
            per_facility[view.facility_npi].append(view.ledger.bed_days())
    assert {row["level_of_care"]: (row["stays"], row["bed_days"]) for row in figures["alos_by_level"]} == {
        level: (len(days), sum(days)) for level, days in per_level.items()}
    assert {row["facility_npi"]: row["stays"] for row in figures["alos_by_facility"]} == {
        npi: len(days) for npi, days in per_facility.items()}
    for row in figures["alos_by_level"]:
        assert row["alos"] == round(row["bed_days"] / row["stays"], 1)


@pytest.mark.parametrize("now", [datetime(2026, 12, 3, 20, 0, tzinfo=timezone.utc),
                                 datetime(2026, 12, 4, 21, 0, tzinfo=timezone.utc)])
def test_no_demo_review_falls_due_before_the_plan_was_notified(local_store, now):
    """A stay noticed late (notified the day after admission, here at 00:27 plan time) once got a review due at the
    end of its admission day, before its own receipt: CI drew such a stay on 2026-12-03 at 20:00 UTC."""
    demo.generate(local_store, 400, seed=7, now=now)
    early = rows(local_store, """SELECT c.tar, c.received_at, c.decision_due_at FROM cases c
                                 WHERE c.decision_due_at IS NULL OR c.decision_due_at <= c.received_at""")
    assert early == []
