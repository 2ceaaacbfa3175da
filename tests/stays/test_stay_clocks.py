"""The clocks of a stay: the 24-hour admission review, the late-notice flag across weekends and holidays, the review
due, readmissions at 29, 30 and 31 days (app.domain.stay_clocks)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.domain import stay_clocks

PT = ZoneInfo("America/Los_Angeles")


def pt(*args) -> datetime:
    return datetime(*args, tzinfo=PT)


def test_admission_review_is_due_24_elapsed_hours_after_the_notification():
    assert stay_clocks.admission_review_due(pt(2026, 12, 1, 9, 30)) == pt(2026, 12, 2, 9, 30)
    # Across the fall-back night 24 elapsed hours end an hour earlier on the wall clock.
    assert stay_clocks.admission_review_due(pt(2026, 10, 31, 12, 0)).astimezone(PT) == pt(2026, 11, 1, 11, 0)


@pytest.mark.parametrize("admitted, deadline", [
    (pt(2026, 12, 1, 10, 0), pt(2026, 12, 2, 23, 59, 59)),   # Tuesday -> end of Wednesday
    (pt(2026, 12, 4, 22, 0), pt(2026, 12, 7, 23, 59, 59)),   # Friday night -> end of Monday
    (pt(2026, 12, 5, 3, 0), pt(2026, 12, 7, 23, 59, 59)),    # Saturday -> end of Monday
    (pt(2026, 11, 25, 14, 0), pt(2026, 11, 30, 23, 59, 59)),  # before Thanksgiving and the day after -> Monday
    (pt(2026, 12, 24, 9, 0), pt(2026, 12, 28, 23, 59, 59)),  # Christmas Eve (Christmas a Friday) -> Monday
    (pt(2027, 12, 30, 9, 0), pt(2028, 1, 3, 23, 59, 59)),    # New Year's 2028 observed Fri 12/31/2027 -> Monday
])
def test_notice_is_due_by_the_end_of_the_first_business_day_after_the_admission(admitted, deadline):
    assert stay_clocks.notice_deadline(admitted) == deadline.astimezone(timezone.utc)
    on_time = stay_clocks.late_notice(admitted, deadline, "elective")
    assert not on_time.late and on_time.deniable_days == ()
    late = stay_clocks.late_notice(admitted, deadline + timedelta(seconds=1), "elective")
    assert late.late
    assert late.deniable_days[0] == admitted.date() and late.deniable_days[-1] == deadline.date()


def test_late_notice_counts_business_days_and_the_days_before_the_notice():
    late = stay_clocks.late_notice(pt(2026, 12, 4, 22, 0), pt(2026, 12, 9, 10, 0), "urgent")  # Fri -> Wed
    assert late.late and late.business_days_late == 2  # Tuesday and Wednesday after Monday's deadline
    assert late.deniable_days == tuple(date(2026, 12, d) for d in range(4, 9))


def test_an_emergency_admission_is_never_flagged_late():
    result = stay_clocks.late_notice(pt(2026, 12, 4, 22, 0), pt(2026, 12, 14, 10, 0), "emergency")
    assert not result.late and result.deniable_days == () and "438.114(d)" in result.reason
    assert result.business_days_late > 0


def test_review_due_is_the_earliest_of_admission_review_next_review_last_approved_day_and_request_clock():
    common = dict(lob="medi-cal", urgency="urgent", category="inpatient")
    notified = pt(2026, 12, 1, 9, 0)
    assert stay_clocks.review_due(notified_at=notified, determined=False, next_review=None, approved_through=None,
                                  oldest_undecided_request=notified, **common) == pt(2026, 12, 2, 9, 0)
    due = stay_clocks.review_due(notified_at=notified, determined=True, next_review=date(2026, 12, 4),
                                 approved_through=date(2026, 12, 3), oldest_undecided_request=None, **common)
    assert due == pt(2026, 12, 3, 23, 59, 59)
    due = stay_clocks.review_due(notified_at=notified, determined=True, next_review=date(2026, 12, 4),
                                 approved_through=date(2026, 12, 9), oldest_undecided_request=None, **common)
    assert due == pt(2026, 12, 4, 23, 59, 59)
    # Days asked for on 12/1 09:00 and left undecided: their urgent concurrent decision is due 72 hours later.
    due = stay_clocks.review_due(notified_at=notified, determined=True, next_review=date(2026, 12, 10),
                                 approved_through=date(2026, 12, 9), oldest_undecided_request=notified, **common)
    assert due == pt(2026, 12, 4, 9, 0)
    assert stay_clocks.review_due(notified_at=notified, determined=True, next_review=date(2026, 12, 4),
                                  approved_through=None, oldest_undecided_request=None, discharged=True,
                                  **common) is None


@pytest.mark.parametrize("days, readmission", [(0, True), (29, True), (30, True), (31, False), (-1, False)])
def test_readmission_within_30_days(days, readmission):
    discharged = pt(2026, 10, 1, 14, 0)
    admitted = pt(2026, 10, 1, 9, 0) + timedelta(days=days)
    assert stay_clocks.is_readmission(discharged, admitted) is readmission
    assert stay_clocks.days_between_stays(discharged, admitted) == days


def test_readmission_counts_plan_local_days():
    # 11:30 PM PT on Oct 1 is Oct 2 in UTC; 30 plan days later is Oct 31.
    discharged = pt(2026, 10, 1, 23, 30)
    assert stay_clocks.is_readmission(discharged, pt(2026, 10, 31, 0, 10))
    assert not stay_clocks.is_readmission(discharged, pt(2026, 11, 1, 0, 10))
