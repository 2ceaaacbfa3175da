"""Criteria work as case events on both engines: choose, answer, override, facts, no criteria; who may; versions."""
from __future__ import annotations

import copy
import json
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from app.domain.criteria import validate as criteria_validate
from app.domain.criteria.model import parse_set
from app.services import demo
from app.services.cases import ActionRefused, NewCase, NewLine, claim_case, receive_case
from app.services.criteria import (InvalidInput, answer_criterion, choose_set, import_set, record_fact,
                                   record_no_criteria)
from app.store.criteria_answers import checklist, proposals
from app.store.criteria_library import library
from app.store.models import Case, CaseEvent, CriteriaSetRecord, Member, Provider

RECEIVED = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)  # Fri 11/20 9:00 PT
SHIPPED = criteria_validate.CRITERIA_DIR


def shipped_content(set_id: str) -> dict:
    return json.loads((SHIPPED / f"{set_id}.json").read_text())


@pytest.fixture
def store(any_store):
    demo.generate(any_store, 0, seed=2)  # users, members and providers; no cases
    return any_store


def new_case(store, tar: str, code: str, birth: date | None, diagnoses, *, lob="medi-cal", category="medication",
             holder: str | None = "tech.rivera", sex="F") -> str:
    with store.session() as session, session.begin():
        member = Member(id=uuid.uuid4(), cin=f"8{tar[-7:]}Z", first_name="Test", last_name=f"Member{tar[-3:]}",
                        birth_date=birth, sex=sex)
        session.add(member)
        provider = session.scalars(select(Provider)).first()
        receive_case(session, NewCase(
            tar=tar, line_of_business=lob, service_category=category, review_timing="pre-service",
            urgency="routine", received_at=RECEIVED, member=member, requesting_provider_id=provider.id,
            place_of_service="11", proposed_date=date(2026, 12, 1),
            lines=[NewLine(code, "test line", 50, date(2026, 12, 1), date(2026, 12, 1))],
            diagnoses=[(d, "test diagnosis") for d in diagnoses]), None)
    if holder:
        with store.session() as session, session.begin():
            claim_case(session, tar, holder)
    return tar


def events(store, tar, kind=None):
    with store.session() as session:
        query = select(CaseEvent).join(Case, CaseEvent.case_id == Case.id).where(Case.tar == tar)
        if kind:
            query = query.where(CaseEvent.kind == kind)
        return session.scalars(query).all()


def act(store, fn, *args, **kwargs):
    with store.session() as session, session.begin():
        return fn(session, *args, **kwargs)


def version_of(store, tar):
    with store.session() as session:
        return session.scalar(select(Case.version).where(Case.tar == tar))


def test_choosing_a_set_records_the_exact_version_and_the_machine_answers(store):
    tar = new_case(store, "91000000001", "J1745", date(1980, 1, 1), ["K50.90"])
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert [m.set.id for m in proposals(session, case)] == ["med-infliximab"]
    before = version_of(store, tar)
    state = act(store, choose_set, tar, "tech.rivera", "med-infliximab")
    chosen = events(store, tar, "criteria-set-chosen")
    assert len(chosen) == 1
    payload = chosen[0].payload
    content = shipped_content("med-infliximab")
    assert payload["set_id"] == "med-infliximab" and payload["version"] == content["version"]
    assert payload["sha256"] == parse_set(content).sha256 and payload["basis"] == "exact-code"
    machine = events(store, tar, "criterion-answered")
    rule_ids = {c.id for c in state.set.criteria() if c.rule}
    assert {e.payload["criterion_id"] for e in machine} == rule_ids
    assert all(e.payload["source"] == "machine" and e.payload["explanation"] for e in machine)
    assert version_of(store, tar) == before + 1 + len(machine)
    by_id = {row.node.id: row for row in state.rows}
    assert by_id["age"].answer == "met" and by_id["dx"].answer == "met"
    assert by_id["dose"].answer == "unknown" and "No dose" in by_id["dose"].machine.explanation
    assert by_id["tb"].machine is None and by_id["tb"].answer == "unknown"
    assert state.result.result == "incomplete"
    with store.session() as session:  # the exact content the case cites is kept in the store
        row = session.scalar(select(CriteriaSetRecord).where(CriteriaSetRecord.set_id == "med-infliximab"))
        assert row.sha256 == payload["sha256"] and row.origin == "shipped" and row.content == content


def test_answers_facts_overrides_and_the_result(store):
    tar = new_case(store, "91000000002", "J1439", date(1975, 3, 3), ["D50.9"])
    act(store, choose_set, tar, "tech.rivera", "med-ferric-carboxymaltose")
    # facts recorded later change the machine's answers at once
    state = act(store, record_fact, tar, "tech.rivera", "dose", {"value": 750, "unit": "mg"}, "form p.2")
    assert state.row("dose-abs").answer == "met" and state.row("dose-kg").answer == "unknown"
    state = act(store, record_fact, tar, "tech.rivera", "weight_kg", 45)
    assert state.row("dose-kg").answer == "not-met"  # 16.7 mg/kg
    assert "16.67 mg/kg" in state.row("dose-kg").machine.explanation
    for name, value in (("doses_per_day", 1), ("dosing_interval_days", 7),
                        ("prior_therapies", [{"drug": "ferrous sulfate", "days": 60}])):
        state = act(store, record_fact, tar, "tech.rivera", name, value)
    facts = events(store, tar, "fact-recorded")
    assert [e.payload["name"] for e in facts][:2] == ["dose", "weight_kg"] and facts[0].payload["note"] == "form p.2"
    assert state.row("oral").answer == "met" and state.result.result == "not-met"
    # overriding a machine answer needs a reason; nothing is written without one
    before = version_of(store, tar)
    with pytest.raises(ActionRefused, match="give the reason"):
        act(store, answer_criterion, tar, "tech.rivera", "dose-kg", "met", "weight 52 kg on 11/19 note")
    assert version_of(store, tar) == before
    state = act(store, answer_criterion, tar, "tech.rivera", "dose-kg", "met", "Weight 52 kg in the 11/19 note",
                override_reason="The form's weight is out of date")
    row = state.row("dose-kg")
    assert row.answer == "met" and row.reviewer.override_reason == "The form's weight is out of date"
    assert row.reviewer.machine_answer == "not-met" and row.machine.answer == "not-met" and row.reviewer.by == "tech.rivera"
    # criteria without a machine rule are answered without a reason; the evidence is kept
    state = act(store, answer_criterion, tar, "tech.rivera", "labs", "met", "Ferritin 12 ng/mL on 11/02")
    assert state.result.result == "incomplete"
    state = act(store, answer_criterion, tar, "tech.rivera", "course", "met")
    assert state.missing_evidence == ("course",)
    assert state.result.result == "criteria-met" and state.result.may_approve
    reviewer = [e.payload for e in events(store, tar, "criterion-answered") if e.payload["source"] == "reviewer"]
    assert [p["criterion_id"] for p in reviewer] == ["dose-kg", "labs", "course"]
    assert reviewer[1]["evidence"] == "Ferritin 12 ng/mL on 11/02" and reviewer[1]["override_reason"] is None
    assert all(p["set_id"] == "med-ferric-carboxymaltose" and p["sha256"] for p in reviewer)
    # a later fact that moves the machine's answer does not undo the reviewer's, but is flagged
    state = act(store, record_fact, tar, "tech.rivera", "weight_kg", 40)
    assert state.row("dose-kg").answer == "met" and not state.row("dose-kg").machine_changed_since_review
    state = act(store, record_fact, tar, "tech.rivera", "weight_kg", 60)
    assert state.row("dose-kg").machine.answer == "met" and state.row("dose-kg").machine_changed_since_review


def test_bad_input_writes_nothing(store):
    tar = new_case(store, "91000000003", "J1745", date(1980, 1, 1), ["K50.90"])
    before = version_of(store, tar)
    with pytest.raises(ActionRefused, match="choose a set first"):
        act(store, answer_criterion, tar, "tech.rivera", "tb", "met")
    with pytest.raises(InvalidInput, match="No criteria set 'no-such-set'"):
        act(store, choose_set, tar, "tech.rivera", "no-such-set")
    with pytest.raises(InvalidInput, match="has no version 9"):
        act(store, choose_set, tar, "tech.rivera", "med-infliximab", "9")
    with pytest.raises(ActionRefused, match="applies to medicare"):
        act(store, choose_set, tar, "tech.rivera", "medicare-ncd-280-3-mobility")
    with pytest.raises(InvalidInput, match="weight_kg must be"):
        act(store, record_fact, tar, "tech.rivera", "weight_kg", -3)
    assert version_of(store, tar) == before
    act(store, choose_set, tar, "tech.rivera", "med-infliximab")
    before = version_of(store, tar)
    with pytest.raises(InvalidInput, match="is a group"):
        act(store, answer_criterion, tar, "tech.rivera", "step", "met")
    with pytest.raises(InvalidInput, match="not in this set"):
        act(store, answer_criterion, tar, "tech.rivera", "nothing", "met")
    with pytest.raises(InvalidInput, match="not an answer"):
        act(store, answer_criterion, tar, "tech.rivera", "tb", "yes")
    with pytest.raises(InvalidInput, match="at most 2000"):
        act(store, answer_criterion, tar, "tech.rivera", "tb", "met", "x" * 2001)
    assert version_of(store, tar) == before


def test_a_set_not_in_effect_at_receipt_is_refused(store):
    tar = new_case(store, "91000000004", "J1745", date(1980, 1, 1), ["K50.90"])
    later = copy.deepcopy(shipped_content("med-infliximab"))
    later.update(id="med-infliximab-2027", effective_from="2027-01-01")
    act(store, import_set, later)
    with pytest.raises(ActionRefused, match="in effect on 2026-11-20"):
        act(store, choose_set, tar, "tech.rivera", "med-infliximab-2027")


def test_no_criteria_apply_then_a_set_after_all(store):
    tar = new_case(store, "91000000005", "J9312", date(1970, 1, 1), ["C83.30"])
    with store.session() as session:
        assert proposals(session, session.scalar(select(Case).where(Case.tar == tar))) == []
    state = act(store, record_no_criteria, tar, "tech.rivera", "rituximab: no P&T criteria yet")
    assert state.set is None and state.result.result == "no-criteria" and state.result.route == "refer"
    assert state.no_criteria["note"] == "rituximab: no P&T criteria yet" and state.no_criteria["by"] == "tech.rivera"
    assert events(store, tar, "no-criteria-apply")[0].payload["proposed"] == []
    state = act(store, choose_set, tar, "tech.rivera", "med-pegfilgrastim")
    assert state.set.id == "med-pegfilgrastim" and state.basis == "reviewer-choice" and state.no_criteria is None


def test_who_may_work_the_checklist(store):
    tar = new_case(store, "91000000006", "J1745", date(1980, 1, 1), ["K50.90"], holder=None)
    with pytest.raises(ActionRefused, match="claim it first"):
        act(store, choose_set, tar, "tech.rivera", "med-infliximab")
    with pytest.raises(ActionRefused, match="does not review criteria"):
        act(store, choose_set, tar, "coord.jones", "med-infliximab")
    with pytest.raises(ActionRefused, match="does not review criteria"):
        act(store, choose_set, tar, "auditor.brown", "med-infliximab")
    act(store, claim_case, tar, "tech.rivera")
    with pytest.raises(ActionRefused, match="held by tech.rivera"):
        act(store, choose_set, tar, "pharmd.kim", "med-infliximab")
    act(store, choose_set, tar, "lead.patel", "med-infliximab")  # a supervisor may
    state = act(store, answer_criterion, tar, "tech.rivera", "tb", "met", "QuantiFERON negative 10/01")
    assert state.row("tb").reviewer.by == "tech.rivera" and state.chosen_by == "lead.patel"
    with store.session() as session, session.begin():
        session.scalar(select(Case).where(Case.tar == tar)).status = "determined"
    with pytest.raises(ActionRefused, match="determination file"):
        act(store, answer_criterion, tar, "tech.rivera", "prescriber", "met")


def test_a_member_under_21_with_an_adult_only_set(store):
    tar = new_case(store, "91000000007", "J0897", date(2010, 6, 1), ["M81.0"])
    state = act(store, choose_set, tar, "tech.rivera", "med-denosumab")
    assert state.set.adult_only and state.result.epsdt.applies is True
    for criterion in ("op-risk", "op-calcium"):
        state = act(store, answer_criterion, tar, "tech.rivera", criterion, "not-met", "see notes")
    assert state.result.result == "epsdt-review" and state.result.route == "refer"


def test_an_old_case_keeps_its_version_after_a_new_version_is_imported(store):
    old = new_case(store, "91000000008", "J1745", date(1980, 1, 1), ["K50.90"])
    first = act(store, choose_set, old, "tech.rivera", "med-infliximab")
    first_sha, first_text = first.set.sha256, first.row("dose").node.text
    new_content = copy.deepcopy(shipped_content("med-infliximab"))
    new_content["version"] = "2026.2"
    dose = next(node for node in new_content["criteria"] if node["id"] == "dose")
    dose["text"] = "Dose per infusion no more than 5 mg/kg of recorded body weight."
    dose["rule"]["max"] = 5
    assert act(store, import_set, new_content, username="admin").status == "imported"
    young = new_case(store, "91000000009", "J1745", date(1980, 1, 1), ["K50.90"])
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == young))
        assert [(m.set.id, m.set.version) for m in proposals(session, case)] == [("med-infliximab", "2026.2")]
        old_state = checklist(session, session.scalar(select(Case).where(Case.tar == old)))
    assert old_state.set.version == first.set.version and old_state.set.sha256 == first_sha
    assert old_state.row("dose").node.text == first_text
    young_state = act(store, choose_set, young, "tech.rivera", "med-infliximab")
    assert young_state.set.version == "2026.2" and "5 mg/kg" in young_state.row("dose").node.text
    # answering the old case still writes against its own version
    state = act(store, answer_criterion, old, "tech.rivera", "tb", "met", "negative IGRA")
    assert state.set.version == first.set.version
    assert events(store, old, "criterion-answered")[-1].payload["version"] == first.set.version


def test_a_changed_shipped_file_never_changes_a_case_that_applied_it(store, monkeypatch):
    tar = new_case(store, "91000000010", "J2506", date(1960, 1, 1), ["C50.911"])
    state = act(store, choose_set, tar, "tech.rivera", "med-pegfilgrastim")
    original = state.row("chemo").node.text
    changed = copy.deepcopy(shipped_content("med-pegfilgrastim"))
    next(node for node in changed["criteria"] if node["id"] == "chemo")["text"] = "Edited without a new version."
    monkeypatch.setattr("app.store.criteria_library.shipped_sets", lambda: (parse_set(changed),))
    with store.session() as session:
        lib = library(session)
        assert lib.conflicts and "med-pegfilgrastim" in lib.conflicts[0]
        again = checklist(session, session.scalar(select(Case).where(Case.tar == tar)), lib)
    assert again.row("chemo").node.text == original and again.set.sha256 == state.set.sha256


def test_import_is_idempotent_and_refuses_a_changed_version(store):
    content = copy.deepcopy(shipped_content("dme-hospital-bed"))
    assert act(store, import_set, content).status == "already-shipped"
    content["id"] = "dme-hospital-bed-local"
    assert act(store, import_set, content, username="admin").status == "imported"
    assert act(store, import_set, copy.deepcopy(content)).status == "already-imported"
    changed = copy.deepcopy(content)
    changed["title"] = "Something else"
    with pytest.raises(ActionRefused, match="new version"):
        act(store, import_set, changed)
    shipped_changed = copy.deepcopy(shipped_content("dme-hospital-bed"))
    shipped_changed["title"] = "Changed"
    with pytest.raises(ActionRefused, match="ships with the workstation"):
        act(store, import_set, shipped_changed)
    with pytest.raises(ActionRefused, match="Only an administrator"):
        act(store, import_set, changed, username="nurse.garcia")
    with pytest.raises(InvalidInput, match="criteria set: version"):
        act(store, import_set, {**content, "version": "x"})
    with store.session() as session:
        rows = session.scalars(select(CriteriaSetRecord)).all()
        assert [(r.set_id, r.origin, r.imported_by) for r in rows] == [("dme-hospital-bed-local", "imported", "admin")]
        assert library(session).get("dme-hospital-bed-local").origin == "imported"


def test_stored_criteria_versions_are_immutable(store):
    act(store, import_set, {**shipped_content("dme-hospital-bed"), "id": "bed-copy"})
    for statement in ("UPDATE criteria_sets SET version = '9'", "DELETE FROM criteria_sets"):
        with pytest.raises(DatabaseError, match="append-only"):
            with store.engine.begin() as connection:
                connection.execute(text(statement))
    with store.session() as session:
        assert session.scalar(select(CriteriaSetRecord.version)) == "2026.1"


def test_a_determination_is_judged_by_the_recorded_checklist(store):
    """Issue 5: 'criteria met' lets a pharmacy technician approve only when the recorded answers meet the set; 'no
    criteria apply' forces a referral; the applied set version is what the determination cites."""
    from app.services.cases import CriteriaCitation, decide_case

    tar = new_case(store, "91000000090", "J1745", date(1980, 1, 1), ["K50.90"])
    state = act(store, choose_set, tar, "tech.rivera", "med-infliximab")
    assert state.result.result == "incomplete"
    approve = dict(outcome="approve", rationale="Meets the P&T criteria")
    with pytest.raises(ActionRefused, match="checklist says: Incomplete") as refused:
        act(store, decide_case, tar, "tech.rivera", criteria=[CriteriaCitation("med-infliximab", "2026.1")],
            criteria_result="criteria-met", **approve)
    assert "pend" in str(refused.value)
    with pytest.raises(ActionRefused, match="checklist says: Incomplete"):
        act(store, decide_case, tar, "tech.rivera", **approve)  # no claim: the checklist's result is used
    assert events(store, tar, "determined") == []
    for row in state.rows:
        if not row.is_group and row.answer != "met":
            act(store, answer_criterion, tar, "tech.rivera", row.node.id, "met", "chart", "reviewed the chart"
                if row.machine and row.machine.answer in ("not-met", "not-applicable") else None)
    act(store, decide_case, tar, "tech.rivera", **approve)
    (determined,) = events(store, tar, "determined")
    assert determined.payload["criteria"] == [{"set_id": "med-infliximab", "version": "2026.1"}]
    assert determined.payload["criteria_result"] == "criteria-met"
    with pytest.raises(ActionRefused, match="determination file"):
        act(store, answer_criterion, tar, "tech.rivera", "tb", "not-met")

    other = new_case(store, "91000000091", "J1745", date(1980, 1, 1), ["K50.90"])
    act(store, record_no_criteria, other, "tech.rivera", "rituximab-like request, no P&T criteria")
    with pytest.raises(ActionRefused, match="checklist says: No criteria apply"):
        act(store, decide_case, other, "tech.rivera", criteria=[CriteriaCitation("med-infliximab")],
            criteria_result="criteria-met", **approve)
    assert events(store, other, "determined") == []
