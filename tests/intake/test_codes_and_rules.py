"""NPI and ICD-10-CM checks, what a request must carry, the prior-authorization list, carve-outs, the late flag."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app.domain.intake import codes
from app.domain.intake.assessment import assess
from app.domain.intake.authlist import AuthListError, auth_list_from_data, default_auth_list, is_ndc
from app.domain.intake.authority import may_enter_request
from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.domain.intake.late import late_flag
from app.domain.intake.requirements import missing_items
from app.domain.plantime import PLAN_TZ


def complete_draft(**changes) -> IntakeDraft:
    draft = IntakeDraft(
        channel="form", received_at=datetime(2026, 11, 20, 10, tzinfo=PLAN_TZ),
        member=MemberPart(cin="91234567A", first_name="Lucia", last_name="Hernandez", birth_date=date(1970, 5, 17)),
        requesting=ProviderPart("1234567893", "Chidi Okoro, MD"), place_of_service="11",
        lines=[LinePart("97110", "Therapeutic exercise", 12, date(2026, 11, 23), date(2026, 12, 31))],
        diagnoses=[DiagnosisPart("M54.50", "Low back pain")], clinical_note="8 weeks of pain")
    for key, value in changes.items():
        setattr(draft, key, value)
    return draft


@pytest.mark.parametrize("npi, ok", [("1234567893", True), ("1234567890", False), ("123456789", False),
                                     ("8189991234", True), ("12345678A3", False), ("", False)])
def test_npi_check_digit(npi, ok):
    assert (codes.npi_problem(npi, "requesting provider") is None) is ok


def test_npi_messages_say_what_is_wrong():
    assert "check digit" in codes.npi_problem("1234567890", "requesting provider")
    assert "not 10 digits" in codes.npi_problem("987654321", "servicing provider")


@pytest.mark.parametrize("code, ok", [("M54.50", True), ("m5450", True), ("S72.001A", True), ("C4A.9", True),
                                      ("Z3A.20", True), ("U07.1", True), ("G89.4", True), ("E11", True),
                                      ("5450", False), ("M5", False), ("M54.50123", False), ("MM4.5", False),
                                      ("M54..5", False), ("", False)])
def test_icd10cm_format(code, ok):
    assert (codes.icd10cm_problem(code) is None) is ok


def test_icd10cm_is_stored_with_its_dot():
    assert codes.normalize_icd10cm(" m5450 ") == "M54.50"
    assert codes.normalize_icd10cm("E11") == "E11"


@pytest.mark.parametrize("code, ok", [("97110", True), ("0001U", True), ("3074F", True), ("0042T", True),
                                      ("E0130", True), ("J1745", True), ("X12:3", True), ("W1234", False),
                                      ("9711", False), ("X12:ZZ", False)])
def test_procedure_codes(code, ok):
    assert (codes.procedure_problem(code) is None) is ok


def test_a_complete_request_misses_nothing():
    assert missing_items(complete_draft()) == []


def test_every_required_element_is_named_when_missing():
    draft = complete_draft(member=MemberPart(last_name="Hernandez"), requesting=ProviderPart("1234567890", ""),
                           lines=[], diagnoses=[], clinical_note="", place_of_service="")
    items = missing_items(draft)
    assert "member's Medi-Cal number (CIN) or plan member id" in items
    assert "member's first and last name" in items
    assert "member's birth date" in items
    assert "requesting provider's name" in items
    assert any("check digit" in item for item in items)
    assert "requested service or procedure with its CPT/HCPCS code" in items
    assert "diagnosis (ICD-10-CM code)" in items
    assert "clinical indications and pertinent history, treatment or clinical data" in items
    assert "location of service (place of service)" in items


def test_inpatient_needs_a_length_of_stay_and_outpatient_surgery_a_date():
    inpatient = complete_draft(service_category="inpatient", place_of_service="21")
    assert "requested length of stay (inpatient)" in missing_items(inpatient)
    inpatient.requested_los_days = 3
    assert missing_items(inpatient) == []
    surgery = complete_draft(lines=[LinePart("29881", "Knee arthroscopy", 1)])
    assert "proposed date of the procedure (outpatient surgery)" in missing_items(surgery)
    surgery.proposed_date = date(2026, 12, 2)
    assert missing_items(surgery) == []


def test_an_attached_document_counts_as_clinical_information():
    assert missing_items(complete_draft(clinical_note="", attachments=["fax-0001.pdf"])) == []


def test_a_service_type_only_line_is_fine_for_a_consultation_not_for_other_services():
    assert missing_items(complete_draft(lines=[LinePart("X12:3", "Consultation")])) == []
    items = missing_items(complete_draft(lines=[LinePart("X12:42", "Home health care")]))
    assert any("CPT/HCPCS code for the requested service" in item for item in items)


def test_bad_codes_are_problems_with_their_line():
    items = missing_items(complete_draft(lines=[LinePart("ABC", "?")], diagnoses=[DiagnosisPart("123")]))
    assert any(item.startswith("line 1: 'ABC' is not a CPT code") for item in items)
    assert any(item.startswith("diagnosis 1: '123' is not an ICD-10-CM code") for item in items)


# ----- who may enter a request -----------------------------------------------------------------------------------
@pytest.mark.parametrize("role, category, ok", [
    ("um-coordinator", "inpatient", True), ("um-nurse", "outpatient", True), ("nurse-supervisor", None, True),
    ("pharmacy-technician", "medication", True), ("pharmacy-technician", "dme", False),
    ("auditor", None, False), ("medical-director", "inpatient", False), ("administrator", None, False)])
def test_who_may_enter_requests(role, category, ok):
    refusal = may_enter_request(role, category)
    assert (refusal is None) is ok
    if refusal:
        assert "UM coordinator" in refusal.reason and "um-coordinator" in refusal.who


# ----- the prior-authorization list ------------------------------------------------------------------------------
LIST = default_auth_list()


def need(code, *, lob="medi-cal", pos="11", network="in-network", on=date(2026, 11, 20)):
    return LIST.need(1, code, lob=lob, pos=pos, network=network, on=on)


def test_codes_and_ranges():
    assert need("70551").required and need("70551").rule_id == "advanced-imaging"  # inside 70540-70559
    assert not need("70560").required  # just past the range, on no other rule
    assert need("E0100").required and need("E8002").required  # both ends of a range
    assert not need("99213").required and need("99213").rule_id == "office-visits"
    assert need("K0823").required  # a HCPCS range
    assert not need("A0021").required and need("A0021").rule_id is None  # off the list


def test_place_of_service_and_network_status():
    assert need("29881", pos="24").required  # outpatient surgery at an ambulatory surgical center
    assert not need("29881", pos="11").required  # in the office: not on the list
    assert need("99213", network="out-of-network").required  # out of network: everything
    assert need("99213", pos="21").rule_id == "inpatient-admission"


def test_effective_dates_pick_the_rule_in_force_on_the_date_of_service():
    assert not need("97110", on=date(2025, 12, 31)).required  # the 2025 rule: no authorization
    assert need("97110", on=date(2026, 1, 1)).required  # the 2026 rule
    assert not need("81220", on=date(2026, 6, 30)).required  # genetic testing before its rule starts
    assert need("81220", on=date(2026, 7, 1)).required


def test_emergency_room_visits_never_need_authorization():
    for answer in (need("99285", network="out-of-network"), need("70551", pos="23"),
                   need("99283", pos="23", network="out-of-network")):
        assert not answer.required and answer.emergency
        assert "prudent-layperson" in answer.reason


def test_a_request_needing_no_authorization_is_flagged_for_administrative_closure():
    flagged = assess(complete_draft(lines=[LinePart("99213", "Office visit")]))
    assert flagged.no_authorization_required and "no-auth-required" in flagged.flags
    assert not assess(complete_draft()).no_authorization_required
    er = assess(complete_draft(place_of_service="23", lines=[LinePart("99284", "ED visit")]))
    assert er.flags[:2] == ["no-auth-required", "emergency"]


@pytest.mark.parametrize("code, carve", [("00777310502", "medi-cal-rx"), ("0777-3105-02", "medi-cal-rx"),
                                         ("H0036", "county-smh"), ("H0015", "dmc-ods")])
def test_carved_out_services_are_flagged_for_redirection(code, carve):
    found = assess(complete_draft(lines=[LinePart(code, "")])).redirections
    assert [r.carve_out for r in found] == [carve]
    assert f"redirect:{carve}" in assess(complete_draft(lines=[LinePart(code, "")])).flags


def test_carve_outs_are_medi_cal_only_and_ccs_is_for_children():
    assert assess(complete_draft(line_of_business="medicare", lines=[LinePart("H0036", "")])).redirections == []
    child = complete_draft(diagnoses=[DiagnosisPart("E84.0", "Cystic fibrosis")],
                           member=MemberPart(cin="91234567A", first_name="A", last_name="B",
                                             birth_date=date(2012, 1, 1)))
    assert [r.carve_out for r in assess(child).redirections] == ["ccs"]
    child.member.birth_date = date(2005, 11, 20)  # 21 on the receipt day
    assert assess(child).redirections == []


def test_ndc_shapes():
    assert is_ndc("00777310502") and is_ndc("0777-3105-02") and is_ndc("12345-678-90")
    assert not is_ndc("97110") and not is_ndc("J1745")


def test_a_malformed_list_is_refused_naming_the_rule():
    data = {"format": "umws-prior-auth-list/1", "rules": [
        {"id": "x", "codes": ["99999-10000"], "effective": "2026-01-01", "requires_authorization": True}]}
    with pytest.raises(AuthListError, match="rule 1 \\(x\\)"):
        auth_list_from_data(data)
    data["rules"][0].update(codes=["10000-99999"], effective="2026-13-01")
    with pytest.raises(AuthListError, match="not a date"):
        auth_list_from_data(data)


# ----- late post-service requests ------------------------------------------------------------------------------
def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PLAN_TZ)


def test_fifteen_business_days_after_the_date_of_service():
    service = date(2026, 11, 2)  # Monday; Veterans Day (Wed 11/11) and Thanksgiving (11/26-27) are plan holidays
    due = date(2026, 11, 24)  # the 15th business day after it
    on_time = late_flag("post-service", at(due, 23), [service])
    assert not on_time.late and on_time.windows[0].due == due
    late = late_flag("post-service", at(date(2026, 11, 25), 0), [service])
    assert late.late and "Late post-service request" in late.reason


def test_the_last_date_of_service_counts():
    flag = late_flag("post-service", at(date(2026, 12, 10)), [date(2026, 10, 1), date(2026, 11, 30)])
    assert not flag.late


def test_sixty_days_after_a_primary_denial_or_retro_eligibility():
    service = date(2026, 6, 1)
    received = at(date(2026, 9, 29))
    assert late_flag("post-service", received, [service]).late
    assert not late_flag("post-service", received, [service], primary_denial=date(2026, 7, 31)).late  # day 60
    assert late_flag("post-service", received, [service], primary_denial=date(2026, 7, 30)).late  # day 61
    assert not late_flag("post-service", received, [service], retro_eligibility=date(2026, 8, 15)).late


def test_only_post_service_requests_are_late():
    assert late_flag("pre-service", at(date(2026, 12, 31)), [date(2026, 1, 1)]) is None
    assert late_flag("post-service", at(date(2026, 12, 31)), []) is None
    flagged = assess(complete_draft(review_timing="post-service", received_at=at(date(2026, 12, 31)),
                                    lines=[LinePart("97110", "", 1, date(2026, 11, 2))]))
    assert "late" in flagged.flags


def test_a_request_in_words_names_the_member_provider_services_and_diagnoses():
    words = complete_draft(attachments=["fax-0001.pdf"], clinical_note="x" * 250).describe()
    assert words[0] == "Member: Lucia Hernandez (CIN 91234567A), born 1970-05-17"
    assert words[1] == "Requested by: Chidi Okoro, MD (NPI 1234567893)"
    assert words[2] == "Received: 2026-11-20 10:00 PST by Intake form"
    assert "Review: routine pre-service, outpatient, medi-cal, in network" in words
    assert "Service: 97110 Therapeutic exercise × 12, 2026-11-23 to 2026-12-31" in words
    assert "Diagnosis: M54.50 Low back pain" in words and "Documents: fax-0001.pdf" in words
    assert words[-1] == "Clinical note: " + "x" * 200 + "…"
    unknown = complete_draft(member=MemberPart(), requesting=ProviderPart()).describe()
    assert unknown[:2] == ["Member: (no name) (not identified)", "Requested by: —"]
