"""Appeal report queries (issue 13, scope 6): the appeals filed, resolved and open past due in a period, as plain
rows for app.domain.appeal_figures."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.appeal_figures import AppealRow, appeal_figures
from app.domain.appeals import UNRESOLVED_STATUSES
from app.store.models import Appeal, Case
from app.store.reports import plan_day_start

_COLUMNS = (Case.tar, Case.service_category, Appeal.filed_by, Appeal.expedited,
            Appeal.expedited_denied_at.is_not(None), Appeal.timely, Appeal.aid_paid_pending, Appeal.status,
            Appeal.result, Appeal.received_at, Appeal.resolution_due_at, Appeal.resolved_at)


def _rows(session: Session, *conditions) -> list[AppealRow]:
    query = select(*_COLUMNS).join(Case, Case.id == Appeal.case_id).where(*conditions).order_by(Appeal.received_at)
    return [AppealRow(*row) for row in session.execute(query)]


def appeal_report(session: Session, first: date, last: date, now: datetime | None = None) -> dict:
    """Appeal counts, overturn rates and timeliness for the plan-local days `first` to `last` (inclusive)."""
    now = now or datetime.now(timezone.utc)
    start, end = plan_day_start(first), plan_day_start(last + timedelta(days=1))
    filed = _rows(session, Appeal.received_at >= start, Appeal.received_at < end)
    resolved = _rows(session, Appeal.resolved_at >= start, Appeal.resolved_at < end)
    past_due = _rows(session, Appeal.status.in_(UNRESOLVED_STATUSES), Appeal.resolution_due_at >= start,
                     Appeal.resolution_due_at < min(end, now))
    return {"from": first.isoformat(), "to": last.isoformat(), **appeal_figures(filed, resolved, past_due)}
