"""Referred cases land in the queue of their target (issue 6): physicians see referrals to a physician or a
same-specialty reviewer, clinical pharmacists a technician's escalations; both engines. The referral's summary and
criteria result are what the summary panel shows first."""
from __future__ import annotations

from sqlalchemy import select

from app.services import cases, demo
from app.store.case_workspace import referral_brief
from app.store.models import Case
from app.store.worklist import WorklistQuery, viewer_for


def queue_tars(store, queue: str, username: str) -> set[str]:
    with store.session() as session:
        viewer = viewer_for(session, username)
        query = WorklistQuery(queue, viewer)
        return {row.tar for row in query.page(session, 0, 10_000)}


def test_each_referral_goes_to_its_targets_queue(workflow_store, make_case):
    store = workflow_store
    to_physician = make_case(category="outpatient")
    to_pharmacist = make_case(category="medication", lines=(("J1745", 3),))
    to_specialist = make_case(category="outpatient")
    with store.session() as s, s.begin():
        cases.refer_case(s, to_physician, "nurse.nguyen", to="physician", summary="needs a physician")
        cases.refer_case(s, to_pharmacist, "tech.rivera", to="pharmacist", summary="dose above label",
                         criteria_result="not-met")
        cases.refer_case(s, to_specialist, "nurse.nguyen", to="same-specialty", specialty="Orthopaedic Surgery",
                         summary="no criteria apply", criteria_result="no-criteria")
    physicians = queue_tars(store, "referred", "dr.shah")
    pharmacists = queue_tars(store, "pharmacist-referred", "pharmd.kim")
    assert {to_physician, to_specialist} <= physicians and to_pharmacist not in physicians
    assert to_pharmacist in pharmacists and not {to_physician, to_specialist} & pharmacists
    assert to_pharmacist in queue_tars(store, "pharmacist-referred", "lead.patel")  # supervisors see both
    assert queue_tars(store, "pharmacist-referred", "tech.rivera") == set()  # not a technician's queue
    with store.session() as s:
        referral, criteria = referral_brief(s, to_pharmacist)
    assert referral.to == "pharmacist" and referral.summary == "dose above label"
    assert referral.by_username == "tech.rivera" and criteria.result == "not-met" and criteria.source == "referral"


def test_demo_referrals_carry_a_summary_and_sit_in_the_physician_queue(workflow_store):
    store = workflow_store
    demo.generate(store, 300, seed=5)
    with store.session() as s:
        referred = s.scalars(select(Case.tar).where(Case.status == "referred")).all()
        assert referred
        for tar in referred:
            referral, criteria = referral_brief(s, tar)
            assert referral.summary and referral.question and referral.by_username
            assert criteria.result in ("not-met", "no-criteria", "incomplete")
    assert set(referred) <= queue_tars(store, "referred", "dr.morales")
