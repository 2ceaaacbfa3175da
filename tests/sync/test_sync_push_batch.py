"""A push applies its batch with what it looked up once (app.services.batch_lookups): never with what it knew
before, and never with a row it read before the batch changed it."""
from __future__ import annotations

from sqlalchemy import select

from app.services import audit, cases as svc
from app.store.models import CaseLease, CaseWorkflow, SyncConflict, User


def test_a_role_changed_between_two_pushes_is_seen_by_the_second(central, laptops):
    lead = central.user("lead.stale", role="nurse-supervisor", team="outpatient")
    first, second = central.new_case(), central.new_case()
    laptop = laptops(lead)
    laptop.sync()
    laptop.act(svc.assign_case, first, assignee_username="nurse.nguyen")
    assert laptop.sync().applied == 1
    assert central.case(first).assignee.username == "nurse.nguyen"
    # The plan takes the supervisor role away centrally; the laptop, offline, still thinks it holds it.
    with central.store.session() as session, session.begin():
        session.scalar(select(User).where(User.username == lead)).role = "um-nurse"
    laptop.act(svc.assign_case, second, assignee_username="nurse.nguyen")
    report = laptop.sync()
    assert report.applied == 0 and report.conflicts == 1
    assert central.case(second).assignee is None
    with central.store.session() as session:
        conflict = session.scalar(select(SyncConflict).where(SyncConflict.tar == second))
        assert conflict.kind == "refused" and "nurse supervisor" in conflict.reason


def test_changes_on_one_case_in_one_batch_each_see_what_the_one_before_wrote(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    # Offline: the claim makes the lease, the pend the workflow row, the information received reads it back.
    nurse.act(svc.claim_case, tar)
    nurse.act(svc.pend_case, tar, missing=["therapy notes"])
    nurse.act(svc.record_information_received, tar, note="notes faxed")
    report = nurse.sync()
    assert report.applied == 3 and report.conflicts == 0
    on_server = central.case(tar)
    assert on_server.status == nurse.case(tar).status == "in-review"
    with central.store.session() as session:
        workflow = session.get(CaseWorkflow, on_server.id)
        assert workflow is not None and workflow.pend_event_id is not None
        assert session.get(CaseLease, on_server.id).username == "nurse.nguyen"
    report = audit.verify(central.store)
    assert report.ok, report
