"""The clock watch on stays: an overdue next review is the plan's schedule, not a missed regulatory clock; a request
for days left undecided past its regulatory due is (app.services.clock_watch, docstring)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app.domain.stay_clocks import request_decision_due
from app.services import stays as svc
from app.services.clock_watch import record_breaches
from app.store.models import Case, CaseEvent, Letter, StayDay
from tests.stays.conftest import plan_today


def _breaches(store, tar: str) -> list[dict]:
    with store.session() as session:
        return list(session.scalars(select(CaseEvent.payload).join(Case, Case.id == CaseEvent.case_id)
                                    .where(Case.tar == tar, CaseEvent.kind == "clock-breached")))


def _untimely_letters(store, tar: str) -> int:
    with store.session() as session:
        return len(session.scalars(select(Letter.id).join(Case, Case.id == Letter.case_id)
                                   .where(Case.tar == tar, Letter.kind == "untimely-decision")).all())


def test_an_overdue_review_of_a_stay_with_its_days_decided_is_no_breach(stays, stay_store):
    stay = stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=3), days=2)
    tar = stay.case.tar
    with stay_store.session() as session, session.begin():
        stay_id = svc.stay_of_case(session, session.scalar(select(Case).where(Case.tar == tar))).id
        last_requested = session.scalar(select(func.max(StayDay.day)).where(StayDay.stay_id == stay_id))
        svc.review_stay(session, tar, "nurse.garcia", clinical_update="stable", approve_through=last_requested,
                        next_review=plan_today(), criteria_result="criteria-met")
    later = datetime.now(timezone.utc) + timedelta(days=3)  # the next review long past
    with stay_store.session() as session:
        assert session.scalar(select(Case.decision_due_at).where(Case.tar == tar)) < later
    with stay_store.session() as session, session.begin():
        assert tar not in record_breaches(session, later)
    assert _breaches(stay_store, tar) == [] and _untimely_letters(stay_store, tar) == 0


def test_days_left_undecided_past_their_regulatory_due_are_a_breach_with_that_due(stays, stay_store):
    notified = datetime.now(timezone.utc) - timedelta(hours=30)
    stay = stays.admit(admitted=notified - timedelta(hours=2), notified=notified, days=2)
    tar = stay.case.tar
    with stay_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        due = request_decision_due(case.line_of_business, case.urgency, case.service_category, notified)
    with stay_store.session() as session, session.begin():
        assert tar not in record_breaches(session, due - timedelta(minutes=1))
    with stay_store.session() as session, session.begin():
        assert tar in record_breaches(session, due + timedelta(minutes=1))
    (payload,) = _breaches(stay_store, tar)
    assert datetime.fromisoformat(payload["due"]) == due.replace(microsecond=0)
    assert _untimely_letters(stay_store, tar) >= 1
