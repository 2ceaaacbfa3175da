"""The case lifecycle as an explicit state machine (issue 6, scope 3). Pure Python: no Qt, no database.

    received → in-review → pended (for information) → referred (pharmacist, physician, same-specialty reviewer)
             → determined (approved, partially approved, denied, withdrawn, administratively closed)
             → notified (provider, member) → closed;   reopened by a peer-to-peer or appeal outcome.

"Open" means any state before closed. Every action on a case is an event kind; `TRANSITIONS` says from which
states each kind may happen and where it leads, and `CaseFlow.apply` refuses anything else with
`IllegalTransition`, whose message says why and what to do instead. Pending records what is missing and stops no
clock (the clocks run from the receipt whatever the state: `app.domain.clocks`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

STATES = {
    "received": "Received",
    "in-review": "In review",
    "pended": "Pended for information",
    "referred": "Referred",
    "determined": "Determined",
    "notified": "Notified",
    "closed": "Closed",
}

OPEN_STATES = tuple(state for state in STATES if state != "closed")
UNDECIDED_STATES = ("received", "in-review", "pended", "referred")  # the decision clock still runs
DECIDED_STATES = ("determined", "notified", "closed")

OUTCOMES = {
    "approved": "Approved",
    "partially-approved": "Partially approved",
    "denied": "Denied",
    "withdrawn": "Withdrawn",
    "administratively-closed": "Administratively closed",
}
# Outcomes on the merits; a denial or a modification (partial approval) is adverse.
MERIT_OUTCOMES = ("approved", "partially-approved", "denied")
ADVERSE_OUTCOMES = ("partially-approved", "denied")

REFERRAL_TARGETS = {
    "physician": "Physician reviewer",
    "pharmacist": "Clinical pharmacist",
    "same-specialty": "Reviewer of the same or similar specialty",
}
NOTICE_RECIPIENTS = {"provider": "Requesting provider", "member": "Member"}
REOPEN_REASONS = {"peer-to-peer": "Peer-to-peer outcome", "appeal": "Appeal outcome"}

_ALL = tuple(STATES)

# Event kind -> (states it may happen in, state it leads to; None: the state does not change).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "claimed": (OPEN_STATES, None),  # received -> in-review (see CaseFlow.apply)
    "assigned": (OPEN_STATES, None),
    "pended": (("received", "in-review", "referred"), "pended"),
    "information-received": (("pended",), None),  # back to the state it was pended from
    "referred": (UNDECIDED_STATES, "referred"),
    "determined": (UNDECIDED_STATES + ("determined",), "determined"),
    "extended": (UNDECIDED_STATES, None),
    "received-date-corrected": (_ALL, None),
    "involvement-declared": (_ALL, None),
    "notified": (("determined", "notified"), "notified"),
    "closed": (("determined", "notified"), "closed"),
    "reopened": (DECIDED_STATES, "in-review"),
}

_VERBS = {
    "claimed": "claimed", "assigned": "assigned", "pended": "pended for information",
    "information-received": "marked as having received the information", "referred": "referred",
    "determined": "decided", "extended": "extended", "received-date-corrected": "corrected",
    "involvement-declared": "given an involvement declaration", "notified": "given a notification",
    "closed": "closed", "reopened": "reopened",
}


class IllegalTransition(Exception):
    """An action the case's state does not allow; the message says why and what to do instead."""


def is_open(state: str) -> bool:
    return state in OPEN_STATES


def state_label(state: str) -> str:
    return STATES.get(state, state)


@dataclass(frozen=True)
class CaseFlow:
    """Where a case is in its lifecycle, and the facts the transitions depend on."""

    state: str = "received"
    outcome: str | None = None  # the current determination's outcome (kept through a reopen until superseded)
    pended_from: str | None = None  # in-review or referred: where the case returns when the information arrives
    referred_to: str | None = None  # a REFERRAL_TARGETS id while referred
    provider_notified: bool = False
    member_notified: bool = False

    def required_notices(self) -> tuple[str, ...]:
        """Notices that must be recorded before the case closes: the provider for a decision on the merits, and the
        member too for a denial or modification (the Notice of Action); none for a withdrawal or administrative
        closure."""
        if self.outcome in ADVERSE_OUTCOMES:
            return ("provider", "member")
        if self.outcome == "approved":
            return ("provider",)
        return ()

    def refusal(self, kind: str, **facts) -> str | None:
        """Why `kind` may not happen now (a message for the user), or None when it may."""
        if kind not in TRANSITIONS:
            return f"'{kind}' is not an action on a case."
        allowed, _ = TRANSITIONS[kind]
        if self.state not in allowed:
            return self._wrong_state(kind)
        if kind == "referred":
            target = facts.get("target")
            if target not in REFERRAL_TARGETS:
                return f"Refer to one of: {', '.join(REFERRAL_TARGETS)} (not '{target}')."
        if kind == "determined":
            outcome = facts.get("outcome")
            if outcome not in OUTCOMES:
                return f"A determination's outcome is one of: {', '.join(OUTCOMES)} (not '{outcome}')."
        if kind == "notified":
            recipient = facts.get("recipient")
            if recipient not in NOTICE_RECIPIENTS:
                return f"A notification goes to one of: {', '.join(NOTICE_RECIPIENTS)} (not '{recipient}')."
            if (self.provider_notified if recipient == "provider" else self.member_notified):
                return f"The {recipient} notification is already recorded for this determination."
        if kind == "closed":
            missing = [n for n in self.required_notices()
                       if not (self.provider_notified if n == "provider" else self.member_notified)]
            if missing:
                return (f"The case cannot close before the {' and '.join(missing)} notification"
                        f"{'s are' if len(missing) > 1 else ' is'} recorded "
                        f"({OUTCOMES.get(self.outcome, self.outcome)} determination).")
        if kind == "reopened":
            reason = facts.get("reason")
            if reason not in REOPEN_REASONS:
                return f"A case is reopened by one of: {', '.join(REOPEN_REASONS)} (not '{reason}')."
            if self.outcome not in ADVERSE_OUTCOMES:
                return ("Only a denial or a modification is reopened by a peer-to-peer or appeal outcome; this "
                        f"case was {OUTCOMES.get(self.outcome, self.outcome or 'not decided').lower()}.")
        return None

    def _wrong_state(self, kind: str) -> str:
        where = f"The case is {state_label(self.state).lower()}; it cannot be {_VERBS[kind]}."
        if kind == "pended" and self.state == "pended":
            return "The case is already pended for information; record the information received first."
        if self.state == "closed":
            hint = "A physician records a peer-to-peer or appeal outcome to reopen a closed case."
        elif kind in ("determined", "extended", "pended", "referred") and self.state == "notified":
            hint = ("The determination was already sent; a physician records a peer-to-peer or appeal outcome to "
                    "reopen it.")
        elif kind == "extended":
            hint = "An extension can only precede the decision."
        elif kind in ("pended", "referred") and self.state == "determined":
            hint = "The case is decided; a new determination supersedes the current one."
        elif kind in ("notified", "closed"):
            hint = "Record the determination first."
        elif kind == "information-received":
            hint = "Only a pended case waits for information."
        elif kind == "reopened":
            hint = "Only a decided case is reopened."
        else:
            hint = ""
        return f"{where} {hint}".strip()

    def apply(self, kind: str, **facts) -> CaseFlow:
        """The flow after event `kind`; IllegalTransition when the state does not allow it."""
        message = self.refusal(kind, **facts)
        if message:
            raise IllegalTransition(message)
        _, target = TRANSITIONS[kind]
        if kind == "claimed":
            return replace(self, state="in-review") if self.state == "received" else self
        if kind == "pended":
            return replace(self, state="pended",
                           pended_from="referred" if self.state == "referred" else "in-review")
        if kind == "information-received":
            return replace(self, state=self.pended_from or "in-review", pended_from=None)
        if kind == "referred":
            return replace(self, state="referred", referred_to=facts["target"], pended_from=None)
        if kind == "determined":
            return replace(self, state="determined", outcome=facts["outcome"], pended_from=None, referred_to=None,
                           provider_notified=False, member_notified=False)
        if kind == "notified":
            if facts["recipient"] == "provider":
                return replace(self, state="notified", provider_notified=True)
            return replace(self, state="notified", member_notified=True)
        if kind == "closed":
            return replace(self, state="closed")
        if kind == "reopened":
            return replace(self, state="in-review", pended_from=None, referred_to=None, provider_notified=False,
                           member_notified=False)
        return self if target is None else replace(self, state=target)

    def violations(self) -> list[str]:
        """What is inconsistent about this flow (empty for every flow `apply` can produce)."""
        problems = []
        if self.state not in STATES:
            problems.append(f"unknown state {self.state!r}")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            problems.append(f"unknown outcome {self.outcome!r}")
        if self.state in DECIDED_STATES and self.outcome is None:
            problems.append(f"{self.state} without an outcome")
        if (self.state == "pended") != (self.pended_from is not None):
            problems.append("pended_from set outside the pended state, or missing in it")
        if self.pended_from not in (None, "in-review", "referred"):
            problems.append(f"cannot return to {self.pended_from!r} from pended")
        if self.state == "pended":
            if (self.referred_to is not None) != (self.pended_from == "referred"):
                problems.append("a pended case keeps its referral target exactly when it was pended from referred")
        elif (self.state == "referred") != (self.referred_to is not None):
            problems.append("referral target set outside the referred state, or missing in it")
        if self.referred_to is not None and self.referred_to not in REFERRAL_TARGETS:
            problems.append(f"unknown referral target {self.referred_to!r}")
        if self.state == "notified" and not (self.provider_notified or self.member_notified):
            problems.append("notified without any notification")
        if self.state in UNDECIDED_STATES and (self.provider_notified or self.member_notified):
            problems.append("a notification recorded on an undecided case")
        if self.state == "closed":
            for notice in self.required_notices():
                if not (self.provider_notified if notice == "provider" else self.member_notified):
                    problems.append(f"closed without the {notice} notification")
        return problems


def flow_of(status: str, outcome: str | None, *, pended_from: str | None = None, referred_to: str | None = None,
            provider_notified: bool | None = None, member_notified: bool | None = None) -> CaseFlow:
    """The flow of a stored case (its projection columns). Cases made before the workflow existed (demo data) carry
    no workflow row: a pended case then returns to review, a referred one was referred to a physician, a notified
    one notified its provider."""
    if status == "pended":
        pended_from = pended_from if pended_from in ("in-review", "referred") else "in-review"
        referred_to = (referred_to or "physician") if pended_from == "referred" else None
    elif status == "referred":
        pended_from, referred_to = None, referred_to or "physician"
    else:
        pended_from = referred_to = None
    if provider_notified is None:
        provider_notified = status == "notified" or (status == "closed" and outcome in MERIT_OUTCOMES)
    if member_notified is None:
        member_notified = status == "closed" and outcome in ADVERSE_OUTCOMES
    if status in UNDECIDED_STATES:
        provider_notified = member_notified = False
    return CaseFlow(status, outcome, pended_from, referred_to, bool(provider_notified), bool(member_notified))
