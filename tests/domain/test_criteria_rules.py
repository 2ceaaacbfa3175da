"""Every machine rule on edge values: boundaries, missing data (never "met"), unit conversion per kg and per m²."""
from __future__ import annotations

import math
from datetime import date

import pytest

from app.domain.criteria import FactError, LineFacts, evaluate_rule, normalize_fact
from app.domain.criteria.facts import age_on, mosteller_bsa
from app.domain.criteria.model import parse_rule
from tests.domain.criteria_helpers import facts

MET, NOT_MET, NA, UNKNOWN = "met", "not-met", "not-applicable", "unknown"


def run(rule: dict, **fact_changes):
    return evaluate_rule(parse_rule(rule), facts(**fact_changes))


def rec(**recorded):
    return {"recorded": {name: normalize_fact(name, value) for name, value in recorded.items()}}


# --- age ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("birth, answer", [
    (date(2008, 11, 20), MET),  # 18th birthday on the day of receipt
    (date(2008, 11, 21), NOT_MET),  # one day short of 18
    (date(1961, 11, 21), MET),  # 64 until tomorrow
    (date(1961, 11, 20), NOT_MET),  # 65 today
])
def test_age_range_ends_are_included(birth, answer):
    outcome = run({"kind": "age", "min": 18, "max": 64}, birth_date=birth)
    assert outcome.answer == answer
    assert "on 2026-11-20" in outcome.explanation


def test_age_in_months_and_a_leap_day_birthday():
    assert run({"kind": "age", "min": 12, "unit": "months"}, birth_date=date(2025, 11, 20)).answer == MET
    assert run({"kind": "age", "min": 12, "unit": "months"}, birth_date=date(2025, 11, 21)).answer == NOT_MET
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_age_without_a_birth_date_is_unknown():
    outcome = run({"kind": "age", "min": 18}, birth_date=None)
    assert outcome.answer == UNKNOWN and "No birth date" in outcome.explanation


# --- sex ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sex, answer", [("F", MET), ("M", NOT_MET), ("X", UNKNOWN), ("U", UNKNOWN), (None, UNKNOWN)])
def test_sex_rule_reads_only_a_recorded_f_or_m(sex, answer):
    assert run({"kind": "sex", "sexes": ["F"]}, sex=sex).answer == answer


# --- diagnosis ------------------------------------------------------------------------------------------------------

def test_diagnosis_code_and_hierarchy():
    assert run({"kind": "diagnosis", "codes": ["K50"]}, diagnoses=("K50.90",)).answer == MET
    assert run({"kind": "diagnosis", "codes": ["K50.9"]}, diagnoses=("K50",)).answer == NOT_MET
    assert run({"kind": "diagnosis", "codes": ["K50.90"]}, diagnoses=("k5090",)).answer == MET


@pytest.mark.parametrize("code, answer", [("M50.0", MET), ("M54.50", MET), ("M54.99", MET), ("M49.9", NOT_MET),
                                          ("M55.0", NOT_MET), ("M54", MET)])
def test_diagnosis_range_includes_both_ends_and_their_children(code, answer):
    assert run({"kind": "diagnosis", "codes": ["M50-M54.9"]}, diagnoses=(code,)).answer == answer


def test_diagnosis_primary_only_and_explanations():
    rule = {"kind": "diagnosis", "codes": ["C00-C91"], "primary_only": True}
    assert run(rule, diagnoses=("Z51.11", "C50.911")).answer == NOT_MET
    outcome = run(rule, diagnoses=("C50.911", "Z51.11"))
    assert outcome.answer == MET and "C50.911 is in C00-C91" in outcome.explanation
    outcome = run({"kind": "diagnosis", "codes": ["K50"]}, diagnoses=("G35", "I10"))
    assert outcome.answer == NOT_MET and "G35, I10" in outcome.explanation


def test_diagnosis_missing_is_unknown():
    assert run({"kind": "diagnosis", "codes": ["K50"]}, diagnoses=()).answer == UNKNOWN


# --- place of service -----------------------------------------------------------------------------------------------

def test_place_of_service():
    rule = {"kind": "place-of-service", "codes": ["11", "22"]}
    assert run(rule, place_of_service="22").answer == MET
    assert run(rule, place_of_service="21").answer == NOT_MET
    assert run(rule, place_of_service=None).answer == UNKNOWN


# --- units and length of stay ---------------------------------------------------------------------------------------

LINES = (LineFacts("97110", 12), LineFacts("97140", 13), LineFacts("97161", 1))


def test_units_per_line_boundary():
    assert run({"kind": "units", "max": 13}, lines=LINES).answer == MET
    outcome = run({"kind": "units", "max": 12}, lines=LINES)
    assert outcome.answer == NOT_MET and "13 (97140)" in outcome.explanation


def test_units_per_request_and_code_filter():
    assert run({"kind": "units", "max": 26, "per": "request"}, lines=LINES).answer == MET
    assert run({"kind": "units", "max": 25, "per": "request"}, lines=LINES).answer == NOT_MET
    assert run({"kind": "units", "max": 12, "codes": ["97110"]}, lines=LINES).answer == MET
    assert run({"kind": "units", "max": 12, "codes": ["97110-97140"]}, lines=LINES).answer == NOT_MET
    outcome = run({"kind": "units", "max": 1, "codes": ["E0260"]}, lines=LINES)
    assert outcome.answer == NA and "E0260" in outcome.explanation


def test_units_without_lines_are_unknown():
    assert run({"kind": "units", "max": 5}, lines=()).answer == UNKNOWN


def test_length_of_stay_boundary_and_missing():
    rule = {"kind": "length-of-stay", "max": 5}
    assert run(rule, requested_los_days=5).answer == MET
    assert run(rule, requested_los_days=6).answer == NOT_MET
    assert run(rule, requested_los_days=None).answer == UNKNOWN


# --- dose -----------------------------------------------------------------------------------------------------------

ABS = {"kind": "dose", "per": "administration", "max": 750, "unit": "mg"}
PER_KG = {"kind": "dose", "per": "administration", "max": 15, "unit": "mg", "basis": "per-kg"}
PER_M2 = {"kind": "dose", "per": "administration", "max": 250, "unit": "mg", "basis": "per-m2"}


def test_absolute_dose_boundary():
    assert run(ABS, **rec(dose={"value": 750, "unit": "mg"})).answer == MET
    assert run(ABS, **rec(dose={"value": 750.5, "unit": "mg"})).answer == NOT_MET


def test_dose_unit_conversion():
    assert run(ABS, **rec(dose={"value": 0.75, "unit": "g"})).answer == MET
    outcome = run(ABS, **rec(dose={"value": 0.76, "unit": "g"}))
    assert outcome.answer == NOT_MET and "(= 760 mg)" in outcome.explanation
    assert run({**ABS, "max": 1, "unit": "mg"}, **rec(dose={"value": 1000, "unit": "mcg"})).answer == MET
    assert run({**ABS, "max": 1, "unit": "mg"}, **rec(dose={"value": 1001, "unit": "mcg"})).answer == NOT_MET
    assert run({**ABS, "max": 600, "unit": "mcg"}, **rec(dose={"value": 0.6, "unit": "mg"})).answer == MET


def test_dose_in_units_cannot_be_compared_with_milligrams():
    outcome = run(ABS, **rec(dose={"value": 100, "unit": "units"}))
    assert outcome.answer == UNKNOWN and "cannot be compared" in outcome.explanation


def test_dose_missing_is_unknown():
    assert run(ABS).answer == UNKNOWN


def test_dose_per_kg_boundary_and_missing_weight():
    assert run(PER_KG, **rec(dose={"value": 750, "unit": "mg"}, weight_kg=50)).answer == MET  # exactly 15 mg/kg
    outcome = run(PER_KG, **rec(dose={"value": 751, "unit": "mg"}, weight_kg=50))
    assert outcome.answer == NOT_MET and "15.02 mg/kg" in outcome.explanation
    assert run(PER_KG, **rec(dose={"value": 1, "unit": "g"}, weight_kg=66.7)).answer == MET  # 14.99 mg/kg
    outcome = run(PER_KG, **rec(dose={"value": 750, "unit": "mg"}))
    assert outcome.answer == UNKNOWN and "no weight" in outcome.explanation


def test_dose_per_m2_uses_mosteller():
    assert mosteller_bsa(180, 80) == pytest.approx(2.0)
    assert mosteller_bsa(160, 60) == pytest.approx(math.sqrt(160 * 60 / 3600))
    outcome = run(PER_M2, **rec(dose={"value": 500, "unit": "mg"}, weight_kg=80, height_cm=180))
    assert outcome.answer == MET and "2 m²" in outcome.explanation and outcome.facts_used["per_m2"] == 250
    assert run(PER_M2, **rec(dose={"value": 501, "unit": "mg"}, weight_kg=80, height_cm=180)).answer == NOT_MET
    assert run(PER_M2, **rec(dose={"value": 500, "unit": "mg"}, weight_kg=80)).answer == UNKNOWN
    assert run(PER_M2, **rec(dose={"value": 500, "unit": "mg"}, height_cm=180)).answer == UNKNOWN


def test_dose_per_day_needs_the_administrations_per_day():
    rule = {"kind": "dose", "per": "day", "max": 750, "unit": "mg"}
    assert run(rule, **rec(dose={"value": 750, "unit": "mg"})).answer == UNKNOWN
    assert run(rule, **rec(dose={"value": 375, "unit": "mg"}, doses_per_day=2)).answer == MET
    outcome = run(rule, **rec(dose={"value": 400, "unit": "mg"}, doses_per_day=2))
    assert outcome.answer == NOT_MET and "800 mg" in outcome.explanation
    per_kg_day = {"kind": "dose", "per": "day", "max": 10, "unit": "mg", "basis": "per-kg"}
    assert run(per_kg_day, **rec(dose={"value": 250, "unit": "mg"}, doses_per_day=2, weight_kg=50)).answer == MET
    assert run(per_kg_day, **rec(dose={"value": 260, "unit": "mg"}, doses_per_day=2, weight_kg=50)).answer == NOT_MET


def test_dose_in_biologic_units_per_kg():
    rule = {"kind": "dose", "per": "administration", "max": 10, "unit": "units", "basis": "per-kg"}
    assert run(rule, **rec(dose={"value": 200, "unit": "units"}, weight_kg=20)).answer == MET
    assert run(rule, **rec(dose={"value": 201, "unit": "units"}, weight_kg=20)).answer == NOT_MET


# --- frequency ------------------------------------------------------------------------------------------------------

FREQ = {"kind": "frequency", "min_interval_days": 14}


def test_frequency_boundary_from_the_requested_interval():
    assert run(FREQ, **rec(dosing_interval_days=14)).answer == MET
    assert run(FREQ, **rec(dosing_interval_days=13)).answer == NOT_MET


def test_frequency_from_the_last_dose_and_the_requested_date():
    assert run(FREQ, proposed_date=date(2026, 12, 1), **rec(last_dose_date="2026-11-17")).answer == MET
    outcome = run(FREQ, proposed_date=date(2026, 12, 1), **rec(last_dose_date="2026-11-18"))
    assert outcome.answer == NOT_MET and "13 days apart" in outcome.explanation
    # without a proposed date, the earliest line start is the requested dose's day
    assert run(FREQ, proposed_date=None, **rec(last_dose_date="2026-11-17")).answer == MET  # line starts 12/01
    lines = (LineFacts("J1745", 1, None, None),)
    assert run(FREQ, proposed_date=None, lines=lines, **rec(last_dose_date="2026-11-17")).answer == UNKNOWN


def test_frequency_first_dose_is_not_applicable_and_missing_is_unknown():
    assert run(FREQ, **rec(first_dose=True, dosing_interval_days=1)).answer == NA
    assert run(FREQ, **rec(first_dose=False)).answer == UNKNOWN
    assert run(FREQ).answer == UNKNOWN


# --- step therapy ---------------------------------------------------------------------------------------------------

STEP = {"kind": "step-therapy", "preferred": ["methotrexate", "ferrous sulfate"], "min_trials": 1, "min_days": 84}


def therapies(*items):
    return rec(prior_therapies=[dict(zip(("drug", "days", "outcome"), item)) for item in items])


def test_step_therapy_missing_record_is_unknown_and_empty_record_is_not_met():
    assert run(STEP).answer == UNKNOWN
    outcome = run(STEP, **therapies())
    assert outcome.answer == NOT_MET and "no alternatives were tried" in outcome.explanation


def test_step_therapy_trial_length_boundary():
    assert run(STEP, **therapies(("Methotrexate", 84, "inadequate-response"))).answer == MET
    assert run(STEP, **therapies(("methotrexate", 83, "inadequate-response"))).answer == NOT_MET
    assert run(STEP, **therapies(("methotrexate", 10, "intolerance"))).answer == MET
    assert run(STEP, **therapies(("methotrexate", None, "contraindicated"))).answer == MET
    outcome = run(STEP, **therapies(("methotrexate", None, "inadequate-response")))
    assert outcome.answer == UNKNOWN and "length of the trial of methotrexate" in outcome.explanation


def test_step_therapy_names_and_counts():
    assert run(STEP, **therapies(("ferrous sulfate 325 mg tablets", 90, "inadequate-response"))).answer == MET
    assert run(STEP, **therapies(("trexate", 90, "inadequate-response"))).answer == NOT_MET
    two = {**STEP, "min_trials": 2}
    assert run(two, **therapies(("methotrexate", 90, "inadequate-response"),
                                ("methotrexate", 120, "inadequate-response"))).answer == NOT_MET
    assert run(two, **therapies(("methotrexate", 90, "inadequate-response"),
                                ("ferrous sulfate", None, "inadequate-response"))).answer == UNKNOWN
    assert run(two, **therapies(("methotrexate", 90, "inadequate-response"),
                                ("ferrous sulfate", 1, "adverse-event"))).answer == MET
    assert run({**STEP, "min_days": None}, **therapies(("methotrexate", None, "ongoing"))).answer == MET


# --- recorded facts -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, words", [
    ("weight_kg", 0, "more than 0"), ("weight_kg", "70", "a number"), ("weight_kg", True, "a number"),
    ("height_cm", 300, "at most 272"), ("dose", {"value": 5}, '"unit"'), ("dose", {"value": 5, "unit": "ml"}, "mg"),
    ("dose", {"value": -1, "unit": "mg"}, "more than 0"), ("doses_per_day", 0, "at least 1"),
    ("dosing_interval_days", 1.5, "whole number"), ("last_dose_date", "11/01/2026", "YYYY-MM-DD"),
    ("first_dose", "yes", "true or false"), ("prior_therapies", "methotrexate", "a list"),
    ("prior_therapies", [{"drug": ""}], "drug name"), ("prior_therapies", [{"drug": "x", "outcome": "bad"}], "one of"),
    ("prior_therapies", [{"drug": "x", "dose": 1}], "unknown fields"), ("bmi", 30, "known facts"),
])
def test_recorded_facts_are_checked(name, value, words):
    with pytest.raises(FactError, match=words):
        normalize_fact(name, value)


def test_recorded_facts_are_normalized():
    assert normalize_fact("weight_kg", 70) == 70.0
    assert normalize_fact("prior_therapies", [{"drug": " Methotrexate "}]) == [
        {"drug": "methotrexate", "days": None, "outcome": "inadequate-response"}]
    assert normalize_fact("last_dose_date", "2026-11-01") == "2026-11-01"
