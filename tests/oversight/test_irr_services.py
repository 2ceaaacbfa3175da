"""The IRR program through its services on both engines: the sample, blind re-review as of decision time, the
comparison, authority, and a corrective action plan from opening to closure (issue 14)."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from app.domain.reviewer_figures import denial_figures_about_reviewers
from app.services import demo, irr
from app.services.cases import ActionRefused, InvalidInput, case_by_tar, record_event
from app.store.irr_queries import annual_sample, items_of, irr_report
from app.store.models import CaseEvent, IrrAnswer, IrrItem, User
from tests.oversight.helpers import YEAR, act, decided_case

LEAD, AUDITOR = "lead.patel", "auditor.brown"


@pytest.fixture
def store(any_store):
    demo.generate(any_store, 0, seed=2)  # users, members, providers; no cases
    return any_store


def only_item(store, year=YEAR):
    with store.session() as session:
        sample = annual_sample(session, year)
        items = items_of(session, sample.id)
        assert len(items) == 1
        return items[0].id


def answer_all(store, item_id, answer="met", who=AUDITOR):
    with store.session() as session:
        view = irr.blind_view(session, who, item_id)
    for cid in view.answerable:
        act(store, irr.record_answer, who, item_id=item_id, criterion_id=cid, answer=answer)
    return view


def test_the_auditors_view_holds_nothing_of_the_original_review(store):
    tar = decided_case(store, "93000000001", answer="met", outcome="approve")
    act(store, irr.draw_sample, LEAD, year=YEAR, seed=1)
    item_id = only_item(store)
    with store.session() as session, session.begin():
        view = irr.blind_view(session, AUDITOR, item_id)
    flat = repr(dataclasses.asdict(view))
    assert "SECRET-EVIDENCE" not in flat and "SECRET-RATIONALE" not in flat
    assert "dr.shah" not in flat, flat
    fields = {f.name for f in dataclasses.fields(view)}
    assert not fields & {"outcome", "decided_by", "answers", "reviewer", "evidence", "rationale"}
    assert view.my_answers == {} and view.criteria_set["set_id"] == "med-infliximab"
    assert view.tar == tar and view.answerable and all(not c.is_group for c in view.criteria
                                                       if c.id in view.answerable)
    # answers are kept apart from the case's own record: no case event, the case version does not move
    with store.session() as session:
        version = case_by_tar(session, tar).version
    answer_all(store, item_id)
    with store.session() as session:
        assert case_by_tar(session, tar).version == version
        assert session.scalar(select(CaseEvent.id).where(CaseEvent.kind.like("irr%"))) is None
        assert len(session.scalars(select(IrrAnswer)).all()) == len(view.answerable)


def test_the_case_as_it_stood_at_decision_time(store):
    tar = decided_case(store, "93000000002", answer="met")
    with store.session() as session, session.begin():  # later criteria work (e.g. merged from a laptop)
        case = case_by_tar(session, tar)
        decider = session.scalar(select(User).where(User.username == "dr.shah"))
        later = datetime.now(timezone.utc) + timedelta(seconds=5)
        record_event(session, case, decider, "criterion-answered", {
            "set_id": "med-infliximab", "version": "2026.1", "sha256": None, "criterion_id": "tb",
            "answer": "not-met", "source": "reviewer", "evidence": "LATER", "seq": 999}, at=later)
        record_event(session, case, decider, "criteria-set-chosen", {
            "set_id": "med-denosumab", "version": "2026.1", "sha256": None, "title": "x", "seq": 1000},
            at=later + timedelta(minutes=1))
    act(store, irr.draw_sample, LEAD, year=YEAR, seed=3)
    item_id = only_item(store)
    with store.session() as session:
        assert session.get(IrrItem, item_id).set_id == "med-infliximab"  # the set applied by decision time
    view = answer_all(store, item_id, "met")
    assert view.criteria_set["set_id"] == "med-infliximab"
    result = act(store, irr.submit_review, AUDITOR, item_id=item_id, determination="approved")
    assert result["agreed"] is True
    report = act(store, irr_report, YEAR)
    reviewer = report["reviewers"][0]
    assert reviewer["criteria_agreement"]["percent_agreement"] == 100.0  # "tb" compared with its answer then
    assert reviewer["determination_agreement"]["agreed"] == 1 and reviewer["audit_complete"]


def test_submission_rules_and_who_may_re_review(store):
    decided_case(store, "93000000003")
    with pytest.raises(ActionRefused, match="nurse lead / supervisor"):
        act(store, irr.draw_sample, "nurse.garcia", year=YEAR, seed=1)
    act(store, irr.draw_sample, LEAD, year=YEAR, seed=1)
    assert act(store, irr.draw_sample, LEAD, year=YEAR, seed=1).created is False  # the same draw, recorded
    with pytest.raises(ActionRefused, match="seed 1; a year has one sample"):
        act(store, irr.draw_sample, LEAD, year=YEAR, seed=2)
    item_id = only_item(store)
    with pytest.raises(ActionRefused, match="You decided this case"):
        with store.session() as session:
            irr.blind_view(session, "dr.shah", item_id)
    with pytest.raises(ActionRefused, match="auditor"):
        with store.session() as session:
            irr.blind_view(session, "nurse.garcia", item_id)
    with pytest.raises(ActionRefused, match="Answer every criterion"):
        act(store, irr.submit_review, AUDITOR, item_id=item_id, determination="approved")
    with pytest.raises(InvalidInput, match="not a criterion"):
        act(store, irr.record_answer, AUDITOR, item_id=item_id, criterion_id="nope", answer="met")
    answer_all(store, item_id, "not-met")
    with pytest.raises(ActionRefused, match="auditor"):  # one auditor per sampled case
        act(store, irr.record_answer, "dr.morales", item_id=item_id, criterion_id="tb", answer="met")
    act(store, irr.submit_review, AUDITOR, item_id=item_id, determination="referred")
    with pytest.raises(ActionRefused, match="submitted"):
        act(store, irr.record_answer, AUDITOR, item_id=item_id, criterion_id="tb", answer="met")
    for statement in ("UPDATE irr_answers SET answer = 'met'", "DELETE FROM irr_answers"):
        with pytest.raises(DatabaseError, match="append-only"):
            with store.engine.begin() as connection:
                connection.execute(text(statement))


def test_a_corrective_action_plan_from_opening_to_closure(store):
    decided_case(store, "93000000004")
    act(store, irr.draw_sample, LEAD, year=YEAR, seed=1)
    item_id = only_item(store)
    answer_all(store, item_id, "not-met")
    act(store, irr.submit_review, AUDITOR, item_id=item_id, determination="referred")  # disagrees
    report = act(store, irr_report, YEAR)
    assert report["reviewers"][0]["below_target"] and report["overall"]["reviewers_below_target"] == 1
    plan_id = uuid.uuid4()
    due = date.today() + timedelta(days=60)
    with pytest.raises(ActionRefused, match="nurse lead / supervisor"):
        act(store, irr.open_plan, "nurse.garcia", plan_id=plan_id, year=YEAR, reviewer="dr.shah", owner=LEAD,
            actions=["x"], due_date=due)
    with pytest.raises(InvalidInput, match="at least one action"):
        act(store, irr.open_plan, LEAD, plan_id=plan_id, year=YEAR, reviewer="dr.shah", owner=LEAD, actions=[" "],
            due_date=due)
    with pytest.raises(InvalidInput, match="has passed"):
        act(store, irr.open_plan, LEAD, plan_id=plan_id, year=YEAR, reviewer="dr.shah", owner=LEAD, actions=["x"],
            due_date=date.today() - timedelta(days=3))
    act(store, irr.open_plan, LEAD, plan_id=plan_id, year=YEAR, reviewer="dr.shah", owner="dr.morales",
        actions=["Criteria refresher with the CMO", "Shadow two peer reviews"], due_date=due)
    with pytest.raises(ActionRefused, match="already has an open"):
        act(store, irr.open_plan, LEAD, plan_id=uuid.uuid4(), year=YEAR, reviewer="dr.shah", owner=LEAD,
            actions=["again"], due_date=due)
    with pytest.raises(ActionRefused, match="after every action"):
        act(store, irr.draw_re_audit, LEAD, plan_id=plan_id, seed=1)
    act(store, irr.complete_action, LEAD, plan_id=plan_id, number=1, note="Done 11/30")
    with pytest.raises(InvalidInput, match="note"):
        act(store, irr.complete_action, LEAD, plan_id=plan_id, number=2, note="")
    act(store, irr.complete_action, "dr.morales", plan_id=plan_id, number=2, note="Done 12/2")
    with pytest.raises(ActionRefused, match="no case on its merits since"):
        act(store, irr.draw_re_audit, LEAD, plan_id=plan_id, seed=1)
    decided_case(store, "93000000005")  # decided after the plan opened
    act(store, irr.draw_re_audit, LEAD, plan_id=plan_id, seed=1, size=5)
    with pytest.raises(ActionRefused, match="still to re-review"):
        act(store, irr.record_re_audit, LEAD, plan_id=plan_id)
    with pytest.raises(ActionRefused, match="only after a re-audit"):
        act(store, irr.close_plan, LEAD, plan_id=plan_id, note="x")
    with store.session() as session:
        re_audit = [i for i in session.scalars(select(IrrItem)) if i.tar == "93000000005"]
    assert len(re_audit) == 1
    answer_all(store, re_audit[0].id, "met")
    act(store, irr.submit_review, AUDITOR, item_id=re_audit[0].id, determination="approved")
    plan = act(store, irr.record_re_audit, LEAD, plan_id=plan_id)
    assert plan.state == "re-audit-passed" and plan.re_audit_percent == 100.0
    plan = act(store, irr.close_plan, LEAD, plan_id=plan_id, note="Re-audit 100%")
    assert plan.state == "closed"
    with store.session() as session:
        kinds = [e["kind"] for e in irr.plan_events(session, plan_id)]
    assert kinds == ["cap-opened", "cap-action-done", "cap-action-done", "cap-re-audit-drawn",
                     "cap-re-audit-recorded", "cap-closed"]
    for statement in ("UPDATE irr_plan_events SET kind = 'x'", "DELETE FROM irr_plan_events"):
        with pytest.raises(DatabaseError, match="append-only"):
            with store.engine.begin() as connection:
                connection.execute(text(statement))
    report = act(store, irr_report, YEAR)
    assert report["corrective_action_plans"][0]["state"] == "closed"
    assert denial_figures_about_reviewers(report) == []


def test_plan_needs_a_complete_audit_below_target(store):
    decided_case(store, "93000000006")
    act(store, irr.draw_sample, LEAD, year=YEAR, seed=1)
    with pytest.raises(ActionRefused, match="not complete"):
        act(store, irr.open_plan, LEAD, plan_id=uuid.uuid4(), year=YEAR, reviewer="dr.shah", owner=LEAD,
            actions=["x"], due_date=date.today() + timedelta(days=30))
    item_id = only_item(store)
    answer_all(store, item_id, "met")
    act(store, irr.submit_review, AUDITOR, item_id=item_id, determination="approved")
    with pytest.raises(ActionRefused, match="at or above the 90% target"):
        act(store, irr.open_plan, LEAD, plan_id=uuid.uuid4(), year=YEAR, reviewer="dr.shah", owner=LEAD,
            actions=["x"], due_date=date.today() + timedelta(days=30))
