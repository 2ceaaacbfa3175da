"""Read queries for `umws case list` and `umws case show` (and a GUI that wants the same data as JSON).

`case_json` is one case with its member, providers, lines (with the current determination per line), diagnoses,
workflow facts, clocks (app.domain.clocks.compute_clocks) and timeline; instants are ISO 8601 in plan time.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from app.domain.case_states import STATES
from app.domain.plantime import iso_plan
from app.store.models import OPEN_CASE_SQL, Case, CaseEvent, CaseWorkflow, User

STATUS_FILTERS = ("open", "closed", *STATES)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def list_cases(session: Session, status: str | None = None, *, limit: int | None = None) -> list[dict]:
    """Cases (all, 'open', 'closed' or one state), nearest decision due first, as JSON-ready rows."""
    assignee = select(User.username).where(User.id == Case.assignee_id).scalar_subquery()
    query = select(Case.tar, Case.status, Case.outcome, Case.member_name, Case.service_summary,
                   Case.service_category, Case.review_timing, Case.urgency, Case.received_at, Case.decision_due_at,
                   Case.decided_at, Case.extensions_taken, assignee.label("assignee"))
    if status == "open":
        query = query.where(literal_column(OPEN_CASE_SQL))
    elif status is not None:
        if status not in STATUS_FILTERS:
            raise ValueError(f"status '{status}' is not one of: {', '.join(STATUS_FILTERS)}")
        query = query.where(Case.status == status)
    query = query.order_by(Case.decision_due_at, Case.tar)
    if limit:
        query = query.limit(limit)
    return [
        {"tar": tar, "status": state, "outcome": outcome, "member": member, "service": service,
         "service_category": category, "timing": timing, "urgency": urgency, "received": iso_plan(received),
         "due": iso_plan(due), "decided_at": iso_plan(decided), "extensions_taken": extensions, "assignee": holder}
        for (tar, state, outcome, member, service, category, timing, urgency, received, due, decided, extensions,
             holder) in session.execute(query)
    ]


def _provider(provider) -> dict | None:
    if provider is None:
        return None
    return {"npi": provider.npi, "name": provider.name, "specialty": provider.specialty, "phone": provider.phone,
            "fax": provider.fax}


def timeline(session: Session, case: Case) -> list[dict]:
    rows = session.execute(
        select(CaseEvent.id, CaseEvent.occurred_at, CaseEvent.kind, CaseEvent.payload, User.username)
        .outerjoin(User, CaseEvent.actor_id == User.id)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.occurred_at)
    )
    return [{"id": str(event_id), "at": iso_plan(at), "actor": username, "kind": kind, "payload": payload or {}}
            for event_id, at, kind, payload, username in rows]


def current_determination(session: Session, case: Case, workflow: CaseWorkflow | None) -> dict | None:
    """The payload of the case's current determination event (None when undecided)."""
    if case.outcome is None:
        return None
    query = select(CaseEvent.payload).where(CaseEvent.case_id == case.id, CaseEvent.kind == "determined")
    if workflow is not None and workflow.determination_event_id is not None:
        query = query.where(CaseEvent.id == workflow.determination_event_id)
    else:
        query = query.order_by(CaseEvent.occurred_at.desc()).limit(1)
    return session.scalar(query)


def clocks_json(case: Case, workflow: CaseWorkflow | None, now: datetime | None = None) -> dict:
    from app.domain.clocks import ClockError, ClockRequest, compute_clocks

    try:
        clocks = compute_clocks(
            ClockRequest(lob=case.line_of_business, timing=case.review_timing, urgency=case.urgency,
                         category="medication" if case.service_category == "medication" else "other",
                         received=case.received_at),
            decided=case.decided_at, extensions=case.extensions_taken, now=now or datetime.now(timezone.utc),
            notified=workflow.provider_notified_at if workflow else None,
            member_notified=workflow.member_notified_at if workflow else None)
    except ClockError as error:
        return {"error": str(error)}
    result = clocks.to_json()
    result.update({
        "decision_cite": clocks.decision_cite, "notification_rule": clocks.notification_rule,
        "member_notice_rule": clocks.member_notice_rule, "extensions": clocks.extension_limit.to_json(),
        "deemed_authorized": clocks.deemed_authorized, "untimely_decision": clocks.untimely_decision,
    })
    return result


def case_json(session: Session, case: Case, *, now: datetime | None = None) -> dict:
    workflow = session.get(CaseWorkflow, case.id)
    determination = current_determination(session, case, workflow)
    by_line = {line["line_number"]: line for line in (determination or {}).get("lines", [])}
    member = case.member
    return {
        "tar": case.tar,
        "status": case.status,
        "outcome": case.outcome,
        "line_of_business": case.line_of_business,
        "service_category": case.service_category,
        "review_timing": case.review_timing,
        "urgency": case.urgency,
        "team": case.team,
        "assignee": case.assignee.username if case.assignee else None,
        "received_at": iso_plan(case.received_at),
        "decision_due_at": iso_plan(case.decision_due_at),
        "decided_at": iso_plan(case.decided_at),
        "extensions_taken": case.extensions_taken,
        "version": case.version,
        "member": {"cin": member.cin, "name": member.display_name, "birth_date": _day(member.birth_date),
                   "sex": member.sex, "language": member.language, "alternative_format": member.alternative_format},
        "requesting_provider": _provider(case.requesting_provider),
        "servicing_provider": _provider(case.servicing_provider),
        "place_of_service": case.place_of_service,
        "requested_los_days": case.requested_los_days,
        "proposed_date": _day(case.proposed_date),
        "lines": [{"line_number": line.line_number, "code": line.code, "description": line.description,
                   "units": line.units, "from_date": _day(line.from_date), "to_date": _day(line.to_date),
                   "approved_units": by_line.get(line.line_number, {}).get("approved_units"),
                   "line_outcome": by_line.get(line.line_number, {}).get("outcome")} for line in case.lines],
        "diagnoses": [{"rank": d.rank, "code": d.code, "description": d.description} for d in case.diagnoses],
        "workflow": {
            "referred_to": workflow.referred_to if workflow else ("physician" if case.status == "referred" else None),
            "referred_specialty": workflow.referred_specialty if workflow else None,
            "pended_from": workflow.pended_from if workflow else None,
            "criteria_result": workflow.criteria_result if workflow else None,
            "provider_notified_at": iso_plan(workflow.provider_notified_at) if workflow else None,
            "member_notified_at": iso_plan(workflow.member_notified_at) if workflow else None,
        },
        "determination": determination,
        "clocks": clocks_json(case, workflow, now),
        "timeline": timeline(session, case),
    }
