"""The case timeline says every event in words (issue 6, scope 5): each kind the services write is described, with
what matters in it, and no raw payload (ids, dicts, None) reaches the screen."""
from __future__ import annotations

from datetime import timedelta

from app.domain.event_text import describe_event
from app.services import cases
from app.store.case_details import load_case



def test_every_workflow_event_reads_as_words(make_local_case, local_workflow_store):
    store = local_workflow_store
    tar = make_local_case(category="outpatient")
    with store.session() as s, s.begin():
        case = cases.claim_case(s, tar, "nurse.nguyen")
        received = case.received_at
        cases.extend_case(s, tar, "nurse.nguyen", reason="provider-request", note="provider asked for time")
        cases.pend_case(s, tar, "nurse.nguyen", missing=["PT notes", "imaging report"], note="called office")
        cases.record_information_received(s, tar, "nurse.nguyen", note="notes faxed")
        cases.refer_case(s, tar, "nurse.nguyen", to="physician", summary="Criteria not met: no home program.",
                         question="Necessary?", criteria_result="not-met")
        cases.decide_case(s, tar, "dr.morales", outcome="partial", rationale="Half is enough.",
                          member_reason="We approved half of the visits.", lines={1: 3})
        cases.correct_received_date(s, tar, "lead.patel", received_at=received - timedelta(minutes=30),
                                    reason="fax time")
        cases.record_notification(s, tar, "dr.morales", recipient="provider")
        cases.record_notification(s, tar, "dr.morales", recipient="member", method="mail")
        cases.reopen_case(s, tar, "dr.morales", reason="peer-to-peer", note="agreed on 5 visits")
        cases.declare_involvement(s, tar, "nurse.nguyen", note="family friend")
    with store.session() as s:
        timeline = load_case(s, tar, full=True).timeline
    texts = [what for _, _, what in timeline]
    assert len(texts) == 12
    for text in texts:
        assert "{" not in text and "None" not in text and "determination_id" not in text, text
    joined = "\n".join(texts)
    assert "Pended for information: PT notes; imaging report" in joined
    assert "Referred to a physician reviewer by nurse.nguyen. Criteria: Criteria not met. Summary: Criteria not met" \
        in joined
    assert "Determination: Partially approved (medical necessity) by Elena Morales, DO" in joined
    assert "line 1 97110: 3 of 6" in joined and "Reason for the member: We approved half" in joined
    assert "Decision clock extended (extension 1): The provider asked for it" in joined
    assert "Received date corrected:" in joined and "Reason: fax time" in joined
    assert "Notice sent to the member by mail" in joined
    assert "Reopened: peer-to-peer outcome (was partially approved)" in joined
    assert "nurse.nguyen declared involved in the member's care" in joined


def test_criteria_events_read_as_words_with_the_criterion_wording():
    """The checklist's events are worded by app.store.criteria_answers (it knows each criterion's wording: no
    internal ids on screen); the workflow's describe_event leaves them to it."""
    from app.store.criteria_answers import event_text

    assert describe_event("criterion-answered", {"set_id": "med-infliximab", "criterion_id": "tb"}) is None
    assert event_text("fact-recorded", {"name": "dose", "value": {"value": 750.0, "unit": "mg"},
                                        "source": "requester", "note": None}) == \
        "Fact recorded (requester): Dose per administration: 750 mg"
    text = event_text("criterion-answered", {"set_id": "med-infliximab", "criterion_id": "tb", "answer": "met",
                                             "source": "reviewer", "evidence": "IGRA negative"})
    assert text.startswith("Reviewer answered “Tuberculosis screening") and text.endswith("Met; evidence: IGRA negative")
    assert describe_event("something-new", {}) is None  # the caller falls back to its own wording
