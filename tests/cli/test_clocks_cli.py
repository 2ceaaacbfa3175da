"""`umws clocks check`: records missed decision clocks once and prints the TAR numbers it recorded."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.cli import main
from app.store.engine import open_local_store
from app.store.models import Case, CaseEvent
from tests import breach_oracle

UNDECIDED = {"received", "in-review", "pended", "referred"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def demo_store(capsys):
    code, _, err = run(capsys, "demo", "--cases", "200", "--seed", "9")
    assert code == 0, err


def past_due(now: datetime) -> set[str]:
    store = open_local_store()
    try:
        with store.session() as session:
            return set(breach_oracle.past_due(session, now))
    finally:
        store.close()


def breach_events() -> list[tuple[str, dict]]:
    store = open_local_store()
    try:
        with store.session() as session:
            return [(tar, payload) for tar, payload in session.execute(
                select(Case.tar, CaseEvent.payload).join(Case, CaseEvent.case_id == Case.id)
                .where(CaseEvent.kind == "clock-breached"))]
    finally:
        store.close()


def test_check_json_records_each_breach_once(demo_store, capsys):
    now = "2099-01-01T00:00"  # plan time: every undecided open case is past due by then
    expected = past_due(datetime(2099, 1, 1, 8, tzinfo=timezone.utc))
    assert expected
    code, out, err = run(capsys, "clocks", "check", "--now", now, "--json")
    assert code == 0, err
    recorded = json.loads(out)
    assert isinstance(recorded, list) and set(recorded) == expected and len(recorded) == len(expected)
    events = breach_events()
    assert sorted(tar for tar, _ in events) == sorted(expected)
    assert all(payload["clock"] == "decision" and payload["due"] and payload["rule"] for _, payload in events)

    code, out, err = run(capsys, "clocks", "check", "--now", now, "--json")
    assert code == 0 and json.loads(out) == []
    assert len(breach_events()) == len(expected)


def test_check_plain_prints_one_tar_a_line_and_a_count_on_stderr(demo_store, capsys):
    now = datetime.now(timezone.utc)
    code, out, err = run(capsys, "clocks", "check")
    assert code == 0, err
    tars = out.split()
    assert set(tars) <= past_due(datetime.now(timezone.utc)) and set(tars) >= past_due(now)
    assert f"Recorded {len(tars)} missed decision clock" in err
    code, out, err = run(capsys, "clocks", "check")
    assert code == 0 and out == "" and "Recorded 0 missed decision clocks." in err


def test_now_without_an_offset_is_plan_time(demo_store, capsys):
    # 2026-01-01T00:00 in Los Angeles is 08:00 UTC: nothing of a demo made today was due then.
    code, out, _ = run(capsys, "clocks", "check", "--now", "2026-01-01T00:00", "--json")
    assert code == 0 and json.loads(out) == []


def test_bad_now_is_exit_2_and_writes_nothing(demo_store, capsys):
    code, out, err = run(capsys, "clocks", "check", "--now", "tomorrow")
    assert code == 2 and out == "" and "--now 'tomorrow' is not an ISO 8601 date-time" in err
    code, _, err = run(capsys, "clocks", "check", "--now", "2099-01-01")
    assert code == 2 and "no time of day" in err
    assert breach_events() == []


def test_check_needs_an_action(capsys):
    code, _, err = run(capsys, "clocks")
    assert code == 2 and "clocks" in err


def test_check_on_postgres(postgres_url, capsys):
    code, _, err = run(capsys, "demo", "--cases", "30", "--seed", "2", "--database-url", postgres_url)
    assert code == 0, err
    code, out, err = run(capsys, "clocks", "check", "--now", "2099-01-01T00:00Z", "--json",
                         "--database-url", postgres_url)
    assert code == 0, err
    first = json.loads(out)
    assert first
    code, out, _ = run(capsys, "clocks", "check", "--now", "2099-01-01T00:00Z", "--json",
                       "--database-url", postgres_url)
    assert json.loads(out) == []
