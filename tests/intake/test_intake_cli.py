"""`umws intake` and `umws case export --format fhir` on the command line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.store.engine import default_store_path
from tests.intake.bundles import therapy_bundle
from tests.intake.test_csv_import import BASE, csv_bytes

FIXTURES = Path(__file__).parent / "fixtures"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    err = "\n".join(line for line in captured.err.splitlines() if "insecure keyring" not in line)
    return code, captured.out, err


@pytest.fixture
def store_with_users(capsys):
    code, _, err = run(capsys, "demo", "--cases", "0", "--seed", "3")
    assert code == 0, err


def test_template_needs_no_store(capsys):
    code, out, _ = run(capsys, "intake", "template", "--format", "csv")
    assert code == 0 and out.startswith("request_id,received_at,line_of_business,")
    assert not default_store_path().exists()


def test_auth_check_needs_no_store(capsys):
    code, out, _ = run(capsys, "intake", "auth-check", "99284", "E0130", "H0015", "--date", "2026-11-20", "--json")
    answers = json.loads(out)
    assert code == 0 and not default_store_path().exists()
    assert [a["required"] for a in answers] == [False, True, False]
    assert answers[0]["emergency"] and answers[2]["redirections"][0]["carve_out"] == "dmc-ods"


def test_import_a_bundle_prints_created_duplicates_problems(store_with_users, capsys):
    path = FIXTURES / "pas_ig_referral_authorization_bundle.json"
    code, out, err = run(capsys, "intake", "import", str(path), "--as", "coord.jones", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= {"created", "duplicates", "problems"}
    [tar] = report["created"]
    assert report["duplicates"] == [] and report["problems"][0]["tar"] == tar
    assert "member's birth date" in report["problems"][0]["missing"]
    code, out, _ = run(capsys, "intake", "import", str(path), "--as", "coord.jones", "--json")
    again = json.loads(out)
    assert code == 0 and again["created"] == [] and again["duplicates"][0]["tar"] == tar
    code, out, _ = run(capsys, "case", "show", tar, "--json")
    shown = json.loads(out)
    assert shown["status"] == "pended" and shown["urgency"] == "urgent"
    assert [e["kind"] for e in shown["timeline"]][:3] == ["received", "intake-assessed", "pended"]
    assert shown["timeline"][0]["payload"]["channel"] == "fhir" and shown["timeline"][0]["actor"] == "coord.jones"


def test_unreadable_input_exits_2_with_the_errors_on_stderr(store_with_users, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bundle = therapy_bundle()
    bundle["entry"][0]["resource"]["patient"] = {"reference": "Patient/404"}
    bad.write_text(json.dumps(bundle))
    code, out, err = run(capsys, "intake", "import", str(bad), "--as", "coord.jones")
    assert code == 2 and out == ""
    assert "bad.json: entry 1 (Claim) patient: refers to Patient/404, which the bundle does not contain" in err
    rows = [dict(BASE, request_id="A", units="x"), dict(BASE, request_id="B", member_birth_date="1980-13-01")]
    batch = tmp_path / "batch.csv"
    batch.write_bytes(csv_bytes(rows))
    code, out, err = run(capsys, "intake", "import", str(batch), "--as", "coord.jones", "--json")
    assert code == 2 and out == ""
    assert "batch.csv: line 2, column units" in err and "batch.csv: line 3, column member_birth_date" in err
    code, _, err = run(capsys, "intake", "import", str(tmp_path / "missing.json"), "--as", "coord.jones")
    assert code == 2 and "cannot be read" in err


def test_authority_is_checked_first(store_with_users, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not even json")
    code, _, err = run(capsys, "intake", "import", str(bad), "--as", "auditor.brown")
    assert code == 3 and "does not enter requests" in err and "UM coordinator" in err


def test_case_export_fhir(store_with_users, capsys, tmp_path):
    path = tmp_path / "pa.json"
    path.write_text(json.dumps(therapy_bundle()))
    _, out, _ = run(capsys, "intake", "import", str(path), "--as", "coord.jones", "--json")
    [tar] = json.loads(out)["created"]
    code, out, err = run(capsys, "case", "decide", tar, "--as", "dr.shah", "--outcome", "approve",
                         "--reason", "Meets criteria", "--criteria", "outpatient-physical-therapy@2026.1")
    assert code == 0, err
    code, out, err = run(capsys, "case", "export", tar, "--format", "fhir")
    assert code == 0, err
    response = json.loads(out)["entry"][0]["resource"]
    assert response["resourceType"] == "ClaimResponse" and response["preAuthRef"] == tar
    target = tmp_path / "answer.json"
    code, out, err = run(capsys, "case", "export", tar, "--format", "fhir", "--output", str(target))
    assert code == 0 and out == "" and json.loads(target.read_text())["entry"][0]["resource"]["id"] == f"tar-{tar}"
    code, _, err = run(capsys, "case", "export", "99999999999", "--format", "fhir")
    assert code == 2 and "No case with TAR number 99999999999" in err


def test_a_request_needing_no_authorization_is_closed_with_a_provider_notice(store_with_users, capsys, tmp_path):
    path = tmp_path / "pa.json"
    path.write_text(json.dumps(therapy_bundle(items=(("99213", 1, "2026-12-02", "2026-12-02"),))))
    _, out, _ = run(capsys, "intake", "import", str(path), "--as", "coord.jones", "--json")
    report = json.loads(out)
    [tar] = report["created"]
    assert report["flags"] == [{"tar": tar, "flags": ["no-auth-required"]}]
    code, _, err = run(capsys, "intake", "close-no-auth", tar, "--as", "coord.jones")
    assert code == 3 and "may not close a request administratively" in err
    code, out, err = run(capsys, "intake", "close-no-auth", tar, "--as", "nurse.nguyen", "--json")
    assert code == 0, err
    assert json.loads(out) == {"tar": tar, "status": "notified", "outcome": "administratively-closed"}
    _, out, _ = run(capsys, "case", "show", tar, "--json")
    kinds = [event["kind"] for event in json.loads(out)["timeline"]]
    assert kinds[-2:] == ["determined", "notified"]
    determined = [e for e in json.loads(out)["timeline"] if e["kind"] == "determined"][0]
    assert "No prior authorization required (line 1 99213: Office and outpatient visits" in \
        determined["payload"]["reason"]
    _, out, _ = run(capsys, "case", "export", tar, "--format", "fhir")
    item = json.loads(out)["entry"][0]["resource"]["item"][0]
    assert item["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "NA"
    code, _, err = run(capsys, "intake", "close-no-auth", tar, "--as", "nurse.nguyen")
    assert code == 3
