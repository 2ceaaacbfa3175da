"""The criteria set model: a set's identity, source, applicability and its tree of groups and criteria.

A set is read from one JSON file (format `umws-criteria-set/1`, resources/criteria/schema.json, docs/criteria.md)
and is immutable once read. Its identity for the determination file is (id, version, sha256 of the canonical
content): a case records all three, so a later version, or a changed file under the same version, can never
change what an earlier case applied.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator

from app.domain.criteria.codes import CodeSpec, parse_diagnosis_spec, parse_procedure_spec

FORMAT = "umws-criteria-set/1"

SOURCE_KINDS = {
    "plan-policy": "Plan medical policy",
    "medi-cal-manual": "Medi-Cal Provider Manual",
    "title-22": "Title 22, California Code of Regulations",
    "p-and-t": "Pharmacy and Therapeutics (P&T) Committee drug criteria",
    "dhcs-policy": "DHCS policy letter (APL / BHIN)",
    "ncd": "Medicare National Coverage Determination",
    "lcd": "Medicare Local Coverage Determination",
}
# Medicare coverage rules: for the medicare line they come before the plan's own criteria (42 CFR 422.101(b)(6)).
MEDICARE_COVERAGE_KINDS = frozenset({"ncd", "lcd"})

ANSWERS = ("met", "not-met", "not-applicable", "unknown")
ANSWER_LABELS = {"met": "Met", "not-met": "Not met", "not-applicable": "Not applicable", "unknown": "Unknown"}
COMBINES = {"all": "All of", "any": "Any of", "at-least": "At least"}


def canonical_json(content: dict) -> str:
    """The content as one canonical string: keys sorted, no spaces, UTF-8 characters kept."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_sha256(content: dict) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def version_key(version: str) -> tuple[int, ...]:
    """'2026.10' sorts after '2026.9'."""
    return tuple(int(part) for part in version.split("."))


# --- machine rules --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgeRule:
    min: int | None = None
    max: int | None = None
    unit: str = "years"
    kind: str = "age"


@dataclass(frozen=True)
class SexRule:
    sexes: tuple[str, ...]
    kind: str = "sex"


@dataclass(frozen=True)
class DiagnosisRule:
    codes: tuple[CodeSpec, ...]
    primary_only: bool = False
    kind: str = "diagnosis"


@dataclass(frozen=True)
class PlaceOfServiceRule:
    codes: tuple[str, ...]
    kind: str = "place-of-service"


@dataclass(frozen=True)
class UnitsRule:
    max: int
    per: str = "line"
    codes: tuple[CodeSpec, ...] = ()
    kind: str = "units"


@dataclass(frozen=True)
class LengthOfStayRule:
    max: int
    kind: str = "length-of-stay"


@dataclass(frozen=True)
class DoseRule:
    per: str  # administration | day
    max: float
    unit: str  # mg | mcg | g | units
    basis: str = "absolute"  # absolute | per-kg | per-m2
    kind: str = "dose"


@dataclass(frozen=True)
class FrequencyRule:
    min_interval_days: int
    kind: str = "frequency"


@dataclass(frozen=True)
class StepTherapyRule:
    preferred: tuple[str, ...]
    min_trials: int = 1
    min_days: int | None = None
    kind: str = "step-therapy"


Rule = (AgeRule | SexRule | DiagnosisRule | PlaceOfServiceRule | UnitsRule | LengthOfStayRule | DoseRule
        | FrequencyRule | StepTherapyRule)


def parse_rule(raw: dict) -> Rule:
    kind = raw["kind"]
    if kind == "age":
        return AgeRule(raw.get("min"), raw.get("max"), raw.get("unit", "years"))
    if kind == "sex":
        return SexRule(tuple(raw["sexes"]))
    if kind == "diagnosis":
        return DiagnosisRule(tuple(parse_diagnosis_spec(c) for c in raw["codes"]), bool(raw.get("primary_only")))
    if kind == "place-of-service":
        return PlaceOfServiceRule(tuple(raw["codes"]))
    if kind == "units":
        return UnitsRule(raw["max"], raw.get("per", "line"),
                         tuple(parse_procedure_spec(c) for c in raw.get("codes", ())))
    if kind == "length-of-stay":
        return LengthOfStayRule(raw["max"])
    if kind == "dose":
        return DoseRule(raw["per"], float(raw["max"]), raw["unit"], raw.get("basis", "absolute"))
    if kind == "frequency":
        return FrequencyRule(raw["min_interval_days"])
    if kind == "step-therapy":
        return StepTherapyRule(tuple(p.strip().lower() for p in raw["preferred"]), raw.get("min_trials", 1),
                               raw.get("min_days"))
    raise ValueError(f"unknown rule kind {kind!r}")


# --- the tree ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    id: str
    text: str  # the reviewer's wording
    member_text: str  # plain language for member letters (6th-grade reading level)
    rule: Rule | None
    guidance: str | None
    path: str  # where it is in the file, e.g. criteria[1].criteria[0]

    is_group = False


@dataclass(frozen=True)
class Group:
    id: str
    text: str
    member_text: str | None
    combine: str  # all | any | at-least
    n: int | None
    children: tuple[Criterion | Group, ...]
    guidance: str | None
    path: str

    is_group = True

    def describe(self) -> str:
        if self.combine == "at-least":
            return f"At least {self.n} of these {len(self.children)}"
        return "All of these" if self.combine == "all" else "Any one of these"


Node = Criterion | Group


@dataclass(frozen=True)
class Source:
    kind: str
    citation: str
    url: str | None = None
    owner: str | None = None
    approved_on: date | None = None

    @property
    def kind_label(self) -> str:
        return SOURCE_KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class Reference:
    citation: str
    url: str | None = None


@dataclass(frozen=True)
class CriteriaSet:
    id: str
    title: str
    member_title: str | None
    version: str
    effective_from: date
    effective_to: date | None
    sample_content: bool
    notice: str | None
    source: Source
    references: tuple[Reference, ...]
    lines_of_business: tuple[str, ...]
    service_categories: tuple[str, ...]
    review_timings: tuple[str, ...]  # empty: every timing
    procedure_codes: tuple[CodeSpec, ...]
    diagnosis_codes: tuple[CodeSpec, ...]
    adult_only: bool
    root: Group
    content: dict = field(repr=False, compare=False)
    sha256: str = ""
    origin: str = "shipped"  # shipped (resources/criteria) | imported (the criteria_sets table)

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    def effective_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def nodes(self) -> Iterator[Node]:
        """Every group and criterion, depth first, in file order (the root group first)."""
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            yield node
            if node.is_group:
                stack.extend(reversed(node.children))

    def criteria(self) -> list[Criterion]:
        return [node for node in self.nodes() if not node.is_group]

    def node(self, node_id: str) -> Node | None:
        return self._by_id().get(node_id)

    def _by_id(self) -> dict[str, Node]:
        cached = self.__dict__.get("_node_index")
        if cached is None:
            cached = {node.id: node for node in self.nodes()}
            object.__setattr__(self, "_node_index", cached)
        return cached

    def with_origin(self, origin: str) -> CriteriaSet:
        from dataclasses import replace

        return replace(self, origin=origin)


ROOT_ID = "root"


def _parse_node(raw: dict, path: str) -> Node:
    if "combine" in raw:
        children = tuple(_parse_node(child, f"{path}.criteria[{i}]") for i, child in enumerate(raw["criteria"]))
        return Group(raw["id"], raw["text"], raw.get("member_text"), raw["combine"], raw.get("n"), children,
                     raw.get("guidance"), path)
    rule = parse_rule(raw["rule"]) if "rule" in raw else None
    return Criterion(raw["id"], raw["text"], raw["member_text"], rule, raw.get("guidance"), path)


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def parse_set(content: dict, origin: str = "shipped") -> CriteriaSet:
    """Build the model from content that passed validation (app.domain.criteria.validate)."""
    children = tuple(_parse_node(child, f"criteria[{i}]") for i, child in enumerate(content["criteria"]))
    root = Group(ROOT_ID, content["title"], content.get("member_title"), content["combine"], content.get("n"),
                 children, None, "")
    raw_source = content["source"]
    source = Source(raw_source["kind"], raw_source["citation"], raw_source.get("url"), raw_source.get("owner"),
                    _date(raw_source.get("approved_on")))
    codes = content["codes"]
    return CriteriaSet(
        id=content["id"], title=content["title"], member_title=content.get("member_title"),
        version=content["version"], effective_from=date.fromisoformat(content["effective_from"]),
        effective_to=_date(content.get("effective_to")), sample_content=content["sample_content"],
        notice=content.get("notice"), source=source,
        references=tuple(Reference(r["citation"], r.get("url")) for r in content.get("references", ())),
        lines_of_business=tuple(content["lines_of_business"]),
        service_categories=tuple(content["service_categories"]),
        review_timings=tuple(content.get("review_timings", ())),
        procedure_codes=tuple(parse_procedure_spec(c) for c in codes["procedures"]),
        diagnosis_codes=tuple(parse_diagnosis_spec(c) for c in codes.get("diagnoses", ())),
        adult_only=content["adult_only"], root=root, content=content, sha256=content_sha256(content),
        origin=origin,
    )


def describe_rule(rule: Rule) -> str:
    """One line for a reviewer: what the machine checks."""
    if isinstance(rule, AgeRule):
        if rule.min is not None and rule.max is not None:
            return f"age {rule.min} to {rule.max} {rule.unit}"
        return f"age at least {rule.min} {rule.unit}" if rule.min is not None else f"age at most {rule.max} {rule.unit}"
    if isinstance(rule, SexRule):
        return "sex " + " or ".join(rule.sexes)
    if isinstance(rule, DiagnosisRule):
        where = "primary diagnosis" if rule.primary_only else "a diagnosis"
        return f"{where} in {', '.join(spec.text for spec in rule.codes)}"
    if isinstance(rule, PlaceOfServiceRule):
        return "place of service " + ", ".join(rule.codes)
    if isinstance(rule, UnitsRule):
        return f"at most {rule.max} units per {rule.per}"
    if isinstance(rule, LengthOfStayRule):
        return f"length of stay at most {rule.max} days"
    if isinstance(rule, DoseRule):
        basis = {"absolute": "", "per-kg": "/kg", "per-m2": "/m²"}[rule.basis]
        return f"dose at most {rule.max:g} {rule.unit}{basis} per {rule.per}"
    if isinstance(rule, FrequencyRule):
        return f"at least {rule.min_interval_days} days between doses"
    if isinstance(rule, StepTherapyRule):
        return f"trial of {rule.min_trials} of: {', '.join(rule.preferred)}"
    return rule.kind  # pragma: no cover


def any_to_json(value: Any) -> Any:
    """Dates and tuples as JSON values (for event payloads and --json output)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [any_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: any_to_json(v) for k, v in value.items()}
    return value
