"""Checking a criteria file: JSON syntax, the schema (resources/criteria/schema.json), then what a schema cannot say.

Every problem names the file, the path inside it (`criteria[2].rule.max`) and what is wrong. Errors make a file
unusable; warnings (a member wording above the reading level, a sample set without its notice) do not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.domain.criteria.codes import parse_diagnosis_spec, parse_procedure_spec
from app.domain.criteria.jsonschema_lite import SchemaChecker, join
from app.domain.criteria.model import CriteriaSet, parse_set
from app.domain.criteria.readability import MAX_GRADE, reading_grade

CRITERIA_DIR = Path(__file__).resolve().parents[3] / "resources" / "criteria"
SCHEMA_FILE = CRITERIA_DIR / "schema.json"


@dataclass(frozen=True)
class Issue:
    path: str  # inside the file; "" for the whole file
    message: str
    severity: str = "error"  # error | warning

    def render(self, file: str) -> str:
        where = f"{file}: {self.path}" if self.path else file
        return f"{where}: {self.message}" if self.severity == "error" else f"{where}: warning: {self.message}"


class CriteriaFileError(ValueError):
    """A criteria file that cannot be used; `issues` lists every problem found."""

    def __init__(self, file: str, issues: list[Issue]):
        self.file = file
        self.issues = issues
        errors = [issue for issue in issues if issue.severity == "error"]
        super().__init__("\n".join(issue.render(file) for issue in errors))


@lru_cache(maxsize=1)
def schema_checker() -> SchemaChecker:
    return SchemaChecker(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def parse_json(text: str) -> tuple[Any, list[Issue]]:
    try:
        return json.loads(text), []
    except json.JSONDecodeError as error:
        return None, [Issue("", f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}")]


def validate_content(content: Any) -> list[Issue]:
    """Every problem with a parsed file's content: schema first, then the rules a schema cannot express."""
    issues = [Issue(i.path, i.message) for i in schema_checker().validate(content)]
    if issues:
        return issues
    issues += _semantic(content)
    return issues


def _semantic(content: dict) -> list[Issue]:
    issues: list[Issue] = []
    start = date.fromisoformat(content["effective_from"])
    if content.get("effective_to") and date.fromisoformat(content["effective_to"]) < start:
        issues.append(Issue("effective_to", f"is before effective_from ({content['effective_from']})"))
    for i, text in enumerate(content["codes"]["procedures"]):
        try:
            parse_procedure_spec(text)
        except ValueError as error:
            issues.append(Issue(f"codes.procedures[{i}]", str(error)))
    for i, text in enumerate(content["codes"].get("diagnoses", ())):
        try:
            parse_diagnosis_spec(text)
        except ValueError as error:
            issues.append(Issue(f"codes.diagnoses[{i}]", str(error)))
    if content["combine"] == "at-least" and content["n"] > len(content["criteria"]):
        issues.append(Issue("n", f"asks for {content['n']} but the set has only {len(content['criteria'])} "
                                 "criteria at the top"))
    elif content["combine"] != "at-least" and "n" in content:
        issues.append(Issue("n", "is only used with combine \"at-least\""))
    seen: dict[str, str] = {}
    for i, node in enumerate(content["criteria"]):
        _node(node, f"criteria[{i}]", seen, issues)
    if content["sample_content"] and not content.get("notice"):
        issues.append(Issue("notice", "a sample set should say so in a notice for the people who configure it",
                            "warning"))
    return issues


def _node(node: dict, path: str, seen: dict[str, str], issues: list[Issue]) -> None:
    node_id = node["id"]
    if node_id == "root":
        issues.append(Issue(join(path, "id"), "'root' is the set itself; choose another id"))
    elif node_id in seen:
        issues.append(Issue(join(path, "id"), f"'{node_id}' is already used at {seen[node_id]}; ids must be unique "
                                              "in a set"))
    else:
        seen[node_id] = path
    if node.get("member_text"):
        _reading(node["member_text"], join(path, "member_text"), issues)
    if "combine" in node:
        if node["combine"] == "at-least" and node["n"] > len(node["criteria"]):
            issues.append(Issue(join(path, "n"), f"asks for {node['n']} but the group has only "
                                                 f"{len(node['criteria'])} criteria"))
        elif node["combine"] != "at-least" and "n" in node:
            issues.append(Issue(join(path, "n"), "is only used with combine \"at-least\""))
        for i, child in enumerate(node["criteria"]):
            _node(child, f"{path}.criteria[{i}]", seen, issues)
        return
    rule = node.get("rule")
    if rule is None:
        return
    rule_path = join(path, "rule")
    kind = rule["kind"]
    if kind == "age":
        if "min" not in rule and "max" not in rule:
            issues.append(Issue(rule_path, "an age rule needs min, max or both"))
        elif "min" in rule and "max" in rule and rule["min"] > rule["max"]:
            issues.append(Issue(join(rule_path, "max"), f"is below min ({rule['min']})"))
    elif kind == "diagnosis":
        for i, text in enumerate(rule["codes"]):
            try:
                parse_diagnosis_spec(text)
            except ValueError as error:
                issues.append(Issue(f"{rule_path}.codes[{i}]", str(error)))
    elif kind == "units":
        for i, text in enumerate(rule.get("codes", ())):
            try:
                parse_procedure_spec(text)
            except ValueError as error:
                issues.append(Issue(f"{rule_path}.codes[{i}]", str(error)))
    elif kind == "step-therapy":
        if rule.get("min_trials", 1) > len(rule["preferred"]):
            issues.append(Issue(join(rule_path, "min_trials"), f"asks for {rule['min_trials']} trials but only "
                                                               f"{len(rule['preferred'])} alternatives are listed"))


def _reading(text: str, path: str, issues: list[Issue]) -> None:
    grade = reading_grade(text)
    if grade > MAX_GRADE:
        issues.append(Issue(path, f"reads at about grade {grade:.0f}; member wording should aim at grade 6 "
                                  f"(shorter sentences, shorter words)", "warning"))


def check_file(path: Path) -> tuple[dict | None, list[Issue]]:
    """Read and check one file: (content or None, issues). Never raises for a bad file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Issue("", "no such file")]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Issue("", f"cannot be read ({error})")]
    content, issues = parse_json(text)
    if issues:
        return None, issues
    issues = validate_content(content)
    return content, issues


def has_errors(issues: list[Issue]) -> bool:
    return any(issue.severity == "error" for issue in issues)


def load_content(content: Any, name: str = "criteria set", origin: str = "imported") -> CriteriaSet:
    """Validate content (e.g. from the store) and build the set; raises CriteriaFileError."""
    issues = validate_content(content)
    if has_errors(issues):
        raise CriteriaFileError(name, issues)
    return parse_set(content, origin)


def load_file(path: Path, origin: str = "shipped") -> CriteriaSet:
    content, issues = check_file(path)
    if content is None or has_errors(issues):
        raise CriteriaFileError(str(path), issues)
    return parse_set(content, origin)


def shipped_files(directory: Path = CRITERIA_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if p.name != SCHEMA_FILE.name)


@lru_cache(maxsize=4)
def shipped_sets(directory: Path = CRITERIA_DIR) -> tuple[CriteriaSet, ...]:
    """The library shipped in resources/criteria/, read once per process (a bad shipped file is a bug: it raises)."""
    return tuple(load_file(path, "shipped") for path in shipped_files(directory))
