"""`umws criteria ...` run in-process as an administrator or reviewer would run it."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.store.engine import default_store_path, open_local_store
from app.store.models import Case, CaseEvent

CRITERIA = Path(__file__).resolve().parents[2] / "resources" / "criteria"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return str(path)


def shipped(set_id: str) -> dict:
    return json.loads((CRITERIA / f"{set_id}.json").read_text())


def test_validate_good_and_broken_files_without_a_store(capsys, tmp_path):
    good = str(CRITERIA / "med-denosumab.json")
    code, out, err = run(capsys, "criteria", "validate", good)
    assert code == 0 and "valid: med-denosumab version 2026.1" in out and err == ""
    broken = shipped("med-denosumab")
    broken["criteria"][0]["criteria"][4]["rule"]["max"] = "sixty"
    broken["lines_of_business"] = ["medical"]
    bad = write(tmp_path, "bad.json", broken)
    code, out, err = run(capsys, "criteria", "validate", good, bad)
    assert code == 2 and out.count("valid:") == 1
    assert f"{bad}: criteria[0].criteria[4].rule.max: must be a number" in err
    assert f"{bad}: lines_of_business[0]: must be one of: medi-cal, medicare" in err
    assert "1 of 2 files is not valid: fix what is listed above" in err and "imported" not in err
    code, out, err = run(capsys, "criteria", "validate", "--json", bad, write(tmp_path, "syntax.json", "{"))
    assert code == 2
    results = json.loads(out)
    assert [r["valid"] for r in results] == [False, False]
    assert {"path": "criteria[0].criteria[4].rule.max", "message": 'must be a number (found "sixty")'} in \
        results[0]["errors"]
    assert results[1]["errors"][0]["message"].startswith("is not valid JSON")
    assert not default_store_path().exists()


def test_validate_every_shipped_file(capsys):
    files = sorted(str(p) for p in CRITERIA.glob("*.json") if p.name != "schema.json")
    code, out, _ = run(capsys, "criteria", "validate", "--json", *files)
    assert code == 0 and all(r["valid"] and r["warnings"] == [] for r in json.loads(out))


def test_list_on_a_fresh_install_shows_the_shipped_library_and_creates_no_store(capsys):
    code, out, _ = run(capsys, "criteria", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) >= 12 and {r["origin"] for r in rows} == {"shipped"}
    assert set(rows[0]) >= {"set_id", "version", "title", "source_kind", "citation", "effective_from",
                            "lines_of_business", "service_categories", "adult_only", "sha256"}
    assert not default_store_path().exists()
    code, out, _ = run(capsys, "criteria", "list", "--code", "J1745", "--json")
    assert [(r["set_id"], r["match"]) for r in json.loads(out)] == [("med-infliximab", "exact-code")]
    code, out, _ = run(capsys, "criteria", "list", "--code", "g0156", "--json")
    assert [(r["set_id"], r["match"]) for r in json.loads(out)] == [("home-health-services", "code-range")]
    code, out, err = run(capsys, "criteria", "list", "--code", "J9312", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "criteria", "list", "--code", "not-a-code")
    assert code == 2 and "not a CPT" in err


def test_import_twice_conflicting_version_and_invalid_file(capsys, tmp_path):
    local = shipped("outpatient-physical-therapy")
    local.update(id="pt-local", version="1.0", title="Local PT visits")
    path = write(tmp_path, "pt-local.json", local)
    code, out, err = run(capsys, "criteria", "import", path, "--json")
    assert code == 0 and json.loads(out)["status"] == "imported", err
    code, out, _ = run(capsys, "criteria", "import", path)
    assert code == 0 and "already in the library with the same content" in out
    changed = copy.deepcopy(local)
    changed["criteria"][0]["text"] = "Prescribed by anyone."
    code, out, err = run(capsys, "criteria", "import", write(tmp_path, "pt-changed.json", changed))
    assert code == 3 and "give the changed set a new version" in err and out == ""
    invalid = copy.deepcopy(local)
    invalid["version"] = "1.1"
    invalid["criteria"][4]["rule"]["max"] = -1
    invalid_path = write(tmp_path, "pt-invalid.json", invalid)
    code, _, err = run(capsys, "criteria", "import", invalid_path)
    assert code == 2 and f"{invalid_path}: criteria[4].rule.max: must be at least 1" in err
    code, _, err = run(capsys, "criteria", "import", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "criteria", "import", path, "--as", "nurse.garcia")
    assert code == 2 and "No user 'nurse.garcia'" in err  # no demo users in this store
    code, out, _ = run(capsys, "criteria", "list", "--json")
    rows = {(r["set_id"], r["version"]): r for r in json.loads(out)}
    assert rows[("pt-local", "1.0")]["origin"] == "imported"
    assert rows[("outpatient-physical-therapy", "2026.1")]["origin"] == "shipped"
    assert ("pt-local", "1.1") not in rows
    code, out, _ = run(capsys, "criteria", "list", "--code", "97110", "--json")
    assert [r["set_id"] for r in json.loads(out)] == ["outpatient-physical-therapy", "pt-local"]


@pytest.fixture
def demo_store(capsys):
    code, _, err = run(capsys, "demo", "--cases", "300", "--seed", "5")
    assert code == 0, err
    store = open_local_store()
    with store.session() as session:
        cases = session.scalars(select(Case).where(Case.service_category == "medication")).all()
        pick = next(c for c in cases if c.lines[0].code == "J1745" and c.status in ("in-review", "pended")
                    and c.assignee is not None)
        unheld = next(c for c in session.scalars(select(Case).where(Case.assignee_id.is_(None),
                                                                      Case.status == "received")))
        found = {"tar": pick.tar, "holder": pick.assignee.username, "version": pick.version, "unheld": unheld.tar}
    store.close()
    return found


def test_evaluate_a_demo_case_explains_every_machine_answer_and_writes_nothing(capsys, demo_store):
    tar = demo_store["tar"]
    code, out, err = run(capsys, "criteria", "evaluate", "--case", tar, "--set", "med-infliximab", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["tar"] == tar and result["set_id"] == "med-infliximab" and result["in_effect_at_receipt"]
    rows = {row["id"]: row for row in result["criteria"]}
    for rule_id in ("age", "dx", "dose", "interval", "tried"):
        assert rows[rule_id]["source"] == "machine" and rows[rule_id]["explanation"]
    assert rows["tb"]["source"] == "reviewer needed" and rows["tb"]["answer"] == "unknown"
    assert rows["step"]["kind"] == "group" and rows["step"]["combine"] == "Any one of these"
    assert result["result"]["result"] in ("incomplete", "not-met", "epsdt-review")  # tb is never machine-answered
    assert result["facts"]["recorded"]["height_cm"] > 0  # the demo's requester facts
    code, out, _ = run(capsys, "criteria", "evaluate", "--case", tar, "--set", "med-infliximab")
    assert code == 0 and "Result (machine answers only):" in out and "[unknown] tb:" in out
    store = open_local_store()
    with store.session() as session:
        assert session.scalar(select(Case.version).where(Case.tar == tar)) == demo_store["version"]
    store.close()
    code, _, err = run(capsys, "criteria", "evaluate", "--case", tar, "--set", "no-such-set")
    assert code == 2 and "No criteria set 'no-such-set'" in err
    code, _, err = run(capsys, "criteria", "evaluate", "--case", "99999999999", "--set", "med-infliximab")
    assert code == 2 and "No case with TAR number 99999999999" in err


def test_match_choose_answer_and_checklist_from_the_command_line(capsys, demo_store):
    tar, holder = demo_store["tar"], demo_store["holder"]
    code, out, _ = run(capsys, "criteria", "match", "--case", tar, "--json")
    assert code == 0 and json.loads(out)[0]["set_id"] == "med-infliximab"
    code, out, err = run(capsys, "criteria", "choose", "--case", tar, "--set", "med-infliximab", "--as", holder,
                         "--json")
    assert code == 0, err
    state = json.loads(out)
    assert state["set"]["set_id"] == "med-infliximab" and state["basis"] == "exact-code"
    code, out, err = run(capsys, "criteria", "answer", "--case", tar, "--criterion", "tb", "--answer", "met",
                         "--evidence", "IGRA negative 10/02", "--as", holder, "--json")
    assert code == 0, err
    row = next(r for r in json.loads(out)["rows"] if r["id"] == "tb")
    assert row["answer"] == "met" and row["reviewer"]["evidence"] == "IGRA negative 10/02"
    dx = next(r for r in state["rows"] if r["id"] == "dx")["machine"]["answer"]
    flipped = "not-met" if dx == "met" else "met"
    code, _, err = run(capsys, "criteria", "answer", "--case", tar, "--criterion", "dx", "--answer", flipped,
                       "--as", holder)
    assert code == 3 and "give the reason for the override" in err
    code, _, err = run(capsys, "criteria", "answer", "--case", tar, "--criterion", "dx", "--answer", flipped,
                       "--override-reason", "coded diagnosis is wrong; see consult", "--as", holder)
    assert code == 0, err
    code, _, err = run(capsys, "criteria", "fact", "--case", tar, "--name", "weight_kg", "--value", "heavy",
                       "--as", holder)
    assert code == 2 and "--value must be a JSON value" in err
    code, out, err = run(capsys, "criteria", "fact", "--case", tar, "--name", "weight_kg", "--value", "70",
                         "--as", holder, "--json")
    assert code == 0 and json.loads(out)["tar"] == tar, err
    code, out, _ = run(capsys, "criteria", "checklist", "--case", tar, "--json")
    state = json.loads(out)
    assert next(r for r in state["rows"] if r["id"] == "dx")["reviewer"]["override_reason"].startswith("coded")
    assert state["result"]["result"] in ("criteria-met", "not-met", "incomplete", "epsdt-review")
    code, out, _ = run(capsys, "criteria", "checklist", "--case", tar)
    assert code == 0 and "[met] tb (reviewer)" in out
    code, _, err = run(capsys, "criteria", "choose", "--case", demo_store["unheld"], "--set", "med-infliximab",
                       "--as", holder)
    assert code == 3 and "claim it first" in err
    code, _, err = run(capsys, "criteria", "no-criteria", "--case", tar, "--as", "coord.jones")
    assert code == 3 and "does not review criteria" in err
    store = open_local_store()
    with store.session() as session:
        kinds = session.scalars(select(CaseEvent.kind).join(Case, CaseEvent.case_id == Case.id)
                                .where(Case.tar == tar)).all()
    store.close()
    assert kinds.count("criteria-set-chosen") == 1 and "no-criteria-apply" not in kinds
    assert kinds.count("fact-recorded") >= 2
