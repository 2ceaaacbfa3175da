"""`umws letter ...`: render (exit 3 listing what is missing), samples (named KIND-RECIPIENT-LANG.pdf, no store),
issue, queue, mark mailed, reprint, notify-provider, set-phone, with the CLI's exit codes and JSON."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.cli import main
from app.services import cases as svc
from app.services import demo
from app.store.engine import open_local_store
from app.store.models import Case
from tests.workflow.conftest import CaseMaker


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def denied(isolated_home):
    store = open_local_store()
    demo.generate(store, 0, seed=3)
    tar = CaseMaker(store)()
    with store.session() as session, session.begin():
        svc.claim_case(session, tar, "dr.morales")
        svc.decide_case(session, tar, "dr.morales", outcome="deny", basis="benefit", rationale="Not a benefit",
                        member_reason="Medi-Cal does not cover this.",
                        criteria=[svc.CriteriaCitation("outpatient-physical-therapy", "2026.1")],
                        criteria_result="not-met")
    yield store, tar
    store.close()


def add_address(store, tar):
    with store.session() as session, session.begin():
        member = session.scalar(select(Case).where(Case.tar == tar)).member
        member.address_line, member.city, member.state, member.postal_code = "1 Elm St", "Napa", "CA", "94558"


def test_samples_need_no_store_and_are_named_kind_recipient_lang(capsys, isolated_home, tmp_path):
    code, out, err = run(capsys, "letter", "samples", "--out", str(tmp_path / "s"), "--json")
    assert code == 0, err
    files = {Path(item["file"]).name for item in json.loads(out)}
    assert "denial-medical-necessity-member-es.pdf" in files and "request-for-information-provider-en.pdf" in files
    assert "request-for-information-member-en.pdf" not in files
    assert "medicare-denial-medical-necessity-member-en.pdf" in files
    # 8 kinds x 2 recipients x 2 languages (but no member request for information), the Medicare adverse notices,
    # and the appeal letters (issue 13): the NAR to both, the acknowledgement and extension notice to the member
    assert len(files) == 8 * 2 * 2 - 2 + 5 * 2 + (2 + 1 + 1) * 2
    assert "appeal-resolution-member-es.pdf" in files and "appeal-acknowledgement-provider-en.pdf" not in files
    assert not (isolated_home / "store.db").exists()
    reader = PdfReader(tmp_path / "s" / "termination-member-es.pdf")
    assert "Aviso de Acción" in reader.pages[0].extract_text()


def test_render_exits_3_listing_what_is_missing(capsys, denied, tmp_path):
    store, tar = denied
    out_file = tmp_path / "letter.pdf"
    code, _, err = run(capsys, "letter", "render", tar, "--kind", "member", "--out", str(out_file))
    assert code == 3 and "mailing address" in err and not out_file.exists()
    add_address(store, tar)
    code, out, err = run(capsys, "letter", "render", tar, "--kind", "member", "--out", str(out_file))
    assert code == 0, err
    assert "Notice of Action" in PdfReader(out_file).pages[0].extract_text()
    code, _, err = run(capsys, "letter", "render", tar, "--kind", "member", "--lang", "es", "--out",
                       str(tmp_path / "es.pdf"))
    assert code == 3 and "member_reason" in err


def test_issue_queue_mark_mailed_and_reprint(capsys, denied, tmp_path):
    store, tar = denied
    add_address(store, tar)
    code, out, err = run(capsys, "letter", "queue", "--json")
    assert code == 0 and {row["status"] for row in json.loads(out)} == {"draft"}
    code, out, err = run(capsys, "letter", "issue", tar, "--kind", "member", "--as", "auditor.brown")
    assert code == 3 and "Who may:" in err and "coordinator" in err.lower()
    code, out, err = run(capsys, "letter", "issue", tar, "--kind", "member", "--as", "coord.jones", "--json")
    assert code == 0, err
    issued = json.loads(out)
    code, out, err = run(capsys, "letter", "reprint", tar, "--as", "coord.jones", "--out", str(tmp_path / "r.pdf"))
    assert code == 0 and hashlib.sha256((tmp_path / "r.pdf").read_bytes()).hexdigest() == issued["sha256"]
    code, out, err = run(capsys, "letter", "print-batch", "--out", str(tmp_path / "batch.pdf"))
    assert code == 0 and len(PdfReader(tmp_path / "batch.pdf").pages) == issued["pages"]
    code, out, err = run(capsys, "letter", "mark-mailed", tar, "--as", "coord.jones", "--json")
    assert code == 0 and json.loads(out)["status"] == "mailed"
    code, out, err = run(capsys, "case", "show", tar, "--json")
    shown = json.loads(out)
    assert shown["status"] == "notified" and shown["workflow"]["member_notified_at"]
    code, out, err = run(capsys, "letter", "notify-provider", tar, "--as", "coord.jones", "--method", "phone")
    assert code == 0, err
    code, out, err = run(capsys, "letter", "mark-mailed", tar, "--as", "coord.jones")
    assert code == 3 and "only an issued letter" in err


def test_bad_input_exits_2(capsys, denied, tmp_path):
    store, tar = denied
    code, _, err = run(capsys, "letter", "render", "99999999999", "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and "No case with TAR" in err
    code, _, err = run(capsys, "letter", "effective-date", tar, "--as", "coord.jones", "--date", "12/01/2026")
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = run(capsys, "letter", "set-phone", "dr.shah", "1-707-555-0100", "--as", "coord.jones")
    assert code == 3 and "administrator" in err
    code, out, err = run(capsys, "letter", "set-phone", "dr.shah", "1-707-555-0100", "--as", "admin", "--json")
    assert code == 0 and json.loads(out)["phone"] == "1-707-555-0100"
