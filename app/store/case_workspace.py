"""What the case workspace needs beyond the case's details: a read-only query (issue 6, scope 5).

`workspace_facts(session, tar, username)` returns plain data for the action dialogs and the referral panel: the
case's version (passed back as `expected_version`), holder, the current referral (the nurse's summary and question,
and the criteria result it was referred with), the current pend, the criteria result and set from the criteria
checklist (`app.store.criteria_answers.checklist`, issue 5), the request lines a determination decides, the current
determination, and what the decision rules depend on (member under 21, the user's recorded involvement).
`referral_brief(session, tar)` is the part the worklist's summary panel shows for a referred case.

The checklist's overall result is mapped to the determination's criteria result
(`app.domain.authority.CRITERIA_RESULTS`): 'epsdt-review' (adult criteria not met for a member under 21) reads as
not met: a physician decides it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.authority import CRITERIA_RESULTS, member_under_21
from app.domain.case_states import REFERRAL_TARGETS, flow_of
from app.domain.plantime import to_plan
from app.store.models import Case, CaseEvent, CaseWorkflow, CareInvolvement, User

log = logging.getLogger(__name__)

CHECKLIST_TO_CRITERIA_RESULT = {"criteria-met": "criteria-met", "not-met": "not-met", "incomplete": "incomplete",
                                "no-criteria": "no-criteria", "epsdt-review": "not-met"}


@dataclass(frozen=True)
class Referral:
    to: str  # a REFERRAL_TARGETS id
    specialty: str | None
    summary: str
    question: str
    by_username: str | None
    by_name: str | None
    at: datetime
    assignee: str | None
    criteria_result: str | None  # what the referrer recorded with it (None: nothing recorded)

    @property
    def target_label(self) -> str:
        label = REFERRAL_TARGETS.get(self.to, self.to)
        return f"{label} ({self.specialty})" if self.specialty else label


@dataclass(frozen=True)
class Pend:
    missing: tuple[str, ...]
    note: str
    at: datetime
    by_name: str | None


@dataclass(frozen=True)
class CriteriaState:
    """The criteria result a reviewer acts on: from the checklist when a set (or 'no criteria') is recorded, else
    from the referral that carried one, else unknown."""

    result: str | None  # a CRITERIA_RESULTS id, or None when nothing is recorded
    source: str  # "checklist", "referral" or "none"
    message: str = ""
    set_id: str | None = None
    version: str | None = None
    title: str | None = None
    not_met: tuple[str, ...] = ()  # criterion texts answered not met
    open: tuple[str, ...] = ()  # criterion texts still unknown

    @property
    def label(self) -> str:
        return CRITERIA_RESULTS.get(self.result, "No criteria result recorded") if self.result else \
            "No criteria result recorded"


@dataclass(frozen=True)
class DecisionLine:
    line_number: int
    code: str
    description: str
    units: int


@dataclass(frozen=True)
class Determination:
    outcome: str
    basis: str | None
    by_name: str | None
    at: datetime | None
    rationale: str
    member_reason: str


@dataclass(frozen=True)
class WorkspaceFacts:
    tar: str
    version: int
    status: str
    outcome: str | None
    category: str
    member_name: str
    received_at: datetime
    holder: str | None
    referred_to: str | None
    pended_from: str | None
    under_21: bool
    involved: bool  # the user asking is recorded as involved in the member's care
    requesting_specialty: str | None
    lines: tuple[DecisionLine, ...]
    criteria: CriteriaState
    referral: Referral | None = None
    pend: Pend | None = None
    determination: Determination | None = None
    notices_recorded: tuple[str, ...] = field(default_factory=tuple)  # provider / member, for this determination

    @property
    def is_referred(self) -> bool:
        """Referred now, or pended while referred (the referral still stands)."""
        return self.status == "referred" or (self.status == "pended" and self.pended_from == "referred")


def _event(session: Session, case: Case, kind: str, event_id) -> tuple[CaseEvent, str | None, str | None] | None:
    query = (select(CaseEvent, User.username, User.full_name).outerjoin(User, CaseEvent.actor_id == User.id)
             .where(CaseEvent.case_id == case.id, CaseEvent.kind == kind))
    query = query.where(CaseEvent.id == event_id) if event_id else query.order_by(CaseEvent.occurred_at.desc())
    row = session.execute(query.limit(1)).first()
    return tuple(row) if row else None


def _referral(session: Session, case: Case, workflow: CaseWorkflow | None) -> Referral | None:
    found = _event(session, case, "referred", workflow.referral_event_id if workflow else None)
    if found is None:
        return None
    event, username, full_name = found
    p = event.payload or {}
    return Referral(p.get("to") or "physician", p.get("specialty"), p.get("summary") or "", p.get("question") or "",
                    username or p.get("from_user"), full_name, event.occurred_at, p.get("assignee"),
                    p.get("criteria_result") if p.get("criteria_result") in CRITERIA_RESULTS else None)


def _pend(session: Session, case: Case, workflow: CaseWorkflow | None) -> Pend | None:
    found = _event(session, case, "pended", workflow.pend_event_id if workflow else None)
    if found is None:
        return None
    event, _, full_name = found
    p = event.payload or {}
    return Pend(tuple(p.get("missing") or ()), p.get("note") or "", event.occurred_at, full_name)


def criteria_state(session: Session, case: Case, referral: Referral | None = None) -> CriteriaState:
    """The criteria result of the case (see CriteriaState)."""
    from app.store.criteria_answers import checklist

    try:
        state = checklist(session, case)
    except LookupError:  # the set it applied is not held with the same content: say so, never guess
        log.warning("criteria set of TAR %s not held", case.tar)
        state = None
    if state is not None and state.result is not None:
        result = CHECKLIST_TO_CRITERIA_RESULT.get(state.result.result)
        texts = {row.node.id: row.node.text for row in state.rows}
        cset = state.set
        return CriteriaState(result, "checklist", state.result.message, cset.id if cset else None,
                             cset.version if cset else None, cset.title if cset else None,
                             tuple(texts.get(c, c) for c in state.result.not_met_criteria),
                             tuple(texts.get(c, c) for c in state.result.open_criteria))
    if referral is not None and referral.criteria_result:
        return CriteriaState(referral.criteria_result, "referral",
                             f"Recorded by {referral.by_name or referral.by_username or 'the referrer'} with the "
                             "referral; no criteria checklist is applied to the case.")
    return CriteriaState(None, "none", "No criteria checklist is applied to this case yet.")


def _case(session: Session, tar: str) -> Case | None:
    return session.scalar(select(Case).where(Case.tar == tar))


def referral_brief(session: Session, tar: str) -> tuple[Referral, CriteriaState] | None:
    """For a referred case (or one pended while referred): its referral and criteria result; else None."""
    case = _case(session, tar)
    if case is None or case.status not in ("referred", "pended"):
        return None
    workflow = session.get(CaseWorkflow, case.id)
    flow = flow_of(case.status, case.outcome, pended_from=workflow.pended_from if workflow else None,
                   referred_to=workflow.referred_to if workflow else None)
    if flow.state == "pended" and flow.pended_from != "referred":
        return None
    referral = _referral(session, case, workflow)
    if referral is None:
        return None
    return referral, criteria_state(session, case, referral)


def workspace_facts(session: Session, tar: str, username: str) -> WorkspaceFacts | None:
    """Everything the workspace's dialogs need for `username` on case `tar` (None when there is no such case)."""
    from app.store.case_queries import current_determination

    case = _case(session, tar)
    if case is None:
        return None
    workflow = session.get(CaseWorkflow, case.id)
    flow = flow_of(case.status, case.outcome, pended_from=workflow.pended_from if workflow else None,
                   referred_to=workflow.referred_to if workflow else None,
                   provider_notified=workflow.provider_notified_at is not None if workflow else None,
                   member_notified=workflow.member_notified_at is not None if workflow else None)
    user_id = session.scalar(select(User.id).where(User.username == username))
    involved = user_id is not None and session.scalar(
        select(CareInvolvement.id).where(CareInvolvement.member_id == case.member_id,
                                         CareInvolvement.user_id == user_id).limit(1)) is not None
    referral = _referral(session, case, workflow)
    determination = None
    payload = current_determination(session, case, workflow)
    if payload is not None:
        decider = payload.get("decided_by") or {}
        decided = payload.get("decided_at")
        determination = Determination(payload.get("outcome") or case.outcome, payload.get("basis"),
                                      decider.get("full_name"),
                                      datetime.fromisoformat(decided) if decided else case.decided_at,
                                      payload.get("rationale") or "", payload.get("member_reason") or "")
    notices = tuple(n for n, done in (("provider", flow.provider_notified), ("member", flow.member_notified)) if done)
    return WorkspaceFacts(
        tar=case.tar, version=case.version, status=case.status, outcome=case.outcome,
        category=case.service_category, member_name=case.member_name, received_at=case.received_at,
        holder=case.assignee.username if case.assignee else None,
        referred_to=flow.referred_to, pended_from=flow.pended_from,
        under_21=member_under_21(case.member.birth_date, to_plan(datetime.now(timezone.utc)).date()),
        involved=involved,
        requesting_specialty=case.requesting_provider.specialty if case.requesting_provider else None,
        lines=tuple(DecisionLine(line.line_number, line.code, line.description, line.units) for line in case.lines),
        criteria=criteria_state(session, case, referral),
        referral=referral,
        pend=_pend(session, case, workflow) if case.status == "pended" else None,
        determination=determination,
        notices_recorded=notices,
    )
