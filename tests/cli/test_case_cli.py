"""`umws case|users|audit` on the command line: JSON shapes, exit codes, refusals naming who may, audited reads."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.cli import main
from app.services import audit
from app.store.engine import open_local_store
from app.store.models import AuditRecord


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def message(err: str) -> str:
    return "\n".join(line for line in err.splitlines() if "insecure keyring" not in line)


@pytest.fixture
def demo_store(capsys):
    code, _, err = run(capsys, "demo", "--cases", "150", "--seed", "5")
    assert code == 0, err


def unassigned(capsys, user="nurse.nguyen", where=None) -> str:
    """The first case of `user`'s unassigned queue (for which `where(case_show_json)` holds, when given)."""
    code, out, _ = run(capsys, "worklist", "--queue", "unassigned", "--user", user, "--limit", "40", "--json")
    for row in json.loads(out):
        if where is None:
            return row["tar"]
        _, shown, _ = run(capsys, "case", "show", row["tar"], "--json")
        if where(json.loads(shown)):
            return row["tar"]
    raise AssertionError("no such case in the demo data")


def extendable(case: dict) -> bool:
    """A routine Medi-Cal pre-service request whose decision is due more than an hour from now."""
    due = datetime.fromisoformat(case["decision_due_at"])
    return ((case["line_of_business"], case["review_timing"], case["urgency"]) == ("medi-cal", "pre-service",
                                                                                  "routine")
            and (due - datetime.now(timezone.utc)).total_seconds() > 3600)


def test_users_list_json(demo_store, capsys):
    code, out, _ = run(capsys, "users", "list", "--json")
    users = {row["username"]: row for row in json.loads(out)}
    assert code == 0 and isinstance(json.loads(out), list)
    assert users["dr.shah"]["role"] == "medical-director" and users["dr.shah"]["credential"] == "MD"
    assert users["nurse.garcia"]["account"] == "ok" and users["staff.inpatient.1"]["account"] == "no-password"
    assert set(users["admin"]) == {"username", "full_name", "role", "role_label", "team", "credential",
                                   "specialty", "active", "account", "locked_until", "last_sign_in_at"}


def test_case_list_by_status(demo_store, capsys):
    code, out, _ = run(capsys, "case", "list", "--json")
    everything = json.loads(out)
    assert code == 0 and len(everything) == 150
    _, out, _ = run(capsys, "case", "list", "--status", "open", "--json")
    open_cases = json.loads(out)
    _, out, _ = run(capsys, "case", "list", "--status", "closed", "--json")
    closed = json.loads(out)
    assert len(open_cases) + len(closed) == 150 and all(row["status"] != "closed" for row in open_cases)
    _, out, _ = run(capsys, "case", "list", "--status", "pended", "--json")
    assert {row["status"] for row in json.loads(out)} == {"pended"}
    assert set(everything[0]) >= {"tar", "status", "outcome", "member", "service", "due", "assignee"}
    code, _, err = run(capsys, "case", "list", "--status", "lost")
    assert code == 2 and "invalid choice" in err


def test_case_show_json(demo_store, capsys):
    tar = unassigned(capsys)
    code, out, _ = run(capsys, "case", "show", tar, "--json")
    case = json.loads(out)
    assert code == 0 and case["tar"] == tar
    assert case["lines"] and {"line_number", "code", "units"} <= set(case["lines"][0])
    assert case["diagnoses"] and case["member"]["cin"]
    assert set(case["clocks"]) >= {"decision_due", "decision_rule", "notification_due", "member_notice_due",
                                   "breached", "extensions"}
    assert case["timeline"][0]["kind"] == "received"
    code, _, err = run(capsys, "case", "show", "00000000000")
    assert code == 2 and "No case with TAR number" in err


def test_reads_are_audited_under_the_operating_system_user(demo_store, capsys):
    tar = unassigned(capsys)
    run(capsys, "case", "show", tar, "--json")
    run(capsys, "case", "list", "--status", "open", "--json")
    store = open_local_store()
    with store.session() as session:
        views = session.scalars(select(AuditRecord).where(AuditRecord.action == "view")
                                .order_by(AuditRecord.seq)).all()
    store.close()
    assert [(v.what, v.tar, v.actor, v.actor_kind) for v in views] == [
        ("case", tar, audit.os_user(), "os-user"), ("case-list", None, audit.os_user(), "os-user")]


def test_a_nurse_refers_and_the_physician_decides(demo_store, capsys):
    tar = unassigned(capsys)
    code, out, err = run(capsys, "case", "claim", tar, "--as", "nurse.nguyen", "--json")
    assert code == 0 and json.loads(out) == {"tar": tar, "status": "in-review", "assignee": "nurse.nguyen"}
    code, out, err = run(capsys, "case", "decide", tar, "--as", "nurse.nguyen", "--outcome", "deny",
                         "--reason", "not necessary")
    assert code == 3 and out == "" and "Only a physician" in err and "Medical director" in err
    code, out, _ = run(capsys, "case", "refer", tar, "--as", "nurse.nguyen", "--to", "physician",
                       "--note", "Criteria not met: no conservative therapy", "--question", "Deny?", "--json")
    result = json.loads(out)
    assert code == 0 and result["status"] == "referred" and result["assignee"] is None
    code, out, err = run(capsys, "case", "decide", tar, "--as", "dr.shah", "--outcome", "deny", "--reason",
                         "No conservative therapy tried", "--member-reason", "Try physical therapy first.",
                         "--json")
    result = json.loads(out)
    assert code == 0 and result["status"] == "determined" and result["outcome"] == "denied"
    assert result["decided_at"] and result["assignee"] == "dr.shah"
    _, out, _ = run(capsys, "case", "show", tar, "--json")
    case = json.loads(out)
    assert case["determination"]["member_reason"] == "Try physical therapy first."
    assert [e["kind"] for e in case["timeline"]][-3:] == ["claimed", "referred", "determined"]


def test_a_nurse_approves_citing_criteria(demo_store, capsys):
    tar = unassigned(capsys)
    run(capsys, "case", "claim", tar, "--as", "nurse.nguyen")
    code, _, err = run(capsys, "case", "decide", tar, "--as", "nurse.nguyen", "--outcome", "approve",
                       "--reason", "meets criteria")
    assert code == 3 and "criteria" in err
    code, out, err = run(capsys, "case", "decide", tar, "--as", "nurse.nguyen", "--outcome", "approve",
                         "--reason", "meets criteria", "--criteria", "mcg-outpatient@27", "--json")
    assert code == 0, err
    _, out, _ = run(capsys, "case", "show", tar, "--json")
    determination = json.loads(out)["determination"]
    assert determination["criteria"] == [{"set_id": "mcg-outpatient", "version": "27"}]
    assert determination["criteria_result"] == "criteria-met"


def test_partial_approval_by_units(demo_store, capsys):
    tar = unassigned(capsys, where=lambda case: case["lines"][0]["units"] >= 2)
    run(capsys, "case", "claim", tar, "--as", "dr.morales")
    code, _, err = run(capsys, "case", "decide", tar, "--as", "dr.morales", "--outcome", "partial", "--reason", "r")
    assert code == 2 and "how many units" in err
    code, _, err = run(capsys, "case", "decide", tar, "--as", "dr.morales", "--outcome", "partial", "--reason", "r",
                       "--units", "one=two")
    assert code == 2 and "LINE=UNITS" in err
    _, out, _ = run(capsys, "case", "show", tar, "--json")
    units = json.loads(out)["lines"][0]["units"]
    code, out, err = run(capsys, "case", "decide", tar, "--as", "dr.morales", "--outcome", "partial", "--reason",
                         "r", "--units", f"1={units - 1}", "--json")
    assert code == 0, err
    assert json.loads(out)["outcome"] == "partially-approved"
    _, out, _ = run(capsys, "case", "show", tar, "--json")
    line = json.loads(out)["lines"][0]
    assert (line["approved_units"], line["line_outcome"]) == (units - 1, "partially-approved")


def test_pend_and_extend(demo_store, capsys):
    tar = unassigned(capsys, where=extendable)
    run(capsys, "case", "claim", tar, "--as", "nurse.nguyen")
    _, out, _ = run(capsys, "case", "show", tar, "--json")
    due = json.loads(out)["decision_due_at"]
    code, out, _ = run(capsys, "case", "pend", tar, "--as", "nurse.nguyen", "--note", "operative report", "--json")
    assert code == 0 and json.loads(out)["status"] == "pended" and json.loads(out)["decision_due"] == due
    code, _, err = run(capsys, "case", "extend", tar, "--as", "tech.rivera", "--reason", "member-request",
                       "--note", "n")
    assert code == 3 and "Who may" in err
    code, _, err = run(capsys, "case", "extend", tar, "--as", "nurse.nguyen", "--reason", "because",
                       "--note", "n")
    assert code == 2 and "invalid choice" in err
    code, out, err = run(capsys, "case", "extend", tar, "--as", "nurse.nguyen", "--reason", "information-needed",
                         "--note", "records coming from the surgeon", "--json")
    result = json.loads(out)
    assert code == 0 and result["extensions_taken"] == 1 and result["decision_due"] > due
    _, out, _ = run(capsys, "case", "show", tar, "--json")
    assert json.loads(out)["clocks"]["extensions"]["taken"] == 1


def test_extension_after_the_due_is_refused(demo_store, capsys):
    from datetime import timedelta

    from sqlalchemy import select as sql_select

    from app.services.cases import NewCase, NewLine, receive_case
    from app.store.models import Member, Provider

    store = open_local_store()
    try:
        with store.session() as session, session.begin():
            member = session.scalars(sql_select(Member).limit(1)).one()
            provider = session.scalars(sql_select(Provider).limit(1)).one()
            receive_case(session, NewCase(
                tar="70000000001", line_of_business="medi-cal", service_category="dme", review_timing="pre-service",
                urgency="routine", received_at=datetime.now(timezone.utc) - timedelta(days=20), member=member,
                requesting_provider_id=provider.id, lines=[NewLine("E0601", "CPAP", 1)]), actor=None)
    finally:
        store.close()
    run(capsys, "case", "claim", "70000000001", "--as", "nurse.nguyen")
    code, _, err = run(capsys, "case", "extend", "70000000001", "--as", "nurse.nguyen", "--reason", "member-request",
                       "--note", "member asked")
    assert code == 3 and "before the current decision due" in err


def test_exit_codes_for_bad_input(demo_store, capsys):
    tar = unassigned(capsys)
    code, _, err = run(capsys, "case", "claim", tar, "--as", "nobody")
    assert code == 2 and "No user 'nobody'" in err
    code, _, err = run(capsys, "case", "refer", tar, "--as", "nurse.nguyen", "--to", "friend", "--note", "x")
    assert code == 2
    code, _, err = run(capsys, "case", "correct-received", tar, "--as", "lead.patel", "--received", "2026-11-20",
                       "--reason", "r")
    assert code == 2 and "no time of day" in err
    code, _, err = run(capsys, "case", "correct-received", tar, "--as", "nurse.nguyen",
                       "--received", "2026-11-20T09:00", "--reason", "r")
    assert code == 3 and "Nurse lead / supervisor" in message(err)


def test_actions_lists_what_a_user_may_do(demo_store, capsys):
    tar = unassigned(capsys)
    code, out, _ = run(capsys, "case", "actions", tar, "--as", "coord.jones", "--json")
    actions = json.loads(out)["actions"]
    assert code == 0 and actions["claim"]["allowed"] is False and "does not review" in actions["claim"]["reason"]
    assert actions["approve"]["allowed"] is False and "medical-director" in actions["approve"]["who"]


def test_audit_verify_and_show_on_the_command_line(demo_store, capsys):
    tar = unassigned(capsys)
    run(capsys, "case", "claim", tar, "--as", "nurse.nguyen")
    code, out, _ = run(capsys, "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = run(capsys, "audit", "show", "--case", tar, "--json")
    history = json.loads(out)
    assert code == 0 and [r["what"] for r in history] == ["claimed"]
    assert history[0]["before"] == {"assignee": None, "status": "received"}
    assert history[0]["after"] == {"assignee": "nurse.nguyen", "status": "in-review"}


def test_users_set_password_and_unlock(demo_store, capsys, monkeypatch):
    import io

    from app.services import auth

    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new passphrase\n"))
    code, _, err = run(capsys, "users", "set-password", "nurse.chen", "--as", "lead.patel", "--password-stdin")
    assert code == 3 and "Administrator" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new passphrase\n"))
    code, _, err = run(capsys, "users", "set-password", "nurse.chen", "--as", "admin", "--password-stdin")
    assert code == 0, err
    store = open_local_store()
    try:
        assert auth.sign_in(store, "nurse.chen", "a brand new passphrase").username == "nurse.chen"
    finally:
        store.close()
    code, _, _ = run(capsys, "users", "unlock", "nurse.chen", "--as", "admin")
    assert code == 0
