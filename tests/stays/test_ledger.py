"""The day ledger's arithmetic (app.domain.stays.Ledger): partial approvals, levels of care, leave, discharge."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.stays import (
    Ledger, StayError, default_next_review, ledger_outcome, lowers_level, may_deny_days, may_record,
)

ADMIT = date(2026, 11, 20)


def day(n: int) -> date:
    return ADMIT + timedelta(days=n)


def ledger_with(requested_through: int, level: str = "acute") -> Ledger:
    ledger = Ledger(ADMIT)
    return ledger.with_days(ledger.request_through(day(requested_through), level))


def statuses(ledger: Ledger) -> list[str]:
    return [d.status for d in ledger.days]


def test_requesting_days_starts_at_the_admission_and_continues_after_the_last_day():
    ledger = ledger_with(2)
    assert [d.day for d in ledger.days] == [day(0), day(1), day(2)]
    more = ledger.request_through(day(4), "acute")
    assert [d.day for d in more] == [day(3), day(4)]
    with pytest.raises(StayError, match="before the admission"):
        ledger.request_through(day(-1), "acute")
    with pytest.raises(StayError, match="already in the ledger"):
        ledger.request_through(day(1), "acute")


def test_a_partial_approval_leaves_the_rest_requested():
    ledger = ledger_with(4)
    changed = ledger.approve_through(day(2), "d1")
    ledger = ledger.with_days(changed)
    assert statuses(ledger) == ["approved"] * 3 + ["requested"] * 2
    assert ledger.approved_through == day(2)
    assert {d.determination_id for d in ledger.days[:3]} == {"d1"}
    ledger = ledger.with_days(ledger.approve_through(day(4), "d2"))
    assert [d.determination_id for d in ledger.days] == ["d1", "d1", "d1", "d2", "d2"]
    assert ledger.counts()["approved"] == 5


def test_approving_beyond_the_requested_days_or_before_the_admission_is_refused():
    ledger = ledger_with(2)
    with pytest.raises(StayError, match="Only days through 11/22/2026 were requested; 11/23/2026-11/24/2026"):
        ledger.approve_through(day(4), "d1")
    with pytest.raises(StayError, match="before the admission"):
        ledger.approve_through(day(-1), "d1")
    ledger = ledger.with_days(ledger.approve_through(day(2), "d1"))
    with pytest.raises(StayError, match="already decided"):
        ledger.approve_through(day(1), "d2")


def test_denial_takes_undecided_days_only():
    ledger = ledger_with(5)
    ledger = ledger.with_days(ledger.approve_through(day(2), "a"))
    with pytest.raises(StayError, match="already approved"):
        ledger.deny(day(2), day(4), "d")
    ledger = ledger.with_days(ledger.deny(day(3), day(4), "d"))
    assert statuses(ledger) == ["approved"] * 3 + ["denied"] * 2 + ["requested"]
    assert ledger_outcome(ledger) == "partially-approved"


def test_referral_pends_the_requested_days_and_the_answer_returns_them():
    ledger = ledger_with(3)
    ledger = ledger.with_days(ledger.approve_through(day(1), "a"))
    ledger = ledger.with_days(ledger.pend())
    assert statuses(ledger) == ["approved", "approved", "pending", "pending"]
    ledger = ledger.with_days(ledger.deny(day(2), day(2), "d"))
    ledger = ledger.with_days(ledger.unpend())
    assert statuses(ledger) == ["approved", "approved", "denied", "requested"]


def test_a_change_of_level_applies_from_its_day_and_keeps_approvals():
    ledger = ledger_with(5)
    ledger = ledger.with_days(ledger.approve_through(day(3), "a"))
    ledger = ledger.with_days(ledger.deny(day(4), day(4), "d"))
    changed = ledger.change_level(day(2), "administrative", "loc")
    ledger = ledger.with_days(changed)
    assert [d.level_of_care for d in ledger.days] == ["acute", "acute", "administrative", "administrative", "acute",
                                                      "administrative"]
    assert [d.determination_id for d in ledger.days] == ["a", "a", "loc", "loc", "d", None]
    assert statuses(ledger)[2:4] == ["approved", "approved"]
    assert ledger.days_by_level() == {"acute": 3, "administrative": 3}
    assert lowers_level("acute", "administrative") and not lowers_level("acute", "icu")


def test_leave_of_absence_days_are_not_bed_days():
    ledger = ledger_with(6, "snf")
    ledger = ledger.with_days(ledger.approve_through(day(6), "a"))
    ledger = ledger.with_days(ledger.leave(day(2), day(3)))
    counts = ledger.counts()
    assert counts["on_leave"] == 2 and counts["bed_days"] == 5 and counts["approved"] == 7
    with pytest.raises(StayError, match="already recorded on leave"):
        ledger.leave(day(2), day(3))
    with pytest.raises(StayError, match="ends .* before it starts"):
        ledger.leave(day(3), day(2))


def test_discharge_mid_day_does_not_count_the_discharge_day():
    ledger = ledger_with(5)
    ledger = ledger.with_days(ledger.approve_through(day(5), "a"))
    unused = ledger.discharge(day(3))  # left at 11:00 on the 4th day: three nights
    assert [d.day for d in unused] == [day(3), day(4), day(5)]
    ledger = ledger.with_days(unused)
    assert ledger.bed_days() == 3 and ledger.counts()["not-used"] == 3
    assert ledger.requested_through == day(2)


def test_a_same_day_stay_has_one_day():
    ledger = ledger_with(2)
    ledger = ledger.with_days(ledger.approve_through(day(0), "a"))
    unused = ledger.discharge(day(0))
    assert [d.day for d in unused] == [day(1), day(2)]
    assert ledger.with_days(unused).bed_days() == 1


def test_discharge_with_undecided_days_or_before_the_admission_is_refused():
    ledger = ledger_with(4)
    ledger = ledger.with_days(ledger.approve_through(day(1), "a"))
    with pytest.raises(StayError, match="11/22/2026-11/23/2026 \\(2 days\\) are still undecided"):
        ledger.discharge(day(4))
    with pytest.raises(StayError, match="before the admission"):
        ledger.discharge(day(-1))
    assert [d.day for d in ledger.discharge(day(2))] == [day(2), day(3), day(4)]  # the undecided ones unused


def test_outcome_of_a_whole_stay():
    ledger = ledger_with(1)
    assert ledger_outcome(ledger.with_days(ledger.approve_through(day(1), "a"))) == "approved"
    assert ledger_outcome(ledger.with_days(ledger.deny(day(0), day(1), "d"))) == "denied"


def test_next_review_by_level_of_care():
    today = date(2026, 12, 1)
    assert default_next_review("icu", today) == date(2026, 12, 2)
    assert default_next_review("acute", today) == date(2026, 12, 3)
    assert default_next_review("snf", today) == date(2026, 12, 15)
    with pytest.raises(StayError, match="level of care 'ward'"):
        default_next_review("ward", today)


def test_only_physicians_deny_days_and_never_an_emergency_for_late_notice():
    nurse = may_deny_days("um-nurse", "inpatient", "medical-necessity", member_under_21=False, involved=False,
                          emergency=False, late_notice=False)
    assert nurse is not None and "Only a physician" in nurse.reason and "medical-director" in nurse.who
    assert may_deny_days("medical-director", "inpatient", "medical-necessity", member_under_21=False,
                         involved=False, emergency=True, late_notice=False) is None
    emergency = may_deny_days("medical-director", "inpatient", "late-notice", member_under_21=False,
                              involved=False, emergency=True, late_notice=False)
    assert emergency is not None and "438.114(d)" in emergency.reason
    in_time = may_deny_days("medical-director", "inpatient", "late-notice", member_under_21=False, involved=False,
                            emergency=False, late_notice=False)
    assert in_time is not None and "in time" in in_time.reason
    assert may_deny_days("medical-director", "inpatient", "late-notice", member_under_21=False, involved=False,
                         emergency=False, late_notice=True) is None
    bh = may_deny_days("bh-clinical-director", "inpatient", "medical-necessity", member_under_21=False,
                       involved=False, emergency=False, late_notice=False)
    assert bh is not None  # the BH clinical director decides BH/SUD stays only


def test_who_records_stay_facts():
    assert may_record("um-coordinator", "discharge", "inpatient") is None
    refusal = may_record("auditor", "discharge", "inpatient")
    assert refusal is not None and refusal.reason.startswith("An Auditor may not record a discharge")
    assert "um-nurse" in refusal.who
    assert may_record("um-coordinator", "care-plan", "inpatient") is not None


def test_a_denied_day_after_the_discharge_stays_denied_and_is_no_bed_day():
    ledger = ledger_with(4)
    ledger = ledger.with_days(ledger.approve_through(day(2), "a"))
    ledger = ledger.with_days(ledger.deny(day(3), day(4), "d"))
    unused = ledger.discharge(day(2))
    assert [d.day for d in unused] == [day(2)]  # the discharge day; days 3 and 4 were denied: they stay so
    ledger = ledger.with_days(unused).discharged(day(2))
    assert ledger.bed_days() == 2 and ledger.last_bed_day == day(1)
    assert ledger_outcome(ledger) == "partially-approved"
