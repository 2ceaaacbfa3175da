"""Drawing the yearly inter-rater reliability sample (issue 14, scope 1). Pure: candidates in, sample out.

Source: ../shared/reference/roles-and-authority.md, "Inter-rater reliability (IRR)":
* "Each year, per reviewer, audit 50 cases or 5% of the reviewer's case load, whichever is less, using live cases."
* "Audited: nurse review of inpatient, outpatient, long-term care; BH nurse review of residential SUD; physician
  review; pharmacist and pharmacy technician review of pharmacy TARs."

Readings we chose (docs/oversight.md, "The sample"):
* A reviewer's case load is the cases they decided in the year: each case counts once per reviewer (their latest
  determination on it that year), determinations on the merits only (approved, approved in part, denied; a
  withdrawal or an administrative closure applies no criteria).
* 5% is rounded up, so every reviewer with a decision is audited at least once: 40 decisions give 2 cases,
  1,000 give 50, 2,000 give 50 (5% would be 100).
* The review type of a decision follows from the decider's role and the case's service category
  (`review_type`). The reviewer's sample is shared among their review types in proportion to their decisions of
  each type (largest remainders), every type they decided getting at least one case when the sample is large
  enough; within a type the cases are drawn at random.
* Random with a recorded seed: each (reviewer, review type) draw uses its own generator seeded from the text
  "seed|reviewer|review type" over the candidates in TAR order, so the same seed over the same decided cases gives
  the same sample on any machine, and adding a reviewer never changes another reviewer's draw.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from app.domain.roles import NURSE_ROLES, PHARMACY_ROLES, PHYSICIAN_ROLES

MAX_PER_REVIEWER = 50
PERCENT_PER_REVIEWER = 5
TARGET_PERCENT = 90.0  # agreement target; below it, a corrective action plan

# Review types audited, in the reference's order (ids are stable; labels are what users read).
REVIEW_TYPES = {
    "nurse-inpatient": "Nurse review, inpatient",
    "nurse-outpatient": "Nurse review, outpatient",
    "nurse-ltc": "Nurse review, long-term care",
    "bh-residential-sud": "BH nurse review, residential SUD",
    "physician": "Physician review",
    "pharmacy": "Pharmacist and pharmacy technician review",
}
MERIT_OUTCOMES = ("approved", "partially-approved", "denied")

_NURSE_TYPE_BY_CATEGORY = {
    "inpatient": "nurse-inpatient",
    "ltc-snf": "nurse-ltc",
    "community-supports": "nurse-ltc",  # LTSS team: long-term services and supports
    "bh-sud": "bh-residential-sud",
}


def review_type(role: str, category: str) -> str | None:
    """The audited review type of a decision by a reviewer of `role` on a case of `category` (None: a role whose
    decisions are not audited). Nurses' outpatient, DME, home health and medical-benefit drug decisions are
    outpatient review."""
    if role in PHYSICIAN_ROLES:
        return "physician"
    if role in PHARMACY_ROLES:
        return "pharmacy"
    if role in NURSE_ROLES:
        return _NURSE_TYPE_BY_CATEGORY.get(category, "nurse-outpatient")
    return None


def sample_size(decided: int) -> int:
    """50 cases or 5% of the reviewer's decided cases (rounded up), whichever is less."""
    if decided <= 0:
        return 0
    five_percent = -(-decided * PERCENT_PER_REVIEWER // 100)  # ceiling without floating point
    return min(MAX_PER_REVIEWER, five_percent, decided)


def allocate(strata: dict[str, int], size: int) -> dict[str, int]:
    """Share `size` cases among review types in proportion to the decisions of each (largest remainders; ties go
    to the type listed first in REVIEW_TYPES). Every type with decisions gets at least one case when `size` allows
    it; no type gets more cases than it has."""
    order = sorted((t for t, n in strata.items() if n > 0), key=_type_order)
    total = sum(strata[t] for t in order)
    size = min(size, total)
    if size <= 0:
        return {t: 0 for t in strata}
    given = {t: 0 for t in order}
    if size < len(order):  # fewer cases than types: one each to the types with the most decisions
        for t in sorted(order, key=lambda t: (-strata[t], _type_order(t)))[:size]:
            given[t] = 1
        return {t: given.get(t, 0) for t in strata}
    quotas = {t: size * strata[t] / total for t in order}
    given = {t: int(quotas[t]) for t in order}
    left = size - sum(given.values())
    for t in sorted(order, key=lambda t: (-(quotas[t] - int(quotas[t])), _type_order(t)))[:left]:
        given[t] += 1
    for t in order:  # a type with decisions but no case takes one from the type with the most cases
        if given[t] == 0:
            donor = max(order, key=lambda d: (given[d], -_type_order(d)))
            given[donor] -= 1
            given[t] = 1
    return {t: given.get(t, 0) for t in strata}


def _type_order(review: str) -> int:
    types = list(REVIEW_TYPES)
    return types.index(review) if review in types else len(types)


@dataclass(frozen=True)
class Candidate:
    """A reviewer's decided case in the year: the determination that makes it part of their case load."""

    reviewer: str  # username
    role: str
    tar: str
    category: str
    determination_id: str

    @property
    def review_type(self) -> str | None:
        return review_type(self.role, self.category)


@dataclass(frozen=True)
class Stratum:
    review_type: str
    decided: int
    sampled: int

    def to_json(self) -> dict:
        return {"review_type": self.review_type, "label": REVIEW_TYPES[self.review_type],
                "decided": self.decided, "sampled": self.sampled}


@dataclass(frozen=True)
class ReviewerSample:
    reviewer: str
    role: str
    decided: int
    strata: tuple[Stratum, ...]
    cases: tuple[Candidate, ...] = field(default=())

    @property
    def size(self) -> int:
        return len(self.cases)

    def to_json(self) -> dict:
        return {"username": self.reviewer, "role": self.role, "decided": self.decided,
                "sample_size": self.size, "strata": [s.to_json() for s in self.strata],
                "cases": [{"tar": c.tar, "review_type": c.review_type} for c in self.cases]}


def _generator(seed: int, reviewer: str, review: str) -> random.Random:
    return random.Random(f"{seed}|{reviewer}|{review}")


def draw(candidates: Iterable[Candidate], seed: int) -> list[ReviewerSample]:
    """The sample of every reviewer with decided cases among `candidates` (one per reviewer and case), reviewers
    in username order, each reviewer's cases in TAR order."""
    by_reviewer: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        if candidate.review_type is not None:
            by_reviewer[candidate.reviewer].append(candidate)
    samples = []
    for reviewer in sorted(by_reviewer):
        own = by_reviewer[reviewer]
        by_type: dict[str, list[Candidate]] = defaultdict(list)
        for candidate in own:
            by_type[candidate.review_type].append(candidate)
        counts = {t: len(cs) for t, cs in by_type.items()}
        quota = allocate(counts, sample_size(len(own)))
        chosen: list[Candidate] = []
        strata = []
        for review in sorted(by_type, key=_type_order):
            pool = sorted(by_type[review], key=lambda c: (c.tar, c.determination_id))
            picked = _generator(seed, reviewer, review).sample(pool, quota[review])
            chosen.extend(picked)
            strata.append(Stratum(review, len(pool), quota[review]))
        role = own[0].role  # the reviewer's role as the store holds it now
        samples.append(ReviewerSample(reviewer, role, len(own), tuple(strata),
                                      tuple(sorted(chosen, key=lambda c: c.tar))))
    return samples


def sample_json(year: int, seed: int, samples: list[ReviewerSample]) -> dict:
    """The sample as printed by `umws irr sample --json`: the same for the same seed and the same decided cases;
    no timestamps, no draw ids, no outcomes (auditors receive it blind)."""
    return {
        "year": year,
        "seed": seed,
        "rule": f"per reviewer, {MAX_PER_REVIEWER} cases or {PERCENT_PER_REVIEWER}% of the decided cases "
                "(rounded up), whichever is less, stratified by review type",
        "reviewers": [s.to_json() for s in samples],
        "total_cases": sum(s.size for s in samples),
    }
