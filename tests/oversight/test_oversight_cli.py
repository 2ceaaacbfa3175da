"""`umws irr ...` and `umws report committee|dashboard` as a program lead, an auditor and a nurse run them."""
from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from app.cli import main
from app.services import demo
from app.store.engine import open_local_store
from tests.oversight.helpers import YEAR


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store(isolated_home):
    store = open_local_store()
    demo.generate(store, 600, seed=5)
    store.close()


def test_sample_json_is_the_same_for_the_same_seed_and_recording_needs_authority(capsys, store):
    code, first, _ = run(capsys, "irr", "sample", "--year", str(YEAR), "--seed", "42", "--json")
    assert code == 0
    code, again, _ = run(capsys, "irr", "sample", "--year", str(YEAR), "--seed", "42", "--json")
    assert code == 0 and first == again
    sample = json.loads(first)
    assert sample["seed"] == 42 and sample["total_cases"] == sum(r["sample_size"] for r in sample["reviewers"]) > 0
    code, other, _ = run(capsys, "irr", "sample", "--year", str(YEAR), "--seed", "43", "--json")
    assert json.loads(other)["reviewers"] != sample["reviewers"]
    code, out, _ = run(capsys, "irr", "sample", "--year", str(YEAR), "--json")  # no seed: a random one, shown
    assert code == 0 and isinstance(json.loads(out)["seed"], int)
    code, _, err = run(capsys, "irr", "sample", "--year", str(YEAR), "--seed", "42", "--record")
    assert code == 2 and "--as" in err
    code, _, err = run(capsys, "irr", "sample", "--year", str(YEAR), "--seed", "42", "--record", "--as",
                       "nurse.garcia")
    assert code == 3 and "nurse lead / supervisor" in err
    code, recorded, _ = run(capsys, "irr", "sample", "--year", str(YEAR), "--seed", "42", "--record", "--as",
                            "lead.patel", "--json")
    assert code == 0 and recorded == first  # the recorded sample is the one previewed
    code, _, err = run(capsys, "irr", "sample", "--year", "20x6")
    assert code == 2 and "not a year" in err


def test_blind_review_and_report_from_the_command_line(capsys, store):
    run(capsys, "irr", "sample", "--year", str(YEAR), "--seed", "7", "--record", "--as", "lead.patel")
    code, out, _ = run(capsys, "irr", "work-list", "--year", str(YEAR), "--as", "auditor.brown", "--json")
    items = json.loads(out)
    assert code == 0 and items and all(i["state"] == "to-review" for i in items)
    item = next(i for i in items if i["criteria_set"])
    code, out, _ = run(capsys, "irr", "show", item["item_id"], "--as", "auditor.brown", "--json")
    view = json.loads(out)
    assert code == 0 and "outcome" not in out and "evidence" not in out
    for criterion in view["criteria"]:
        if not criterion["is_group"]:
            assert run(capsys, "irr", "answer", item["item_id"], criterion["id"], "met", "--as",
                       "auditor.brown")[0] == 0
    code, _, err = run(capsys, "irr", "submit", item["item_id"], "--determination", "maybe", "--as", "auditor.brown")
    assert code == 2
    code, _, _ = run(capsys, "irr", "submit", item["item_id"], "--determination", "approved", "--as",
                     "auditor.brown")
    assert code == 0
    code, _, err = run(capsys, "irr", "submit", item["item_id"], "--determination", "approved", "--as",
                       "auditor.brown")
    assert code == 3 and "already submitted" in err
    code, out, _ = run(capsys, "irr", "report", "--year", str(YEAR), "--as", "lead.patel", "--json")
    report = json.loads(out)
    assert code == 0 and report["overall"]["reviewed"] == 1
    code, _, err = run(capsys, "irr", "report", "--year", str(YEAR), "--as", "nurse.garcia")
    assert code == 3
    code, _, err = run(capsys, "irr", "cap", "open", "--year", str(YEAR), "--reviewer", item["item_id"], "--owner",
                       "lead.patel", "--action", "x", "--due", "2099-01-01", "--as", "lead.patel")
    assert code == 2 and "No user" in err


def test_committee_packet_and_dashboard_json(capsys, store, tmp_path):
    out_file = tmp_path / "packet.pdf"
    code, out, _ = run(capsys, "report", "committee", "--from", f"{YEAR}-01-01", "--to", f"{YEAR}-12-31", "--out",
                       str(out_file), "--json")
    assert code == 0 and json.loads(out)["sections"][0] == "Volumes"
    assert "Inter-rater reliability" in "".join(p.extract_text() for p in PdfReader(out_file).pages)
    code, out, _ = run(capsys, "report", "dashboard", "--from", f"{YEAR}-01-01", "--to", f"{YEAR}-12-31",
                       "--team", "pharmacy", "--json")
    data = json.loads(out)
    assert code == 0 and data["filters"]["team"] == "pharmacy"
    assert [s["id"] for s in data["sections"]][:3] == ["volumes", "decisions", "timeliness"]
    code, _, err = run(capsys, "report", "committee", "--from", f"{YEAR}-12-31", "--to", f"{YEAR}-01-01",
                       "--out", str(out_file))
    assert code == 2 and "before --from" in err
    code, _, err = run(capsys, "report", "committee", "--from", f"{YEAR}-01-01", "--to", f"{YEAR}-12-31",
                       "--out", str(tmp_path / "missing" / "p.pdf"))
    assert code == 2 and "existing folder" in err
