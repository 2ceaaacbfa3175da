"""What the workstation may say about one reviewer: agreement and timeliness, never denials (issue 14, scope 6).

Source: ../shared/reference/roles-and-authority.md: "Decision makers are never rewarded for denials; nothing in
the software may rank or score reviewers by denials."

Every per-reviewer row of a report is made by `reviewer_row`, which accepts only the figures listed here; the
committee's dashboard and packet have no per-reviewer section at all. `denial_figures_about_reviewers` finds any
figure about decisions' outcomes next to a reviewer's identity in a report's JSON or a screen's model (the guard
test runs it over everything the oversight screens and commands produce).
"""
from __future__ import annotations

from typing import Any, Iterator

IDENTITY = frozenset({"username", "full_name", "role", "reviewer"})
SAMPLING = frozenset({"decided", "sample_size", "sampled", "reviewed", "review_types", "audit_complete"})
AGREEMENT = frozenset({"determination_agreement", "criteria_agreement", "below_target", "target_percent",
                       "corrective_action_plan"})
TIMELINESS = frozenset({"decisions_in_time", "percent_in_time"})
PER_REVIEWER_FIGURES = IDENTITY | SAMPLING | AGREEMENT | TIMELINESS

# Words that name decisions' outcomes (denied, denial, approved, modified, outcome, overturned, upheld, adverse).
OUTCOME_WORDS = ("deni", "deny", "approv", "modif", "outcome", "overturn", "upheld", "adverse", "partial")
REVIEWER_KEYS = frozenset({"username", "reviewer", "reviewer_username", "decided_by", "decider"})


class ReviewerFigureRefused(ValueError):
    """A per-reviewer figure that is not agreement or timeliness."""


def reviewer_row(**figures: Any) -> dict:
    """A per-reviewer row of a report: identity, sampling counts, agreement and timeliness only."""
    extra = sorted(set(figures) - PER_REVIEWER_FIGURES)
    if extra:
        raise ReviewerFigureRefused(
            f"per-reviewer figures are agreement and timeliness only; refused: {', '.join(extra)}")
    return dict(figures)


def _names_outcome(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in OUTCOME_WORDS)


def _walk(value: Any, path: str) -> Iterator[tuple[str, dict]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _mentions_outcome(value: Any) -> Iterator[str]:
    for path, mapping in _walk(value, ""):
        for key, item in mapping.items():
            if _names_outcome(str(key)):
                yield f"{path}.{key}"
            elif isinstance(item, str) and item.lower() in ("denied", "approved", "partially-approved"):
                yield f"{path}.{key}={item}"


def denial_figures_about_reviewers(document: Any) -> list[str]:
    """Paths of outcome figures in any object that names a reviewer (empty: the document never says how often a
    reviewer denied, approved or modified)."""
    found = []
    for path, mapping in _walk(document, "$"):
        if REVIEWER_KEYS & set(mapping):
            found.extend(f"{path}{p}" for p in _mentions_outcome(mapping))
    return found
