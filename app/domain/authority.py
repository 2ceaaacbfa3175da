"""Who may do what (../shared/reference/roles-and-authority.md). The service layer enforces it; the UI reflects it.

This module starts with the worklist actions of issue 3 (claim, assign); the workflow issue adds decisions.
Every refusal says who may do it.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.domain.case_states import is_open
from app.domain.roles import ROLES, is_supervisor

CLAIMING_ROLES = frozenset(
    {"um-nurse", "nurse-supervisor", "pharmacy-technician", "clinical-pharmacist", "medical-director",
     "bh-clinical-director", "administrator"}
)


@dataclass(frozen=True)
class Refusal:
    reason: str


def _names(roles) -> str:
    return ", ".join(ROLES[r] for r in sorted(roles))


def may_claim(role: str, state: str, assignee: str | None, username: str) -> Refusal | None:
    """A reviewer may take an open case that nobody holds; a case someone holds is reassigned by a supervisor."""
    if role not in CLAIMING_ROLES:
        return Refusal(f"A {ROLES.get(role, role)} does not review cases; claiming is for: {_names(CLAIMING_ROLES)}.")
    if not is_open(state):
        return Refusal("The case is closed; a closed case cannot be claimed.")
    if assignee == username:
        return Refusal("You already hold this case.")
    if assignee is not None:
        return Refusal(f"The case is held by {assignee}; a nurse supervisor or administrator may reassign it.")
    return None


def may_assign(role: str, state: str, assignee_role: str) -> Refusal | None:
    """Assigning a case to someone else is a supervisor's act (roles-and-authority.md: nurse lead / supervisor)."""
    if not is_supervisor(role):
        return Refusal("Only a nurse supervisor or an administrator may assign a case to someone else.")
    if not is_open(state):
        return Refusal("The case is closed; a closed case cannot be assigned.")
    if assignee_role not in CLAIMING_ROLES:
        return Refusal(f"A {ROLES.get(assignee_role, assignee_role)} does not review cases; assign to: "
                       f"{_names(CLAIMING_ROLES)}.")
    return None
