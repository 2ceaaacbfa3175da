"""Peer-to-peer rules (app.domain.p2p): slots across daylight-saving changes and holidays, the request window,
the offer, bookings against the decision due, the specialty match, who may do what, and the invitation."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import icalendar
import pytest
from hypothesis import example, given, settings, strategies as st

from app.domain import p2p
from app.domain.calendar import default_calendar
from app.domain.p2p import Availability, CaseFacts, Slot
from app.domain.p2p_invitation import Invitation, invitation_ics
from app.domain.plantime import PLAN_TZ

UTC = timezone.utc
CAL = default_calendar()


def weekly(weekday: int, start: str, end: str, minutes: int = 30, first=date(2026, 1, 1), last=None, id="w"):
    return Availability(id, "weekly", first, last, weekday, time.fromisoformat(start), time.fromisoformat(end),
                        minutes)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ----- slots across daylight-saving changes ----------------------------------------------------------------------
def test_weekly_hours_keep_their_wall_clock_time_across_the_spring_change():
    # Mondays 09:00-10:00 PT: 17:00 UTC in winter (PST), 16:00 UTC after Sunday 8 March 2026 (PDT).
    slots = p2p.generate_slots("dr.shah", [weekly(0, "09:00", "10:00")], date(2026, 3, 2), date(2026, 3, 9), CAL)
    assert [s.start for s in slots] == [utc("2026-03-02T17:00"), utc("2026-03-02T17:30"),
                                        utc("2026-03-09T16:00"), utc("2026-03-09T16:30")]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert all(s.start.astimezone(PLAN_TZ).hour == 9 for s in slots)


def test_weekly_hours_keep_their_wall_clock_time_across_the_autumn_change():
    slots = p2p.generate_slots("dr.shah", [weekly(0, "09:00", "09:30")], date(2026, 10, 26), date(2026, 11, 2), CAL)
    assert [s.start for s in slots] == [utc("2026-10-26T16:00"), utc("2026-11-02T17:00")]


def test_the_spring_forward_hour_has_no_slots():
    # Sunday 8 March 2026: 02:00-03:00 does not exist. Hours 01:00-04:00 give 01:00, 01:30, 03:00, 03:30 only.
    entry = Availability("o", "one-off", date(2026, 3, 8), date(2026, 3, 8), None, time(1), time(4), 30)
    slots = p2p.generate_slots("dr.shah", [entry], date(2026, 3, 8), date(2026, 3, 8), CAL)
    local = [s.start.astimezone(PLAN_TZ).strftime("%H:%M") for s in slots]
    assert local == ["01:00", "01:30", "03:00", "03:30"]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert len({s.id for s in slots}) == 4


def test_the_fall_back_hour_keeps_only_slots_of_their_real_length():
    # Sunday 1 November 2026: 01:00-02:00 happens twice. A 30-minute slot at 01:30 (first time) would run to
    # 02:00 PST, 90 real minutes: left out. Every slot kept lasts exactly 30 minutes and none overlaps.
    entry = Availability("o", "one-off", date(2026, 11, 1), date(2026, 11, 1), None, time(0), time(3), 30)
    slots = p2p.generate_slots("dr.shah", [entry], date(2026, 11, 1), date(2026, 11, 1), CAL)
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert all(a.end <= b.start for a, b in zip(slots, slots[1:]))
    local = [s.start.astimezone(PLAN_TZ).strftime("%H:%M") for s in slots]
    assert local == ["00:00", "00:30", "01:00", "02:00", "02:30"]


@settings(max_examples=60, deadline=None)
@given(day=st.dates(date(2026, 1, 1), date(2028, 12, 31)), start=st.integers(0, 22 * 2), length=st.integers(1, 8),
       minutes=st.sampled_from(p2p.SLOT_MINUTES))
def test_every_slot_lasts_its_length_and_none_overlaps(day, start, length, minutes):
    begin = time(start // 2, 30 * (start % 2))
    end_minutes = min(start * 30 + length * 60, 24 * 60 - 1)
    end = time(end_minutes // 60, end_minutes % 60)
    if end <= begin:
        return
    entry = Availability("o", "one-off", day, day, None, begin, end, minutes)
    slots = p2p.generate_slots("r", [entry], day, day, CAL)
    assert all(s.end - s.start == timedelta(minutes=minutes) for s in slots)
    assert all(a.end <= b.start for a, b in zip(slots, slots[1:]))
    assert all(begin <= s.start.astimezone(PLAN_TZ).time() for s in slots)


# ----- holidays, one-off hours, out of office ------------------------------------------------------------------
def test_weekly_hours_are_not_held_on_plan_holidays_but_one_off_hours_are():
    # Thursday 26 November 2026 is Thanksgiving, Friday the 27th the day after.
    entries = [weekly(3, "10:00", "11:00"), weekly(4, "10:00", "11:00")]
    slots = p2p.generate_slots("dr.shah", entries, date(2026, 11, 19), date(2026, 12, 4), CAL)
    days = sorted({s.start.astimezone(PLAN_TZ).date() for s in slots})
    assert days == [date(2026, 11, 19), date(2026, 11, 20), date(2026, 12, 3), date(2026, 12, 4)]
    on_call = Availability("o", "one-off", date(2026, 11, 27), date(2026, 11, 27), None, time(9), time(10), 30)
    slots = p2p.generate_slots("dr.shah", entries + [on_call], date(2026, 11, 26), date(2026, 11, 27), CAL)
    assert [s.start.astimezone(PLAN_TZ).strftime("%m-%d %H:%M") for s in slots] == ["11-27 09:00", "11-27 09:30"]


def test_weekly_hours_keep_to_their_first_and_last_day():
    entry = weekly(1, "09:00", "10:00", 60, first=date(2026, 12, 8), last=date(2026, 12, 15))
    slots = p2p.generate_slots("r", [entry], date(2026, 12, 1), date(2026, 12, 31), CAL)
    assert [s.start.astimezone(PLAN_TZ).date() for s in slots] == [date(2026, 12, 8), date(2026, 12, 15)]


def test_out_of_office_blocks_remove_the_slots_they_touch():
    entries = [weekly(d, "09:00", "12:00") for d in range(5)]
    away = Availability("a", "out-of-office", date(2026, 12, 1), date(2026, 12, 2), None, time(10, 15), time(11))
    slots = p2p.generate_slots("r", entries + [away], date(2026, 11, 30), date(2026, 12, 3), CAL)
    by_day = {}
    for s in slots:
        by_day.setdefault(s.start.astimezone(PLAN_TZ).date(), []).append(s.start.astimezone(PLAN_TZ).strftime("%H:%M"))
    assert len(by_day[date(2026, 11, 30)]) == 6
    assert by_day[date(2026, 12, 1)] == ["09:00", "09:30"]  # away from 10:15 on the 1st (10:00-10:30 touches it)
    assert by_day[date(2026, 12, 2)] == ["11:00", "11:30"]  # ... to 11:00 on the 2nd
    whole_day = Availability("b", "out-of-office", date(2026, 12, 3), date(2026, 12, 3))
    slots = p2p.generate_slots("r", entries + [whole_day], date(2026, 12, 3), date(2026, 12, 3), CAL)
    assert slots == []


def test_free_slots_are_future_and_not_booked():
    slots = p2p.generate_slots("r", [weekly(0, "09:00", "11:00")], date(2026, 12, 7), date(2026, 12, 7), CAL)
    taken = {slots[2].start}
    free = p2p.free_slots(slots, taken, now=slots[0].start)
    assert [s.start for s in free] == [slots[1].start, slots[3].start]


def test_overlapping_hours_are_detected():
    assert p2p.hours_overlap(weekly(0, "09:00", "11:00"), weekly(0, "10:30", "12:00"))
    assert not p2p.hours_overlap(weekly(0, "09:00", "11:00"), weekly(0, "11:00", "12:00"))
    assert not p2p.hours_overlap(weekly(0, "09:00", "11:00"), weekly(1, "09:00", "11:00"))
    one_monday = Availability("o", "one-off", date(2026, 12, 7), date(2026, 12, 7), None, time(10), time(10, 30))
    one_tuesday = Availability("o", "one-off", date(2026, 12, 8), date(2026, 12, 8), None, time(10), time(10, 30))
    assert p2p.hours_overlap(weekly(0, "09:00", "11:00"), one_monday)
    assert not p2p.hours_overlap(weekly(0, "09:00", "11:00"), one_tuesday)
    ended = weekly(0, "09:00", "11:00", last=date(2026, 12, 1))
    assert not p2p.hours_overlap(ended, one_monday)


@pytest.mark.parametrize("kwargs, words", [
    (dict(kind="weekly", first_day=date(2026, 12, 1), weekday=None, start=time(9), end=time(10)), "weekday"),
    (dict(kind="one-off", first_day=date(2026, 12, 1), start=time(10), end=time(9)), "before they start"),
    (dict(kind="one-off", first_day=date(2026, 12, 1), start=time(9), end=time(9, 20), slot_minutes=30),
     "shorter than one"),
    (dict(kind="one-off", first_day=date(2026, 12, 1), start=time(9), end=time(10), slot_minutes=25),
     "one of 15, 20, 30"),
    (dict(kind="out-of-office", first_day=date(2026, 12, 2), last_day=date(2026, 12, 1)), "ends before"),
    (dict(kind="holiday", first_day=date(2026, 12, 1)), "kind of availability"),
])
def test_bad_availability_is_described(kwargs, words):
    assert words in p2p.availability_problem(**kwargs)


def test_slot_ids_round_trip_and_bad_ones_say_what_they_look_like():
    slot = Slot("dr.shah", utc("2026-11-24T18:00"), utc("2026-11-24T18:30"))
    assert slot.id == "dr.shah@20261124T1800Z"
    assert p2p.parse_slot_id(slot.id) == ("dr.shah", slot.start)
    for bad in ("dr.shah", "@20261124T1800Z", "dr.shah@2026-11-24", ""):
        with pytest.raises(ValueError, match="slot ids look like"):
            p2p.parse_slot_id(bad)


# ----- which peer-to-peer, and its window --------------------------------------------------------------------
def facts(**kw) -> CaseFacts:
    base = dict(tar="90000000042", status="determined", outcome="denied", basis="medical-necessity",
                decided_at=utc("2026-11-20T18:00"), decision_due=utc("2026-11-25T07:59:59"),
                review_timing="pre-service")
    base.update(kw)
    return CaseFacts(**base)


def test_a_denial_window_is_five_business_days_after_the_decision_skipping_thanksgiving():
    # Decided Friday 20 November 2026: Mon 23, Tue 24, Wed 25, (Thanksgiving 26, 27 off), Mon 30, Tue 1 Dec.
    kind, window, why = p2p.request_refusal(facts(), utc("2026-11-24T18:00"), CAL)
    assert (kind, why) == ("denial", None)
    assert window.closes == datetime(2026, 12, 1, 23, 59, 59, tzinfo=PLAN_TZ)
    assert "5 business days after the decision on Fri 11/20/2026" in window.basis
    _, _, why = p2p.request_refusal(facts(), utc("2026-12-02T08:00"), CAL)  # 00:00 PT on Wed 2 Dec
    assert "window of TAR 90000000042 closed Tue 12/01/2026 11:59 PM PT" in why and "may appeal" in why


def test_the_window_length_is_configurable():
    _, window, _ = p2p.request_refusal(facts(), utc("2026-11-24T18:00"), CAL, business_days=2)
    assert window.closes == datetime(2026, 11, 24, 23, 59, 59, tzinfo=PLAN_TZ)


def test_a_concurrent_denial_window_closes_at_discharge():
    concurrent = facts(review_timing="concurrent", discharge_day=date(2026, 11, 22))
    _, window, why = p2p.request_refusal(concurrent, utc("2026-11-21T18:00"), CAL)
    assert why is None and window.closes == datetime(2026, 11, 22, 23, 59, 59, tzinfo=PLAN_TZ)
    assert "discharge" in window.basis
    _, _, why = p2p.request_refusal(concurrent, utc("2026-11-23T18:00"), CAL)
    assert "discharge on Sun 11/22/2026" in why
    unknown = facts(review_timing="concurrent", discharge_day=None)  # no discharge known: the business days
    _, window, _ = p2p.request_refusal(unknown, utc("2026-11-21T18:00"), CAL)
    assert window.closes == datetime(2026, 12, 1, 23, 59, 59, tzinfo=PLAN_TZ)


def test_expected_discharge_from_the_lines_or_the_length_of_stay():
    received = utc("2026-11-20T18:00")
    assert p2p.expected_discharge(received, 3, [date(2026, 11, 25), None, date(2026, 11, 24)]) == date(2026, 11, 25)
    assert p2p.expected_discharge(received, 3, [None]) == date(2026, 11, 23)
    assert p2p.expected_discharge(received, None, []) is None


def test_a_potential_denial_window_is_the_decision_due():
    potential = facts(status="referred", outcome=None, decided_at=None, referred_to="physician")
    kind, window, why = p2p.request_refusal(potential, utc("2026-11-24T18:00"), CAL)
    assert kind == "potential-denial" and why is None and window.closes == potential.decision_due
    held = facts(status="in-review", outcome=None, decided_at=None, holder_role="medical-director")
    assert p2p.kind_of(held) == ("potential-denial", None)
    _, _, why = p2p.request_refusal(potential, utc("2026-11-25T08:00"), CAL)
    assert "closed" in why and "may appeal" not in why


@pytest.mark.parametrize("kw, words", [
    (dict(outcome="approved"), "was approved"),
    (dict(outcome="withdrawn"), "was withdrawn"),
    (dict(basis="benefit"), "not a covered benefit"),
    (dict(status="in-review", outcome=None, holder_role="um-nurse"), "Refer it to a physician"),
])
def test_no_peer_to_peer_is_offered_where_it_does_not_apply(kw, words):
    kind, _, why = p2p.request_refusal(facts(**kw), utc("2026-11-21T18:00"), CAL)
    assert kind is None and words in why


def test_a_modification_and_a_denial_without_a_recorded_basis_are_offered():
    assert p2p.kind_of(facts(outcome="partially-approved"))[0] == "denial"
    assert p2p.kind_of(facts(basis=None))[0] == "denial"  # demo determinations carry no basis


def test_no_peer_to_peer_once_an_appeal_is_filed():
    appealed = facts(appeal_filed_at=utc("2026-11-23T18:00"))
    kind, _, why = p2p.request_refusal(appealed, utc("2026-11-24T18:00"), CAL)
    assert kind == "denial" and "An appeal was filed" in why and "becomes part of the appeal" in why


def test_a_potential_denial_call_must_end_before_the_decision_is_due():
    due = utc("2026-11-25T07:59:59")
    now = utc("2026-11-24T18:00")
    early = Slot("dr.shah", utc("2026-11-24T22:00"), utc("2026-11-24T22:30"))
    late = Slot("dr.shah", utc("2026-11-25T07:45"), utc("2026-11-25T08:15"))
    assert p2p.booking_refusal("potential-denial", early, due, now) is None
    why = p2p.booking_refusal("potential-denial", late, due, now)
    assert "due Tue 11/24/2026 11:59 PM PT" in why and "does not pause" in why
    assert p2p.booking_refusal("denial", late, due, now) is None  # a denial's call may come after that due
    assert "already started" in p2p.booking_refusal("denial", early, due, utc("2026-11-24T22:10"))


def test_two_missed_windows_close_the_request():
    assert not p2p.missed_windows_close(1)
    assert p2p.missed_windows_close(2)


# ----- specialty match and authority ------------------------------------------------------------------------
@pytest.mark.parametrize("reviewer, requester, match", [
    ("Orthopaedic Surgery", "Orthopaedic Surgery", "same"),
    ("Internal Medicine", "Cardiology", "similar"),
    ("Internal Medicine", "family medicine", "similar"),
    ("Psychiatry", "Addiction Medicine", "similar"),
    ("Orthopaedic Surgery", "Physical Medicine and Rehabilitation", "similar"),
    ("Psychiatry", "Cardiology", "different"),
    ("Internal Medicine", None, "unknown"),
])
def test_specialty_match(reviewer, requester, match):
    assert p2p.specialty_match(reviewer, requester) == match


def test_who_may_schedule_and_keep_availability():
    assert p2p.may_schedule("um-coordinator") is None and p2p.may_schedule("medical-director") is None
    refusal = p2p.may_schedule("um-nurse")
    assert "does not schedule" in refusal.reason and "um-coordinator" in refusal.who
    assert p2p.may_keep_availability("medical-director", own=True, target_role="medical-director") is None
    assert p2p.may_keep_availability("um-coordinator", own=False, target_role="medical-director") is None
    assert "only your own" in p2p.may_keep_availability("medical-director", own=False,
                                                         target_role="medical-director").reason
    assert "does not hold peer-to-peer calls" in p2p.may_keep_availability("um-coordinator", own=False,
                                                                           target_role="um-nurse").reason


def test_only_a_physician_records_a_held_calls_result():
    refusal = p2p.may_record_call("um-coordinator", "held", is_peer=False, is_decider=False, peer_is_physician=True)
    assert "Only a physician" in refusal.reason and set(refusal.who) == {"medical-director", "bh-clinical-director"}
    assert p2p.may_record_call("medical-director", "held", is_peer=True, is_decider=False,
                               peer_is_physician=True) is None
    other = p2p.may_record_call("medical-director", "held", is_peer=False, is_decider=True, peer_is_physician=True)
    assert "booked with another reviewer" in other.reason
    # a pharmacist held it: the deciding physician records the result
    assert p2p.may_record_call("medical-director", "held", is_peer=False, is_decider=True,
                               peer_is_physician=False) is None
    assert p2p.may_record_call("um-coordinator", "no-show", is_peer=False, is_decider=False,
                               peer_is_physician=True) is None
    assert "may not record a missed" in p2p.may_record_call("auditor", "no-show", is_peer=False, is_decider=False,
                                                             peer_is_physician=True).reason


def test_peers_fit_for_the_case():
    assert p2p.peer_unfit("medical-director", "outpatient") is None
    assert "does not review this service category" in p2p.peer_unfit("bh-clinical-director", "outpatient")
    assert p2p.peer_unfit("clinical-pharmacist", "medication") is None
    assert "conflict of interest" in p2p.peer_unfit("medical-director", "outpatient", involved=True)
    assert "does not hold" in p2p.peer_unfit("um-nurse", "outpatient")


# ----- the invitation --------------------------------------------------------------------------------------
def test_the_invitation_names_the_case_by_its_tar_only_and_reads_back():
    invitation = Invitation(uid="b1@umws", tar="90000000042", starts_at=utc("2026-11-24T18:00"),
                            ends_at=utc("2026-11-24T18:30"), reviewer_name="Arun Shah, MD",
                            reviewer_phone="1-707-555-0141", requester_name="Tina Clark, MD",
                            requester_phone="(707) 555-0100", plan_name="Golden Valley Health Plan",
                            plan_phone="1-800-555-0188", stamp=utc("2026-11-23T18:00"))
    data = invitation_ics(invitation)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["method"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("dtstart") == utc("2026-11-24T18:00")
    assert event.decoded("dtstart").astimezone(PLAN_TZ).hour == 10
    assert str(event["uid"]) == "b1@umws" and "TAR 90000000042" in str(event["summary"])
    assert calendar.walk("VTIMEZONE")  # the plan's zone travels with it
    cancelled = icalendar.Calendar.from_ical(invitation_ics(
        Invitation(**{**invitation.__dict__, "cancelled": True, "sequence": 1})))
    assert cancelled["method"] == "CANCEL" and cancelled.walk("VEVENT")[0]["status"] == "CANCELLED"
    assert int(cancelled.walk("VEVENT")[0]["sequence"]) == 1


def _reference_slots(entries, first, last):
    """The slots counted the slow, obvious way: every wall-clock step of every entry on every day, checked one by
    one (exists, real length), then the out-of-office blocks."""
    found = []
    day = first
    while day <= last:
        for e in entries:
            if e.kind == "out-of-office" or not (e.on(day) and (e.kind == "one-off" or not CAL.is_holiday(day))):
                continue
            minute = e.start.hour * 60 + e.start.minute
            while minute + e.slot_minutes <= e.end.hour * 60 + e.end.minute:
                local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=PLAN_TZ)
                start = local.astimezone(UTC)
                end = (local + timedelta(minutes=e.slot_minutes)).astimezone(UTC)
                exists = start.astimezone(PLAN_TZ).replace(tzinfo=None) == local.replace(tzinfo=None)
                if exists and end - start == timedelta(minutes=e.slot_minutes):
                    found.append((start, end))
                minute += e.slot_minutes
        day += timedelta(days=1)
    blocks = [e.interval() for e in entries if e.kind == "out-of-office"]
    return sorted(s for s in found if not any(s[0] < b_end and b_start < s[1] for b_start, b_end in blocks))


@settings(max_examples=80, deadline=None)
@example(first=date(2026, 3, 1), days=14, weekday=6, start=2, hours=4, minutes=30, away=20, away_days=0)
@example(first=date(2026, 10, 25), days=14, weekday=6, start=0, hours=3, minutes=20, away=1, away_days=1)
@example(first=date(2026, 11, 20), days=10, weekday=3, start=16, hours=2, minutes=30, away=12, away_days=0)
@given(first=st.dates(date(2026, 1, 1), date(2028, 12, 1)), days=st.integers(0, 40),
       weekday=st.integers(0, 6), start=st.integers(0, 40), hours=st.integers(1, 6),
       minutes=st.sampled_from(p2p.SLOT_MINUTES), away=st.integers(0, 40), away_days=st.integers(0, 3))
def test_the_fast_generator_matches_the_slow_reference(first, days, weekday, start, hours, minutes, away, away_days):
    """Around daylight-saving changes, holidays and out-of-office blocks, the day-by-day generator (one conversion a
    day, precomputed offsets) finds exactly the slots the slow step-by-step count finds."""
    begin = time(start // 2, 30 * (start % 2))
    end_minutes = min(start * 30 + hours * 60, 24 * 60 - 1)
    last = first + timedelta(days=days)
    entries = [Availability("w", "weekly", first, None, weekday, begin, time(end_minutes // 60, end_minutes % 60),
                            minutes),
               Availability("o", "one-off", first + timedelta(days=days // 2), first + timedelta(days=days // 2),
                            None, time(1), time(3, 30), minutes),
               Availability("a", "out-of-office", first + timedelta(days=away),
                            first + timedelta(days=away + away_days), None, time(10), time(12))]
    if p2p.availability_problem("weekly", first_day=first, weekday=weekday, start=entries[0].start,
                                end=entries[0].end, slot_minutes=minutes):
        return
    fast = [(s.start, s.end) for s in p2p.generate_slots("r", entries, first, last, CAL)]
    reference = _reference_slots(entries, first, last)
    kept = []  # the generator keeps the earlier of two overlapping slots (the weekly and the one-off hours here)
    for slot in reference:
        if not kept or slot[0] >= kept[-1][1]:
            kept.append(slot)
    assert fast == kept
