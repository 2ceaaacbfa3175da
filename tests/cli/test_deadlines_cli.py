"""`umws deadlines`: JSON and table output, exit code 2 on bad input, and no store touched.

Expected values are hand-computed (see tests/domain/test_clocks.py for the counting conventions).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import app.cli
from app.cli import ArgumentParser

REPO = Path(__file__).resolve().parents[1]
JSON_KEYS = ["rule_sets", "deemed_received", "decision_due", "decision_rule", "notification_due",
             "member_notice_due", "breached"]


def _deadlines_only_parser() -> ArgumentParser:
    from app.cli import deadlines

    parser = ArgumentParser(prog="umws")
    sub = parser.add_subparsers(dest="command", parser_class=ArgumentParser)
    sub.required = True
    deadlines.register(sub)
    return parser


@pytest.fixture
def umws(monkeypatch, tmp_path, capsys):
    """Run `umws ...` in-process through app.cli.main; returns (exit code, stdout, stderr).

    UMWS_HOME points at an empty directory that must stay empty (the command needs no store). When a sibling
    command module is missing while others work on it, only `deadlines` is registered.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("UMWS_HOME", str(home))
    try:
        app.cli.build_parser()
    except ImportError:
        monkeypatch.setattr(app.cli, "build_parser", _deadlines_only_parser)

    def run(*argv: str):
        code = app.cli.main(["deadlines", *argv])
        out, err = capsys.readouterr()
        assert list(home.iterdir()) == [], "umws deadlines must not create a store"
        return code, out, err

    return run


def test_json_routine_friday_after_hours(umws):
    code, out, err = umws("--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine",
                          "--received", "2026-11-20T17:01:00-08:00", "--now", "2026-11-25T12:00-08:00", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert list(result) == JSON_KEYS
    assert result == {
        "rule_sets": ["dhcs-medi-cal", "federal-medicaid-2026"],
        "deemed_received": "2026-11-23T08:00:00-08:00",
        "decision_due": "2026-11-27T23:59:59-08:00",  # federal: Fri 11-20 + 7; dhcs would be 12-02
        "decision_rule": "federal-medicaid-2026",
        "notification_due": "2026-11-27T23:59:59-08:00",
        "member_notice_due": "2026-11-27T23:59:59-08:00",
        "breached": [],
    }


def test_json_naive_received_is_plan_time(umws):
    code, out, _ = umws("--lob", "medicare", "--timing", "pre-service", "--urgency", "urgent",
                        "--category", "medication", "--received", "2026-03-07T12:00", "--now", "2026-03-09T00:00",
                        "--json")
    assert code == 0
    result = json.loads(out)
    assert result["deemed_received"] == "2026-03-07T12:00:00-08:00"
    assert result["decision_due"] == "2026-03-08T13:00:00-07:00"  # Part B 24 h across the spring change
    assert result["notification_due"] == result["member_notice_due"] == "2026-03-08T13:00:00-07:00"
    assert result["breached"] == ["decision", "notification", "member_notice"]


def test_json_utc_input_and_decided_and_extensions(umws):
    # 2026-06-09T17:00Z = 10:00 PDT; one extension: dhcs 14 days -> 06-23; decided Mon 06-22 15:00 PDT
    code, out, _ = umws("--lob", "medi-cal", "--timing", "concurrent", "--urgency", "routine",
                        "--received", "2026-06-09T17:00:00Z", "--decided", "2026-06-22T15:00:00-07:00",
                        "--extensions", "1", "--now", "2026-06-23T12:00-07:00", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["decision_due"] == "2026-06-23T23:59:59-07:00"
    assert result["decision_rule"] == "dhcs-medi-cal"
    assert result["notification_due"] == "2026-06-23T15:00:00-07:00"  # 24 h after the decision
    assert result["member_notice_due"] == "2026-06-24T23:59:59-07:00"  # Mon 06-22 + 2 business days
    assert result["breached"] == []


def test_json_post_stabilization_missed(umws):
    code, out, _ = umws("--lob", "medi-cal", "--timing", "post-stabilization", "--urgency", "urgent",
                        "--received", "2026-06-13T03:00-07:00", "--now", "2026-06-13T03:31-07:00", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["decision_due"] == "2026-06-13T03:30:00-07:00"
    assert result["member_notice_due"] is None
    assert result["breached"] == ["decision", "notification"]


def test_table_output(umws):
    code, out, _ = umws("--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine",
                        "--category", "medication", "--received", "2026-11-20T17:01-08:00",
                        "--now", "2026-12-03T09:00-08:00")
    assert code == 0
    assert "Decision due       Wed 12/02/2026 11:59 PM PT  dhcs-medi-cal" in out
    assert "Deemed received    Mon 11/23/2026 8:00 AM PT" in out
    assert "decision, member_notice" in out
    assert not out.lstrip().startswith("{")


def test_post_stabilization_table_says_deemed_authorized(umws):
    code, out, _ = umws("--lob", "medicare", "--timing", "post-stabilization", "--urgency", "urgent",
                        "--received", "2026-06-09T10:00-07:00", "--now", "2026-06-09T11:01-07:00")
    assert code == 0
    assert "Deemed authorized" in out


@pytest.mark.parametrize("argv, message", [
    (["--lob", "medicaid", "--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09T10:00"],
     "--lob"),
    (["--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09T10:00"], "--lob"),
    (["--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine", "--received", "next tuesday"],
     "ISO 8601"),
    (["--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09"],
     "no time of day"),
    (["--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09T10:00",
      "--decided", "2026-06-09T09:00"], "before received"),
    (["--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09T10:00",
      "--extensions", "two"], "--extensions"),
    (["--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09T10:00",
      "--extensions", "-1"], "--extensions"),
    (["--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09T10:00",
      "--extensions", "3"], "at most 2"),
    (["--lob", "medi-cal", "--timing", "post-service", "--urgency", "routine", "--received", "2026-06-09T10:00",
      "--extensions", "1"], "never extended"),
    (["--lob", "medicare", "--timing", "pre-service", "--urgency", "routine", "--received", "2025-06-09T10:00"],
     "no rule set"),
    (["--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine", "--received", "2026-06-09T10:00",
      "--now", "soon"], "--now"),
])
def test_bad_input_exits_2_with_a_message(umws, argv, message):
    code, out, err = umws(*argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert err.startswith("umws: ")


def test_the_module_imports_nothing_from_the_store():
    script = "import sys, app.cli.deadlines; print(sorted(m for m in sys.modules if m.startswith('app.store')))"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_readme_example_is_what_the_command_prints(capsys):
    """The README shows `umws deadlines` output for a Friday-afternoon request; it must stay true."""
    readme = (REPO.parent / "README.md").read_text()
    example = readme.split("governs:\n\n```json\n", 1)[1].split("\n```", 1)[0]
    code = app.cli.main(["deadlines", "--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine",
                         "--received", "2026-11-20T16:30-08:00", "--now", "2026-11-23T09:00-08:00", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == json.loads(example)
