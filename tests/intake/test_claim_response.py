"""The answer back out: a PAS ClaimResponse read back with the FHIR models says what the determination said."""
from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from app.domain.intake.claimresponse import PAS_SD
from app.services import intake
from app.services.cases import CriteriaCitation, decide_case, withdraw_case
from tests.intake.bundles import therapy_bundle


def imported(store, tmp_path, **bundle_args) -> str:
    path = tmp_path / "pa.json"
    path.write_text(json.dumps(therapy_bundle(**bundle_args)))
    return intake.import_file(store, path, "coord.jones").created[0]


def exported(store, tar):
    with store.session() as session:
        data = intake.export_claim_response(session, tar)
    bundle = Bundle.model_validate(json.loads(json.dumps(data)))  # what a portal parses
    response = bundle.entry[0].resource
    assert response.get_resource_type() == "ClaimResponse" and response.use == "preauthorization"
    return response


def review(item) -> tuple[str, str | None]:
    action = next(e for e in item.adjudication[0].extension if e.url == PAS_SD + "extension-reviewAction")
    code = next(e.valueCodeableConcept.coding[0].code for e in action.extension
                if e.url == PAS_SD + "extension-reviewActionCode")
    number = next((e.valueString for e in action.extension if e.url == "number"), None)
    return code, number


def notes(response, item) -> list[str]:
    by_number = {note.number: note.text for note in response.processNote or []}
    return [by_number[n] for n in item.noteNumber or []]


def test_a_partial_approval_round_trips_per_item(intake_store, tmp_path):
    tar = imported(intake_store, tmp_path)
    with intake_store.session() as session, session.begin():
        decide_case(session, tar, "dr.shah", outcome="partial", lines={1: 6},
                    rationale="Six visits meet the criteria; the rest are not yet shown to be needed.",
                    member_reason="We approved 6 of the 12 exercise visits asked for: your records show progress "
                                  "that should be checked after 6 visits.",
                    criteria=[CriteriaCitation("outpatient-physical-therapy", "2026.1")], criteria_result="not-met")
    response = exported(intake_store, tar)
    assert response.outcome == "complete" and response.preAuthRef == tar
    assert response.request.identifier.value == "TRN-7781"  # the sender's Claim identifier
    first, second = response.item
    assert review(first) == ("A2", f"{tar}-01") and float(first.adjudication[0].value) == 6
    assert "approved 6 of the 12" in first.adjudication[0].reason.text
    assert review(second) == ("A1", f"{tar}-02") and float(second.adjudication[0].value) == 8
    assert "Criteria used: outpatient-physical-therapy version 2026.1" in notes(response, first)
    assert "Basis: medical necessity" in notes(response, first)
    assert response.disposition.startswith("Partially approved: We approved 6")


def test_a_denial_gives_the_specific_reason_and_no_authorization_number(intake_store, tmp_path):
    tar = imported(intake_store, tmp_path)
    with intake_store.session() as session, session.begin():
        decide_case(session, tar, "dr.shah", outcome="deny", rationale="No functional deficit documented.",
                    member_reason="The records do not show a loss of function that exercise therapy would treat.",
                    criteria=[CriteriaCitation("outpatient-physical-therapy", "2026.1")], criteria_result="not-met")
    response = exported(intake_store, tar)
    assert [review(item) for item in response.item] == [("A3", None), ("A3", None)]
    assert all("loss of function" in item.adjudication[0].reason.text for item in response.item)
    assert response.preAuthRef is None
    assert any(note.text.startswith("Criteria used:") for note in response.processNote)


def test_a_pended_case_answers_queued_with_what_is_needed(intake_store, tmp_path):
    tar = imported(intake_store, tmp_path, birth=None, note=None)
    response = exported(intake_store, tar)
    assert response.outcome == "queued"
    assert {review(item)[0] for item in response.item} == {"A4"}
    assert "member's birth date" in notes(response, response.item[0])[0]


def test_a_withdrawal_is_cancelled(intake_store, tmp_path):
    tar = imported(intake_store, tmp_path)
    with intake_store.session() as session, session.begin():
        withdraw_case(session, tar, "nurse.nguyen", note="Provider called 11/23 to withdraw.")
    response = exported(intake_store, tar)
    assert {review(item)[0] for item in response.item} == {"C"}
    assert response.disposition.startswith("Withdrawn")
