"""Who may do what in the inter-rater reliability program, and the life of a corrective action plan (issue 14).

Source: ../shared/reference/roles-and-authority.md, "Inter-rater reliability (IRR)" ("Target: 90% agreement.
Below target: a corrective action plan, tracked and reported") and the role table (the auditor "re-reviews sampled
cases blind"; the nurse lead / supervisor / manager / director and the medical director / CMO run the program).

Authority (our reading, docs/oversight.md):
* The UM program's leads draw samples and run corrective action plans: nurse supervisors (the role of the nurse
  lead, supervisor, manager and director) and medical directors (the CMO and designees). An administrator runs the
  workstation, not the UM program.
* Auditors re-review sampled cases blind. A physician's decisions are also re-reviewed by another physician (a
  peer): medical directors and the BH clinical director may re-review physician review. Nobody re-reviews a case
  they decided themselves.
* Reports are read by the program's leads and the auditors.

A corrective action plan (CAP) is a little state machine over its own append-only events:

    open --(every action done)--> awaiting-re-audit --(re-audit at or above target)--> re-audit-passed --> closed
      ^                               |  (re-audit below target, or an action added)
      +-------------------------------+

It is opened for a reviewer whose audit for the year is complete and below target, with an owner, one or more
actions and a due date; it closes only after a re-audit at or above target. "Overdue" is not a state: an unclosed
plan past its due date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.authority import Refusal
from app.domain.roles import PHYSICIAN_ROLES, role_label

PROGRAM_LEAD_ROLES = frozenset({"nurse-supervisor", "medical-director"})
AUDITOR_ROLES = frozenset({"auditor"})
REPORT_ROLES = PROGRAM_LEAD_ROLES | AUDITOR_ROLES

# The auditor's determination on a re-reviewed case. A non-physician reviewer who finds the criteria not met does
# not deny: they refer to a physician; that is a determination to compare too.
AUDIT_DETERMINATIONS = {
    "approved": "Approve",
    "partially-approved": "Approve in part (modify)",
    "denied": "Deny",
    "referred": "Refer to a physician (may not approve)",
}

CAP_STATES = {
    "open": "Open: actions under way",
    "awaiting-re-audit": "Actions done: awaiting re-audit",
    "re-audit-passed": "Re-audit at or above target",
    "closed": "Closed",
}
CAP_EVENTS = ("cap-opened", "cap-action-added", "cap-action-done", "cap-due-changed", "cap-re-audit-drawn",
              "cap-re-audit-recorded", "cap-closed")


def _who(roles: frozenset[str]) -> str:
    return " or ".join(sorted(role_label(r).lower() for r in roles))


def may_run_program(role: str, what: str) -> Refusal | None:
    """Draw a sample, open or work a corrective action plan (`what` names the act, for the message)."""
    if role in PROGRAM_LEAD_ROLES:
        return None
    return Refusal(f"Only a {_who(PROGRAM_LEAD_ROLES)} may {what}.", tuple(sorted(PROGRAM_LEAD_ROLES)))


def may_read_reports(role: str) -> Refusal | None:
    if role in REPORT_ROLES:
        return None
    return Refusal(f"Inter-rater reliability results are for the {_who(REPORT_ROLES)}s.", tuple(sorted(REPORT_ROLES)))


def may_re_review(role: str, review_type: str, *, auditor: str, decider: str) -> Refusal | None:
    """Whether a user may re-review a sampled decision blind."""
    allowed = AUDITOR_ROLES | (PHYSICIAN_ROLES if review_type == "physician" else frozenset())
    if role not in allowed:
        return Refusal(f"Only an {_who(allowed)} may re-review this case for inter-rater reliability.",
                       tuple(sorted(allowed)))
    if auditor == decider:
        return Refusal("You decided this case: another auditor re-reviews it.", tuple(sorted(allowed)))
    return None


class IllegalCapStep(Exception):
    """A step the corrective action plan's state does not allow; the message says why."""


@dataclass(frozen=True)
class CapFlow:
    """A plan's state and what its actions look like: the facts its next step depends on."""

    state: str
    actions: int  # how many actions the plan has
    done: int  # how many are done

    def apply(self, kind: str, *, passed: bool | None = None) -> "CapFlow":
        """The plan after the event `kind` (IllegalCapStep when its state does not allow it)."""
        if kind == "cap-opened":
            raise IllegalCapStep("The plan is already open.")
        if self.state == "closed":
            raise IllegalCapStep("The plan is closed; open a new plan if the reviewer needs one.")
        if kind == "cap-action-added":
            if self.state == "re-audit-passed":
                raise IllegalCapStep("The re-audit passed: close the plan, or open a new one.")
            return CapFlow("open", self.actions + 1, self.done)
        if kind == "cap-action-done":
            if self.done >= self.actions:
                raise IllegalCapStep("Every action of the plan is already done.")
            done = self.done + 1
            return CapFlow("awaiting-re-audit" if done == self.actions else self.state, self.actions, done)
        if kind == "cap-due-changed":
            return self
        if kind == "cap-re-audit-drawn":
            if self.state != "awaiting-re-audit":
                raise IllegalCapStep("The re-audit comes after every action is done.")
            return self
        if kind == "cap-re-audit-recorded":
            if self.state != "awaiting-re-audit":
                raise IllegalCapStep("The re-audit comes after every action is done.")
            if passed is None:
                raise ValueError("a re-audit result says whether it passed")
            return CapFlow("re-audit-passed" if passed else "open", self.actions, self.done)
        if kind == "cap-closed":
            if self.state != "re-audit-passed":
                raise IllegalCapStep("A plan closes only after a re-audit at or above the 90% target.")
            return CapFlow("closed", self.actions, self.done)
        raise ValueError(f"unknown plan event {kind!r}")

    def refusal(self, kind: str, **facts) -> str | None:
        try:
            self.apply(kind, **facts)
        except IllegalCapStep as error:
            return str(error)
        return None


def opened(actions: int) -> CapFlow:
    if actions < 1:
        raise IllegalCapStep("A corrective action plan has at least one action.")
    return CapFlow("open", actions, 0)


def is_overdue(state: str, due: date, today: date) -> bool:
    return state != "closed" and today > due


def below_target(percent: float | None, target: float) -> bool:
    return percent is not None and percent < target
