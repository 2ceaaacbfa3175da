"""Small criteria sets and case facts for the criteria tests."""
from __future__ import annotations

import copy
from datetime import date

from app.domain.criteria import CaseFacts, LineFacts, parse_set
from app.domain.criteria.validate import validate_content

BASE = {
    "format": "umws-criteria-set/1",
    "id": "test-set",
    "title": "Test set",
    "version": "1",
    "effective_from": "2026-01-01",
    "effective_to": None,
    "sample_content": True,
    "notice": "Test content.",
    "source": {"kind": "plan-policy", "citation": "Test policy"},
    "lines_of_business": ["medi-cal", "medicare"],
    "service_categories": ["outpatient"],
    "codes": {"procedures": ["72148"]},
    "adult_only": False,
    "combine": "all",
    "criteria": [
        {"id": "a", "text": "Reviewer wording A.", "member_text": "You need it."},
    ],
}


def content(**changes) -> dict:
    out = copy.deepcopy(BASE)
    out.update(copy.deepcopy(changes))
    return out


def make_set(**changes):
    raw = content(**changes)
    errors = [issue for issue in validate_content(raw) if issue.severity == "error"]
    assert not errors, errors
    return parse_set(raw)


def rule_set(rule: dict, **changes):
    """A set of one criterion carrying `rule`."""
    return make_set(criteria=[{"id": "r", "text": "Rule.", "member_text": "Rule.", "rule": rule}], **changes)


def facts(**changes) -> CaseFacts:
    values = {"received_on": date(2026, 11, 20), "birth_date": date(1980, 5, 1), "sex": "F",
              "diagnoses": ("M54.50",), "place_of_service": "11",
              "lines": (LineFacts("72148", 1, date(2026, 12, 1), date(2026, 12, 1)),)}
    values.update(changes)
    return CaseFacts(**values)
