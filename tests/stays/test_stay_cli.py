"""`umws stay ...` and the stay queues of `umws worklist`: JSON shapes, exit codes, refusals, nothing written."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.store.engine import open_local_store
from app.store.models import CaseEvent, Member, Provider
from tests.stays.conftest import PT, plan_today


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, "\n".join(line for line in captured.err.splitlines() if "insecure" not in line)


def event_count() -> int:
    store = open_local_store()
    try:
        with store.session() as session:
            return session.scalar(select(func.count()).select_from(CaseEvent))
    finally:
        store.close()


@pytest.fixture
def admitted(capsys):
    """A stay admitted two days ago (emergency, acute, 3 days requested) through the CLI; its TAR."""
    assert run(capsys, "demo", "--cases", "0", "--seed", "3")[0] == 0
    store = open_local_store()
    with store.session() as session:
        cin = session.scalars(select(Member.cin).order_by(Member.cin)).first()
        npi, attending = session.scalars(select(Provider.npi).order_by(Provider.npi)).all()[:2]
    store.close()
    when = (datetime.now(timezone.utc) - timedelta(days=2)).astimezone(PT).replace(microsecond=0)
    code, out, err = run(capsys, "stay", "admit", "--as", "nurse.garcia", "--member", cin, "--facility", npi,
                         "--attending", attending, "--admitted", when.isoformat(),
                         "--notified", (when + timedelta(hours=3)).isoformat(), "--level", "acute", "--days", "3",
                         "--diagnosis", "J18.9=Pneumonia", "--json")
    assert code == 0, err
    stay = json.loads(out)
    return stay["tar"], cin, npi


def test_show_json_has_the_admission_the_ledger_and_the_next_review(admitted, capsys):
    tar, _, _ = admitted
    code, out, _ = run(capsys, "stay", "show", tar, "--json")
    stay = json.loads(out)
    assert code == 0 and stay["tar"] == tar
    assert stay["admit_date"] == (plan_today() - timedelta(days=2)).isoformat()
    assert [d["status"] for d in stay["ledger"]] == ["requested"] * 3 and stay["next_review"] is None
    assert set(stay["ledger"][0]) >= {"day", "status", "level_of_care", "determination_id", "on_leave"}
    assert stay["late_notice"] is False and stay["readmission"] is False
    code, out, err = run(capsys, "stay", "show", "123", "--json")
    assert code == 2 and "No stay with TAR number 123" in err


def test_review_through_the_criteria_checklist_then_discharge(admitted, capsys):
    tar, _, _ = admitted
    today = plan_today()
    review = ["stay", "review", tar, "--as", "nurse.garcia", "--approve-through", today.isoformat(),
              "--next-review", (today + timedelta(days=1)).isoformat(), "--note", "Afebrile 24 h, on IV antibiotics"]
    before = event_count()
    code, _, err = run(capsys, *review)
    assert code == 3 and "approves only when the criteria are met" in err and event_count() == before
    # Walk the continued-stay criteria with the criteria commands, then review with the checklist's result.
    assert run(capsys, "case", "claim", tar, "--as", "nurse.garcia")[0] == 0
    assert run(capsys, "criteria", "choose", "--case", tar, "--set", "inpatient-continued-stay",
               "--as", "nurse.garcia")[0] == 0
    for criterion in ("still-unstable", "progress", "discharge-plan"):
        code, _, err = run(capsys, "criteria", "answer", "--case", tar, "--criterion", criterion, "--answer", "met",
                           "--evidence", "progress note 12/01", "--as", "nurse.garcia")
        assert code == 0, err
    code, out, err = run(capsys, *review, "--json")
    assert code == 0, err
    stay = json.loads(out)
    assert [d["status"] for d in stay["ledger"]] == ["approved"] * 3
    assert stay["next_review"] == (today + timedelta(days=1)).isoformat()
    assert stay["determinations"][0]["by"] == "nurse.garcia"

    code, out, _ = run(capsys, "worklist", "--queue", "reviews-due", "--user", "nurse.garcia", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["tar"] for r in rows] == [tar]  # the last approved day is today
    assert rows[0]["approved_through"] == today.isoformat() and rows[0]["level_of_care"] == "acute"

    admitted_at = datetime.fromisoformat(stay["admitted_at"])
    before = event_count()
    code, _, err = run(capsys, "stay", "discharge", tar, "--as", "nurse.garcia",
                       "--at", (admitted_at - timedelta(hours=1)).isoformat(), "--disposition", "home")
    assert code == 2 and "before the admission" in err and event_count() == before
    code, _, err = run(capsys, "stay", "discharge", tar, "--as", "nurse.garcia", "--at", "2026-13-01T10:00",
                       "--disposition", "home")
    assert code == 2 and "not an ISO 8601 date-time" in err
    code, _, err = run(capsys, "stay", "discharge", tar, "--as", "nurse.garcia", "--at", admitted_at.isoformat(),
                       "--disposition", "hotel")
    assert code == 2 and "invalid choice: 'hotel'" in err
    out_at = datetime.now(timezone.utc).astimezone(PT).replace(microsecond=0) - timedelta(minutes=10)
    code, out, err = run(capsys, "stay", "discharge", tar, "--as", "nurse.garcia", "--at", out_at.isoformat(),
                         "--disposition", "home-health", "--need", "home-health", "--json")
    assert code == 0, err
    stay = json.loads(out)
    assert stay["status"] == "discharged" and stay["case_status"] == "determined"
    assert "new request TAR" in err and stay["linked_requests"][0]["need"] == "home-health"


def test_refusals_and_bad_input(admitted, capsys):
    tar, cin, npi = admitted
    today = plan_today()
    before = event_count()
    cases = [
        (["stay", "review", tar, "--as", "nurse.garcia", "--approve-through", (today + timedelta(days=3)).isoformat(),
          "--note", "x", "--criteria-result", "criteria-met"], 2, "were not. Record the facility's request"),
        (["stay", "review", tar, "--as", "nurse.garcia", "--approve-through", today.isoformat(), "--next-review",
          (today - timedelta(days=1)).isoformat(), "--note", "x", "--criteria-result", "criteria-met"], 2,
         "is in the past"),
        (["stay", "review", tar, "--as", "nurse.garcia", "--approve-through", "tomorrow", "--note", "x"], 2,
         "is not a date"),
        (["stay", "deny", tar, "--as", "nurse.garcia", "--through", today.isoformat(), "--reason", "x"], 3,
         "Only a physician may deny .* Who may: a Medical director"),
        (["stay", "discharge", tar, "--as", "nurse.garcia", "--at", datetime.now(timezone.utc).isoformat(),
          "--disposition", "home"], 3, "still undecided"),
        (["stay", "review", tar, "--as", "nobody", "--approve-through", today.isoformat(), "--note", "x"], 2,
         "No user 'nobody'"),
        (["stay", "admit", "--as", "nurse.garcia", "--member", cin, "--facility", npi, "--admitted",
          datetime.now(timezone.utc).isoformat(), "--notified", datetime.now(timezone.utc).isoformat(),
          "--level", "icu"], 3, "overlaps this admission"),
    ]
    for argv, expected, pattern in cases:
        code, _, err = run(capsys, *argv)
        assert code == expected, (argv, err)

        assert re.search(pattern, err), (pattern, err)
    assert event_count() == before


def test_figures_json(admitted, capsys):
    code, out, err = run(capsys, "stay", "figures", "--json")
    figures = json.loads(out)
    assert code == 0, err
    assert figures["admits"] == 1 and figures["member_months"] > 0
    assert {"bed_days_per_1000", "alos_by_level", "alos_by_facility", "days_denied", "readmissions"} <= set(figures)
    assert run(capsys, "stay", "figures", "--from", "2026-12-01", "--to", "2026-11-01")[0] == 2
