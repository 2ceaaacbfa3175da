"""Case use cases: receive, claim, assign (issue 3). The only code that writes cases.

Each action checks authority first, then writes its event and the worklist projection in one transaction, so a
case's row never says something its events do not.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import authority
from app.domain.vocabulary import team_for_category
from app.store.models import Case, CaseEvent, ClinicalNote, Diagnosis, Member, RequestLine, User, utcnow


class ActionRefused(Exception):
    """A rule or the actor's authority refuses the action; the message says why and who may do it."""


class NotFound(Exception):
    """A TAR number or username that the store does not hold."""


def decision_due(lob: str, timing: str, urgency: str, category: str, received_at: datetime) -> datetime | None:
    """The decision clock's due, for the worklist's Due column (the clock engine decides; this only asks)."""
    from app.domain.clocks import ClockRequest, decision_due_for

    request = ClockRequest(
        lob=lob, timing=timing, urgency=urgency,
        category="medication" if category == "medication" else "other", received=received_at,
    )
    return decision_due_for(request)


def record_event(session: Session, case: Case, actor: User | None, kind: str, payload: dict | None = None,
                 at: datetime | None = None) -> CaseEvent:
    """Append an event to the case and bump its version (the base version sync compares against)."""
    at = at or utcnow()
    event = CaseEvent(case_id=case.id, occurred_at=at, actor_id=actor.id if actor else None, kind=kind,
                      payload=payload or {})
    session.add(event)
    case.version += 1
    case.updated_at = at
    return event


def user_by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user '{username}' in this store; 'umws users list' shows who there is.")
    return user


def case_by_tar(session: Session, tar: str) -> Case:
    case = session.scalar(select(Case).where(Case.tar == tar))
    if case is None:
        raise NotFound(f"No case with TAR number {tar} in this store.")
    return case


@dataclass
class NewLine:
    code: str
    description: str
    units: int = 1
    from_date: date | None = None
    to_date: date | None = None


@dataclass
class NewCase:
    tar: str
    line_of_business: str
    service_category: str
    review_timing: str
    urgency: str
    received_at: datetime
    member: Member
    requesting_provider_id: uuid.UUID
    servicing_provider_id: uuid.UUID | None = None
    place_of_service: str | None = None
    requested_los_days: int | None = None
    proposed_date: date | None = None
    lines: list[NewLine] = field(default_factory=list)
    diagnoses: list[tuple[str, str]] = field(default_factory=list)  # (ICD-10-CM code, description)
    clinical_note: str | None = None
    channel: str = "form"


def service_summary(lines: list[NewLine], category: str) -> str:
    if not lines:
        return category
    first = f"{lines[0].code} {lines[0].description}"
    return first if len(lines) == 1 else f"{first} (+{len(lines) - 1})"


def receive_case(session: Session, new: NewCase, actor: User | None) -> Case:
    """Record a request as received: the clocks run from `received_at` (timeliness.md, "Definitions")."""
    case = Case(
        id=uuid.uuid4(), tar=new.tar, line_of_business=new.line_of_business,
        service_category=new.service_category, review_timing=new.review_timing, urgency=new.urgency,
        received_at=new.received_at, status="received", team=team_for_category(new.service_category),
        member_id=new.member.id, requesting_provider_id=new.requesting_provider_id,
        servicing_provider_id=new.servicing_provider_id, place_of_service=new.place_of_service,
        requested_los_days=new.requested_los_days, proposed_date=new.proposed_date,
        member_name=new.member.display_name, service_summary=service_summary(new.lines, new.service_category),
        decision_due_at=decision_due(new.line_of_business, new.review_timing, new.urgency, new.service_category,
                                     new.received_at),
        version=0,
    )
    session.add(case)
    for number, line in enumerate(new.lines, start=1):
        session.add(RequestLine(case_id=case.id, line_number=number, code=line.code, description=line.description,
                                units=line.units, from_date=line.from_date, to_date=line.to_date))
    for rank, (code, description) in enumerate(new.diagnoses, start=1):
        session.add(Diagnosis(case_id=case.id, rank=rank, code=code, description=description))
    if new.clinical_note:
        session.add(ClinicalNote(case_id=case.id, written_at=new.received_at, author="requesting provider",
                                 text=new.clinical_note))
    record_event(session, case, actor, "received", {"channel": new.channel, "tar": new.tar},
                 at=new.received_at)
    return case


def claim_case(session: Session, tar: str, username: str) -> Case:
    """The acting user takes an unheld open case into 'My cases'."""
    actor = user_by_name(session, username)
    case = case_by_tar(session, tar)
    holder = case.assignee.username if case.assignee else None
    refusal = authority.may_claim(actor.role, case.status, holder, actor.username)
    if refusal:
        raise ActionRefused(refusal.reason)
    case.assignee = actor
    payload = {"assignee": actor.username}
    if case.status == "received":
        case.status = "in-review"
        payload["status"] = "in-review"
    record_event(session, case, actor, "claimed", payload)
    return case


def assign_case(session: Session, tar: str, username: str, assignee_username: str, note: str = "") -> Case:
    """A supervisor gives a case to a reviewer (or takes it from one); both holders show on the timeline."""
    actor = user_by_name(session, username)
    case = case_by_tar(session, tar)
    assignee = user_by_name(session, assignee_username)
    refusal = authority.may_assign(actor.role, case.status, assignee.role)
    if refusal:
        raise ActionRefused(refusal.reason)
    before = case.assignee.username if case.assignee else None
    case.assignee = assignee
    record_event(session, case, actor, "assigned", {"from": before, "to": assignee.username, "note": note})
    return case
