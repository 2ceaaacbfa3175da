"""What each letter must contain: the checklist of ../shared/reference/letters.md as data the linter walks.

An *element* is one required item of the checklist (an id such as `appeal-rights`). A letter satisfies an element
when its content model has a section for it whose every value is filled, or, for the header elements, when the
values they name are filled; some elements must also state particular figures (the 60 days to appeal, the
Ombudsman's number) which the linter looks for in the section's text. Which elements a letter needs depends on its
structure (Medi-Cal NOA or Medicare CMS-10003), kind and recipient (`required_elements`).
"""
from __future__ import annotations

from app.domain.letters.kinds import ADVERSE_KINDS, APPEAL_KINDS

# element id -> what it is, in the words the linter uses to say what is missing (letters.md item numbers).
ELEMENTS = {
    "letterhead": "the plan letterhead (plan name and address, resources/plan.toml) (1)",
    "notice-date": "the date of the notice (1)",
    "member-identity": "the member's name, mailing address and member ID (1)",
    "member-id": "the member's name and member ID (1)",
    "addressee": "the treating or requesting provider the letter is addressed to (15)",
    "provider": "the treating or requesting provider's name (1)",
    "request": "what was asked for, in plain words, and who asked (2)",
    "decision": "the decision: what was denied, approved, changed, delayed or stopped, and from when (3)",
    "reason": "the reason, in plain language specific to the member (4)",
    "clinical-reason": "the specific reason for the decision (14)",
    "criteria": "the criteria, guideline or benefit provision used, by name, source and version (5, 14)",
    "criteria-not-met": "which criteria were not met (4)",
    "criteria-copy": "that the member can get a free copy of the criteria and of the information used, and how (5)",
    "terminal-illness": "covered alternatives for a member with a terminal illness (6)",
    "appeal-rights": "appeal rights: 60 days, how, who may appeal, expedited 72 hours, standard 30 days (7)",
    "aid-paid-pending": "how to keep the service during the appeal: appeal within 10 days (7)",
    "effective-date": "the date the change takes effect, at least 10 days after the notice (42 CFR 431.211)",
    "state-hearing": "State Hearing rights: 120 days after the appeal decision, how, free legal help (8)",
    "imr": "Independent Medical Review through the Department of Managed Health Care (8)",
    "contacts": "Member Services phone, TTY and hours, and the Medi-Cal Managed Care Ombudsman (9)",
    "other-services": "\"This notice does not affect any of your other Medi-Cal services.\" (9)",
    "not-a-bill": "\"This is not a bill.\" for a payment (post-service) denial (10)",
    "alternative-formats": "how to get the letter in large print, audio, Braille or electronic form (12)",
    "your-rights": "the \"Your Rights\" enclosure (11)",
    "nondiscrimination": "the Nondiscrimination Notice (11)",
    "taglines": "the language assistance taglines in the top 15 languages of California and the plan's (11)",
    "reviewer": "the name and direct phone number of the physician who decided (13)",
    "peer-to-peer": "the offer to discuss the decision with the reviewer: how and by when to ask (13)",
    "delay-reason": "the reason for the delay (extension notice)",
    "information-needed": "the specific information needed",
    "decision-by": "the date by which the decision will be made",
    "grievance-right": "the member's right to file a grievance if they disagree with the extension",
    "respond-by": "the date by which the information is needed",
    "untimely": "that the plan did not decide in time and that this counts as a denial",
    "medicare-appeal": "Medicare appeal rights: 65 days, standard 30 days, fast 72 hours, how (CMS-10003)",
    "medicare-fast-appeal": "how to ask for a fast appeal and that a doctor's request makes it fast (CMS-10003)",
    "medicare-next-steps": "what happens next: the automatic independent review (CMS-10003)",
    "medicare-help": "help and information: Medicare 1-800-MEDICARE and TTY, the plan's Member Services (CMS-10003)",
    "medicaid-rights": "the member's Medi-Cal rights as well (integrated notice for a dual member)",
    "signature": "the signature block (resources/plan.toml)",
    # appeals (issue 13; 42 CFR 438.406, 438.408(e), 438.410(c), 438.420)
    "appeal-received": "the appeal: what was appealed, who asked and when the plan received it",
    "case-file": "the member's right to see the case file and to send more information, free (42 CFR 438.406(b))",
    "expedited-denied": "that the fast appeal was not granted and is decided within 30 days (42 CFR 438.410(c))",
    "hearing-aid-paid-pending": "how to keep the service until the State Hearing decides: ask within 10 days of "
                                "this notice (42 CFR 438.420)",
}

# Header elements are checked on values rather than sections: element -> the values it needs.
HEADER_VALUES = {
    "letterhead": ("plan_name", "plan_address"),
    "notice-date": ("notice_date",),
    "member-identity": ("member_name", "member_address", "member_id"),
    "member-id": ("member_name", "member_id"),
    "addressee": ("addressee",),
    "provider": ("provider_name",),
    "signature": ("signature",),
}

# Figures a section must state (looked for in its text): element -> value names whose text must appear, or
# literal figures (a plan's verbatim DHCS wording states them too).
FIGURES = {
    "medi-cal-noa": {
        "appeal-rights": ("60", "72", "30"),
        "aid-paid-pending": ("10",),
        "state-hearing": ("120",),
        "contacts": ("@member_services_phone", "@tty", "@ombudsman"),
        "hearing-aid-paid-pending": ("10",),
        "expedited-denied": ("30",),
    },
    "cms-10003": {
        "medicare-appeal": ("65", "30", "72"),
        "medicare-help": ("@medicare_phone", "@medicare_tty", "@member_services_phone"),
    },
}

_MEMBER_COMMON = ("letterhead", "notice-date", "member-identity", "provider", "request", "decision",
                  "contacts", "alternative-formats", "nondiscrimination", "taglines", "signature")
_MEDI_CAL_ADVERSE = ("reason", "criteria", "criteria-copy", "appeal-rights", "aid-paid-pending", "state-hearing",
                     "other-services", "your-rights")
_PROVIDER_COMMON = ("letterhead", "notice-date", "addressee", "member-id", "request", "decision", "signature")


_APPEAL_MEMBER_COMMON = ("letterhead", "notice-date", "member-identity", "provider", "request", "appeal-received",
                         "contacts", "other-services", "alternative-formats", "nondiscrimination", "taglines",
                         "signature")


def _appeal_elements(kind: str, recipient: str, *, knox_keene: bool, denial_stands: bool,
                     hearing_continuation: bool, expedited_denied: bool) -> tuple[str, ...]:
    """An appeal letter's elements (issue 13). The Notice of Appeal Resolution (42 CFR 438.408(e)): the result and
    its date, the reason; when the denial stands (upheld, or partly overturned): the criteria, how to get them, the
    State Hearing within 120 days of this notice, IMR where the plan is Knox-Keene licensed, and how to keep an
    ongoing service through the hearing. The acknowledgement: when the appeal was received, the date of the
    decision, the case-file rights; the notice of a denied expedited request (42 CFR 438.410(c)) and of an
    extension (438.408(c)(2)) with the right to file a grievance."""
    if recipient == "provider":
        needed = ["letterhead", "notice-date", "addressee", "member-id", "request", "appeal-received", "decision",
                  "clinical-reason", "reviewer", "signature"]
        if denial_stands:
            needed.append("criteria")
        return tuple(needed)
    needed = list(_APPEAL_MEMBER_COMMON)
    if kind == "appeal-acknowledgement":
        needed += ["decision-by", "case-file"]
        if expedited_denied:
            needed += ["expedited-denied", "grievance-right"]
    elif kind == "appeal-extension":
        needed += ["delay-reason", "decision-by", "grievance-right"]
    else:
        needed += ["decision", "reason"]
        if denial_stands:
            needed += ["criteria", "criteria-copy", "state-hearing", "your-rights"]
            if knox_keene:
                needed.append("imr")
            if hearing_continuation:
                needed.append("hearing-aid-paid-pending")
    return tuple(needed)


def required_elements(structure: str, kind: str, recipient: str, *, knox_keene: bool = False,
                      post_service: bool = False, terminal_illness: bool = False,
                      medical_necessity: bool = False, denial_stands: bool = False,
                      hearing_continuation: bool = False, expedited_denied: bool = False) -> tuple[str, ...]:
    """The elements a letter of this structure, kind and recipient must carry (letters.md items 1-15)."""
    if kind in APPEAL_KINDS:
        return _appeal_elements(kind, recipient, knox_keene=knox_keene, denial_stands=denial_stands,
                                hearing_continuation=hearing_continuation, expedited_denied=expedited_denied)
    if recipient == "provider":
        needed = list(_PROVIDER_COMMON)
        if kind == "untimely-decision":  # nobody decided: no reviewer to name, no criteria applied
            needed.append("untimely")
        elif kind in ADVERSE_KINDS:
            needed += ["clinical-reason", "criteria", "reviewer", "peer-to-peer"]
        if kind == "termination":
            needed.append("effective-date")
        if kind == "extension":
            needed += ["delay-reason", "information-needed", "decision-by"]
        if kind == "request-for-information":
            needed += ["information-needed", "respond-by", "decision-by"]
        return tuple(needed)
    needed = list(_MEMBER_COMMON)
    if structure == "cms-10003":
        needed += ["reason", "criteria", "criteria-copy", "medicare-appeal", "medicare-fast-appeal",
                   "medicare-next-steps", "medicare-help", "medicaid-rights"]
    elif kind in ADVERSE_KINDS:
        needed += list(_MEDI_CAL_ADVERSE)
        if knox_keene:
            needed.append("imr")
    if kind in ADVERSE_KINDS:
        if medical_necessity and kind != "untimely-decision":
            needed.append("criteria-not-met")
        if terminal_illness:
            needed.append("terminal-illness")
        if post_service:
            needed.append("not-a-bill")
    if kind == "termination":
        needed.append("effective-date")
    if kind == "untimely-decision":
        for element in ("criteria", "criteria-copy", "reason"):
            if element in needed:
                needed.remove(element)
        needed.append("untimely")
    if kind == "extension":
        needed += ["delay-reason", "information-needed", "decision-by", "grievance-right", "other-services"]
    return tuple(dict.fromkeys(needed))
