"""Roles of the people who use the workstation (../shared/reference/roles-and-authority.md).

What each role may *decide* is the workflow issue's authority matrix; this module names the roles and which
worklist queues each one sees.
"""
from __future__ import annotations

ROLES = {
    "um-nurse": "UM nurse",
    "nurse-supervisor": "Nurse lead / supervisor",
    "pharmacy-technician": "Pharmacy technician",
    "clinical-pharmacist": "Clinical pharmacist",
    "medical-director": "Medical director",
    "bh-clinical-director": "Behavioral health clinical director",
    "um-coordinator": "UM coordinator",
    "auditor": "Auditor",
    "administrator": "Administrator",
}

PHYSICIAN_ROLES = frozenset({"medical-director", "bh-clinical-director"})
SUPERVISOR_ROLES = frozenset({"nurse-supervisor", "administrator"})


def is_supervisor(role: str) -> bool:
    """Supervisors (and administrators) see all open cases and may assign cases to others."""
    return role in SUPERVISOR_ROLES
