"""What a request must carry (../shared/reference/roles-and-authority.md, "What a request must carry"), and what
is wrong with what it carries.

The source's list: member demographics; provider demographics; requested service/procedure with CPT/HCPCS codes;
diagnosis (ICD-10); clinical indications; pertinent history, treatment or clinical data; location of service;
requested length of stay (inpatient); proposed date of procedure (outpatient surgery). A request missing any of it
is still received (the clock runs from receipt) and is pended for information with each item named; the
requester's notice lists them.

Our readings, where the source is not explicit:
* member demographics: a Medi-Cal number (CIN) or the plan's member id, first and last name, birth date;
* provider demographics: the requesting provider's name and an NPI that passes its check digit;
* clinical indications and pertinent history: clinical notes typed or received, or an attached document
  (a fax, a PAS DocumentReference) -- one item, since a faxed request carries both on its pages;
* a line that names only an X12 service type is accepted for a referral or consultation (the PAS IG's referral
  example); any other such line asks for its CPT/HCPCS code;
* requested length of stay: inpatient pre-service and concurrent requests;
* proposed date of procedure: outpatient requests with a CPT surgery-section code (10004-69990), satisfied by the
  proposed date or the line's from-date.
"""
from __future__ import annotations

from app.domain.intake import codes
from app.domain.intake.draft import IntakeDraft


def missing_items(draft: IntakeDraft) -> list[str]:
    """Every item the plan needs that the request lacks or gets wrong, in the words the requester's notice uses.
    Empty: the request is complete."""
    items: list[str] = []
    member = draft.member
    if not member.identified:
        items.append("member's Medi-Cal number (CIN) or plan member id")
    if not (member.first_name.strip() and member.last_name.strip()):
        items.append("member's first and last name")
    if member.birth_date is None:
        items.append("member's birth date")
    if not draft.requesting.name.strip():
        items.append("requesting provider's name")
    npi = codes.npi_problem(draft.requesting.npi, "requesting provider")
    if npi:
        items.append(npi)
    if draft.servicing is not None and draft.servicing.npi.strip():
        npi = codes.npi_problem(draft.servicing.npi, "servicing provider")
        if npi:
            items.append(npi)
    if not draft.lines:
        items.append("requested service or procedure with its CPT/HCPCS code")
    for number, line in enumerate(draft.lines, start=1):
        problem = codes.procedure_problem(line.code)
        if problem:
            items.append(f"line {number}: {problem}")
        elif codes.is_service_type(line.code) and line.code[len(codes.SERVICE_TYPE_PREFIX):] \
                not in codes.REFERRAL_SERVICE_TYPES:
            name = codes.SERVICE_TYPES[line.code[len(codes.SERVICE_TYPE_PREFIX):]]
            items.append(f"line {number}: CPT/HCPCS code for the requested service (only the service type "
                         f"'{name}' was given)")
        if line.units < 1:
            items.append(f"line {number}: number of units (at least 1)")
        if line.from_date and line.to_date and line.to_date < line.from_date:
            items.append(f"line {number}: the to-date {line.to_date:%m/%d/%Y} is before the from-date")
    if not draft.diagnoses:
        items.append("diagnosis (ICD-10-CM code)")
    for rank, diagnosis in enumerate(draft.diagnoses, start=1):
        problem = codes.icd10cm_problem(diagnosis.code)
        if problem:
            items.append(f"diagnosis {rank}: {problem}")
    if not (draft.clinical_note.strip() or draft.attachments):
        items.append("clinical indications and pertinent history, treatment or clinical data")
    pos = codes.pos_problem(draft.place_of_service)
    if pos:
        items.append(pos)
    if (draft.service_category == "inpatient" and draft.review_timing in ("pre-service", "concurrent")
            and not draft.requested_los_days):
        items.append("requested length of stay (inpatient)")
    if draft.service_category == "outpatient" and any(codes.is_surgical_cpt(l.code) for l in draft.lines):
        if draft.proposed_date is None and not any(l.from_date for l in draft.lines):
            items.append("proposed date of the procedure (outpatient surgery)")
    return items
