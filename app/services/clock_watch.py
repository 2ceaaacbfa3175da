"""Record missed decision clocks as case events when first observed (issue 4, scope 4).

"A breach is recorded as an event when first observed": an open case whose decision is still to be made
(status received, in review, pended or referred) and whose decision due (`cases.decision_due_at`, from the clock
engine at receipt) has passed gets one `clock-breached` event, appended by the system (no actor) through
`app.services.cases.record_event`, with the payload `{"clock": "decision", "due": ISO 8601 in plan time, "rule":
the rule set that governs the decision clock}`. An open stay's case is different (issue 12): its `decision_due_at` is
the stay's next review (app.domain.stay_clocks.review_due), a plan schedule, not a regulatory clock; a stay breaches
only when a request for days is still undecided past its own regulatory decision due (the engine's concurrent row,
`stay_clocks.request_decision_due`), and that due is the one recorded. A case that already has a `clock-breached`
event gets no other one, so running this again records nothing new (idempotent). The event's time is the instant
of observation (`now`).

Who runs it: the workstation, off the GUI thread, every minute and on refresh (`app.ui.main_window`), and
`umws clocks check` (cron or by hand). The caller owns the transaction: `with session.begin(): record_breaches(...)`.
On PostgreSQL, where several workstations may run it at once, the cases found are locked (`FOR UPDATE`) and checked
again for an event before one is written, so two runs never record the same breach twice; SQLite serialises writers.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, literal_column, select
from sqlalchemy.orm import Session

from app.domain.clocks import ClockError, compute_clocks
from app.domain.plantime import iso_plan
from app.domain.queues import UNDECIDED_STATES
from app.services.cases import record_event
from app.services.intents import stable_id
from app.services.letters import draft_letters
from app.store.case_details import clock_request_of
from app.domain.stay_clocks import request_decision_due
from app.store.models import OPEN_CASE_SQL, OPEN_STAY_SQL, Case, CaseEvent, Stay, StayDay

BREACH_EVENT = "clock-breached"


def _has_breach_event():
    return exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == BREACH_EVENT)


def record_breaches(session: Session, now: datetime) -> list[str]:
    """Append a `clock-breached` event to every open, undecided case whose decision was due before `now` and
    that has none yet; return their TAR numbers, earliest due first."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    from app.services.appeals import record_appeal_breaches

    record_appeal_breaches(session, now)  # the appeals' own clocks (issue 13): events only, not in the list
    candidates = session.scalars(
        select(Case)
        .where(literal_column(OPEN_CASE_SQL), Case.status.in_(UNDECIDED_STATES),
               Case.decision_due_at.is_not(None), Case.decision_due_at < now, ~_has_breach_event())
        .order_by(Case.decision_due_at, Case.tar)
        .with_for_update(of=Case)
    ).all()
    if not candidates:
        return []
    # Checked again after the lock: another workstation may have recorded some while this one waited for it.
    already = set(session.scalars(
        select(CaseEvent.case_id).where(CaseEvent.case_id.in_([case.id for case in candidates]),
                                        CaseEvent.kind == BREACH_EVENT)))
    stays = _open_stays_oldest_request(session, [case.id for case in candidates])
    recorded = []
    for case in candidates:
        if case.id in already:
            continue
        due = case.decision_due_at
        if case.id in stays:  # a stay breaches only on a request for days left undecided past its due
            oldest = stays[case.id]
            due = None if oldest is None else request_decision_due(case.line_of_business, case.urgency,
                                                                   case.service_category, oldest)
            if due is None or due >= now:
                continue
        # One breach per case, observed on every store that runs the watch: the same id everywhere (so the
        # untimely-decision letters drafted for it are the same letters on a laptop and on the central store).
        event = record_event(session, case, None, BREACH_EVENT,
                             {"clock": "decision", "due": iso_plan(due),
                              "rule": _decision_rule(case)}, at=now,
                             event_id=stable_id(BREACH_EVENT, case.id))
        recorded.append(case.tar)
        # A missed decision is an adverse determination: its notice is due that day (42 CFR 438.404(c)(5)).
        draft_letters(session, case, kind="untimely-decision", source_event_id=event.id, at=now)
    session.flush()
    return recorded


def _open_stays_oldest_request(session: Session, case_ids: list) -> dict:
    """{case id: when its oldest still undecided request for days came (None: none undecided)} for the cases of
    `case_ids` that are open stays."""
    undecided = (select(StayDay.stay_id, func.min(StayDay.requested_at).label("oldest"))
                 .where(StayDay.status.in_(("requested", "pending"))).group_by(StayDay.stay_id).subquery())
    rows = session.execute(
        select(Stay.case_id, undecided.c.oldest).outerjoin(undecided, undecided.c.stay_id == Stay.id)
        .where(Stay.case_id.in_(case_ids), literal_column(f"stays.{OPEN_STAY_SQL}")))
    return {case_id: oldest for case_id, oldest in rows}


def _decision_rule(case: Case) -> str | None:
    """The rule set whose decision due is the earliest for the case (None if the engine cannot count it)."""
    try:
        clocks = compute_clocks(clock_request_of(case), extensions=getattr(case, "extensions_taken", 0) or 0)
    except ClockError:
        return None
    return clocks.decision_rule
