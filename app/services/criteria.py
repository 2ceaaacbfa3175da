"""Criteria use cases (issue 5): choose a set, answer a criterion, record that no criteria apply, record a fact,
import a set. The only code that writes criteria work.

Each action checks the actor's authority (app.domain.criteria.permissions), then writes its case events through
`record_event` in the caller's transaction, so an answer is saved the moment it is made and the case version moves
with it. Nothing here ever denies: the result only says whether a nurse may approve or must refer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.domain.criteria import (ANSWERS, CriteriaFileError, CriteriaSet, FactError, content_sha256, load_content,
                                 normalize_fact)
from app.domain.criteria.evaluate import machine_answers
from app.domain.criteria.model import Criterion
from app.domain.criteria.permissions import may_import_criteria, may_work_checklist
from app.services.intents import (criterion_not_answered_since, fact_not_recorded_since, intent,
                                  no_set_chosen_since)
from app.services.cases import ActionRefused, NotFound, case_by_tar, record_event, user_by_name
from app.store.criteria_answers import (Checklist, case_facts, checklist, criteria_events, current_choice,
                                        proposals, set_for_event)
from app.store.criteria_library import library, stored_record
from app.store.models import Case, CriteriaSetRecord, User

MAX_NOTE = 2000


class InvalidInput(ValueError):
    """Input that cannot be used (unknown set, criterion, answer or fact); nothing was written."""


def _authorize(session: Session, tar: str, username: str) -> tuple[Case, User]:
    actor = user_by_name(session, username)
    case = case_by_tar(session, tar)
    holder = case.assignee.username if case.assignee else None
    refusal = may_work_checklist(actor.role, case.status, holder, actor.username)
    if refusal:
        raise ActionRefused(refusal.reason)
    return case, actor


def _event(session: Session, case: Case, actor: User | None, kind: str, payload: dict) -> None:
    payload["seq"] = case.version + 1  # the case version this event makes: orders events of the same instant
    record_event(session, case, actor, kind, payload)


def _note(text: str | None, what: str) -> str | None:
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"The {what} is {len(text)} characters long; at most {MAX_NOTE}.")
    return text or None


def keep_in_store(session: Session, cset: CriteriaSet, username: str | None = None) -> None:
    """Make sure the exact content a case cites is held in criteria_sets (a shipped file may change in a release)."""
    if stored_record(session, cset.id, cset.version) is None:
        session.add(CriteriaSetRecord(set_id=cset.id, version=cset.version, content=cset.content,
                                      sha256=cset.sha256, origin=cset.origin, imported_by=username))
        session.flush()


def _record_machine_answers(session: Session, case: Case, actor: User | None, cset: CriteriaSet,
                            only_changed: bool) -> int:
    events = criteria_events(session, case.id)
    facts = case_facts(session, case, events)
    previous: dict[str, str] = {}
    if only_changed:
        for event in events:
            p = event.payload
            if (event.kind == "criterion-answered" and p.get("source") == "machine" and p.get("set_id") == cset.id
                    and p.get("version") == cset.version):
                previous[p["criterion_id"]] = p["answer"]
    written = 0
    for criterion_id, outcome in machine_answers(cset, facts).items():
        if only_changed and previous.get(criterion_id) == outcome.answer:
            continue
        _event(session, case, actor, "criterion-answered", {
            "set_id": cset.id, "version": cset.version, "sha256": cset.sha256, "criterion_id": criterion_id,
            "answer": outcome.answer, "source": "machine", "evidence": None, "override_reason": None,
            "machine_answer": None, "explanation": outcome.explanation, "facts_used": outcome.facts_used,
        })
        written += 1
    return written


@intent("choose-criteria-set", commutes=no_set_chosen_since)
def choose_set(session: Session, tar: str, username: str, set_id: str, version: str | None = None) -> Checklist:
    """Apply a set to the case: the version in effect on the day the request was received (or the one named),
    with the machine's answers recorded at once. Choosing again later starts from that set's earlier answers."""
    case, actor = _authorize(session, tar, username)
    lib = library(session)
    facts = case_facts(session, case)
    if not lib.versions(set_id):
        raise InvalidInput(f"No criteria set '{set_id}' in the library; 'umws criteria list' shows the sets.")
    if version is None:
        cset = lib.effective(set_id, facts.received_on)
        if cset is None:
            raise ActionRefused(f"No version of '{set_id}' was in effect on {facts.received_on.isoformat()}, the day "
                                "the request was received; the criteria in effect at receipt govern.")
    else:
        cset = lib.get(set_id, version)
        if cset is None:
            raise InvalidInput(f"Criteria set '{set_id}' has no version {version}; versions: "
                               f"{', '.join(s.version for s in lib.versions(set_id))}.")
        if not cset.effective_on(facts.received_on):
            raise ActionRefused(f"Version {version} of '{set_id}' was not in effect on "
                                f"{facts.received_on.isoformat()}, the day the request was received.")
    if case.line_of_business not in cset.lines_of_business:
        raise ActionRefused(f"'{set_id}' applies to {', '.join(cset.lines_of_business)}, not to this "
                            f"{case.line_of_business} request.")
    match = next((m for m in proposals(session, case, lib, facts) if m.set.key == cset.key), None)
    keep_in_store(session, cset)
    _event(session, case, actor, "criteria-set-chosen", {
        "set_id": cset.id, "version": cset.version, "sha256": cset.sha256, "title": cset.title,
        "source_kind": cset.source.kind, "citation": cset.source.citation, "origin": cset.origin,
        "basis": match.basis if match else "reviewer-choice", "score": match.score if match else None,
    })
    _record_machine_answers(session, case, None, cset, only_changed=True)
    session.flush()
    return checklist(session, case, lib)


def _current_set(session: Session, case: Case) -> CriteriaSet:
    choice = current_choice(criteria_events(session, case.id))
    if choice is None or choice.kind != "criteria-set-chosen":
        raise ActionRefused("No criteria set is applied to this case: choose a set first.")
    cset = set_for_event(session, choice.payload)
    if cset is None:
        raise LookupError(f"TAR {case.tar}: the applied criteria set is not held with the same content.")
    return cset


@intent("answer-criterion", commutes=criterion_not_answered_since)
def answer_criterion(session: Session, tar: str, username: str, criterion_id: str, answer: str,
                     evidence: str | None = None, override_reason: str | None = None) -> Checklist:
    """The reviewer's answer to one criterion, with the evidence. A machine answer (met, not met, not applicable)
    is overridden only with a reason; an unknown one is simply answered."""
    if answer not in ANSWERS:
        raise InvalidInput(f"'{answer}' is not an answer; answers: {', '.join(ANSWERS)}.")
    case, actor = _authorize(session, tar, username)
    cset = _current_set(session, case)
    node = cset.node(criterion_id)
    if node is None or not isinstance(node, Criterion):
        what = "a group (its answer comes from its criteria)" if node is not None else "not in this set"
        raise InvalidInput(f"'{criterion_id}' is {what}; criteria of {cset.id}: "
                           f"{', '.join(c.id for c in cset.criteria())}.")
    evidence = _note(evidence, "evidence note")
    override_reason = _note(override_reason, "override reason")
    state = checklist(session, case)
    row = state.row(criterion_id)
    machine = row.machine.answer if row and row.machine else None
    overriding = machine in ("met", "not-met", "not-applicable") and answer != machine
    if overriding and not override_reason:
        raise ActionRefused(f"The machine answered '{machine}' for {criterion_id} ({row.machine.explanation}) "
                            "To answer otherwise, give the reason for the override.")
    _event(session, case, actor, "criterion-answered", {
        "set_id": cset.id, "version": cset.version, "sha256": cset.sha256, "criterion_id": criterion_id,
        "answer": answer, "source": "reviewer", "evidence": evidence,
        "override_reason": override_reason if overriding else None, "machine_answer": machine,
        "explanation": None, "facts_used": {},
    })
    session.flush()
    return checklist(session, case)


@intent("no-criteria-apply", commutes=no_set_chosen_since)
def record_no_criteria(session: Session, tar: str, username: str, note: str | None = None) -> Checklist:
    """The reviewer finds that no criteria set applies: the case must go to a physician in the same or a similar
    specialty (the workflow refers it)."""
    case, actor = _authorize(session, tar, username)
    note = _note(note, "note")
    proposed = [f"{m.set.id} {m.set.version}" for m in proposals(session, case)]
    _event(session, case, actor, "no-criteria-apply", {"note": note, "proposed": proposed})
    session.flush()
    return checklist(session, case)


@intent("record-fact", commutes=fact_not_recorded_since)
def record_fact(session: Session, tar: str, username: str, name: str, value: Any, note: str | None = None,
                source: str = "reviewer") -> Checklist:
    """A fact machine rules read (weight, dose, prior therapies, ...), e.g. from the request's attachments. When a
    set is applied, machine answers that change because of it are recorded at once."""
    case, actor = _authorize(session, tar, username)
    try:
        value = normalize_fact(name, value)
    except FactError as error:
        raise InvalidInput(str(error)) from error
    if source not in ("reviewer", "requester"):
        raise InvalidInput("source must be 'reviewer' or 'requester'.")
    _event(session, case, actor, "fact-recorded", {"name": name, "value": value, "note": _note(note, "note"),
                                                   "source": source})
    session.flush()
    refresh_machine_answers(session, case)
    return checklist(session, case)


def refresh_machine_answers(session: Session, case: Case) -> int:
    """Re-run the applied set's machine rules on the case as it is now; record the answers that changed."""
    choice = current_choice(criteria_events(session, case.id))
    if choice is None or choice.kind != "criteria-set-chosen":
        return 0
    cset = set_for_event(session, choice.payload)
    if cset is None:
        return 0
    written = _record_machine_answers(session, case, None, cset, only_changed=True)
    session.flush()
    return written


@dataclass(frozen=True)
class ImportResult:
    status: str  # imported | already-imported | already-shipped
    set: CriteriaSet

    @property
    def written(self) -> bool:
        return self.status == "imported"


def import_set(session: Session, content: Any, name: str = "criteria set", username: str | None = None) -> ImportResult:
    """Add a validated set version to the store's library. The same version with the same content is a no-op; the
    same version with different content is refused (a changed set needs a new version)."""
    if username is not None:
        refusal = may_import_criteria(user_by_name(session, username).role)
        if refusal:
            raise ActionRefused(refusal.reason)
    try:
        cset = load_content(content, name, origin="imported")
    except CriteriaFileError as error:
        raise InvalidInput(str(error)) from error
    lib = library(session)
    held = stored_record(session, cset.id, cset.version)
    if held is not None:
        if held.sha256 == cset.sha256:
            return ImportResult("already-imported", cset)
        raise ActionRefused(f"Version {cset.version} of '{cset.id}' is already in the library with different content "
                            f"(imported {held.imported_at:%Y-%m-%d}). Cases may cite it, so it cannot change: give "
                            "the changed set a new version.")
    shipped = lib.get(cset.id, cset.version)
    if shipped is not None:
        if shipped.sha256 == cset.sha256:
            return ImportResult("already-shipped", shipped)
        raise ActionRefused(f"Version {cset.version} of '{cset.id}' ships with the workstation with different "
                            "content; give the changed set a new version.")
    session.add(CriteriaSetRecord(set_id=cset.id, version=cset.version, content=content,
                                  sha256=content_sha256(content), origin="imported", imported_by=username))
    session.flush()
    return ImportResult("imported", cset)


__all__ = ["ActionRefused", "ImportResult", "InvalidInput", "NotFound", "answer_criterion", "choose_set",
           "import_set", "keep_in_store", "record_fact", "record_no_criteria", "refresh_machine_answers"]
