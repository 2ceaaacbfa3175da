"""Criteria sets and checklists (issue 5): pure rules, no Qt and no database.

* `model`: the set (id, version, dates, source, applicability, tree of groups and criteria, machine rules).
* `validate`: checking a file against resources/criteria/schema.json and the rules a schema cannot say.
* `facts`: what machine rules read about a case; `rules`: the machine rules; `evaluate`: combining answers and
  the overall result (never a denial); `matching`: which sets apply to a request, best first.

See docs/criteria.md.
"""
from __future__ import annotations

from app.domain.criteria.evaluate import (RESULTS, ROUTES, Evaluation, OverallResult, combine, evaluate, node_answers,
                                          no_criteria_result, overall, walk)
from app.domain.criteria.facts import CaseFacts, FactError, LineFacts, normalize_fact
from app.domain.criteria.matching import CriteriaIndex, Match, MatchRequest, match_by_loop
from app.domain.criteria.model import (ANSWER_LABELS, ANSWERS, SOURCE_KINDS, CriteriaSet, Criterion, Group,
                                       content_sha256, parse_set, version_key)
from app.domain.criteria.rules import RuleOutcome, evaluate_rule
from app.domain.criteria.validate import (CriteriaFileError, Issue, check_file, load_content, load_file,
                                          shipped_sets, validate_content)

__all__ = [
    "ANSWERS", "ANSWER_LABELS", "RESULTS", "ROUTES", "SOURCE_KINDS", "CaseFacts", "CriteriaFileError",
    "CriteriaIndex", "CriteriaSet", "Criterion", "Evaluation", "FactError", "Group", "Issue", "LineFacts", "Match",
    "MatchRequest", "OverallResult", "RuleOutcome", "check_file", "combine", "content_sha256", "evaluate",
    "evaluate_rule", "load_content", "load_file", "match_by_loop", "no_criteria_result", "node_answers",
    "normalize_fact", "overall", "parse_set", "shipped_sets", "validate_content", "version_key", "walk",
]
