"""Which cases the clock watch must find breached, worked out in Python from every row (independently of the
service's SQL; app.services.clock_watch's docstring is the rule): an undecided case past its decision due, except
an open stay, which breaches only on a request for days left undecided past its regulatory due."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.domain.stay_clocks import request_decision_due
from app.store.models import Case, Stay, StayDay

UNDECIDED = {"received", "in-review", "pended", "referred"}


def past_due(session, now: datetime) -> dict[str, datetime]:
    """{TAR: the decision due that was missed} of every case the watch must record at `now`."""
    open_stays = dict(session.execute(select(Stay.case_id, Stay.id).where(Stay.status == "open")).all())
    oldest: dict = {}
    for stay_id, requested_at in session.execute(
            select(StayDay.stay_id, StayDay.requested_at).where(StayDay.status.in_(("requested", "pending")))):
        oldest[stay_id] = min(oldest.get(stay_id, requested_at), requested_at)
    missed = {}
    for case in session.scalars(select(Case)):
        if case.status not in UNDECIDED:
            continue
        if case.id in open_stays:
            first = oldest.get(open_stays[case.id])
            due = None if first is None else request_decision_due(case.line_of_business, case.urgency,
                                                                  case.service_category, first)
        else:
            due = case.decision_due_at
        if due is not None and due < now:
            missed[case.tar] = due
    return missed
