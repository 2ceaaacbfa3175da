"""Clock bands: how close a running clock is to its due, in words, colour and shape (issue 4, scope 3).

Issue 4, scope 3: the worklist's "Due in" column is shown in bands — on track, under 25% of the window left,
under 4 hours, overdue — "shown by colour and by text or icon for colour-blind users". workstation-ux.md ("Clear
and safe"): colour never carries meaning alone; a colour-blind-safe palette (Okabe-Ito). So each band has a word
for users, an Okabe-Ito colour and a symbol whose *shape* differs from the other bands' (circle, triangle,
diamond, square), so the band can be told apart by word, by shape or by colour.

Readings (docs/clocks.md, "Bands"):

* The window is from the actual receipt to the due (``due - received``), for every clock; after-hours deeming
  moves the due, not the start of the window.
* ``overdue``: ``now`` is after the due. Exactly at the due is still in time (as the clock engine counts a
  breach), so it is ``under-4h`` with nothing left.
* ``under-4h``: less than 4 hours left (exactly 4 hours is not under). A clock whose whole window is shorter
  than 4 hours (post-stabilization: 30 minutes, 1 hour) is in this band from receipt.
* ``at-risk``: less than 25% of the window left (exactly 25% is not under) and at least 4 hours left.
* ``on-track``: everything else, including a due in the future of a receipt in the future.

Pure: no Qt, no database. ``band`` is a few timedelta comparisons, cheap enough for every repaint.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

UNDER_4H = timedelta(hours=4)
AT_RISK_SHARE = 0.25  # "under 25% of the window left"


@dataclass(frozen=True)
class Band:
    id: str  # stable: on-track, at-risk, under-4h, overdue
    word: str  # what users read
    colour: str  # Okabe-Ito, "#RRGGBB"
    symbol: str  # a shape that differs per band, for plain text (the GUI draws the same shape as an icon)
    shape: str  # circle, triangle, diamond, square: the icon's outline
    severity: int  # 0 on track .. 3 overdue


ON_TRACK = Band("on-track", "On track", "#009E73", "●", "circle", 0)  # Okabe-Ito bluish green
AT_RISK = Band("at-risk", "Under 25% left", "#F0E442", "▲", "triangle", 1)  # Okabe-Ito yellow
UNDER_4H_BAND = Band("under-4h", "Under 4 h", "#E69F00", "◆", "diamond", 2)  # Okabe-Ito orange
OVERDUE = Band("overdue", "Overdue", "#D55E00", "■", "square", 3)  # Okabe-Ito vermillion

BANDS: dict[str, Band] = {b.id: b for b in (ON_TRACK, AT_RISK, UNDER_4H_BAND, OVERDUE)}


def band(received: datetime, due: datetime, now: datetime) -> Band:
    """The band of a clock that runs from ``received`` to ``due``, at ``now`` (aware datetimes).

    Issue 4, scope 3: on track; under 25% of the window left; under 4 hours; overdue (see the module docstring
    for the boundaries). A clock that has stopped (decision made) has no band: the caller does not ask.
    """
    left = due - now
    if left < timedelta(0):
        return OVERDUE
    if left < UNDER_4H:
        return UNDER_4H_BAND
    if left < (due - received) * AT_RISK_SHARE:
        return AT_RISK
    return ON_TRACK
