"""Duplicate requests (issue 11, scope 3): an open case of the same member with an overlapping code and date range.

A line's range is its from-date to its to-date (one day when it has only a from-date). A line without dates
overlaps any range of the same code: an undated request for a service the member already has open is worth a
look before a second case is made.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable


@dataclass(frozen=True)
class Span:
    code: str
    start: date | None
    end: date | None

    @classmethod
    def of(cls, code: str, start: date | None, end: date | None) -> "Span":
        return cls(code.strip().upper(), start, end or start)

    def overlaps(self, other: "Span") -> bool:
        if self.code != other.code:
            return False
        if None in (self.start, other.start):
            return True
        return self.start <= other.end and other.start <= self.end


def overlapping(new: Iterable[Span], existing: Iterable[Span]) -> list[tuple[Span, Span]]:
    """The pairs (new line, existing line) that overlap."""
    existing = list(existing)
    return [(a, b) for a in new for b in existing if a.overlaps(b)]
