"""The words of a UM case, as stable ids (used in the store, the CLI and JSON).

Sources: ../shared/reference/roles-and-authority.md (roles), timeliness.md (review timing, urgency),
issue 3 (service categories, teams). Labels are what users see; ids never change once stored.
"""
from __future__ import annotations

LINES_OF_BUSINESS = {"medi-cal": "Medi-Cal", "medicare": "Medicare (D-SNP)"}

SERVICE_CATEGORIES = {
    "inpatient": "Inpatient",
    "outpatient": "Outpatient",
    "ltc-snf": "Long-term care / SNF",
    "dme": "DME",
    "home-health": "Home health",
    "bh-sud": "Behavioral health / residential SUD",
    "medication": "Medication (medical benefit)",
    "community-supports": "Community supports / ECM",
}

REVIEW_TIMINGS = {
    "pre-service": "Pre-service",
    "concurrent": "Concurrent",
    "post-service": "Post-service",
    "post-stabilization": "Post-stabilization",
}

URGENCIES = {"urgent": "Urgent", "routine": "Routine"}

SEXES = {"F": "Female", "M": "Male", "X": "Non-binary / other", "U": "Unknown"}

# A member's preferred written language (ISO 639 id as stored on the member) -> the name users read.
LANGUAGES = {
    "en": "English", "es": "Spanish", "zh": "Chinese", "vi": "Vietnamese", "tl": "Tagalog", "ko": "Korean",
    "hy": "Armenian", "ru": "Russian", "fa": "Farsi", "ar": "Arabic", "hmn": "Hmong", "km": "Khmer",
}

# Teams own the unassigned queues (issue 3: inpatient, outpatient, LTSS, BH/SUD) plus pharmacy.
TEAMS = {
    "inpatient": "Inpatient",
    "outpatient": "Outpatient",
    "ltss": "LTSS",
    "bh-sud": "BH / SUD",
    "pharmacy": "Pharmacy",
}


def team_for_category(category: str) -> str:
    """Which team's unassigned queue a new case lands in, from its service category."""
    return {
        "inpatient": "inpatient",
        "outpatient": "outpatient",
        "dme": "outpatient",
        "home-health": "outpatient",
        "ltc-snf": "ltss",
        "community-supports": "ltss",
        "bh-sud": "bh-sud",
        "medication": "pharmacy",
    }[category]
