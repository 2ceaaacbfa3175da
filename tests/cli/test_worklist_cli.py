"""`umws worklist`, `umws demo`, `umws db` and `umws case claim|assign`, run in-process as a user would run them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.store.engine import default_store_path, open_local_store
from app.store.models import Case, CaseEvent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def demo_store(capsys):
    code, out, err = run(capsys, "demo", "--cases", "400", "--seed", "7", "--json")
    assert code == 0, err
    assert json.loads(out)["cases"] == 400
    return default_store_path()


def test_demo_makes_every_kind_of_case(demo_store):
    store = open_local_store()
    with store.session() as session:
        cases = session.scalars(select(Case)).all()
        kinds = {(c.service_category, c.review_timing, c.urgency) for c in cases}
        statuses = {c.status for c in cases}
        assert len(cases) == 400
        assert {c.service_category for c in cases} >= {"inpatient", "outpatient", "ltc-snf", "dme", "home-health",
                                                         "bh-sud", "medication", "community-supports"}
        assert statuses >= {"received", "in-review", "pended", "referred", "closed"}
        assert len(kinds) > 15
        assert session.query(CaseEvent).filter(CaseEvent.kind == "received").count() == 400
        assert all(c.decision_due_at is not None and c.decision_due_at > c.received_at for c in cases)
        languages = {c.member.language for c in cases}
        assert {"en", "es"} <= languages and len(languages) >= 5
    store.close()


def test_demo_twice_adds_without_collisions(demo_store, capsys):
    code, _, err = run(capsys, "demo", "--cases", "50", "--seed", "7")
    assert code == 0, err
    store = open_local_store()
    with store.session() as session:
        assert session.query(Case).count() == 450
    store.close()


def test_worklist_json_rows_in_default_order(demo_store, capsys):
    code, out, err = run(capsys, "worklist", "--queue", "unassigned", "--user", "nurse.nguyen", "--limit", "20",
                         "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert 0 < len(rows) <= 20
    assert set(rows[0]) >= {"tar", "member", "service", "timing", "urgency", "received", "due", "status", "assignee"}
    assert all(row["assignee"] is None for row in rows)
    assert all(row["service_category"] in ("outpatient", "dme", "home-health") for row in rows)
    dues = [row["due"] for row in rows]
    assert dues == sorted(dues, key=lambda d: __import__("datetime").datetime.fromisoformat(d))


def test_worklist_sort_and_filter(demo_store, capsys):
    _, out, _ = run(capsys, "worklist", "--queue", "all-open", "--user", "lead.patel", "--limit", "1000",
                    "--sort", "member", "--json")
    rows = json.loads(out)
    names = [row["member"] for row in rows]
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    needle = rows[len(rows) // 2]["member"].split(",")[0]
    _, out, _ = run(capsys, "worklist", "--queue", "all-open", "--user", "lead.patel", "--limit", "1000",
                    "--filter", needle.lower(), "--json")
    filtered = json.loads(out)
    assert filtered and all(needle.lower() in (r["member"] + r["service"] + r["tar"]).lower() for r in filtered)
    assert len(filtered) < len(rows)


def test_worklist_refuses_a_queue_the_role_does_not_see(demo_store, capsys):
    code, out, err = run(capsys, "worklist", "--queue", "all-open", "--user", "nurse.garcia", "--json")
    assert code == 3 and out == ""
    assert "Nurse lead / supervisor" in err


def test_worklist_unknown_user_and_bad_queue(demo_store, capsys):
    code, _, err = run(capsys, "worklist", "--queue", "mine", "--user", "nobody.here")
    assert code == 2 and "No user 'nobody.here'" in err
    code, _, err = run(capsys, "worklist", "--queue", "nonsense", "--user", "nurse.garcia")
    assert code == 2 and "invalid choice" in err


def test_claim_then_mine_then_assign(demo_store, capsys):
    _, out, _ = run(capsys, "worklist", "--queue", "unassigned", "--user", "nurse.garcia", "--limit", "1", "--json")
    tar = json.loads(out)[0]["tar"]
    code, out, err = run(capsys, "case", "claim", tar, "--as", "nurse.garcia", "--json")
    assert code == 0, err
    assert json.loads(out) == {"tar": tar, "status": "in-review", "assignee": "nurse.garcia"}
    _, out, _ = run(capsys, "worklist", "--queue", "mine", "--user", "nurse.garcia", "--limit", "1000", "--json")
    assert tar in [row["tar"] for row in json.loads(out)]
    code, _, err = run(capsys, "case", "claim", tar, "--as", "nurse.okafor")
    assert code == 3 and "held by nurse.garcia" in err
    code, _, err = run(capsys, "case", "assign", tar, "--to", "nurse.okafor", "--as", "nurse.garcia")
    assert code == 3 and "supervisor" in err
    code, out, err = run(capsys, "case", "assign", tar, "--to", "nurse.okafor", "--as", "lead.patel", "--json")
    assert code == 0 and json.loads(out)["assignee"] == "nurse.okafor"
    code, _, err = run(capsys, "case", "claim", tar, "--as", "coord.jones")
    assert code == 3 and "UM coordinator does not review" in err


def test_db_upgrade_and_status(demo_store, capsys):
    code, out, err = run(capsys, "db", "upgrade")
    assert code == 0 and "-> 0" in out
    code, out, _ = run(capsys, "db", "status", "--json")
    status = json.loads(out)
    assert status["revision"] == status["head"] and status["engine"] == "sqlite"


def test_wrong_key_is_one_line_and_exit_2(demo_store, capsys, memory_keyring):
    before = demo_store.read_bytes()
    for account in list(memory_keyring.secrets):
        memory_keyring.secrets[account] = "ab" * 32
    code, out, err = run(capsys, "worklist", "--queue", "mine", "--user", "nurse.garcia")
    assert code == 2 and out == ""
    message = [line for line in err.splitlines() if "insecure keyring" not in line]
    assert len(message) == 1 and "Nothing was changed" in message[0]
    assert demo_store.read_bytes() == before


def test_database_url_option_works_on_postgres(postgres_url, capsys):
    code, _, err = run(capsys, "demo", "--cases", "30", "--seed", "2", "--database-url", postgres_url)
    assert code == 0, err
    code, out, err = run(capsys, "worklist", "--queue", "all-open", "--user", "lead.patel", "--json",
                         "--database-url", postgres_url)
    assert code == 0 and len(json.loads(out)) > 0
    assert not default_store_path().exists(), "a --database-url command must not make a local store"


def test_unreachable_database_is_a_clear_message(capsys):
    code, _, err = run(capsys, "worklist", "--queue", "mine", "--user", "x",
                       "--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 2 and "cannot be reached" in err


def test_python_dash_m_app_runs_the_cli(tmp_path):
    home = tmp_path / "fresh"
    home.mkdir()
    env = {**os.environ, "UMWS_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0 and "worklist" in result.stdout
    assert list(home.iterdir()) == []
