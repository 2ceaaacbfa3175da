"""Case use cases (issues 3 and 6): receive, claim, assign, pend, refer, decide, extend, correct, notify, close,
reopen. The only code that writes cases.

Every action runs the same steps, in this order, inside the caller's transaction:
1. who and what: the acting user and the case (NotFound when either is unknown);
2. authority (`app.domain.authority`): ActionRefused naming who may do it;
3. the state machine (`app.domain.case_states`): ActionRefused saying why the case's state does not allow it;
4. the action's own input (InvalidInput) and rules (the clock engine for extensions: ActionRefused);
5. the event (`record_event`), its audit record (`app.services.audit`) and the projection on the case row
   (status, assignee, outcome, decided_at, extensions_taken, decision_due_at) and `case_workflow`.
A refusal or bad input raises before anything is written; the caller's `session.begin()` block commits the rest as
one transaction, so a case's row never says something its events do not.

For a GUI: call these in `with store.session() as session, session.begin():` (on a worker thread); pass the
case's `version` as `expected_version` to refuse a change to a case someone else changed meanwhile;
`available_actions()` says which actions to enable and, for the others, why not (a tooltip).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import authority
from app.domain.case_states import (
    ADVERSE_OUTCOMES, NOTICE_RECIPIENTS, REFERRAL_TARGETS, REOPEN_REASONS, CaseFlow, IllegalTransition,
    flow_of,
)
from app.domain.plantime import to_plan
from app.domain.roles import PHYSICIAN_ROLES
from app.domain.vocabulary import team_for_category
from app.services import audit, batch_lookups, receive_payload
from app.services.intents import action_time, always, codec_type, derived_id, intent, never
from app.store.criteria_answers import checklist as criteria_checklist
from app.store.models import (
    Case, CaseEvent, CaseWorkflow, CareInvolvement, ClinicalNote, Diagnosis, Member, RequestLine, User, utcnow,
)


class ActionRefused(Exception):
    """A rule or the actor's authority refuses the action; the message says why and who may do it.

    `who`: role ids that may do it (for a GUI tooltip); `kind`: 'authority', 'state', 'clock' or 'conflict'."""

    def __init__(self, message: str, *, who: Iterable[str] = (), kind: str = "authority"):
        super().__init__(message)
        self.who = tuple(who)
        self.kind = kind


class NotFound(Exception):
    """A TAR number or username that the store does not hold."""


class InvalidInput(ValueError):
    """The action's input is wrong or missing (nothing was written); the message says what to change."""


def decision_due(lob: str, timing: str, urgency: str, category: str, received_at: datetime,
                 extensions: int = 0) -> datetime | None:
    """The decision clock's due, for the worklist's Due column (the clock engine decides; this only asks)."""
    from app.domain.clocks import decision_due_for

    return decision_due_for(_clock_request(lob, timing, urgency, category, received_at), extensions)


def _clock_request(lob: str, timing: str, urgency: str, category: str, received_at: datetime):
    from app.domain.clocks import ClockRequest

    return ClockRequest(lob=lob, timing=timing, urgency=urgency,
                        category="medication" if category == "medication" else "other", received=received_at)


def iso_utc(instant: datetime | None) -> str | None:
    """An instant in event payloads and audit bodies: ISO 8601 in UTC with microseconds."""
    if instant is None:
        return None
    return instant.astimezone(timezone.utc).isoformat(timespec="microseconds")


def record_event(session: Session, case: Case, actor: User | None, kind: str, payload: dict | None = None,
                 at: datetime | None = None, *, before: dict | None = None, after: dict | None = None,
                 event_id: uuid.UUID | None = None) -> CaseEvent:
    """Append an event to the case, bump its version (the base version sync compares against) and append its audit
    record (who, when, what, before and after) to this device's chain, all in the caller's transaction."""
    at = at or action_time() or utcnow()
    payload = payload or {}
    event = CaseEvent(id=event_id or derived_id(f"event:{kind}"), case_id=case.id, occurred_at=at,
                      actor_id=actor.id if actor else None, kind=kind, payload=payload)
    session.add(event)
    case.version += 1
    case.updated_at = at
    audit.append(
        session, actor=actor.username if actor else "system", actor_kind="user" if actor else "system",
        action="create" if kind == "received" else "change", what=kind, case_id=case.id, tar=case.tar,
        body={"event": {"id": str(event.id), "kind": kind, "occurred_at": iso_utc(at), "payload": payload},
              "before": before, "after": after, "version": case.version, "os_user": audit.os_user()},
    )
    return event


def user_by_name(session: Session, username: str) -> User:
    user = batch_lookups.known_user(session, username)
    if user is not None:
        return user
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user '{username}' in this store; 'umws users list' shows who there is.")
    batch_lookups.remember_user(session, user)
    return user


def case_by_tar(session: Session, tar: str) -> Case:
    case = batch_lookups.known_case(session, tar)
    if case is not None:
        return case
    case = session.scalar(select(Case).where(Case.tar == tar))
    if case is None:
        raise NotFound(f"No case with TAR number {tar} in this store.")
    return case


# ----- receiving ---------------------------------------------------------------------------------------------
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


@intent("receive", commutes=never, to_call=receive_payload.to_call, from_call=receive_payload.from_call,
        makes_case=True)
def receive_case(session: Session, new: NewCase, actor: User | None) -> Case:
    """Record a request as received: the clocks run from `received_at` (timeliness.md, "Definitions")."""
    case = Case(
        id=derived_id("case"), tar=new.tar, line_of_business=new.line_of_business,
        service_category=new.service_category, review_timing=new.review_timing, urgency=new.urgency,
        received_at=new.received_at, status="received", team=team_for_category(new.service_category),
        member_id=new.member.id, requesting_provider_id=new.requesting_provider_id,
        servicing_provider_id=new.servicing_provider_id, place_of_service=new.place_of_service,
        requested_los_days=new.requested_los_days, proposed_date=new.proposed_date,
        member_name=new.member.display_name, service_summary=service_summary(new.lines, new.service_category),
        decision_due_at=decision_due(new.line_of_business, new.review_timing, new.urgency, new.service_category,
                                     new.received_at),
        extensions_taken=0, version=0,
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
    after = {"status": "received", "received_at": iso_utc(new.received_at),
             "decision_due_at": iso_utc(case.decision_due_at), "service_category": new.service_category,
             "line_of_business": new.line_of_business, "review_timing": new.review_timing, "urgency": new.urgency}
    record_event(session, case, actor, "received", {"channel": new.channel, "tar": new.tar},
                 at=new.received_at, after=after)
    return case


# ----- the common steps of an action -------------------------------------------------------------------------
@dataclass
class _Action:
    actor: User
    case: Case
    workflow: CaseWorkflow | None
    flow: CaseFlow
    before: dict
    at: datetime

    @property
    def holder(self) -> str | None:
        return self.case.assignee.username if self.case.assignee else None

    def workflow_row(self, session: Session) -> CaseWorkflow:
        if self.workflow is None:
            self.workflow = CaseWorkflow(case_id=self.case.id, updated_at=self.at)
            session.add(self.workflow)
        return self.workflow


def _snapshot(case: Case, workflow: CaseWorkflow | None) -> dict:
    """The case's projection as audit before/after values (JSON types only)."""
    return {
        "status": case.status,
        "assignee": case.assignee.username if case.assignee else None,
        "outcome": case.outcome,
        "decided_at": iso_utc(case.decided_at),
        "decision_due_at": iso_utc(case.decision_due_at),
        "extensions_taken": case.extensions_taken,
        "received_at": iso_utc(case.received_at),
        "referred_to": workflow.referred_to if workflow else None,
        "pended_from": workflow.pended_from if workflow else None,
        "provider_notified_at": iso_utc(workflow.provider_notified_at) if workflow else None,
        "member_notified_at": iso_utc(workflow.member_notified_at) if workflow else None,
    }


def _flow(case: Case, workflow: CaseWorkflow | None) -> CaseFlow:
    if workflow is None:
        return flow_of(case.status, case.outcome)
    return flow_of(case.status, case.outcome, pended_from=workflow.pended_from, referred_to=workflow.referred_to,
                   provider_notified=workflow.provider_notified_at is not None,
                   member_notified=workflow.member_notified_at is not None)


def _acting_user(session: Session, username: str) -> User:
    actor = user_by_name(session, username)
    if not actor.active:
        raise ActionRefused(f"The account '{username}' is not active; an administrator may reactivate it.",
                            who=("administrator",))
    return actor


def _load(session: Session, tar: str, username: str, at: datetime | None) -> _Action:
    actor = _acting_user(session, username)
    case = case_by_tar(session, tar)
    found, workflow = batch_lookups.take_prefetched(session, CaseWorkflow, case.id)
    if not found:
        workflow = session.get(CaseWorkflow, case.id)
    return _Action(actor, case, workflow, _flow(case, workflow), _snapshot(case, workflow), _checked_at(at))


def _checked_at(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"the time {at.isoformat()} has no time zone; give a timezone-aware instant")
    return at.astimezone(timezone.utc)


def _refuse(refusal: authority.Refusal | None, kind: str = "authority") -> None:
    if refusal is not None:
        raise ActionRefused(refusal.reason, who=refusal.who, kind=kind)


def _authorize(act: _Action, action: str) -> None:
    _refuse(authority.may_act(act.actor.role, action, act.case.service_category, username=act.actor.username,
                              holder=act.holder, state=act.case.status, referred_to=act.flow.referred_to))


def _transition(act: _Action, kind: str, **facts) -> CaseFlow:
    try:
        return act.flow.apply(kind, **facts)
    except IllegalTransition as error:
        raise ActionRefused(str(error), kind="state") from error


def _check_version(act: _Action, expected_version: int | None) -> None:
    if expected_version is not None and act.case.version != expected_version:
        raise ActionRefused(f"TAR {act.case.tar} changed since you opened it (version {expected_version}, now "
                            f"{act.case.version}); refresh the case and try again.", kind="state")


def _text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"give {what}")
    return text


def _finish(session: Session, act: _Action, kind: str, payload: dict, flow: CaseFlow, *,
            event_id: uuid.UUID | None = None) -> CaseEvent:
    """Apply the new state, write the event and its audit record with the before/after of what changed."""
    act.case.status = flow.state
    if act.workflow is not None or flow.referred_to or flow.pended_from:
        workflow = act.workflow_row(session)
        workflow.referred_to = flow.referred_to
        workflow.pended_from = flow.pended_from
        workflow.updated_at = act.at
    after_all = _snapshot(act.case, act.workflow)
    before = {k: v for k, v in act.before.items() if after_all.get(k) != v}
    after = {k: after_all[k] for k in before}
    return record_event(session, act.case, act.actor, kind, payload, act.at, before=before, after=after,
                        event_id=event_id)


def _take(act: _Action) -> None:
    """An action on a case nobody holds makes the actor its holder."""
    if act.case.assignee is None:
        act.case.assignee = act.actor


# ----- claim and assign (issue 3) ----------------------------------------------------------------------------
@intent("claim")
def claim_case(session: Session, tar: str, username: str, *, at: datetime | None = None,
               expected_version: int | None = None) -> Case:
    """The acting user takes an unheld open case into 'My cases'."""
    act = _load(session, tar, username, at)
    _refuse(authority.may_claim(act.actor.role, act.case.status, act.holder, act.actor.username,
                                category=act.case.service_category, referred_to=act.flow.referred_to))
    flow = _transition(act, "claimed")
    _check_version(act, expected_version)
    act.case.assignee = act.actor
    payload = {"assignee": act.actor.username}
    if flow.state != act.flow.state:
        payload["status"] = flow.state
    _finish(session, act, "claimed", payload, flow)
    return act.case


@intent("assign")
def assign_case(session: Session, tar: str, username: str, assignee_username: str, note: str = "", *,
                at: datetime | None = None, expected_version: int | None = None) -> Case:
    """A supervisor gives a case to a reviewer (or takes it from one); both holders show on the timeline."""
    act = _load(session, tar, username, at)
    assignee = user_by_name(session, assignee_username)
    _refuse(authority.may_assign(act.actor.role, act.case.status, assignee.role,
                                 category=act.case.service_category))
    flow = _transition(act, "assigned")
    _check_version(act, expected_version)
    previous = act.holder
    act.case.assignee = assignee
    _finish(session, act, "assigned", {"from": previous, "to": assignee.username, "note": note}, flow)
    return act.case


reassign_case = assign_case


# ----- pend, information received, refer ---------------------------------------------------------------------
@intent("pend")
def pend_case(session: Session, tar: str, username: str, *, missing: str | Sequence[str], note: str = "",
              at: datetime | None = None, expected_version: int | None = None, at_intake: bool = False) -> Case:
    """Pend for information: record what is missing (the requester is asked for it; the letters issue renders the
    request). No clock stops: the decision due stays where it is.

    `at_intake` (app.services.intake): a request just received is pended for the items it lacks by whoever enters
    requests (app.domain.intake.authority), and stays unheld in its team's queue."""
    act = _load(session, tar, username, at)
    if at_intake:
        from app.domain.intake.authority import may_enter_request

        _refuse(may_enter_request(act.actor.role, act.case.service_category))
    else:
        _authorize(act, "pend")
    flow = _transition(act, "pended")
    _check_version(act, expected_version)
    items = [missing] if isinstance(missing, str) else list(missing)
    items = [item.strip() for item in items if item and item.strip()]
    if not items:
        raise InvalidInput("say what information is missing")
    if not at_intake:
        _take(act)
    event_id = derived_id("event:pended")
    act.workflow_row(session).pend_event_id = event_id
    _finish(session, act, "pended", {"missing": items, "note": note.strip(), "from": act.flow.state,
                                     "requester_asked": True, "decision_due": iso_utc(act.case.decision_due_at)},
            flow, event_id=event_id)
    _draft_letters(session, act.case, "request-for-information", event_id, act.at)
    return act.case


@intent("information-received")
def record_information_received(session: Session, tar: str, username: str, *, note: str = "",
                                at: datetime | None = None, expected_version: int | None = None) -> Case:
    """The information a pended case waits for arrived: back to review (or to the referral it was pended from)."""
    act = _load(session, tar, username, at)
    _refuse(authority.may(act.actor.role, "resume", act.case.service_category))
    flow = _transition(act, "information-received")
    _check_version(act, expected_version)
    _finish(session, act, "information-received", {"note": note.strip(), "to": flow.state}, flow)
    return act.case


@intent("refer")
def refer_case(session: Session, tar: str, username: str, *, to: str, summary: str, question: str = "",
               specialty: str | None = None, to_user: str | None = None, criteria_result: str | None = None,
               at: datetime | None = None, expected_version: int | None = None) -> Case:
    """Refer to a clinical pharmacist, a physician, or a reviewer of the same or similar specialty, with a summary
    and a question. The case leaves the referrer's list (held by `to_user` when one is named, else by nobody until
    a reviewer of the target claims it). `criteria_result` (optional): the criteria result the referrer found
    (app.domain.authority.CRITERIA_RESULTS), shown to the reviewer with the summary."""
    if to not in REFERRAL_TARGETS:
        raise InvalidInput(f"refer to one of: {', '.join(REFERRAL_TARGETS)} (not '{to}')")
    act = _load(session, tar, username, at)
    _authorize(act, "refer")
    _refuse(authority.may_refer(act.actor.role, act.case.service_category, to))
    flow = _transition(act, "referred", target=to)
    _check_version(act, expected_version)
    if criteria_result is not None and criteria_result not in authority.CRITERIA_RESULTS:
        raise InvalidInput(f"criteria result '{criteria_result}' is not one of: "
                           f"{', '.join(authority.CRITERIA_RESULTS)}")
    summary = _text(summary, "a summary for the reviewer")
    if to == "same-specialty" and not (specialty or "").strip():
        raise InvalidInput("name the specialty of the reviewer (e.g. 'Orthopaedic Surgery')")
    target_user = None
    if to_user:
        target_user = _acting_user(session, to_user)
        if target_user.role not in authority.REFERRAL_ROLES[to]:
            raise InvalidInput(f"{to_user} cannot take a referral to a {REFERRAL_TARGETS[to].lower()}")
    act.case.assignee = target_user
    event_id = derived_id("event:referred")
    workflow = act.workflow_row(session)
    workflow.referral_event_id = event_id
    workflow.referred_specialty = specialty.strip() if specialty else None
    payload = {"to": to, "specialty": workflow.referred_specialty, "summary": summary, "question": question.strip(),
               "from_user": act.actor.username, "assignee": to_user}
    if criteria_result is not None:
        payload["criteria_result"] = criteria_result
    _finish(session, act, "referred", payload, flow, event_id=event_id)
    return act.case


# ----- determinations ----------------------------------------------------------------------------------------
@codec_type
@dataclass(frozen=True)
class CriteriaCitation:
    """A criteria set cited in a determination (from the checklist): its id and version."""

    set_id: str
    version: str | None = None

    def to_json(self) -> dict:
        return {"set_id": self.set_id, "version": self.version}


@codec_type
@dataclass(frozen=True)
class LineDecision:
    line_number: int
    approved_units: int


_OUTCOME_WORDS = {"approve": "approved", "approved": "approved", "partial": "partially-approved",
                  "partially-approved": "partially-approved", "deny": "denied", "denied": "denied"}


def _line_decisions(case: Case, outcome: str,
                    lines: Mapping[int, int] | Sequence[LineDecision] | None) -> list[dict]:
    requested = {line.line_number: line for line in case.lines}
    given: dict[int, int] = {}
    if lines:
        items = lines.items() if isinstance(lines, Mapping) else ((d.line_number, d.approved_units) for d in lines)
        for number, units in items:
            if number not in requested:
                raise InvalidInput(f"TAR {case.tar} has no line {number} (lines: "
                                   f"{', '.join(map(str, requested)) or 'none'})")
            if not isinstance(units, int) or units < 0 or units > requested[number].units:
                raise InvalidInput(f"line {number}: approve 0 to {requested[number].units} units, not {units}")
            given[number] = units
    approved = {}
    for number, line in requested.items():
        default = line.units if outcome == "approved" else 0 if outcome == "denied" else line.units
        approved[number] = given.get(number, default)
    if outcome == "approved" and any(approved[n] != requested[n].units for n in requested):
        raise InvalidInput("an approval approves every unit of every line; approving fewer is a partial approval")
    if outcome == "denied" and any(approved.values()):
        raise InvalidInput("a denial approves no units; approving some is a partial approval")
    if outcome == "partially-approved":
        if not given:
            raise InvalidInput("a partial approval says how many units of which lines are approved "
                               "(e.g. line 1: 3 of 6)")
        if all(approved[n] == requested[n].units for n in requested):
            raise InvalidInput("every unit of every line is approved: that is an approval, not a partial one")
        if not any(approved.values()):
            raise InvalidInput("no unit of any line is approved: that is a denial, not a partial approval")
    result = []
    for number, line in requested.items():
        units = approved[number]
        line_outcome = ("approved" if units == line.units else "denied" if units == 0 else "partially-approved")
        result.append({"line_number": number, "code": line.code, "requested_units": line.units,
                       "approved_units": units, "outcome": line_outcome})
    return result


def _under_21(case: Case, at: datetime) -> bool:
    return authority.member_under_21(case.member.birth_date, to_plan(at).date())


def is_involved(session: Session, user: User, member_id: uuid.UUID) -> bool:
    """Whether `user` is recorded as involved in the care of the member `member_id`."""
    return session.scalar(select(CareInvolvement.id).where(CareInvolvement.member_id == member_id,
                                                           CareInvolvement.user_id == user.id).limit(1)) is not None


def _decider(actor: User) -> dict:
    return {"username": actor.username, "full_name": actor.full_name, "role": actor.role,
            "credential": actor.credential, "specialty": actor.specialty}


@intent("decide")
def decide_case(session: Session, tar: str, username: str, *, outcome: str, rationale: str,
                member_reason: str = "", basis: str = "medical-necessity",
                lines: Mapping[int, int] | Sequence[LineDecision] | None = None,
                criteria: Sequence[CriteriaCitation] = (), criteria_result: str | None = None,
                at: datetime | None = None, expected_version: int | None = None) -> Case:
    """A determination: approve, approve in part (N of M units per line) or deny, on `basis` medical-necessity or
    benefit (coverage not relating to medical necessity), with the clinical rationale, the member-facing reason in
    plain language, the criteria cited (optional for a physician) and the criteria result (see
    app.domain.authority.CRITERIA_RESULTS). A determination on a case already determined supersedes it (a new
    event naming the one it replaces); the case row carries the current one."""
    word = _OUTCOME_WORDS.get(outcome)
    if word is None:
        raise InvalidInput(f"outcome '{outcome}' is not one of: approve, partial, deny")
    if basis not in authority.BASES:
        raise InvalidInput(f"basis '{basis}' is not one of: {', '.join(authority.BASES)}")
    if criteria_result is not None and criteria_result not in authority.CRITERIA_RESULTS:
        raise InvalidInput(f"criteria result '{criteria_result}' is not one of: "
                           f"{', '.join(authority.CRITERIA_RESULTS)}")
    act = _load(session, tar, username, at)
    action = authority.decision_action(word)
    _authorize(act, action)
    under_21 = _under_21(act.case, act.at)
    involved = is_involved(session, act.actor, act.case.member_id)
    criteria_result, recorded, applied = _criteria_of(session, act.case, criteria_result)
    refusal = authority.may_decide(act.actor.role, word, act.case.service_category, basis=basis,
                                   criteria=criteria_result, member_under_21=under_21, involved=involved)
    if refusal and recorded is not None:
        refusal = authority.Refusal(f"The case's criteria checklist says: {recorded.label}. {refusal.reason}",
                                    refusal.who)
    if refusal:
        _refuse(refusal, "conflict" if involved and "involved" in refusal.reason else "authority")
    flow = _transition(act, "determined", outcome=word)
    _check_version(act, expected_version)
    rationale = _text(rationale, "the clinical rationale")
    if word in ADVERSE_OUTCOMES:
        member_reason = _text(member_reason, "the reason for the member, in plain language, specific to the "
                                             "member's condition")
    physician = act.actor.role in PHYSICIAN_ROLES
    citations = [c if isinstance(c, CriteriaCitation) else CriteriaCitation(str(c)) for c in criteria]
    if not citations and applied is not None:  # the set version the checklist applied is the one cited
        citations = [CriteriaCitation(applied.id, applied.version)]
    if not physician and word == "approved" and not citations:
        raise InvalidInput("cite the criteria set that is met (criteria are optional only for a physician)")
    line_decisions = _line_decisions(act.case, word, lines)
    return _determine(session, act, flow, word, {
        "basis": basis, "lines": line_decisions, "rationale": rationale, "member_reason": member_reason.strip(),
        "criteria": [c.to_json() for c in citations], "criteria_result": criteria_result,
        "member_under_21": under_21,
    }, criteria_result)


# The checklist's result (app.domain.criteria.RESULTS) as a workflow criteria result (authority.CRITERIA_RESULTS):
# for a member under 21 with adult criteria not met, the EPSDT review is a referral, as "not met" is.
CHECKLIST_RESULTS = {"criteria-met": "criteria-met", "not-met": "not-met", "incomplete": "incomplete",
                     "no-criteria": "no-criteria", "epsdt-review": "not-met"}


def _criteria_of(session: Session, case: Case, claimed: str | None):
    """The criteria result a determination is judged by, the checklist's result when it is the one used, and the
    set version the checklist applied.

    When the case's checklist has a result (a set applied, or "no criteria apply" recorded; issue 5), a claim of
    "criteria met" stands only if the checklist says so, and no claim means the checklist's result: an approval on
    criteria met needs the recorded answers to meet them, and "no criteria apply" forces a referral. A more
    cautious claim (a physician's "not met") is kept as given. Without a checklist the claim is used as before."""
    try:
        state = criteria_checklist(session, case)
    except LookupError:  # the applied set's content is not held here: judged by the claim, as before
        return claimed, None, None
    recorded = state.result
    if recorded is None:
        return claimed, None, None
    result = CHECKLIST_RESULTS[recorded.result]
    if claimed is None or (claimed == "criteria-met" and result != "criteria-met"):
        return result, recorded, state.set
    return claimed, None, state.set


def _determine(session: Session, act: _Action, flow: CaseFlow, outcome: str, details: dict,
               criteria_result: str | None = None) -> Case:
    from app.store.stays import is_open_stay

    if is_open_stay(session, act.case):  # issue 12: a stay's case is determined by its discharge
        raise ActionRefused(f"TAR {act.case.tar} is an open stay: its days are decided by the stay's reviews (the "
                            "Stay tab; umws stay review, umws stay deny), and the case is determined when the stay "
                            "is discharged.", kind="state")
    event_id = derived_id("event:determined")
    workflow = act.workflow_row(session)
    if workflow.determination_event_id:
        supersedes = str(workflow.determination_event_id)
    else:  # a case decided before it had a workflow row (demo data) has its determination only as an event
        supersedes = _last_determination(session, act.case) if act.case.outcome is not None else None
    workflow.determination_event_id = event_id
    workflow.criteria_result = criteria_result
    workflow.referred_specialty = None
    workflow.provider_notified_at = workflow.member_notified_at = None
    act.case.outcome = outcome
    act.case.decided_at = act.at
    act.case.assignee = act.actor
    payload = {"determination_id": str(event_id), "outcome": outcome, **details,
               "decided_by": _decider(act.actor), "decided_at": iso_utc(act.at), "supersedes": supersedes}
    _finish(session, act, "determined", payload, flow, event_id=event_id)
    _draft_letters(session, act.case, None, event_id, act.at)
    return act.case


def _draft_letters(session: Session, case: Case, kind: str | None, event_id: uuid.UUID, at: datetime) -> None:
    """The letters issue: draft the notices an event calls for, in the same transaction (kind None: those of
    the determination `event_id`)."""
    from app.services import letters

    if kind is None:
        letters.draft_for_determination(session, case, event_id, at)
    else:
        letters.draft_letters(session, case, kind=kind, source_event_id=event_id, at=at)


def _last_determination(session: Session, case: Case) -> str | None:
    """The id of a case's latest determination event (cases decided before the workflow had a workflow row)."""
    event_id = session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.kind == "determined")
                              .order_by(CaseEvent.occurred_at.desc()).limit(1))
    return str(event_id) if event_id else None


@intent("withdraw")
def withdraw_case(session: Session, tar: str, username: str, *, note: str, withdrawn_by: str = "provider",
                  at: datetime | None = None, expected_version: int | None = None) -> Case:
    """The requester (or the member) withdrew the request: a determination with outcome 'withdrawn'."""
    if withdrawn_by not in ("provider", "member"):
        raise InvalidInput(f"withdrawn by 'provider' or 'member', not '{withdrawn_by}'")
    act = _load(session, tar, username, at)
    _authorize(act, "withdraw")
    flow = _transition(act, "determined", outcome="withdrawn")
    _check_version(act, expected_version)
    note = _text(note, "a note saying how the withdrawal came (e.g. 'provider called 11/23')")
    return _determine(session, act, flow, "withdrawn", {"note": note, "withdrawn_by": withdrawn_by, "lines": []})


@intent("close-admin")
def close_administratively(session: Session, tar: str, username: str, *, reason: str, at: datetime | None = None,
                           expected_version: int | None = None) -> Case:
    """Close a request without a decision on its merits (e.g. a duplicate): outcome 'administratively-closed'."""
    act = _load(session, tar, username, at)
    _authorize(act, "close-admin")
    flow = _transition(act, "determined", outcome="administratively-closed")
    _check_version(act, expected_version)
    reason = _text(reason, "the reason (e.g. 'duplicate of TAR 90000000041')")
    return _determine(session, act, flow, "administratively-closed", {"reason": reason, "lines": []})


# ----- extension and received-date correction ----------------------------------------------------------------
@intent("extend")
def extend_case(session: Session, tar: str, username: str, *, reason: str, note: str, at: datetime | None = None,
                expected_version: int | None = None) -> Case:
    """Extend the decision clock, recorded by a nurse or physician with its reason (member-request,
    provider-request, information-needed). The clock engine says whether the request's rule sets allow it: only
    before the current due, never post-service, as many times as the rule sets allow."""
    from app.domain.clocks import ClockError, check_extension

    if reason not in authority.EXTENSION_REASONS:
        raise InvalidInput(f"extension reason '{reason}' is not one of: {', '.join(authority.EXTENSION_REASONS)}")
    act = _load(session, tar, username, at)
    _authorize(act, "extend")
    flow = _transition(act, "extended")
    _check_version(act, expected_version)
    note = _text(note, "a note saying why the extension is in the member's interest")
    case = act.case
    try:
        grant = check_extension(
            _clock_request(case.line_of_business, case.review_timing, case.urgency, case.service_category,
                           case.received_at),
            reason=reason, at=act.at, taken=case.extensions_taken)
    except ClockError as error:
        raise ActionRefused(f"The extension is refused: {error}.", kind="clock") from error
    case.extensions_taken = grant.number
    case.decision_due_at = grant.new_decision_due
    event = _finish(session, act, "extended", {
        "number": grant.number, "reason": reason, "note": note,
        "previous_due": iso_utc(grant.previous_decision_due), "new_due": iso_utc(grant.new_decision_due),
        "rule": grant.new_decision_rule, "notice_due": iso_utc(grant.notice_due),
    }, flow)
    _draft_letters(session, case, "extension", event.id, act.at)
    return case


@intent("correct-received-date")
def correct_received_date(session: Session, tar: str, username: str, *, received_at: datetime, reason: str,
                          at: datetime | None = None, expected_version: int | None = None) -> Case:
    """A nurse supervisor corrects when the plan received the request, with a reason (NCQA UM system controls).
    The correction is an event on the timeline and an audit record (before and after); the decision due is
    recomputed from the corrected receipt."""
    from app.domain.clocks import ClockError

    act = _load(session, tar, username, at)
    _refuse(authority.may(act.actor.role, "correct-received-date", act.case.service_category))
    flow = _transition(act, "received-date-corrected")
    _check_version(act, expected_version)
    reason = _text(reason, "the reason for the correction")
    if not isinstance(received_at, datetime) or received_at.tzinfo is None or received_at.utcoffset() is None:
        raise InvalidInput("give the corrected received date-time with its time zone")
    received_at = received_at.astimezone(timezone.utc)
    case = act.case
    if received_at > act.at:
        raise InvalidInput("the corrected received date-time is in the future")
    if received_at == case.received_at:
        raise InvalidInput("the corrected received date-time is the one already recorded")
    if case.decided_at is not None and case.decided_at < received_at:
        raise InvalidInput("the case was decided before that time; the received date-time must come first")
    try:
        new_due = decision_due(case.line_of_business, case.review_timing, case.urgency, case.service_category,
                               received_at, case.extensions_taken)
    except ClockError as error:
        raise InvalidInput(f"the clocks cannot be counted from that receipt: {error}") from error
    previous_received, previous_due = case.received_at, case.decision_due_at
    case.received_at = received_at
    case.decision_due_at = new_due
    _finish(session, act, "received-date-corrected", {
        "from": iso_utc(previous_received), "to": iso_utc(received_at), "reason": reason,
        "previous_due": iso_utc(previous_due), "new_due": iso_utc(new_due),
    }, flow)
    return case


# ----- notices, closing, reopening ---------------------------------------------------------------------------
@intent("notify")
def record_notification(session: Session, tar: str, username: str, *, recipient: str, method: str = "fax",
                        sent_at: datetime | None = None, at: datetime | None = None,
                        expected_version: int | None = None) -> Case:
    """Record that the determination's notice went to the provider or the member (sent at `sent_at`, default
    now). The letters (app.services.letters) call this when a determination's letter is mailed or the provider
    is notified."""
    if recipient not in NOTICE_RECIPIENTS:
        raise InvalidInput(f"recipient is one of: {', '.join(NOTICE_RECIPIENTS)} (not '{recipient}')")
    act = _load(session, tar, username, at)
    _refuse(authority.may(act.actor.role, "notify", act.case.service_category))
    flow = _transition(act, "notified", recipient=recipient)
    _check_version(act, expected_version)
    sent = _checked_at(sent_at) if sent_at is not None else act.at
    if sent > act.at:
        raise InvalidInput("the notice's sent time is in the future")
    if act.case.decided_at is not None and sent < act.case.decided_at:
        raise InvalidInput("the notice cannot have been sent before the determination")
    workflow = act.workflow_row(session)
    if recipient == "provider":
        workflow.provider_notified_at = sent
    else:
        workflow.member_notified_at = sent
    _finish(session, act, "notified", {
        "recipient": recipient, "method": (method or "").strip() or "unspecified", "sent_at": iso_utc(sent),
        "determination_id": str(workflow.determination_event_id) if workflow.determination_event_id else None,
    }, flow)
    return act.case


@intent("close")
def close_case(session: Session, tar: str, username: str, *, note: str = "", at: datetime | None = None,
               expected_version: int | None = None) -> Case:
    """Close a determined case once its required notices are recorded."""
    act = _load(session, tar, username, at)
    _refuse(authority.may(act.actor.role, "close", act.case.service_category))
    flow = _transition(act, "closed")
    _check_version(act, expected_version)
    _finish(session, act, "closed", {"note": note.strip(), "outcome": act.case.outcome}, flow)
    return act.case


@intent("reopen")
def reopen_case(session: Session, tar: str, username: str, *, reason: str, note: str, at: datetime | None = None,
                expected_version: int | None = None) -> Case:
    """A physician records a peer-to-peer or appeal outcome that reopens a denial or modification: the case goes
    back to review, held by that physician, whose new determination then supersedes the old one."""
    if reason not in REOPEN_REASONS:
        raise InvalidInput(f"reopen reason is one of: {', '.join(REOPEN_REASONS)} (not '{reason}')")
    act = _load(session, tar, username, at)
    _refuse(authority.may_reopen(act.actor.role, act.case.service_category, reason))
    flow = _transition(act, "reopened", reason=reason)
    _check_version(act, expected_version)
    note = _text(note, "the outcome of the peer-to-peer call or appeal")
    workflow = act.workflow_row(session)
    determination = (str(workflow.determination_event_id) if workflow.determination_event_id
                     else _last_determination(session, act.case))
    workflow.provider_notified_at = workflow.member_notified_at = None
    act.case.assignee = act.actor
    _finish(session, act, "reopened", {"reason": reason, "note": note, "previous_outcome": act.case.outcome,
                                       "determination_id": determination}, flow)
    return act.case


# ----- involvement in the member's care ----------------------------------------------------------------------
@intent("declare-involvement", commutes=always)
def declare_involvement(session: Session, tar: str, username: str, *, note: str, involved_username: str | None = None,
                        at: datetime | None = None) -> Case:
    """Record that a user (the actor, or for a supervisor anyone) is involved in the member's care: from then on
    they may not decide any case of that member. Shown on the case's timeline."""
    act = _load(session, tar, username, at)
    involved = act.actor if involved_username in (None, act.actor.username) else user_by_name(session,
                                                                                           involved_username)
    _refuse(authority.may_declare_involvement(act.actor.role, for_someone_else=involved.id != act.actor.id))
    flow = _transition(act, "involvement-declared")
    note = _text(note, "how the user is involved in the member's care")
    if is_involved(session, involved, act.case.member_id):
        raise ActionRefused(f"{involved.username} is already recorded as involved in this member's care.",
                            kind="state")
    session.add(CareInvolvement(id=derived_id("involvement"), member_id=act.case.member_id, user_id=involved.id,
                                case_id=act.case.id, declared_at=act.at, declared_by_id=act.actor.id, note=note))
    _finish(session, act, "involvement-declared", {"user": involved.username, "note": note,
                                                   "declared_by": act.actor.username}, flow)
    return act.case


# ----- reading ---------------------------------------------------------------------------------------------
def view_case(session: Session, tar: str, viewer: str, *, viewer_kind: str = "user") -> dict:
    """The case as one JSON-ready dict (app.store.case_queries.case_json), recording the view in the audit trail.
    `viewer`: the workstation username (viewer_kind 'user') or the operating-system user ('os-user')."""
    from app.store.case_queries import case_json

    case = case_by_tar(session, tar)
    if viewer_kind == "user":
        _acting_user(session, viewer)
    audit.record_view(session, actor=viewer, actor_kind=viewer_kind, what="case", case_id=case.id, tar=case.tar)
    return case_json(session, case)


def record_case_view(session: Session, tar: str, username: str) -> None:
    """Only the audit record of a view (for a GUI that loads the case its own way, e.g. app.store.case_details)."""
    case = case_by_tar(session, tar)
    audit.record_view(session, actor=username, actor_kind="user", what="case", case_id=case.id, tar=case.tar)


ACTION_EVENTS = {
    "claim": "claimed", "assign": "assigned", "pend": "pended", "resume": "information-received",
    "refer": "referred", "approve": "determined", "partial": "determined", "deny": "determined",
    "withdraw": "determined", "close-admin": "determined", "extend": "extended",
    "correct-received-date": "received-date-corrected", "declare-involvement": "involvement-declared",
    "notify": "notified", "close": "closed", "reopen": "reopened",
}
_FACTS = {"refer": {"target": "physician"}, "approve": {"outcome": "approved"},
          "partial": {"outcome": "partially-approved"}, "deny": {"outcome": "denied"},
          "withdraw": {"outcome": "withdrawn"}, "close-admin": {"outcome": "administratively-closed"},
          "reopen": {"reason": "peer-to-peer"}}


def available_actions(session: Session, tar: str, username: str) -> dict[str, authority.Refusal | None]:
    """For each action (app.domain.authority.ACTIONS but 'view'): None when the user may take it on this case now,
    else the Refusal saying why (authority first, then the case's state). Decisions are checked as far as the case
    allows without the decision's details (criteria result, basis): the services check those when asked."""
    act = _load(session, tar, username, None)
    result: dict[str, authority.Refusal | None] = {}
    for action, kind in ACTION_EVENTS.items():
        if action == "claim":
            refusal = authority.may_claim(act.actor.role, act.case.status, act.holder, act.actor.username,
                                          category=act.case.service_category, referred_to=act.flow.referred_to)
        elif action == "assign":
            refusal = authority.may(act.actor.role, "assign", act.case.service_category)
        elif action in authority.HOLDER_ACTIONS:
            refusal = authority.may_act(act.actor.role, action, act.case.service_category,
                                        username=act.actor.username, holder=act.holder, state=act.case.status,
                                        referred_to=act.flow.referred_to)
        else:
            refusal = authority.may(act.actor.role, action, act.case.service_category)
        if refusal is None and action in ("approve", "partial", "deny"):
            involved = is_involved(session, act.actor, act.case.member_id)
            if involved:
                refusal = authority.may_decide(act.actor.role, action, act.case.service_category,
                                               criteria="criteria-met", basis="benefit", involved=True)
        if refusal is None:
            message = act.flow.refusal(kind, **_FACTS.get(action, {"recipient": "provider"}
                                                           if action == "notify" else {}))
            if message and action == "notify":
                member = act.flow.refusal(kind, recipient="member")
                message = message if member else None
            if message:
                refusal = authority.Refusal(message)
        result[action] = refusal
    return result
