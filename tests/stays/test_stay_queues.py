"""The stay queues in SQL: which stays each holds, for whom, in which order (app.store.stay_worklist)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from app.domain.queues import queues_for_role
from app.services import stays as svc
from app.store.models import Stay
from app.store.worklist import WorklistQuery, queue_counts, viewer_for
from tests.stays.conftest import PT, plan_today


def act(store, call):
    with store.session() as session, session.begin():
        return call(session)


def tars(store, queue: str, user: str, now=None, **kwargs) -> list[str]:
    with store.session() as session:
        viewer = viewer_for(session, user)
        query = WorklistQuery(queue, viewer, now=now, **kwargs)
        rows = query.page(session, 0, 500)
        assert query.count(session) == len(rows)
        return [row.tar for row in rows]


@pytest.fixture
def ward(stays, stay_store):
    """Stays whose reviews fall due at known times today, tomorrow and yesterday."""
    today = plan_today()
    now = datetime.now(timezone.utc)
    made = {}

    def reviewed(name, *, approved, next_review, by="nurse.garcia"):
        # Every requested day approved: no request's regulatory clock runs, only the review dates count.
        stay = stays.admit(admitted=now - timedelta(days=3), days=4 + approved)
        act(stay_store, lambda s: svc.review_stay(s, stay.case.tar, by, clinical_update="x",
                                                  approve_through=today + timedelta(days=approved),
                                                  next_review=today + timedelta(days=next_review),
                                                  criteria_result="criteria-met",
                                                  at=now - timedelta(days=2)))
        made[name] = stay.case.tar

    reviewed("approved-runs-out-today", approved=0, next_review=3)
    reviewed("next-review-today", approved=2, next_review=0)
    reviewed("tomorrow", approved=1, next_review=1)
    reviewed("overdue", approved=-1, next_review=2)  # the last approved day was yesterday
    reviewed("held-by-another", approved=0, next_review=0, by="staff.inpatient.1")
    # The admission review falls due within today (24 hours after the notice): an hour from now, or sooner when
    # the plan's day ends within the hour (the test runs at any time of day).
    day_ends = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=PT)
    due_in = min(timedelta(hours=1), (day_ends - now) / 2)
    made["admission"] = stays.admit(admitted=now - timedelta(hours=30),
                                    notified=now + due_in - timedelta(hours=24)).case.tar
    made["admission-overdue"] = stays.admit(admitted=now - timedelta(hours=40),
                                            notified=now - timedelta(hours=26)).case.tar
    return made


def test_reviews_due_today_overdue_and_ordering(ward, stay_store):
    now = datetime.now(timezone.utc)
    due = tars(stay_store, "reviews-due", "nurse.garcia", now=now)
    assert set(due) == {ward["approved-runs-out-today"], ward["next-review-today"], ward["admission"]}
    with stay_store.session() as session:
        dues = [session.scalar(select(Stay.review_due_at).where(Stay.tar == tar)) for tar in due]
    assert dues == sorted(dues)  # the admission review (an hour from now) before the day-end reviews
    assert due[0] == ward["admission"]
    overdue = tars(stay_store, "overdue-reviews", "nurse.garcia", now=now)
    assert set(overdue) == {ward["overdue"], ward["admission-overdue"]}
    # Tomorrow, yesterday's "due today" are overdue and tomorrow's are due.
    tomorrow = datetime.combine(plan_today() + timedelta(days=1), datetime.min.time(), tzinfo=PT).replace(hour=9)
    assert ward["tomorrow"] in tars(stay_store, "reviews-due", "nurse.garcia", now=tomorrow)
    assert ward["next-review-today"] in tars(stay_store, "overdue-reviews", "nurse.garcia", now=tomorrow)


def test_a_nurse_sees_her_stays_and_unheld_ones_a_supervisor_all(ward, stay_store):
    now = datetime.now(timezone.utc)
    assert ward["held-by-another"] not in tars(stay_store, "reviews-due", "nurse.garcia", now=now)
    assert ward["held-by-another"] in tars(stay_store, "reviews-due", "lead.patel", now=now)
    assert tars(stay_store, "reviews-due", "nurse.nguyen", now=now) == []  # outpatient team
    with stay_store.session() as session:
        nurse = viewer_for(session, "nurse.garcia")
        counts = queue_counts(session, nurse, now)
    assert counts["reviews-due"] == 3 and counts["overdue-reviews"] == 2
    assert "stays-referred" not in counts
    assert [q.id for q in queues_for_role("medical-director")].count("stays-referred") == 1


def test_stays_referred_and_expected_discharges(ward, stay_store):
    today = plan_today()
    tar = ward["tomorrow"]
    act(stay_store, lambda s: svc.refer_stay(s, tar, "nurse.garcia", summary="Does not meet continued stay",
                                             requested_through=today + timedelta(days=4)))
    assert tars(stay_store, "stays-referred", "dr.shah") == [tar]
    assert tar not in tars(stay_store, "reviews-due", "nurse.garcia")  # a physician has it now
    act(stay_store, lambda s: svc.set_expected_discharge(s, ward["overdue"], "nurse.garcia",
                                                         expected=today + timedelta(days=2)))
    act(stay_store, lambda s: svc.set_expected_discharge(s, ward["next-review-today"], "nurse.garcia",
                                                         expected=today + timedelta(days=9)))
    expected = tars(stay_store, "expected-discharges", "coord.jones")
    assert ward["overdue"] in expected and ward["next-review-today"] not in expected


def test_filter_and_other_sorts_work_on_stay_queues(ward, stay_store):
    due = tars(stay_store, "reviews-due", "lead.patel")
    assert tars(stay_store, "reviews-due", "lead.patel", filter_text=due[0]) == [due[0]]
    by_tar = tars(stay_store, "reviews-due", "lead.patel", sort_column="tar", descending=True)
    assert by_tar == sorted(due, reverse=True)


def test_reviews_due_walks_the_open_review_index(local_stays, local_stay_store):
    with local_stay_store.session() as session:
        viewer = viewer_for(session, "lead.patel")
        statement = WorklistQuery("reviews-due", viewer).rows_statement("sqlite").limit(50)
        compiled = statement.compile(dialect=local_stay_store.engine.dialect,
                                     compile_kwargs={"literal_binds": True})
        plan = " ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_stays_open_review" in plan and "TEMP B-TREE" not in plan
