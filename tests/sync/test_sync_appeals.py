"""Appeals and sync, against a real PostgreSQL and a real server process: an appeal filed offline is the same appeal
centrally (same id, same clocks, same events); an appeal overturned offline reopens the case and redetermines it
centrally with the same event ids and the same approval letters; two filings of one determination make one appeal
and one conflict; who reports to whom reaches the laptops."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.services import appeals, audit
from app.services import cases as svc
from app.store.models import Appeal, AppealTask, CaseEvent, CaseWorkflow, Letter, SyncConflict, SyncOutbox, User

PT = svc.CriteriaCitation("outpatient-physical-therapy", "2026.1")
REASON = "Medi-Cal does not cover this service. Your doctor can ask for other care we cover."


def denied(central) -> str:
    """A case denied centrally by dr.morales (Orthopaedic Surgery), its letters drafted (a coordinator's queue)."""
    now = datetime.now(timezone.utc)
    tar = central.new_case(category="outpatient", received=now - timedelta(hours=5))
    with central.store.session() as session, session.begin():
        case = svc.case_by_tar(session, tar)
        member = case.member
        member.address_line, member.city, member.state, member.postal_code = "1 Elm St", "Napa", "CA", "94558"
        case.requesting_provider.specialty = "Orthopaedic Surgery"
    central.act(svc.claim_case, tar, "dr.morales", at=now - timedelta(hours=4))
    central.act(svc.decide_case, tar, "dr.morales", outcome="deny", basis="benefit", rationale="Not a benefit",
                member_reason=REASON, criteria=[PT], criteria_result="not-met", at=now - timedelta(hours=3))
    return tar


def filing(**extra) -> dict:
    return {"filed_by": "member", "received_at": datetime.now(timezone.utc) - timedelta(minutes=10),
            "note": "The member says the pain is worse; new MRI attached.", **extra}


def appeal_rows(store, tar: str) -> list[dict]:
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        return [{"id": a.id, "status": a.status, "received_at": a.received_at, "rule_set": a.rule_set,
                 "resolution_due_at": a.resolution_due_at, "acknowledgement_due_at": a.acknowledgement_due_at,
                 "reviewer": a.reviewer.username if a.reviewer else None, "result": a.result,
                 "resolution_event_id": a.resolution_event_id,
                 "new_determination_event_id": a.new_determination_event_id,
                 "tasks": sorted((str(t.id), t.kind, t.done_at is not None) for t in session.scalars(
                     select(AppealTask).where(AppealTask.appeal_id == a.id)))}
                for a in session.scalars(select(Appeal).where(Appeal.case_id == case.id))]


def events_of(store, tar: str) -> list[tuple]:
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        return sorted((str(i), k, at) for i, k, at in session.execute(
            select(CaseEvent.id, CaseEvent.kind, CaseEvent.occurred_at).where(CaseEvent.case_id == case.id)))


def letters_of(store, tar: str) -> list[tuple]:
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        return sorted((str(letter.id), letter.kind, letter.recipient, letter.status) for letter in session.scalars(
            select(Letter).where(Letter.case_id == case.id)))


def test_an_appeal_filed_offline_is_the_same_appeal_centrally(central, laptops):
    tar = denied(central)
    coordinator = laptops("coord.jones")
    coordinator.sync()
    assert coordinator.case(tar) is not None  # its letters are to go out: in the coordinator's queue
    coordinator.act(appeals.file_appeal, tar, **filing())  # offline
    mine = appeal_rows(coordinator.store, tar)
    assert len(mine) == 1 and mine[0]["reviewer"] == "dr.ito"  # routed to an independent orthopaedic surgeon
    with coordinator.store.session() as session:
        assert [row.intent for row in session.scalars(select(SyncOutbox).where(SyncOutbox.tar == tar))] == [
            "appeal-file"]
    laptop_events = events_of(coordinator.store, tar)
    report = coordinator.sync()
    assert (report.applied, report.conflicts) == (1, 0)
    held = appeal_rows(central.store, tar)
    assert held == mine  # the same id, received instant, rule set, clocks and reviewer
    assert events_of(central.store, tar) == laptop_events  # the appeal-filed event has the laptop's id and instant
    assert appeal_rows(coordinator.store, tar) == held  # the laptop holds the central store's copy: the same
    acknowledgement = [row for row in letters_of(central.store, tar) if row[1] == "appeal-acknowledgement"]
    assert acknowledgement and acknowledgement == [row for row in letters_of(coordinator.store, tar)
                                                   if row[1] == "appeal-acknowledgement"]
    assert audit.verify(coordinator.store).ok and audit.verify(central.store).ok


def test_an_appeal_overturned_offline_redetermines_centrally_with_the_same_ids(central, laptops):
    tar = denied(central)
    central.act(appeals.file_appeal, tar, "coord.jones", **filing())
    reviewer = laptops("dr.ito")
    reviewer.sync()
    assert reviewer.case(tar) is not None  # in dr.ito's "Appeals to review"
    reviewer.act(appeals.decide_appeal, tar, result="overturned",
                 reason="The new MRI shows the nerve is pressed. Therapy is needed now.")  # offline
    with reviewer.store.session() as session:
        # one change: the reopening and the new determination inside it write no outbox rows of their own
        assert [row.intent for row in session.scalars(select(SyncOutbox).where(SyncOutbox.tar == tar,
                                                                               SyncOutbox.state == "pending"))] == [
            "appeal-decide"]
    laptop_events = events_of(reviewer.store, tar)
    laptop_letters = letters_of(reviewer.store, tar)
    laptop_appeal = appeal_rows(reviewer.store, tar)
    assert {"reopened", "determined", "appeal-decided"} <= {kind for _, kind, _ in laptop_events}
    report = reviewer.sync()
    assert (report.applied, report.conflicts) == (1, 0)
    case = central.case(tar)
    assert (case.outcome, case.status, case.assignee.username) == ("approved", "determined", "dr.ito")
    assert events_of(central.store, tar) == laptop_events  # reopened, determined, appeal-decided: the same ids
    assert letters_of(central.store, tar) == laptop_letters  # the approval and the NAR: the same letters
    assert appeal_rows(central.store, tar) == laptop_appeal
    with central.store.session() as session:
        workflow = session.get(CaseWorkflow, case.id)
        assert laptop_appeal[0]["new_determination_event_id"] == workflow.determination_event_id
        determination = session.get(CaseEvent, workflow.determination_event_id)
        assert determination.payload["decided_by"]["username"] == "dr.ito"
    assert audit.verify(reviewer.store).ok and audit.verify(central.store).ok


def test_two_filings_of_one_determination_make_one_appeal_and_a_conflict(central, laptops):
    tar = denied(central)
    coordinator = laptops("coord.jones")
    coordinator.sync()
    coordinator.act(appeals.file_appeal, tar, **filing(channel="writing"))  # offline
    central.act(appeals.file_appeal, tar, "lead.patel", **filing())  # meanwhile, by phone, centrally
    report = coordinator.sync()
    assert (report.applied, report.conflicts) == (0, 1)
    assert len(appeal_rows(central.store, tar)) == 1
    with central.store.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one()
        assert (conflict.intent, conflict.kind) == ("appeal-file", "concurrent")
    assert appeal_rows(coordinator.store, tar) == appeal_rows(central.store, tar)  # the central appeal, not its own
    assert coordinator.status()["conflicts"] == 1


def test_who_reports_to_whom_reaches_the_laptops(central, laptops):
    central.user("dr.sync-ortho", role="medical-director", team=None)
    reviewer = laptops("dr.ito")
    reviewer.sync()
    with central.store.session() as session, session.begin():
        appeals.set_supervisor(session, "admin", "dr.sync-ortho", "dr.morales")
    reviewer.sync()
    with reviewer.store.session() as session:
        user = session.scalar(select(User).where(User.username == "dr.sync-ortho"))
        boss = session.get(User, user.supervisor_id)
        assert boss.username == "dr.morales"
