"""Appeal use cases (issue 13): file, route to an independent reviewer, move an expedited request to standard,
extend, accept a late appeal, decide (upheld / overturned / partially overturned), dismiss, complete a task; the
notices that complete the appeal's clocks; missed appeal clocks; and reading a case's appeals. The only code that
writes appeals.

The appeal letters' facts, mail-by and notices are app.services.appeal_letters; the reads, app.store.appeal_details.

Every action runs the steps of app.services.cases, in order, in the caller's transaction:
1. the words of the action (InvalidInput for an unknown result, channel, ...);
2. the acting user (NotFound) and authority (`app.domain.authority.may_appeal`; ActionRefused naming who may);
3. the case and its appeal, and what their state allows (ActionRefused kind 'state');
4. the rules (representative's authorization, independence of the reviewer, the clock engine for an extension:
   ActionRefused) and the action's own input (InvalidInput);
5. the event (`record_event`: its audit record, the case's version) and the projection (`appeals`,
   `appeal_tasks`); the letters the event calls for (app.services.letters.draft_letters).
A refusal or bad input raises before anything is written, and the caller's `session.begin()` rolls back anything an
action started: nothing is half-written.

An overturn, or a partial one, is a new determination: the case is reopened for the appeal (`reopen_case`, reason
'appeal') and decided again by the appeal's reviewer (`decide_case`), which drafts the approval (or modification)
notice the usual way. The approval goes out the same day as the decision: its letters' mail-by is the end of that
plan day (our reading of the issue's "an overturn becomes an approval and its notice the same day"). A partial
overturn's Notice of Appeal Resolution is that determination's notice: its modification letters are superseded, and
mailing the NAR records the determination's notices.

Offline (issue 9): every action is an intent (`appeal-file`, `appeal-route`, `appeal-decide` ...), done again on the
central store at the next sync under the laptop's ids (`derived_id`: the appeal, its tasks, its note); an overturn's
reopening and new determination are part of the one `appeal-decide` change (docs/appeals.md, "Working offline").

Filing records the event kind `appeal-filed` on the case: the peer-to-peer feature refuses a P2P once it is there.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.domain import appeals as rules
from app.domain import authority
from app.domain.case_states import ADVERSE_OUTCOMES, UNDECIDED_STATES
from app.domain.clocks import (AppealRequest, ClockError, NoRuleSetApplies, appeal_filing, check_appeal_extension,
                               compute_appeal_clocks, continuation_deadline, expedited_denied_notice_due, iso)
from app.domain.letters import kinds as letter_kinds
from app.domain.plantime import PLAN_TZ, iso_plan, to_plan
from app.services import audit
from app.services.intents import Call, appeal_untouched_since, decode, derived_id, intent
from app.services.cases import (ActionRefused, CriteriaCitation, InvalidInput, NotFound, _acting_user,
                                _last_determination, case_by_tar, decide_case, is_involved, iso_utc, record_event,
                                reopen_case, user_by_name)
from app.store.appeal_details import appeal_json, appealed_lines, appeals_of, open_appeal, open_tasks
from app.store.models import (Appeal, AppealTask, Case, CaseEvent, CaseWorkflow, ClinicalNote, IssuedLetter, Letter,
                              User, utcnow)


# ----- plan policy ---------------------------------------------------------------------------------------------
def plan_policy() -> dict:
    """The [appeals] table of resources/plan.toml: late_appeals (app.domain.appeals.LATE_POLICIES) and
    similar_specialties (groups of specialty names)."""
    from app.letters.templates import plan_profile

    policy = dict(plan_profile().get("appeals") or {})
    if policy.get("late_appeals", "review") not in rules.LATE_POLICIES:
        raise InvalidInput(f"resources/plan.toml: [appeals] late_appeals is '{policy.get('late_appeals')}'; use one "
                           f"of: {', '.join(rules.LATE_POLICIES)}")
    policy.setdefault("late_appeals", "review")
    policy.setdefault("similar_specialties", [])
    return policy


# ----- reading the case ----------------------------------------------------------------------------------------
def _refuse(refusal: authority.Refusal | None, kind: str = "authority") -> None:
    if refusal is not None:
        raise ActionRefused(refusal.reason, who=refusal.who, kind=kind)


def _actor(session: Session, username: str, action: str) -> User:
    actor = _acting_user(session, username)
    _refuse(authority.may_appeal(actor.role, action))
    return actor


def _checked_at(at: datetime | None) -> datetime:
    if at is None:
        return utcnow()
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"the time {at.isoformat()} has no time zone; give a timezone-aware instant")
    return at.astimezone(timezone.utc)


def _text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"give {what}")
    return text


def _the_open_appeal(session: Session, case: Case, *, unresolved: bool = True) -> Appeal:
    appeal = open_appeal(session, case)
    if appeal is None:
        raise ActionRefused(f"TAR {case.tar} has no open appeal; file one first ('umws appeal file').",
                            kind="state")
    if unresolved and appeal.status not in rules.UNRESOLVED_STATUSES:
        raise ActionRefused(f"The appeal of TAR {case.tar} was already decided "
                            f"({rules.RESULTS.get(appeal.result, appeal.result)}); its notice is to be sent.",
                            kind="state")
    return appeal


def _determination_event(session: Session, case: Case) -> CaseEvent | None:
    workflow = session.get(CaseWorkflow, case.id)
    event_id = workflow.determination_event_id if workflow and workflow.determination_event_id else None
    if event_id is None:
        last = _last_determination(session, case)
        event_id = uuid.UUID(last) if last else None
    return session.get(CaseEvent, event_id) if event_id else None


def _deciders(session: Session, case: Case, upto: CaseEvent) -> frozenset[str]:
    """Everyone who recorded a determination of the case up to the one appealed (42 CFR 438.406(b)(2)(i): "neither
    involved in any previous level of review")."""
    payloads = session.scalars(select(CaseEvent.payload).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "determined", CaseEvent.occurred_at <= upto.occurred_at))
    return frozenset(p["decided_by"]["username"] for p in payloads
                     if isinstance(p, dict) and isinstance(p.get("decided_by"), dict)
                     and p["decided_by"].get("username"))


def _reports_to(session: Session, user: User) -> tuple[str, ...]:
    """The usernames of `user`'s supervisors, nearest first (a loop in the relation stops the walk)."""
    chain, seen, current = [], {user.id}, user.supervisor_id
    while current is not None and current not in seen and len(chain) < 50:
        seen.add(current)
        boss = session.get(User, current)
        if boss is None:
            break
        chain.append(boss.username)
        current = boss.supervisor_id
    return tuple(chain)


def _notice_of(session: Session, case: Case, determination_id: uuid.UUID) -> tuple[date | None, str | None]:
    """The date of the member's notice of the determination: the issued letter's notice date (letters pipeline), or
    the day the member notice was recorded as sent (a `notified` event), or (None, None) when none is on record."""
    notice = session.scalar(
        select(IssuedLetter.notice_date).join(Letter, Letter.id == IssuedLetter.letter_id)
        .where(Letter.case_id == case.id, Letter.source_event_id == determination_id, Letter.recipient == "member")
        .order_by(IssuedLetter.issued_at).limit(1))
    if notice is not None:
        return notice, "issued-letter"
    for payload in session.scalars(select(CaseEvent.payload).where(CaseEvent.case_id == case.id,
                                                                   CaseEvent.kind == "notified")
                                   .order_by(CaseEvent.occurred_at)):
        if payload.get("recipient") == "member" and payload.get("determination_id") in (str(determination_id), None) \
                and payload.get("sent_at"):
            return to_plan(datetime.fromisoformat(payload["sent_at"])).date(), "notified-event"
    return None, None


def _effective_date(session: Session, case: Case, determination_id: uuid.UUID) -> date | None:
    """The date the termination or reduction takes effect, from its member letter."""
    return session.scalar(select(Letter.effective_date).where(
        Letter.case_id == case.id, Letter.source_event_id == determination_id, Letter.kind == "termination",
        Letter.recipient == "member").order_by(Letter.created_at.desc()).limit(1))


def _request(case: Case, appeal: Appeal) -> AppealRequest:
    return AppealRequest(case.line_of_business, appeal.expedited, appeal.received_at)


def _set_clocks(case: Case, appeal: Appeal, now: datetime):
    try:
        clocks = compute_appeal_clocks(_request(case, appeal), extension_days=appeal.extension_days, now=now)
    except ClockError as error:
        raise ActionRefused(f"The appeal's clocks cannot be counted: {error}.", kind="clock") from error
    appeal.rule_set = clocks.rule_set
    appeal.resolution_due_at = clocks.resolution_due
    appeal.acknowledgement_due_at = clocks.acknowledgement_due
    return clocks


def _end_of_plan_day(instant: datetime) -> datetime:
    day = to_plan(instant).date()
    return datetime.combine(day, time(23, 59, 59), tzinfo=PLAN_TZ).astimezone(timezone.utc)


# ----- independence --------------------------------------------------------------------------------------------
def independence(session: Session, case: Case, appeal: Appeal, user: User, *,
                 as_actor: bool) -> authority.Refusal | None:
    """May `user` decide this appeal (app.domain.authority.may_review_appeal, with what the store knows)?"""
    determination = session.get(CaseEvent, appeal.determination_event_id) if appeal.determination_event_id else None
    deciders = _deciders(session, case, determination) if determination is not None else frozenset()
    similar = rules.similar_specialty(appeal.specialty, user.specialty, plan_policy()["similar_specialties"])
    return authority.may_review_appeal(
        user.role, case.service_category, username=user.username, deciders=deciders,
        reports_to=_reports_to(session, user), specialty=user.specialty, wanted_specialty=appeal.specialty,
        similar=similar, involved=is_involved(session, user, case.member_id), as_actor=as_actor)


@dataclass(frozen=True)
class ReviewerChoice:
    username: str
    full_name: str
    specialty: str | None
    open_appeals: int
    refusal: str | None  # why they may not decide it; None: eligible


def reviewer_choices(session: Session, tar: str) -> list[ReviewerChoice]:
    """Every active physician for the case's open appeal: eligible ones first (fewest open appeals first), then
    the others with the reason they may not decide it (for a routing dialog)."""
    case = case_by_tar(session, tar)
    appeal = _the_open_appeal(session, case)
    return _choices(session, case, appeal)


def _choices(session: Session, case: Case, appeal: Appeal) -> list[ReviewerChoice]:
    load = {reviewer: count for reviewer, count in session.execute(
        select(Appeal.reviewer_id, func.count()).where(Appeal.status.in_(rules.UNRESOLVED_STATUSES),
                                                       Appeal.reviewer_id.is_not(None))
        .group_by(Appeal.reviewer_id))}
    physicians = session.scalars(select(User).where(User.active.is_(True),
                                                    User.role.in_(sorted(authority.PHYSICIAN_ROLES)))
                                 .order_by(User.username))
    out = []
    for user in physicians:
        refusal = independence(session, case, appeal, user, as_actor=False)
        out.append(ReviewerChoice(user.username, user.full_name, user.specialty, load.get(user.id, 0),
                                  refusal.reason.split(" Who may:")[0] if refusal else None))
    return sorted(out, key=lambda c: (c.refusal is not None, c.open_appeals, c.username))


# ----- tasks ---------------------------------------------------------------------------------------------------
def _add_task(session: Session, appeal: Appeal, kind: str, due: datetime | None, at: datetime) -> AppealTask:
    task = AppealTask(id=derived_id("appeal-task"), appeal_id=appeal.id, case_id=appeal.case_id, kind=kind,
                      text=rules.TASK_KINDS[kind], due_at=due, created_at=at, note="")
    task.appeal = appeal
    session.add(task)
    return task


def _open_tasks(session: Session, appeal: Appeal, kind: str | None = None) -> list[AppealTask]:
    query = select(AppealTask).where(AppealTask.appeal_id == appeal.id, AppealTask.done_at.is_(None))
    if kind:
        query = query.where(AppealTask.kind == kind)
    return list(session.scalars(query.order_by(AppealTask.created_at)))


def _close_tasks(session: Session, appeal: Appeal, kind: str | None, actor: User, at: datetime,
                 note: str) -> list[str]:
    closed = []
    for task in _open_tasks(session, appeal, kind):
        task.done_at, task.done_by_id, task.note = at, actor.id, note
        closed.append(task.kind)
    return closed


def _continuation_task_due(effective: date | None, at: datetime) -> datetime:
    """Continue the authorization before the service would stop: by the end of the day before the effective date,
    or today when that day has passed."""
    today_end = _end_of_plan_day(at)
    if effective is None:
        return today_end
    before = datetime.combine(effective - timedelta(days=1), time(23, 59, 59), tzinfo=PLAN_TZ).astimezone(timezone.utc)
    return max(before, today_end) if before < at else before


# ----- routing -------------------------------------------------------------------------------------------------
def _route_automatically(session: Session, case: Case, appeal: Appeal, at: datetime) -> User | None:
    """The eligible physician with the fewest open appeals (then by username), or None (a task to route it)."""
    for choice in _choices(session, case, appeal):
        if choice.refusal is None:
            return user_by_name(session, choice.username)
    return None


def _assign(session: Session, appeal: Appeal, reviewer: User | None, at: datetime) -> None:
    appeal.reviewer = reviewer
    appeal.reviewer_id = reviewer.id if reviewer else None
    appeal.status = "in-review" if reviewer else "awaiting-reviewer"
    if reviewer is None and not _open_tasks(session, appeal, "assign-reviewer"):
        _add_task(session, appeal, "assign-reviewer", min(appeal.resolution_due_at, at + timedelta(hours=24)), at)


# ----- filing --------------------------------------------------------------------------------------------------
@intent("appeal-file", commutes=appeal_untouched_since)
def file_appeal(session: Session, tar: str, username: str, *, filed_by: str, received_at: datetime, note: str,
                channel: str = "phone", expedited: bool = False, representative: str | None = None,
                authorization: str | None = None, continue_service: bool = False, specialty: str | None = None,
                reviewer: str | None = None, at: datetime | None = None) -> Appeal:
    """Log an appeal of the case's adverse determination (issue 13, scope 1-3).

    `filed_by` member | provider | representative (a representative needs the member's written authorization on
    file: `authorization` says where it is); `channel` phone | writing | portal; `received_at` when the plan
    received it (the clocks run from it); `expedited` when the provider says so or the member's health could be
    seriously harmed; `note` what was said and any new information; `continue_service` the member asked to keep a
    service that is being stopped or reduced (aid paid pending). `specialty`: the specialty the reviewer must
    match (default: the requesting provider's, else the first decider's); `reviewer`: route it to this physician
    (default: the eligible physician with the fewest open appeals)."""
    if filed_by not in rules.FILED_BY:
        raise InvalidInput(f"filed by one of: {', '.join(rules.FILED_BY)} (not '{filed_by}')")
    if channel not in rules.CHANNELS:
        raise InvalidInput(f"how it came is one of: {', '.join(rules.CHANNELS)} (not '{channel}')")
    actor = _actor(session, username, "file-appeal")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    # PostgreSQL: two filings of one case run one after the other. The lock names the case row alone (a refresh
    # FOR UPDATE would repeat the outer joins the case was loaded with, which PostgreSQL refuses to lock).
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update()).one()
    session.refresh(case)
    determination = _determination_event(session, case)
    if case.outcome not in ADVERSE_OUTCOMES or determination is None or case.status in UNDECIDED_STATES:
        state = ("is being reviewed again" if case.status in UNDECIDED_STATES and case.outcome
                 else f"has no adverse determination ({case.outcome or 'not decided yet'})")
        raise ActionRefused(f"TAR {case.tar} {state}: only a denial or a modification (approval in part) is "
                            "appealed.", kind="state")
    current = open_appeal(session, case)
    if current is not None:
        raise ActionRefused(f"TAR {case.tar} already has an open appeal of this determination, received "
                            f"{iso_plan(current.received_at)} ({rules.status_label(current.status)}); add to it, or "
                            "a supervisor dismisses it first.", kind="state")
    decided = session.scalars(select(Appeal).where(  # one level of plan appeal: a partial overturn's too
        Appeal.case_id == case.id, Appeal.status == "closed",
        or_(Appeal.determination_event_id == determination.id,
            Appeal.new_determination_event_id == determination.id))).first()
    if decided is not None:
        raise ActionRefused(f"This determination of TAR {case.tar} was already appealed and the appeal decided "
                            f"({rules.RESULTS.get(decided.result, decided.result)}, {iso_plan(decided.resolved_at)}); "
                            "the member's next step is a State Hearing (within 120 days of the appeal notice).",
                            kind="state")
    reason = rules.representative_refusal(filed_by, authorization)
    if reason:
        raise ActionRefused(reason, kind="rule")
    note = _text(note, "a note: what the member or provider said, and any new information")
    if not isinstance(received_at, datetime) or received_at.tzinfo is None or received_at.utcoffset() is None:
        raise InvalidInput("give the date-time the appeal was received, with its time zone")
    received_at = received_at.astimezone(timezone.utc)
    if received_at > at + timedelta(minutes=5):
        raise InvalidInput("the appeal's received date-time is in the future")
    if received_at < determination.occurred_at:
        raise InvalidInput("the appeal's received date-time is before the determination it appeals")
    if filed_by == "representative":
        representative = _text(representative, "the representative's name")
    payload = determination.payload or {}
    ongoing = letter_kinds.kind_for_determination(case.outcome, payload.get("basis"),
                                                  case.review_timing) == "termination"
    if continue_service and not ongoing:
        raise InvalidInput("aid paid pending keeps a service that is being stopped or reduced; this determination "
                           "does not stop a service the member gets (it is not a termination or reduction)")
    notice_date, notice_source = _notice_of(session, case, determination.id)
    request = AppealRequest(case.line_of_business, expedited, received_at)
    try:
        filing = appeal_filing(request, notice_date)
        effective = _effective_date(session, case, determination.id) if ongoing else None
        continuation = continuation_deadline(request, notice_date, effective)
    except NoRuleSetApplies as error:
        raise ActionRefused(f"The appeal's clocks cannot be counted: {error}.", kind="clock") from error
    policy = plan_policy()
    wanted = (specialty or "").strip() or case.requesting_provider.specialty or (
        (payload.get("decided_by") or {}).get("specialty"))
    if not wanted:
        raise InvalidInput("name the specialty the reviewer must match (the requesting provider has none recorded)")
    appeal = Appeal(
        id=derived_id("appeal"), case_id=case.id, determination_event_id=determination.id, appealed_outcome=case.outcome,
        status="awaiting-reviewer", filed_by=filed_by, representative=(representative or "").strip() or None,
        authorization=(authorization or "").strip() or None, channel=channel, received_at=received_at,
        expedited=expedited, expedited_requested_by=rules.expedited_requested_by(filed_by, expedited),
        notice_date=notice_date, notice_source=notice_source, filing_deadline=filing.deadline,
        timely=filing.timely, days_late=filing.days_late,
        aid_paid_pending=bool(ongoing and continue_service and continuation.timely),
        continuation_requested=bool(continue_service), continuation_deadline=continuation.deadline if ongoing
        else None, effective_date=effective, specialty=wanted, extension_days=0, new_information=note,
        created_at=at, updated_at=at)
    appeal.case = case
    clocks = _set_clocks(case, appeal, at)
    session.add(appeal)
    late_hold = not filing.timely and policy["late_appeals"] == "supervisor-review"
    chosen = None
    if late_hold:
        appeal.status = "late-review"
        _add_task(session, appeal, "decide-late-appeal", min(appeal.resolution_due_at, at + timedelta(hours=24)), at)
    elif reviewer:
        chosen = user_by_name(session, reviewer)
        _refuse(independence(session, case, appeal, chosen, as_actor=chosen.id == actor.id))
        _assign(session, appeal, chosen, at)
    else:
        chosen = _route_automatically(session, case, appeal, at)
        _assign(session, appeal, chosen, at)
    if appeal.aid_paid_pending:
        _add_task(session, appeal, "continue-authorization", _continuation_task_due(effective, at), at)
    session.add(ClinicalNote(id=derived_id("note"), case_id=case.id, written_at=received_at,
                             author=f"Appeal: {rules.FILED_BY[filed_by].lower()}", text=note))
    event = record_event(session, case, actor, "appeal-filed", {
        "appeal_id": str(appeal.id), "determination_id": str(determination.id), "appealed_outcome": case.outcome,
        "filed_by": filed_by, "representative": appeal.representative, "authorization": appeal.authorization,
        "channel": channel, "received_at": iso_utc(received_at), "expedited": expedited,
        "expedited_requested_by": appeal.expedited_requested_by,
        "notice_date": notice_date.isoformat() if notice_date else None, "notice_source": notice_source,
        "filing_deadline": filing.deadline.isoformat() if filing.deadline else None, "timely": filing.timely,
        "days_late": filing.days_late, "late_policy": policy["late_appeals"] if not filing.timely else None,
        "aid_paid_pending": {"applies": appeal.aid_paid_pending, "requested": bool(continue_service),
                             "ongoing_service": ongoing, "effective_date": effective.isoformat() if effective
                             else None, "deadline": continuation.deadline.isoformat()
                             if ongoing and continuation.deadline else None},
        "specialty": wanted, "reviewer": chosen.username if chosen else None, "status": appeal.status,
        "rule_set": clocks.rule_set, "resolution_due": iso_utc(clocks.resolution_due),
        "acknowledgement_due": iso_utc(clocks.acknowledgement_due), "note": note,
    }, at, after={"appeal_status": appeal.status, "resolution_due": iso_utc(clocks.resolution_due)})
    if not expedited:
        _draft(session, case, "appeal-acknowledgement", event.id, at)
    return appeal


def _draft(session: Session, case: Case, kind: str, event_id: uuid.UUID, at: datetime) -> None:
    from app.services.letters import draft_letters

    draft_letters(session, case, kind=kind, source_event_id=event_id, at=at)


# ----- routing, track, extension, late appeals, dismissal ------------------------------------------------------
@intent("appeal-route", commutes=appeal_untouched_since)
def route_appeal(session: Session, tar: str, username: str, reviewer: str, *, note: str = "",
                 at: datetime | None = None) -> Appeal:
    """Give the open appeal to an independent physician (a coordinator or supervisor), or take it (a physician)."""
    actor = _actor(session, username, "route-appeal")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    appeal = _the_open_appeal(session, case)
    if appeal.status == "late-review":
        raise ActionRefused("The appeal is late and waits for a nurse supervisor to accept it for good cause.",
                            who=("nurse-supervisor", "administrator"), kind="state")
    target = user_by_name(session, reviewer)
    if actor.role in authority.PHYSICIAN_ROLES and target.id != actor.id:
        raise ActionRefused("A physician may take an appeal for themself; a UM coordinator or a supervisor routes it "
                            "to someone else.", who=("um-coordinator", "nurse-supervisor", "administrator"))
    if actor.role in authority.PHYSICIAN_ROLES and appeal.reviewer is not None and appeal.reviewer_id != actor.id:
        raise ActionRefused(f"The appeal is with {appeal.reviewer.username}; a UM coordinator or a supervisor may "
                            "route it to you.", who=("um-coordinator", "nurse-supervisor", "administrator"),
                            kind="state")
    if appeal.reviewer_id == target.id:
        raise ActionRefused(f"The appeal is already with {target.username}.", kind="state")
    _refuse(independence(session, case, appeal, target, as_actor=target.id == actor.id))
    previous = appeal.reviewer.username if appeal.reviewer else None
    _assign(session, appeal, target, at)
    closed = _close_tasks(session, appeal, "assign-reviewer", actor, at, f"routed to {target.username}")
    appeal.updated_at = at
    record_event(session, case, actor, "appeal-reviewer-assigned", {
        "appeal_id": str(appeal.id), "reviewer": target.username, "from": previous, "note": note.strip(),
        "tasks_done": closed}, at, before={"appeal_reviewer": previous}, after={"appeal_reviewer": target.username})
    return appeal


@intent("appeal-deny-expedited", commutes=appeal_untouched_since)
def deny_expedited(session: Session, tar: str, username: str, *, reason: str, at: datetime | None = None) -> Appeal:
    """The member's request for an expedited appeal does not meet the standard (waiting would not seriously harm
    their health): the appeal moves to the standard track, counted from the same receipt, with prompt oral notice
    and written notice within 2 calendar days (42 CFR 438.410(c)); a provider's request cannot be denied."""
    actor = _actor(session, username, "deny-expedited-appeal")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    appeal = _the_open_appeal(session, case)
    why_not = rules.expedited_denial_refusal(appeal.expedited, appeal.expedited_requested_by)
    if why_not:
        raise ActionRefused(why_not, kind="rule" if appeal.expedited else "state")
    reason = _text(reason, "the reason the member's health would not be seriously harmed by the standard timeframe")
    previous = appeal.resolution_due_at
    appeal.expedited = False
    appeal.expedited_denied_at = at
    clocks = _set_clocks(case, appeal, at)
    notice_due, cite = expedited_denied_notice_due(_request(case, appeal), at)
    appeal.updated_at = at
    event = record_event(session, case, actor, "appeal-expedited-denied", {
        "appeal_id": str(appeal.id), "reason": reason, "previous_due": iso_utc(previous),
        "new_due": iso_utc(clocks.resolution_due), "acknowledgement_due": iso_utc(clocks.acknowledgement_due),
        "notice_due": iso_utc(notice_due), "notice_cite": cite}, at,
        before={"appeal_track": "expedited", "resolution_due": iso_utc(previous)},
        after={"appeal_track": "standard", "resolution_due": iso_utc(clocks.resolution_due)})
    _draft(session, case, "appeal-acknowledgement", event.id, at)
    return appeal


@intent("appeal-extend", commutes=appeal_untouched_since)
def extend_appeal(session: Session, tar: str, username: str, *, reason: str, note: str, days: int = 14,
                  at: datetime | None = None) -> Appeal:
    """One extension of the appeal's clock by up to 14 calendar days, when the member asks or the plan shows it
    needs information and how the delay is in the member's interest; written notice within 2 calendar days
    (42 CFR 438.408(c)). The clock engine says whether it is allowed."""
    if reason not in rules.EXTENSION_REASONS:
        raise InvalidInput(f"extension reason is one of: {', '.join(rules.EXTENSION_REASONS)} (not '{reason}')")
    actor = _actor(session, username, "extend-appeal")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    appeal = _the_open_appeal(session, case)
    if appeal.status == "late-review":
        raise ActionRefused("The late appeal waits for a supervisor's good-cause decision; its clock is not "
                            "extended before that.", kind="state")
    note = _text(note, "a note saying why the extension is in the member's interest (or that the member asked)")
    try:
        grant = check_appeal_extension(_request(case, appeal), reason=reason, days=days, at=at,
                                       taken_days=appeal.extension_days)
    except ClockError as error:
        raise ActionRefused(f"The extension is refused: {error}.", kind="clock") from error
    appeal.extension_days = grant.days
    _set_clocks(case, appeal, at)
    appeal.updated_at = at
    event = record_event(session, case, actor, "appeal-extended", {
        "appeal_id": str(appeal.id), "days": grant.days, "reason": reason, "note": note,
        "previous_due": iso_utc(grant.previous_due), "new_due": iso_utc(grant.new_due),
        "notice_due": iso_utc(grant.notice_due)}, at,
        before={"resolution_due": iso_utc(grant.previous_due)}, after={"resolution_due": iso_utc(grant.new_due)})
    _draft(session, case, "appeal-extension", event.id, at)
    return appeal


@intent("appeal-accept-late", commutes=appeal_untouched_since)
def accept_late_appeal(session: Session, tar: str, username: str, *, note: str, at: datetime | None = None) -> Appeal:
    """Plan policy "supervisor-review": a nurse supervisor accepts a late appeal for good cause; it is then routed."""
    actor = _actor(session, username, "accept-late-appeal")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    appeal = _the_open_appeal(session, case)
    if appeal.status != "late-review":
        raise ActionRefused("The appeal does not wait for a good-cause decision.", kind="state")
    note = _text(note, "the good cause (e.g. 'member was in hospital until 1/12')")
    chosen = _route_automatically(session, case, appeal, at)
    _assign(session, appeal, chosen, at)
    closed = _close_tasks(session, appeal, "decide-late-appeal", actor, at, note)
    appeal.updated_at = at
    record_event(session, case, actor, "appeal-late-accepted", {
        "appeal_id": str(appeal.id), "note": note, "reviewer": chosen.username if chosen else None,
        "tasks_done": closed}, at, before={"appeal_status": "late-review"}, after={"appeal_status": appeal.status})
    return appeal


@intent("appeal-dismiss", commutes=appeal_untouched_since)
def dismiss_appeal(session: Session, tar: str, username: str, *, reason: str, at: datetime | None = None) -> Appeal:
    """A supervisor closes an appeal without a decision on its merits (withdrawn by the member, filed in error, late
    without good cause), with the reason; its open tasks close with it."""
    actor = _actor(session, username, "dismiss-appeal")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    appeal = _the_open_appeal(session, case)
    reason = _text(reason, "the reason (e.g. 'withdrawn by the member by phone 11/30')")
    before = appeal.status
    appeal.status = "dismissed"
    appeal.updated_at = at
    closed = _close_tasks(session, appeal, None, actor, at, "appeal dismissed")
    record_event(session, case, actor, "appeal-dismissed", {"appeal_id": str(appeal.id), "reason": reason,
                                                             "tasks_closed": closed}, at,
                 before={"appeal_status": before}, after={"appeal_status": "dismissed"})
    return appeal


@intent("appeal-task-done", commutes=appeal_untouched_since)
def complete_task(session: Session, tar: str, username: str, *, task: str, note: str = "",
                  at: datetime | None = None) -> AppealTask:
    """Record an appeal task as done (e.g. the authorization was continued while the appeal runs)."""
    if task not in rules.TASK_KINDS:
        raise InvalidInput(f"task is one of: {', '.join(rules.TASK_KINDS)} (not '{task}')")
    actor = _actor(session, username, "appeal-task")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    appeals = appeals_of(session, case)
    pending = [t for a in appeals for t in _open_tasks(session, a, task)]
    if not pending:
        raise ActionRefused(f"TAR {case.tar} has no open task '{rules.TASK_KINDS[task]}'.", kind="state")
    done = pending[0]
    done.done_at, done.done_by_id, done.note = at, actor.id, note.strip()
    record_event(session, case, actor, "appeal-task-done", {"appeal_id": str(done.appeal_id), "task": task,
                                                             "note": note.strip()}, at)
    return done


def _supervisor_from_call(session: Session, call: Call) -> tuple[tuple, dict]:
    return (call.actor,), {key: decode(value) for key, value in call.payload.items()}


@intent("appeal-set-supervisor", from_call=_supervisor_from_call)
def set_supervisor(session: Session, username: str, target: str, supervisor: str | None) -> User:
    """An administrator records whom `target` reports to (None: nobody); an appeal is never decided by a
    subordinate of the first decider. A user cannot report to themself, nor to someone who reports to them."""
    actor = _acting_user(session, username)
    if actor.role != "administrator":
        raise ActionRefused("Only an administrator may record whom a user reports to.", who=("administrator",))
    user = user_by_name(session, target)
    boss = user_by_name(session, supervisor) if supervisor else None
    if boss is not None and (boss.id == user.id or user.username in _reports_to(session, boss)):
        raise InvalidInput(f"{target} cannot report to {supervisor}: {supervisor} reports to {target} (or is them)")
    before = session.get(User, user.supervisor_id).username if user.supervisor_id else None
    user.supervisor_id = boss.id if boss else None
    audit.append(session, actor=actor.username, actor_kind="user", action="change", what="user-supervisor",
                 case_id=None, tar=None, body={"user": target, "before": before, "after": supervisor,
                                               "os_user": audit.os_user()})
    return user


# ----- deciding ------------------------------------------------------------------------------------------------
@intent("appeal-decide", commutes=appeal_untouched_since)
def decide_appeal(session: Session, tar: str, username: str, *, result: str, reason: str, rationale: str | None = None,
                  approve: Mapping[int, int] | None = None, criteria: list[CriteriaCitation] | None = None,
                  at: datetime | None = None) -> Appeal:
    """The independent physician's decision: upheld, overturned, or partially overturned (`approve`: line ->
    units now approved), with the reason in plain language (`reason`, printed in the member's notice) and the
    clinical rationale (`rationale`, default the reason). An overturn reopens the case and records the new
    determination (approval, or modification for a partial overturn) through app.services.cases; every result
    drafts the Notice of Appeal Resolution for the member and the provider."""
    try:
        result = rules.result_of(result)
    except ValueError as error:
        raise InvalidInput(str(error)) from error
    actor = _actor(session, username, "decide-appeal")
    at = _checked_at(at)
    case = case_by_tar(session, tar)
    appeal = _the_open_appeal(session, case)
    if appeal.status == "late-review":
        raise ActionRefused("The appeal is late and waits for a nurse supervisor to accept it for good cause.",
                            who=("nurse-supervisor", "administrator"), kind="state")
    if appeal.reviewer_id is not None and appeal.reviewer_id != actor.id:
        raise ActionRefused(f"The appeal is with {appeal.reviewer.username}: only they may decide it; a UM coordinator "
                            "or a supervisor may route it to you.",
                            who=("um-coordinator", "nurse-supervisor", "administrator"), kind="state")
    _refuse(independence(session, case, appeal, actor, as_actor=True))
    determination = session.get(CaseEvent, appeal.determination_event_id)
    current = _determination_event(session, case)
    if current is None or current.id != determination.id:
        raise ActionRefused("The determination under appeal was superseded by a newer one; a supervisor dismisses "
                            "this appeal and the member may appeal the new determination.", kind="state")
    reason = _text(reason, "the reason for the decision, in plain language for the member")
    rationale = (rationale or "").strip() or reason
    try:
        resolution = rules.resolution_lines(result, appealed_lines(case, determination), dict(approve or {}))
    except ValueError as error:
        raise InvalidInput(str(error)) from error
    citations = list(criteria) if criteria is not None else [
        CriteriaCitation(c.get("set_id"), c.get("version")) for c in (determination.payload.get("criteria") or [])]
    new_determination = None
    if resolution is not None:
        reopen_case(session, case.tar, username, reason="appeal", note=f"Appeal {rules.RESULTS[result]}: {reason}",
                    at=at)
        decide_case(session, case.tar, username, outcome="approve" if resolution.outcome == "approved" else "partial",
                    rationale=rationale, member_reason=reason, basis=determination.payload.get("basis")
                    or "medical-necessity", lines=resolution.units, criteria=citations, at=at)
        new_determination = session.get(CaseWorkflow, case.id).determination_event_id
        _settle_determination_letters(session, case, new_determination, result, at)
    appeal.reviewer = actor
    appeal.reviewer_id = actor.id
    appeal.status = "resolved"
    appeal.result = result
    appeal.resolution_reason = reason
    appeal.resolved_at = at
    appeal.resolved_by_id = actor.id
    appeal.new_determination_event_id = new_determination
    appeal.updated_at = at
    lines = [{"line_number": n, "approved_units": u} for n, u in (
        resolution.units.items() if resolution else
        ((n, before) for n, (_, before) in appealed_lines(case, determination).items()))]
    event = record_event(session, case, actor, "appeal-decided", {
        "appeal_id": str(appeal.id), "result": result, "reason": reason, "rationale": rationale,
        "reviewer": {"username": actor.username, "full_name": actor.full_name, "role": actor.role,
                     "specialty": actor.specialty},
        "resolved_at": iso_utc(at), "lines": lines, "criteria": [c.to_json() for c in citations],
        "determination_id": str(determination.id),
        "new_determination_id": str(new_determination) if new_determination else None,
        "in_time": at <= appeal.resolution_due_at}, at,
        before={"appeal_status": "in-review"}, after={"appeal_status": "resolved", "appeal_result": result})
    appeal.resolution_event_id = event.id
    _draft(session, case, "appeal-resolution", event.id, at)
    return appeal


def _settle_determination_letters(session: Session, case: Case, determination_id: uuid.UUID, result: str,
                                  at: datetime) -> None:
    """An overturn's approval notice goes out the same day (mail-by: the end of the plan day); a partial overturn's
    modification letters give way to the Notice of Appeal Resolution, which carries State Hearing rights (a new
    Notice of Action would offer a second plan appeal)."""
    session.flush()
    end_of_day = _end_of_plan_day(at)
    for letter in session.scalars(select(Letter).where(Letter.case_id == case.id,
                                                       Letter.source_event_id == determination_id,
                                                       Letter.status.in_(("draft", "translation-needed")))):
        if result == "overturned":
            letter.mail_by_at = end_of_day if letter.mail_by_at is None else min(letter.mail_by_at, end_of_day)
        else:
            letter.status = "superseded"
        letter.updated_at = at


# ----- missed clocks ---------------------------------------------------------------------------------------------
def record_appeal_breaches(session: Session, now: datetime) -> list[tuple[str, str]]:
    """An `appeal-clock-breached` event (by the system) the first time an open appeal is seen past its resolution
    due (decision or notice not done: the member may go to a State Hearing, 42 CFR 438.408(c)(3)) or its
    acknowledgement due; returns (TAR, clock) pairs. Called with app.services.clock_watch.record_breaches."""
    recorded = []
    candidates = session.scalars(select(Appeal).where(
        Appeal.status.in_(rules.OPEN_STATUSES),
        ((Appeal.resolution_due_at < now) & Appeal.resolution_breached_at.is_(None))
        | ((Appeal.acknowledgement_due_at < now) & Appeal.acknowledged_at.is_(None)
           & Appeal.acknowledgement_breached_at.is_(None)))
        .order_by(Appeal.resolution_due_at)
        .with_for_update(of=Appeal)).all()  # PostgreSQL: a second workstation waits, then sees them recorded
    for appeal in candidates:
        case = appeal.case
        if appeal.resolution_due_at < now and appeal.resolution_breached_at is None:
            appeal.resolution_breached_at = now
            record_event(session, case, None, "appeal-clock-breached", {
                "appeal_id": str(appeal.id), "clock": "resolution", "due": iso(appeal.resolution_due_at),
                "rule": appeal.rule_set, "state_hearing": True}, at=now)
            recorded.append((case.tar, "resolution"))
        if (appeal.acknowledgement_due_at is not None and appeal.acknowledgement_due_at < now
                and appeal.acknowledged_at is None and appeal.acknowledgement_breached_at is None
                and appeal.notice_sent_at is None):
            appeal.acknowledgement_breached_at = now
            record_event(session, case, None, "appeal-clock-breached", {
                "appeal_id": str(appeal.id), "clock": "acknowledgement", "due": iso(appeal.acknowledgement_due_at),
                "rule": appeal.rule_set}, at=now)
            recorded.append((case.tar, "acknowledgement"))
    return recorded


# ----- reading -------------------------------------------------------------------------------------------------
def show_appeals(session: Session, tar: str, viewer: str, *, viewer_kind: str = "user",
                 now: datetime | None = None) -> dict:
    """A case's appeals, newest first, as JSON; the read is audited (who viewed the case's appeals)."""
    case = case_by_tar(session, tar)
    audit.record_view(session, actor=viewer, actor_kind=viewer_kind, what="appeals", case_id=case.id, tar=case.tar)
    return {"tar": case.tar, "member": case.member_name, "outcome": case.outcome, "status": case.status,
            "appeals": [appeal_json(session, appeal, now) for appeal in appeals_of(session, case)]}


__all__ = ["ActionRefused", "InvalidInput", "NotFound", "ReviewerChoice", "accept_late_appeal", "appeal_json",
           "appeals_of", "complete_task", "decide_appeal", "deny_expedited", "dismiss_appeal", "extend_appeal",
           "file_appeal", "independence", "open_appeal", "open_tasks", "plan_policy", "record_appeal_breaches",
           "reviewer_choices", "route_appeal", "set_supervisor", "show_appeals"]
