"""The committee's figures equal plain SQL counts on demo data; the packet's PDF holds every section; nothing per
reviewer is about denials (issue 14, scopes 4-6)."""
from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from app.domain.committee import Filters
from app.domain.plantime import to_plan
from app.domain.reviewer_figures import ReviewerFigureRefused, denial_figures_about_reviewers, reviewer_row
from app.letters.committee_packet import render_packet
from app.services import demo
from app.services.demo_oversight import work_demo_audit
from app.store.committee import SECTIONS, build
from app.store.reports import timeliness_report

NOW = datetime.now(timezone.utc)
YEAR = to_plan(NOW).year


@pytest.fixture
def store(any_store):
    demo.generate(any_store, 800, seed=11, now=NOW)
    return any_store


def year_filters(**kwargs) -> Filters:
    return Filters(date(YEAR, 1, 1), date(YEAR, 12, 31), **kwargs)


def bounds(session):
    start = datetime(YEAR, 1, 1, 8, tzinfo=timezone.utc)  # midnight PT (PST) as stored, naive UTC on SQLite
    end = datetime(YEAR + 1, 1, 1, 8, tzinfo=timezone.utc)
    if session.get_bind().dialect.name == "sqlite":
        return start.replace(tzinfo=None), end.replace(tzinfo=None)
    return start, end


def test_volumes_and_decisions_equal_sql_counts(store):
    with store.session() as session:
        dashboard = build(session, year_filters(), NOW)
        start, end = bounds(session)
        received = dict(((c, lob), n) for c, lob, n in session.execute(text(
            "SELECT service_category, line_of_business, count(*) FROM cases WHERE received_at >= :s AND "
            "received_at < :e GROUP BY 1, 2"), {"s": start, "e": end}))
        decided = dict(((o, lob), n) for o, lob, n in session.execute(text(
            "SELECT outcome, line_of_business, count(*) FROM cases WHERE decided_at >= :s AND decided_at < :e "
            "GROUP BY 1, 2"), {"s": start, "e": end}))
        team = build(session, year_filters(team="pharmacy", line_of_business="medi-cal"), NOW)
        pharmacy = session.execute(text(
            "SELECT count(*) FROM cases WHERE team = 'pharmacy' AND line_of_business = 'medi-cal' AND "
            "received_at >= :s AND received_at < :e"), {"s": start, "e": end}).scalar()
    volumes = {(r["service_category"], r["line_of_business"]): r["received"]
               for r in dashboard.figures["volumes"]["rows"]}
    assert volumes == received and sum(received.values()) > 0
    assert {(r["outcome"], r["line_of_business"]): r["decided"]
            for r in dashboard.figures["decisions"]["rows"]} == decided
    assert team.figures["volumes"]["total"] == pharmacy
    assert {r["service_category"] for r in team.figures["volumes"]["rows"]} == {"medication"}
    # the tables show the same numbers
    view = next(v for v in dashboard.views if v.id == "volumes")
    assert view.panels[0].table.total["total"] == sum(received.values())


@pytest.mark.parametrize("first, last", [((1, 1), (12, 31)), ((10, 1), (12, 31)), ((11, 1), (11, 30))],
                         ids=["year", "last-quarter", "a-month"])
def test_timeliness_agrees_with_the_clocks_report(store, first, last):
    first, last = date(YEAR, *first), date(YEAR, *last)
    with store.session() as session:
        dashboard = build(session, Filters(first, last), NOW, only=("timeliness",))
        report = timeliness_report(session, first, last, NOW)
    assert sum(r["decided"] for r in report["rows"]) > 0
    decision = [r for r in dashboard.figures["timeliness"]["rows"] if r["clock"] == "decision"]
    assert sum(r["counted"] for r in decision) == sum(r["decided"] for r in report["rows"])
    assert sum(r["in_time"] for r in decision) == sum(r["decided_in_time"] for r in report["rows"])
    assert sum(r["open_past_due"] for r in decision) == sum(r["open_past_due"] for r in report["rows"])
    by_type: dict[str, int] = {}
    for row in report["rows"]:
        by_type[row["request_type"]] = by_type.get(row["request_type"], 0) + row["decided"]
    for request_type, n in by_type.items():
        assert sum(r["counted"] for r in decision if r["request_type"] == request_type) == n
    medicare = {tuple(r["rule_sets"]) for r in decision if "medicare-2026" in r["rule_sets"]}
    assert medicare == {("medicare-2026",)}  # rule sets named from the clock engine's rule book


def test_a_quarters_timeliness_reads_only_its_range_of_the_period_index(local_store):
    """SQLite: the decisions of the quarter and its open past due cases are ranges of ix_cases_timeliness_period
    (migration 0019), no whole-index scan and no case row read."""
    from sqlalchemy import event

    demo.generate(local_store, 50, seed=12, now=NOW)
    statements = []

    def caught(connection, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(local_store.engine, "before_cursor_execute", caught)
    try:
        with local_store.session() as session:
            build(session, Filters(date(YEAR, 10, 1), date(YEAR, 12, 31)), NOW, only=("timeliness",))
    finally:
        event.remove(local_store.engine, "before_cursor_execute", caught)
    with local_store.session() as session:
        raw = session.connection().connection.dbapi_connection
        plans = [" ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
                 for statement, parameters in statements if "FROM cases" in statement]
    assert len(plans) >= 2 and all(
        "SEARCH cases USING COVERING INDEX ix_cases_timeliness_period (decided_at" in plan for plan in plans), plans


def test_pended_overturns_and_utilization_equal_sql_counts(store):
    with store.session() as session:
        dashboard = build(session, year_filters(), NOW, only=("pended", "overturns", "utilization"))
        start, end = bounds(session)
        pended = session.execute(text("SELECT count(*) FROM cases WHERE status = 'pended'")).scalar()
        calls = dict(session.execute(text(
            "SELECT result, count(*) FROM p2p_requests WHERE held_at >= :s AND held_at < :e GROUP BY 1"),
            {"s": start, "e": end}).all())
        resolved = dict(session.execute(text(
            "SELECT result, count(*) FROM appeals WHERE resolved_at >= :s AND resolved_at < :e GROUP BY 1"),
            {"s": start, "e": end}).all())
        dismissed = session.execute(text(
            "SELECT count(*) FROM appeals WHERE status = 'dismissed' AND updated_at >= :s AND updated_at < :e"),
            {"s": start, "e": end}).scalar()
        first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
        from app.store.stay_figures import stay_figures

        stays = stay_figures(session, first, last, to_plan(NOW).date())
        snf_days = session.execute(text(
            "SELECT count(*) FROM stay_days d JOIN stays s ON s.id = d.stay_id WHERE d.day BETWEEN :a AND :b "
            "AND d.level_of_care = 'snf' AND d.status <> 'not-used' AND NOT d.on_leave "
            "AND (s.discharge_date IS NULL OR d.day < s.discharge_date OR d.day = s.admit_date)"),
            {"a": first, "b": min(last, to_plan(NOW).date())}).scalar()
    assert dashboard.figures["pended"]["total"] == pended > 0
    p2p, appeal = dashboard.figures["overturns"]["channels"]
    assert (p2p["decided"], p2p["upheld"], p2p["overturned"], p2p["partly_overturned"]) == (
        sum(calls.values()), calls.get("upheld", 0), calls.get("overturned", 0), calls.get("modified", 0))
    assert (appeal["decided"], appeal["upheld"], appeal["overturned"], appeal["partly_overturned"]) == (
        sum(resolved.values()), resolved.get("upheld", 0), resolved.get("overturned", 0),
        resolved.get("partially-overturned", 0))
    assert appeal["closed_undecided"] == dismissed
    assert p2p["decided"] > 0 and appeal["decided"] > 0 and p2p["upheld"] > 0  # the demo has calls and appeals
    total = dashboard.figures["utilization"]["total"]
    for key in ("member_months", "admits", "bed_days", "discharges", "alos", "days_denied", "readmissions"):
        assert total[key] == stays[key], key
    assert total["admits"] > 0 and total["snf_days"] == snf_days > 0
    levels = {r["level_of_care"]: (r["discharges"], r["alos"]) for r in dashboard.figures["utilization"]["levels"]
              if r["discharges"]}
    assert levels == {r["level_of_care"]: (r["stays"], r["alos"]) for r in stays["alos_by_level"]}


def test_the_packet_holds_every_section_with_page_numbers_and_the_date(store):
    work_demo_audit(store, YEAR)
    with store.session() as session:
        dashboard = build(session, year_filters(), NOW)
    pdf = render_packet(dashboard.views, dashboard.filters, dashboard.prepared_at)
    reader = PdfReader(io.BytesIO(pdf))
    pages = [page.extract_text() for page in reader.pages]
    whole = "\n".join(pages)
    for title in ("Volumes", "Decisions", "Timeliness", "Overturns (P2P and appeals)", "Utilization",
                  "Inter-rater reliability", "Pended for information"):
        assert title in whole
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))
    assert f"Prepared {to_plan(NOW):%m/%d/%Y}" in pages[0] and "Date of preparation" in pages[0]
    total = next(v for v in dashboard.views if v.id == "volumes").panels[0].table.total["total"]
    assert f"{total:,}" in whole
    assert "corrective action plans open" in whole


def test_no_per_reviewer_denial_figures_anywhere(store):
    work_demo_audit(store, YEAR)
    from app.services.irr import preview_sample
    from app.store.irr_queries import irr_report

    with store.session() as session:
        documents = {
            "dashboard": build(session, year_filters(), NOW).to_json(),
            "irr report": irr_report(session, YEAR),
            "sample": preview_sample(session, YEAR, 3),
        }
    for name, document in documents.items():
        assert denial_figures_about_reviewers(json.loads(json.dumps(document, default=str))) == [], name
    # the guard finds what it guards against
    forged = {"reviewers": [{"username": "dr.x", "denials": 3}, {"reviewer": "n", "figures": {"outcome": "x"}}]}
    assert len(denial_figures_about_reviewers(forged)) == 2
    with pytest.raises(ReviewerFigureRefused, match="denied_count"):
        reviewer_row(username="dr.x", denied_count=4)
    # and no section of the committee's is about one reviewer
    assert not any("reviewer" in s.id for s in SECTIONS)
