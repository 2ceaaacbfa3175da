"""Appeals through the services on encrypted SQLite and PostgreSQL: filing and its refusals (nothing half-written),
the 60 days and aid paid pending at their edges, the expedited track, the extension, independence, upheld /
overturned / partially overturned with their determinations and letters, missed clocks, the queues and figures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.domain.plantime import PLAN_TZ, to_plan
from app.services import appeals
from app.services import cases as svc
from app.services import letters
from app.store.models import Appeal, AppealTask, AuditRecord, Case, CaseEvent, CaseWorkflow, Letter, User
from app.store.worklist import WorklistQuery, viewer_for
from tests.appeals.conftest import do, plan_instant


def now() -> datetime:
    return datetime.now(timezone.utc)


def state(store) -> tuple[int, int, int, int, int]:
    """(appeals, appeal tasks, case events, audit records, letters) in the store."""
    with store.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Appeal, AppealTask, CaseEvent, AuditRecord, Letter))


def events(store, tar: str, kind: str) -> list[CaseEvent]:
    with store.session() as session:
        return list(session.scalars(select(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
                                    .where(Case.tar == tar, CaseEvent.kind == kind).order_by(CaseEvent.occurred_at)))


def appeal_of(store, tar: str) -> dict:
    with store.session() as session, session.begin():
        return appeals.show_appeals(session, tar, "coord.jones")["appeals"][0]


def file(store, tar, *, actor: str = "coord.jones", **kwargs):
    values = dict(filed_by="member", received_at=now(), note="The member says the pain is worse; new MRI attached.")
    values.update(kwargs)
    return do(store, appeals.file_appeal, tar, actor, **values)


# ----- filing ----------------------------------------------------------------------------------------------------
def test_filing_records_the_appeal_its_clocks_its_event_and_the_acknowledgement(workflow_store, denials):
    tar = denials(days_ago=20)
    before = state(workflow_store)
    received = now() - timedelta(minutes=30)
    file(workflow_store, tar, received_at=received, channel="writing")
    appeal = appeal_of(workflow_store, tar)
    assert appeal["status"] == "in-review" and appeal["reviewer"] == "dr.ito"  # the independent orthopaedist
    assert appeal["timely"] and appeal["notice_source"] == "issued-letter"
    notice = to_plan(now()).date() - timedelta(days=20)
    assert appeal["notice_date"] == notice.isoformat()
    assert appeal["filing_deadline"] == (notice + timedelta(days=60)).isoformat()
    due = datetime.fromisoformat(appeal["clocks"]["resolution_due"])
    assert due.date() == to_plan(received).date() + timedelta(days=30) and due.time().isoformat() == "23:59:59"
    ack = datetime.fromisoformat(appeal["clocks"]["acknowledgement_due"])
    assert ack.date() == to_plan(received).date() + timedelta(days=5)
    filed = events(workflow_store, tar, "appeal-filed")  # the event the peer-to-peer feature looks for
    assert len(filed) == 1 and filed[0].payload["appeal_id"] == appeal["appeal_id"]
    assert filed[0].payload["channel"] == "writing" and filed[0].payload["expedited"] is False
    letters_ = appeal["letters"]
    assert [(l["kind"], l["recipient"], l["status"]) for l in letters_] == [("appeal-acknowledgement", "member",
                                                                          "draft")]
    assert datetime.fromisoformat(letters_[0]["mail_by"]) == ack
    after = state(workflow_store)
    assert after[0] == before[0] + 1 and after[2] == before[2] + 1 and after[3] > before[3]
    with workflow_store.session() as session:  # the new information is on the case's notes too
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert any("new MRI" in note.text for note in case.notes)


@pytest.mark.parametrize("setup,message", [
    ("approved", "no adverse determination"),
    ("undecided", "no adverse determination"),
    ("second", "already has an open appeal"),
    ("representative", "written authorization on file"),
])
def test_refused_filings_write_nothing(workflow_store, denials, setup, message):
    if setup == "approved":
        tar = denials.make()
        do(workflow_store, svc.claim_case, tar, "dr.morales")
        do(workflow_store, svc.decide_case, tar, "dr.morales", outcome="approve", rationale="ok")
    elif setup == "undecided":
        tar = denials.make()
    else:
        tar = denials()
    if setup == "second":
        file(workflow_store, tar)
    before = state(workflow_store)
    with pytest.raises(svc.ActionRefused, match=message):
        file(workflow_store, tar, **({"filed_by": "representative", "representative": "Ana Ruiz"}
                                     if setup == "representative" else {}))
    assert state(workflow_store) == before


def test_a_representative_with_the_authorization_on_file_may_appeal(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar, filed_by="representative", representative="Ana Ruiz", authorization="AOR form 11/20")
    appeal = appeal_of(workflow_store, tar)
    assert appeal["filed_by"] == "representative" and appeal["authorization"] == "AOR form 11/20"


@pytest.mark.parametrize("kwargs,message", [
    ({"filed_by": "neighbour"}, "filed by one of"),
    ({"channel": "pigeon"}, "how it came"),
    ({"note": "  "}, "give a note"),
    ({"received_at": datetime(2026, 11, 20, 9, 0)}, "time zone"),
    ({"received_at": datetime.now(timezone.utc) + timedelta(days=2)}, "in the future"),
    ({"continue_service": True}, "aid paid pending"),
])
def test_bad_input_is_refused_with_what_to_change(workflow_store, denials, kwargs, message):
    tar = denials()
    before = state(workflow_store)
    with pytest.raises(svc.InvalidInput, match=message):
        file(workflow_store, tar, **kwargs)
    assert state(workflow_store) == before


def test_only_staff_may_file_and_an_auditor_may_not(workflow_store, denials):
    tar = denials()
    with pytest.raises(svc.ActionRefused, match="Auditor only reads"):
        file(workflow_store, tar, actor="auditor.brown")
    file(workflow_store, tar, actor="nurse.nguyen")  # any UM staff member may log one


def test_a_late_appeal_is_recorded_late_and_reviewed_under_the_default_policy(workflow_store, denials):
    tar = denials(days_ago=61)
    file(workflow_store, tar)
    appeal = appeal_of(workflow_store, tar)
    assert appeal["timely"] is False and appeal["days_late"] == 1 and appeal["status"] == "in-review"
    assert events(workflow_store, tar, "appeal-filed")[0].payload["late_policy"] == "review"


def test_day_60_is_in_time(workflow_store, denials):
    tar = denials(days_ago=60)
    file(workflow_store, tar)
    assert appeal_of(workflow_store, tar)["timely"] is True


def test_supervisor_review_policy_holds_a_late_appeal_for_good_cause(workflow_store, denials, tmp_path, monkeypatch):
    from app.letters import templates

    plan = templates.PLAN_FILE.read_text().replace('late_appeals = "review"', 'late_appeals = "supervisor-review"')
    changed = tmp_path / "plan.toml"
    changed.write_text(plan)
    monkeypatch.setattr(templates, "PLAN_FILE", changed)
    templates.reload()
    try:
        tar = denials(days_ago=75)
        file(workflow_store, tar)
        appeal = appeal_of(workflow_store, tar)
        assert appeal["status"] == "late-review" and appeal["reviewer"] is None
        assert [t["task"] for t in appeal["tasks"]] == ["decide-late-appeal"]
        with pytest.raises(svc.ActionRefused, match="supervisor"):
            do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="upheld", reason="x")
        with pytest.raises(svc.ActionRefused, match="may not accept a late appeal"):
            do(workflow_store, appeals.accept_late_appeal, tar, "coord.jones", note="hospitalized")
        do(workflow_store, appeals.accept_late_appeal, tar, "lead.patel", note="Member was in hospital until 11/2")
        appeal = appeal_of(workflow_store, tar)
        assert appeal["status"] == "in-review" and appeal["reviewer"] == "dr.ito"
        assert appeal["tasks"][0]["done_at"] is not None
    finally:
        monkeypatch.undo()
        templates.reload()


# ----- aid paid pending --------------------------------------------------------------------------------------------
def _termination(store, denials, *, days_ago: int, effective_in: int) -> tuple[str, object]:
    """A concurrent (ongoing) service reduced `days_ago` days ago, noticed that day, effective `effective_in` days
    after the notice."""
    tar = denials(days_ago=days_ago, timing="concurrent", outcome="partial", issue=False)
    notice_day = to_plan(now()).date() - timedelta(days=days_ago)
    with store.session() as session, session.begin():
        letter = next(l for l in letters.case_letters(session, tar) if l.recipient == "member")
        letters.set_effective_date(session, letter.id, "coord.jones", notice_day + timedelta(days=effective_in))
    denials.issue(tar, at=plan_instant(notice_day, 11))
    return tar, notice_day


@pytest.mark.parametrize("days_after,applies", [(10, True), (11, False)])
def test_aid_paid_pending_within_10_days_of_the_notice(workflow_store, denials, days_after, applies):
    tar, notice_day = _termination(workflow_store, denials, days_ago=days_after, effective_in=10)
    file(workflow_store, tar, continue_service=True)
    appeal = appeal_of(workflow_store, tar)
    assert appeal["aid_paid_pending"] == {"applies": applies, "requested": True,
                                          "deadline": (notice_day + timedelta(days=10)).isoformat(),
                                          "effective_date": (notice_day + timedelta(days=10)).isoformat()}
    tasks = [t["task"] for t in appeal["tasks"]]
    assert ("continue-authorization" in tasks) is applies


@pytest.mark.parametrize("days_after,applies", [(14, True), (15, False)])
def test_aid_paid_pending_until_a_later_effective_date(workflow_store, denials, days_after, applies):
    tar, notice_day = _termination(workflow_store, denials, days_ago=days_after, effective_in=14)
    file(workflow_store, tar, continue_service=True)
    appeal = appeal_of(workflow_store, tar)
    assert appeal["aid_paid_pending"]["applies"] is applies
    assert appeal["aid_paid_pending"]["deadline"] == (notice_day + timedelta(days=14)).isoformat()


def test_the_continue_authorization_task_is_done_with_an_event(workflow_store, denials):
    tar, _ = _termination(workflow_store, denials, days_ago=3, effective_in=12)
    file(workflow_store, tar, continue_service=True)
    with workflow_store.session() as session:
        assert [row.tar for row in appeals.open_tasks(session)] == [tar]
    with pytest.raises(svc.ActionRefused, match="may not complete an appeal task"):
        do(workflow_store, appeals.complete_task, tar, "dr.shah", task="continue-authorization")
    do(workflow_store, appeals.complete_task, tar, "coord.jones", task="continue-authorization",
       note="authorization 90-day extension entered")
    assert events(workflow_store, tar, "appeal-task-done")[0].payload["task"] == "continue-authorization"
    with workflow_store.session() as session:
        assert appeals.open_tasks(session) == []
    with pytest.raises(svc.ActionRefused, match="no open task"):
        do(workflow_store, appeals.complete_task, tar, "coord.jones", task="continue-authorization")


# ----- the expedited track and the extension ------------------------------------------------------------------------
def test_a_members_expedited_request_can_be_moved_to_standard_with_a_notice(workflow_store, denials):
    tar = denials()
    received = now() - timedelta(hours=2)
    file(workflow_store, tar, expedited=True, received_at=received)
    appeal = appeal_of(workflow_store, tar)
    assert appeal["clocks"]["track"] == "expedited" and appeal["letters"] == []  # no acknowledgement on 72 hours
    assert datetime.fromisoformat(appeal["clocks"]["resolution_due"]) == to_plan(received + timedelta(hours=72)) \
        .replace(microsecond=0)
    with pytest.raises(svc.ActionRefused, match="may not move an expedited appeal"):
        do(workflow_store, appeals.deny_expedited, tar, "coord.jones", reason="x")
    do(workflow_store, appeals.deny_expedited, tar, "nurse.nguyen", reason="Stable; no risk in 30 days")
    appeal = appeal_of(workflow_store, tar)
    assert appeal["expedited"] is False and appeal["clocks"]["track"] == "standard"
    assert datetime.fromisoformat(appeal["clocks"]["resolution_due"]).date() == \
        to_plan(received).date() + timedelta(days=30)
    (ack,) = appeal["letters"]
    assert ack["kind"] == "appeal-acknowledgement"
    # the written notice of the denied expedited request is due within 2 calendar days, before the 5-day ack
    assert datetime.fromisoformat(ack["mail_by"]).date() == to_plan(now()).date() + timedelta(days=2)
    with pytest.raises(svc.ActionRefused, match="already on the standard track"):
        do(workflow_store, appeals.deny_expedited, tar, "nurse.nguyen", reason="again")


def test_a_providers_expedited_request_is_granted(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar, filed_by="provider", expedited=True)
    before = state(workflow_store)
    with pytest.raises(svc.ActionRefused, match="438.410"):
        do(workflow_store, appeals.deny_expedited, tar, "nurse.nguyen", reason="x")
    assert state(workflow_store) == before


def test_one_extension_of_up_to_14_days_with_its_notice(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar)
    due = datetime.fromisoformat(appeal_of(workflow_store, tar)["clocks"]["resolution_due"])
    with pytest.raises(svc.ActionRefused, match="1 to 14"):
        do(workflow_store, appeals.extend_appeal, tar, "nurse.nguyen", reason="member-request", note="asked",
           days=15)
    do(workflow_store, appeals.extend_appeal, tar, "nurse.nguyen", reason="information-needed",
       note="Waiting for the surgeon's notes, which could change the outcome in the member's favour", days=10)
    appeal = appeal_of(workflow_store, tar)
    assert datetime.fromisoformat(appeal["clocks"]["resolution_due"]) == due + timedelta(days=10)
    notice = [l for l in appeal["letters"] if l["kind"] == "appeal-extension"]
    assert len(notice) == 1 and datetime.fromisoformat(notice[0]["mail_by"]).date() == \
        to_plan(now()).date() + timedelta(days=2)
    before = state(workflow_store)
    with pytest.raises(svc.ActionRefused, match="only once"):
        do(workflow_store, appeals.extend_appeal, tar, "nurse.nguyen", reason="member-request", note="again")
    assert state(workflow_store) == before


# ----- independence and deciding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("username,message", [
    ("nurse.nguyen", "UM nurse may not decide an appeal"),
    ("coord.jones", "UM coordinator may not decide an appeal"),
    ("pharmd.kim", "Clinical pharmacist may not decide an appeal"),
    ("dr.morales", "made the determination under appeal"),
    ("dr.brooks", "reports? to dr.morales, who made the determination"),
    ("dr.shah", "not the same as or similar to Orthopaedic Surgery"),
    ("dr.nakamura", "Family Medicine, is not the same as or similar"),
    ("dr.lee", "works Behavioral health"),
])
def test_only_an_independent_physician_of_the_specialty_decides(workflow_store, denials, username, message):
    tar = denials()
    with workflow_store.session() as session, session.begin():  # the plan's other orthopaedist is away
        session.scalar(select(User).where(User.username == "dr.ito")).active = False
    file(workflow_store, tar)
    assert appeal_of(workflow_store, tar)["status"] == "awaiting-reviewer"  # and a task says to route it
    before = state(workflow_store)
    with pytest.raises(svc.ActionRefused, match=message):
        do(workflow_store, appeals.decide_appeal, tar, username, result="upheld", reason="It stands.")
    with pytest.raises(svc.ActionRefused, match=message):  # a coordinator cannot route it to them either
        do(workflow_store, appeals.route_appeal, tar, "coord.jones", username)
    assert state(workflow_store) == before


def test_routing_finds_an_independent_physician_of_a_similar_specialty(workflow_store, denials):
    tar = denials(specialty="Physical Medicine and Rehabilitation", decider="dr.ito")
    with workflow_store.session() as session, session.begin():
        session.scalar(select(User).where(User.username == "dr.brooks")).active = False
    file(workflow_store, tar)
    appeal = appeal_of(workflow_store, tar)  # orthopaedics is similar; dr.morales reports to dr.shah, not dr.ito
    assert appeal["reviewer"] == "dr.morales" and appeal["tasks"] == []


def test_a_physician_takes_an_appeal_nobody_holds(workflow_store, denials):
    tar = denials(specialty="Internal Medicine")
    with workflow_store.session() as session, session.begin():  # both internists are away when it comes in
        for username in ("dr.nakamura", "dr.shah"):
            session.scalar(select(User).where(User.username == username)).active = False
    file(workflow_store, tar)
    assert [t["task"] for t in appeal_of(workflow_store, tar)["tasks"]] == ["assign-reviewer"]
    with workflow_store.session() as session, session.begin():
        session.scalar(select(User).where(User.username == "dr.shah")).active = True
    do(workflow_store, appeals.route_appeal, tar, "dr.shah", "dr.shah")  # dr.morales's supervisor may review
    appeal = appeal_of(workflow_store, tar)
    assert appeal["reviewer"] == "dr.shah" and appeal["tasks"][0]["done_at"] is not None
    with pytest.raises(svc.ActionRefused, match="with dr.shah"):
        do(workflow_store, appeals.route_appeal, tar, "dr.ito", "dr.ito")


def test_routing_to_someone_already_holding_it_and_by_a_physician_for_someone_else(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar)
    with pytest.raises(svc.ActionRefused, match="already with dr.ito"):
        do(workflow_store, appeals.route_appeal, tar, "coord.jones", "dr.ito")
    with pytest.raises(svc.ActionRefused, match="take an appeal for themself"):
        do(workflow_store, appeals.route_appeal, tar, "dr.shah", "dr.ito")
    with pytest.raises(svc.ActionRefused, match="only they may decide"):
        do(workflow_store, appeals.decide_appeal, tar, "dr.nakamura", result="upheld", reason="x")


def test_a_decision_without_a_reason_writes_nothing(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar)
    before = state(workflow_store)
    with pytest.raises(svc.InvalidInput, match="reason"):
        do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="overturned", reason=" ")
    with pytest.raises(svc.InvalidInput, match="one of: upheld, overturned, partial"):
        do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="maybe", reason="x")
    with pytest.raises(svc.InvalidInput, match="partial overturn says how many"):
        do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="partial", reason="x")
    assert state(workflow_store) == before
    with workflow_store.session() as session:
        assert session.scalar(select(Case.status).where(Case.tar == tar)) == "determined"


def test_overturn_makes_a_new_determination_and_its_approval_notice_the_same_day(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar)
    do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="overturned",
       reason="The new MRI shows the nerve is pressed. Therapy is needed now.")
    with workflow_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        workflow = session.get(CaseWorkflow, case.id)
        assert (case.outcome, case.status, case.assignee.username) == ("approved", "determined", "dr.ito")
        determination = session.get(CaseEvent, workflow.determination_event_id)
        appeal = session.scalar(select(Appeal).where(Appeal.case_id == case.id))
        assert appeal.new_determination_event_id == determination.id and appeal.result == "overturned"
        assert determination.payload["decided_by"]["username"] == "dr.ito"
        assert determination.payload["supersedes"] is not None
        approval = session.scalars(select(Letter).where(Letter.source_event_id == determination.id)).all()
        assert sorted((l.kind, l.recipient) for l in approval) == [("approval", "member"), ("approval", "provider")]
        end_of_day = datetime.combine(to_plan(now()).date(), datetime.max.time(), PLAN_TZ)
        assert all(l.mail_by_at is not None and l.mail_by_at <= end_of_day for l in approval)
    assert [e.kind for e in events(workflow_store, tar, "reopened")] == ["reopened"]
    assert events(workflow_store, tar, "reopened")[0].payload["reason"] == "appeal"
    appeal = appeal_of(workflow_store, tar)
    nar = sorted((l["kind"], l["recipient"]) for l in appeal["letters"] if l["kind"] == "appeal-resolution")
    assert nar == [("appeal-resolution", "member"), ("appeal-resolution", "provider")]
    assert appeal["status"] == "resolved" and appeal["clocks"]["breached"] == []


def test_partial_overturn_approves_more_and_its_nar_is_the_notice(workflow_store, denials):
    tar = denials(outcome="partial")  # 3 of 6 units on line 1, line 2 (4 units) approved
    file(workflow_store, tar)
    with pytest.raises(svc.InvalidInput, match="line 1: approve 3 to 6"):
        do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="partial", reason="x", approve={1: 2})
    with pytest.raises(svc.InvalidInput, match="that is an overturn"):
        do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="partial", reason="x", approve={1: 6})
    do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="partial",
       reason="We now approve 5 of the 6 therapy visits.", approve={1: 5})
    with workflow_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert case.outcome == "partially-approved"
        determination = session.get(CaseEvent, session.get(CaseWorkflow, case.id).determination_event_id)
        assert [l["approved_units"] for l in determination.payload["lines"]] == [5, 4]
        mod = session.scalars(select(Letter).where(Letter.source_event_id == determination.id)).all()
        assert mod and all(l.status == "superseded" for l in mod)  # the NAR is this determination's notice
    nar = next(l for l in appeal_of(workflow_store, tar)["letters"]
               if l["recipient"] == "member" and l["kind"] == "appeal-resolution")
    with workflow_store.session() as session, session.begin():
        letters.issue_letter(session, nar["letter_id"], "coord.jones")
    with workflow_store.session() as session, session.begin():
        letters.mark_mailed(session, nar["letter_id"], "coord.jones")
    appeal = appeal_of(workflow_store, tar)
    assert appeal["status"] == "closed" and appeal["notice_sent_at"] is not None
    with workflow_store.session() as session:
        workflow = session.scalar(select(CaseWorkflow).join(Case).where(Case.tar == tar))
        assert workflow.member_notified_at is not None  # the partial determination's member notice
    with pytest.raises(svc.ActionRefused, match="next step is a State Hearing"):
        file(workflow_store, tar)


def test_upheld_keeps_the_determination_and_closes_when_the_nar_is_mailed(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar)
    version_before = do(workflow_store, lambda s: s.scalar(select(Case.outcome).where(Case.tar == tar)))
    do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="upheld",
       reason="Hot tubs are not a Medi-Cal benefit, even with a doctor's order.")
    assert do(workflow_store, lambda s: s.scalar(select(Case.outcome).where(Case.tar == tar))) == version_before
    assert events(workflow_store, tar, "reopened") == []
    appeal = appeal_of(workflow_store, tar)
    member = next(l for l in appeal["letters"] if l["kind"] == "appeal-resolution" and l["recipient"] == "member")
    with workflow_store.session() as session, session.begin():
        letters.issue_letter(session, member["letter_id"], "coord.jones")
        letters.mark_mailed(session, member["letter_id"], "coord.jones")
    appeal = appeal_of(workflow_store, tar)
    assert appeal["status"] == "closed"
    assert [e.payload["letter"] for e in events(workflow_store, tar, "appeal-notice-sent")] == ["appeal-resolution"]
    with pytest.raises(svc.ActionRefused, match="no open appeal"):
        do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result="overturned", reason="x")


def test_the_acknowledgement_mailed_completes_its_clock(workflow_store, denials):
    tar = denials()
    file(workflow_store, tar)
    ack = appeal_of(workflow_store, tar)["letters"][0]
    with workflow_store.session() as session, session.begin():
        letters.issue_letter(session, ack["letter_id"], "coord.jones")
        letters.mark_mailed(session, ack["letter_id"], "coord.jones")
    appeal = appeal_of(workflow_store, tar)
    assert appeal["acknowledged_at"] is not None and appeal["clocks"]["acknowledged"] is not None


def test_a_missed_appeal_clock_is_recorded_once_as_a_breach(workflow_store, denials):
    tar = denials(days_ago=45)
    received = now() - timedelta(days=40)
    file(workflow_store, tar, received_at=received, at=received)
    appeal = appeal_of(workflow_store, tar)
    assert set(appeal["clocks"]["breached"]) == {"resolution", "notice", "acknowledgement"}
    assert appeal["clocks"]["state_hearing_deemed"] is True
    with workflow_store.session() as session, session.begin():
        first = appeals.record_appeal_breaches(session, now())
    with workflow_store.session() as session, session.begin():
        again = appeals.record_appeal_breaches(session, now())
    assert sorted(first) == [(tar, "acknowledgement"), (tar, "resolution")] and again == []
    breaches = events(workflow_store, tar, "appeal-clock-breached")
    assert sorted(e.payload["clock"] for e in breaches) == ["acknowledgement", "resolution"]
    assert all(e.actor_id is None for e in breaches)


def test_dismissal_closes_the_appeal_and_its_tasks(workflow_store, denials):
    tar, _ = _termination(workflow_store, denials, days_ago=2, effective_in=12)
    file(workflow_store, tar, continue_service=True)
    with pytest.raises(svc.ActionRefused, match="may not dismiss"):
        do(workflow_store, appeals.dismiss_appeal, tar, "coord.jones", reason="withdrawn")
    do(workflow_store, appeals.dismiss_appeal, tar, "lead.patel", reason="Withdrawn by the member by phone")
    appeal = appeal_of(workflow_store, tar)
    assert appeal["status"] == "dismissed" and all(t["done_at"] for t in appeal["tasks"])
    file(workflow_store, tar, continue_service=True)  # a dismissed appeal does not stop a new one


# ----- queues and figures ------------------------------------------------------------------------------------------
def test_appeal_queues_are_sorted_by_the_clock_and_paged_in_sql(workflow_store, denials):
    tars = [denials() for _ in range(3)]
    received = [now() - timedelta(days=d) for d in (0, 3, 1)]
    for tar, at in zip(tars, received):
        file(workflow_store, tar, received_at=at)
    file_expedited = denials()
    file(workflow_store, file_expedited, expedited=True, filed_by="provider")
    with workflow_store.session() as session:
        coordinator = viewer_for(session, "coord.jones")
        query = WorklistQuery("appeals-due", coordinator)
        assert query.count(session) == 4
        rows = query.page(session, 0, 10)
        assert [r.tar for r in rows][0] == file_expedited  # 72 hours comes before 30 days
        assert [r.tar for r in rows[1:]] == [tars[1], tars[2], tars[0]]
        assert [r.due_at for r in rows] == sorted(r.due_at for r in rows)
        assert rows[0].urgency == "urgent" and rows[0].status.startswith("Appeal:")
        assert [r.tar for r in query.page(session, 1, 2)] == [tars[1], tars[2]]
        assert WorklistQuery("appeals-due", coordinator, sort_column="due", descending=True).page(session, 0, 1)[0] \
            .tar == tars[0]
        ito = viewer_for(session, "dr.ito")
        assert WorklistQuery("appeals-to-review", ito).count(session) == 4
        assert WorklistQuery("appeals-to-review", viewer_for(session, "dr.shah")).count(session) == 0
        assert WorklistQuery("appeals-to-review", viewer_for(session, "nurse.nguyen")).count(session) == 0
        filtered = WorklistQuery("appeals-due", coordinator, filter_text=tars[2][-4:])
        assert [r.tar for r in filtered.page(session, 0, 10)] == [tars[2]]


def test_figures_count_appeals_overturn_rates_and_approved_after_appeal(workflow_store, denials):
    from app.store.appeal_reports import appeal_report
    from app.store.reports import cms_report

    outcomes = ["overturned", "upheld", "upheld", "partial"]
    for result in outcomes:
        tar = denials(outcome="partial" if result == "partial" else "deny")
        file(workflow_store, tar, filed_by="provider" if result == "upheld" else "member")
        do(workflow_store, appeals.decide_appeal, tar, "dr.ito", result=result, reason="Decided on appeal.",
           approve={1: 5} if result == "partial" else None)
    today = to_plan(now()).date()
    with workflow_store.session() as session:
        report = appeal_report(session, today - timedelta(days=1), today)
        cms = cms_report(session, today.year)
    assert report["filed"]["appeals"] == 4 and report["filed"]["by_filer"] == {"member": 2, "provider": 2}
    resolved = report["resolved"]
    assert (resolved["appeals"], resolved["upheld"], resolved["overturned"], resolved["partially_overturned"]) == \
        (4, 2, 1, 1)
    assert resolved["overturn_rate"] == 50.0 and resolved["full_overturn_rate"] == 25.0
    assert resolved["standard"]["percent_in_time"] == 100.0
    assert report["by_service_category"] == [{"service_category": "outpatient", "resolved": 4, "overturned": 2,
                                              "overturn_rate": 50.0}]
    standard = cms["standard"]  # the overturned case is now approved: 1 of the standard determinations this year
    assert standard["percent_approved_after_appeal"] == round(100 / standard["determinations"], 1)
