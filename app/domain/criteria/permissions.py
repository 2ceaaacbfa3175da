"""Who may work a case's criteria checklist (roles-and-authority.md). The services enforce it; the UI reflects it.

Choosing a set, answering criteria, recording facts and recording that no criteria apply are review work: a
reviewing role (the roles that may claim a case) on an open, undecided case that they hold, or a supervisor or
administrator. A UM coordinator enters requests but does not review; an auditor re-reviews blind and never writes
into the case. Once a case is determined, its answers are part of the determination file and do not change.
"""
from __future__ import annotations

from app.domain.authority import CLAIMING_ROLES, Refusal
from app.domain.roles import ROLES, is_supervisor

DECIDED_STATES = frozenset({"determined", "notified", "closed"})


def may_work_checklist(role: str, state: str, assignee: str | None, username: str) -> Refusal | None:
    if role not in CLAIMING_ROLES:
        return Refusal(f"A {ROLES.get(role, role)} does not review criteria; criteria are answered by the reviewer "
                       "who holds the case.")
    if state in DECIDED_STATES:
        return Refusal(f"The case is {state}: its criteria answers are part of the determination file and can no "
                       "longer change.")
    if assignee == username or is_supervisor(role):
        return None
    if assignee is None:
        return Refusal("Nobody holds this case: claim it first (Ctrl+Shift+C), then work its criteria.")
    return Refusal(f"The case is held by {assignee}; only the reviewer who holds it (or a nurse supervisor) may "
                   "work its criteria.")


def may_import_criteria(role: str) -> Refusal | None:
    if role != "administrator":
        return Refusal("Only an administrator imports criteria sets (after the Q/UAC or P&T Committee approved them).")
    return None
