"""Letter kinds, recipients and which kind a case event calls for (issue 7, scope 1; letters.md, "Letter kinds").

Pure Python. A kind is a stable id (stored on letters, used in template and sample file names).
"""
from __future__ import annotations

KINDS = {
    "denial-medical-necessity": "Denial: not medically necessary",
    "denial-not-covered": "Denial: not a covered benefit",
    "modification": "Modification (approved in part)",
    "termination": "Termination or reduction of an ongoing service",
    "approval": "Approval",
    "extension": "Delay: more time to decide",
    "untimely-decision": "Untimely decision (counts as a denial)",
    "request-for-information": "Request for information (pended case)",
    "appeal-acknowledgement": "Appeal received (acknowledgement)",
    "appeal-extension": "Appeal: more time to decide",
    "appeal-resolution": "Notice of Appeal Resolution (NAR)",
}
RECIPIENTS = {"member": "Member", "provider": "Provider"}

# Adverse benefit determinations (42 CFR 438.400(b)): they carry appeal and State Hearing rights.
ADVERSE_KINDS = ("denial-medical-necessity", "denial-not-covered", "modification", "termination",
                 "untimely-decision")
# Kinds that notify a determination (mark-mailed completes the member notice clock, the provider notice its own).
DETERMINATION_KINDS = ADVERSE_KINDS[:-1] + ("approval",)
# A pended case's request for information goes to the provider only.
PROVIDER_ONLY_KINDS = ("request-for-information",)
# Appeals (issue 13): the acknowledgement of a standard appeal (and the notice that an expedited request was moved
# to the standard track), the notice of an appeal extension, and the Notice of Appeal Resolution. They notify an
# appeal event, not a determination; the acknowledgement and the extension notice go to the member only.
APPEAL_KINDS = ("appeal-acknowledgement", "appeal-extension", "appeal-resolution")
MEMBER_ONLY_KINDS = ("appeal-acknowledgement", "appeal-extension")

STRUCTURES = {
    "medi-cal-noa": "DHCS Medi-Cal managed care Notice of Action",
    "cms-10003": "Medicare Notice of Denial of Medical Coverage (CMS-10003, integrated denial notice)",
}

# Termination or reduction: at least 10 days between the notice and the change (42 CFR 431.211; 438.404(c)(1)).
TERMINATION_NOTICE_DAYS = 10
# After the appeal: a State Hearing within 120 days of the Notice of Appeal Resolution (W&I 10951; 42 CFR
# 438.408(f)(2)); the service continues through the hearing when it is asked for within 10 days (42 CFR 438.420).
STATE_HEARING_DAYS = 120
HEARING_CONTINUATION_DAYS = 10


def recipients_for(kind: str) -> tuple[str, ...]:
    if kind in MEMBER_ONLY_KINDS:
        return ("member",)
    return ("provider",) if kind in PROVIDER_ONLY_KINDS else ("member", "provider")


def structure_for(kind: str, recipient: str, line_of_business: str) -> str:
    """Which notice structure a letter follows: for the `medicare` line, the member's adverse notices follow the
    Medicare integrated denial notice (CMS-10003) instead of the Medi-Cal NOA (issue 7, scope 1)."""
    if line_of_business == "medicare" and recipient == "member" and kind in ADVERSE_KINDS:
        return "cms-10003"
    return "medi-cal-noa"


def kind_for_determination(outcome: str, basis: str, review_timing: str) -> str | None:
    """The letter kind a determination calls for; None for outcomes that send no notice of their own
    (withdrawn, administratively closed).

    A denial or partial approval during concurrent review stops or reduces a service the member is getting: a
    termination / reduction notice (letters.md). A denial on `benefit` basis is "not a covered benefit"."""
    if outcome == "approved":
        return "approval"
    if outcome not in ("denied", "partially-approved"):
        return None
    if review_timing == "concurrent":
        return "termination"
    if outcome == "partially-approved":
        return "modification"
    return "denial-not-covered" if basis == "benefit" else "denial-medical-necessity"
