"""Reading the inter-rater reliability program (issue 14): the year's candidates, the auditor's blind view of a
sampled case, and the results (agreement per reviewer, per criteria set and overall; corrective action plans).

The blind view (`blind_case`) is built from the case as it stood at the sampled determination: the request, the
notes written by then, the facts recorded by then and the criteria set version the reviewer had applied by then
(app.store.criteria_answers, `as_of`). It carries no answer of the original review (the reviewer's or the
machine's), no evidence note, no outcome and no decider: `BlindCase` has no field that could hold them.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import Session

from app.domain.agreement import Agreement, agreement, contingency, percent
from app.domain.criteria.model import ANSWER_LABELS
from app.domain.irr_rules import AUDIT_DETERMINATIONS, CAP_STATES, below_target, is_overdue
from app.domain.irr_sampling import MERIT_OUTCOMES, REVIEW_TYPES, TARGET_PERCENT, Candidate
from app.domain.plantime import PLAN_TZ, to_plan
from app.domain.reviewer_figures import reviewer_row
from app.store.criteria_answers import criteria_events, current_choice, recorded_facts, set_for_event
from app.store.criteria_library import library
from app.store.models import (
    Case, CaseEvent, ClinicalNote, CorrectivePlan, Diagnosis, IrrAnswer, IrrItem, IrrReview, IrrSample, Member,
    RequestLine, User,
)

DETERMINED = text("case_events.kind = 'determined'")  # a literal, so SQLite uses the partial index (migration 0012)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The plan-local calendar year as UTC instants [start, end)."""
    start = datetime.combine(date(year, 1, 1), time(0), tzinfo=PLAN_TZ).astimezone(timezone.utc)
    end = datetime.combine(date(year + 1, 1, 1), time(0), tzinfo=PLAN_TZ).astimezone(timezone.utc)
    return start, end


@dataclass(frozen=True)
class Decided:
    """A reviewer's latest determination on the merits of a case within a period."""

    candidate: Candidate
    event_id: uuid.UUID
    case_id: uuid.UUID
    reviewer_id: uuid.UUID
    decided_at: datetime
    in_time: bool


def decided_cases(session: Session, start: datetime, end: datetime,
                  reviewer_ids: set[uuid.UUID] | None = None) -> list[Decided]:
    """Every reviewer's case load between `start` and `end`: per reviewer and case, their latest determination on
    the merits (approved, approved in part, denied), with whether it came by the case's decision due."""
    outcome = CaseEvent.payload["outcome"].as_string()
    query = (
        select(CaseEvent.id, CaseEvent.case_id, CaseEvent.actor_id, CaseEvent.occurred_at, User.username, User.role,
               Case.tar, Case.service_category, Case.decision_due_at)
        .join(User, User.id == CaseEvent.actor_id)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(DETERMINED, CaseEvent.occurred_at >= start, CaseEvent.occurred_at < end,
               outcome.in_(MERIT_OUTCOMES))
    )
    if reviewer_ids is not None:
        query = query.where(CaseEvent.actor_id.in_(reviewer_ids))
    latest: dict[tuple[uuid.UUID, uuid.UUID], Any] = {}
    for row in session.execute(query):
        key = (row.actor_id, row.case_id)
        if key not in latest or (row.occurred_at, str(row.id)) > (latest[key].occurred_at, str(latest[key].id)):
            latest[key] = row
    out = []
    for row in latest.values():
        candidate = Candidate(row.username, row.role, row.tar, row.service_category, str(row.id))
        if candidate.review_type is None:
            continue
        in_time = row.decision_due_at is None or row.occurred_at <= row.decision_due_at
        out.append(Decided(candidate, row.id, row.case_id, row.actor_id, row.occurred_at, in_time))
    return out


# ----- the blind view ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlindCriterion:
    id: str
    text: str
    guidance: str | None
    depth: int
    is_group: bool
    combine: str | None  # for a group: "All of these", "Any one of these", "At least 2 of these 3"


@dataclass(frozen=True)
class BlindCase:
    """What an auditor sees of a sampled case: the request and the criteria, never the original review."""

    item_id: str
    tar: str
    review_type: str  # label
    as_of: str  # plan-local date the case is shown as of (the decision's day)
    line_of_business: str
    service_category: str
    review_timing: str
    urgency: str
    received_at: str
    member_age: int | None
    member_sex: str | None
    place_of_service: str | None
    requested_los_days: int | None
    proposed_date: str | None
    lines: tuple[tuple[str, str, int, str | None, str | None], ...]
    diagnoses: tuple[tuple[str, str], ...]
    notes: tuple[tuple[str, str, str], ...]  # (written at, author, text)
    facts: tuple[tuple[str, str], ...]  # (fact, value) recorded by decision time
    criteria_set: dict | None  # {set_id, version, title, citation}; None: no set was applied by decision time
    criteria: tuple[BlindCriterion, ...]
    my_answers: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # this auditor's own answers
    my_determination: str | None = None
    my_note: str | None = None
    submitted: bool = False

    @property
    def answerable(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria if not c.is_group)


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def applied_set_at(session: Session, case_id: uuid.UUID, instant: datetime):
    """The criteria set version applied to a case by `instant` (None: none, or "no criteria apply")."""
    choice = current_choice(criteria_events(session, case_id, instant))
    if choice is None or choice.kind != "criteria-set-chosen":
        return None
    return set_for_event(session, choice.payload)


def _fact_text(value: Any) -> str:
    from app.store.criteria_answers import _fact_value

    return _fact_value(value)


def blind_case(session: Session, item: IrrItem) -> BlindCase:
    from app.domain.criteria.evaluate import walk
    from app.domain.criteria.facts import FACT_NAMES
    from app.domain.criteria.model import Criterion

    case = session.get(Case, item.case_id)
    member = session.get(Member, case.member_id)
    as_of = item.decided_at
    events = criteria_events(session, case.id, as_of)
    facts = recorded_facts(events)
    cset = None
    if item.set_id is not None:
        cset = library(session).get(item.set_id, item.set_version)
        if cset is not None and item.set_sha256 not in (None, cset.sha256):
            cset = None
    criteria: list[BlindCriterion] = []
    set_json = None
    if cset is not None:
        set_json = {"set_id": cset.id, "version": cset.version, "title": cset.title,
                    "citation": cset.source.citation}
        for depth, node in walk(cset):
            if isinstance(node, Criterion):
                criteria.append(BlindCriterion(node.id, node.text, node.guidance, depth, False, None))
            elif node.id != cset.root.id:
                criteria.append(BlindCriterion(node.id, node.text, node.guidance, depth, True, node.describe()))
    lines = tuple(
        (code, description, units, start.isoformat() if start else None, end.isoformat() if end else None)
        for code, description, units, start, end in session.execute(
            select(RequestLine.code, RequestLine.description, RequestLine.units, RequestLine.from_date,
                   RequestLine.to_date).where(RequestLine.case_id == case.id).order_by(RequestLine.line_number)))
    diagnoses = tuple((code, text_) for code, text_ in session.execute(
        select(Diagnosis.code, Diagnosis.description).where(Diagnosis.case_id == case.id).order_by(Diagnosis.rank)))
    notes = tuple((to_plan(written).strftime("%m/%d/%Y %I:%M %p"), author, body) for written, author, body in
                  session.execute(select(ClinicalNote.written_at, ClinicalNote.author, ClinicalNote.text)
                                  .where(ClinicalNote.case_id == case.id, ClinicalNote.written_at <= as_of)
                                  .order_by(ClinicalNote.written_at)))
    review = session.scalar(select(IrrReview).where(IrrReview.item_id == item.id))
    mine: dict[str, tuple[str, str | None]] = {}
    if review is not None:
        for answer in session.scalars(select(IrrAnswer).where(IrrAnswer.review_id == review.id)
                                      .order_by(IrrAnswer.seq)):
            mine[answer.criterion_id] = (answer.answer, answer.note)
    return BlindCase(
        item_id=str(item.id), tar=case.tar, review_type=REVIEW_TYPES.get(item.review_type, item.review_type),
        as_of=to_plan(as_of).date().isoformat(), line_of_business=case.line_of_business,
        service_category=case.service_category, review_timing=case.review_timing, urgency=case.urgency,
        received_at=to_plan(case.received_at).strftime("%m/%d/%Y %I:%M %p"),
        member_age=_age(member.birth_date if member else None, to_plan(case.received_at).date()),
        member_sex=member.sex if member else None, place_of_service=case.place_of_service,
        requested_los_days=case.requested_los_days,
        proposed_date=case.proposed_date.isoformat() if case.proposed_date else None,
        lines=lines, diagnoses=diagnoses, notes=notes,
        facts=tuple((FACT_NAMES.get(name, name), _fact_text(value)) for name, value in sorted(facts.items())),
        criteria_set=set_json, criteria=tuple(criteria), my_answers=mine,
        my_determination=review.determination if review else None, my_note=review.note if review else None,
        submitted=bool(review and review.submitted_at),
    )


# ----- the work list of an auditor --------------------------------------------------------------------------------
def items_of(session: Session, sample_id: uuid.UUID) -> list[IrrItem]:
    return list(session.scalars(select(IrrItem).where(IrrItem.sample_id == sample_id)
                                .order_by(IrrItem.reviewer_username, IrrItem.tar)))


def annual_sample(session: Session, year: int) -> IrrSample | None:
    return session.scalar(select(IrrSample).where(IrrSample.year == year, IrrSample.purpose == "annual"))


def work_list(session: Session, year: int | None = None) -> list[dict]:
    """Every sampled decision with its review state (for the auditors' screen): no outcome, no answers."""
    query = (select(IrrItem, IrrSample.year, IrrSample.purpose, IrrReview.auditor_username, IrrReview.submitted_at)
             .join(IrrSample, IrrSample.id == IrrItem.sample_id)
             .outerjoin(IrrReview, IrrReview.item_id == IrrItem.id)
             .order_by(IrrSample.year.desc(), IrrItem.tar))
    if year is not None:
        query = query.where(IrrSample.year == year)
    rows = []
    for item, item_year, purpose, auditor, submitted in session.execute(query):
        rows.append({"item_id": str(item.id), "tar": item.tar, "year": item_year, "purpose": purpose,
                     "review_type": item.review_type, "review_type_label": REVIEW_TYPES.get(item.review_type),
                     "criteria_set": f"{item.set_id} {item.set_version}" if item.set_id else None,
                     "state": "submitted" if submitted else "in-progress" if auditor else "to-review",
                     "auditor": auditor, "decider_id": str(item.reviewer_id)})
    return rows


# ----- results --------------------------------------------------------------------------------------------------
@dataclass
class _Pairs:
    determination: list[tuple[str, str]] = field(default_factory=list)
    criteria: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Reviewed:
    reviewer_username: str
    review_type: str
    set_id: str | None
    set_version: str | None
    comparison: dict | None  # None: not re-reviewed (submitted) yet


def _reviews(session: Session, sample_ids: list[uuid.UUID]) -> list[_Reviewed]:
    """Each sampled decision of the samples with its submitted review's comparison (plain columns, no ids: the
    report reads a year's sample in one pass)."""
    if not sample_ids:
        return []
    rows = session.execute(
        select(IrrItem.reviewer_username, IrrItem.review_type, IrrItem.set_id, IrrItem.set_version,
               IrrReview.comparison)
        .outerjoin(IrrReview, and_(IrrReview.item_id == IrrItem.id, IrrReview.submitted_at.is_not(None)))
        .where(IrrItem.sample_id.in_(sample_ids)).order_by(IrrItem.reviewer_username, IrrItem.tar))
    return [_Reviewed(*row) for row in rows]


def _criteria_pairs(comparison: dict) -> list[tuple[str, str, str]]:
    """(criterion id, original answer, audit answer) of a submitted review's comparison."""
    return [(cid, pair[0], pair[1]) for cid, pair in sorted(comparison.get("criteria", {}).items())]


def sample_agreement(session: Session, sample_id: uuid.UUID) -> tuple[int, int, Agreement]:
    """(sampled, reviewed, determination agreement) of one sample (a re-audit's result)."""
    rows = _reviews(session, [sample_id])
    pairs = [tuple(row.comparison["determination"]) for row in rows if row.comparison is not None]
    return len(rows), len(pairs), agreement(pairs)


def plans_json(session: Session, year: int | None = None, *, today: date | None = None,
               open_only: bool = False) -> list[dict]:
    today = today or to_plan(datetime.now(timezone.utc)).date()
    query = select(CorrectivePlan).order_by(CorrectivePlan.due_date, CorrectivePlan.reviewer_username)
    if year is not None:
        query = query.where(CorrectivePlan.year == year)
    if open_only:
        query = query.where(CorrectivePlan.state != "closed")
    out = []
    for plan in session.scalars(query):
        done = sum(1 for a in plan.actions if a.get("done_at"))
        out.append({
            "plan_id": str(plan.id), "year": plan.year, "reviewer": plan.reviewer_username, "state": plan.state,
            "state_label": CAP_STATES[plan.state], "owner": plan.owner_username,
            "due_date": plan.due_date.isoformat(), "overdue": is_overdue(plan.state, plan.due_date, today),
            "actions": [dict(a) for a in plan.actions], "actions_done": done, "actions_total": len(plan.actions),
            "agreement_at_open": plan.agreement_at_open, "re_audit_percent": plan.re_audit_percent,
            "opened_at": to_plan(plan.opened_at).date().isoformat(), "opened_by": plan.opened_by,
            "closed_at": to_plan(plan.closed_at).date().isoformat() if plan.closed_at else None,
        })
    return out


def irr_report(session: Session, year: int, *, today: date | None = None, case_loads: bool = True) -> dict:
    """The year's inter-rater reliability results: per reviewer (agreement and timeliness only), per criteria set,
    overall, and the corrective action plans. `case_loads=False` leaves out each reviewer's decided cases and
    decisions in time (read from the year's determinations; the committee's section needs neither)."""
    sample = annual_sample(session, year)
    report: dict = {"year": year, "target_percent": TARGET_PERCENT, "sample_drawn": sample is not None,
                    "seed": sample.seed if sample else None}
    rows = _reviews(session, [sample.id]) if sample else []
    plans = plans_json(session, year, today=today)
    latest_plan = {}
    for plan in plans:
        if plan["reviewer"] not in latest_plan or plan["opened_at"] >= latest_plan[plan["reviewer"]]["opened_at"]:
            latest_plan[plan["reviewer"]] = plan
    by_reviewer: dict[str, _Pairs] = defaultdict(_Pairs)
    sampled: dict[str, int] = defaultdict(int)
    types: dict[str, set[str]] = defaultdict(set)
    reviewer_ids: dict[str, uuid.UUID] = {}
    by_set: dict[tuple[str, str], dict] = {}
    overall = _Pairs()
    criterion_pairs: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    type_pairs: dict[str, _Pairs] = defaultdict(_Pairs)
    type_sampled: dict[str, int] = defaultdict(int)
    type_below: dict[str, set[str]] = defaultdict(set)
    for item in rows:
        name = item.reviewer_username
        sampled[name] += 1
        type_sampled[item.review_type] += 1
        types[name].add(item.review_type)
        if item.comparison is None:
            continue
        comparison = item.comparison
        determination = tuple(comparison["determination"])
        type_pairs[item.review_type].determination.append(determination)
        by_reviewer[name].determination.append(determination)
        overall.determination.append(determination)
        criteria = _criteria_pairs(comparison)
        for cid, original, audit in criteria:
            type_pairs[item.review_type].criteria.append((original, audit))
            by_reviewer[name].criteria.append((original, audit))
            overall.criteria.append((original, audit))
        if item.set_id:
            key = (item.set_id, item.set_version)
            entry = by_set.setdefault(key, {"pairs": _Pairs(), "items": 0})
            entry["items"] += 1
            entry["pairs"].determination.append(determination)
            for cid, original, audit in criteria:
                entry["pairs"].criteria.append((original, audit))
                criterion_pairs[(item.set_id, item.set_version, cid)].append((original, audit))
    start, end = year_bounds(year)
    if sampled and case_loads:
        reviewer_ids = dict(session.execute(select(User.username, User.id)
                                            .where(User.username.in_(list(sampled)))).all())
    load = decided_cases(session, start, end, set(reviewer_ids.values())) if reviewer_ids and case_loads else []
    decided: dict[str, int] = defaultdict(int)
    in_time: dict[str, int] = defaultdict(int)
    for d in load:
        decided[d.candidate.reviewer] += 1
        in_time[d.candidate.reviewer] += d.in_time
    full_names = dict(session.execute(select(User.username, User.full_name)
                                      .where(User.username.in_(list(sampled)))).all()) if sampled else {}
    roles = dict(session.execute(select(User.username, User.role)
                                 .where(User.username.in_(list(sampled)))).all()) if sampled else {}
    reviewers = []
    for name in sorted(sampled):
        pairs = by_reviewer.get(name, _Pairs())
        determination = agreement(pairs.determination)
        complete = len(pairs.determination) == sampled[name]
        plan = latest_plan.get(name)
        reviewers.append(reviewer_row(
            username=name, full_name=full_names.get(name, name), role=roles.get(name),
            review_types=sorted(types[name], key=list(REVIEW_TYPES).index),
            decided=decided.get(name, 0) if case_loads else None, sample_size=sampled[name],
            reviewed=len(pairs.determination),
            audit_complete=complete,
            determination_agreement=determination.to_json(), criteria_agreement=agreement(pairs.criteria).to_json(),
            below_target=complete and below_target(determination.percent, TARGET_PERCENT),
            target_percent=TARGET_PERCENT,
            corrective_action_plan=None if plan is None else {
                "plan_id": plan["plan_id"], "state": plan["state"], "due_date": plan["due_date"],
                "overdue": plan["overdue"]},
            decisions_in_time=in_time.get(name, 0) if case_loads else None,
            percent_in_time=percent(in_time.get(name, 0), decided.get(name, 0)) if case_loads else None,
        ))
    for row in reviewers:
        if row["below_target"]:
            for review in row["review_types"]:
                type_below[review].add(row["username"])
    review_types = [{"review_type": t, "label": REVIEW_TYPES[t], "sampled": type_sampled[t],
                     "reviewed": len(type_pairs[t].determination),
                     "determination_agreement": agreement(type_pairs[t].determination).to_json(),
                     "criteria_agreement": agreement(type_pairs[t].criteria).to_json(),
                     "below_target": len(type_below[t])} for t in REVIEW_TYPES if type_sampled.get(t)]
    lib = library(session)
    sets = []
    for (set_id, version), entry in sorted(by_set.items()):
        cset = lib.get(set_id, version)
        criteria_rows = []
        for node in (cset.criteria() if cset else []):
            pairs = criterion_pairs.get((set_id, version, node.id), [])
            criteria_rows.append({"criterion_id": node.id, "text": node.text, **agreement(pairs).to_json()})
        sets.append({"set_id": set_id, "version": version, "title": cset.title if cset else set_id,
                     "reviewed": entry["items"],
                     "determination_agreement": agreement(entry["pairs"].determination).to_json(),
                     "criteria_agreement": agreement(entry["pairs"].criteria).to_json(),
                     "criteria": criteria_rows})
    categories = list(AUDIT_DETERMINATIONS)
    order, table = contingency(overall.determination, categories) if overall.determination else (categories, [])
    report.update({
        "reviewers": reviewers,
        "review_types": review_types,
        "criteria_sets": sets,
        "overall": {
            "sampled": sum(sampled.values()), "reviewed": len(overall.determination),
            "determination_agreement": agreement(overall.determination).to_json(),
            "criteria_agreement": agreement(overall.criteria).to_json(),
            "criterion_answers": list(ANSWER_LABELS),
            "determination_table": {"categories": order, "rows_original_columns_audit": table},
            "reviewers_below_target": sum(1 for r in reviewers if r["below_target"]),
        },
        "corrective_action_plans": plans,
    })
    return report
