"""Which criteria sets apply to a request, best first.

A set applies to a request when
* its lines of business include the case's line,
* it is in effect on the day the request was received (effective_from <= day <= effective_to), and
* one of the request's procedure codes is listed in the set (a single code or a range), or, for a set that
  lists no procedure codes, the request's service category is one of the set's categories. A set that lists codes
  never applies by category alone: with hundreds of sets, "same category" would propose every set of the category.
* When the set names review timings (e.g. continued stay: concurrent), the request's timing is one of them.

Of several versions of one set in effect that day, the highest version applies. Order: for the `medicare` line,
Medicare coverage rules (source kind ncd / lcd) come first (42 CFR 422.101(b)(6)); then the score, highest
first: an exact code 300, a code in a range 200, the category only 100, plus 10 when a diagnosis of the request is
in the set's diagnosis list and 5 when the set is limited to the request's review timing; then the title.

`CriteriaIndex` finds the candidates through a dict of exact codes, an interval table of code ranges and a dict of
categories; `match_by_loop` is the plain loop over every set, kept as the reference the index must agree with.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from app.domain.criteria.codes import CodeSpec, RangeIndex, diagnosis_in, normalize_procedure, procedure_in
from app.domain.criteria.facts import CaseFacts
from app.domain.criteria.model import MEDICARE_COVERAGE_KINDS, CriteriaSet, version_key

SCORES = {"exact-code": 300, "code-range": 200, "category": 100}
DIAGNOSIS_BONUS = 10
TIMING_BONUS = 5
BASIS_WORDS = {"exact-code": "code", "code-range": "code range", "category": "service category"}


@dataclass(frozen=True)
class MatchRequest:
    procedure_codes: tuple[str, ...]
    service_category: str
    line_of_business: str
    received_on: date
    review_timing: str | None = None
    diagnoses: tuple[str, ...] = ()

    @classmethod
    def from_facts(cls, facts: CaseFacts) -> MatchRequest:
        return cls(facts.procedure_codes, facts.service_category, facts.line_of_business, facts.received_on,
                   facts.review_timing, facts.diagnoses)


@dataclass(frozen=True)
class Match:
    set: CriteriaSet
    basis: str  # exact-code | code-range | category
    score: int
    codes: tuple[str, ...]  # the request's codes that matched (empty for a category match)
    medicare_coverage: bool  # an NCD / LCD set for a medicare request: listed before the plan's criteria
    reason: str

    def to_json(self) -> dict:
        return {"set_id": self.set.id, "version": self.set.version, "title": self.set.title,
                "basis": self.basis, "score": self.score, "codes": list(self.codes),
                "medicare_coverage_first": self.medicare_coverage, "reason": self.reason,
                "source_kind": self.set.source.kind, "citation": self.set.source.citation,
                "origin": self.set.origin, "sha256": self.set.sha256}


def _eligible(cset: CriteriaSet, request: MatchRequest) -> bool:
    return (request.line_of_business in cset.lines_of_business and cset.effective_on(request.received_on)
            and (not cset.review_timings or request.review_timing is None
                 or request.review_timing in cset.review_timings))


def _score(cset: CriteriaSet, basis: str, codes: tuple[str, ...], request: MatchRequest) -> Match:
    score = SCORES[basis]
    notes = []
    if cset.diagnosis_codes and any(diagnosis_in(code, spec) for code in request.diagnoses
                                    for spec in cset.diagnosis_codes):
        score += DIAGNOSIS_BONUS
        notes.append("a diagnosis is in the set's list")
    if cset.review_timings and request.review_timing in cset.review_timings:
        score += TIMING_BONUS
        notes.append(f"{request.review_timing} review")
    coverage = request.line_of_business == "medicare" and cset.source.kind in MEDICARE_COVERAGE_KINDS
    what = (f"{BASIS_WORDS[basis]} {', '.join(codes)}" if codes
            else f"{BASIS_WORDS[basis]} {request.service_category}")
    reason = f"Matches by {what}" + (f"; {'; '.join(notes)}" if notes else "")
    if coverage:
        reason += "; Medicare coverage rule, applied before the plan's criteria (42 CFR 422.101(b)(6))"
    return Match(cset, basis, score, codes, coverage, reason + ".")


def _order(matches: Iterable[Match]) -> list[Match]:
    return sorted(matches, key=lambda m: (not m.medicare_coverage, -m.score, m.set.title.lower(), m.set.id))


def _best_versions(candidates: dict[tuple[str, str], tuple[CriteriaSet, str, tuple[str, ...]]],
                   request: MatchRequest) -> list[Match]:
    best: dict[str, tuple[CriteriaSet, str, tuple[str, ...]]] = {}
    for cset, basis, codes in candidates.values():
        if not _eligible(cset, request):
            continue
        held = best.get(cset.id)
        if held is None or version_key(cset.version) > version_key(held[0].version):
            best[cset.id] = (cset, basis, codes)
    return _order(_score(cset, basis, codes, request) for cset, basis, codes in best.values())


def _better(held: tuple[CriteriaSet, str, tuple[str, ...]] | None, cset: CriteriaSet, basis: str,
            code: str) -> tuple[CriteriaSet, str, tuple[str, ...]]:
    if held is None:
        return (cset, basis, (code,))
    codes = held[2] if code in held[2] else held[2] + (code,)
    best = held[1] if SCORES[held[1]] >= SCORES[basis] else basis
    return (cset, best, codes)


class CriteriaIndex:
    """The library indexed for matching: exact codes in a dict, ranges in an interval table, code-less sets by
    category. Built once per library (a few milliseconds for 500 sets); `match` is then a handful of lookups."""

    def __init__(self, sets: Iterable[CriteriaSet]):
        self.sets = tuple(sets)
        self._exact: dict[str, list[CriteriaSet]] = {}
        ranges: list[tuple[CodeSpec, CriteriaSet]] = []
        self._by_category: dict[str, list[CriteriaSet]] = {}
        for cset in self.sets:
            if not cset.procedure_codes:
                for category in cset.service_categories:
                    self._by_category.setdefault(category, []).append(cset)
            for spec in cset.procedure_codes:
                if spec.is_range:
                    ranges.append((spec, cset))
                else:
                    self._exact.setdefault(spec.low, []).append(cset)
        self._ranges = RangeIndex(ranges)

    def match(self, request: MatchRequest) -> list[Match]:
        candidates: dict[tuple[str, str], tuple[CriteriaSet, str, tuple[str, ...]]] = {}
        for raw in request.procedure_codes:
            code = normalize_procedure(raw)
            for cset in self._exact.get(code, ()):
                candidates[cset.key] = _better(candidates.get(cset.key), cset, "exact-code", code)
            for _spec, cset in self._ranges.lookup(code):
                candidates[cset.key] = _better(candidates.get(cset.key), cset, "code-range", code)
        for cset in self._by_category.get(request.service_category, ()):
            candidates.setdefault(cset.key, (cset, "category", ()))
        return _best_versions(candidates, request)

    def by_code(self, code: str) -> list[tuple[CriteriaSet, str]]:
        """Every set (all versions, any line, any date) listing this code: (set, exact-code | code-range)."""
        code = normalize_procedure(code)
        found = {cset.key: (cset, "exact-code") for cset in self._exact.get(code, ())}
        for _spec, cset in self._ranges.lookup(code):
            found.setdefault(cset.key, (cset, "code-range"))
        return sorted(found.values(), key=lambda item: (SCORES[item[1]] * -1, item[0].id,
                                                        version_key(item[0].version)))


def match_by_loop(sets: Iterable[CriteriaSet], request: MatchRequest) -> list[Match]:
    """The reference: every set, every code entry, one by one (what the index must agree with)."""
    candidates: dict[tuple[str, str], tuple[CriteriaSet, str, tuple[str, ...]]] = {}
    codes = [normalize_procedure(code) for code in request.procedure_codes]
    for cset in sets:
        held = None
        for code in codes:
            for spec in cset.procedure_codes:
                if procedure_in(code, spec):
                    held = _better(held, cset, "code-range" if spec.is_range else "exact-code", code)
        if held is None and not cset.procedure_codes and request.service_category in cset.service_categories:
            held = (cset, "category", ())
        if held is not None:
            candidates[cset.key] = held
    return _best_versions(candidates, request)
