"""`umws appeal` on the command line: file, decide and show with their JSON shapes; refusals exit 3 naming who may,
bad input exits 2, and neither writes anything; the appeal queues and figures through the same commands."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from app.cli import main

REASON = "Hot tubs are not a Medi-Cal benefit, even when a doctor orders one."


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, "\n".join(line for line in captured.err.splitlines() if "insecure keyring" not in line)


def timeline(capsys, tar: str) -> list[str]:
    code, out, _ = run(capsys, "case", "show", tar, "--json")
    assert code == 0
    return [event["kind"] for event in json.loads(out)["timeline"]]


@pytest.fixture
def denied(capsys) -> str:
    """A demo case denied by dr.morales (not a covered benefit)."""
    code, _, err = run(capsys, "demo", "--cases", "60", "--seed", "13")
    assert code == 0, err
    _, out, _ = run(capsys, "worklist", "--queue", "unassigned", "--user", "nurse.nguyen", "--limit", "40", "--json")
    tar = next(row["tar"] for row in json.loads(out) if row["timing"] == "pre-service")  # nothing ongoing to stop
    assert run(capsys, "case", "claim", tar, "--as", "dr.morales")[0] == 0
    code, _, err = run(capsys, "case", "decide", tar, "--as", "dr.morales", "--outcome", "deny", "--basis", "benefit",
                       "--reason", "Not a benefit", "--member-reason", REASON,
                       "--criteria", "outpatient-physical-therapy@2026.1")
    assert code == 0, err
    return tar


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat()


def file(capsys, tar, *extra):
    return run(capsys, "appeal", "file", tar, "--as", "coord.jones", "--by", "member", "--received", now_text(),
               "--note", "Member called: she needs it", "--specialty", "Orthopaedic Surgery", *extra)


def test_file_decide_show(capsys, denied):
    code, out, err = file(capsys, denied, "--json")
    assert code == 0, err
    filed = json.loads(out)
    assert set(filed) == {"tar", "appeal_id", "status", "expedited", "timely", "days_late", "aid_paid_pending",
                          "reviewer", "resolution_due", "result", "case_status", "case_outcome"}
    assert (filed["tar"], filed["status"], filed["reviewer"], filed["expedited"]) == (denied, "in-review", "dr.ito",
                                                                                      False)
    assert "appeal-filed" in timeline(capsys, denied)
    code, out, err = run(capsys, "appeal", "decide", denied, "--as", "dr.ito", "--result", "overturned",
                         "--reason", "The new records show the need.", "--json")
    assert code == 0, err
    decided = json.loads(out)
    assert (decided["result"], decided["status"], decided["case_outcome"]) == ("overturned", "resolved", "approved")
    code, out, _ = run(capsys, "appeal", "show", denied, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["tar"] == denied and shown["outcome"] == "approved"
    (appeal,) = shown["appeals"]
    assert appeal["result"] == "overturned" and appeal["new_determination_id"]
    assert {l["kind"] for l in appeal["letters"]} == {"appeal-acknowledgement", "appeal-resolution"}
    assert appeal["clocks"]["rule_set"] == "medi-cal-appeals" and appeal["clocks"]["breached"] == []
    assert timeline(capsys, denied)[-3:] == ["reopened", "determined", "appeal-decided"]
    code, out, _ = run(capsys, "appeal", "show", denied)
    assert code == 0 and "overturned" in out and "medi-cal-appeals" in out


def test_refusals_exit_3_and_write_nothing(capsys, denied):
    assert file(capsys, denied)[0] == 0
    before = timeline(capsys, denied)
    code, _, err = file(capsys, denied)
    assert code == 3 and "already has an open appeal" in err
    code, _, err = run(capsys, "appeal", "decide", denied, "--as", "nurse.nguyen", "--result", "overturned",
                       "--reason", "x")
    assert code == 3 and "may not decide an appeal" in err and "Who may: a Medical director" in err
    code, _, err = run(capsys, "appeal", "decide", denied, "--as", "dr.morales", "--result", "upheld",
                       "--reason", "x")
    assert code == 3 and "only they may decide" in err  # it is dr.ito's
    code, _, err = run(capsys, "appeal", "route", denied, "--as", "coord.jones", "--to", "dr.morales")
    assert code == 3 and "dr.morales made the determination under appeal" in err
    code, _, err = run(capsys, "appeal", "file", denied, "--as", "auditor.brown", "--by", "member", "--received",
                       now_text(), "--note", "x")
    assert code == 3 and "Auditor only reads" in err
    assert timeline(capsys, denied) == before


def test_bad_input_exits_2_and_writes_nothing(capsys, denied):
    before = timeline(capsys, denied)
    code, _, err = run(capsys, "appeal", "file", denied, "--as", "coord.jones", "--by", "member", "--received",
                       "yesterday", "--note", "x")
    assert code == 2 and "not an ISO 8601 date-time" in err
    code, _, err = run(capsys, "appeal", "file", denied, "--as", "coord.jones", "--by", "cousin", "--received",
                       now_text(), "--note", "x")
    assert code == 2 and "invalid choice" in err
    code, _, err = file(capsys, denied, "--keep-service")
    assert code == 2 and "aid paid pending" in err
    assert timeline(capsys, denied) == before
    assert file(capsys, denied)[0] == 0
    before = timeline(capsys, denied)
    code, _, err = run(capsys, "appeal", "decide", denied, "--as", "dr.ito", "--result", "upheld", "--reason", "  ")
    assert code == 2 and "give the reason" in err
    code, _, err = run(capsys, "appeal", "decide", denied, "--as", "dr.ito", "--result", "partial", "--reason", "x")
    assert code == 2 and "partial overturn says how many units" in err
    code, _, err = run(capsys, "appeal", "decide", denied, "--as", "dr.ito", "--result", "partial", "--reason", "x",
                       "--units", "one=3")
    assert code == 2 and "LINE=UNITS" in err
    code, _, err = run(capsys, "appeal", "decide", "00000000000", "--as", "dr.ito", "--result", "upheld",
                       "--reason", "x")
    assert code == 2 and "No case with TAR number" in err
    assert timeline(capsys, denied) == before


def test_an_appeal_of_a_case_with_no_adverse_determination_is_refused(capsys, denied):
    _, out, _ = run(capsys, "worklist", "--queue", "unassigned", "--user", "nurse.nguyen", "--limit", "1", "--json")
    undecided = json.loads(out)[0]["tar"]
    code, _, err = file(capsys, undecided)
    assert code == 3 and "no adverse determination" in err
    code, out, _ = run(capsys, "appeal", "show", undecided, "--json")
    assert code == 0 and json.loads(out)["appeals"] == []


def test_queues_tasks_reviewers_and_report(capsys, denied):
    assert file(capsys, denied)[0] == 0
    code, out, _ = run(capsys, "worklist", "--queue", "appeals-due", "--user", "coord.jones", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["tar"] for r in rows] == [denied] and rows[0]["status"] == "Appeal: in review"
    code, out, _ = run(capsys, "worklist", "--queue", "appeals-to-review", "--user", "dr.ito", "--json")
    assert code == 0 and [r["tar"] for r in json.loads(out)] == [denied]
    code, out, _ = run(capsys, "worklist", "--queue", "appeals-to-review", "--user", "coord.jones", "--json")
    assert code == 3  # not a coordinator's queue
    code, out, _ = run(capsys, "appeal", "reviewers", denied, "--json")
    reviewers = {r["username"]: r for r in json.loads(out)["reviewers"]}
    assert reviewers["dr.ito"]["eligible"] and not reviewers["dr.morales"]["eligible"]
    assert "reports to dr.morales" in reviewers["dr.brooks"]["reason"]
    code, out, _ = run(capsys, "appeal", "tasks", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, "appeal", "report", "--from", "2026-01-01", "--to", "2030-12-31", "--json")
    report = json.loads(out)
    assert code == 0 and report["filed"]["appeals"] == 1 and report["resolved"]["appeals"] == 0
    assert report["resolved"]["overturn_rate"] is None
    code, _, err = run(capsys, "appeal", "report", "--from", "2026-02-01", "--to", "2026-01-01")
    assert code == 2 and "before --from" in err


def test_who_reports_to_whom_is_an_administrators_record(capsys, denied):
    code, _, err = run(capsys, "appeal", "set-supervisor", "dr.ito", "--supervisor", "dr.morales", "--as",
                       "coord.jones")
    assert code == 3 and "Only an administrator" in err
    code, _, err = run(capsys, "appeal", "set-supervisor", "dr.shah", "--supervisor", "dr.brooks", "--as", "admin")
    assert code == 2 and "reports to dr.shah" in err  # dr.brooks -> dr.morales -> dr.shah: no loops
    code, out, err = run(capsys, "appeal", "set-supervisor", "dr.ito", "--supervisor", "dr.morales", "--as", "admin")
    assert code == 0, err
    code, _, err = file(capsys, denied)  # dr.ito now reports to the first decider: nobody independent is left
    assert code == 0
    _, out, _ = run(capsys, "appeal", "show", denied, "--json")
    appeal = json.loads(out)["appeals"][0]
    assert appeal["reviewer"] is None and appeal["tasks"][0]["task"] == "assign-reviewer"
    code, _, err = run(capsys, "appeal", "route", denied, "--as", "coord.jones", "--to", "dr.ito")
    assert code == 3 and "dr.ito reports to dr.morales" in err
