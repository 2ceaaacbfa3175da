"""Random laptops, changes, sync points and injected faults (Hypothesis), against the real server process.

Invariants, after a final sync of every laptop: no change is lost (every outbox row the laptops wrote is answered
by the server exactly once: applied, merged or a conflict) and none is applied twice (the central store holds one
event per change applied, plus the supervisor's own); every laptop holds the central store's copy of each case in
its queues; every audit chain verifies, on the laptops and merged on the central store, and the server's copy of
each laptop's chain matches the laptop's.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from sqlalchemy import func, select

from app.cli.audit_server import check
from app.services import audit, cases as svc
from app.services.criteria import InvalidInput as CriteriaInput
from app.store.models import CaseEvent, SyncMutation, SyncOutbox
from app.sync.api import Offline
from tests.sync.conftest import FaultyNetwork
from tests.sync.test_sync_conflicts import events_of, projection, visible_to

ACTIONS = ("claim", "pend", "resume", "involvement", "assign")
REFUSED = (svc.ActionRefused, svc.InvalidInput, CriteriaInput)
# Event kinds the changes below make: one event per accepted change.
KINDS = ("claimed", "pended", "information-received", "involvement-declared", "assigned")


def _do(session, action: str, tar: str, username: str):
    if action == "claim":
        svc.claim_case(session, tar, username)
    elif action == "pend":
        svc.pend_case(session, tar, username, missing=["notes"])
    elif action == "resume":
        svc.record_information_received(session, tar, username, note="arrived")
    elif action == "involvement":
        svc.declare_involvement(session, tar, username, note="saw the member")
    else:
        svc.assign_case(session, tar, username, "nurse.sync2" if username == "lead.patel" else "nurse.nguyen")


@pytest.mark.slow
def test_random_laptops_changes_syncs_and_faults(central, laptops):
    central.user("nurse.sync2")

    class SyncMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.tars = [central.new_case(), central.new_case()]
            self.laptops = [laptops("nurse.nguyen"), laptops("nurse.sync2"), laptops("lead.patel")]
            self.networks = [FaultyNetwork() for _ in self.laptops]
            for laptop in self.laptops:
                laptop.sync()
            self.central_accepted = 0

        @rule(who=st.integers(0, 2), case=st.integers(0, 1), action=st.sampled_from(ACTIONS))
        def work_offline(self, who, case, action):
            laptop = self.laptops[who]
            try:
                with laptop.store.session() as session, session.begin():
                    _do(session, action, self.tars[case], laptop.username)
            except (*REFUSED, svc.NotFound):
                pass  # refused on the laptop: nothing written, nothing to send

        @rule(case=st.integers(0, 1), action=st.sampled_from(("claim", "assign", "involvement", "pend")))
        def supervisor_on_the_central_store(self, case, action):
            try:
                with central.store.session() as session, session.begin():
                    _do(session, action, self.tars[case], "lead.patel")
                self.central_accepted += 1
            except REFUSED:
                pass

        @rule(who=st.integers(0, 2), fault=st.sampled_from(("none", "none", "answer-lost", "before", "pull")))
        def sync(self, who, fault):
            network = self.networks[who]
            if fault in ("answer-lost", "before"):
                network.fail("/v1/push", fault)
            elif fault == "pull":
                network.fail("/v1/pull", "answer-lost")
            try:
                self.laptops[who].sync(transport=network)
            except Offline:
                pass
            network.plan.clear()

        def teardown(self):
            if not hasattr(self, "laptops"):
                return
            try:
                for _ in range(2):
                    for laptop in self.laptops:
                        laptop.sync()
                self.check()
            finally:
                for network in self.networks:
                    network.close()

        def check(self):
            written = set()
            for laptop in self.laptops:
                with laptop.store.session() as session:
                    rows = session.execute(select(SyncOutbox.mutation_id, SyncOutbox.state)).all()
                assert all(state != "pending" for _, state in rows), laptop.username
                written |= {mutation for mutation, _ in rows}
            with central.store.session() as session:
                answered = session.execute(select(SyncMutation.mutation_id, SyncMutation.outcome)
                                           .where(SyncMutation.mutation_id.in_(written))).all()
                assert sorted(m for m, _ in answered) == sorted(written)  # none lost, each answered once
                applied = sum(1 for _, outcome in answered if outcome in ("applied", "merged"))
                ids = [svc.case_by_tar(session, tar).id for tar in self.tars]
                events = session.scalar(select(func.count()).select_from(CaseEvent)
                                        .where(CaseEvent.case_id.in_(ids), CaseEvent.kind.in_(KINDS)))
            assert events == applied + self.central_accepted  # nothing applied twice
            for tar in self.tars:
                truth = central.case(tar)
                for laptop in self.laptops:
                    here = laptop.case(tar)
                    if visible_to(laptop.username, truth, central):
                        assert here is not None and projection(here) == projection(truth), laptop.username
                        assert events_of(laptop.store, tar) == events_of(central.store, tar)
                    else:
                        assert here is None, laptop.username
            assert audit.verify(central.store).ok
            for laptop in self.laptops:
                assert audit.verify(laptop.store).ok
                assert check(laptop.store)["server_copy"]["matches"]

    run_state_machine_as_test(SyncMachine, settings=settings(
        max_examples=int(os.environ.get("UMWS_SYNC_EXAMPLES", "4")), stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
