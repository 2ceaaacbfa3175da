"""Our own PAS request bundles, written to the IG's shape (PAS Request Bundle: Claim first, then what it refers to),
with the variations real senders show: urn:uuid references, absolute references, Conditions, ServiceRequests,
several items with CPT codes and service periods, a member known by Medi-Cal number or by plan member id."""
from __future__ import annotations

import copy

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
CPT = "http://www.ama-assn.org/go/cpt"
NPI = "http://hl7.org/fhir/sid/us-npi"
VALID_NPI = "1234567893"
OTHER_NPI = "1245319599"


def cc(system, code, display=None):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def therapy_bundle(*, priority="normal", level=None, cin="91234567A", member_id=None, birth="1970-05-17",
                   npi=VALID_NPI, items=(("97110", 12, "2026-11-23", "2026-12-31"), ("97140", 8, "2026-11-23", "2026-12-31")),
                   diagnoses=("M54.50", "M51.26"), note="Low back pain for 8 weeks, failed home exercise program.",
                   pos="11") -> dict:
    """An outpatient therapy request with urn:uuid references throughout and Conditions for its diagnoses."""
    u = lambda n: f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
    identifiers = []
    if cin:
        identifiers.append({"system": "urn:oid:2.16.840.1.113883.3.7.1.1", "value": cin})
    if member_id:
        identifiers.append({"type": cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MB"),
                            "system": "http://plan.example/member-id", "value": member_id})
    patient = {"resourceType": "Patient", "identifier": identifiers,
               "name": [{"family": "Hernandez", "given": ["Lucia"]}], "gender": "female"}
    if birth:
        patient["birthDate"] = birth
    claim = {
        "resourceType": "Claim", "meta": {"profile": [PAS + "profile-claim"]},
        "identifier": [{"system": "http://clinic.example/trace", "value": "TRN-7781"}],
        "status": "active", "type": cc("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
        "use": "preauthorization", "patient": {"reference": u(2)}, "created": "2026-11-20T09:00:00-08:00",
        "insurer": {"reference": u(4)}, "provider": {"reference": u(3)},
        "priority": cc("http://terminology.hl7.org/CodeSystem/processpriority", priority),
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "https://clinic.example/fhir/Coverage/cov1"}}],
        "diagnosis": [{"sequence": n, "diagnosisReference": {"reference": u(10 + n)}} for n, _ in enumerate(diagnoses, 1)],
        "supportingInfo": [{"sequence": 1, "category": cc("http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes", "freeFormMessage"),
                            "valueString": note}] if note else [],
        "item": [{"sequence": n, "productOrService": cc(CPT, code), "quantity": {"value": units},
                  "servicedPeriod": {"start": start, "end": end}, "locationCodeableConcept": cc(POS, pos),
                  "extension": [{"url": PAS + "extension-requestedService", "valueReference": {"reference": u(20 + n)}}]}
                 for n, (code, units, start, end) in enumerate(items, 1)],
    }
    if level:
        claim["extension"] = [{"url": PAS + "extension-levelOfServiceCode",
                               "valueCodeableConcept": cc("http://codesystem.x12.org/005010/1338", level)}]
    if not diagnoses:
        del claim["diagnosis"]
    entries = [
        {"fullUrl": u(1), "resource": claim},
        {"fullUrl": u(2), "resource": patient},
        {"fullUrl": u(3), "resource": {"resourceType": "Practitioner", "identifier": [{"system": NPI, "value": npi}],
                                      "name": [{"family": "Okoro", "given": ["Chidi"]}]}},
        {"fullUrl": u(4), "resource": {"resourceType": "Organization", "name": "Demo Medi-Cal plan"}},
        {"fullUrl": "https://clinic.example/fhir/Coverage/cov1",
         "resource": {"resourceType": "Coverage", "id": "cov1", "status": "active", "subscriberId": "PLN-0042",
                      "beneficiary": {"reference": u(2)}, "payor": [{"reference": u(4)}]}},
    ]
    for n, code in enumerate(diagnoses, 1):
        entries.append({"fullUrl": u(10 + n), "resource": {
            "resourceType": "Condition", "subject": {"reference": u(2)},
            "code": cc("http://hl7.org/fhir/sid/icd-10-cm", code.replace(".", ""), f"diagnosis {code}")}})
    for n, (code, units, start, end) in enumerate(items, 1):
        entries.append({"fullUrl": u(20 + n), "resource": {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order", "subject": {"reference": u(2)},
            "code": cc(CPT, code), "quantityQuantity": {"value": units}}})
    return {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-11-20T09:00:00-08:00",
            "entry": entries}


def mutate(bundle: dict) -> dict:
    return copy.deepcopy(bundle)
