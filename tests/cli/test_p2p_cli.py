"""`umws p2p ...` and `umws report p2p`: slots with ids, booking (opening the request), refusals exit 3 with the
reason, bad input exit 2 with nothing written, the outcome that becomes a new determination, invitations."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import icalendar
import pytest
from sqlalchemy import func, select

from app.cli import main
from app.domain.plantime import PLAN_TZ
from app.services import cases as svc
from app.services import demo
from app.store.engine import open_local_store
from app.store.models import AuditRecord, Case, CaseEvent
from tests.workflow.conftest import CaseMaker


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store(isolated_home):
    store = open_local_store()
    demo.generate(store, 0, seed=3)
    yield store
    store.close()


def denied(store) -> str:
    tar = CaseMaker(store)()
    with store.session() as session, session.begin():
        svc.claim_case(session, tar, "dr.morales")
        svc.decide_case(session, tar, "dr.morales", outcome="deny", basis="medical-necessity",
                        rationale="Conservative therapy not tried", member_reason="You did not try therapy first.")
    return tar


def days() -> tuple[str, str]:
    today = datetime.now(PLAN_TZ).date()
    return today.isoformat(), (today + timedelta(days=13)).isoformat()


def slots(capsys, username: str = "dr.morales") -> list[dict]:
    first, last = days()
    code, out, err = run(capsys, "p2p", "slots", "--physician", username, "--from", first, "--to", last, "--json")
    assert code == 0, err
    return json.loads(out)


def counts(store, tar: str) -> tuple[int, int]:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        return (session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id)),
                session.scalar(select(func.count()).select_from(AuditRecord)))


def test_slots_list_free_future_slots_with_ids(capsys, store):
    rows = slots(capsys)
    assert rows and all(row["id"].startswith("dr.morales@") for row in rows)
    assert {"id", "username", "full_name", "specialty", "start", "end"} <= set(rows[0])
    assert all(datetime.fromisoformat(row["start"]) > datetime.now(PLAN_TZ) for row in rows)
    code, out, err = run(capsys, "p2p", "slots", "--physician", "nurse.nguyen", "--from", days()[0], "--to",
                         days()[1], "--json")
    assert code == 2 and "does not hold peer-to-peer calls" in err
    code, _, err = run(capsys, "p2p", "slots", "--physician", "dr.morales", "--from", "2026-13-01", "--to", "x")
    assert code == 2 and "YYYY-MM-DD" in err


def test_book_opens_the_request_then_the_outcome_overturns(capsys, store, tmp_path):
    tar = denied(store)
    slot = slots(capsys)[0]["id"]
    code, out, err = run(capsys, "p2p", "book", tar, "--slot", slot, "--as", "coord.jones", "--requester",
                         "Dr. Tina Clark", "--phone", "(707) 555-0100", "--json")
    assert code == 0, err
    booked = json.loads(out)
    assert booked["slot"] == slot and booked["status"] == "booked" and booked["match"] == "deciding"
    assert slot not in [row["id"] for row in slots(capsys)]
    code, out, err = run(capsys, "p2p", "show", tar, "--as", "coord.jones", "--json")
    shown = json.loads(out)
    assert shown["requests"][0]["requester_name"] == "Dr. Tina Clark"
    assert shown["requests"][0]["calls"][0]["slot"] == slot
    code, out, err = run(capsys, "p2p", "invitation", tar, "--as", "coord.jones", "--out", str(tmp_path / "c.ics"))
    assert code == 0, err
    event = icalendar.Calendar.from_ical((tmp_path / "c.ics").read_bytes()).walk("VEVENT")[0]
    assert tar in str(event["summary"]) and "Dr. Tina Clark" in str(event["attendee"].params["cn"])
    before = counts(store, tar)
    code, out, err = run(capsys, "p2p", "outcome", tar, "--as", "coord.jones", "--result", "overturned", "--note", "x")
    assert code == 3 and "Only a physician" in err and "Medical director" in err
    assert counts(store, tar) == before
    code, out, err = run(capsys, "p2p", "outcome", tar, "--as", "dr.morales", "--result", "overturned", "--note",
                         "Therapy records reviewed on the call", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["case_outcome"], result["request_status"]) == ("approved", "completed")
    assert result["determination_id"]
    code, out, err = run(capsys, "letter", "list", tar, "--json")
    assert any(letter["kind"] == "approval" for letter in json.loads(out))
    code, out, err = run(capsys, "report", "p2p", "--from", days()[0], "--to", days()[1], "--json")
    report = json.loads(out)
    assert (report["requested"], report["held"], report["overturned"]) == (1, 1, 1)
    assert set(report) >= {"requested", "held", "missed", "overturned", "upheld", "median_request_to_call_hours"}


def test_refusals_exit_3_with_the_reason_and_bad_input_exit_2(capsys, store):
    tar = denied(store)
    free = slots(capsys)
    code, _, err = run(capsys, "p2p", "book", tar, "--slot", free[0]["id"], "--as", "nurse.nguyen")
    assert code == 3 and "does not schedule" in err and "UM coordinator" in err
    code, _, err = run(capsys, "p2p", "book", tar, "--slot", "dr.morales@20200101T1700Z", "--as", "coord.jones")
    assert code == 3 and "published availability" in err
    code, _, err = run(capsys, "p2p", "book", tar, "--slot", "tomorrow", "--as", "coord.jones")
    assert code == 2 and "slot ids look like" in err
    start = datetime.fromisoformat(free[0]["start"])
    off_grid = "dr.morales@" + (start + timedelta(minutes=7)).astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ")
    code, _, err = run(capsys, "p2p", "book", tar, "--slot", off_grid, "--as", "coord.jones")
    assert code == 3 and "not in Elena Morales, DO's published availability" in err
    code, _, _ = run(capsys, "p2p", "book", tar, "--slot", free[0]["id"], "--as", "coord.jones")
    assert code == 0
    other = denied(store)
    before = counts(store, other)
    code, _, err = run(capsys, "p2p", "book", other, "--slot", free[0]["id"], "--as", "coord.jones")
    assert code == 3 and "already booked" in err
    assert counts(store, other) == before
    code, _, err = run(capsys, "p2p", "outcome", tar, "--as", "dr.morales", "--note", "x")
    assert code == 2 and "--result" in err
    code, _, err = run(capsys, "p2p", "cancel", tar, "--as", "coord.jones", "--reason", "Provider in surgery")
    assert code == 0
    code, _, err = run(capsys, "p2p", "offer", tar, "--as", "coord.jones", "--slot", free[1]["id"])
    assert code == 2 and "at least 2 windows" in err
    code, out, err = run(capsys, "p2p", "offer", tar, "--as", "coord.jones", "--slot", free[1]["id"], "--slot",
                         free[2]["id"], "--json")
    assert code == 0 and json.loads(out)["status"] == "offered"


def test_availability_commands(capsys, store):
    day = (datetime.now(PLAN_TZ).date() + timedelta(days=45)).isoformat()
    code, out, err = run(capsys, "p2p", "availability", "add", "--as", "dr.shah", "--on", day, "--from-time",
                         "09:00", "--to-time", "10:00", "--json")
    assert code == 0, err
    added = json.loads(out)[0]
    assert "One-off" in added["description"]
    code, _, err = run(capsys, "p2p", "availability", "add", "--as", "dr.shah", "--on", day, "--from-time",
                       "09:30", "--to-time", "11:00")
    assert code == 3 and "overlap" in err
    code, _, err = run(capsys, "p2p", "availability", "add", "--as", "dr.shah", "--weekly", "funday",
                       "--from-time", "09:00", "--to-time", "10:00")
    assert code == 2 and "weekdays" in err
    code, out, err = run(capsys, "p2p", "availability", "out-of-office", "--as", "coord.jones", "--physician",
                         "dr.shah", "--from", f"{day}T09:30", "--to", day, "--json")
    assert code == 0 and "Out of office" in json.loads(out)["description"]
    code, out, _ = run(capsys, "p2p", "slots", "--physician", "dr.shah", "--from", day, "--to", day, "--json")
    assert [row["start"][11:16] for row in json.loads(out)] == ["09:00"]
    code, out, _ = run(capsys, "p2p", "availability", "list", "--physician", "dr.shah", "--json")
    assert added["id"] in [row["id"] for row in json.loads(out)]
    code, _, err = run(capsys, "p2p", "availability", "withdraw", added["id"], "--as", "dr.morales", "--reason", "x")
    assert code == 3 and "only your own" in err
    code, _, err = run(capsys, "p2p", "availability", "withdraw", added["id"], "--as", "dr.shah", "--reason",
                       "clinic moved")
    assert code == 0
    code, out, _ = run(capsys, "p2p", "availability", "list", "--physician", "dr.shah", "--json")
    assert added["id"] not in [row["id"] for row in json.loads(out)]
