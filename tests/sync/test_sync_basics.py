"""Sync end to end against a real PostgreSQL and a real server process: sign in, pull, work offline, push."""
from __future__ import annotations

from sqlalchemy import func, select

from app.services import cases as svc
from app.store.models import CaseEvent, SyncMutation, SyncOutbox


def test_first_sync_pulls_the_team_queue_and_a_claim_goes_up(central, laptops):
    tar = central.new_case(category="outpatient")
    laptop = laptops("nurse.nguyen")  # outpatient team
    report = laptop.sync()
    assert laptop.case(tar) is not None and report.pulled_cases >= 1
    laptop.act(svc.claim_case, tar)
    assert laptop.status()["pending"] == 1
    report = laptop.sync()
    assert report.pushed == 1 and report.applied == 1
    on_server = central.case(tar)
    assert on_server.assignee.username == "nurse.nguyen" and on_server.status == "in-review"
    here = laptop.case(tar)
    assert here.version == on_server.version and laptop.status()["pending"] == 0
    with central.store.session() as session:
        assert session.scalar(select(func.count()).select_from(SyncMutation)
                              .where(SyncMutation.tar == tar)) == 1
    with laptop.store.session() as session:
        events = session.scalar(select(func.count()).select_from(CaseEvent)
                                .where(CaseEvent.case_id == here.id))
        assert events == 2
        assert session.scalar(select(SyncOutbox.state).where(SyncOutbox.tar == tar)) == "done"
