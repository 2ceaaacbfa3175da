"""The stay queues (issue 12, scope 3): "Reviews due today", "Overdue reviews", "Stays referred", "Expected
discharges", counted, sorted and paged in SQL like every worklist (`app.store.worklist.WorklistQuery` hands a stay
queue's statements to this module).

A stay queue is open stays (`stays.status = 'open'`, the partial indexes' condition) joined to their cases. Its
rows are the worklist's rows with the review due (`stays.review_due_at`) in the Due column, so the GUI model and
`umws worklist` show them unchanged. "Reviews due today" over 5,000 open stays is one range of
`ix_stays_open_review`, in its order (bench/bench_stays.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, false, func, literal_column, or_, select
from sqlalchemy.orm import Session

from app.domain.plantime import PLAN_TZ, iso_plan
from app.domain.queues import EXPECTED_DISCHARGE_DAYS, QUEUES, Queue, end_of_plan_day
from app.store.models import OPEN_CASE_SQL, OPEN_STAY_SQL, Case, Provider, Stay

if TYPE_CHECKING:
    from app.store.worklist import Viewer, WorklistQuery


def _condition(queue: Queue, viewer: Viewer, now: datetime):
    conditions = [literal_column(f"stays.{OPEN_STAY_SQL}")]
    if queue.stays == "reviews-due":
        conditions += [Stay.review_due_at >= now, Stay.review_due_at < end_of_plan_day(now)]
    elif queue.stays == "overdue-reviews":
        conditions.append(Stay.review_due_at < now)
    elif queue.stays == "stays-referred":  # from the open cases' status index: referred cases are few
        conditions += [literal_column(f"cases.{OPEN_CASE_SQL}"), Case.status == "referred"]
    elif queue.stays == "expected-discharges":
        today = now.astimezone(PLAN_TZ).date()
        conditions.append(Stay.expected_discharge_date <= today + timedelta(days=EXPECTED_DISCHARGE_DAYS))
    else:
        raise ValueError(f"unknown stay queue {queue.stays!r}")
    if queue.team_scoped and viewer.team:
        conditions.append(Stay.team == viewer.team)  # ix_stays_open_team_review
    if viewer.role in queue.own_or_unheld_for:
        conditions.append(or_(Case.assignee_id == viewer.user_id, Case.assignee_id.is_(None)))
    return and_(*conditions)


def scope_condition(queue: Queue, viewer: Viewer):
    """The cases a stay queue can ever show the viewer, whatever the hour (what a laptop pulls for it, issue 9):
    the queue's stays without its time window (a review due tomorrow, or overdue by then, is already on the
    laptop), on the cases themselves (`cases.id IN (their open stays)`)."""
    conditions = [literal_column(f"stays.{OPEN_STAY_SQL}")]
    if queue.stays == "stays-referred":
        conditions.append(Case.status == "referred")
    if queue.team_scoped and viewer.team:
        conditions.append(Stay.team == viewer.team)
    if viewer.role in queue.own_or_unheld_for:
        conditions.append(or_(Case.assignee_id == viewer.user_id, Case.assignee_id.is_(None)))
    return Case.id.in_(select(Stay.case_id).where(*conditions))


def _where(query: WorklistQuery, dialect: str):
    from app.store.worklist import _filter_condition

    queue = QUEUES[query.queue_id]
    if query.viewer.role not in queue.roles:
        return false()
    condition = _condition(queue, query.viewer, query.now or datetime.now(timezone.utc))
    text = _filter_condition(query.filter_text, dialect)
    return condition if text is None else and_(condition, text)


def count_statement(query: WorklistQuery, dialect: str) -> Select:
    return (select(func.count()).select_from(Stay).join(Case, Case.id == Stay.case_id)
            .where(_where(query, dialect)))


def rows_statement(query: WorklistQuery, dialect: str) -> Select:
    from app.store.worklist import _ASSIGNEE, _SORT_KEYS

    queue = QUEUES[query.queue_id]
    if query.sort_column == "due":
        keys = [(Stay.review_due_at, False)]
        if queue.stays == "expected-discharges":
            keys.insert(0, (Stay.expected_discharge_date, False))
    else:
        keys = list(_SORT_KEYS[query.sort_column])
    order = [expression.desc() if reverse != query.descending else expression.asc()
             for expression, reverse in (*keys, (Stay.tar, False))]
    return (
        select(Case.id, Case.tar, Case.member_name, Case.service_summary, Case.service_category,
               Case.review_timing, Case.urgency, Case.received_at, Stay.review_due_at, Case.status, _ASSIGNEE)
        .select_from(Stay).join(Case, Case.id == Stay.case_id)
        .where(_where(query, dialect))
        .order_by(*order)
    )


def stay_fields(session: Session, tars: list[str]) -> dict[str, dict]:
    """For `umws worklist` on a stay queue: each listed stay's admission, level of care, dates and facility."""
    if not tars:
        return {}
    rows = session.execute(
        select(Stay.tar, Stay.admit_date, Stay.level_of_care, Stay.next_review_date, Stay.approved_through,
               Stay.review_due_at, Stay.expected_discharge_date, Stay.late_notice, Stay.readmission_days,
               Stay.care_plan_pending, Provider.name)
        .join(Provider, Provider.id == Stay.facility_id).where(Stay.tar.in_(tars)))
    return {
        tar: {"admit_date": admit.isoformat(), "level_of_care": level,
              "next_review": next_review.isoformat() if next_review else None,
              "approved_through": approved.isoformat() if approved else None, "review_due": iso_plan(due),
              "expected_discharge": expected.isoformat() if expected else None, "late_notice": bool(late),
              "readmission": readmission is not None, "care_plan_pending": bool(pending), "facility": facility}
        for tar, admit, level, next_review, approved, due, expected, late, readmission, pending, facility in rows
    }
