"""Procedure and diagnosis codes in criteria sets: single codes, inclusive ranges, and an index for ranges.

Procedure codes (CPT, HCPCS Level II including J-codes, 4-digit revenue / accommodation codes) are compared as
whole codes: `72141-72158` holds every code of the same length between the two ends, in character order, so
`J0000-J9999` holds `J1745`. A range's two ends must have the same length.

Diagnosis codes (ICD-10-CM) are hierarchical: a code written with less detail stands for itself and every code
below it, so `K50` holds `K50.90`, and the upper end of a range is read the same way: `M50-M54.9` holds `M54.50`
(and `M54.99`) but not `M55.0`. Dots are ignored when comparing.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Generic, Iterable, TypeVar

PROCEDURE_CODE = re.compile(r"^(?:[0-9]{4}[0-9FTU]?|[A-V][0-9]{4})$")
DIAGNOSIS_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
PLACE_OF_SERVICE = re.compile(r"^[0-9]{2}$")


def normalize_procedure(code: str) -> str:
    return code.strip().upper()


def normalize_diagnosis(code: str) -> str:
    return code.strip().upper().replace(".", "")


@dataclass(frozen=True)
class CodeSpec:
    """One entry of a code list: a single code (low == high) or an inclusive range, as written in the file."""

    text: str
    low: str
    high: str

    @property
    def is_range(self) -> bool:
        return self.low != self.high


def _split(text: str) -> tuple[str, str]:
    low, sep, high = text.partition("-")
    return (low.strip(), high.strip()) if sep else (low.strip(), low.strip())


def parse_procedure_spec(text: str) -> CodeSpec:
    """'J1745' or '72141-72158' -> CodeSpec; raises ValueError saying what is wrong."""
    low, high = (normalize_procedure(part) for part in _split(text))
    for part in (low, high):
        if not PROCEDURE_CODE.match(part):
            raise ValueError(f"'{part}' is not a CPT, HCPCS or revenue code (e.g. 72148, J1745, 0022)")
    if len(low) != len(high):
        raise ValueError(f"the range '{text}' has ends of different lengths")
    if low > high:
        raise ValueError(f"the range '{text}' runs backwards ({low} comes after {high})")
    return CodeSpec(text, low, high)


def parse_diagnosis_spec(text: str) -> CodeSpec:
    """'K50', 'K50.90' or 'M50-M54.9' -> CodeSpec (dots removed); raises ValueError saying what is wrong."""
    raw_low, raw_high = _split(text)
    for part in (raw_low, raw_high):
        if not DIAGNOSIS_CODE.match(part.upper()):
            raise ValueError(f"'{part}' is not an ICD-10-CM code (e.g. K50, K50.90)")
    low, high = normalize_diagnosis(raw_low), normalize_diagnosis(raw_high)
    if low > high and not low.startswith(high):
        raise ValueError(f"the range '{text}' runs backwards ({raw_low} comes after {raw_high})")
    return CodeSpec(text, low, high)


def procedure_in(code: str, spec: CodeSpec) -> bool:
    code = normalize_procedure(code)
    return len(code) == len(spec.low) and spec.low <= code <= spec.high


def diagnosis_in(code: str, spec: CodeSpec) -> bool:
    code = normalize_diagnosis(code)
    return code >= spec.low and code[: len(spec.high)] <= spec.high


def first_diagnosis_match(codes: Iterable[str], specs: Iterable[CodeSpec]) -> tuple[str, CodeSpec] | None:
    specs = tuple(specs)
    for code in codes:
        for spec in specs:
            if diagnosis_in(code, spec):
                return code, spec
    return None


T = TypeVar("T")


class RangeIndex(Generic[T]):
    """Which ranges hold a code, by one binary search (an interval-stabbing table built once).

    The ends of all ranges cut the code line into segments; each segment keeps the items of the ranges that cover
    it. A range starts at (low, 0) and ends after (high, 2); a code is looked up as (code, 1), so both ends are
    inclusive. Codes of different lengths never share a range (procedure codes compare whole).
    """

    def __init__(self, entries: Iterable[tuple[CodeSpec, T]]):
        by_length: dict[int, list[tuple[CodeSpec, T]]] = {}
        for spec, item in entries:
            by_length.setdefault(len(spec.low), []).append((spec, item))
        self._tables: dict[int, tuple[list[tuple[str, int]], list[tuple[tuple[CodeSpec, T], ...]]]] = {}
        for length, items in by_length.items():
            starts: dict[str, list[tuple[CodeSpec, T]]] = {}
            ends: dict[str, list[tuple[CodeSpec, T]]] = {}
            for entry in items:  # the same tuple object in both maps: `active` is keyed by its identity
                starts.setdefault(entry[0].low, []).append(entry)
                ends.setdefault(entry[0].high, []).append(entry)
            points = sorted({(low, 0) for low in starts} | {(high, 2) for high in ends})
            # Sweep: a range is active from its (low, 0) point until its (high, 2) point; the segment that starts at
            # a point is covered by the ranges active after that point (every range end is a point, so coverage
            # cannot change inside a segment).
            active: dict[int, tuple[CodeSpec, T]] = {}
            covering: list[tuple[tuple[CodeSpec, T], ...]] = []
            for code, kind in points:
                if kind == 0:
                    for entry in starts[code]:
                        active[id(entry)] = entry
                else:
                    for entry in ends[code]:
                        active.pop(id(entry), None)
                covering.append(tuple(active.values()))
            self._tables[length] = (points, covering)

    def lookup(self, code: str) -> tuple[tuple[CodeSpec, T], ...]:
        code = normalize_procedure(code)
        table = self._tables.get(len(code))
        if table is None:
            return ()
        points, covering = table
        position = bisect_right(points, (code, 1)) - 1
        return covering[position] if position >= 0 else ()
