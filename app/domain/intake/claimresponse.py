"""The answer back out (issue 11, scope 6): a Da Vinci PAS response Bundle whose first entry is the ClaimResponse.

CMS-0057-F (42 CFR 438.210(d), 422.122) asks that a payer API returns the decision on each item, and for a denial the
specific reason; the plan's letters rule (../shared/reference/roles-and-authority.md) adds the criteria used. So each
`ClaimResponse.item` carries, in PAS's shape (PAS IG, "PAS Claim Response" and its examples):

* `adjudication[0].extension[reviewAction]`: the X12 306 review action code (A1 certified in total, A2 certified
  partially, A3 not certified, A4 pended; C cancelled for a withdrawal, NA no action required for an
  administrative closure) and, for a certified item, the authorization number (`number`);
* `adjudication[0].value`: the units approved; `adjudication[0].reason.text`: the specific reason for a denial or
  a modification, as written for the member;
* `noteNumber` pointing at `processNote`s: the reason, the criteria cited (set and version) and the basis.

The authorization number of an item is the TAR number and the line number (e.g. 20100000042-01): the TAR number is
the plan's authorization control number and the line keeps each item's number distinct. `preAuthRef` carries the
TAR number. An undecided case answers `outcome` queued with every item pended (A4) and the information asked for.
The bundle is checked against the FHIR R4 models (fhir.resources.R4B) before it is returned.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

PAS_SD = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
X12_306 = "https://codesystem.x12.org/005010/306"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
REVIEW_ACTIONS = {
    "approved": ("A1", "Certified in total"),
    "partially-approved": ("A2", "Certified - partial"),
    "denied": ("A3", "Not certified"),
    "pended": ("A4", "Pended"),
    "withdrawn": ("C", "Cancelled"),
    "administratively-closed": ("NA", "No action required"),
}
CERTIFIED = ("approved", "partially-approved")


def authorization_number(tar: str, line_number: int) -> str:
    return f"{tar}-{line_number:02d}"


def _cc(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _provider_resource(provider: dict | None) -> dict:
    resource: dict[str, Any] = {"resourceType": "Organization", "id": "requestor",
                                "name": (provider or {}).get("name") or "Requesting provider"}
    if provider and provider.get("npi"):
        resource["identifier"] = [{"system": NPI_SYSTEM, "value": provider["npi"]}]
    return resource


def _patient_resource(member: dict, plan: dict) -> dict:
    identifiers = []
    if member.get("cin"):
        identifiers.append({"system": "urn:umws:medi-cal-cin", "value": member["cin"]})
    if member.get("plan_member_id"):
        identifiers.append({"type": _cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MB"),
                            "system": plan.get("identifier_system", "urn:umws:plan") + ":member",
                            "value": member["plan_member_id"]})
    last, _, first = (member.get("name") or "").partition(", ")
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "member",
                                "name": [{"family": last, "given": [first] if first else []}]}
    if identifiers:
        resource["identifier"] = identifiers
    if member.get("birth_date"):
        resource["birthDate"] = member["birth_date"]
    return resource


def _item_outcome(case: dict, determination: dict | None, line: dict) -> tuple[str, int | None]:
    if determination is None:
        return "pended", None
    outcome = determination.get("outcome")
    if outcome in ("withdrawn", "administratively-closed"):
        return outcome, None
    for decided in determination.get("lines", []):
        if decided["line_number"] == line["line_number"]:
            return decided["outcome"], decided["approved_units"]
    return outcome, None


def claim_response_bundle(case: dict, determination: dict | None, *, pended_for: list[str] | None = None,
                          request_id: str | None = None, plan: dict, created: datetime) -> dict:
    """The PAS response bundle for `case` (app.store.case_queries.case_json) and its current determination
    (the `determined` event's payload, None while undecided); `pended_for`: what the plan asked for."""
    tar = case["tar"]
    notes: list[dict] = []

    def note(text: str, kind: str = "display") -> int:
        for existing in notes:
            if existing["text"] == text:
                return existing["number"]
        notes.append({"number": len(notes) + 1, "type": kind, "text": text})
        return len(notes)

    reason_note = basis_note = None
    criteria_notes: list[int] = []
    if determination is not None:
        reason = (determination.get("member_reason") or determination.get("reason")
                  or determination.get("note") or "").strip()
        if reason:
            reason_note = note(f"Reason: {reason}")
        for citation in determination.get("criteria") or []:
            version = f" version {citation['version']}" if citation.get("version") else ""
            criteria_notes.append(note(f"Criteria used: {citation['set_id']}{version}"))
        if determination.get("basis"):
            basis_note = note("Basis: " + {"medical-necessity": "medical necessity",
                                           "benefit": "coverage not relating to medical necessity"}.get(
                determination["basis"], determination["basis"]))
    pend_note = note("Information needed: " + "; ".join(pended_for)) if pended_for and determination is None \
        else None
    items = []
    for line in case["lines"]:
        outcome, approved = _item_outcome(case, determination, line)
        code, display = REVIEW_ACTIONS.get(outcome, REVIEW_ACTIONS["pended"])
        review = [{"url": PAS_SD + "extension-reviewActionCode", "valueCodeableConcept": _cc(X12_306, code, display)}]
        if outcome in CERTIFIED:
            review.append({"url": "number", "valueString": authorization_number(tar, line["line_number"])})
        adjudication: dict[str, Any] = {
            "extension": [{"url": PAS_SD + "extension-reviewAction", "extension": review}],
            "category": _cc(ADJUDICATION, "submitted"),
        }
        if approved is not None:
            adjudication["value"] = approved
        numbers = []
        if outcome in ("denied", "partially-approved", "withdrawn", "administratively-closed") and reason_note:
            adjudication["reason"] = {"text": notes[reason_note - 1]["text"].removeprefix("Reason: ")}
            numbers.append(reason_note)
        if determination is not None and outcome in ("approved", "partially-approved", "denied"):
            numbers += criteria_notes + ([basis_note] if basis_note else [])
        if pend_note:
            numbers.append(pend_note)
        item: dict[str, Any] = {"itemSequence": line["line_number"], "adjudication": [adjudication]}
        if determination is not None and outcome in CERTIFIED and case.get("decided_at"):
            item["extension"] = [{"url": PAS_SD + "extension-itemPreAuthIssueDate",
                                  "valueDate": case["decided_at"][:10]}]
        if numbers:
            item["noteNumber"] = sorted(set(numbers))
        items.append(item)
    outcome = "queued" if determination is None else "complete"
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse", "id": f"tar-{tar}",
        "meta": {"profile": [PAS_SD + "profile-claimresponse"]},
        "identifier": [{"system": plan.get("tar_system", "urn:umws:tar"), "value": tar}],
        "status": "active",
        "type": _cc("http://terminology.hl7.org/CodeSystem/claim-type",
                    "institutional" if case.get("service_category") in ("inpatient", "ltc-snf") else "professional"),
        "use": "preauthorization",
        "patient": {"reference": "Patient/member"},
        "created": created.isoformat(timespec="seconds"),
        "insurer": {"reference": "Organization/insurer"},
        "requestor": {"reference": "Organization/requestor"},
        "outcome": outcome,
        "disposition": _disposition(determination, pended_for),
        "item": items,
    }
    if request_id:
        response["request"] = {"identifier": {"value": request_id}}
    if determination is not None and determination.get("outcome") in CERTIFIED:
        response["preAuthRef"] = tar
    if notes:
        response["processNote"] = notes
    insurer = {"resourceType": "Organization", "id": "insurer", "name": plan.get("name", "the plan"),
               "identifier": [{"system": plan.get("identifier_system", "urn:umws:plan"),
                               "value": plan.get("identifier", "plan")}]}
    bundle = {
        "resourceType": "Bundle", "meta": {"profile": [PAS_SD + "profile-pas-response-bundle"]},
        "identifier": {"system": plan.get("tar_system", "urn:umws:tar"), "value": tar},
        "type": "collection", "timestamp": created.isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": f"urn:umws:ClaimResponse/tar-{tar}", "resource": response},
            {"fullUrl": "urn:umws:Patient/member", "resource": _patient_resource(case["member"], plan)},
            {"fullUrl": "urn:umws:Organization/requestor", "resource": _provider_resource(case.get("requesting_provider"))},
            {"fullUrl": "urn:umws:Organization/insurer", "resource": insurer},
        ],
    }
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)  # a bug here must not reach a portal: the models refuse what FHIR would
    return bundle


def _disposition(determination: dict | None, pended_for: list[str] | None) -> str:
    if determination is None:
        if pended_for:
            return "Pended: information needed (" + "; ".join(pended_for) + ")"
        return "Pended: in review"
    words = {"approved": "Approved", "partially-approved": "Partially approved", "denied": "Denied",
             "withdrawn": "Withdrawn", "administratively-closed": "Closed administratively"}
    outcome = determination.get("outcome", "")
    reason = (determination.get("member_reason") or determination.get("reason") or "").strip()
    text = words.get(outcome, outcome)
    return f"{text}: {reason}" if reason and outcome != "approved" else text
