"""A push applies its batch with what it looked up once (app.services.batch_lookups): never with what it knew
before, and never with a row it read before the batch changed it; a refusal undoes only its own change; and what
was pushed comes back once."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.services import audit, cases as svc
from app.store.models import Case, CaseEvent, CaseLease, CaseWorkflow, SyncConflict, SyncMutation, SyncOutbox, User
from app.sync import client


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


def test_a_refusal_in_a_chunk_undoes_only_that_change_and_the_chunk_is_done_again_carefully(central, laptops):
    """The push applies changes a chunk at a time without a savepoint each (app.server.push._apply_chunk); a change
    the rules refuse rolls its chunk back and the chunk is done again change by change. More changes than a chunk
    holds, the refused one in the second chunk: every other change stands once, the refused one is a conflict that
    left nothing behind, and the chains verify."""
    from app.server.push import CHUNK

    tars = [central.new_case() for _ in range(CHUNK + 20)]
    refused = tars[CHUNK + 5]
    other = central.user("nurse.other")
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    for tar in tars:
        nurse.act(svc.claim_case, tar)
    nurse.act(svc.pend_case, tars[0], missing=["therapy notes"])
    # A row changed centrally without an event (so the laptop's base version still matches): the rules, not the
    # version check, must refuse the nurse's claim when it is done again.
    with central.store.session() as session, session.begin():
        case = session.scalar(select(Case).where(Case.tar == refused))
        case.assignee_id = session.scalar(select(User.id).where(User.username == other))
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (len(tars), 1)
    assert central.case(refused).assignee.username == other
    with central.store.session() as session:
        conflict = session.scalar(select(SyncConflict).where(SyncConflict.tar == refused))
        assert conflict.kind == "refused" and other in conflict.reason
        held = dict(session.execute(select(Case.tar, CaseLease.username).join(CaseLease, CaseLease.case_id == Case.id)
                                    .where(Case.tar.in_(tars))).all())
        assert held == {tar: "nurse.nguyen" for tar in tars if tar != refused}
        rows = session.scalars(select(SyncMutation.seq).where(SyncMutation.intent.in_(("claim", "pend")),
                                                              SyncMutation.tar.in_(tars))).all()
        assert len(rows) == len(set(rows)) == len(tars) + 1
        events = session.execute(select(Case.tar, func.count(CaseEvent.id)).join(CaseEvent)
                                 .where(Case.tar.in_(tars), CaseEvent.kind == "claimed").group_by(Case.tar)).all()
        assert dict(events) == {tar: 1 for tar in tars if tar != refused}
    assert central.case(tars[0]).status == "pended"
    report = audit.verify(central.store)
    assert report.ok, report


@pytest.mark.parametrize("asked_per_page", [500, 5])
def test_each_pushed_case_comes_back_once_though_it_is_both_asked_for_and_in_the_change_log(
        central, laptops, monkeypatch, asked_per_page):
    """After a push the laptop asks again for every case it pushed (`refresh`, so many a request), and the change
    log holds them too: over pages of 25 changes (tests/sync/conftest.py), each comes down once. (The nurse's
    notes are merged over the supervisor's assignments made meanwhile, so none is an echo, which would not come
    down at all: tests/sync/test_sync_echoes.py.)"""
    monkeypatch.setattr(client, "REFRESH_PAGE", asked_per_page)
    tars = [central.new_case() for _ in range(30)]
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    for tar in tars:
        nurse.act(svc.declare_involvement, tar, note="saw the member")
        central.act(svc.assign_case, tar, "lead.patel", assignee_username="nurse.nguyen")
    report = nurse.sync()
    assert (report.merged, report.echoes) == (30, 0)
    assert report.pulled_cases == 30
    assert all(nurse.case(tar).assignee.username == "nurse.nguyen" for tar in tars)
    with nurse.store.session() as session:
        states = session.scalars(select(SyncOutbox.state).where(SyncOutbox.tar.in_(tars))).all()
    assert states == ["done"] * 30
