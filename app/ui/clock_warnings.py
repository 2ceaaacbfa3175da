"""Warn the assignee before a clock breaches (issue 4, scope 4).

"A desktop (tray) notification when one of my cases falls under 4 hours, once per case and threshold (an in-window
notice where the desktop has no tray)." What we chose (docs/clocks.md, "Warnings"):

* Thresholds: the case's decision clock entering the band `under-4h`, and entering `overdue`; each is warned once
  per case, per due (an extension gives a new due, and so new warnings), per session. What was shown is kept in
  memory only: after a restart the cases still under 4 hours (or overdue) are warned about again, once.
* "My cases": open, undecided cases assigned to the signed-in user (`app.store.worklist.running_clocks_of`). The
  main window reads them off the GUI thread every minute and on refresh; `check(now)` runs on each tick and only
  compares instants (no database).
* Where: `QSystemTrayIcon.showMessage` when `QSystemTrayIcon.isSystemTrayAvailable()`, else a notice bar at the
  top of the main window (with "Show at-risk cases" and "Dismiss"). Cases crossing a threshold at the same tick
  make one message. Messages name TAR numbers only, never the member (a desktop notification can show on a
  locked or shared screen).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSystemTrayIcon, QVBoxLayout, QWidget

from app.domain.clock_bands import OVERDUE, UNDER_4H_BAND, Band, band
from app.domain.plantime import format_duration, format_instant
from app.store.worklist import RunningClock
from app.ui.worklist_model import band_icon

WARN_BANDS = (UNDER_4H_BAND.id, OVERDUE.id)  # the thresholds, in the order a clock crosses them
MESSAGE_MS = 15_000  # how long a tray message stays up
MAX_LISTED = 5  # cases named in one message; the rest are counted


@dataclass(frozen=True)
class ClockWarning:
    tar: str
    band: Band
    due_at: datetime
    left: timedelta  # negative when overdue


class WarningTracker:
    """Which of my cases crossed a warning threshold since they were last looked at; each once (no Qt)."""

    def __init__(self) -> None:
        self.cases: list[RunningClock] = []
        self.shown: set[tuple[str, datetime, str]] = set()  # (TAR, due, band id) already warned this session

    def watch(self, cases: Iterable[RunningClock]) -> None:
        self.cases = list(cases)

    def due(self, now: datetime) -> list[ClockWarning]:
        """The warnings to show at `now`, marked as shown; the most urgent first."""
        warnings = []
        for case in self.cases:
            current = band(case.received_at, case.due_at, now)
            if current.id not in WARN_BANDS:
                continue
            key = (case.tar, case.due_at, current.id)
            if key in self.shown:
                continue
            # Crossing a threshold also passes the ones before it: a case first seen overdue is not later warned
            # as "under 4 h".
            for earlier in WARN_BANDS[:WARN_BANDS.index(current.id) + 1]:
                self.shown.add((case.tar, case.due_at, earlier))
            warnings.append(ClockWarning(case.tar, current, case.due_at, case.due_at - now))
        warnings.sort(key=lambda w: (-w.band.severity, w.due_at, w.tar))
        return warnings


def warning_message(warnings: list[ClockWarning]) -> tuple[str, str]:
    """(title, text) of one message about `warnings` (TAR numbers and times only)."""
    def line(w: ClockWarning) -> str:
        due = format_instant(w.due_at)
        if w.band is OVERDUE:
            return f"TAR {w.tar}: decision overdue by {format_duration(-w.left)} (was due {due})"
        return f"TAR {w.tar}: decision due {due}, in {format_duration(w.left)}"

    overdue = sum(1 for w in warnings if w.band is OVERDUE)
    if len(warnings) == 1:
        only = warnings[0]
        title = f"{only.band.word}: TAR {only.tar}"
        due = format_instant(only.due_at)
        if only.band is OVERDUE:
            return title, f"The decision was due {due}; it is overdue by {format_duration(-only.left)}."
        return title, f"The decision is due {due}, in {format_duration(only.left)}."
    if overdue == len(warnings):
        title = f"{len(warnings)} of your cases are overdue"
    elif overdue:
        title = f"{len(warnings)} of your cases are overdue or under 4 h"
    else:
        title = f"{len(warnings)} of your cases are under 4 h"
    lines = [line(w) for w in warnings[:MAX_LISTED]]
    if len(warnings) > MAX_LISTED:
        lines.append(f"and {len(warnings) - MAX_LISTED} more")
    return title, "\n".join(lines)


class NoticeBar(QFrame):
    """The in-window notice where the desktop has no system tray: icon, text, an action and Dismiss."""

    show_at_risk = Signal()

    def __init__(self, parent: QWidget | None = None, *, can_show_at_risk: bool = True):
        super().__init__(parent)
        self.setAccessibleName("Clock warning")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("clockNotice")
        self.setStyleSheet(f"#clockNotice {{ border: 2px solid {UNDER_4H_BAND.colour}; border-radius: 4px; }}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.icon = QLabel()
        self.icon.setAccessibleName("Warning")
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        words = QVBoxLayout()
        words.setSpacing(0)
        words.addWidget(self.title)
        words.addWidget(self.text)
        self.at_risk_button = QPushButton("Show &at-risk cases")
        self.at_risk_button.setToolTip("Open the At risk today queue")
        self.at_risk_button.clicked.connect(self.show_at_risk)
        self.at_risk_button.setVisible(can_show_at_risk)
        self.dismiss_button = QPushButton("Dis&miss")
        self.dismiss_button.setToolTip("Hide this notice (the cases stay in your worklist)")
        self.dismiss_button.clicked.connect(self.hide)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(words, 1)
        layout.addWidget(self.at_risk_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, title: str, text: str, current: Band) -> None:
        size = self.text.fontMetrics().height() + 4
        self.icon.setPixmap(band_icon(current).pixmap(size, size))
        self.icon.setAccessibleName(current.word)
        self.title.setText(title)
        self.title.setAccessibleName(title)
        self.text.setText(text)
        self.text.setAccessibleName(text)
        self.setAccessibleDescription(title)
        self.show()


class ClockWarnings(QObject):
    """Checks my cases on each tick and shows what crossed a threshold: in the tray, or in the notice bar."""

    shown = Signal(str, str)  # title, text: every message shown (tray or notice bar)

    def __init__(self, notice_bar: NoticeBar, parent: QWidget | None = None, *,
                 tray_available: Callable[[], bool] | None = None):
        super().__init__(parent)
        self.tracker = WarningTracker()
        self.notice_bar = notice_bar
        self._tray_available = tray_available
        self.tray: QSystemTrayIcon | None = None
        self.messages: list[tuple[str, str]] = []  # this session's messages, oldest first

    def watch(self, cases: Iterable[RunningClock]) -> None:
        self.tracker.watch(cases)

    def check(self, now: datetime) -> list[ClockWarning]:
        warnings = self.tracker.due(now)
        if warnings:
            self._show(warnings)
        return warnings

    def _show(self, warnings: list[ClockWarning]) -> None:
        title, text = warning_message(warnings)
        worst = warnings[0].band
        tray = self._tray_available() if self._tray_available else QSystemTrayIcon.isSystemTrayAvailable()
        if tray:
            if self.tray is None:
                self.tray = QSystemTrayIcon(band_icon(UNDER_4H_BAND), self)
                self.tray.setToolTip("UM Reviewer Workstation: clock warnings")
                self.tray.messageClicked.connect(self.notice_bar.show_at_risk)
                self.tray.show()
            icon = QSystemTrayIcon.MessageIcon.Critical if worst is OVERDUE else QSystemTrayIcon.MessageIcon.Warning
            self.tray.showMessage(title, text, icon, MESSAGE_MS)
        else:
            self.notice_bar.show_message(title, text, worst)
        self.messages.append((title, text))
        self.shown.emit(title, text)

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
