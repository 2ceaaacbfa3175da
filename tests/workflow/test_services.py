"""The workflow services on encrypted SQLite and PostgreSQL: authority first, then the state machine, then the
event, its audit record and the projection, in one transaction; a refusal writes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.domain.clocks import ClockRequest, decision_due_for
from app.services import audit, cases as svc
from app.services.cases import ActionRefused, CriteriaCitation, InvalidInput
from app.store.models import AuditRecord, CaseEvent, CaseWorkflow
from app.store.reports import decisions_between
from tests.workflow.conftest import CHILD

MET = dict(criteria=[CriteriaCitation("interqual-outpatient-pt", "2026.1")], criteria_result="criteria-met")


def do(store, action, *args, **kwargs):
    with store.session() as session, session.begin():
        result = action(session, *args, **kwargs)
        return result


def refused(store, make_case, tar, action, *args, match=None, kind=None, **kwargs) -> ActionRefused:
    """The action is refused and nothing at all is written."""
    before = make_case.counts(tar)
    with pytest.raises(ActionRefused) as error:
        do(store, action, tar, *args, **kwargs)
    assert make_case.counts(tar) == before
    if match:
        assert match in str(error.value), str(error.value)
    if kind:
        assert error.value.kind == kind
    return error.value


def events(store, tar, kind=None):
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        query = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.occurred_at)
        if kind:
            query = query.where(CaseEvent.kind == kind)
        return session.scalars(query).all()


def workflow(store, tar) -> CaseWorkflow | None:
    with store.session() as session:
        return session.get(CaseWorkflow, svc.case_by_tar(session, tar).id)


def test_nurse_approves_when_criteria_are_met(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    version, count, records = make_case.counts(tar)
    case = do(workflow_store, svc.decide_case, tar, "nurse.nguyen", outcome="approve", rationale="Meets PT criteria",
              **MET)
    assert case.status == "determined" and case.outcome == "approved" and case.decided_at is not None
    assert make_case.counts(tar) == (version + 1, count + 1, records + 1)
    (event,) = events(workflow_store, tar, "determined")
    payload = event.payload
    assert payload["lines"] == [
        {"line_number": 1, "code": "97110", "requested_units": 6, "approved_units": 6, "outcome": "approved"},
        {"line_number": 2, "code": "97140", "requested_units": 4, "approved_units": 4, "outcome": "approved"}]
    assert payload["decided_by"]["username"] == "nurse.nguyen" and payload["decided_by"]["credential"] == "RN"
    assert payload["criteria"] == [{"set_id": "interqual-outpatient-pt", "version": "2026.1"}]
    assert payload["basis"] == "medical-necessity" and payload["supersedes"] is None
    assert payload["determination_id"] == str(event.id)
    assert workflow(workflow_store, tar).determination_event_id == event.id


def test_nurse_may_not_deny_for_medical_necessity(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    error = refused(workflow_store, make_case, tar, svc.decide_case, "nurse.nguyen", outcome="deny",
                    rationale="x", member_reason="y", match="Only a physician")
    assert error.who == ("medical-director",) and "Medical director" in str(error)
    refused(workflow_store, make_case, tar, svc.decide_case, "nurse.nguyen", outcome="partial", lines={1: 2},
            rationale="x", member_reason="y", match="Only a physician")


def test_nurse_approval_needs_the_criteria_result_and_a_citation(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    refused(workflow_store, make_case, tar, svc.decide_case, "nurse.nguyen", outcome="approve", rationale="x",
            match="record the criteria result")
    refused(workflow_store, make_case, tar, svc.decide_case, "nurse.nguyen", outcome="approve", rationale="x",
            criteria_result="not-met", match="criteria are not met")
    refused(workflow_store, make_case, tar, svc.decide_case, "nurse.nguyen", outcome="approve", rationale="x",
            criteria_result="no-criteria", match="same or similar specialty")
    with pytest.raises(InvalidInput, match="cite the criteria set"):
        do(workflow_store, svc.decide_case, tar, "nurse.nguyen", outcome="approve", rationale="x",
           criteria_result="criteria-met")
    with pytest.raises(InvalidInput, match="clinical rationale"):
        do(workflow_store, svc.decide_case, tar, "nurse.nguyen", outcome="approve", rationale="  ", **MET)


def test_referral_to_a_physician_who_denies(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    case = do(workflow_store, svc.refer_case, tar, "nurse.nguyen", to="physician",
              summary="PT x6 requested; no trial of home exercise documented", question="Medically necessary?")
    assert case.status == "referred" and case.assignee is None
    assert workflow(workflow_store, tar).referred_to == "physician"
    (event,) = events(workflow_store, tar, "referred")
    assert event.payload["summary"].startswith("PT x6") and event.payload["question"] == "Medically necessary?"
    refused(workflow_store, make_case, tar, svc.decide_case, "nurse.nguyen", outcome="approve", rationale="x",
            **MET, match="referred to a physician reviewer")
    refused(workflow_store, make_case, tar, svc.claim_case, "nurse.garcia", match="Medical director")
    do(workflow_store, svc.claim_case, tar, "dr.shah")
    with pytest.raises(InvalidInput, match="plain language"):
        do(workflow_store, svc.decide_case, tar, "dr.shah", outcome="deny", rationale="No home program tried")
    case = do(workflow_store, svc.decide_case, tar, "dr.shah", outcome="deny", rationale="No home program tried",
              member_reason="Your records do not show that you tried exercises at home first.")
    assert case.outcome == "denied" and case.assignee.username == "dr.shah"
    wf = workflow(workflow_store, tar)
    assert wf.referred_to is None and wf.criteria_result is None


def test_partial_approval_per_line(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "dr.morales")
    for lines, match in ((None, "how many units"), ({1: 6, 2: 4}, "that is an approval"),
                         ({1: 0, 2: 0}, "that is a denial"), ({1: 7}, "0 to 6"), ({3: 1}, "no line 3")):
        with pytest.raises(InvalidInput, match=match):
            do(workflow_store, svc.decide_case, tar, "dr.morales", outcome="partial", lines=lines,
               rationale="r", member_reason="m")
    case = do(workflow_store, svc.decide_case, tar, "dr.morales", outcome="partial", lines={1: 3, 2: 0},
              rationale="Three visits suffice", member_reason="We approved 3 of the 6 visits asked for.")
    assert case.outcome == "partially-approved"
    lines = events(workflow_store, tar, "determined")[0].payload["lines"]
    assert [(line["approved_units"], line["outcome"]) for line in lines] == [(3, "partially-approved"),
                                                                             (0, "denied")]
    with pytest.raises(InvalidInput, match="approves every unit"):
        do(workflow_store, svc.decide_case, tar, "dr.morales", outcome="approve", lines={1: 3}, rationale="r")


def test_a_new_determination_supersedes_the_old_one(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "dr.shah")
    do(workflow_store, svc.decide_case, tar, "dr.shah", outcome="approve", rationale="ok")
    case = do(workflow_store, svc.decide_case, tar, "dr.shah", outcome="deny", rationale="Wrong member",
              member_reason="plain")
    first, second = events(workflow_store, tar, "determined")
    assert second.payload["supersedes"] == str(first.id) and first.payload["supersedes"] is None
    assert case.outcome == "denied" and case.decided_at == second.occurred_at
    assert workflow(workflow_store, tar).determination_event_id == second.id


def test_pharmacy_technician_escalates_to_pharmacist_who_refers_to_physician(workflow_store, make_case):
    tar = make_case(category="medication", lines=(("J1745", 3),))
    do(workflow_store, svc.claim_case, tar, "tech.rivera")
    refused(workflow_store, make_case, tar, svc.decide_case, "tech.rivera", outcome="approve", rationale="x",
            criteria_result="not-met", match="Clinical pharmacist")
    refused(workflow_store, make_case, tar, svc.refer_case, "tech.rivera", to="physician", summary="s",
            match="escalates to a Clinical pharmacist")
    do(workflow_store, svc.refer_case, tar, "tech.rivera", to="pharmacist", summary="Step therapy not documented")
    refused(workflow_store, make_case, tar, svc.claim_case, "tech.rivera", match="Clinical pharmacist")
    do(workflow_store, svc.claim_case, tar, "pharmd.kim")
    refused(workflow_store, make_case, tar, svc.decide_case, "pharmd.kim", outcome="deny", rationale="x",
            member_reason="y", match="Only a physician")
    do(workflow_store, svc.refer_case, tar, "pharmd.kim", to="physician", summary="Recommend denial: no TB test")
    case = do(workflow_store, svc.decide_case, tar, "dr.shah", outcome="deny", rationale="No TB screening",
              member_reason="A TB test is needed before this drug.")
    assert case.outcome == "denied"
    assert [e.payload["to"] for e in events(workflow_store, tar, "referred")] == ["pharmacist", "physician"]


def test_technician_approves_a_medication_tar_that_meets_criteria(workflow_store, make_case):
    tar = make_case(category="medication", lines=(("J1745", 3),))
    do(workflow_store, svc.claim_case, tar, "tech.rivera")
    case = do(workflow_store, svc.decide_case, tar, "tech.rivera", outcome="approve", rationale="P&T criteria met",
              criteria=[CriteriaCitation("pt-infliximab")], criteria_result="criteria-met")
    assert case.outcome == "approved"
    other = make_case(category="dme")
    refused(workflow_store, make_case, other, svc.claim_case, "tech.rivera", match="Medication")


def test_epsdt_a_nurse_may_not_deny_a_child_even_as_not_a_covered_benefit(workflow_store, make_case):
    adult, child = make_case(category="dme"), make_case(category="dme", birth=CHILD)
    for tar in (adult, child):
        do(workflow_store, svc.claim_case, tar, "nurse.okafor")
    refused(workflow_store, make_case, child, svc.decide_case, "nurse.okafor", outcome="deny", basis="benefit",
            rationale="Not a covered benefit", member_reason="m", match="under 21 (EPSDT)")
    case = do(workflow_store, svc.decide_case, adult, "nurse.okafor", outcome="deny", basis="benefit",
              rationale="Not a covered benefit", member_reason="This item is not covered by Medi-Cal.")
    assert case.outcome == "denied"
    payload = events(workflow_store, adult, "determined")[0].payload
    assert payload["basis"] == "benefit" and payload["member_under_21"] is False


def test_someone_involved_in_the_members_care_may_not_decide(workflow_store, make_case):
    tar = make_case()
    sibling = make_case(same_member_as=tar)
    do(workflow_store, svc.claim_case, tar, "dr.shah")
    do(workflow_store, svc.declare_involvement, tar, "dr.shah", note="I am the member's PCP")
    refused(workflow_store, make_case, tar, svc.decide_case, "dr.shah", outcome="approve", rationale="r",
            match="involved in this member's care", kind="conflict")
    do(workflow_store, svc.claim_case, sibling, "dr.shah")
    refused(workflow_store, make_case, sibling, svc.decide_case, "dr.shah", outcome="approve", rationale="r",
            kind="conflict")
    refused(workflow_store, make_case, tar, svc.declare_involvement, "dr.shah", note="again",
            match="already recorded")
    refused(workflow_store, make_case, tar, svc.declare_involvement, "nurse.garcia", note="n",
            involved_username="dr.morales", match="only your own")
    do(workflow_store, svc.declare_involvement, tar, "lead.patel", note="treated her in 2024",
       involved_username="dr.morales")
    refused(workflow_store, make_case, tar, svc.assign_case, "lead.patel", "dr.lee", match="Behavioral health")
    do(workflow_store, svc.assign_case, tar, "lead.patel", "dr.morales")
    refused(workflow_store, make_case, tar, svc.decide_case, "dr.morales", outcome="approve", rationale="r",
            kind="conflict")
    assert [e.payload["user"] for e in events(workflow_store, tar, "involvement-declared")] == ["dr.shah",
                                                                                              "dr.morales"]


def test_extension_by_a_nurse_moves_the_due(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    before = make_case.case(tar)
    refused(workflow_store, make_case, tar, svc.extend_case, "coord.jones", reason="member-request", note="n",
            match="UM coordinator")
    with pytest.raises(InvalidInput):
        do(workflow_store, svc.extend_case, tar, "nurse.nguyen", reason="software-decided", note="n")
    case = do(workflow_store, svc.extend_case, tar, "nurse.nguyen", reason="provider-request",
              note="Provider is sending the MRI report")
    request = ClockRequest("medi-cal", "pre-service", "routine", "other", before.received_at)
    assert case.extensions_taken == 1
    assert case.decision_due_at == decision_due_for(request, 1) > before.decision_due_at
    payload = events(workflow_store, tar, "extended")[0].payload
    assert payload["reason"] == "provider-request" and payload["number"] == 1


def test_extension_after_the_due_or_after_the_decision_is_refused(workflow_store, make_case):
    late = make_case(received=datetime.now(timezone.utc) - timedelta(days=20))
    do(workflow_store, svc.claim_case, late, "nurse.nguyen")
    refused(workflow_store, make_case, late, svc.extend_case, "nurse.nguyen", reason="member-request", note="n",
            match="before the current decision due", kind="clock")
    post = make_case(timing="post-service")
    do(workflow_store, svc.claim_case, post, "nurse.nguyen")
    refused(workflow_store, make_case, post, svc.extend_case, "nurse.nguyen", reason="member-request", note="n",
            match="never extended", kind="clock")
    decided = make_case()
    do(workflow_store, svc.claim_case, decided, "dr.shah")
    do(workflow_store, svc.decide_case, decided, "dr.shah", outcome="approve", rationale="ok")
    refused(workflow_store, make_case, decided, svc.extend_case, "dr.shah", reason="member-request", note="n",
            match="precede the decision", kind="state")


def test_correcting_the_received_date_needs_a_supervisor_and_a_reason(workflow_store, make_case):
    tar = make_case()
    original = make_case.case(tar)
    earlier = original.received_at - timedelta(days=2)
    refused(workflow_store, make_case, tar, svc.correct_received_date, "nurse.nguyen", received_at=earlier,
            reason="fax date", match="Nurse lead / supervisor")
    refused(workflow_store, make_case, tar, svc.correct_received_date, "admin", received_at=earlier,
            reason="fax date")
    with pytest.raises(InvalidInput, match="reason"):
        do(workflow_store, svc.correct_received_date, tar, "lead.patel", received_at=earlier, reason=" ")
    with pytest.raises(InvalidInput, match="future"):
        do(workflow_store, svc.correct_received_date, tar, "lead.patel",
           received_at=datetime.now(timezone.utc) + timedelta(days=1), reason="r")
    case = do(workflow_store, svc.correct_received_date, tar, "lead.patel", received_at=earlier,
              reason="The fax arrived two days earlier (fax log 11/21)")
    assert case.received_at == earlier
    assert case.decision_due_at == decision_due_for(ClockRequest("medi-cal", "pre-service", "routine", "other",
                                                                 earlier))
    (event,) = events(workflow_store, tar, "received-date-corrected")
    assert event.payload["reason"].startswith("The fax") and event.payload["from"] != event.payload["to"]
    with workflow_store.session() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.what == "received-date-corrected")).one()
    import json
    body = json.loads(record.body)
    assert body["before"]["received_at"] == svc.iso_utc(original.received_at)
    assert body["after"]["received_at"] == svc.iso_utc(earlier) and record.actor == "lead.patel"


def test_pending_records_what_is_missing_and_stops_no_clock(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    due = make_case.case(tar).decision_due_at
    with pytest.raises(InvalidInput, match="missing"):
        do(workflow_store, svc.pend_case, tar, "nurse.nguyen", missing=["  "])
    case = do(workflow_store, svc.pend_case, tar, "nurse.nguyen", missing=["operative report", "X-ray"])
    assert case.status == "pended" and case.decision_due_at == due
    assert events(workflow_store, tar, "pended")[0].payload["missing"] == ["operative report", "X-ray"]
    refused(workflow_store, make_case, tar, svc.pend_case, "nurse.nguyen", missing="more", match="already pended")
    case = do(workflow_store, svc.record_information_received, tar, "coord.jones", note="fax 11/24")
    assert case.status == "in-review" and case.assignee.username == "nurse.nguyen"
    do(workflow_store, svc.refer_case, tar, "nurse.nguyen", to="physician", summary="s")
    do(workflow_store, svc.claim_case, tar, "dr.shah")
    assert do(workflow_store, svc.pend_case, tar, "dr.shah", missing="PT notes").status == "pended"
    assert do(workflow_store, svc.record_information_received, tar, "dr.shah").status == "referred"
    assert make_case.case(tar).decision_due_at == due


def test_notices_then_close(workflow_store, make_case):
    approved, denied = make_case(), make_case()
    for tar, outcome in ((approved, "approve"), (denied, "deny")):
        do(workflow_store, svc.claim_case, tar, "dr.shah")
        do(workflow_store, svc.decide_case, tar, "dr.shah", outcome=outcome, rationale="r", member_reason="m")
    refused(workflow_store, make_case, approved, svc.close_case, "coord.jones", match="provider notification")
    refused(workflow_store, make_case, approved, svc.record_notification, "auditor.brown", recipient="provider",
            match="Auditor only reads")
    assert do(workflow_store, svc.record_notification, approved, "coord.jones", recipient="provider",
              method="fax").status == "notified"
    assert do(workflow_store, svc.close_case, approved, "coord.jones").status == "closed"
    do(workflow_store, svc.record_notification, denied, "coord.jones", recipient="provider")
    refused(workflow_store, make_case, denied, svc.close_case, "coord.jones", match="member notification")
    do(workflow_store, svc.record_notification, denied, "coord.jones", recipient="member", method="mail")
    refused(workflow_store, make_case, denied, svc.record_notification, "coord.jones", recipient="member",
            match="already recorded")
    assert do(workflow_store, svc.close_case, denied, "coord.jones").status == "closed"
    wf = workflow(workflow_store, denied)
    assert wf.provider_notified_at and wf.member_notified_at


def test_a_physician_reopens_a_denial_with_a_peer_to_peer_outcome(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "dr.shah")
    do(workflow_store, svc.decide_case, tar, "dr.shah", outcome="deny", rationale="r", member_reason="m")
    do(workflow_store, svc.record_notification, tar, "coord.jones", recipient="provider")
    refused(workflow_store, make_case, tar, svc.decide_case, "dr.shah", outcome="approve", rationale="r",
            match="peer-to-peer or appeal")
    refused(workflow_store, make_case, tar, svc.reopen_case, "lead.patel", reason="peer-to-peer", note="n",
            match="Medical director")
    case = do(workflow_store, svc.reopen_case, tar, "dr.morales", reason="peer-to-peer",
              note="Surgeon explained the failed home program")
    assert case.status == "in-review" and case.assignee.username == "dr.morales" and case.outcome == "denied"
    case = do(workflow_store, svc.decide_case, tar, "dr.morales", outcome="approve", rationale="P2P")
    assert case.outcome == "approved"
    first, second = events(workflow_store, tar, "determined")
    assert second.payload["supersedes"] == str(first.id)


def test_withdrawal_and_administrative_closure(workflow_store, make_case):
    tar, dup = make_case(), make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    case = do(workflow_store, svc.withdraw_case, tar, "nurse.nguyen", note="Provider called to withdraw")
    assert case.outcome == "withdrawn" and case.decided_at is not None
    assert do(workflow_store, svc.close_case, tar, "nurse.nguyen").status == "closed"
    refused(workflow_store, make_case, dup, svc.close_administratively, "tech.rivera", reason="dup")
    do(workflow_store, svc.claim_case, dup, "nurse.nguyen")
    case = do(workflow_store, svc.close_administratively, dup, "nurse.nguyen", reason=f"duplicate of {tar}")
    assert case.outcome == "administratively-closed"


def test_a_held_case_and_a_stale_version(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    error = refused(workflow_store, make_case, tar, svc.pend_case, "nurse.garcia", missing="x",
                    match="held by nurse.nguyen")
    assert error.who == ("nurse-supervisor", "administrator")
    version = make_case.case(tar).version
    refused(workflow_store, make_case, tar, svc.pend_case, "nurse.nguyen", missing="x",
            expected_version=version - 1, match="changed since you opened it")
    do(workflow_store, svc.pend_case, tar, "nurse.nguyen", missing="x", expected_version=version)


def test_every_action_is_one_audit_record_and_the_chain_verifies(workflow_store, make_case):
    tar = make_case()
    steps = [(svc.claim_case, "nurse.nguyen", {}),
             (svc.pend_case, "nurse.nguyen", {"missing": "notes"}),
             (svc.record_information_received, "coord.jones", {}),
             (svc.extend_case, "nurse.nguyen", {"reason": "information-needed", "note": "n"}),
             (svc.refer_case, "nurse.nguyen", {"to": "physician", "summary": "s"}),
             (svc.decide_case, "dr.shah", {"outcome": "approve", "rationale": "r"}),
             (svc.record_notification, "coord.jones", {"recipient": "provider"}),
             (svc.close_case, "coord.jones", {})]
    for action, user, kwargs in steps:
        version, count, records = make_case.counts(tar)
        do(workflow_store, action, tar, user, **kwargs)
        assert make_case.counts(tar) == (version + 1, count + 1, records + 1), action.__name__
    with workflow_store.session() as session:
        case = svc.case_by_tar(session, tar)
        records = session.scalars(select(AuditRecord).where(AuditRecord.case_id == case.id)
                                  .order_by(AuditRecord.seq)).all()
    assert [r.what for r in records] == ["received", "claimed", "pended", "information-received", "extended",
                                         "referred", "determined", "notified", "closed"]
    assert records[0].action == "create" and records[0].actor == "system"
    assert {r.action for r in records[1:]} == {"change"}
    assert [r.actor for r in records[1:3]] == ["nurse.nguyen", "nurse.nguyen"]
    report = audit.verify(workflow_store)
    assert report.ok, report.first_problem


def test_projection_columns_and_reports_follow_the_events(workflow_store, make_case):
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    do(workflow_store, svc.extend_case, tar, "nurse.nguyen", reason="member-request", note="member asked")
    case = do(workflow_store, svc.decide_case, tar, "nurse.nguyen", outcome="approve", rationale="r", **MET)
    with workflow_store.session() as session:
        from app.domain.plantime import to_plan

        day = to_plan(case.decided_at).date()
        rows = [row for row in decisions_between(session, day, day) if row.tar == tar]
    assert len(rows) == 1
    assert rows[0].outcome == "approved" and rows[0].extensions_taken == 1
    assert rows[0].decided_at == case.decided_at and rows[0].decision_due_at == case.decision_due_at


def test_view_is_audited_and_inactive_users_are_refused(workflow_store, make_case):
    tar = make_case()
    with workflow_store.session() as session, session.begin():
        data = svc.view_case(session, tar, "auditor.brown")
    assert data["tar"] == tar and data["lines"][0]["code"] == "97110" and "decision_due" in data["clocks"]
    with workflow_store.session() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "view")).one()
    assert (record.actor, record.what, record.tar) == ("auditor.brown", "case", tar)
    with workflow_store.session() as session, session.begin():
        svc.user_by_name(session, "nurse.chen").active = False
    refused(workflow_store, make_case, tar, svc.claim_case, "nurse.chen", match="not active")


def test_available_actions_for_the_gui(workflow_store, make_case):
    tar = make_case()
    with workflow_store.session() as session:
        nurse = svc.available_actions(session, tar, "nurse.nguyen")
        coordinator = svc.available_actions(session, tar, "coord.jones")
        auditor = svc.available_actions(session, tar, "auditor.brown")
    assert nurse["claim"] is None and nurse["pend"] is None and nurse["refer"] is None
    assert nurse["reopen"] is not None and "Medical director" in nurse["reopen"].reason
    assert nurse["notify"] is not None and "determination first" in nurse["notify"].reason
    assert nurse["correct-received-date"] is not None
    assert all(coordinator[a] is not None for a in ("claim", "pend", "approve", "deny", "refer", "extend"))
    assert all(refusal is not None for refusal in auditor.values())
