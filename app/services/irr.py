"""Inter-rater reliability use cases (issue 14): draw the year's sample, re-review blind, run corrective action
plans. The only code that writes the IRR tables.

Every action checks authority first (app.domain.irr_rules), then its state and input, then writes its rows and an
audit record in the caller's transaction. Each is a named intent (app.services.intents) so that a laptop's IRR work
goes up to the central store. Rows a replay must make again have ids derived from what they are (the sample from
its year and seed, an item from its sample and determination, a review from its item), or given by the caller (a
plan's id).

Blindness: the auditor's answers go to irr_answers, never to the case's events; the auditor's screen is built by
`blind_view`, which holds no original answer, outcome or decider. Only `submit_review`, once the auditor's
determination is final, reads the original review as it stood at decision time and keeps the comparison.
"""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import irr_rules
from app.domain.criteria.model import ANSWERS
from app.domain.irr_rules import AUDIT_DETERMINATIONS, CapFlow, IllegalCapStep
from app.domain.irr_sampling import MAX_PER_REVIEWER, TARGET_PERCENT, draw, sample_json
from app.domain.plantime import to_plan
from app.services import audit
from app.services.cases import ActionRefused, InvalidInput, NotFound, iso_utc, user_by_name
from app.services.intents import Call, action_time, always, decode, intent
from app.store.criteria_answers import checklist
from app.store.irr_queries import (
    BlindCase, annual_sample, applied_set_at, blind_case, decided_cases, irr_report, sample_agreement, year_bounds,
)
from app.store.models import (
    Case, CaseEvent, CorrectivePlan, CorrectivePlanEvent, IrrAnswer, IrrItem, IrrReview, IrrSample, User, utcnow,
)

NAMESPACE = uuid.UUID("6f1d3c52-8a4e-4d6b-9a55-0c1e4b7f2a14")  # ids of IRR rows made again by a replay
MAX_NOTE = 2000
RE_AUDIT_DEFAULT = 10

__all__ = ["ActionRefused", "InvalidInput", "NotFound", "add_action", "blind_view", "change_due_date",
           "close_plan", "complete_action", "draw_re_audit", "draw_sample", "open_plan", "preview_sample",
           "record_answer", "record_re_audit", "report", "submit_review"]


def _about_no_case(session: Session, call: Call) -> tuple[tuple, dict]:
    """A replayed IRR intent's arguments: (username,) and the payload (no TAR: the program is about no one case)."""
    return (call.actor,), {key: decode(value) for key, value in call.payload.items()}


def _now(at: datetime | None) -> datetime:
    instant = at or action_time() or utcnow()
    if instant.tzinfo is None:
        raise InvalidInput("the time has no time zone; give a timezone-aware instant")
    return instant.astimezone(timezone.utc)


def _actor(session: Session, username: str) -> User:
    actor = user_by_name(session, username)
    if not actor.active:
        raise ActionRefused(f"The account '{username}' is not active; an administrator may reactivate it.",
                            who=("administrator",))
    return actor


def _refuse(refusal) -> None:
    if refusal is not None:
        raise ActionRefused(refusal.reason, who=refusal.who)


def _text(value: str | None, what: str, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"The {what} is {len(text)} characters long; at most {MAX_NOTE}.")
    if required and not text:
        raise InvalidInput(f"give {what}")
    return text or None


def _year(year: int) -> int:
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput(f"'{year}' is not a year to audit; give a year such as 2026")
    return year


def _audit(session: Session, actor: User, what: str, body: dict, *, case_id=None, tar=None, at=None) -> None:
    audit.append(session, actor=actor.username, actor_kind="user", action="change", what=what, case_id=case_id,
                 tar=tar, body=body, at=at)


def new_seed() -> int:
    """A seed for a draw when none is given: random, and recorded with the sample."""
    return secrets.randbelow(10**9)


# ----- the sample ---------------------------------------------------------------------------------------------
def _candidates(session: Session, year: int):
    start, end = year_bounds(year)
    return decided_cases(session, start, end)


def preview_sample(session: Session, year: int, seed: int) -> dict:
    """The sample the year's decided cases give with `seed` (nothing is written): `umws irr sample --json`."""
    decided = _candidates(session, _year(year))
    return sample_json(year, seed, draw([d.candidate for d in decided], seed))


@dataclass(frozen=True)
class DrawResult:
    sample_id: uuid.UUID
    sample: dict  # sample_json
    created: bool  # False: the same draw was already recorded


def _sample_id(year: int, seed: int, purpose: str, plan_id: uuid.UUID | None = None) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"sample|{purpose}|{year}|{seed}|{plan_id or ''}")


def _item_id(sample_id: uuid.UUID, determination_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"item|{sample_id}|{determination_id}")


def _record_items(session: Session, sample: IrrSample, chosen: dict[str, object]) -> None:
    for decided in chosen.values():
        cset = applied_set_at(session, decided.case_id, decided.decided_at)
        session.add(IrrItem(
            id=_item_id(sample.id, decided.candidate.determination_id), sample_id=sample.id,
            case_id=decided.case_id, tar=decided.candidate.tar, determination_event_id=decided.event_id,
            decided_at=decided.decided_at, reviewer_id=decided.reviewer_id,
            reviewer_username=decided.candidate.reviewer, review_type=decided.candidate.review_type,
            set_id=cset.id if cset else None, set_version=cset.version if cset else None,
            set_sha256=cset.sha256 if cset else None))


@intent("irr-draw-sample", commutes=always, from_call=_about_no_case)
def draw_sample(session: Session, username: str, *, year: int, seed: int, at: datetime | None = None) -> DrawResult:
    """Draw and record the year's sample with `seed`, for blind re-review. One annual sample per year: drawing
    again with the same seed gives the recorded one; another seed is refused."""
    actor = _actor(session, username)
    _refuse(irr_rules.may_run_program(actor.role, "draw the inter-rater reliability sample"))
    year = _year(year)
    if not isinstance(seed, int) or seed < 0:
        raise InvalidInput("the seed is a whole number, 0 or more")
    existing = annual_sample(session, year)
    if existing is not None:
        if existing.seed != seed:
            raise ActionRefused(f"The {year} sample was drawn on {to_plan(existing.drawn_at):%m/%d/%Y} by "
                                f"{existing.drawn_by} with seed {existing.seed}; a year has one sample.",
                                kind="state")
        return DrawResult(existing.id, existing.population, False)
    at = _now(at)
    decided = _candidates(session, year)
    samples = draw([d.candidate for d in decided], seed)
    population = sample_json(year, seed, samples)
    if population["total_cases"] == 0:
        raise ActionRefused(f"No reviewer decided a case on its merits in {year}: there is nothing to sample.",
                            kind="state")
    sample = IrrSample(id=_sample_id(year, seed, "annual"), year=year, seed=seed, purpose="annual", drawn_at=at,
                       drawn_by=actor.username, population=population)
    session.add(sample)
    session.flush()
    by_determination = {d.candidate.determination_id: d for d in decided}
    chosen = {c.determination_id: by_determination[c.determination_id] for s in samples for c in s.cases}
    _record_items(session, sample, chosen)
    _audit(session, actor, "irr-sample-drawn", {"year": year, "seed": seed, "cases": population["total_cases"]},
           at=at)
    session.flush()
    return DrawResult(sample.id, population, True)


# ----- the blind re-review ------------------------------------------------------------------------------------
def _item(session: Session, item_id: uuid.UUID | str) -> IrrItem:
    try:
        key = item_id if isinstance(item_id, uuid.UUID) else uuid.UUID(str(item_id))
    except ValueError:
        key = None
    item = session.get(IrrItem, key) if key else None
    if item is None:
        raise NotFound(f"No sampled case {item_id}; 'umws irr work-list --json' lists them.")
    return item


def _may_review(session: Session, actor: User, item: IrrItem) -> None:
    decider = session.scalar(select(User.username).where(User.id == item.reviewer_id))
    _refuse(irr_rules.may_re_review(actor.role, item.review_type, auditor=actor.username, decider=decider))


def _review(session: Session, item: IrrItem, actor: User, at: datetime, *, start: bool) -> IrrReview | None:
    review = session.scalar(select(IrrReview).where(IrrReview.item_id == item.id))
    if review is not None and review.auditor_id != actor.id:
        raise ActionRefused(f"{review.auditor_username} is re-reviewing TAR {item.tar}; each sampled case has one "
                            "auditor.", kind="state")
    if review is None and start:
        review = IrrReview(id=uuid.uuid5(NAMESPACE, f"review|{item.id}"), item_id=item.id, auditor_id=actor.id,
                           auditor_username=actor.username, started_at=at)
        session.add(review)
        session.flush()
    return review


def blind_view(session: Session, username: str, item_id: uuid.UUID | str) -> BlindCase:
    """The auditor's view of a sampled case: the case as it stood at decision time, the criteria set version the
    reviewer had applied, the auditor's own answers; never the original answers, outcome or decider."""
    actor = _actor(session, username)
    item = _item(session, item_id)
    _may_review(session, actor, item)
    _review(session, item, actor, utcnow(), start=False)
    view = blind_case(session, item)
    audit.record_view(session, actor=actor.username, actor_kind="user", what="irr-blind-case", case_id=item.case_id,
                      tar=item.tar)
    return view


def _set_criteria(session: Session, item: IrrItem) -> list[str]:
    """The criteria ids of the set version the reviewer had applied (none: judge the determination only)."""
    from app.store.criteria_library import library

    cset = library(session).get(item.set_id, item.set_version) if item.set_id else None
    return [c.id for c in cset.criteria()] if cset is not None else []


@intent("irr-answer", commutes=always, from_call=_about_no_case)
def record_answer(session: Session, username: str, *, item_id: uuid.UUID | str, criterion_id: str, answer: str,
                  note: str | None = None, at: datetime | None = None) -> BlindCase:
    """The auditor's answer to one criterion of a sampled case (a new row each time; the latest counts)."""
    actor = _actor(session, username)
    item = _item(session, item_id)
    _may_review(session, actor, item)
    if answer not in ANSWERS:
        raise InvalidInput(f"'{answer}' is not an answer; answers: {', '.join(ANSWERS)}.")
    at = _now(at)
    criteria = _set_criteria(session, item)
    if criterion_id not in criteria:
        raise InvalidInput(f"'{criterion_id}' is not a criterion of the set applied to TAR {item.tar}"
                           + (f"; criteria: {', '.join(criteria)}." if criteria else
                              ": no criteria set was applied by decision time (judge the determination only)."))
    review = _review(session, item, actor, at, start=True)
    if review.submitted_at is not None:
        raise ActionRefused(f"Your re-review of TAR {item.tar} is submitted; its answers no longer change.",
                            kind="state")
    seq = (session.scalar(select(func.max(IrrAnswer.seq)).where(IrrAnswer.review_id == review.id)) or 0) + 1
    session.add(IrrAnswer(review_id=review.id, criterion_id=criterion_id, answer=answer,
                          note=_text(note, "note"), answered_at=at, seq=seq))
    _audit(session, actor, "irr-answer", {"item_id": str(item.id), "criterion_id": criterion_id, "answer": answer},
           case_id=item.case_id, tar=item.tar, at=at)
    session.flush()
    return blind_case(session, item)


def _original(session: Session, item: IrrItem) -> tuple[str, dict[str, str]]:
    """The original determination and criterion answers as they stood at decision time (after submission only)."""
    event = session.get(CaseEvent, item.determination_event_id)
    outcome = (event.payload or {}).get("outcome") if event else None
    answers: dict[str, str] = {}
    if item.set_id is not None:
        case = session.get(Case, item.case_id)
        state = checklist(session, case, as_of=item.decided_at)
        if state.set is not None and state.set.key == (item.set_id, item.set_version):
            answers = state.answers
    return outcome, answers


@intent("irr-submit", commutes=always, from_call=_about_no_case)
def submit_review(session: Session, username: str, *, item_id: uuid.UUID | str, determination: str,
                  note: str | None = None, at: datetime | None = None) -> dict:
    """Submit the re-review with the auditor's determination; every criterion must be answered. The comparison with
    the original review is kept with it. Returns {'tar', 'agreed'}: whether the determinations agree."""
    actor = _actor(session, username)
    item = _item(session, item_id)
    _may_review(session, actor, item)
    if determination not in AUDIT_DETERMINATIONS:
        raise InvalidInput(f"determination is one of: {', '.join(AUDIT_DETERMINATIONS)} (not '{determination}')")
    at = _now(at)
    note = _text(note, "note")
    view = blind_case(session, item)
    if view.submitted:
        raise ActionRefused(f"The re-review of TAR {item.tar} is already submitted.", kind="state")
    missing = [cid for cid in view.answerable if cid not in view.my_answers]
    if missing:
        raise ActionRefused(f"Answer every criterion before submitting; not answered: {', '.join(missing)}.",
                            kind="state")
    review = _review(session, item, actor, at, start=True)
    outcome, original = _original(session, item)
    audit_answers = {cid: answer for cid, (answer, _) in view.my_answers.items()}
    review.comparison = {
        "determination": [outcome, determination],
        "criteria": {cid: [original.get(cid, "unknown"), audit_answers[cid]] for cid in view.answerable},
    }
    review.determination = determination
    review.note = note
    review.submitted_at = at
    _audit(session, actor, "irr-review-submitted", {"item_id": str(item.id), "determination": determination},
           case_id=item.case_id, tar=item.tar, at=at)
    session.flush()
    return {"tar": item.tar, "agreed": outcome == determination}


# ----- corrective action plans ----------------------------------------------------------------------------------
def _plan(session: Session, plan_id: uuid.UUID | str) -> CorrectivePlan:
    try:
        key = plan_id if isinstance(plan_id, uuid.UUID) else uuid.UUID(str(plan_id))
    except ValueError:
        key = None
    plan = session.get(CorrectivePlan, key) if key else None
    if plan is None:
        raise NotFound(f"No corrective action plan {plan_id}; 'umws irr cap list --json' lists them.")
    return plan


def _flow(plan: CorrectivePlan) -> CapFlow:
    return CapFlow(plan.state, len(plan.actions), sum(1 for a in plan.actions if a.get("done_at")))


def _step(session: Session, plan: CorrectivePlan, actor: User, kind: str, payload: dict, at: datetime,
          **facts) -> None:
    try:
        flow = _flow(plan).apply(kind, **facts)
    except IllegalCapStep as error:
        raise ActionRefused(str(error), kind="state") from error
    plan.state = flow.state
    plan.updated_at = at
    _plan_event(session, plan, actor, kind, payload, at)


def _plan_event(session: Session, plan: CorrectivePlan, actor: User, kind: str, payload: dict, at: datetime) -> None:
    session.add(CorrectivePlanEvent(plan_id=plan.id, occurred_at=at, actor=actor.username, kind=kind,
                                    payload=payload))
    _audit(session, actor, kind, {"plan_id": str(plan.id), "reviewer": plan.reviewer_username, **payload}, at=at)


def _program_lead(session: Session, username: str, what: str) -> User:
    actor = _actor(session, username)
    _refuse(irr_rules.may_run_program(actor.role, what))
    return actor


def _due(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date; write it as YYYY-MM-DD") from None


def _actions(actions: Sequence[str]) -> list[str]:
    cleaned = [_text(a, "action") for a in actions]
    cleaned = [a for a in cleaned if a]
    if not cleaned:
        raise InvalidInput("give at least one action (e.g. 'Criteria refresher with the medical director')")
    return cleaned


@intent("irr-open-plan", commutes=always, from_call=_about_no_case)
def open_plan(session: Session, username: str, *, plan_id: uuid.UUID, year: int, reviewer: str, owner: str,
              actions: Sequence[str], due_date: date, at: datetime | None = None) -> CorrectivePlan:
    """Open a corrective action plan for a reviewer whose audit for the year is complete and below the target."""
    actor = _program_lead(session, username, "open a corrective action plan")
    year = _year(year)
    subject = user_by_name(session, reviewer)
    lead = _actor(session, owner)
    if lead.role not in irr_rules.PROGRAM_LEAD_ROLES:
        raise InvalidInput(f"{owner} cannot own a plan: the owner is a nurse supervisor or a medical director")
    items = _actions(actions)
    due = _due(due_date)
    at = _now(at)
    if due < to_plan(at).date():
        raise InvalidInput(f"the due date {due.isoformat()} has passed; give a date from today on")
    if session.get(CorrectivePlan, plan_id) is not None:
        raise ActionRefused(f"Plan {plan_id} exists already.", kind="state")
    row = next((r for r in irr_report(session, year)["reviewers"] if r["username"] == reviewer), None)
    if row is None or not row["audit_complete"]:
        raise ActionRefused(f"{reviewer}'s {year} audit is not complete: a plan follows a complete audit below the "
                            f"{TARGET_PERCENT:g}% target.", kind="state")
    if not row["below_target"]:
        raise ActionRefused(f"{reviewer}'s {year} agreement is {row['determination_agreement']['percent_agreement']}%"
                            f", at or above the {TARGET_PERCENT:g}% target: no plan is needed.", kind="state")
    if session.scalar(select(CorrectivePlan.id).where(CorrectivePlan.year == year,
                                                      CorrectivePlan.reviewer_id == subject.id,
                                                      CorrectivePlan.state != "closed")) is not None:
        raise ActionRefused(f"{reviewer} already has an open {year} plan.", kind="state")
    try:
        flow = irr_rules.opened(len(items))
    except IllegalCapStep as error:
        raise InvalidInput(str(error)) from error
    percent_at_open = row["determination_agreement"]["percent_agreement"]
    plan = CorrectivePlan(id=plan_id, year=year, reviewer_id=subject.id, reviewer_username=subject.username,
                          state=flow.state, owner_username=lead.username,
                          actions=[{"text": a, "done_at": None, "done_by": None, "note": None} for a in items],
                          due_date=due, agreement_at_open=percent_at_open, opened_at=at, opened_by=actor.username,
                          updated_at=at)
    session.add(plan)
    session.flush()
    _plan_event(session, plan, actor, "cap-opened", {"year": year, "owner": lead.username, "actions": items,
                                                     "due_date": due.isoformat(), "agreement": percent_at_open}, at)
    session.flush()
    return plan


@intent("irr-plan-action-added", commutes=always, from_call=_about_no_case)
def add_action(session: Session, username: str, *, plan_id: uuid.UUID | str, action: str,
               at: datetime | None = None) -> CorrectivePlan:
    actor = _program_lead(session, username, "change a corrective action plan")
    plan = _plan(session, plan_id)
    text = _actions([action])[0]
    at = _now(at)
    _step(session, plan, actor, "cap-action-added", {"action": text}, at)
    plan.actions = [*plan.actions, {"text": text, "done_at": None, "done_by": None, "note": None}]
    session.flush()
    return plan


@intent("irr-plan-action-done", commutes=always, from_call=_about_no_case)
def complete_action(session: Session, username: str, *, plan_id: uuid.UUID | str, number: int,
                    note: str | None = None, at: datetime | None = None) -> CorrectivePlan:
    """Record action `number` (1, 2, ...) of the plan as done, with a note saying how."""
    actor = _program_lead(session, username, "record a corrective action as done")
    plan = _plan(session, plan_id)
    if not isinstance(number, int) or not 1 <= number <= len(plan.actions):
        raise InvalidInput(f"the plan has actions 1 to {len(plan.actions)}, not {number}")
    if plan.actions[number - 1].get("done_at"):
        raise ActionRefused(f"Action {number} is already done.", kind="state")
    note = _text(note, "a note saying how the action was done", required=True)
    at = _now(at)
    _step(session, plan, actor, "cap-action-done", {"number": number, "note": note}, at)
    actions = [dict(a) for a in plan.actions]
    actions[number - 1].update(done_at=iso_utc(at), done_by=actor.username, note=note)
    plan.actions = actions
    session.flush()
    return plan


@intent("irr-plan-due-changed", commutes=always, from_call=_about_no_case)
def change_due_date(session: Session, username: str, *, plan_id: uuid.UUID | str, due_date: date, reason: str,
                    at: datetime | None = None) -> CorrectivePlan:
    actor = _program_lead(session, username, "change a corrective action plan")
    plan = _plan(session, plan_id)
    due = _due(due_date)
    reason = _text(reason, "the reason for the new due date", required=True)
    at = _now(at)
    _step(session, plan, actor, "cap-due-changed", {"from": plan.due_date.isoformat(), "to": due.isoformat(),
                                                    "reason": reason}, at)
    plan.due_date = due
    session.flush()
    return plan


def _re_audit_sample(session: Session, plan: CorrectivePlan) -> IrrSample | None:
    return session.scalar(select(IrrSample).where(IrrSample.cap_id == plan.id, IrrSample.purpose == "re-audit")
                          .order_by(IrrSample.drawn_at.desc()).limit(1))


@intent("irr-plan-re-audit-drawn", commutes=always, from_call=_about_no_case)
def draw_re_audit(session: Session, username: str, *, plan_id: uuid.UUID | str, seed: int,
                  size: int = RE_AUDIT_DEFAULT, at: datetime | None = None) -> DrawResult:
    """Draw the re-audit: `size` of the reviewer's decisions made since the plan opened, at random with `seed`,
    for blind re-review like the year's sample."""
    import random

    actor = _program_lead(session, username, "draw a re-audit")
    plan = _plan(session, plan_id)
    if not isinstance(size, int) or not 1 <= size <= MAX_PER_REVIEWER:
        raise InvalidInput(f"a re-audit reviews 1 to {MAX_PER_REVIEWER} cases, not {size}")
    at = _now(at)
    refusal = _flow(plan).refusal("cap-re-audit-drawn")
    if refusal:
        raise ActionRefused(refusal, kind="state")
    sample_id = _sample_id(plan.year, seed, "re-audit", plan.id)
    if session.get(IrrSample, sample_id) is not None:
        raise ActionRefused("This re-audit was drawn already; draw with another seed for a new one.", kind="state")
    since = plan.opened_at
    decided = [d for d in decided_cases(session, since, at, {plan.reviewer_id})]
    if not decided:
        raise ActionRefused(f"{plan.reviewer_username} has decided no case on its merits since the plan opened on "
                            f"{to_plan(plan.opened_at):%m/%d/%Y}: there is nothing to re-audit yet.", kind="state")
    pool = sorted(decided, key=lambda d: (d.candidate.tar, d.candidate.determination_id))
    chosen = random.Random(f"{seed}|{plan.id}|re-audit").sample(pool, min(size, len(pool)))
    population = {"plan_id": str(plan.id), "reviewer": plan.reviewer_username, "seed": seed,
                  "decided_since_opened": len(pool), "sample_size": len(chosen),
                  "cases": sorted(d.candidate.tar for d in chosen)}
    sample = IrrSample(id=sample_id, year=plan.year, seed=seed, purpose="re-audit", cap_id=plan.id, drawn_at=at,
                       drawn_by=actor.username, population=population)
    session.add(sample)
    session.flush()
    _record_items(session, sample, {d.candidate.determination_id: d for d in chosen})
    _step(session, plan, actor, "cap-re-audit-drawn", {"sample_id": str(sample.id), "cases": len(chosen),
                                                       "seed": seed}, at)
    session.flush()
    return DrawResult(sample.id, population, True)


@intent("irr-plan-re-audit-recorded", commutes=always, from_call=_about_no_case)
def record_re_audit(session: Session, username: str, *, plan_id: uuid.UUID | str,
                    at: datetime | None = None) -> CorrectivePlan:
    """Record the re-audit's result once every case of it is re-reviewed: its agreement, computed, never typed."""
    actor = _program_lead(session, username, "record a re-audit")
    plan = _plan(session, plan_id)
    at = _now(at)
    sample = _re_audit_sample(session, plan)
    if sample is None:
        raise ActionRefused("Draw the re-audit first (its cases are re-reviewed blind).", kind="state")
    sampled, reviewed, result = sample_agreement(session, sample.id)
    if reviewed < sampled:
        raise ActionRefused(f"The re-audit has {sampled - reviewed} of {sampled} cases still to re-review.",
                            kind="state")
    passed = result.percent is not None and result.percent >= TARGET_PERCENT
    _step(session, plan, actor, "cap-re-audit-recorded", {"sample_id": str(sample.id), "cases": sampled,
                                                          "percent_agreement": result.percent, "passed": passed},
          at, passed=passed)
    plan.re_audit_percent = result.percent
    session.flush()
    return plan


@intent("irr-plan-closed", commutes=always, from_call=_about_no_case)
def close_plan(session: Session, username: str, *, plan_id: uuid.UUID | str, note: str,
               at: datetime | None = None) -> CorrectivePlan:
    actor = _program_lead(session, username, "close a corrective action plan")
    plan = _plan(session, plan_id)
    note = _text(note, "a closing note", required=True)
    at = _now(at)
    _step(session, plan, actor, "cap-closed", {"note": note, "re_audit_percent": plan.re_audit_percent}, at)
    plan.closed_at = at
    session.flush()
    return plan


def plan_events(session: Session, plan_id: uuid.UUID | str) -> list[dict]:
    plan = _plan(session, plan_id)
    return [{"kind": e.kind, "at": iso_utc(e.occurred_at), "actor": e.actor, "payload": e.payload}
            for e in session.scalars(select(CorrectivePlanEvent).where(CorrectivePlanEvent.plan_id == plan.id)
                                     .order_by(CorrectivePlanEvent.occurred_at))]


# ----- reading --------------------------------------------------------------------------------------------------
def report(session: Session, username: str, year: int) -> dict:
    """The year's results for the program's leads and the auditors."""
    actor = _actor(session, username)
    _refuse(irr_rules.may_read_reports(actor.role))
    return irr_report(session, _year(year))
