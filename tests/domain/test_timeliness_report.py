"""Timeliness rows and CMS-0057-F metrics from hand-made decisions."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from app.domain.timeliness_report import Decision, OpenBreach, cms_metrics, timeliness_rows

T0 = datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc)


def decision(tar, hours, due_hours, *, urgency="routine", timing="pre-service", outcome="approved", lob="medi-cal",
             category="outpatient", extensions=0):
    return Decision(tar, lob, timing, urgency, category, T0, T0 + timedelta(hours=hours),
                    T0 + timedelta(hours=due_hours), outcome, extensions)


def test_rows_count_in_time_and_late_and_open_breaches():
    decisions = [decision("A", 10, 72, urgency="urgent"), decision("B", 72, 72, urgency="urgent"),
                 decision("C", 73, 72, urgency="urgent"), decision("D", 50, 120)]
    breaches = [OpenBreach("E", "medi-cal", "pre-service", "urgent", T0)]
    rows = {row["request_type"]: row for row in timeliness_rows(decisions, breaches)}
    urgent = rows["urgent pre-service"]
    assert (urgent["decided"], urgent["decided_in_time"], urgent["decided_late"]) == (3, 2, 1)
    assert urgent["percent_in_time"] == 66.7
    assert urgent["median_turnaround_hours"] == 72.0
    assert urgent["average_turnaround_hours"] == round((10 + 72 + 73) / 3, 1)
    assert (urgent["open_past_due"], urgent["breaches"]) == (1, 2)
    assert rows["routine pre-service"]["percent_in_time"] == 100.0


def test_a_request_type_with_only_open_breaches_has_a_row():
    rows = timeliness_rows([], [OpenBreach("X", "medicare", "concurrent", "urgent", T0)])
    assert rows == [{"line_of_business": "medicare", "request_type": "urgent concurrent", "decided": 0,
                     "decided_in_time": 0, "percent_in_time": None, "median_turnaround_hours": None,
                     "average_turnaround_hours": None, "decided_late": 0, "open_past_due": 1, "breaches": 1}]


def test_cms_metrics_exclude_drugs_and_post_service_and_split_standard_expedited():
    decisions = [
        decision("1", 24, 120, outcome="approved"),
        decision("2", 30, 120, outcome="approved", extensions=1),
        decision("3", 40, 120, outcome="denied"),
        decision("4", 50, 120, outcome="partially-approved"),
        decision("5", 60, 120, outcome="withdrawn"),
        decision("6", 5, 72, urgency="urgent", outcome="approved"),
        decision("7", 7, 72, urgency="urgent", outcome="denied"),
        decision("8", 1, 72, category="medication", outcome="denied"),
        decision("9", 300, 720, timing="post-service", outcome="denied"),
    ]
    metrics = cms_metrics(decisions, ["72148", "E0260", "72148"])
    assert metrics["items_requiring_prior_authorization"] == ["72148", "E0260"]
    standard, expedited = metrics["standard"], metrics["expedited"]
    assert (standard["requests"], standard["determinations"]) == (5, 4)
    assert (standard["percent_approved"], standard["percent_denied"], standard["percent_partially_approved"]) == \
        (50.0, 25.0, 25.0)
    assert standard["percent_approved_after_extension"] == 25.0
    assert standard["percent_approved_after_appeal"] == 0.0  # none of these approvals came from an appeal
    after_appeal = cms_metrics(decisions[:4] + [replace(decisions[0], tar="10", approved_after_appeal=True)], [])
    assert after_appeal["standard"]["percent_approved_after_appeal"] == 20.0  # 1 of 5 standard determinations
    assert standard["median_decision_hours"] == 40.0 and standard["average_decision_hours"] == 40.8
    assert (expedited["requests"], expedited["percent_approved"], expedited["percent_denied"]) == (2, 50.0, 50.0)
    assert expedited["median_decision_hours"] == 6.0


def test_no_decisions_gives_nulls_not_errors():
    metrics = cms_metrics([], [])
    assert metrics["standard"]["percent_approved"] is None and metrics["expedited"]["median_decision_hours"] is None
