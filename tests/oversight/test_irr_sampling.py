"""The yearly IRR sample: 50 or 5% per reviewer, stratified by review type, reproducible by seed (issue 14)."""
from __future__ import annotations

import json

import pytest

from app.domain.irr_sampling import Candidate, allocate, draw, review_type, sample_json, sample_size


def decisions(reviewer: str, role: str, n: int, category: str = "outpatient", start: int = 0) -> list[Candidate]:
    return [Candidate(reviewer, role, f"9{start + i:010d}", category, f"det-{reviewer}-{start + i}")
            for i in range(n)]


@pytest.mark.parametrize(("decided", "expected"), [(40, 2), (1000, 50), (2000, 50), (1, 1), (20, 1), (21, 2),
                                                   (999, 50), (981, 50), (980, 49), (0, 0)])
def test_sample_size_is_50_or_5_percent_whichever_is_less(decided, expected):
    assert sample_size(decided) == expected


def test_reviewers_with_40_1000_and_2000_decisions():
    candidates = (decisions("nurse.a", "um-nurse", 40) + decisions("nurse.b", "um-nurse", 1000, start=10_000)
                  + decisions("dr.c", "medical-director", 2000, "inpatient", start=20_000))
    samples = {s.reviewer: s for s in draw(candidates, seed=7)}
    assert {name: (s.decided, s.size) for name, s in samples.items()} == {
        "nurse.a": (40, 2), "nurse.b": (1000, 50), "dr.c": (2000, 50)}
    own = {c.tar for c in candidates if c.reviewer == "nurse.b"}
    assert {c.tar for c in samples["nurse.b"].cases} <= own  # each reviewer's sample is of their own cases
    assert len({c.tar for c in samples["dr.c"].cases}) == 50  # drawn without replacement


def test_same_seed_same_json_other_seed_other_sample():
    candidates = decisions("nurse.a", "um-nurse", 300) + decisions("nurse.b", "um-nurse", 700, "inpatient", 1000)
    first = json.dumps(sample_json(2026, 11, draw(candidates, 11)), sort_keys=True)
    again = json.dumps(sample_json(2026, 11, draw(list(reversed(candidates)), 11)), sort_keys=True)
    assert first == again  # the order the store returns candidates in does not matter
    other = json.dumps(sample_json(2026, 12, draw(candidates, 12)), sort_keys=True)
    assert json.loads(other)["reviewers"][0]["cases"] != json.loads(first)["reviewers"][0]["cases"]


def test_another_reviewer_never_changes_a_reviewers_draw():
    alone = draw(decisions("nurse.a", "um-nurse", 300), 3)[0]
    with_others = {s.reviewer: s for s in draw(decisions("nurse.a", "um-nurse", 300)
                                               + decisions("nurse.z", "um-nurse", 90, start=5000), 3)}
    assert with_others["nurse.a"].cases == alone.cases


def test_stratified_by_review_type_in_proportion():
    candidates = (decisions("nurse.f", "um-nurse", 600, "inpatient") + decisions("nurse.f", "um-nurse", 300,
                                                                                 "outpatient", 1000)
                  + decisions("nurse.f", "um-nurse", 100, "ltc-snf", 2000))
    sample = draw(candidates, 5)[0]
    assert sample.size == 50
    assert {s.review_type: (s.decided, s.sampled) for s in sample.strata} == {
        "nurse-inpatient": (600, 30), "nurse-outpatient": (300, 15), "nurse-ltc": (100, 5)}
    assert sum(1 for c in sample.cases if c.review_type == "nurse-ltc") == 5


def test_every_type_gets_a_case_when_the_sample_allows():
    assert allocate({"nurse-inpatient": 195, "nurse-ltc": 5}, 10) == {"nurse-inpatient": 9, "nurse-ltc": 1}
    assert allocate({"nurse-inpatient": 30, "nurse-ltc": 5, "bh-residential-sud": 4}, 2) == {
        "nurse-inpatient": 1, "nurse-ltc": 1, "bh-residential-sud": 0}
    assert sum(allocate({"a": 3, "b": 3, "c": 3}, 7).values()) == 7


def test_review_types_follow_role_and_category():
    assert review_type("um-nurse", "inpatient") == "nurse-inpatient"
    assert review_type("nurse-supervisor", "dme") == "nurse-outpatient"
    assert review_type("um-nurse", "ltc-snf") == "nurse-ltc"
    assert review_type("um-nurse", "bh-sud") == "bh-residential-sud"
    assert review_type("bh-clinical-director", "bh-sud") == "physician"
    assert review_type("pharmacy-technician", "medication") == "pharmacy"
    assert review_type("clinical-pharmacist", "medication") == "pharmacy"
    assert review_type("um-coordinator", "outpatient") is None
    assert draw(decisions("coord.x", "um-coordinator", 30), 1) == []  # not audited


def test_the_sample_json_has_no_timestamps_ids_or_outcomes():
    text = json.dumps(sample_json(2026, 1, draw(decisions("nurse.a", "um-nurse", 100), 1)))
    for word in ("det-", "_at", "outcome", "denied", "approved", "T00:", "2026-"):
        assert word not in text
