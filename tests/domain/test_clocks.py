"""Regulatory clock engine: every row of every rule set, earliest-wins, deeming, holidays, DST, leap days,
year ends, extensions, notices and breaches.

Every expected value is hand-computed (comments show the counting); none is produced by the engine itself.
Calendar facts used: 2026-03-08 and 2026-11-01 are the DST changes; Thanksgiving 2026 is Thu 11-26; Juneteenth
2026 is Fri 06-19; Independence Day 2026 is observed Fri 07-03; New Year's Day 2028 is observed Fri 2027-12-31;
2028-02-29 is a Tuesday.
"""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.domain.clocks import (
    RULESETS_FILE,
    ClockError,
    ClockRequest,
    ExtensionRefused,
    NoRuleSetApplies,
    RuleDataError,
    check_extension,
    clocks_by_rule_set,
    compute_clocks,
    decision_due_for,
    extension_limit_for,
    load_rule_book,
    rule_book_from_data,
)

LA = ZoneInfo("America/Los_Angeles")
DHCS, FED, MCARE = "dhcs-medi-cal", "federal-medicaid-2026", "medicare-2026"
FAR_PAST = datetime(2000, 1, 1, tzinfo=timezone.utc)


def at(text: str) -> datetime:
    """An aware instant from an ISO string that carries its offset."""
    instant = datetime.fromisoformat(text)
    assert instant.tzinfo is not None, text
    return instant


def show(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(LA).isoformat()


def request(lob: str, timing: str, urgency: str, received: str, category: str = "other") -> ClockRequest:
    return ClockRequest(lob, timing, urgency, category, at(received))


# ----- every row of every rule set, before a decision ---------------------------------------------------
# (lob, timing, urgency, category, received, rule_sets, deemed_received, decision_due, decision_rule,
#  notification_due, member_notice_due)
ROWS = {
    # dhcs-medi-cal alone: received in 2025, before the federal rule set's effective date
    "dhcs urgent pre-service 72h": (
        "medi-cal", "pre-service", "urgent", "other", "2025-06-10T10:00-07:00", (DHCS,),
        "2025-06-10T10:00:00-07:00", "2025-06-13T10:00:00-07:00", DHCS,
        "2025-06-13T10:00:00-07:00",  # notification capped at 72 h of receipt
        "2025-06-13T23:59:59-07:00"),  # untimely-decision notice: the day the timeframe expires
    "dhcs urgent concurrent 72h": (
        "medi-cal", "concurrent", "urgent", "other", "2025-06-10T10:00-07:00", (DHCS,),
        "2025-06-10T10:00:00-07:00", "2025-06-13T10:00:00-07:00", DHCS,
        "2025-06-13T10:00:00-07:00", "2025-06-13T23:59:59-07:00"),
    "dhcs routine pre-service 5 business days": (  # Tue: W11 T12 F13 M16 T17
        "medi-cal", "pre-service", "routine", "other", "2025-06-10T10:00-07:00", (DHCS,),
        "2025-06-10T10:00:00-07:00", "2025-06-17T23:59:59-07:00", DHCS,
        None, "2025-06-17T23:59:59-07:00"),
    "dhcs routine concurrent = routine pre-service": (
        "medi-cal", "concurrent", "routine", "other", "2025-06-10T10:00-07:00", (DHCS,),
        "2025-06-10T10:00:00-07:00", "2025-06-17T23:59:59-07:00", DHCS,
        None, "2025-06-17T23:59:59-07:00"),
    "dhcs post-service 30 calendar days": (
        "medi-cal", "post-service", "routine", "other", "2025-06-10T10:00-07:00", (DHCS,),
        "2025-06-10T10:00:00-07:00", "2025-07-10T23:59:59-07:00", DHCS,
        "2025-07-10T23:59:59-07:00", "2025-07-10T23:59:59-07:00"),
    "dhcs post-stabilization 30 minutes": (
        "medi-cal", "post-stabilization", "urgent", "other", "2025-06-10T10:00-07:00", (DHCS,),
        "2025-06-10T10:00:00-07:00", "2025-06-10T10:30:00-07:00", DHCS,
        "2025-06-10T10:30:00-07:00", None),
    "dhcs drug urgent (federal excludes drugs)": (
        "medi-cal", "pre-service", "urgent", "medication", "2026-06-09T10:00-07:00", (DHCS,),
        "2026-06-09T10:00:00-07:00", "2026-06-12T10:00:00-07:00", DHCS,
        "2026-06-12T10:00:00-07:00", "2026-06-12T23:59:59-07:00"),
    "dhcs drug routine (federal excludes drugs)": (  # Tue: W10 T11 F12 M15 T16
        "medi-cal", "pre-service", "routine", "medication", "2026-06-09T10:00-07:00", (DHCS,),
        "2026-06-09T10:00:00-07:00", "2026-06-16T23:59:59-07:00", DHCS,
        None, "2026-06-16T23:59:59-07:00"),
    "dhcs post-service 2026 (federal excludes post-service)": (
        "medi-cal", "post-service", "routine", "other", "2026-06-09T10:00-07:00", (DHCS,),
        "2026-06-09T10:00:00-07:00", "2026-07-09T23:59:59-07:00", DHCS,
        "2026-07-09T23:59:59-07:00", "2026-07-09T23:59:59-07:00"),
    "dhcs post-stabilization 2026 (federal excludes it)": (
        "medi-cal", "post-stabilization", "urgent", "other", "2026-06-09T10:00-07:00", (DHCS,),
        "2026-06-09T10:00:00-07:00", "2026-06-09T10:30:00-07:00", DHCS,
        "2026-06-09T10:30:00-07:00", None),
    # federal-medicaid-2026 together with dhcs-medi-cal: the earlier due wins
    "federal standard 7 days beats deemed dhcs 5 business days": (
        # Sat 03-14: dhcs deemed Mon 03-16 08:00 -> T17 W18 T19 F20 M23; federal Sat+7 = Sat 03-21
        "medi-cal", "pre-service", "routine", "other", "2026-03-14T10:00-07:00", (DHCS, FED),
        "2026-03-16T08:00:00-07:00", "2026-03-21T23:59:59-07:00", FED,
        "2026-03-21T23:59:59-07:00",  # federal: notice within the decision timeframe
        "2026-03-21T23:59:59-07:00"),
    "federal concurrent routine ties dhcs: first listed named": (  # Tue 06-09: both end Tue 06-16
        "medi-cal", "concurrent", "routine", "other", "2026-06-09T10:00-07:00", (DHCS, FED),
        "2026-06-09T10:00:00-07:00", "2026-06-16T23:59:59-07:00", DHCS,
        "2026-06-16T23:59:59-07:00", "2026-06-16T23:59:59-07:00"),
    "federal expedited 72h ties dhcs urgent": (
        "medi-cal", "pre-service", "urgent", "other", "2026-06-09T10:00-07:00", (DHCS, FED),
        "2026-06-09T10:00:00-07:00", "2026-06-12T10:00:00-07:00", DHCS,
        "2026-06-12T10:00:00-07:00",
        "2026-06-12T10:00:00-07:00"),  # federal member notice within 72 h beats dhcs end of day
    "federal 7 days beats dhcs across Thanksgiving": (
        # Tue 11-24: dhcs W25 (Th26 F27 holidays) M30 T1 W2 Th3 -> 12-03; federal 12-01
        "medi-cal", "pre-service", "routine", "other", "2026-11-24T10:00-08:00", (DHCS, FED),
        "2026-11-24T10:00:00-08:00", "2026-12-01T23:59:59-08:00", FED,
        "2026-12-01T23:59:59-08:00", "2026-12-01T23:59:59-08:00"),
    # medicare-2026
    "medicare standard 7 calendar days, Saturday receipt not deemed": (
        "medicare", "pre-service", "routine", "other", "2026-03-14T10:00-07:00", (MCARE,),
        "2026-03-14T10:00:00-07:00", "2026-03-21T23:59:59-07:00", MCARE,
        "2026-03-21T23:59:59-07:00", "2026-03-21T23:59:59-07:00"),
    "medicare standard concurrent": (
        "medicare", "concurrent", "routine", "other", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-06-16T23:59:59-07:00", MCARE,
        "2026-06-16T23:59:59-07:00", "2026-06-16T23:59:59-07:00"),
    "medicare expedited 72h": (
        "medicare", "pre-service", "urgent", "other", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-06-12T10:00:00-07:00", MCARE,
        "2026-06-12T10:00:00-07:00", "2026-06-12T10:00:00-07:00"),
    "medicare expedited concurrent 72h": (
        "medicare", "concurrent", "urgent", "other", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-06-12T10:00:00-07:00", MCARE,
        "2026-06-12T10:00:00-07:00", "2026-06-12T10:00:00-07:00"),
    "medicare Part B drug standard 72h": (
        "medicare", "pre-service", "routine", "medication", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-06-12T10:00:00-07:00", MCARE,
        "2026-06-12T10:00:00-07:00", "2026-06-12T10:00:00-07:00"),
    "medicare Part B drug expedited 24h": (
        "medicare", "pre-service", "urgent", "medication", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-06-10T10:00:00-07:00", MCARE,
        "2026-06-10T10:00:00-07:00", "2026-06-10T10:00:00-07:00"),
    "medicare post-service 30 days": (
        "medicare", "post-service", "routine", "other", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-07-09T23:59:59-07:00", MCARE,
        "2026-07-09T23:59:59-07:00", "2026-07-09T23:59:59-07:00"),
    "medicare post-service drug 30 days": (
        "medicare", "post-service", "routine", "medication", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-07-09T23:59:59-07:00", MCARE,
        "2026-07-09T23:59:59-07:00", "2026-07-09T23:59:59-07:00"),
    "medicare post-stabilization 1 hour": (
        "medicare", "post-stabilization", "urgent", "other", "2026-06-09T10:00-07:00", (MCARE,),
        "2026-06-09T10:00:00-07:00", "2026-06-09T11:00:00-07:00", MCARE,
        "2026-06-09T11:00:00-07:00", None),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_every_row_before_a_decision(row):
    lob, timing, urgency, category, received, rule_sets, deemed, decision, rule, notification, member = row
    clocks = compute_clocks(request(lob, timing, urgency, received, category), now=FAR_PAST)
    assert clocks.rule_sets == rule_sets
    assert show(clocks.deemed_received) == deemed
    assert show(clocks.decision_due) == decision
    assert clocks.decision_rule == rule
    assert show(clocks.notification_due) == notification
    assert show(clocks.member_notice_due) == member
    assert clocks.breached == ()
    assert decision_due_for(request(lob, timing, urgency, received, category)) == at(decision)


def test_json_shape_is_exactly_the_cli_shape():
    clocks = compute_clocks(request("medi-cal", "pre-service", "routine", "2026-03-14T10:00-07:00"),
                            now=at("2026-03-22T00:00-07:00"))
    assert clocks.to_json() == {
        "rule_sets": [DHCS, FED],
        "deemed_received": "2026-03-16T08:00:00-07:00",
        "decision_due": "2026-03-21T23:59:59-07:00",
        "decision_rule": FED,
        "notification_due": "2026-03-21T23:59:59-07:00",
        "member_notice_due": "2026-03-21T23:59:59-07:00",
        "breached": ["decision", "notification", "member_notice"],
    }


def test_each_clock_names_the_rule_set_that_governs_it():
    # Tue 06-09 urgent: decision ties (dhcs named), member notice: federal 72 h beats dhcs end of day
    clocks = compute_clocks(request("medi-cal", "pre-service", "urgent", "2026-06-09T10:00-07:00"), now=FAR_PAST)
    assert (clocks.decision_rule, clocks.notification_rule, clocks.member_notice_rule) == (DHCS, DHCS, FED)
    assert "1367.01" in clocks.decision_cite and "438.404" in clocks.member_notice_cite
    per_set = clocks_by_rule_set(request("medi-cal", "pre-service", "urgent", "2026-06-09T10:00-07:00"))
    assert [(c.rule_set, show(c.member_notice_due)) for c in per_set] == [
        (DHCS, "2026-06-12T23:59:59-07:00"), (FED, "2026-06-12T10:00:00-07:00")]


def test_routine_before_decision_has_no_notification_without_a_receipt_cap():
    clocks = compute_clocks(request("medi-cal", "pre-service", "routine", "2025-06-10T10:00-07:00"), now=FAR_PAST)
    assert clocks.notification_due is None and clocks.notification_rule is None
    assert clocks.to_json()["notification_due"] is None


# ----- deeming, weekends, holidays, DST, leap days, year ends ---------------------------------------------
# (lob, timing, urgency, category, received, deemed_received, decision_due, decision_rule)
EDGES = {
    "DST spring forward: 72h moves the wall clock by an hour": (
        "medi-cal", "pre-service", "urgent", "other", "2026-03-06T10:00-08:00",
        "2026-03-06T10:00:00-08:00", "2026-03-09T11:00:00-07:00", DHCS),
    "DST fall back: 72h moves the wall clock back an hour": (
        "medicare", "pre-service", "urgent", "other", "2026-10-30T10:00-07:00",
        "2026-10-30T10:00:00-07:00", "2026-11-02T09:00:00-08:00", MCARE),
    "DST spring forward: Part B 24h": (
        "medicare", "pre-service", "urgent", "medication", "2026-03-07T12:00-08:00",
        "2026-03-07T12:00:00-08:00", "2026-03-08T13:00:00-07:00", MCARE),
    "day clock across the fall change still ends 23:59:59 local": (
        "medicare", "pre-service", "routine", "other", "2026-10-28T10:00-07:00",
        "2026-10-28T10:00:00-07:00", "2026-11-04T23:59:59-08:00", MCARE),
    "post-stabilization in the repeated hour": (  # 01:40 PDT = 08:40Z, +30 min = 09:10Z = 01:10 PST
        "medi-cal", "post-stabilization", "urgent", "other", "2026-11-01T01:40-07:00",
        "2026-11-01T01:40:00-07:00", "2026-11-01T01:10:00-08:00", DHCS),
    "leap day: 7 days from 02-22": (
        "medicare", "pre-service", "routine", "other", "2028-02-22T10:00-08:00",
        "2028-02-22T10:00:00-08:00", "2028-02-29T23:59:59-08:00", MCARE),
    "leap year: 30 days from 02-10 is 03-11": (
        "medi-cal", "post-service", "routine", "other", "2028-02-10T10:00-08:00",
        "2028-02-10T10:00:00-08:00", "2028-03-11T23:59:59-08:00", DHCS),
    "common year: 30 days from 02-10 is 03-12": (
        "medi-cal", "post-service", "routine", "other", "2027-02-10T10:00-08:00",
        "2027-02-10T10:00:00-08:00", "2027-03-12T23:59:59-08:00", DHCS),
    "leap day is a business day": (  # Fri 02-25: M28 T29 W1 T2 F3 (federal ties 03-03)
        "medi-cal", "pre-service", "routine", "medication", "2028-02-25T10:00-08:00",
        "2028-02-25T10:00:00-08:00", "2028-03-03T23:59:59-08:00", DHCS),
    "year end after hours: deemed past the observed New Year's Day, federal wins": (
        # Thu 12-30 17:30 -> Fri 12-31 holiday -> deemed Mon 01-03 08:00 -> dhcs 01-10; federal 12-30+7 = 01-06
        "medi-cal", "pre-service", "routine", "other", "2027-12-30T17:30-08:00",
        "2028-01-03T08:00:00-08:00", "2028-01-06T23:59:59-08:00", FED),
    "year end drug: business days skip 2027-12-31": (  # Wed 12-29: Th30 (F31 hol) M3 T4 W5 Th6
        "medi-cal", "pre-service", "routine", "medication", "2027-12-29T10:00-08:00",
        "2027-12-29T10:00:00-08:00", "2028-01-06T23:59:59-08:00", DHCS),
    "Friday 17:01 is after hours": (  # deemed Mon 11-23: T24 W25 (Th F hol) M30 T1 W2
        "medi-cal", "pre-service", "routine", "medication", "2026-11-20T17:01-08:00",
        "2026-11-23T08:00:00-08:00", "2026-12-02T23:59:59-08:00", DHCS),
    "Friday 16:59 is within hours": (  # F20: M23 T24 W25 M30 T1
        "medi-cal", "pre-service", "routine", "medication", "2026-11-20T16:59-08:00",
        "2026-11-20T16:59:00-08:00", "2026-12-01T23:59:59-08:00", DHCS),
    "Friday 17:01, federal counts from actual receipt": (
        "medi-cal", "pre-service", "routine", "other", "2026-11-20T17:01-08:00",
        "2026-11-23T08:00:00-08:00", "2026-11-27T23:59:59-08:00", FED),
    "Saturday receipt deemed Monday 08:00": (  # deemed Mon 06-15: T16 W17 Th18 (F19 Juneteenth) M22 T23
        "medi-cal", "pre-service", "routine", "medication", "2026-06-13T10:00-07:00",
        "2026-06-15T08:00:00-07:00", "2026-06-23T23:59:59-07:00", DHCS),
    "Sunday receipt deemed Monday 08:00": (
        "medi-cal", "concurrent", "routine", "medication", "2026-06-14T22:00-07:00",
        "2026-06-15T08:00:00-07:00", "2026-06-23T23:59:59-07:00", DHCS),
    "before 08:00 on a business day: 08:00 same day": (
        "medi-cal", "pre-service", "routine", "medication", "2026-06-09T07:15-07:00",
        "2026-06-09T08:00:00-07:00", "2026-06-16T23:59:59-07:00", DHCS),
    "holiday eve after hours: deemed after Thanksgiving and the day after": (  # M30 -> T1 W2 Th3 F4 M7
        "medi-cal", "pre-service", "routine", "medication", "2026-11-25T17:30-08:00",
        "2026-11-30T08:00:00-08:00", "2026-12-07T23:59:59-08:00", DHCS),
    "received on a holiday during office hours": (
        "medi-cal", "pre-service", "routine", "medication", "2026-11-26T10:00-08:00",
        "2026-11-30T08:00:00-08:00", "2026-12-07T23:59:59-08:00", DHCS),
    "Juneteenth skipped": (  # Th 06-18 in hours: (F19 hol) M22 T23 W24 Th25 F26
        "medi-cal", "pre-service", "routine", "medication", "2026-06-18T16:00-07:00",
        "2026-06-18T16:00:00-07:00", "2026-06-26T23:59:59-07:00", DHCS),
    "Independence Day observed Friday 07-03 skipped": (  # Th 07-02: (F3 hol) M6 T7 W8 Th9 F10
        "medi-cal", "pre-service", "routine", "medication", "2026-07-02T10:00-07:00",
        "2026-07-02T10:00:00-07:00", "2026-07-10T23:59:59-07:00", DHCS),
    "urgent is never deemed": (
        "medi-cal", "pre-service", "urgent", "medication", "2026-06-13T23:00-07:00",
        "2026-06-13T23:00:00-07:00", "2026-06-16T23:00:00-07:00", DHCS),
    "post-stabilization entered as routine is still urgent, never deemed": (
        "medi-cal", "post-stabilization", "routine", "other", "2026-06-13T03:00-07:00",
        "2026-06-13T03:00:00-07:00", "2026-06-13T03:30:00-07:00", DHCS),
    "post-service entered as urgent is counted routine, so deemed": (  # Mon 06-15 + 30 = 07-15
        "medi-cal", "post-service", "urgent", "other", "2026-06-13T10:00-07:00",
        "2026-06-15T08:00:00-07:00", "2026-07-15T23:59:59-07:00", DHCS),
    "federal not yet in effect on 2025-12-31 plan time": (
        # Wed 23:30 -> Thu 01-01 holiday -> deemed Fri 01-02 08:00: M5 T6 W7 Th8 F9
        "medi-cal", "pre-service", "routine", "other", "2025-12-31T23:30-08:00",
        "2026-01-02T08:00:00-08:00", "2026-01-09T23:59:59-08:00", DHCS),
    "received given in UTC: plan date decides the effective date": (
        "medi-cal", "pre-service", "routine", "other", "2026-01-01T07:30+00:00",
        "2026-01-02T08:00:00-08:00", "2026-01-09T23:59:59-08:00", DHCS),
    "federal in effect from 2026-01-01 plan time": (  # federal 01-01 + 7 = 01-08 beats dhcs 01-09
        "medi-cal", "pre-service", "routine", "other", "2026-01-01T00:00-08:00",
        "2026-01-02T08:00:00-08:00", "2026-01-08T23:59:59-08:00", FED),
}


@pytest.mark.parametrize("row", EDGES.values(), ids=EDGES.keys())
def test_edges(row):
    lob, timing, urgency, category, received, deemed, decision, rule = row
    clocks = compute_clocks(request(lob, timing, urgency, received, category), now=FAR_PAST)
    assert show(clocks.deemed_received) == deemed
    assert show(clocks.decision_due) == decision
    assert clocks.decision_rule == rule
    assert decision_due_for(request(lob, timing, urgency, received, category)) == at(decision)


def test_rule_sets_by_received_date():
    assert compute_clocks(request("medi-cal", "pre-service", "routine", "2025-12-31T23:30-08:00"),
                          now=FAR_PAST).rule_sets == (DHCS,)
    assert compute_clocks(request("medi-cal", "pre-service", "routine", "2026-01-01T00:00-08:00"),
                          now=FAR_PAST).rule_sets == (DHCS, FED)


def test_medicare_before_2026_has_no_rule_set():
    with pytest.raises(NoRuleSetApplies, match="add a rule set"):
        compute_clocks(request("medicare", "pre-service", "routine", "2025-12-31T10:00-08:00"))
    with pytest.raises(NoRuleSetApplies):
        decision_due_for(request("medicare", "pre-service", "routine", "2025-12-31T10:00-08:00"))


def test_results_are_utc_instants_that_compare_correctly_in_the_repeated_hour():
    # due 01:10 PST (09:10Z); now 01:50 PDT (08:50Z) is 20 minutes BEFORE it although its wall clock is later
    req = request("medi-cal", "post-stabilization", "urgent", "2026-11-01T01:40-07:00")
    clocks = compute_clocks(req, now=datetime(2026, 11, 1, 1, 50, tzinfo=LA))  # fold=0: PDT
    assert clocks.decision_due.utcoffset() == timedelta(0)
    assert clocks.breached == ()
    assert not clocks.deemed_authorized
    late = compute_clocks(req, now=datetime(2026, 11, 1, 1, 11, fold=1, tzinfo=LA))  # 01:11 PST
    assert late.breached == ("decision", "notification")
    assert late.deemed_authorized


# ----- extensions -----------------------------------------------------------------------------------------
# (lob, timing, urgency, category, received, extensions, decision_due, decision_rule)
EXTENDED = {
    "dhcs urgent once: 14 calendar days from receipt": (
        "medi-cal", "pre-service", "urgent", "medication", "2026-06-09T10:00-07:00", 1,
        "2026-06-23T23:59:59-07:00", DHCS),
    "dhcs routine first: 14 days": (
        "medi-cal", "pre-service", "routine", "medication", "2026-06-09T10:00-07:00", 1,
        "2026-06-23T23:59:59-07:00", DHCS),
    "dhcs routine second: 28 days": (
        "medi-cal", "pre-service", "routine", "medication", "2026-06-09T10:00-07:00", 2,
        "2026-07-07T23:59:59-07:00", DHCS),
    "dhcs routine concurrent twice too": (
        "medi-cal", "concurrent", "routine", "medication", "2026-06-09T10:00-07:00", 2,
        "2026-07-07T23:59:59-07:00", DHCS),
    "dhcs extension counts from deemed receipt": (  # Sat 2025-06-14 -> Mon 06-16: +14 = 06-30, +28 = 07-14
        "medi-cal", "pre-service", "routine", "other", "2025-06-14T10:00-07:00", 2,
        "2025-07-14T23:59:59-07:00", DHCS),
    "medi-cal 2026 first extension: dhcs 14 days from deemed Monday": (
        "medi-cal", "pre-service", "routine", "other", "2026-11-20T17:01-08:00", 1,
        "2026-12-07T23:59:59-08:00", DHCS),
    "medi-cal 2026 second extension capped by federal 7 + 14": (  # dhcs 12-21, federal 11-27 + 14 = 12-11
        "medi-cal", "pre-service", "routine", "other", "2026-11-20T17:01-08:00", 2,
        "2026-12-11T23:59:59-08:00", FED),
    "medi-cal 2026 urgent: dhcs 14 days beats federal 72h + 14 days": (
        "medi-cal", "pre-service", "urgent", "other", "2026-06-09T10:00-07:00", 1,
        "2026-06-23T23:59:59-07:00", DHCS),
    "medicare expedited + 14 plan days": (
        "medicare", "pre-service", "urgent", "other", "2026-06-09T10:00-07:00", 1,
        "2026-06-26T10:00:00-07:00", MCARE),
    "medicare expedited + 14 plan days across DST keeps 10:00": (  # 10-23 10:00 PDT -> 11-06 10:00 PST
        "medicare", "concurrent", "urgent", "other", "2026-10-20T10:00-07:00", 1,
        "2026-11-06T10:00:00-08:00", MCARE),
    "medicare standard 7 + 14": (
        "medicare", "pre-service", "routine", "other", "2026-06-09T10:00-07:00", 1,
        "2026-06-30T23:59:59-07:00", MCARE),
}


@pytest.mark.parametrize("row", EXTENDED.values(), ids=EXTENDED.keys())
def test_extended_decision_due(row):
    lob, timing, urgency, category, received, extensions, decision, rule = row
    req = request(lob, timing, urgency, received, category)
    clocks = compute_clocks(req, extensions=extensions, now=FAR_PAST)
    assert show(clocks.decision_due) == decision
    assert clocks.decision_rule == rule
    assert decision_due_for(req, extensions) == at(decision)


@pytest.mark.parametrize("lob, timing, urgency, category, extensions", [
    ("medi-cal", "post-service", "routine", "other", 1),
    ("medicare", "post-service", "routine", "other", 1),
    ("medicare", "pre-service", "routine", "medication", 1),  # Part B: no extension
    ("medicare", "pre-service", "urgent", "medication", 1),
    ("medi-cal", "post-stabilization", "urgent", "other", 1),
    ("medi-cal", "pre-service", "urgent", "other", 2),  # dhcs urgent: once
    ("medi-cal", "pre-service", "routine", "other", 3),  # dhcs routine: twice
    ("medicare", "pre-service", "routine", "other", 2),  # federal: once
])
def test_too_many_extensions_are_refused(lob, timing, urgency, category, extensions):
    req = request(lob, timing, urgency, "2026-06-09T10:00-07:00", category)
    with pytest.raises(ExtensionRefused):
        compute_clocks(req, extensions=extensions)
    with pytest.raises(ExtensionRefused):
        decision_due_for(req, extensions)
    assert extension_limit_for(req) == extensions - 1


def test_negative_extensions_are_bad_input():
    with pytest.raises(ClockError, match="0 or more"):
        compute_clocks(request("medi-cal", "pre-service", "routine", "2026-06-09T10:00-07:00"), extensions=-1)


def test_extension_limit_info():
    clocks = compute_clocks(request("medi-cal", "pre-service", "routine", "2026-06-09T10:00-07:00"),
                            extensions=1, now=FAR_PAST)
    limit = clocks.extension_limit
    assert (limit.allowed, limit.taken, limit.remaining) == (2, 1, 1)
    assert limit.by_rule_set == ((DHCS, 2), (FED, 1))


ROUTINE_2026 = request("medi-cal", "pre-service", "routine", "2026-06-09T10:00-07:00")


def test_check_extension_first_and_second():
    first = check_extension(ROUTINE_2026, reason="member-request", at=at("2026-06-10T09:00-07:00"))
    assert first.number == 1
    assert show(first.previous_decision_due) == "2026-06-16T23:59:59-07:00"
    assert show(first.new_decision_due) == "2026-06-23T23:59:59-07:00"  # dhcs 14 days
    assert first.new_decision_rule == DHCS
    assert first.notice_due == first.previous_decision_due  # notice before the original due
    second = check_extension(ROUTINE_2026, reason="information-needed", taken=1, at=at("2026-06-20T09:00-07:00"))
    assert show(second.previous_decision_due) == "2026-06-23T23:59:59-07:00"
    assert show(second.new_decision_due) == "2026-06-30T23:59:59-07:00"  # federal 06-16 + 14 caps dhcs 07-07
    assert second.new_decision_rule == FED


@pytest.mark.parametrize("kwargs, message", [
    ({"reason": "plan-convenience", "at": "2026-06-10T09:00-07:00"}, "not allowed"),
    ({"reason": "member-request", "at": "2026-06-16T23:59:59-07:00"}, "before the current decision due"),
    ({"reason": "member-request", "at": "2026-06-17T09:00-07:00"}, "before the current decision due"),
    ({"reason": "member-request", "at": "2026-06-08T09:00-07:00"}, "before the receipt"),
    ({"reason": "provider-request", "at": "2026-06-10T09:00-07:00", "taken": 2}, "at most 2"),
    ({"reason": "provider-request", "at": "2026-06-10T09:00-07:00",
      "decided": "2026-06-10T08:00-07:00"}, "already decided"),
])
def test_check_extension_refusals(kwargs, message):
    kwargs = dict(kwargs)
    kwargs["at"] = at(kwargs["at"])
    if "decided" in kwargs:
        kwargs["decided"] = at(kwargs["decided"])
    with pytest.raises(ExtensionRefused, match=message):
        check_extension(ROUTINE_2026, **kwargs)


@pytest.mark.parametrize("lob, timing, category, message", [
    ("medi-cal", "post-service", "other", "post-service requests are never extended"),
    ("medicare", "pre-service", "medication", "at most 0"),
    ("medi-cal", "post-stabilization", "other", "at most 0"),
])
def test_check_extension_never_for(lob, timing, category, message):
    req = request(lob, timing, "routine", "2026-06-09T10:00-07:00", category)
    with pytest.raises(ExtensionRefused, match=message):
        check_extension(req, reason="member-request", at=at("2026-06-09T10:05-07:00"))


def test_check_extension_refused_when_a_stricter_rule_set_already_caps_it():
    data = json.loads(RULESETS_FILE.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    federal = next(rs for rs in data["rule_sets"] if rs["id"] == FED)
    federal["rows"][0]["extensions"]["calendar_days"] = 1  # federal: 7 + 1 days
    book = rule_book_from_data(data)
    # first: dhcs 14 days vs federal 06-17 -> 06-17 (moves from 06-16: allowed)
    first = check_extension(ROUTINE_2026, reason="member-request", at=at("2026-06-10T09:00-07:00"), rule_book=book)
    assert show(first.new_decision_due) == "2026-06-17T23:59:59-07:00"
    assert first.new_decision_rule == FED
    with pytest.raises(ExtensionRefused, match="would not move"):
        check_extension(ROUTINE_2026, reason="member-request", taken=1, at=at("2026-06-11T09:00-07:00"),
                        rule_book=book)


# ----- after a decision: notification, member notice, breaches ---------------------------------------------
# (lob, timing, urgency, category, received, decided, now, notification_due, notification_rule,
#  member_notice_due, member_notice_rule, breached)
DECIDED = {
    "dhcs routine: provider 24h after decision, member 2 business days": (
        "medi-cal", "pre-service", "routine", "medication", "2026-06-09T10:00-07:00",
        "2026-06-11T15:00-07:00", "2026-06-12T12:00-07:00",
        "2026-06-12T15:00:00-07:00", DHCS, "2026-06-15T23:59:59-07:00", DHCS, ()),  # Thu -> F12 M15
    "dhcs urgent: 24h after decision capped at 72h of receipt": (
        "medi-cal", "pre-service", "urgent", "medication", "2026-06-09T10:00-07:00",
        "2026-06-11T20:00-07:00", "2026-06-12T10:00:01-07:00",
        "2026-06-12T10:00:00-07:00", DHCS, "2026-06-15T23:59:59-07:00", DHCS, ("notification",)),
    "medi-cal 2026 routine decided on day 7: federal timeframe caps both notices": (
        "medi-cal", "pre-service", "routine", "other", "2026-06-09T10:00-07:00",
        "2026-06-16T15:00-07:00", "2026-06-16T16:00-07:00",
        "2026-06-16T23:59:59-07:00", FED, "2026-06-16T23:59:59-07:00", FED, ()),
    "dhcs post-service: 24h after decision but no later than 30 days": (
        "medi-cal", "post-service", "routine", "other", "2025-06-10T10:00-07:00",
        "2025-07-10T12:00-07:00", "2025-07-11T00:00-07:00",
        "2025-07-10T23:59:59-07:00", DHCS, "2025-07-14T23:59:59-07:00", DHCS,  # Thu 07-10: F11 M14
        ("notification",)),
    "dhcs late decision: untimely notice was due the day the clock expired": (
        "medi-cal", "pre-service", "routine", "medication", "2026-06-09T10:00-07:00",
        "2026-06-17T09:00-07:00", "2026-06-17T10:00-07:00",
        "2026-06-18T09:00:00-07:00", DHCS, "2026-06-16T23:59:59-07:00", DHCS, ("decision", "member_notice")),
    "decided exactly at the due is in time": (
        "medicare", "pre-service", "urgent", "medication", "2026-06-09T10:00-07:00",
        "2026-06-10T10:00-07:00", "2026-06-10T10:00-07:00",
        "2026-06-10T10:00:00-07:00", MCARE, "2026-06-10T10:00:00-07:00", MCARE, ()),
    "dhcs post-stabilization answered in time: member notice 2 business days": (
        "medi-cal", "post-stabilization", "urgent", "other", "2026-06-09T10:00-07:00",
        "2026-06-09T10:29-07:00", "2026-06-09T11:00-07:00",
        "2026-06-09T10:30:00-07:00", DHCS, "2026-06-11T23:59:59-07:00", DHCS, ("notification",)),
}


@pytest.mark.parametrize("row", DECIDED.values(), ids=DECIDED.keys())
def test_after_a_decision(row):
    (lob, timing, urgency, category, received, decided, now,
     notification, notification_rule, member, member_rule, breached) = row
    clocks = compute_clocks(request(lob, timing, urgency, received, category), decided=at(decided), now=at(now))
    assert show(clocks.notification_due) == notification
    assert clocks.notification_rule == notification_rule
    assert show(clocks.member_notice_due) == member
    assert clocks.member_notice_rule == member_rule
    assert clocks.breached == breached
    assert show(clocks.decided) == at(decided).astimezone(LA).isoformat()


def test_breaches_at_now():
    req = request("medicare", "pre-service", "urgent", "2026-06-09T10:00-07:00", "medication")  # all due 06-10 10:00
    assert compute_clocks(req, now=at("2026-06-10T10:00-07:00")).breached == ()
    assert compute_clocks(req, now=at("2026-06-10T10:00:01-07:00")).breached == (
        "decision", "notification", "member_notice")
    # the notices were sent in time, the decision too: nothing breached however late "now" is
    done = at("2026-06-10T09:00-07:00")
    clocks = compute_clocks(req, decided=done, notified=done, member_notified=done, now=at("2026-07-01T00:00-07:00"))
    assert clocks.breached == ()
    clocks = compute_clocks(req, decided=done, notified=at("2026-06-10T11:00-07:00"),
                            now=at("2026-06-10T10:30-07:00"))
    assert clocks.breached == ("notification", "member_notice")


def test_missed_decision_is_untimely_not_deemed_authorized():
    clocks = compute_clocks(request("medi-cal", "pre-service", "urgent", "2026-06-09T10:00-07:00"),
                            now=at("2026-06-12T10:00:01-07:00"))
    assert "decision" in clocks.breached
    assert clocks.untimely_decision and not clocks.deemed_authorized


@pytest.mark.parametrize("lob, received, now, deemed", [
    ("medi-cal", "2026-06-09T10:00-07:00", "2026-06-09T10:30-07:00", False),  # exactly at 30 minutes
    ("medi-cal", "2026-06-09T10:00-07:00", "2026-06-09T10:30:01-07:00", True),
    ("medicare", "2026-06-09T10:00-07:00", "2026-06-09T10:59-07:00", False),
    ("medicare", "2026-06-09T10:00-07:00", "2026-06-09T11:01-07:00", True),
])
def test_post_stabilization_missed_is_deemed_authorized(lob, received, now, deemed):
    clocks = compute_clocks(request(lob, "post-stabilization", "urgent", received), now=at(now))
    assert clocks.deemed_authorized is deemed
    assert ("decision" in clocks.breached) is deemed
    assert clocks.untimely_decision is False


def test_late_post_stabilization_decision_was_deemed_authorized():
    clocks = compute_clocks(request("medicare", "post-stabilization", "urgent", "2026-06-09T10:00-07:00"),
                            decided=at("2026-06-09T11:30-07:00"), now=at("2026-06-09T11:31-07:00"))
    assert clocks.deemed_authorized and clocks.breached[0] == "decision"


# ----- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fields, message", [
    (("medicaid", "pre-service", "routine", "other"), "lob"),
    (("medi-cal", "retro", "routine", "other"), "timing"),
    (("medi-cal", "pre-service", "stat", "other"), "urgency"),
    (("medi-cal", "pre-service", "routine", "dme"), "category"),
])
def test_request_values_are_checked(fields, message):
    with pytest.raises(ClockError, match=message):
        ClockRequest(*fields, at("2026-06-09T10:00-07:00"))


def test_naive_datetimes_are_refused():
    with pytest.raises(ClockError, match="time zone"):
        ClockRequest("medi-cal", "pre-service", "routine", "other", datetime(2026, 6, 9, 10, 0))
    with pytest.raises(ClockError, match="time zone"):
        compute_clocks(ROUTINE_2026, now=datetime(2026, 6, 9, 10, 0))
    with pytest.raises(ClockError, match="time zone"):
        compute_clocks(ROUTINE_2026, decided=datetime(2026, 6, 9, 10, 0))


def test_decided_before_received_is_refused():
    with pytest.raises(ClockError, match="before received"):
        compute_clocks(ROUTINE_2026, decided=at("2026-06-09T09:59-07:00"))


def test_fractions_of_a_second_are_dropped_in_json():
    req = request("medicare", "pre-service", "urgent", "2026-06-09T10:00:00.900-07:00")
    clocks = compute_clocks(req, now=FAR_PAST)
    assert clocks.decision_due == at("2026-06-12T10:00:00.900-07:00")
    assert clocks.to_json()["decision_due"] == "2026-06-12T10:00:00-07:00"


# ----- rule data ----------------------------------------------------------------------------------------
def shipped_rules() -> dict:
    return json.loads(RULESETS_FILE.read_text(encoding="utf-8"))


def test_shipped_rule_sets():
    book = load_rule_book()
    assert [rs.id for rs in book.rule_sets] == [DHCS, FED, MCARE]
    assert book.get(FED).effective_from.isoformat() == "2026-01-01"
    assert book.get(MCARE).lines_of_business == {"medicare"}
    assert book.get(DHCS).deem_urgencies == {"routine"}
    assert not book.get(FED).deem_urgencies


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["rule_sets"][0]["rows"][0].update(decision={"weeks": 1}), "exactly one of"),
    (lambda d: d["rule_sets"][0]["rows"][0].update(decision={"hours": -1}), ">= 0"),
    (lambda d: d["rule_sets"][0]["rows"][0].update(timings=["retro"]), "timings"),
    (lambda d: d["rule_sets"][0]["rows"][0]["extensions"].update(mode="forever"), "mode"),
    (lambda d: d["rule_sets"][0]["rows"][1]["extensions"].update(calendar_days=[14]), "one calendar_days entry"),
    (lambda d: d["rule_sets"][0]["rows"][0].update(notification={"cite": "x"}), "sets no due"),
    (lambda d: d["rule_sets"][1].update(effective_from="2026-13-01"), "effective_from"),
    (lambda d: d["rule_sets"][1].update(id=DHCS), "unique"),
    (lambda d: d["rule_sets"][1].update(lines_of_business=["medicaid"]), "lines_of_business"),
    (lambda d: d.update(rule_sets=[]), "non-empty"),
])
def test_bad_rule_data_is_reported_with_its_place(mutate, message):
    data = shipped_rules()
    mutate(data)
    with pytest.raises(RuleDataError, match=message):
        rule_book_from_data(data)


def test_an_edited_rule_set_changes_the_clocks(tmp_path):
    data = shipped_rules()
    data["rule_sets"][1]["effective_from"] = "2025-01-01"  # federal rules one year earlier
    path = tmp_path / "rulesets.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    book = load_rule_book(path)
    clocks = compute_clocks(request("medi-cal", "pre-service", "routine", "2025-06-14T10:00-07:00"),
                            now=FAR_PAST, rule_book=book)
    assert clocks.rule_sets == (DHCS, FED)
    assert show(clocks.decision_due) == "2025-06-21T23:59:59-07:00"  # Sat + 7 beats deemed Mon + 5 bd
    assert clocks.decision_rule == FED
