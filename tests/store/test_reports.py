"""The timeliness and CMS reports over demo data agree with an independent count, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from sqlalchemy import select

from app.cli import main
from app.domain.plantime import to_plan
from app.services import demo
from app.store.models import Case
from app.store.reports import cms_report, timeliness_report

NOW = datetime(2026, 11, 20, 20, 0, tzinfo=timezone.utc)


def test_timeliness_report_matches_the_rows(any_store):
    demo.generate(any_store, 600, seed=11, now=NOW)
    first, last = date(2026, 9, 1), date(2026, 11, 20)
    with any_store.session() as session:
        report = timeliness_report(session, first, last, now=NOW)
        cases = session.scalars(select(Case)).all()
    decided = [c for c in cases if c.decided_at and first <= to_plan(c.decided_at).date() <= last]
    assert sum(row["decided"] for row in report["rows"]) == len(decided) > 50
    late = {c.tar for c in decided if c.decided_at > c.decision_due_at}
    open_late = {c.tar for c in cases if c.status != "closed" and c.decided_at is None
                 and c.decision_due_at < NOW and first <= to_plan(c.decision_due_at).date() <= last}
    assert set(report["breached_tars"]) == late | open_late
    assert sum(row["breaches"] for row in report["rows"]) == len(late | open_late)
    assert late, "demo data decides a few cases late, so the report has something to show"


def test_cms_report_counts_only_prior_authorization_non_drug_requests(any_store):
    demo.generate(any_store, 600, seed=12, now=NOW)
    with any_store.session() as session:
        report = cms_report(session, 2026)
        cases = session.scalars(select(Case)).all()
    standard = [c for c in cases if c.decided_at and c.decided_at.year == 2026 and c.urgency == "routine"
                and c.service_category != "medication" and c.review_timing != "post-service"]
    assert report["standard"]["requests"] == len(standard)
    denied = sum(1 for c in standard if c.outcome == "denied")
    determinations = sum(1 for c in standard if c.outcome in ("approved", "partially-approved", "denied"))
    assert report["standard"]["percent_denied"] == round(100 * denied / determinations, 1)


def test_report_cli(capsys):
    assert main(["demo", "--cases", "200", "--seed", "5"]) == 0
    capsys.readouterr()
    assert main(["report", "timeliness", "--from", "2026-01-01", "--to", "2026-12-31", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] and set(report["rows"][0]) >= {"request_type", "decided", "decided_in_time",
                                                         "percent_in_time", "median_turnaround_hours",
                                                         "average_turnaround_hours", "breaches"}
    assert main(["report", "cms-metrics", "--year", "2026", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) >= {"year", "standard", "expedited",
                                                        "items_requiring_prior_authorization"}


def test_report_cli_bad_input(capsys):
    assert main(["report", "timeliness", "--from", "2026-13-01", "--to", "2026-12-31"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["report", "timeliness", "--from", "2026-12-01", "--to", "2026-11-01"]) == 2
    assert "--to is before --from" in capsys.readouterr().err
    assert main(["report", "cms-metrics", "--year", "26"]) == 2
