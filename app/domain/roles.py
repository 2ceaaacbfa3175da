"""Roles of the people who use the workstation (../shared/reference/roles-and-authority.md).

This module names the roles, groups them the way the authority matrix (`app.domain.authority`) speaks of them, and
says which service categories each role works. What each role may *do* is the authority matrix.
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
NURSE_ROLES = frozenset({"um-nurse", "nurse-supervisor"})
PHARMACY_ROLES = frozenset({"pharmacy-technician", "clinical-pharmacist"})
# Licensed reviewers who work cases clinically (pend, refer, decide within their authority).
CLINICAL_ROLES = NURSE_ROLES | PHARMACY_ROLES | PHYSICIAN_ROLES

# The service categories a role works; a role not listed works every category. Pharmacy staff work medication TARs
# (the reference's "Pharmacy Program Scope"); the behavioral health clinical director decides BH and SUD services.
CATEGORY_SCOPE: dict[str, frozenset[str]] = {
    "pharmacy-technician": frozenset({"medication"}),
    "clinical-pharmacist": frozenset({"medication"}),
    "bh-clinical-director": frozenset({"bh-sud"}),
}

# Credentials (license types) recorded on a user, as the reference names them.
CREDENTIALS = {
    "RN": "Registered nurse",
    "LVN": "Licensed vocational nurse",
    "MD": "Doctor of medicine",
    "DO": "Doctor of osteopathic medicine",
    "PhD": "Doctor of philosophy (psychology)",
    "PsyD": "Doctor of psychology",
    "PharmD": "Doctor of pharmacy",
    "CPhT": "Certified pharmacy technician",
}


def is_supervisor(role: str) -> bool:
    """Supervisors (and administrators) see all open cases and may assign cases to others."""
    return role in SUPERVISOR_ROLES


def is_physician(role: str) -> bool:
    return role in PHYSICIAN_ROLES


def role_label(role: str) -> str:
    return ROLES.get(role, role)


def works_category(role: str, category: str) -> bool:
    """Whether `role` works cases of service category `category` (roles without a scope work all)."""
    scope = CATEGORY_SCOPE.get(role)
    return scope is None or category in scope
