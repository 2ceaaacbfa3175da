"""Who may enter a request (../shared/reference/roles-and-authority.md: the UM coordinator "enters requests").

Our reading: the UM coordinator, UM nurses and nurse supervisors enter requests of any category; pharmacy staff
enter medication TARs. Physicians, auditors and administrators do not enter requests (an administrator runs
imports as one of the roles above: `umws intake import --as coord.jones`). Pending a request at intake for the
information it lacks is part of entering it: it needs no clinical role (the clock runs from receipt either way).
"""
from __future__ import annotations

from app.domain.authority import Refusal
from app.domain.roles import ROLES, role_label

INTAKE_ROLES = frozenset({"um-coordinator", "um-nurse", "nurse-supervisor"})
MEDICATION_INTAKE_ROLES = frozenset({"pharmacy-technician", "clinical-pharmacist"})


def _a(label: str) -> str:
    return ("An " if label[:1] in "AEIO" else "A ") + label


def may_enter_request(role: str, category: str | None = None) -> Refusal | None:
    """None when `role` may enter a request of `category` (None: of some category), else why not and who may."""
    if role in INTAKE_ROLES:
        return None
    if role in MEDICATION_INTAKE_ROLES and category in (None, "medication"):
        return None
    who = tuple(r for r in ROLES if r in INTAKE_ROLES or (r in MEDICATION_INTAKE_ROLES and category in
                                                           (None, "medication")))
    names = ", ".join(role_label(r) + (" (medication TARs)" if r in MEDICATION_INTAKE_ROLES else "") for r in who)
    if role in MEDICATION_INTAKE_ROLES:
        return Refusal(f"{_a(role_label(role))} enters medication TARs only. Who may enter this request: {names}.",
                       who)
    return Refusal(f"{_a(role_label(role))} does not enter requests. Who may: {names}.", who)
