"""Reading a case's criteria work back from its events: the facts machine rules see, and the checklist state.

Event kinds (written by app.services.criteria, never updated):
* `criteria-set-chosen`  {set_id, version, sha256, title, source_kind, citation, origin, basis, score, seq}
* `criterion-answered`   {set_id, version, sha256, criterion_id, answer, source: machine | reviewer, evidence,
                          override_reason, machine_answer, explanation, facts_used, seq}
* `no-criteria-apply`    {note, proposed: [set ids proposed at the time], seq}
* `fact-recorded`        {name, value, note, source, seq}

The current set is the one named by the latest `criteria-set-chosen` or `no-criteria-apply` event. For each
criterion of that set version, the answer used is the latest reviewer answer if there is one, else the latest
machine answer, else unknown. Events sort by instant, then by `seq` (the case version the event made), so two
events written in the same microsecond still keep their order.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.criteria import CaseFacts, CriteriaSet, LineFacts, Match, MatchRequest, OverallResult, no_criteria_result
from app.domain.criteria.evaluate import node_answers, overall, walk
from app.domain.criteria.model import Criterion, Node, describe_rule
from app.domain.plantime import iso_plan, to_plan
from app.store.criteria_library import Library, library as load_library
from app.store.models import Case, CaseEvent, Diagnosis, Member, RequestLine, User

CRITERIA_KINDS = ("criteria-set-chosen", "criterion-answered", "no-criteria-apply", "fact-recorded")


def _order(event: CaseEvent) -> tuple:
    return (event.occurred_at, (event.payload or {}).get("seq", 0))


def criteria_events(session: Session, case_id: uuid.UUID, as_of: datetime | None = None) -> list[CaseEvent]:
    """The case's criteria events in order; with `as_of`, only those that had happened by then (issue 14: the case
    as it stood at a determination)."""
    query = select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind.in_(CRITERIA_KINDS))
    if as_of is not None:
        query = query.where(CaseEvent.occurred_at <= as_of)
    return sorted(session.scalars(query).all(), key=_order)


def recorded_facts(events: list[CaseEvent]) -> dict[str, Any]:
    """The latest recorded value of each fact name (events in order)."""
    facts: dict[str, Any] = {}
    for event in events:
        if event.kind == "fact-recorded":
            facts[event.payload["name"]] = event.payload["value"]
    return facts


def case_facts(session: Session, case: Case, events: list[CaseEvent] | None = None) -> CaseFacts:
    """What machine rules see about the case: the request as received plus the recorded facts."""
    if events is None:
        events = criteria_events(session, case.id)
    member = session.get(Member, case.member_id)
    lines = session.execute(select(RequestLine.code, RequestLine.units, RequestLine.from_date, RequestLine.to_date)
                            .where(RequestLine.case_id == case.id).order_by(RequestLine.line_number)).all()
    diagnoses = session.scalars(select(Diagnosis.code).where(Diagnosis.case_id == case.id)
                                .order_by(Diagnosis.rank)).all()
    return CaseFacts(
        received_on=to_plan(case.received_at).date(),
        line_of_business=case.line_of_business, service_category=case.service_category,
        review_timing=case.review_timing,
        birth_date=member.birth_date if member else None, sex=member.sex if member else None,
        diagnoses=tuple(diagnoses), place_of_service=case.place_of_service,
        lines=tuple(LineFacts(code, units, start, end) for code, units, start, end in lines),
        requested_los_days=case.requested_los_days, proposed_date=case.proposed_date,
        recorded=recorded_facts(events),
    )


@dataclass(frozen=True)
class Answer:
    """One recorded answer to a criterion (a `criterion-answered` event)."""

    answer: str
    source: str  # machine | reviewer
    at: datetime
    by: str | None  # username; None for the machine
    evidence: str | None = None
    override_reason: str | None = None
    machine_answer: str | None = None  # for a reviewer's answer: the machine's answer it was given against
    explanation: str | None = None  # for a machine answer
    facts_used: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"answer": self.answer, "source": self.source, "at": iso_plan(self.at), "by": self.by,
                "evidence": self.evidence, "override_reason": self.override_reason,
                "machine_answer": self.machine_answer, "explanation": self.explanation,
                "facts_used": self.facts_used}


@dataclass(frozen=True)
class ChecklistRow:
    node: Node
    depth: int
    answer: str  # the answer used: reviewer's, else machine's, else unknown; for a group, combined
    machine: Answer | None = None  # latest machine answer (criteria with a rule)
    reviewer: Answer | None = None  # latest reviewer answer
    history: tuple[Answer, ...] = ()  # every answer to this criterion, oldest first

    @property
    def is_group(self) -> bool:
        return self.node.is_group

    @property
    def machine_changed_since_review(self) -> bool:
        """The machine's answer moved after the reviewer answered (e.g. a fact recorded later): worth a look."""
        return (self.reviewer is not None and self.machine is not None and self.machine.at > self.reviewer.at
                and self.machine.answer != self.reviewer.machine_answer)

    def to_json(self) -> dict:
        node = self.node
        out = {"id": node.id, "kind": "group" if node.is_group else "criterion", "depth": self.depth,
               "path": node.path, "text": node.text, "member_text": node.member_text, "answer": self.answer,
               "guidance": node.guidance}
        if node.is_group:
            out |= {"combine": node.combine, "n": node.n, "describe": node.describe()}
        else:
            out |= {"rule": describe_rule(node.rule) if node.rule else None,
                    "rule_kind": node.rule.kind if node.rule else None,
                    "machine": self.machine.to_json() if self.machine else None,
                    "reviewer": self.reviewer.to_json() if self.reviewer else None,
                    "machine_changed_since_review": self.machine_changed_since_review,
                    "answers": len(self.history)}
        return out


@dataclass(frozen=True)
class Checklist:
    """A case's criteria state: the set applied (exact version), every row with its answers, and the result."""

    tar: str
    set: CriteriaSet | None
    chosen_at: datetime | None
    chosen_by: str | None
    basis: str | None  # how the set was chosen: exact-code, code-range, category, reviewer-choice
    no_criteria: dict | None  # {note, at, by} when the latest choice was "no criteria apply"
    rows: tuple[ChecklistRow, ...]
    result: OverallResult | None  # None: nothing chosen yet
    facts: CaseFacts
    missing_evidence: tuple[str, ...] = ()  # criteria a reviewer answered met / not-met without an evidence note

    def row(self, node_id: str) -> ChecklistRow | None:
        return next((row for row in self.rows if row.node.id == node_id), None)

    @property
    def answers(self) -> dict[str, str]:
        return {row.node.id: row.answer for row in self.rows if not row.is_group}

    def to_json(self) -> dict:
        cset = self.set
        return {
            "tar": self.tar,
            "set": None if cset is None else {
                "set_id": cset.id, "version": cset.version, "sha256": cset.sha256, "title": cset.title,
                "member_title": cset.member_title, "source_kind": cset.source.kind,
                "citation": cset.source.citation, "effective_from": cset.effective_from.isoformat(),
                "effective_to": cset.effective_to.isoformat() if cset.effective_to else None,
                "adult_only": cset.adult_only, "sample_content": cset.sample_content,
                "combine": cset.root.combine, "n": cset.root.n},
            "chosen_at": iso_plan(self.chosen_at), "chosen_by": self.chosen_by, "basis": self.basis,
            "no_criteria": self.no_criteria,
            "rows": [row.to_json() for row in self.rows],
            "result": self.result.to_json() if self.result else None,
            "missing_evidence": list(self.missing_evidence),
        }


def _usernames(session: Session, events: list[CaseEvent]) -> dict[uuid.UUID, str]:
    ids = {event.actor_id for event in events if event.actor_id}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _answer(event: CaseEvent, names: dict) -> Answer:
    p = event.payload
    return Answer(p["answer"], p["source"], event.occurred_at, names.get(event.actor_id), p.get("evidence"),
                  p.get("override_reason"), p.get("machine_answer"), p.get("explanation"), p.get("facts_used") or {})


def current_choice(events: list[CaseEvent]) -> CaseEvent | None:
    """The latest `criteria-set-chosen` or `no-criteria-apply` event (None: nothing chosen yet)."""
    chosen = [e for e in events if e.kind in ("criteria-set-chosen", "no-criteria-apply")]
    return chosen[-1] if chosen else None


def set_for_event(session: Session, payload: dict, lib: Library | None = None) -> CriteriaSet | None:
    """The exact set version an event cites (matched on its SHA-256 when the library holds it)."""
    lib = lib or load_library(session)
    cset = lib.get(payload["set_id"], payload["version"])
    if cset is not None and payload.get("sha256") not in (None, cset.sha256):
        return None
    return cset


def checklist(session: Session, case: Case, lib: Library | None = None, *, as_of: datetime | None = None) -> Checklist:
    """The checklist of a case as its events say it is now (what the GUI shows and the determination file cites);
    with `as_of`, as it stood at that instant (the inter-rater reliability audit reads it at decision time)."""
    events = criteria_events(session, case.id, as_of)
    facts = case_facts(session, case, events)
    names = _usernames(session, events)
    choice = current_choice(events)
    if choice is None or choice.kind == "no-criteria-apply":
        no_criteria = None
        result = None
        if choice is not None:
            no_criteria = {"note": choice.payload.get("note") or "", "at": iso_plan(choice.occurred_at),
                           "by": names.get(choice.actor_id), "proposed": choice.payload.get("proposed", [])}
            result = no_criteria_result(no_criteria["note"])
        return Checklist(case.tar, None, choice.occurred_at if choice else None,
                         names.get(choice.actor_id) if choice else None, None, no_criteria, (), result, facts)
    payload = choice.payload
    cset = set_for_event(session, payload, lib)
    if cset is None:
        raise LookupError(f"TAR {case.tar} applied criteria set {payload['set_id']} version {payload['version']}, "
                          "which this store does not hold with the same content.")
    history: dict[str, list[Answer]] = {}
    for event in events:
        p = event.payload
        if (event.kind == "criterion-answered" and p.get("set_id") == cset.id and p.get("version") == cset.version):
            history.setdefault(p["criterion_id"], []).append(_answer(event, names))
    leaf_answers: dict[str, str] = {}
    latest: dict[str, tuple[Answer | None, Answer | None]] = {}
    missing_evidence = []
    for criterion in cset.criteria():
        answers = history.get(criterion.id, [])
        machine = next((a for a in reversed(answers) if a.source == "machine"), None)
        reviewer = next((a for a in reversed(answers) if a.source == "reviewer"), None)
        latest[criterion.id] = (machine, reviewer)
        used = reviewer or machine
        leaf_answers[criterion.id] = used.answer if used else "unknown"
        if reviewer and reviewer.answer in ("met", "not-met") and not (reviewer.evidence or "").strip():
            missing_evidence.append(criterion.id)
    nodes = node_answers(cset, leaf_answers)
    rows = []
    for depth, node in walk(cset):
        if isinstance(node, Criterion):
            machine, reviewer = latest[node.id]
            rows.append(ChecklistRow(node, depth, nodes[node.id], machine, reviewer,
                                     tuple(history.get(node.id, ()))))
        else:
            rows.append(ChecklistRow(node, depth, nodes[node.id]))
    result = overall(cset, leaf_answers, facts.age())
    return Checklist(case.tar, cset, choice.occurred_at, names.get(choice.actor_id), payload.get("basis"), None,
                     tuple(rows), result, facts, tuple(missing_evidence))


def proposals(session: Session, case: Case, lib: Library | None = None,
              facts: CaseFacts | None = None) -> list[Match]:
    """The sets that apply to the case, best first (app.domain.criteria.matching)."""
    lib = lib or load_library(session)
    facts = facts or case_facts(session, case)
    return lib.match(MatchRequest.from_facts(facts))


def _criterion_text(payload: dict) -> str:
    """The criterion's wording from the shipped set version the event names (its id when not shipped)."""
    cset = load_library().get(payload.get("set_id", ""), payload.get("version"))
    node = cset.node(payload.get("criterion_id", "")) if cset is not None else None
    text = node.text if node is not None else payload.get("criterion_id", "?")
    return text if len(text) <= 80 else text[:79].rstrip() + "…"


def _fact_value(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        return f"{value['value']:g} {value.get('unit', '')}".strip() if isinstance(value["value"], (int, float)) \
            else str(value["value"])
    if isinstance(value, list):
        return "; ".join(f"{t.get('drug')} ({t.get('days') or '?'} days, "
                         f"{(t.get('outcome') or 'outcome not noted').replace('-', ' ')})"
                         if isinstance(t, dict) else str(t) for t in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def event_text(kind: str, payload: dict) -> str:
    """A criteria event in the reviewer's words, for the case timeline (no internal ids on screen)."""
    from app.domain.criteria.facts import FACT_NAMES
    from app.domain.criteria.model import ANSWER_LABELS
    from app.domain.criteria.matching import BASIS_WORDS

    if kind == "criteria-set-chosen":
        how = "chosen by the reviewer" if payload.get("basis") == "reviewer-choice" else \
            f"proposed by {BASIS_WORDS.get(payload.get('basis'), 'match')}"
        return f"Criteria set applied: {payload.get('title')}, version {payload.get('version')} ({how})"
    if kind == "criterion-answered":
        answer = ANSWER_LABELS.get(payload.get("answer"), payload.get("answer"))
        who = "Machine" if payload.get("source") == "machine" else "Reviewer"
        text = f"{who} answered “{_criterion_text(payload)}”: {answer}"
        if payload.get("override_reason"):
            text += (f", overriding the machine's {ANSWER_LABELS.get(payload.get('machine_answer'), '')}: "
                     f"{payload['override_reason']}")
        if payload.get("evidence"):
            text += f"; evidence: {payload['evidence']}"
        if payload.get("source") == "machine" and payload.get("explanation"):
            text += f" ({payload['explanation']})"
        return text
    if kind == "no-criteria-apply":
        return "No criteria apply: refer to a physician" + (f"; note: {payload['note']}" if payload.get("note") else "")
    if kind == "fact-recorded":
        name = FACT_NAMES.get(payload.get("name"), payload.get("name"))
        text = f"Fact recorded ({payload.get('source') or 'reviewer'}): {name}: {_fact_value(payload.get('value'))}"
        return text + (f"; note: {payload['note']}" if payload.get("note") else "")
    return kind
