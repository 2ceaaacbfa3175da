"""Matching: code, code range, category; line of business; effective dates at receipt; versions; Medicare coverage
rules first; and the index always agrees with the plain loop."""
from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.criteria import CriteriaIndex, MatchRequest, match_by_loop, shipped_sets
from app.domain.criteria.codes import (RangeIndex, diagnosis_in, parse_diagnosis_spec, parse_procedure_spec,
                                       procedure_in)
from tests.domain.criteria_helpers import make_set

DAY = date(2026, 11, 20)


def request(*codes, category="outpatient", lob="medi-cal", on=DAY, timing="pre-service", diagnoses=()):
    return MatchRequest(tuple(codes), category, lob, on, timing, tuple(diagnoses))


def ids(matches):
    return [m.set.id for m in matches]


def test_procedure_ranges_compare_whole_codes():
    spec = parse_procedure_spec("J0000-J9999")
    assert procedure_in("J1745", spec) and procedure_in("j0000", spec) and procedure_in("J9999", spec)
    assert not procedure_in("K0001", spec) and not procedure_in("J174", spec)
    mri = parse_procedure_spec("72141 - 72158")
    assert procedure_in("72141", mri) and procedure_in("72158", mri) and procedure_in("72148", mri)
    assert not procedure_in("72159", mri) and not procedure_in("72140", mri)
    with pytest.raises(ValueError, match="backwards"):
        parse_procedure_spec("72158-72141")


def test_diagnosis_specs():
    assert diagnosis_in("K50.90", parse_diagnosis_spec("K50"))
    assert diagnosis_in("F19.20", parse_diagnosis_spec("F18-F19"))
    assert not diagnosis_in("F17.210", parse_diagnosis_spec("F18-F19"))
    assert not diagnosis_in("F17.210", parse_diagnosis_spec("F10-F16"))
    with pytest.raises(ValueError):
        parse_diagnosis_spec("F19-F10")


def test_range_index_finds_exactly_the_covering_ranges():
    texts = ["J0000-J9999", "J1000-J1999", "J1745-J1745", "J1746-J2000", "72141-72158", "97161-97163"]
    index = RangeIndex((parse_procedure_spec(t), t) for t in texts)
    assert sorted(t for _, t in index.lookup("J1745")) == ["J0000-J9999", "J1000-J1999", "J1745-J1745"]
    assert sorted(t for _, t in index.lookup("J2000")) == ["J0000-J9999", "J1746-J2000"]
    assert sorted(t for _, t in index.lookup("J2001")) == ["J0000-J9999"]
    assert index.lookup("A0001") == () and index.lookup("7214") == ()
    assert [t for _, t in index.lookup("97163")] == ["97161-97163"]
    assert index.lookup("97164") == ()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), min_size=1, max_size=12), st.integers(0, 95))
def test_range_index_agrees_with_checking_every_range(ranges, probe):
    specs = [parse_procedure_spec(f"J{low:04d}-J{low + width:04d}") for low, width in ranges]
    index = RangeIndex((spec, i) for i, spec in enumerate(specs))
    code = f"J{probe:04d}"
    assert sorted(i for _, i in index.lookup(code)) == [i for i, spec in enumerate(specs) if procedure_in(code, spec)]


# --- matching -------------------------------------------------------------------------------------------------------

EXACT = make_set(id="exact-set", title="Exact", codes={"procedures": ["72148"]})
RANGE = make_set(id="range-set", title="Range", codes={"procedures": ["72141-72158"]})
CATEGORY = make_set(id="category-set", title="Category", codes={"procedures": []})
OTHER = make_set(id="other-set", title="Other", codes={"procedures": ["97110"]})


def test_best_match_first_exact_then_range_then_category():
    index = CriteriaIndex([CATEGORY, RANGE, OTHER, EXACT])
    matches = index.match(request("72148"))
    assert ids(matches) == ["exact-set", "range-set", "category-set"]
    assert [m.basis for m in matches] == ["exact-code", "code-range", "category"]
    assert matches[0].score > matches[1].score > matches[2].score
    assert matches[0].codes == ("72148",) and "code 72148" in matches[0].reason
    assert ids(index.match(request("72149"))) == ["range-set", "category-set"]
    assert ids(index.match(request("70553"))) == ["category-set"]
    assert ids(index.match(request("70553", category="dme"))) == []


def test_a_set_with_codes_never_matches_by_category_alone():
    assert ids(CriteriaIndex([OTHER]).match(request("72148"))) == []


def test_a_diagnosis_in_the_sets_list_and_a_timing_restriction_raise_the_score():
    plain = make_set(id="plain", title="A plain", codes={"procedures": []})
    with_dx = make_set(id="with-dx", title="B with dx", codes={"procedures": [], "diagnoses": ["M51-M54.9"]})
    concurrent = make_set(id="concurrent", title="C concurrent", codes={"procedures": []},
                          review_timings=["concurrent"])
    index = CriteriaIndex([plain, with_dx, concurrent])
    assert ids(index.match(request(diagnoses=["M54.50"]))) == ["with-dx", "plain"]
    assert ids(index.match(request(diagnoses=["M54.50"], timing="concurrent"))) == ["with-dx", "concurrent", "plain"]
    assert ids(index.match(request(timing="concurrent"))) == ["concurrent", "plain", "with-dx"]


def test_line_of_business_filters():
    medicare_only = make_set(id="medicare-only", lines_of_business=["medicare"])
    index = CriteriaIndex([medicare_only])
    assert ids(index.match(request("72148", lob="medi-cal"))) == []
    assert ids(index.match(request("72148", lob="medicare"))) == ["medicare-only"]


def test_effective_dates_at_receipt_and_the_highest_version_in_effect():
    v1 = make_set(id="mri", version="1", effective_from="2025-01-01", effective_to="2026-06-30")
    v2 = make_set(id="mri", version="2", effective_from="2026-07-01")
    v3 = make_set(id="mri", version="3", effective_from="2027-01-01")
    v10 = make_set(id="mri", version="2.10", effective_from="2026-07-01")
    index = CriteriaIndex([v3, v1, v2])
    assert [m.set.version for m in index.match(request("72148", on=date(2026, 6, 30)))] == ["1"]
    assert [m.set.version for m in index.match(request("72148", on=date(2026, 7, 1)))] == ["2"]
    assert [m.set.version for m in index.match(request("72148", on=date(2027, 1, 1)))] == ["3"]
    assert index.match(request("72148", on=date(2024, 12, 31))) == []
    assert [m.set.version for m in CriteriaIndex([v10, v2]).match(request("72148"))] == ["2.10"]


def test_medicare_coverage_rules_come_before_plan_criteria():
    plan = make_set(id="plan-pwc", title="A plan", codes={"procedures": ["K0823"]}, service_categories=["dme"])
    ncd = make_set(id="ncd-mae", title="Z NCD", codes={"procedures": ["K0800-K0891"]}, service_categories=["dme"],
                   source={"kind": "ncd", "citation": "NCD 280.3"})
    lcd = make_set(id="lcd-pmd", title="Y LCD", codes={"procedures": []}, service_categories=["dme"],
                   source={"kind": "lcd", "citation": "LCD L33789"})
    index = CriteriaIndex([plan, ncd, lcd])
    medicare = index.match(request("K0823", category="dme", lob="medicare"))
    assert ids(medicare) == ["ncd-mae", "lcd-pmd", "plan-pwc"]  # coverage rules first, then by score
    assert medicare[0].medicare_coverage and "422.101(b)(6)" in medicare[0].reason
    assert not medicare[2].medicare_coverage
    # Medi-Cal: the score alone orders them
    assert ids(index.match(request("K0823", category="dme"))) == ["plan-pwc", "ncd-mae", "lcd-pmd"]


def test_shipped_library_proposals_for_demo_like_requests():
    index = CriteriaIndex(shipped_sets())
    assert ids(index.match(request("J1745", category="medication")))[0] == "med-infliximab"
    assert ids(index.match(request("G0156", category="home-health"))) == ["home-health-services"]
    assert index.match(request("G0156", category="home-health"))[0].basis == "code-range"
    medicare_pwc = ids(index.match(request("K0823", category="dme", lob="medicare")))
    assert medicare_pwc == ["medicare-ncd-280-3-mobility", "dme-power-wheelchair"]
    assert ids(index.match(request("K0823", category="dme"))) == ["dme-power-wheelchair"]
    inpatient = ids(index.match(request("99223", category="inpatient", timing="concurrent")))
    assert inpatient == ["inpatient-continued-stay", "inpatient-acute-admission"]
    assert ids(index.match(request("99223", category="inpatient", timing="pre-service"))) == [
        "inpatient-acute-admission"]
    assert ids(index.match(request("J1745", category="medication", on=date(2025, 12, 31)))) == []


def test_by_code_lists_every_version_listing_a_code():
    index = CriteriaIndex([EXACT, RANGE, OTHER, make_set(id="exact-set", version="2")])
    assert [(s.id, s.version, basis) for s, basis in index.by_code("72148")] == [
        ("exact-set", "1", "exact-code"), ("exact-set", "2", "exact-code"), ("range-set", "1", "code-range")]


def random_library(rng: random.Random, size: int):
    sets = []
    for i in range(size):
        codes = []
        for _ in range(rng.randint(0, 3)):
            low = rng.randint(0, 80)
            codes.append(f"J{low:04d}" if rng.random() < 0.6 else f"J{low:04d}-J{low + rng.randint(0, 15):04d}")
        start = date(2026, rng.randint(1, 12), 1)
        sets.append(make_set(id=f"set-{i % (size // 2 + 1)}", version=str(i), title=f"Set {i}",
                             codes={"procedures": codes, "diagnoses": rng.choice([[], ["K50"]])},
                             service_categories=[rng.choice(["medication", "outpatient"])],
                             lines_of_business=rng.choice([["medi-cal"], ["medicare"], ["medi-cal", "medicare"]]),
                             effective_from=start.isoformat(),
                             effective_to=rng.choice([None, "2026-12-31", "2026-06-30"]) if start.month <= 6 else None,
                             review_timings=rng.choice([None, ["concurrent"]]) or ["pre-service", "concurrent"],
                             source={"kind": rng.choice(["plan-policy", "ncd", "lcd", "p-and-t"]), "citation": "x"}))
    return sets


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_the_index_agrees_with_the_plain_loop(seed):
    rng = random.Random(seed)
    sets = random_library(rng, 40)
    index = CriteriaIndex(sets)
    for _ in range(10):
        req = request(*[f"J{rng.randint(0, 99):04d}" for _ in range(rng.randint(0, 3))],
                      category=rng.choice(["medication", "outpatient"]), lob=rng.choice(["medi-cal", "medicare"]),
                      on=date(2026, rng.randint(1, 12), rng.randint(1, 28)),
                      timing=rng.choice(["pre-service", "concurrent"]), diagnoses=rng.choice([(), ("K50.90",)]))
        fast, slow = index.match(req), match_by_loop(sets, req)
        assert [(m.set.key, m.basis, m.score, m.codes) for m in fast] == \
               [(m.set.key, m.basis, m.score, m.codes) for m in slow]
