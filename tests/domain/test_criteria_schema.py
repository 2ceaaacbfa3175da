"""Criteria files: the shipped library is valid, and broken files are refused with the file, the path inside it and
what is wrong."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.domain.criteria import CriteriaFileError, load_file, shipped_sets
from app.domain.criteria.jsonschema_lite import SchemaChecker
from app.domain.criteria.model import ANSWERS
from app.domain.criteria.readability import reading_grade
from app.domain.criteria.rules import EVALUATORS
from app.domain.criteria.validate import SCHEMA_FILE, check_file, shipped_files, validate_content
from tests.domain.criteria_helpers import content

DEMO_CODES = json.loads((Path(__file__).resolve().parents[2] / "resources" / "demo" / "codes.json").read_text())


def errors(raw) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in validate_content(raw) if i.severity == "error"]


def test_every_shipped_file_is_valid_without_warnings():
    files = shipped_files()
    assert len(files) >= 12
    for path in files:
        raw, issues = check_file(path)
        assert raw is not None and issues == [], (path.name, issues)
        assert path.stem == raw["id"], "one set per file, named by its id"


def test_shipped_library_covers_the_issue():
    sets = {s.id: s for s in shipped_sets()}
    for required in ("inpatient-acute-admission", "inpatient-continued-stay", "ltc-snf-level-of-care",
                     "home-health-services", "dme-hospital-bed", "dme-power-wheelchair", "outpatient-lumbar-spine-mri",
                     "outpatient-physical-therapy", "bh-residential-sud-asam", "med-infliximab", "med-denosumab",
                     "med-ferric-carboxymaltose", "med-pegfilgrastim", "med-onabotulinumtoxina"):
        assert required in sets
    for cset in sets.values():
        assert cset.sample_content and "Sample content" in cset.notice
        assert cset.source.citation and cset.references, cset.id
        assert all(criterion.member_text for criterion in cset.criteria())
    drugs = [s for s in sets.values() if "medication" in s.service_categories]
    assert len(drugs) >= 5
    for drug in drugs:
        kinds = {c.rule.kind for c in drug.criteria() if c.rule}
        assert {"dose", "diagnosis"} <= kinds, drug.id
        assert "age" in kinds or drug.adult_only, drug.id
    assert any(s.source.kind == "ncd" for s in sets.values())
    assert sets["bh-residential-sud-asam"].node("dimensions").n == 2


def test_shipped_sets_match_the_demo_codes():
    """Demo cases get proposals: each drug code of the library's sets is one the demo uses."""
    demo = {code for category in DEMO_CODES["categories"].values() for code, _ in category["procedures"]}
    for code in ("J1745", "J0897", "J1439", "J2506", "J0585", "72148", "97110", "E0260", "K0823", "H0018", "G0156"):
        assert code in demo
        assert any(any(spec.low <= code <= spec.high and len(code) == len(spec.low) for spec in s.procedure_codes)
                   for s in shipped_sets()), code


def test_member_wording_aims_at_a_plain_reading_level():
    grades = [reading_grade(c.member_text) for s in shipped_sets() for c in s.criteria()]
    assert max(grades) <= 8.0
    assert sum(grades) / len(grades) <= 6.0


def test_readability_estimate_separates_plain_from_dense_wording():
    assert reading_grade("You need a nurse every day.") < 4
    assert reading_grade("Pharmacological immunomodulatory intervention necessitates documentation of "
                         "contraindications.") > 15
    assert reading_grade("") == 0.0


def test_schema_rule_kinds_are_exactly_the_evaluators():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$defs"]["rule"]["properties"]["kind"]["enum"] == list(EVALUATORS)
    for kind in EVALUATORS:
        assert f"rule_{kind.replace('-', '_')}" in schema["$defs"]


def test_a_good_minimal_file_has_no_errors():
    assert errors(content()) == []


@pytest.mark.parametrize("change, path, words", [
    (lambda c: c.pop("version"), "version", "is required"),
    (lambda c: c.update(version="v2"), "version", "a version such as 2026.1"),
    (lambda c: c.update(effective_from="2026-13-01"), "effective_from", "YYYY-MM-DD"),
    (lambda c: c.update(adult_only="no"), "adult_only", "true or false"),
    (lambda c: c.update(lines_of_business=["medi-cal", "medical"]), "lines_of_business[1]", "did you mean 'medi-cal'"),
    (lambda c: c.update(lines_of_business=[]), "lines_of_business", "empty list"),
    (lambda c: c["source"].update(kind="policy"), "source.kind", "one of: plan-policy"),
    (lambda c: c.update(criterion=[]), "criterion", "did you mean 'criteria'"),
    (lambda c: c["codes"].update(procedures=["7214Z"]), "codes.procedures[0]", "CPT, HCPCS or revenue code"),
    (lambda c: c["codes"].update(procedures=["J1745x"]), "codes.procedures[0]", "CPT, HCPCS or revenue code"),
    (lambda c: c["codes"].update(diagnoses=["50.9"]), "codes.diagnoses[0]", "ICD-10-CM"),
    (lambda c: c.update(combine="at-least"), "n", "is required"),
    (lambda c: c.update(combine="most"), "combine", "one of: all, any, at-least"),
    (lambda c: c["criteria"][0].pop("member_text"), "criteria[0].member_text", "is required"),
    (lambda c: c["criteria"][0].update(member_text=" "), "criteria[0].member_text", "must not be empty"),
])
def test_broken_fields_name_the_path_and_the_problem(change, path, words):
    raw = content()
    change(raw)
    found = errors(raw)
    assert any(p == path and words in message for p, message in found), found


def rule_content(rule: dict, extra=None) -> dict:
    criteria = [{"id": "a", "text": "A.", "member_text": "A."}, {"id": "b", "text": "B.", "member_text": "B."},
                {"id": "c", "text": "C.", "member_text": "C.", "rule": rule}]
    return content(criteria=criteria + (extra or []))


@pytest.mark.parametrize("rule, path, words", [
    ({"kind": "dose", "per": "administration", "max": "ten", "unit": "mg"}, "criteria[2].rule.max", "a number"),
    ({"kind": "dose", "per": "administration", "max": 0, "unit": "mg"}, "criteria[2].rule.max", "greater than 0"),
    ({"kind": "dose", "per": "week", "max": 5, "unit": "mg"}, "criteria[2].rule.per", "administration, day"),
    ({"kind": "dose", "per": "day", "max": 5, "unit": "ml"}, "criteria[2].rule.unit", "mg, mcg, g, units"),
    ({"kind": "dose", "per": "day", "max": 5}, "criteria[2].rule.unit", "is required"),
    ({"kind": "dose", "per": "day", "max": 5, "unit": "mg", "basis": "per-lb"}, "criteria[2].rule.basis", "per-kg"),
    ({"kind": "age", "min": 18, "maximum": 64}, "criteria[2].rule.maximum", "not a known field"),
    ({"kind": "age"}, "criteria[2].rule", "needs min, max or both"),
    ({"kind": "age", "min": 30, "max": 20}, "criteria[2].rule.max", "below min"),
    ({"kind": "age", "min": -1}, "criteria[2].rule.min", "at least 0"),
    ({"kind": "agee", "min": 1}, "criteria[2].rule.kind", "did you mean 'age'"),
    ({"min": 1}, "criteria[2].rule.kind", "is required"),
    ({"kind": "sex", "sexes": ["female"]}, "criteria[2].rule.sexes[0]", "F, M"),
    ({"kind": "diagnosis", "codes": []}, "criteria[2].rule.codes", "empty list"),
    ({"kind": "diagnosis", "codes": ["M54-M50"]}, "criteria[2].rule.codes[0]", "runs backwards"),
    ({"kind": "units", "max": 2, "codes": ["97110-97100"]}, "criteria[2].rule.codes[0]", "runs backwards"),
    ({"kind": "units", "max": 2, "codes": ["9711-97110"]}, "criteria[2].rule.codes[0]", "different lengths"),
    ({"kind": "units", "max": 1.5}, "criteria[2].rule.max", "a whole number"),
    ({"kind": "place-of-service", "codes": ["1"]}, "criteria[2].rule.codes[0]", "two-digit"),
    ({"kind": "length-of-stay", "max": 0}, "criteria[2].rule.max", "at least 1"),
    ({"kind": "frequency", "min_interval_days": 0}, "criteria[2].rule.min_interval_days", "at least 1"),
    ({"kind": "step-therapy", "preferred": ["a"], "min_trials": 2}, "criteria[2].rule.min_trials", "only 1"),
    ({"kind": "step-therapy", "preferred": ["a", "a"]}, "criteria[2].rule.preferred[1]", "repeats"),
])
def test_broken_rules_name_the_path_and_the_problem(rule, path, words):
    found = errors(rule_content(rule))
    assert any(p == path and words in message for p, message in found), found


def test_tree_rules_a_schema_cannot_express():
    raw = content(criteria=[
        {"id": "a", "text": "A.", "member_text": "A."},
        {"id": "g", "text": "G.", "combine": "at-least", "n": 3, "criteria": [
            {"id": "a", "text": "Again.", "member_text": "Again."},
            {"id": "b", "text": "B.", "member_text": "B."}]},
        {"id": "h", "text": "H.", "combine": "any", "n": 1, "criteria": [
            {"id": "root", "text": "R.", "member_text": "R."}]},
    ], effective_to="2025-12-31")
    found = errors(raw)
    assert ("criteria[1].criteria[0].id", "'a' is already used at criteria[0]; ids must be unique in a set") in found
    assert ("criteria[1].n", "asks for 3 but the group has only 2 criteria") in found
    assert ("criteria[2].n", 'is only used with combine "at-least"') in found
    assert ("criteria[2].criteria[0].id", "'root' is the set itself; choose another id") in found
    assert ("effective_to", "is before effective_from (2026-01-01)") in found


def test_a_group_needs_children_and_a_criterion_needs_its_wording():
    raw = content(criteria=[{"id": "g", "text": "G.", "combine": "all", "criteria": []},
                            {"id": "c", "text": "C."}])
    found = errors(raw)
    assert ("criteria[0].criteria", "must not be an empty list") in found
    assert ("criteria[1].member_text", "is required but missing") in found


def test_warnings_do_not_make_a_file_invalid():
    raw = content(criteria=[{"id": "a", "text": "A.", "member_text": "Pharmacological immunomodulatory "
                             "intervention necessitates comprehensive documentation."}])
    raw.pop("notice")
    issues = validate_content(raw)
    assert issues and all(i.severity == "warning" for i in issues)
    assert {i.path for i in issues} == {"criteria[0].member_text", "notice"}


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "umws-criteria-set/1",\n "id": }')
    raw, issues = check_file(bad)
    assert raw is None and "line 2, column 8" in issues[0].message
    with pytest.raises(CriteriaFileError) as caught:
        load_file(bad)
    assert str(caught.value).startswith(f"{bad}: is not valid JSON")
    wrong = tmp_path / "wrong.json"
    raw = content()
    raw["criteria"][0]["rule"] = {"kind": "units", "max": "many"}
    wrong.write_text(json.dumps(raw))
    with pytest.raises(CriteriaFileError) as caught:
        load_file(wrong)
    assert f"{wrong}: criteria[0].rule.max: must be a whole number" in str(caught.value)
    assert check_file(tmp_path / "missing.json")[1][0].message == "no such file"
    assert "is not valid JSON" in check_file(_write(tmp_path, "list.json", "[1,"))[1][0].message


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_non_object_file_is_refused_at_the_top():
    assert errors([1, 2]) == [("", "must be an object { } (found [1, 2])")]


def test_the_checker_refuses_a_schema_keyword_it_does_not_check():
    with pytest.raises(ValueError, match="oneOf"):
        SchemaChecker({"type": "object", "oneOf": [{"type": "object"}]})
    SchemaChecker({"type": "object", "properties": {"oneOf": {"type": "string"}}})  # a property name is fine


def test_the_schema_agrees_with_a_full_json_schema_validator_when_installed():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for path in shipped_files():
        assert list(validator.iter_errors(json.loads(path.read_text()))) == []
    broken = rule_content({"kind": "dose", "per": "day", "max": "ten", "unit": "mg"})
    assert list(validator.iter_errors(broken))


def test_answers_are_the_four_of_the_issue():
    assert ANSWERS == ("met", "not-met", "not-applicable", "unknown")
