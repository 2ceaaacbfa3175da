"""Random action sequences by random users through the real services on the encrypted store (Hypothesis).

Each step asks a service to act. A refusal must write nothing (same case version, events and audit records); a
refusal for the case's state must agree with the pure state machine. An accepted action must agree with the state
machine too, and add exactly one event and one audit record. After every step the stored case is in a legal state,
the same one as the model, and no accepted event is missing; at the end the audit chain verifies.
"""
from __future__ import annotations

from datetime import timedelta

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from app.domain.case_states import CaseFlow
from app.services import audit, cases as svc
from app.services.cases import ActionRefused, CriteriaCitation, InvalidInput
from app.store.models import AuditRecord, CaseEvent, CaseWorkflow
from tests.workflow.conftest import ADULT, CHILD

USERS = st.sampled_from(["nurse.nguyen", "nurse.garcia", "lead.patel", "tech.rivera", "pharmd.kim", "dr.shah",
                         "dr.lee", "coord.jones", "auditor.brown", "admin"])


class WorkflowMachine(RuleBasedStateMachine):
    def __init__(self, store, make_case):
        super().__init__()
        self.store, self.make_case = store, make_case
        self.tar = None
        self.model = CaseFlow()
        self.accepted = 1  # the 'received' event

    @initialize(category=st.sampled_from(["outpatient", "medication", "bh-sud"]), child=st.booleans())
    def new_case(self, category, child):
        self.tar = self.make_case(category=category, birth=CHILD if child else ADULT,
                                  lines=(("A1", 4), ("A2", 2)))

    def counts(self) -> tuple[int, int, int]:
        with self.store.session() as session:
            case = svc.case_by_tar(session, self.tar)
            events = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
            records = session.scalar(select(func.count()).select_from(AuditRecord)
                                     .where(AuditRecord.case_id == case.id))
            return case.version, events, records

    def attempt(self, kind: str, facts: dict, action, *args, **kwargs) -> None:
        before = self.counts()
        try:
            with self.store.session() as session, session.begin():
                action(session, self.tar, *args, **kwargs)
        except ActionRefused as refused:
            assert self.counts() == before
            if refused.kind == "state" and "already recorded as involved" not in str(refused):
                assert self.model.refusal(kind, **facts) is not None, (kind, str(refused))
            assert str(refused)
            return
        except InvalidInput:
            assert self.counts() == before
            return
        assert self.model.refusal(kind, **facts) is None, (kind, facts, self.model)
        self.model = self.model.apply(kind, **facts)
        self.accepted += 1
        version, events, records = before
        assert self.counts() == (version + 1, events + 1, records + 1)

    @rule(user=USERS)
    def claim(self, user):
        self.attempt("claimed", {}, svc.claim_case, user)

    @rule(user=USERS, to=USERS)
    def assign(self, user, to):
        self.attempt("assigned", {}, svc.assign_case, user, to, "rebalancing")

    @rule(user=USERS)
    def pend(self, user):
        self.attempt("pended", {}, svc.pend_case, user, missing="clinical notes")

    @rule(user=USERS)
    def information_received(self, user):
        self.attempt("information-received", {}, svc.record_information_received, user)

    @rule(user=USERS, to=st.sampled_from(["physician", "pharmacist", "same-specialty"]))
    def refer(self, user, to):
        self.attempt("referred", {"target": to}, svc.refer_case, user, to=to, summary="summary",
                     question="question?", specialty="Psychiatry")

    @rule(user=USERS, outcome=st.sampled_from(["approve", "partial", "deny"]),
          basis=st.sampled_from(["medical-necessity", "benefit"]),
          result=st.sampled_from([None, "criteria-met", "not-met", "incomplete", "no-criteria"]))
    def decide(self, user, outcome, basis, result):
        word = {"approve": "approved", "partial": "partially-approved", "deny": "denied"}[outcome]
        self.attempt("determined", {"outcome": word}, svc.decide_case, user, outcome=outcome, basis=basis,
                     rationale="rationale", member_reason="reason", lines={1: 2} if outcome == "partial" else None,
                     criteria=[CriteriaCitation("set-a", "1")], criteria_result=result)

    @rule(user=USERS)
    def withdraw(self, user):
        self.attempt("determined", {"outcome": "withdrawn"}, svc.withdraw_case, user, note="provider called")

    @rule(user=USERS, reason=st.sampled_from(["member-request", "provider-request", "information-needed"]))
    def extend(self, user, reason):
        self.attempt("extended", {}, svc.extend_case, user, reason=reason, note="in the member's interest")

    @rule(user=USERS, recipient=st.sampled_from(["provider", "member"]))
    def notify(self, user, recipient):
        self.attempt("notified", {"recipient": recipient}, svc.record_notification, user, recipient=recipient)

    @rule(user=USERS)
    def close(self, user):
        self.attempt("closed", {}, svc.close_case, user)

    @rule(user=USERS, reason=st.sampled_from(["peer-to-peer", "appeal"]))
    def reopen(self, user, reason):
        self.attempt("reopened", {"reason": reason}, svc.reopen_case, user, reason=reason, note="outcome")

    @rule(user=USERS, hours=st.integers(1, 30))
    def correct_received(self, user, hours):
        received = self.make_case.case(self.tar).received_at
        self.attempt("received-date-corrected", {}, svc.correct_received_date, user,
                     received_at=received - timedelta(hours=hours), reason="fax log")

    @rule(user=USERS)
    def declare_involvement(self, user):
        self.attempt("involvement-declared", {}, svc.declare_involvement, user, note="treating physician")

    @invariant()
    def stored_case_matches_the_model(self):
        if self.tar is None:
            return
        with self.store.session() as session:
            case = svc.case_by_tar(session, self.tar)
            workflow = session.get(CaseWorkflow, case.id)
            stored = svc._flow(case, workflow)
            events = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
            determined = session.scalars(select(CaseEvent.payload).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "determined")
                .order_by(CaseEvent.occurred_at.desc()).limit(1)).first()
        assert stored.violations() == []
        assert stored == self.model
        assert events == self.accepted
        assert case.outcome == (determined["outcome"] if determined else None)
        assert (case.decided_at is None) == (determined is None)

    def teardown(self):
        if self.tar is not None:
            report = audit.verify(self.store)
            assert report.ok, report.first_problem


def test_random_action_sequences_never_reach_an_illegal_state(local_workflow_store, make_local_case):
    run_state_machine_as_test(lambda: WorkflowMachine(local_workflow_store, make_local_case),
                              settings=settings(max_examples=40, stateful_step_count=30, deadline=None))
