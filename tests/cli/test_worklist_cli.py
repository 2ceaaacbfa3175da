"""`umws worklist`, `umws demo`, `umws db` and `umws case claim|assign`, run in-process as a user would run them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.store.engine import default_store_path, open_local_store
from app.store.models import Case, CaseEvent, User


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


# --- "At risk today" (issue 4, scope 3) ------------------------------------------------------------------------

from datetime import datetime, time, timedelta, timezone  # noqa: E402 - the at-risk tests' own imports
from zoneinfo import ZoneInfo  # noqa: E402

PLAN = ZoneInfo("America/Los_Angeles")
UNDECIDED = {"received", "in-review", "pended", "referred"}


def at_risk_expected(now, username: str | None = None) -> list[str]:
    """Open undecided cases due before the end of `now`'s plan day (mine only when `username`), soonest first:
    worked out in Python from every row, independently of the worklist's SQL."""
    end = datetime.combine(now.astimezone(PLAN).date() + timedelta(days=1), time(0), tzinfo=PLAN)
    store = open_local_store()
    try:
        with store.session() as session:
            cases = session.scalars(select(Case)).all()
            rows = [(c.decision_due_at, c.tar) for c in cases
                    if c.status in UNDECIDED and c.decision_due_at is not None and c.decision_due_at < end
                    and (username is None or (c.assignee is not None and c.assignee.username == username))]
    finally:
        store.close()
    return [tar for _, tar in sorted(rows)]


def _in_days(days: int) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).astimezone(PLAN).replace(microsecond=0)


def test_at_risk_for_a_supervisor_is_every_undecided_case_due_by_the_end_of_the_plan_day(demo_store, capsys):
    now = _in_days(1)
    expected = at_risk_expected(now)
    assert expected
    code, out, err = run(capsys, "worklist", "--queue", "at-risk", "--user", "lead.patel", "--now", now.isoformat(),
                         "--limit", "100000", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [row["tar"] for row in rows] == expected  # soonest due first, overdue ones included
    assert any(datetime.fromisoformat(row["due"]) < now for row in rows)
    assert {row["status"] for row in rows} <= UNDECIDED
    # paged in SQL: a page is the same slice of the whole list
    code, out, _ = run(capsys, "worklist", "--queue", "at-risk", "--user", "lead.patel", "--now", now.isoformat(),
                       "--offset", "3", "--limit", "4", "--json")
    assert [row["tar"] for row in json.loads(out)] == expected[3:7]
    code, out, _ = run(capsys, "worklist", "--queue", "at-risk", "--user", "auditor.brown", "--now",
                       now.isoformat(), "--limit", "100000", "--json")
    assert [row["tar"] for row in json.loads(out)] == expected


@pytest.mark.parametrize("username", ["nurse.garcia", "tech.rivera"])
def test_at_risk_for_a_nurse_or_pharmacy_technician_is_only_their_own(demo_store, capsys, username):
    now = _in_days(3)
    expected = at_risk_expected(now, username)
    assert expected and len(expected) < len(at_risk_expected(now))
    code, out, err = run(capsys, "worklist", "--queue", "at-risk", "--user", username, "--now", now.isoformat(),
                         "--limit", "100000", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [row["tar"] for row in rows] == expected
    assert {row["assignee"] for row in rows} == {username}


def test_at_risk_is_not_shown_to_a_medical_director(demo_store, capsys):
    code, out, err = run(capsys, "worklist", "--queue", "at-risk", "--user", "dr.shah")
    assert code == 3 and out == "" and "At risk" not in out and "Nurse lead / supervisor" in err


def test_at_risk_now_without_an_offset_is_plan_time_and_a_bad_now_is_exit_2(demo_store, capsys):
    # 01:00 in Los Angeles is on the same plan day as 23:00 there; read as UTC it would be the evening before.
    day = _in_days(2).date()
    naive, aware = f"{day}T01:00", datetime.fromisoformat(f"{day}T01:00").replace(tzinfo=PLAN)
    code, out, err = run(capsys, "worklist", "--queue", "at-risk", "--user", "lead.patel", "--now", naive,
                         "--limit", "100000", "--json")
    assert code == 0, err
    assert [row["tar"] for row in json.loads(out)] == at_risk_expected(aware)
    assert at_risk_expected(aware) != at_risk_expected(aware.replace(tzinfo=timezone.utc))
    code, out, err = run(capsys, "worklist", "--queue", "at-risk", "--user", "lead.patel", "--now", "soon")
    assert code == 2 and out == "" and "--now 'soon'" in err


def test_at_risk_keeps_the_open_case_term_and_walks_the_partial_due_index(demo_store):
    from sqlalchemy import text

    from app.store.worklist import WorklistQuery, viewer_for

    store = open_local_store()
    try:
        with store.session() as session:
            query = WorklistQuery("at-risk", viewer_for(session, "lead.patel"), now=_in_days(0))
            statement = query.rows_statement("sqlite").offset(0).limit(50)
            compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            assert "status <> 'closed'" in str(compiled)
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    finally:
        store.close()
    assert "ix_cases_open_due" in plan and "TEMP B-TREE" not in plan, plan


def test_at_risk_on_postgres(postgres_url, capsys):
    code, _, err = run(capsys, "demo", "--cases", "60", "--seed", "4", "--database-url", postgres_url)
    assert code == 0, err
    now = _in_days(2).isoformat()
    code, out, err = run(capsys, "worklist", "--queue", "at-risk", "--user", "lead.patel", "--now", now,
                         "--limit", "1000", "--json", "--database-url", postgres_url)
    assert code == 0, err
    rows = json.loads(out)
    assert rows and {row["status"] for row in rows} <= UNDECIDED
    dues = [datetime.fromisoformat(row["due"]) for row in rows]
    assert dues == sorted(dues)
    end = (_in_days(2) + timedelta(days=1)).replace(hour=0, minute=0, second=0)
    assert all(due < end for due in dues)
    code, out, _ = run(capsys, "worklist", "--queue", "at-risk", "--user", "lead.patel", "--now", now,
                       "--offset", "1", "--limit", "2", "--json", "--database-url", postgres_url)
    assert [row["tar"] for row in json.loads(out)] == [row["tar"] for row in rows[1:3]]


@pytest.mark.parametrize("queue, user, sort, index", [
    ("unassigned", "nurse.nguyen", "due", "ix_cases_unassigned_due"),
    ("all-open", "lead.patel", "due", "ix_cases_open_running_due"),
    ("all-open", "lead.patel", "assignee", "ix_cases_open_assignee"),
])
def test_team_queue_and_assignee_sort_walk_their_partial_index_without_sorting(demo_store, queue, user, sort, index):
    """Issue 3 (re-sort within 50 ms at 100,000 cases): these orders must come from an index, not a temp B-tree."""
    from sqlalchemy import text

    from app.store.worklist import WorklistQuery, viewer_for

    store = open_local_store()
    try:
        with store.session() as session:
            query = WorklistQuery(queue, viewer_for(session, user), sort_column=sort)
            compiled = query.rows_statement("sqlite").offset(0).limit(50).compile(
                session.get_bind(), compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    finally:
        store.close()
    assert index in plan and "TEMP B-TREE" not in plan, plan


def test_sort_by_assignee_follows_claims_and_assignments(demo_store, capsys):
    """The assignee sort key is a projection: it must follow every claim and assignment, by username."""
    code, out, _ = run(capsys, "worklist", "--queue", "unassigned", "--user", "nurse.nguyen", "--limit", "1", "--json")
    tar = json.loads(out)[0]["tar"]
    assert run(capsys, "case", "claim", tar, "--as", "nurse.nguyen")[0] == 0
    assert run(capsys, "case", "assign", tar, "--to", "nurse.okafor", "--as", "lead.patel")[0] == 0
    code, out, err = run(capsys, "worklist", "--queue", "all-open", "--user", "lead.patel", "--sort", "assignee",
                         "--limit", "100000", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert next(row for row in rows if row["tar"] == tar)["assignee"] == "nurse.okafor"
    assignees = [row["assignee"] for row in rows if row["assignee"] is not None]
    assert assignees == sorted(assignees)
    store = open_local_store()
    try:
        with store.session() as session:
            stale = session.scalar(
                select(func.count()).select_from(Case).outerjoin(User, User.id == Case.assignee_id)
                .where(func.coalesce(User.username, "") != func.coalesce(Case.assignee_username, "")))
    finally:
        store.close()
    assert stale == 0


def test_decided_cases_come_after_every_running_clock(demo_store, capsys):
    """Issue 4: the worklist sorts by what is about to breach; a decided case waiting for its notices has no decision
    clock left to breach, so My cases and All open list it after every running clock (each part by due)."""
    from app.domain.queues import DECIDED_STATES

    for queue, user in (("all-open", "lead.patel"), ("mine", "nurse.garcia")):
        code, out, err = run(capsys, "worklist", "--queue", queue, "--user", user, "--limit", "100000", "--json")
        assert code == 0, err
        rows = json.loads(out)
        decided = [row["status"] in DECIDED_STATES for row in rows]
        assert any(decided) and not all(decided), queue
        assert decided == sorted(decided), f"{queue}: a decided case before a running clock"
        running = [datetime.fromisoformat(row["due"]) for row in rows if row["status"] not in DECIDED_STATES]
        assert running == sorted(running)
