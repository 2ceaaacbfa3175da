"""Plan business-day calendar: holidays by rule, observed shifts, admin edits, business hours.

Expected dates are hand-computed from a wall calendar (2026-01-01 is a Thursday, 2027-01-01 a Friday,
2028-01-01 a Saturday) and cross-checked against the `holidays` package.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import holidays as holidays_package
import pytest

from app.domain.calendar import (
    BusinessCalendar,
    CalendarDataError,
    calendar_from_data,
    default_calendar,
    load_calendar,
    nth_weekday,
)

LA = ZoneInfo("America/Los_Angeles")
D = date.fromisoformat


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return default_calendar()


def shipped_data() -> dict:
    from app.domain.calendar import HOLIDAYS_FILE

    return json.loads(HOLIDAYS_FILE.read_text(encoding="utf-8"))


# ----- each holiday and its observed shift ---------------------------------------------------------------
HOLIDAYS_2026 = {
    "2026-01-01": "New Year's Day",  # Thursday
    "2026-01-19": "Martin Luther King Jr. Day",  # 3rd Monday
    "2026-02-16": "Presidents' Day",  # 3rd Monday
    "2026-05-25": "Memorial Day",  # last Monday (May 31 is a Sunday)
    "2026-06-19": "Juneteenth",  # Friday
    "2026-07-03": "Independence Day (observed)",  # July 4 is a Saturday -> Friday before
    "2026-09-07": "Labor Day",  # 1st Monday (Sep 1 is a Tuesday)
    "2026-11-11": "Veterans Day",  # Wednesday
    "2026-11-26": "Thanksgiving Day",  # 4th Thursday
    "2026-11-27": "Day after Thanksgiving",
    "2026-12-25": "Christmas Day",  # Friday
}

HOLIDAYS_2027 = {
    "2027-01-01": "New Year's Day",
    "2027-01-18": "Martin Luther King Jr. Day",
    "2027-02-15": "Presidents' Day",
    "2027-05-31": "Memorial Day",
    "2027-06-18": "Juneteenth (observed)",  # June 19 is a Saturday
    "2027-07-05": "Independence Day (observed)",  # July 4 is a Sunday -> Monday after
    "2027-09-06": "Labor Day",
    "2027-11-11": "Veterans Day",
    "2027-11-25": "Thanksgiving Day",
    "2027-11-26": "Day after Thanksgiving",
    "2027-12-24": "Christmas Day (observed)",  # Dec 25 is a Saturday
    "2027-12-31": "New Year's Day (observed)",  # New Year's Day 2028 is a Saturday
}

HOLIDAYS_2028 = {  # no New Year's Day in January: it was observed on 2027-12-31
    "2028-01-17": "Martin Luther King Jr. Day",
    "2028-02-21": "Presidents' Day",
    "2028-05-29": "Memorial Day",
    "2028-06-19": "Juneteenth",
    "2028-07-04": "Independence Day",
    "2028-09-04": "Labor Day",
    "2028-11-10": "Veterans Day (observed)",  # Nov 11 is a Saturday
    "2028-11-23": "Thanksgiving Day",
    "2028-11-24": "Day after Thanksgiving",
    "2028-12-25": "Christmas Day",
}


@pytest.mark.parametrize("year, expected", [(2026, HOLIDAYS_2026), (2027, HOLIDAYS_2027), (2028, HOLIDAYS_2028)])
def test_holidays_of_a_year_by_hand(cal, year, expected):
    got = {day.isoformat(): name for day, name in cal.holidays_in(year).items()}
    assert got == expected


@pytest.mark.parametrize("day, name", sorted({**HOLIDAYS_2026, **HOLIDAYS_2027, **HOLIDAYS_2028}.items()))
def test_each_observed_holiday_is_not_a_business_day(cal, day, name):
    assert cal.is_holiday(D(day))
    assert not cal.is_business_day(D(day))
    assert cal.holiday_name(D(day)) == name


@pytest.mark.parametrize("day", [
    "2022-12-26",  # Christmas 2022 on a Sunday -> Monday after
    "2022-06-20",  # Juneteenth 2022 on a Sunday -> Monday after
    "2023-01-02",  # New Year's Day 2023 on a Sunday -> Monday after
    "2021-12-31",  # New Year's Day 2022 on a Saturday -> Friday before, previous year
    "2034-01-02",  # New Year's Day 2034 on a Sunday -> Monday after
])
def test_sunday_and_saturday_shifts(cal, day):
    assert cal.is_holiday(D(day))


def test_new_years_day_2028_is_observed_in_2027(cal):
    assert D("2027-12-31") in cal.holidays_in(2027)
    assert D("2027-12-31") not in cal.holidays_in(2028)
    assert D("2028-01-01") not in cal.holidays_in(2028)  # a Saturday: observed the day before
    assert not cal.is_business_day(D("2027-12-31"))
    assert cal.next_business_day(D("2027-12-30")) == D("2028-01-03")


def test_weekend_holiday_dates_themselves_are_not_listed(cal):
    assert D("2026-07-04") not in cal.holidays_in(2026)  # Saturday; observed 2026-07-03
    assert not cal.is_business_day(D("2026-07-04"))  # still a weekend day


@pytest.mark.parametrize("year", range(2022, 2041))
def test_rules_agree_with_the_holidays_package(cal, year):
    """Independent oracle: US federal observed holidays, minus Columbus Day, plus the day after Thanksgiving."""
    federal = holidays_package.US(years=[year - 1, year, year + 1], observed=True)
    expected = set()
    for day, name in federal.items():
        if day.year != year or "Columbus" in name:
            continue
        if day.weekday() >= 5:  # the package lists the weekend date and its observed weekday both
            continue
        expected.add(day)
        if name.startswith("Thanksgiving"):
            expected.add(date.fromordinal(day.toordinal() + 1))
    assert set(cal.holidays_in(year)) == expected


def test_nth_weekday():
    assert nth_weekday(2026, 11, 3, 4) == D("2026-11-26")  # 4th Thursday
    assert nth_weekday(2026, 5, 0, -1) == D("2026-05-25")  # last Monday
    assert nth_weekday(2026, 8, 0, -1) == D("2026-08-31")  # last day of month is itself a Monday
    assert nth_weekday(2026, 6, 0, 1) == D("2026-06-01")  # first day of month is itself a Monday


# ----- administrator edits ------------------------------------------------------------------------------
def test_added_and_removed_days():
    data = shipped_data()
    data["added"] = [{"date": "2026-12-24", "name": "Christmas Eve (plan)"}, "2026-12-31"]
    data["removed"] = ["2026-11-27"]
    edited = calendar_from_data(data)
    assert edited.holiday_name(D("2026-12-24")) == "Christmas Eve (plan)"
    assert edited.is_holiday(D("2026-12-31"))
    assert not edited.is_holiday(D("2026-11-27"))
    assert edited.is_business_day(D("2026-11-27"))
    # Wed 2026-11-25 + 1 business day skips Thanksgiving only now
    assert edited.add_business_days(D("2026-11-25"), 1) == D("2026-11-27")
    assert default_calendar().add_business_days(D("2026-11-25"), 1) == D("2026-11-30")


def test_removing_an_observed_day_that_crosses_the_year(tmp_path):
    data = shipped_data()
    data["removed"] = ["2027-12-31"]
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    edited = load_calendar(path)
    assert edited.is_business_day(D("2027-12-31"))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["rules"].append({"name": "x"}), "name' and 'month"),
    (lambda d: d["rules"].append({"name": "x", "month": 13, "day": 1}), "month 13"),
    (lambda d: d["rules"].append({"name": "x", "month": 2, "day": 30}), "day is out of range"),
    (lambda d: d["rules"].append({"name": "x", "month": 2, "weekday": "funday", "nth": 1}), "weekday"),
    (lambda d: d["rules"].append({"name": "x", "month": 2, "weekday": "monday", "nth": 7}), "nth"),
    (lambda d: d["added"].append("2026-13-01"), r"added\[0\]"),
    (lambda d: d["business_hours"].update(open="18:00"), "before close"),
    (lambda d: d.update(time_zone="Mars/Olympus"), "time_zone"),
])
def test_bad_calendar_data_is_reported_with_its_place(mutate, message):
    data = shipped_data()
    mutate(data)
    with pytest.raises(CalendarDataError, match=message):
        calendar_from_data(data)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(CalendarDataError, match="missing"):
        load_calendar(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(CalendarDataError, match="not valid JSON"):
        load_calendar(broken)


# ----- business days and business hours -----------------------------------------------------------------
@pytest.mark.parametrize("start, count, expected", [
    ("2026-06-09", 0, "2026-06-09"),
    ("2026-06-09", 5, "2026-06-16"),  # Tue -> next Tue
    ("2026-06-12", 1, "2026-06-15"),  # Fri -> Mon
    ("2026-06-13", 1, "2026-06-15"),  # Sat (day 0 need not be a business day) -> Mon
    ("2026-11-20", 5, "2026-12-01"),  # across Thanksgiving and the day after
    ("2026-06-16", 5, "2026-06-24"),  # across Juneteenth (Fri 06-19)
    ("2027-12-29", 2, "2028-01-03"),  # across the 2027-12-31 observed New Year's Day
    ("2028-02-25", 2, "2028-02-29"),  # leap day is a business day (Tuesday)
])
def test_add_business_days(cal, start, count, expected):
    assert cal.add_business_days(D(start), count) == D(expected)
    assert cal.business_days_between(D(start), D(expected)) == count


@pytest.mark.parametrize("local, expected", [
    ("2026-11-20T16:59:59", "2026-11-20T16:59:59"),  # Friday, still open
    ("2026-11-20T17:00:00", "2026-11-23T08:00:00"),  # Friday at closing: next business day
    ("2026-11-20T17:01:00", "2026-11-23T08:00:00"),  # Friday 17:01
    ("2026-11-21T10:00:00", "2026-11-23T08:00:00"),  # Saturday
    ("2026-11-22T23:59:00", "2026-11-23T08:00:00"),  # Sunday night
    ("2026-11-24T07:59:00", "2026-11-24T08:00:00"),  # before 08:00 on a business day: same day
    ("2026-11-24T08:00:00", "2026-11-24T08:00:00"),  # at opening: open
    ("2026-11-25T18:00:00", "2026-11-30T08:00:00"),  # Thanksgiving eve: Thu, Fri holidays, weekend
    ("2026-11-26T07:00:00", "2026-11-30T08:00:00"),  # before 08:00 on a holiday
    ("2026-12-24T18:00:00", "2026-12-28T08:00:00"),  # Christmas Eve after hours
    ("2027-12-30T17:30:00", "2028-01-03T08:00:00"),  # year end, observed New Year's Day 2027-12-31
])
def test_next_opening(cal, local, expected):
    instant = datetime.fromisoformat(local).replace(tzinfo=LA)
    assert cal.next_opening(instant) == datetime.fromisoformat(expected).replace(tzinfo=LA)
    assert cal.is_business_hours(instant) == (local == expected)


def test_next_opening_accepts_any_time_zone(cal):
    # 2026-11-21T00:30Z is Friday 2026-11-20 16:30 PST: open
    assert cal.next_opening(datetime(2026, 11, 21, 0, 30, tzinfo=ZoneInfo("UTC"))) == datetime(
        2026, 11, 20, 16, 30, tzinfo=LA)
    # 2026-11-21T01:30Z is Friday 17:30 PST: closed until Monday
    assert cal.next_opening(datetime(2026, 11, 21, 1, 30, tzinfo=ZoneInfo("UTC"))) == datetime(
        2026, 11, 23, 8, 0, tzinfo=LA)


def test_naive_instants_are_refused(cal):
    with pytest.raises(ValueError, match="time zone"):
        cal.next_opening(datetime(2026, 11, 20, 10, 0))


def test_end_of_day_is_23_59_59_plan_time(cal):
    assert cal.end_of_day(D("2026-03-08")).isoformat() == "2026-03-08T23:59:59-07:00"  # DST began that day
    assert cal.end_of_day(D("2026-11-01")).isoformat() == "2026-11-01T23:59:59-08:00"  # DST ended that day
    assert cal.opening(D("2026-06-09")).time() == time(8, 0)
