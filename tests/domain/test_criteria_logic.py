"""Combining answers (ALL / ANY / AT LEAST n with unknowns), the overall result, EPSDT, and "software never denies"."""
from __future__ import annotations

from datetime import date
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.criteria import RESULTS, ROUTES, combine, evaluate, node_answers, no_criteria_result, overall, walk
from app.domain.criteria.model import ANSWERS
from tests.domain.criteria_helpers import facts, make_set

M, N, NA, U = "met", "not-met", "not-applicable", "unknown"


@pytest.mark.parametrize("answers, expected", [
    ([M, M, M], M), ([M, N, U], N), ([M, U, M], U), ([M, NA, M], M), ([NA, NA], NA), ([U, NA], U), ([N], N),
])
def test_all(answers, expected):
    assert combine("all", None, answers) == expected


@pytest.mark.parametrize("answers, expected", [
    ([N, N, M], M), ([N, U, N], U), ([N, N], N), ([U, M], M), ([NA, N], N), ([NA, NA], NA), ([NA, U], U),
])
def test_any(answers, expected):
    assert combine("any", None, answers) == expected


@pytest.mark.parametrize("n, answers, expected", [
    (2, [M, M, N, N], M), (2, [M, U, N, N], U), (2, [M, N, N, N], N), (2, [U, U, N], U), (3, [M, M, U, N], U),
    (2, [M, NA, NA], N),  # not-applicable children do not count towards n, and n is never lowered
    (2, [M, M, NA], M), (1, [NA, NA], NA), (2, [U, N, N, N, N], N),
])
def test_at_least(n, answers, expected):
    assert combine("at-least", n, answers) == expected


def test_combination_is_kleene_logic():
    """ALL is the minimum and ANY the maximum in not-met < unknown < met, not-applicable left out."""
    rank = {N: 0, U: 1, M: 2}
    for size in (1, 2, 3):
        for answers in product(ANSWERS, repeat=size):
            kept = [a for a in answers if a != NA]
            if not kept:
                assert combine("all", None, list(answers)) == NA == combine("any", None, list(answers))
                continue
            assert combine("all", None, list(answers)) == min(kept, key=rank.get)
            assert combine("any", None, list(answers)) == max(kept, key=rank.get)
            for n in range(1, size + 1):
                at_least = combine("at-least", n, list(answers))
                assert at_least == (M if kept.count(M) >= n else U if kept.count(M) + kept.count(U) >= n else N)


TREE = [
    {"id": "a", "text": "A.", "member_text": "A."},
    {"id": "g", "text": "G.", "combine": "any", "criteria": [
        {"id": "b", "text": "B.", "member_text": "B."},
        {"id": "h", "text": "H.", "combine": "at-least", "n": 2, "criteria": [
            {"id": "c", "text": "C.", "member_text": "C."},
            {"id": "d", "text": "D.", "member_text": "D."},
            {"id": "e", "text": "E.", "member_text": "E."}]}]},
]


def test_nested_groups_and_missing_answers_are_unknown():
    cset = make_set(criteria=TREE)
    nodes = node_answers(cset, {"a": M, "b": N, "c": M})
    assert nodes["h"] == U and nodes["g"] == U and nodes["root"] == U
    nodes = node_answers(cset, {"a": M, "b": N, "c": M, "d": M})
    assert nodes["h"] == M and nodes["g"] == M and nodes["root"] == M
    assert [(depth, node.id) for depth, node in walk(cset)] == [(0, "a"), (0, "g"), (1, "b"), (1, "h"), (2, "c"),
                                                                (2, "d"), (2, "e")]
    with pytest.raises(ValueError):
        node_answers(cset, {"a": "maybe"})


ADULT = 40


def test_overall_results_and_routes():
    cset = make_set(criteria=TREE)
    met = overall(cset, {"a": M, "b": M}, ADULT)
    assert (met.result, met.route, met.may_approve) == ("criteria-met", "may-approve", True)
    incomplete = overall(cset, {"a": M, "b": N, "c": M}, ADULT)
    assert (incomplete.result, incomplete.route) == ("incomplete", "continue-review")
    assert incomplete.open_criteria == ("d", "e") and "2 criteria are still unknown" in incomplete.message
    not_met = overall(cset, {"a": N, "b": M}, ADULT)
    assert (not_met.result, not_met.route, not_met.may_approve) == ("not-met", "refer", False)
    assert not_met.not_met_criteria == ("a",) and "never denies" in not_met.message
    assert "EPSDT" not in not_met.message
    all_na = overall(cset, {k: NA for k in "abcde"}, ADULT)
    assert (all_na.result, all_na.route) == ("no-criteria", "refer")
    none = no_criteria_result("ortho consult needed")
    assert none.result == "no-criteria" and "same or a similar specialty" in none.message
    assert "ortho consult needed" in none.message


def test_pharmacy_sets_escalate_through_the_clinical_pharmacist():
    drug = make_set(service_categories=["medication"], criteria=TREE)
    assert "clinical pharmacist" in overall(drug, {"a": N}, ADULT).message
    assert "clinical pharmacist" not in overall(make_set(criteria=TREE), {"a": N}, ADULT).message


# --- EPSDT ----------------------------------------------------------------------------------------------------------

def test_adult_only_set_for_a_member_under_21_goes_to_a_physician_under_epsdt():
    cset = make_set(adult_only=True, criteria=TREE)
    result = overall(cset, {"a": N, "b": M}, 20)
    assert (result.result, result.route, result.may_approve) == ("epsdt-review", "refer", False)
    assert result.epsdt.applies is True and "14059.5(b)" in result.epsdt.citation
    assert "correct or ameliorate" in result.message and "never denies" in result.message
    # an unknown stays incomplete, with the EPSDT notice shown
    incomplete = overall(cset, {"a": M}, 20)
    assert incomplete.result == "incomplete" and incomplete.epsdt.applies is True
    # adult criteria met also meet the broader EPSDT standard: approval stays possible
    met = overall(cset, {"a": M, "b": M}, 20)
    assert met.result == "criteria-met" and met.may_approve and "EPSDT" in met.message
    # everything not applicable under 21: still the physician under EPSDT
    assert overall(cset, {k: NA for k in "abcde"}, 17).result == "epsdt-review"


def test_epsdt_boundary_is_the_21st_birthday_at_receipt():
    cset = make_set(adult_only=True, criteria=[{"id": "a", "text": "A.", "member_text": "A.",
                                                "rule": {"kind": "age", "min": 18}}])
    turning = evaluate(cset, facts(birth_date=date(2005, 11, 21)))  # 20 on the day of receipt, 21 tomorrow
    assert turning.result.epsdt.applies is True
    twenty_one = evaluate(cset, facts(birth_date=date(2005, 11, 20)))
    assert twenty_one.result.epsdt is None and twenty_one.result.result == "criteria-met"
    child = evaluate(cset, facts(birth_date=date(2012, 1, 1)))
    assert child.answers["a"] == N and child.result.result == "epsdt-review"


def test_epsdt_with_an_unknown_age_is_a_notice_not_a_decision():
    cset = make_set(adult_only=True, criteria=TREE)
    result = overall(cset, {"a": N}, None)
    assert result.result == "not-met" and result.epsdt.applies is None and "under 21" in result.epsdt.text


def test_a_set_for_all_ages_still_tells_the_physician_about_epsdt():
    cset = make_set(adult_only=False, criteria=TREE)
    result = overall(cset, {"a": N}, 12)
    assert result.result == "not-met" and result.epsdt is None and "EPSDT" in result.message


# --- software never denies ------------------------------------------------------------------------------------------

def test_no_result_or_route_is_a_denial():
    for word in list(RESULTS) + list(ROUTES) + list(RESULTS.values()) + list(ROUTES.values()):
        assert "den" not in word.lower() and "reject" not in word.lower()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ANSWERS), min_size=5, max_size=5), st.one_of(st.none(), st.integers(0, 90)),
       st.booleans())
def test_any_answers_give_a_result_that_never_denies(answers, age, adult_only):
    cset = make_set(adult_only=adult_only, criteria=TREE)
    result = overall(cset, dict(zip("abcde", answers)), age)
    assert result.result in RESULTS and result.route in ROUTES
    assert result.may_approve == (result.result == "criteria-met")
    if result.route == "refer":
        assert result.result in ("not-met", "no-criteria", "epsdt-review")
    if adult_only and age is not None and age < 21 and result.result != "criteria-met":
        assert result.result in ("epsdt-review", "incomplete")


def test_evaluate_uses_machine_answers_and_reviewer_answers_over_them():
    cset = make_set(criteria=[
        {"id": "age", "text": "Adult.", "member_text": "Adult.", "rule": {"kind": "age", "min": 18}},
        {"id": "dx", "text": "Dx.", "member_text": "Dx.", "rule": {"kind": "diagnosis", "codes": ["K50"]}},
        {"id": "doc", "text": "Notes.", "member_text": "Notes."},
    ])
    result = evaluate(cset, facts())
    assert result.machine["age"].answer == M and result.machine["dx"].answer == N and "doc" not in result.machine
    assert result.answers == {"age": M, "dx": N} and result.nodes["doc"] == U
    assert result.result.result == "not-met"
    overridden = evaluate(cset, facts(), {"dx": M, "doc": M})
    assert overridden.result.result == "criteria-met"
