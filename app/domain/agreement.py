"""Agreement between two raters on the same items: percent agreement and Cohen's kappa (issue 14, scope 3).

Pure functions over pairs (the first rater's category, the second rater's category). Used by the inter-rater
reliability report for the determination and for each criterion (../shared/reference/roles-and-authority.md,
"Inter-rater reliability": target 90% agreement).

Cohen's kappa (Cohen 1960): kappa = (p_o - p_e) / (1 - p_e), where p_o is the observed share of agreeing pairs and
p_e the agreement expected by chance from each rater's own category shares. It is undefined (None) when there are
no pairs, or when p_e is 1: both raters used one and the same category for every item, so chance alone explains
the agreement and the formula divides by zero.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

Pair = tuple[Hashable, Hashable]


@dataclass(frozen=True)
class Agreement:
    """Agreement of two raters over `pairs` items: `agreed` of them in the same category."""

    pairs: int
    agreed: int
    kappa: float | None

    @property
    def percent(self) -> float | None:
        return percent(self.agreed, self.pairs)

    def to_json(self) -> dict:
        return {"pairs": self.pairs, "agreed": self.agreed, "percent_agreement": self.percent,
                "kappa": None if self.kappa is None else round(self.kappa, 3)}


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` as a percentage rounded to one decimal (None when there is nothing to count)."""
    return round(100 * part / whole, 1) if whole else None


def contingency(pairs: Iterable[Pair], categories: Sequence[Hashable] | None = None
                ) -> tuple[list[Hashable], list[list[int]]]:
    """The contingency table: rows are the first rater's categories, columns the second's, in `categories` order
    (default: the categories seen, sorted by their text)."""
    pairs = list(pairs)
    seen = {a for a, _ in pairs} | {b for _, b in pairs}
    order = list(categories) if categories is not None else sorted(seen, key=str)
    missing = seen - set(order)
    if missing:
        raise ValueError(f"categories not in the given order: {sorted(map(str, missing))}")
    index = {category: i for i, category in enumerate(order)}
    table = [[0] * len(order) for _ in order]
    for a, b in pairs:
        table[index[a]][index[b]] += 1
    return order, table


def kappa_from_table(table: Sequence[Sequence[int]]) -> float | None:
    """Cohen's kappa of a square contingency table of counts (None where it is undefined)."""
    size = len(table)
    if any(len(row) != size for row in table):
        raise ValueError("a contingency table is square: one row and one column per category")
    total = sum(sum(row) for row in table)
    if total == 0:
        return None
    observed = sum(table[i][i] for i in range(size)) / total
    rows = [sum(row) / total for row in table]
    columns = [sum(table[r][c] for r in range(size)) / total for c in range(size)]
    expected = sum(r * c for r, c in zip(rows, columns))
    if expected >= 1.0 - 1e-12:
        return None
    return (observed - expected) / (1.0 - expected)


def cohen_kappa(pairs: Iterable[Pair]) -> float | None:
    """Cohen's kappa of the pairs (None where it is undefined)."""
    _, table = contingency(pairs)
    return kappa_from_table(table)


def agreement(pairs: Iterable[Pair]) -> Agreement:
    """Percent agreement and Cohen's kappa of the pairs."""
    pairs = list(pairs)
    agreed = sum(1 for a, b in pairs if a == b)
    return Agreement(len(pairs), agreed, cohen_kappa(pairs) if pairs else None)


def category_counts(pairs: Iterable[Pair]) -> tuple[Counter, Counter]:
    """How often each rater used each category."""
    first, second = Counter(), Counter()
    for a, b in pairs:
        first[a] += 1
        second[b] += 1
    return first, second
