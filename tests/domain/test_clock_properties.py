"""Properties of the clock engine over generated requests (hypothesis), and independence from the machine's
time zone (the same computations in subprocesses under TZ=UTC and TZ=Asia/Tokyo)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.clocks import (
    CATEGORIES,
    LINES_OF_BUSINESS,
    TIMINGS,
    URGENCIES,
    ClockRequest,
    clocks_by_rule_set,
    compute_clocks,
    decision_due_for,
    default_rule_book,
    extension_limit_for,
    open_dues_for,
)

LA = ZoneInfo("America/Los_Angeles")
REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)  # 2026-01-01 00:00 PT: every rule set in force
SPAN_SECONDS = 4 * 366 * 86400  # into 2029, across leap day 2028 and eight DST changes

instants = st.integers(min_value=0, max_value=SPAN_SECONDS).map(lambda s: START + timedelta(seconds=s))
zones = st.sampled_from([timezone.utc, LA, ZoneInfo("Asia/Tokyo"), timezone(timedelta(hours=-5))])


@st.composite
def requests(draw):
    received = draw(instants).astimezone(draw(zones))
    return ClockRequest(
        lob=draw(st.sampled_from(LINES_OF_BUSINESS)),
        timing=draw(st.sampled_from(TIMINGS)),
        urgency=draw(st.sampled_from(URGENCIES)),
        category=draw(st.sampled_from(CATEGORIES)),
        received=received,
    )


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(req=requests(), decided_after=st.none() | st.integers(min_value=0, max_value=40 * 86400))
def test_no_due_before_receipt(req, decided_after):
    decided = None if decided_after is None else req.received + timedelta(seconds=decided_after)
    clocks = compute_clocks(req, decided=decided, now=req.received)
    assert clocks.deemed_received >= req.received
    assert clocks.decision_due > req.received
    for due in (clocks.notification_due, clocks.member_notice_due):
        assert due is None or due > req.received
    assert clocks.breached == () or decided is not None  # nothing is past due at the moment of receipt


@PROPERTY_SETTINGS
@given(req=requests())
def test_extensions_never_shorten_a_due(req):
    limit = extension_limit_for(req)
    dues = [decision_due_for(req, n) for n in range(limit + 1)]
    assert dues == sorted(dues)
    for n in range(limit + 1):
        assert compute_clocks(req, extensions=n, now=req.received).decision_due == dues[n]


@PROPERTY_SETTINGS
@given(req=requests())
def test_open_dues_are_the_undecided_clocks_of_compute_clocks(req):
    for n in range(extension_limit_for(req) + 1):
        clocks = compute_clocks(req, extensions=n, now=req.received)
        assert open_dues_for(req, n) == (clocks.decision_due, clocks.notification_due, clocks.member_notice_due)


@PROPERTY_SETTINGS
@given(req=requests(), decided_after=st.none() | st.integers(min_value=0, max_value=40 * 86400))
def test_each_clock_is_the_earliest_of_the_applicable_rule_sets(req, decided_after):
    decided = None if decided_after is None else req.received + timedelta(seconds=decided_after)
    clocks = compute_clocks(req, decided=decided, now=req.received)
    per_set = clocks_by_rule_set(req, decided=decided)
    assert tuple(c.rule_set for c in per_set) == clocks.rule_sets
    for name in ("decision", "notification", "member_notice"):
        dues = [(getattr(c, f"{name}_due"), c.rule_set) for c in per_set if getattr(c, f"{name}_due") is not None]
        if not dues:
            assert clocks.due(name) is None and clocks.rule(name) is None
            continue
        earliest = min(due for due, _ in dues)
        assert clocks.due(name) == earliest
        first_with_earliest = next(rule for due, rule in dues if due == earliest)
        assert clocks.rule(name) == first_with_earliest


@PROPERTY_SETTINGS
@given(req=requests())
def test_day_clocks_end_at_23_59_59_plan_time_and_hour_clocks_are_elapsed(req):
    book = default_rule_book()
    clocks = compute_clocks(req, now=req.received)
    applied = next(a for a in book.applicable_to(req) if a.rule_set.id == clocks.decision_rule)
    local = clocks.decision_due.astimezone(LA)
    if applied.row.decision.is_elapsed:
        start = clocks.deemed_received if applied.deems else req.received
        assert clocks.decision_due - start.astimezone(timezone.utc) == applied.row.decision.delta
    else:
        assert (local.hour, local.minute, local.second) == (23, 59, 59)


@PROPERTY_SETTINGS
@given(req=requests())
def test_deemed_receipt_is_within_business_hours_or_the_receipt(req):
    clocks = compute_clocks(req, now=req.received)
    cal = default_rule_book().calendar
    if clocks.deemed_received != req.received:
        assert clocks.rule_sets[0] == "dhcs-medi-cal"
        assert cal.is_business_hours(clocks.deemed_received)
        local = clocks.deemed_received.astimezone(LA)
        assert (local.hour, local.minute, local.second) == (8, 0, 0)
        assert not cal.is_business_hours(req.received)


# ----- machine time zone --------------------------------------------------------------------------------
SCRIPT = textwrap.dedent(
    """
    import json, random, time
    from datetime import datetime, timedelta, timezone
    from app.domain.clocks import (CATEGORIES, LINES_OF_BUSINESS, TIMINGS, URGENCIES, ClockRequest,
                                   compute_clocks, NoRuleSetApplies)
    from app.cli import ArgumentParser
    from app.cli import deadlines

    rng = random.Random(20260101)
    start = datetime(2025, 12, 1, tzinfo=timezone.utc)
    out = {"tz": time.tzname[0], "clocks": [], "naive": []}
    for _ in range(400):
        received = start + timedelta(seconds=rng.randrange(0, 3 * 366 * 86400))
        req = ClockRequest(rng.choice(LINES_OF_BUSINESS), rng.choice(TIMINGS), rng.choice(URGENCIES),
                           rng.choice(CATEGORIES), received)
        decided = received + timedelta(hours=rng.randrange(0, 400)) if rng.random() < 0.5 else None
        try:
            clocks = compute_clocks(req, decided=decided, now=received + timedelta(days=5))
        except NoRuleSetApplies:
            out["clocks"].append(None)
            continue
        out["clocks"].append(clocks.to_json())
    # naive command-line date-times are plan time whatever the machine's zone
    for text in ("2026-03-08T01:30", "2026-11-01T01:30", "2026-06-09T10:00"):
        out["naive"].append(deadlines.parse_instant(text, "--received").isoformat())
    print(json.dumps(out))
    """
)


def run_under(tz: str) -> dict:
    env = dict(os.environ, TZ=tz, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not hasattr(__import__("time"), "tzset"), reason="TZ switching needs time.tzset (POSIX)")
def test_results_do_not_depend_on_the_machine_time_zone():
    utc = run_under("UTC")
    tokyo = run_under("Asia/Tokyo")
    assert utc["tz"] != tokyo["tz"]  # the subprocesses really ran in different zones
    assert utc["clocks"] == tokyo["clocks"]
    assert utc["naive"] == tokyo["naive"] == [
        "2026-03-08T01:30:00-08:00", "2026-11-01T01:30:00-07:00", "2026-06-09T10:00:00-07:00"]
    assert sum(c is not None for c in utc["clocks"]) > 300
