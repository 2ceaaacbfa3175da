"""PAS bundles to intake drafts: the published IG examples and our own, and every kind of unreadable bundle.

tests/intake/fixtures/pas_ig_*.json are the Da Vinci PAS IG's example bundles (HL7 International, CC0-1.0):
the ReferralAuthorizationBundleExample as published with PAS 1.1.0 (the copy in the Inferno PAS test kit,
spec/fixtures/conformant_pas_bundle_v110.json, Apache-2.0), and the HomecareAuthorizationBundleExample and
SurgicalRequestBundleExample rendered to JSON from the IG's input/fsh/Examples.fsh. Narratives are left out; see
tests/intake/fixtures/README.md.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from app.domain.intake.errors import UnreadableRequest
from app.domain.intake.pas import read_bundle
from tests.intake.bundles import mutate, therapy_bundle

FIXTURES = Path(__file__).parent / "fixtures"
RECEIVED = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)


def ig(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_ig_referral_example():
    draft = read_bundle(ig("pas_ig_referral_authorization_bundle.json"), "referral.json", RECEIVED)
    assert draft.urgency == "urgent"  # level of service U wins over priority normal
    assert draft.member.plan_member_id == "12345678901" and draft.member.cin == ""  # known by member id only
    assert (draft.member.first_name, draft.member.last_name, draft.member.sex) == ("Joe", "Smith", "M")
    assert draft.requesting.npi == "8189991234" and draft.requesting.name == "DR. JOE SMITH CORPORATION"
    assert draft.servicing.name == "Susan Watson" and draft.servicing.npi == "987654321"
    assert [(l.code, l.description, l.units) for l in draft.lines] == [("X12:3", "Consultation", 1)]
    assert [d.code for d in draft.diagnoses] == ["G89.4"]
    assert draft.place_of_service == "11" and draft.review_timing == "pre-service"
    assert draft.external_id == "111099" and draft.source_key.startswith("fhir:")


def test_ig_homecare_example_with_hcpcs_items_and_no_diagnosis():
    draft = read_bundle(ig("pas_ig_homecare_authorization_bundle.json"), "homecare.json", RECEIVED)
    assert [l.code for l in draft.lines] == ["G0154", "B4184"]
    assert draft.service_category == "home-health" and draft.urgency == "routine"
    assert draft.diagnoses == [] and draft.member.birth_date is None
    assert draft.member.plan_member_id == "12345678901"


def test_ig_surgical_example_is_an_inpatient_stay():
    draft = read_bundle(ig("pas_ig_surgical_request_bundle.json"), "surgical.json", RECEIVED)
    assert draft.service_category == "inpatient" and draft.place_of_service == "21"
    assert draft.requested_los_days == 7  # the Encounter and admission dates: 07/02-07/09
    assert draft.urgency == "routine"  # level of service E (elective)
    assert [l.code for l in draft.lines] == ["33510"]
    assert draft.servicing.npi == "1234567893"  # PractitionerRole -> Practitioner


def test_own_bundle_with_urn_uuid_and_absolute_references():
    draft = read_bundle(json.dumps(therapy_bundle()), "own.json", RECEIVED)
    assert draft.member.cin == "91234567A" and draft.member.birth_date == date(1970, 5, 17)
    assert draft.member.plan_member_id == ""
    assert draft.requesting.npi == "1234567893" and draft.requesting.name == "Chidi Okoro"
    assert [(l.code, l.units, l.from_date, l.to_date) for l in draft.lines] == [
        ("97110", 12, date(2026, 11, 23), date(2026, 12, 31)), ("97140", 8, date(2026, 11, 23), date(2026, 12, 31))]
    assert [d.code for d in draft.diagnoses] == ["M54.50", "M51.26"]  # via Conditions, normalised
    assert "failed home exercise" in draft.clinical_note
    assert draft.service_category == "outpatient" and draft.urgency == "routine"


@pytest.mark.parametrize("priority, level, urgency", [("stat", None, "urgent"), ("normal", "U", "urgent"),
                                                      ("stat", "E", "urgent"), ("normal", "03", "urgent"),
                                                      ("normal", "E", "routine"), ("deferred", None, "routine")])
def test_the_more_urgent_of_priority_and_level_of_service_wins(priority, level, urgency):
    assert read_bundle(therapy_bundle(priority=priority, level=level), "b.json", RECEIVED).urgency == urgency


def test_member_by_plan_member_id():
    draft = read_bundle(therapy_bundle(cin=None, member_id="PLN-7"), "b.json", RECEIVED)
    assert draft.member.cin == "" and draft.member.plan_member_id == "PLN-7"
    draft = read_bundle(therapy_bundle(cin=None), "b.json", RECEIVED)
    assert draft.member.plan_member_id == "PLN-0042"  # Coverage.subscriberId when the Patient has none


def test_missing_optional_parts_still_read():
    bundle = therapy_bundle(birth=None, diagnoses=(), note=None)
    draft = read_bundle(bundle, "b.json", RECEIVED)
    assert draft.member.birth_date is None and draft.diagnoses == [] and draft.clinical_note == ""


def test_relative_references_resolve_against_the_full_url():
    bundle = mutate(therapy_bundle())
    # give the patient a RESTful fullUrl and refer to it relatively
    bundle["entry"][1]["fullUrl"] = "https://clinic.example/fhir/Patient/p1"
    bundle["entry"][1]["resource"]["id"] = "p1"
    bundle["entry"][0]["fullUrl"] = "https://clinic.example/fhir/Claim/c1"
    bundle["entry"][0]["resource"]["id"] = "c1"
    bundle["entry"][0]["resource"]["patient"] = {"reference": "Patient/p1"}
    for entry in bundle["entry"][2:]:
        resource = entry["resource"]
        for key in ("subject", "beneficiary"):
            if key in resource:
                resource[key] = {"reference": "Patient/p1"}
    assert read_bundle(bundle, "b.json", RECEIVED).member.cin == "91234567A"


def test_a_past_service_is_post_service():
    bundle = therapy_bundle(items=(("97110", 6, "2026-10-01", "2026-10-30"),))
    assert read_bundle(bundle, "b.json", RECEIVED).review_timing == "post-service"


def test_same_content_same_source_key():
    one = read_bundle(json.dumps(therapy_bundle()), "a.json", RECEIVED)
    two = read_bundle(json.dumps(therapy_bundle(), indent=4), "b.json", RECEIVED)
    other = read_bundle(json.dumps(therapy_bundle(priority="stat")), "a.json", RECEIVED)
    assert one.source_key == two.source_key != other.source_key


# ----- unreadable as a request -----------------------------------------------------------------------------------
def refused(raw, match: str):
    with pytest.raises(UnreadableRequest) as caught:
        read_bundle(raw, "bad.json", RECEIVED)
    text = "; ".join(map(str, caught.value.problems))
    assert match in text, text
    assert caught.value.file == "bad.json"
    return caught.value


def test_not_json():
    error = refused(b'{"resourceType": "Bundle",\n  "entry": [oops]}', "not JSON")
    assert error.problems[0].place == "line 2, column 13"


def test_not_utf8():
    refused(b'{"resourceType": "Bundle", "x": "\xff"}', "not UTF-8")


def test_not_fhir():
    refused(b'{"hello": "world"}', "not a FHIR resource")
    refused(json.dumps({"resourceType": "Claim", "use": "preauthorization"}), "not a Bundle")


def test_a_bundle_with_no_entries():
    refused({"resourceType": "Bundle", "type": "collection", "entry": []}, "has no entries")
    refused({"resourceType": "Bundle", "type": "collection"}, "has no entries")


def test_no_preauthorization_claim():
    bundle = mutate(therapy_bundle())
    bundle["entry"][0]["resource"]["use"] = "claim"
    refused(bundle, "no Claim with use 'preauthorization' (use 'claim')")
    bundle["entry"].pop(0)
    refused(bundle, "no Claim at all")


def test_a_reference_the_bundle_does_not_contain():
    bundle = mutate(therapy_bundle())
    bundle["entry"][0]["resource"]["patient"] = {"reference": "Patient/nowhere"}
    error = refused(bundle, "refers to Patient/nowhere, which the bundle does not contain")
    assert error.problems[0].place == "entry 1 (Claim) patient"
    bundle = mutate(therapy_bundle())
    bundle["entry"][0]["resource"]["insurance"][0]["coverage"] = {"reference": "urn:uuid:missing"}
    refused(bundle, "insurance[0].coverage: refers to urn:uuid:missing")


def test_a_fhir_model_error_names_the_entry_and_element():
    bundle = mutate(therapy_bundle())
    bundle["entry"][0]["resource"]["item"][1]["quantity"] = {"value": "twelve"}
    error = refused(bundle, "entry 1 (Claim) item[1].quantity.value")
    bundle = mutate(therapy_bundle())
    bundle["entry"][3]["resource"]["resourceType"] = "Organisation"
    refused(bundle, "'Organisation' is not a FHIR R4 resource type")
