"""The appeal rule set of the clock engine (resources/rulesets.json, appeal_rule_sets): expedited 72 hours across
weekends and daylight-saving changes, standard 30 calendar days with one extension of up to 14, the acknowledgement,
the 60-day filing window and aid paid pending at their edges, breaches, and malformed rule data."""
from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.domain.clocks import (RULESETS_FILE, AppealRequest, ClockError, ExtensionRefused, NoRuleSetApplies,
                               RuleDataError, appeal_filing, check_appeal_extension, compute_appeal_clocks,
                               continuation_deadline, expedited_denied_notice_due, rule_book_from_data)

PT = ZoneInfo("America/Los_Angeles")


def pt(*args) -> datetime:
    return datetime(*args, tzinfo=PT)


def expedited(received):
    return AppealRequest("medi-cal", True, received)


def standard(received):
    return AppealRequest("medi-cal", False, received)


@pytest.mark.parametrize("received,due", [
    # Friday noon PST + 72 elapsed hours crosses the weekend and the spring-forward night (8 March 2026, 2 a.m.):
    # the wall clock reads one hour later on Monday.
    (pt(2026, 3, 6, 12, 0), pt(2026, 3, 9, 13, 0)),
    # Friday noon PDT + 72 hours over the fall-back night (1 November 2026): one hour earlier on Monday.
    (pt(2026, 10, 30, 12, 0), pt(2026, 11, 2, 11, 0)),
    # Saturday evening: weekends count like any other hour.
    (pt(2026, 11, 21, 18, 30), pt(2026, 11, 24, 18, 30)),
    # Over Thanksgiving: holidays do not stop an expedited appeal.
    (pt(2026, 11, 25, 23, 15), pt(2026, 11, 28, 23, 15)),
])
def test_expedited_is_72_elapsed_hours(received, due):
    clocks = compute_appeal_clocks(expedited(received), now=received)
    assert clocks.resolution_due == due.astimezone(timezone.utc)
    assert clocks.resolution_due - received.astimezone(timezone.utc) == timedelta(hours=72)
    assert clocks.notice_due == clocks.resolution_due and clocks.acknowledgement_due is None
    assert clocks.track == "expedited" and clocks.rule_set == "medi-cal-appeals"
    assert "438.408(b)(3)" in clocks.resolution_cite


def test_expedited_extension_keeps_the_time_of_day_across_dst():
    received = pt(2026, 10, 23, 9, 0)  # PDT; +72 h = Mon 10/26 9:00 PDT; +14 days crosses into PST
    grant = check_appeal_extension(expedited(received), reason="member-request", days=14, at=received)
    assert grant.previous_due == pt(2026, 10, 26, 9, 0).astimezone(timezone.utc)
    assert grant.new_due == pt(2026, 11, 9, 9, 0).astimezone(timezone.utc)  # 9 a.m. PST, not 8 a.m.
    assert grant.notice_due == pt(2026, 10, 25, 23, 59, 59).astimezone(timezone.utc)  # written notice in 2 days


def test_standard_is_30_calendar_days_to_the_end_of_the_day():
    received = pt(2026, 11, 20, 16, 30)
    clocks = compute_appeal_clocks(standard(received), now=received)
    assert clocks.resolution_due == pt(2026, 12, 20, 23, 59, 59).astimezone(timezone.utc)  # a Sunday: no deeming
    assert clocks.acknowledgement_due == pt(2026, 11, 25, 23, 59, 59).astimezone(timezone.utc)
    assert clocks.breached == ()


@pytest.mark.parametrize("days,due", [(14, pt(2027, 1, 3, 23, 59, 59)), (5, pt(2026, 12, 25, 23, 59, 59)),
                                      (1, pt(2026, 12, 21, 23, 59, 59))])
def test_standard_with_an_extension(days, due):
    received = pt(2026, 11, 20, 16, 30)
    at = pt(2026, 12, 10, 9, 0)
    grant = check_appeal_extension(standard(received), reason="information-needed", days=days, at=at)
    assert grant.previous_due == pt(2026, 12, 20, 23, 59, 59).astimezone(timezone.utc)
    assert grant.new_due == due.astimezone(timezone.utc)
    clocks = compute_appeal_clocks(standard(received), extension_days=days, now=at)
    assert clocks.resolution_due == grant.new_due and clocks.extension_days == days


def test_a_standard_due_across_the_fall_back_night_ends_at_2359_pst():
    clocks = compute_appeal_clocks(standard(pt(2026, 10, 20, 10, 0)), now=pt(2026, 10, 20, 10, 0))
    assert clocks.resolution_due == pt(2026, 11, 19, 23, 59, 59).astimezone(timezone.utc)
    assert clocks.resolution_due.astimezone(PT).utcoffset() == timedelta(hours=-8)


@pytest.mark.parametrize("kwargs,message", [
    ({"reason": "provider-request"}, "not allowed for an appeal extension"),
    ({"days": 15}, "1 to 14"),
    ({"days": 0}, "1 to 14"),
    ({"taken_days": 14}, "only once"),
    ({"at": pt(2026, 12, 21, 0, 0)}, "before the resolution due"),
    ({"at": pt(2026, 12, 20, 23, 59, 59)}, "before the resolution due"),
    ({"resolved": pt(2026, 12, 1, 9, 0)}, "already resolved"),
    ({"at": pt(2026, 11, 19, 9, 0)}, "before the appeal was received"),
])
def test_extension_refusals(kwargs, message):
    values = dict(reason="member-request", days=14, at=pt(2026, 12, 1, 9, 0))
    values.update(kwargs)
    with pytest.raises(ExtensionRefused, match=message):
        check_appeal_extension(standard(pt(2026, 11, 20, 16, 30)), **values)


def test_more_extension_days_than_the_rule_allows_are_refused():
    with pytest.raises(ExtensionRefused, match="at most 14"):
        compute_appeal_clocks(standard(pt(2026, 11, 20, 16, 30)), extension_days=15)


def test_breaches_and_deemed_exhaustion():
    received = pt(2026, 11, 20, 16, 30)
    due = pt(2026, 12, 20, 23, 59, 59)
    on_time = compute_appeal_clocks(standard(received), resolved=due, notice_sent=due,
                                    acknowledged=pt(2026, 11, 24, 9, 0), now=pt(2027, 1, 5, 9, 0))
    assert on_time.breached == () and not on_time.state_hearing_deemed  # exactly at the due is in time
    late = compute_appeal_clocks(standard(received), resolved=due + timedelta(seconds=1),
                                 now=pt(2027, 1, 5, 9, 0))
    assert late.breached == ("resolution", "notice", "acknowledgement") and late.state_hearing_deemed
    running = compute_appeal_clocks(standard(received), now=pt(2026, 11, 26, 0, 0, 1))
    assert running.breached == ("acknowledgement",) and not running.state_hearing_deemed
    # a resolution notice sent before the acknowledgement's due acknowledges the appeal too
    quick = compute_appeal_clocks(standard(received), resolved=pt(2026, 11, 23, 9, 0),
                                  notice_sent=pt(2026, 11, 23, 10, 0), now=pt(2027, 1, 5, 9, 0))
    assert quick.breached == () and quick.acknowledged == pt(2026, 11, 23, 10, 0).astimezone(timezone.utc)


def test_completions_before_the_receipt_are_refused():
    with pytest.raises(ClockError, match="before the appeal was received"):
        compute_appeal_clocks(standard(pt(2026, 11, 20, 16, 30)), resolved=pt(2026, 11, 19, 9, 0))


def test_the_written_notice_of_a_denied_expedited_request_is_due_in_2_calendar_days():
    due, cite = expedited_denied_notice_due(expedited(pt(2026, 11, 20, 16, 30)), pt(2026, 11, 21, 8, 0))
    assert due == pt(2026, 11, 23, 23, 59, 59).astimezone(timezone.utc) and "438.410(c)(2)" in cite


@pytest.mark.parametrize("received_day,timely,late", [(date(2027, 1, 23), True, 0), (date(2027, 1, 24), False, 1),
                                                      (date(2027, 2, 2), False, 10)])
def test_sixty_days_from_the_notice_date(received_day, timely, late):
    notice = date(2026, 11, 24)  # + 60 days = 23 January 2027, the last day
    check = appeal_filing(standard(pt(received_day.year, received_day.month, received_day.day, 23, 30)), notice)
    assert (check.deadline, check.timely, check.days_late) == (date(2027, 1, 23), timely, late)


def test_no_notice_on_record_means_the_window_has_not_started():
    check = appeal_filing(standard(pt(2027, 6, 1, 9, 0)), None)
    assert check.timely and check.deadline is None


@pytest.mark.parametrize("received_day,effective,deadline,timely", [
    (date(2026, 12, 4), None, date(2026, 12, 4), True),  # the 10th day after the notice is the last
    (date(2026, 12, 5), None, date(2026, 12, 4), False),
    (date(2026, 12, 4), date(2026, 12, 1), date(2026, 12, 4), True),  # 10 days is later than the effective date
    (date(2026, 12, 7), date(2026, 12, 7), date(2026, 12, 7), True),  # on the effective date, which is later
    (date(2026, 12, 8), date(2026, 12, 7), date(2026, 12, 7), False),
])
def test_aid_paid_pending_boundary(received_day, effective, deadline, timely):
    notice = date(2026, 11, 24)
    check = continuation_deadline(standard(pt(received_day.year, received_day.month, received_day.day, 16, 59)),
                                  notice, effective)
    assert (check.deadline, check.timely) == (deadline, timely)
    assert "438.420(a)" in check.cite


def test_a_late_evening_receipt_counts_on_its_plan_day():
    # 11:30 PM PT on the last day is still that day in plan time (it is already the next day in UTC)
    request = standard(pt(2027, 1, 23, 23, 30))
    assert request.received.astimezone(timezone.utc).date() == date(2027, 1, 24)
    assert appeal_filing(request, date(2026, 11, 24)).timely


def _data():
    return json.loads(RULESETS_FILE.read_text())


@pytest.mark.parametrize("change,message", [
    (lambda d: d["appeal_rule_sets"][0]["rows"].pop(), "one row per track"),
    (lambda d: d["appeal_rule_sets"][0]["rows"][0].update(track="urgent"), "track must be one of"),
    (lambda d: d["appeal_rule_sets"][0]["rows"][0]["extension"].update(max=2), "extended at most once"),
    (lambda d: d["appeal_rule_sets"][0]["rows"][0]["extension"].update(reasons=["whim"]), "reasons"),
    (lambda d: d["appeal_rule_sets"][0].update(filing={"calendar_days": -1}), "filing.calendar_days"),
    (lambda d: d["appeal_rule_sets"][0]["rows"][1].update(resolution={"weeks": 4}), "exactly one of"),
    (lambda d: d["appeal_rule_sets"][0].update(id="dhcs-medi-cal"), "unique"),
])
def test_malformed_appeal_rule_data_names_the_place(change, message):
    data = copy.deepcopy(_data())
    change(data)
    with pytest.raises(RuleDataError, match=message):
        rule_book_from_data(data)


def test_a_line_of_business_without_an_appeal_rule_set_says_what_to_add():
    data = copy.deepcopy(_data())
    data["appeal_rule_sets"][0]["lines_of_business"] = ["medicare"]
    book = rule_book_from_data(data)
    with pytest.raises(NoRuleSetApplies, match="appeal_rule_sets"):
        compute_appeal_clocks(standard(pt(2026, 11, 20, 9, 0)), rule_book=book)


def test_an_edited_rule_set_changes_the_clock():
    data = copy.deepcopy(_data())
    data["appeal_rule_sets"][0]["rows"][1]["resolution"] = {"calendar_days": 15, "cite": "a stricter plan"}
    book = rule_book_from_data(data)
    clocks = compute_appeal_clocks(standard(pt(2026, 11, 20, 9, 0)), rule_book=book, now=pt(2026, 11, 20, 9, 0))
    assert clocks.resolution_due == pt(2026, 12, 5, 23, 59, 59).astimezone(timezone.utc)


def test_the_letters_state_the_rule_sets_numbers():
    """The member letters say 60 days to appeal and 10 days to keep a service; the rule set must agree."""
    appeal = _data()["appeal_rule_sets"][0]
    assert appeal["filing"]["calendar_days"] == 60 and appeal["continuation"]["calendar_days"] == 10
    rows = {row["track"]: row for row in appeal["rows"]}
    assert rows["expedited"]["resolution"] == {"hours": 72, "cite": rows["expedited"]["resolution"]["cite"]}
    assert rows["standard"]["resolution"]["calendar_days"] == 30
