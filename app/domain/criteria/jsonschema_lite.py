"""A small JSON Schema (draft 2020-12) checker for the keywords resources/criteria/schema.json uses.

The criteria file format is described by a real JSON Schema document, so other tools (editors, CI) can check
files with it; the workstation checks with this interpreter instead of a third-party package, and reports each
problem with the path inside the file (`criteria[2].rule.max`) and what is wrong in plain words.

Keywords understood: type, enum, const, pattern, format (date), minLength, maxLength, minimum, maximum,
exclusiveMinimum, minItems, maxItems, uniqueItems, items, properties, required, additionalProperties (false or a
schema), $ref (to "#/$defs/..."), allOf, if / then / else, and the annotation "x-message" (a plain description of
the expected form, used in messages). Other keywords (title, description, $schema, $id, $comment) are ignored, as
the specification allows for annotations. Any other keyword is refused when the checker is built, so the schema
cannot quietly say more than this code checks.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "x-message", "examples", "default", "$defs"}
CHECKED = {"type", "enum", "const", "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
           "exclusiveMinimum", "minItems", "maxItems", "uniqueItems", "items", "properties", "required",
           "additionalProperties", "$ref", "allOf", "if", "then", "else"}


@dataclass(frozen=True)
class SchemaIssue:
    path: str  # "criteria[2].rule.max"; "" for the whole document
    message: str


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


TYPE_WORDS = {"object": "an object { }", "array": "a list [ ]", "string": "text in quotes", "integer": "a whole number",
              "number": "a number", "boolean": "true or false", "null": "null"}


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_type(value: Any, expected: str) -> bool:
    actual = json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class SchemaChecker:
    def __init__(self, schema: dict):
        self.schema = schema
        self._check_keywords(schema, "#")

    def _check_keywords(self, node: Any, where: str) -> None:
        if isinstance(node, dict):
            unknown = set(node) - CHECKED - ANNOTATIONS
            if where.endswith("/properties") or where.endswith("/$defs"):
                unknown = set()  # property and definition names, not keywords
            if unknown:
                raise ValueError(f"schema {where} uses keywords this checker does not know: {sorted(unknown)}")
            for key, value in node.items():
                if key in ("enum", "const", "required", "examples", "default"):
                    continue
                self._check_keywords(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._check_keywords(value, f"{where}/{i}")

    def _resolve(self, ref: str) -> dict:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, not {ref}")
        node: Any = self.schema
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def validate(self, instance: Any) -> list[SchemaIssue]:
        issues: list[SchemaIssue] = []
        self._validate(instance, self.schema, "", issues)
        return issues

    def is_valid(self, instance: Any, schema: dict) -> bool:
        issues: list[SchemaIssue] = []
        self._validate(instance, schema, "", issues)
        return not issues

    def _validate(self, value: Any, schema: dict, path: str, issues: list[SchemaIssue]) -> None:
        if "$ref" in schema:
            self._validate(value, self._resolve(schema["$ref"]), path, issues)
        form = schema.get("x-message")
        expected = schema.get("type")
        if expected is not None:
            types = expected if isinstance(expected, list) else [expected]
            if not any(_is_type(value, t) for t in types):
                words = " or ".join(TYPE_WORDS[t] for t in types)
                issues.append(SchemaIssue(path, f"must be {form or words} (found {_shown(value)})"))
                return  # nothing else about a value of the wrong type is worth saying
        if "const" in schema and value != schema["const"]:
            issues.append(SchemaIssue(path, f"must be {_shown(schema['const'])} (found {_shown(value)})"))
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(str(choice) for choice in schema["enum"])
            hint = ""
            if isinstance(value, str):
                close = difflib.get_close_matches(value, [str(c) for c in schema["enum"]], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
            issues.append(SchemaIssue(path, f"must be one of: {choices} (found {_shown(value)}){hint}"))
        if isinstance(value, str):
            self._string(value, schema, path, issues, form)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._number(value, schema, path, issues)
        elif isinstance(value, list):
            self._array(value, schema, path, issues)
        elif isinstance(value, dict):
            self._object(value, schema, path, issues)
        for sub in schema.get("allOf", ()):
            self._validate(value, sub, path, issues)
        if "if" in schema:
            branch = schema.get("then") if self.is_valid(value, schema["if"]) else schema.get("else")
            if branch is not None:
                self._validate(value, branch, path, issues)

    def _string(self, value: str, schema: dict, path: str, issues: list[SchemaIssue], form: str | None) -> None:
        if "minLength" in schema and len(value.strip()) < schema["minLength"]:
            issues.append(SchemaIssue(path, "must not be empty" if schema["minLength"] == 1
                                      else f"must be at least {schema['minLength']} characters"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            issues.append(SchemaIssue(path, f"is {len(value)} characters long; at most {schema['maxLength']}"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            issues.append(SchemaIssue(path, f"must be {form or 'of the form ' + schema['pattern']} "
                                            f"(found {_shown(value)})"))
        if schema.get("format") == "date":
            try:
                if len(value) != 10:
                    raise ValueError
                date.fromisoformat(value)
            except ValueError:
                issues.append(SchemaIssue(path, f"must be a date written YYYY-MM-DD (found {_shown(value)})"))

    def _number(self, value: float, schema: dict, path: str, issues: list[SchemaIssue]) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            issues.append(SchemaIssue(path, f"must be at least {schema['minimum']} (found {value})"))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            issues.append(SchemaIssue(path, f"must be greater than {schema['exclusiveMinimum']} (found {value})"))
        if "maximum" in schema and value > schema["maximum"]:
            issues.append(SchemaIssue(path, f"must be at most {schema['maximum']} (found {value})"))

    def _array(self, value: list, schema: dict, path: str, issues: list[SchemaIssue]) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            issues.append(SchemaIssue(path, "must not be an empty list" if schema["minItems"] == 1
                                      else f"must have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            issues.append(SchemaIssue(path, f"must have at most {schema['maxItems']} items"))
        if schema.get("uniqueItems"):
            seen: list[Any] = []
            for i, item in enumerate(value):
                if item in seen:
                    issues.append(SchemaIssue(join(path, i), f"repeats {_shown(item)}"))
                seen.append(item)
        if "items" in schema:
            for i, item in enumerate(value):
                self._validate(item, schema["items"], join(path, i), issues)

    def _object(self, value: dict, schema: dict, path: str, issues: list[SchemaIssue]) -> None:
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                issues.append(SchemaIssue(join(path, name), "is required but missing"))
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                self._validate(item, properties[name], join(path, name), issues)
            elif extra is False:
                close = difflib.get_close_matches(name, list(properties), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(properties)})"
                issues.append(SchemaIssue(join(path, name), f"is not a known field{hint}"))
            elif isinstance(extra, dict):
                self._validate(item, extra, join(path, name), issues)
