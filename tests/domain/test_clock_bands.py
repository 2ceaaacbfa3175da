"""Clock bands at their boundaries (issue 4, scope 3): on track, under 25% left, under 4 h, overdue."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.domain.clock_bands import BANDS, band

UTC = timezone.utc
RECEIVED = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
S = timedelta(seconds=1)

# (window received -> due, time left at `now`, expected band id)
CASES = [
    # 72-hour clock: 25% of the window is 18 h
    (timedelta(hours=72), timedelta(hours=72), "on-track"),  # at receipt
    (timedelta(hours=72), timedelta(hours=18), "on-track"),  # exactly 25% left is not "under 25%"
    (timedelta(hours=72), timedelta(hours=18) - S, "at-risk"),
    (timedelta(hours=72), timedelta(hours=4), "at-risk"),  # exactly 4 h left is not "under 4 h"
    (timedelta(hours=72), timedelta(hours=4) - S, "under-4h"),
    (timedelta(hours=72), timedelta(0), "under-4h"),  # exactly at the due is in time
    (timedelta(hours=72), -S, "overdue"),
    (timedelta(hours=72), -timedelta(days=3), "overdue"),
    # 7 calendar days (168 h): 25% is 42 h
    (timedelta(days=7), timedelta(hours=42), "on-track"),
    (timedelta(days=7), timedelta(hours=42) - S, "at-risk"),
    # 30 days: 25% is 7.5 days
    (timedelta(days=30), timedelta(days=7, hours=12), "on-track"),
    (timedelta(days=30), timedelta(days=7, hours=12) - S, "at-risk"),
    # 8-hour window: 25% (2 h) is inside the last 4 h, so it goes straight from on track to under 4 h
    (timedelta(hours=8), timedelta(hours=4), "on-track"),
    (timedelta(hours=8), timedelta(hours=4) - S, "under-4h"),
    # post-stabilization, 30 minutes: under 4 h from the moment of receipt
    (timedelta(minutes=30), timedelta(minutes=30), "under-4h"),
    (timedelta(minutes=30), timedelta(0), "under-4h"),
    (timedelta(minutes=30), -S, "overdue"),
    # 24-hour window: 25% is 6 h
    (timedelta(hours=24), timedelta(hours=6), "on-track"),
    (timedelta(hours=24), timedelta(hours=6) - S, "at-risk"),
]


@pytest.mark.parametrize("window, left, expected", CASES)
def test_band_boundaries(window, left, expected):
    due = RECEIVED + window
    assert band(RECEIVED, due, due - left).id == expected


@pytest.mark.parametrize("window, left, expected", CASES)
def test_band_does_not_depend_on_the_time_zone_of_the_inputs(window, left, expected):
    la, tokyo = ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Tokyo")
    due = RECEIVED + window
    assert band(RECEIVED.astimezone(la), due.astimezone(tokyo), (due - left).astimezone(la)).id == expected


def test_a_receipt_in_the_future_is_on_track():
    due = RECEIVED + timedelta(days=5)
    assert band(RECEIVED, due, RECEIVED - timedelta(hours=1)).id == "on-track"


def test_every_band_has_a_word_an_okabe_ito_colour_and_a_distinct_shape():
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
    assert list(BANDS) == ["on-track", "at-risk", "under-4h", "overdue"]
    assert [b.word for b in BANDS.values()] == ["On track", "Under 25% left", "Under 4 h", "Overdue"]
    assert all(b.colour in okabe_ito for b in BANDS.values())
    for attribute in ("colour", "symbol", "shape", "word"):  # colour never carries the meaning alone
        assert len({getattr(b, attribute) for b in BANDS.values()}) == 4, attribute
    assert [b.severity for b in BANDS.values()] == [0, 1, 2, 3]
