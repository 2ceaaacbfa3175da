"""The case lifecycle state machine: every state x event, the guards, and random action sequences (Hypothesis)."""
from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.domain.case_states import (
    OPEN_STATES, OUTCOMES, STATES, TRANSITIONS, CaseFlow, IllegalTransition, flow_of, is_open,
)

UNDECIDED = {"received", "in-review", "pended", "referred"}
# Written from issue 6, scope 3 (and docs/workflow.md), independently of TRANSITIONS.
EXPECTED_FROM = {
    "claimed": set(STATES) - {"closed"},
    "assigned": set(STATES) - {"closed"},
    "pended": {"received", "in-review", "referred"},
    "information-received": {"pended"},
    "referred": UNDECIDED,
    "determined": UNDECIDED | {"determined"},
    "extended": UNDECIDED,
    "received-date-corrected": set(STATES),
    "involvement-declared": set(STATES),
    "notified": {"determined", "notified"},
    "closed": {"determined", "notified"},
    "reopened": {"determined", "notified", "closed"},
}
FACTS = {"referred": {"target": "physician"}, "determined": {"outcome": "approved"},
         "notified": {"recipient": "member"}, "reopened": {"reason": "appeal"}}


def flow_in(state: str) -> CaseFlow:
    """A consistent flow in `state`: a denial, provider notified when notified or closed."""
    decided = state in ("determined", "notified", "closed")
    return CaseFlow(
        state=state, outcome="denied" if decided else None,
        pended_from="in-review" if state == "pended" else None,
        referred_to="physician" if state == "referred" else None,
        provider_notified=state in ("notified", "closed"), member_notified=state == "closed")


def test_open_means_before_closed():
    assert set(OPEN_STATES) == set(STATES) - {"closed"}
    assert not is_open("closed") and all(is_open(s) for s in OPEN_STATES)


def test_every_event_kind_is_covered():
    assert set(TRANSITIONS) == set(EXPECTED_FROM)


@pytest.mark.parametrize("kind,state", list(itertools.product(EXPECTED_FROM, STATES)))
def test_each_state_and_event(kind, state):
    flow = flow_in(state)
    if kind == "closed" and state in ("determined", "notified"):
        flow = replace(flow, outcome="withdrawn")  # needs no notice: only the state decides here
    facts = FACTS.get(kind, {})
    if state in EXPECTED_FROM[kind]:
        after = flow.apply(kind, **facts)
        assert after.violations() == []
    else:
        with pytest.raises(IllegalTransition) as refused:
            flow.apply(kind, **facts)
        assert STATES[state].lower() in str(refused.value)


def test_the_happy_path_and_where_each_step_leads():
    flow = CaseFlow()
    steps = [("claimed", {}, "in-review"), ("pended", {}, "pended"), ("information-received", {}, "in-review"),
             ("referred", {"target": "physician"}, "referred"), ("pended", {}, "pended"),
             ("information-received", {}, "referred"), ("determined", {"outcome": "denied"}, "determined"),
             ("notified", {"recipient": "provider"}, "notified"), ("notified", {"recipient": "member"}, "notified"),
             ("closed", {}, "closed"), ("reopened", {"reason": "peer-to-peer"}, "in-review"),
             ("determined", {"outcome": "approved"}, "determined")]
    for kind, facts, state in steps:
        flow = flow.apply(kind, **facts)
        assert flow.state == state, kind
        assert flow.violations() == []
    assert flow.outcome == "approved" and not flow.provider_notified


def test_pending_remembers_where_to_return():
    referred = CaseFlow().apply("referred", target="pharmacist")
    pended = referred.apply("pended")
    assert pended.pended_from == "referred" and pended.referred_to == "pharmacist"
    assert pended.apply("information-received").state == "referred"
    with pytest.raises(IllegalTransition, match="already pended"):
        pended.apply("pended")


def test_closing_needs_the_notices_the_outcome_requires():
    for outcome, needed in (("approved", {"provider"}), ("partially-approved", {"provider", "member"}),
                            ("denied", {"provider", "member"}), ("withdrawn", set()),
                            ("administratively-closed", set())):
        flow = CaseFlow().apply("determined", outcome=outcome)
        if needed:
            with pytest.raises(IllegalTransition, match="cannot close"):
                flow.apply("closed")
        for recipient in sorted(needed):
            flow = flow.apply("notified", recipient=recipient)
        assert flow.apply("closed").state == "closed"


def test_a_notified_determination_is_changed_only_by_reopening():
    flow = CaseFlow().apply("determined", outcome="denied").apply("notified", recipient="provider")
    with pytest.raises(IllegalTransition, match="peer-to-peer or appeal"):
        flow.apply("determined", outcome="approved")
    with pytest.raises(IllegalTransition, match="already recorded"):
        flow.apply("notified", recipient="provider")
    assert flow.apply("reopened", reason="appeal").apply("determined", outcome="approved").state == "determined"


def test_only_adverse_determinations_are_reopened():
    for outcome in OUTCOMES:
        flow = CaseFlow().apply("determined", outcome=outcome)
        if outcome in ("denied", "partially-approved"):
            assert flow.apply("reopened", reason="peer-to-peer").state == "in-review"
        else:
            with pytest.raises(IllegalTransition, match="denial or a modification"):
                flow.apply("reopened", reason="peer-to-peer")


def test_bad_facts_are_refused():
    flow = CaseFlow()
    for kind, facts in (("referred", {"target": "friend"}), ("determined", {"outcome": "maybe"}),
                        ("unknown-kind", {})):
        with pytest.raises(IllegalTransition):
            flow.apply(kind, **facts)


def test_extension_only_before_the_decision():
    decided = CaseFlow().apply("determined", outcome="approved")
    with pytest.raises(IllegalTransition, match="precede the decision"):
        decided.apply("extended")


def test_flow_of_a_stored_case_without_a_workflow_row():
    assert flow_of("pended", None) == CaseFlow("pended", None, "in-review", None)
    assert flow_of("referred", None).referred_to == "physician"
    assert flow_of("notified", "approved").provider_notified
    assert flow_of("closed", "denied").member_notified
    for state, outcome in itertools.product(STATES, [None, *OUTCOMES]):
        if state in ("determined", "notified", "closed") and outcome is None:
            continue
        assert flow_of(state, outcome).violations() == [], (state, outcome)


EVENTS = st.sampled_from([
    ("claimed", {}), ("assigned", {}), ("pended", {}), ("information-received", {}),
    *[("referred", {"target": t}) for t in ("physician", "pharmacist", "same-specialty", "nobody")],
    *[("determined", {"outcome": o}) for o in (*OUTCOMES, "undecided")],
    ("extended", {}), ("received-date-corrected", {}), ("involvement-declared", {}),
    *[("notified", {"recipient": r}) for r in ("provider", "member", "neighbour")],
    ("closed", {}), *[("reopened", {"reason": r}) for r in ("peer-to-peer", "appeal", "whim")],
])


class FlowMachine(RuleBasedStateMachine):
    """Random action sequences: the flow never reaches an illegal state, and no accepted event is lost."""

    def __init__(self):
        super().__init__()
        self.flow = CaseFlow()
        self.log: list[tuple[str, dict, str]] = []
        self.attempts = 0

    @rule(event=EVENTS)
    def act(self, event):
        kind, facts = event
        self.attempts += 1
        before = self.flow
        message = before.refusal(kind, **facts)
        try:
            after = before.apply(kind, **facts)
        except IllegalTransition as refused:
            assert message == str(refused) and message
            assert self.flow is before
            return
        assert message is None
        self.log.append((kind, facts, after.state))
        self.flow = after
        if kind in ("claimed", "assigned", "extended", "received-date-corrected", "involvement-declared"):
            assert after.state == (before.state if (kind != "claimed" or before.state != "received")
                                   else "in-review")

    @invariant()
    def legal(self):
        assert self.flow.violations() == []
        assert self.flow.state in STATES

    @invariant()
    def no_event_lost(self):
        # Replaying the accepted events from the start reaches the same flow.
        replay = CaseFlow()
        for kind, facts, state in self.log:
            replay = replay.apply(kind, **facts)
            assert replay.state == state
        assert replay == self.flow
        assert len(self.log) <= self.attempts


TestFlowMachine = FlowMachine.TestCase
TestFlowMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
