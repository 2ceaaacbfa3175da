"""Report queries: decided requests and open breaches in a period, as plain rows (issue 4, scope 5)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import exists, literal_column, select
from sqlalchemy.orm import Session

from app.domain.plantime import PLAN_TZ
from app.domain.timeliness_report import Decision, OpenBreach, cms_metrics, timeliness_rows
from app.store.models import OPEN_CASE_SQL, Appeal, Case, CaseWorkflow, RequestLine


def plan_day_start(day: date) -> datetime:
    """Midnight at the start of a plan-local day, as an aware instant."""
    return datetime.combine(day, time(0), tzinfo=PLAN_TZ)


def decisions_between(session: Session, first_day: date, last_day: date) -> list[Decision]:
    """Cases whose current determination was made on a plan-local day from `first_day` to `last_day` inclusive."""
    start, end = plan_day_start(first_day), plan_day_start(last_day + timedelta(days=1))
    # Approved after appeal (issue 13): the case's current determination is the one an overturn recorded.
    overturned = exists().where(Appeal.case_id == Case.id, Appeal.result == "overturned",
                                Appeal.new_determination_event_id == CaseWorkflow.determination_event_id)
    rows = session.execute(
        select(Case.tar, Case.line_of_business, Case.review_timing, Case.urgency, Case.service_category,
               Case.received_at, Case.decided_at, Case.decision_due_at, Case.outcome, Case.extensions_taken,
               overturned)
        .outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id)
        .where(Case.decided_at >= start, Case.decided_at < end)
        .order_by(Case.decided_at)
    )
    return [Decision(*row[:-1], approved_after_appeal=bool(row[-1]) and row.outcome == "approved") for row in rows]


def open_breaches_between(session: Session, first_day: date, last_day: date, now: datetime) -> list[OpenBreach]:
    """Undecided open cases whose decision due fell in the period and has passed."""
    start, end = plan_day_start(first_day), min(plan_day_start(last_day + timedelta(days=1)), now)
    rows = session.execute(
        select(Case.tar, Case.line_of_business, Case.review_timing, Case.urgency, Case.decision_due_at)
        .where(literal_column(OPEN_CASE_SQL), Case.decided_at.is_(None),
               Case.decision_due_at >= start, Case.decision_due_at < end)
        .order_by(Case.decision_due_at)
    )
    return [OpenBreach(*row) for row in rows]


def prior_auth_codes_between(session: Session, first_day: date, last_day: date) -> list[str]:
    """Codes requested (non-drug, prior-authorization timings) on requests received in the period.

    Until the plan's prior-authorization list is data (intake issue), the list of items that required prior
    authorization is read as the codes actually submitted for it.
    """
    start, end = plan_day_start(first_day), plan_day_start(last_day + timedelta(days=1))
    rows = session.execute(
        select(RequestLine.code).distinct().join(Case, Case.id == RequestLine.case_id)
        .where(Case.received_at >= start, Case.received_at < end, Case.service_category != "medication",
               Case.review_timing != "post-service")
    )
    return [code for (code,) in rows]


def timeliness_report(session: Session, first: date, last: date, now: datetime | None = None) -> dict:
    """Per line of business and request type: decided, in time, %, turnaround; and every breached TAR."""
    now = now or datetime.now(timezone.utc)
    decisions = decisions_between(session, first, last)
    breaches = open_breaches_between(session, first, last, now)
    return {
        "from": first.isoformat(), "to": last.isoformat(),
        "rows": timeliness_rows(decisions, breaches),
        "breached_tars": [d.tar for d in decisions if not d.in_time] + [b.tar for b in breaches],
    }


def cms_report(session: Session, year: int) -> dict:
    """The CMS-0057-F public metrics for the requests decided in `year` (plan-local)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    return {"year": year, **cms_metrics(decisions_between(session, first, last),
                                        prior_auth_codes_between(session, first, last))}
