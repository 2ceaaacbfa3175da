"""The case view (the case workspace): one case — its clocks, summary, request lines, diagnoses, notes and the
timeline of every event, with the actions the signed-in user may take on it (issue 6, scope 5: `app.ui.case_actions`
adds them; without it the view is read-only). A referred case shows the referral first: the criteria result, the
referrer's summary and question (`app.ui.referral_panel`). Tabs are added in one place (`CaseView.__init__`, "The
workspace's sections"); `show_details` shows the case again after an action.

workstation-ux.md ("Layout": the clocks are always visible on an open case). Opened by `MainWindow.open_case`
(Enter, double click, Ctrl+L) with the `CaseDetails` that `app.store.case_details.load_case` read. Above the tabs,
every clock of the case (issue 4, scope 3: decision, provider notification, member written notice) with its due,
the rule set that governs it and its citation, the time left and its band, from `compute_clocks` on the case
(`case_clocks`); a missed post-stabilization decision reads "Deemed authorized" (H&SC 1371.4(a); 42 CFR
422.113(c)). The texts move with the time on each tick without reading the store again. `SummaryForm`,
`due_text` and `clock_banner` are shared with the main window's summary panel.

Bands of the notice clocks (our reading, docs/clocks.md): their window starts at the decision once there is one,
else at the receipt. A notice recorded as sent (the provider notification, the member letter marked mailed:
case_workflow) stops its clock: "Sent …: in time" or "… late". A case in status notified or closed without a
recorded instant (demo data) shows its notice clocks as done.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView,
    QLabel, QScrollArea, QTableWidget, QTableWidgetItem, QTabWidget, QTextBrowser, QVBoxLayout, QWidget,
)

from app.domain.clock_bands import OVERDUE, Band, band
from app.domain.clocks import CLOCK_NAMES, ClockError, Clocks, compute_clocks
from app.domain.plantime import format_duration, format_instant
from app.domain.queues import DECIDED_STATES
from app.store.case_details import CaseDetails
from app.ui.checklist import ChecklistPanel
from app.ui.referral_panel import ReferralPanel
from app.ui.worklist_model import band_icon, countdown_text, time_left

TICK_MS = 30_000  # how often the countdowns move (the worklist, the summary and open case views)


CLOCK_LABELS = {"decision": "Decision", "notification": "Provider notification",
                "member_notice": "Member written notice"}
NOTICES_DONE_STATES = frozenset({"notified", "closed"})


@dataclass(frozen=True)
class ClockLine:
    """One clock of a case as the case view shows it."""

    clock: str  # decision, notification, member_notice
    label: str
    due: datetime | None
    rule: str | None  # rule set id
    cite: str | None
    state: str  # "Under 4 h · in 2 h 15 m", "Overdue · overdue 1 h 5 m", "Decided …", "Deemed authorized: …", …
    band: Band | None  # None when the clock does not run (stopped, done or not set yet)


def case_clocks(details: CaseDetails, now: datetime) -> Clocks | None:
    """Every clock of the case at `now` from the clock engine, or None when the case cannot be counted."""
    if details.clock_request is None:
        return None
    try:
        return compute_clocks(details.clock_request, decided=details.decided_at, extensions=details.extensions,
                              now=now, notified=getattr(details, "provider_notified_at", None),
                              member_notified=getattr(details, "member_notified_at", None))
    except ClockError:
        return None


def clock_lines(details: CaseDetails, clocks: Clocks, now: datetime) -> list[ClockLine]:
    """The decision, provider-notification and member-notice clocks of a case, each with its state at `now`."""
    received, decided = clocks.received, clocks.decided
    lines = []
    for name in CLOCK_NAMES:
        due, rule = clocks.due(name), clocks.rule(name)
        cite = getattr(clocks, f"{name}_cite")
        current: Band | None = None
        if due is None:
            state = "Set when the decision is made"
        elif name == "decision" and decided is not None:
            late = decided - due
            state = f"Decided {format_instant(decided, year=True)}: " + (
                "in time" if late.total_seconds() <= 0 else f"{format_duration(late)} late")
        elif name == "decision" and clocks.deemed_authorized:
            state = f"Deemed authorized: no decision in time (due passed {format_duration(now - due)} ago)"
            current = OVERDUE
        elif name != "decision" and _sent(details, name) is not None:
            sent = _sent(details, name)
            state = f"Sent {format_instant(sent, year=True)}: " + (
                "in time" if sent <= due else f"{format_duration(sent - due)} late")
        elif name != "decision" and details.status in NOTICES_DONE_STATES:
            state = "Done (case notified)" if details.status == "notified" else "Done (case closed)"
        else:
            start = decided if name != "decision" and decided is not None and decided < due else received
            current = band(start, due, now)
            state = countdown_text(current, due, now)
        lines.append(ClockLine(name, CLOCK_LABELS[name], due, rule, cite, state, current))
    return lines


def _sent(details: CaseDetails, clock: str) -> datetime | None:
    """When the notice of a notice clock went out, as recorded (letters issue: mark mailed, provider notified)."""
    return getattr(details, "provider_notified_at" if clock == "notification" else "member_notified_at", None)


def _short_cite(cite: str | None) -> str:
    """'H&SC 1371.4(a)' out of 'H&SC 1371.4(a): respond within 30 minutes or …'."""
    return (cite or "").split(":")[0].strip()


def due_text(details: CaseDetails, now: datetime) -> str:
    if details.due_at is None:
        return "No decision clock"
    return f"{format_instant(details.due_at, year=True)} · {time_left(details.due_at, now, details.status)}"


def clock_banner(details: CaseDetails, now: datetime) -> str:
    """The nearest due, its rule set and the time left, for the top of an open case."""
    if details.due_at is None:
        return "No decision clock runs for this case."
    if details.status in DECIDED_STATES:
        text = f"Decision was due {format_instant(details.due_at, year=True)}; the decision has been made."
    elif details.due_at < now:
        clocks = case_clocks(details, now)
        if clocks is not None and clocks.deemed_authorized:
            text = (f"DEEMED AUTHORIZED: the decision on this post-stabilization request was due "
                    f"{format_instant(details.due_at, year=True)}, {format_duration(now - details.due_at)} ago; "
                    f"the care is deemed authorized ({_short_cite(clocks.decision_cite)}).")
        else:
            text = (f"OVERDUE: decision was due {format_instant(details.due_at, year=True)}, "
                    f"{format_duration(now - details.due_at)} ago.")
    else:
        text = f"Decision due {format_instant(details.due_at, year=True)}: {format_duration(details.due_at - now)} left."
        current = banner_band(details, now)
        if current is not None:
            text = f"{current.word}: {text[0].lower()}{text[1:]}"
    return text + (f" Rule: {details.due_rule}." if details.due_rule else "")


def banner_band(details: CaseDetails, now: datetime) -> Band | None:
    """The band of the decision clock for the banner's icon (None when it does not run)."""
    if details.due_at is None or details.status in DECIDED_STATES or details.clock_request is None:
        return None
    return band(details.clock_request.received, details.due_at, now)


class ClockBanner(QWidget):
    """The nearest due in bold with its band's icon (the icon's shape and the text's word say the same)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.icon = QLabel()
        self.icon.setAccessibleName("Clock band")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.label.font()
        font.setBold(True)
        self.label.setFont(font)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)

    def show_clock(self, details: CaseDetails | None, now: datetime, text: str | None = None) -> None:
        current = banner_band(details, now) if details is not None else None
        size = self.label.fontMetrics().height()
        if current is None:
            self.icon.clear()
            self.icon.hide()
        else:
            self.icon.setPixmap(band_icon(current).pixmap(size, size))
            self.icon.setAccessibleName(current.word)
            self.icon.show()
        self.setText(clock_banner(details, now) if text is None else text)

    def text(self) -> str:
        return self.label.text()

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name, so the banner reads like a label
        self.label.setText(text)
        self.label.setAccessibleName(text)
        self.setAccessibleName(text)


_CELL_NAMES = {"clock": "clock", "due": "due", "state": "time left", "rule": "rule set and citation"}


class ClocksPanel(QGroupBox):
    """Every clock of an open case: due, time left and band, rule set and citation; always visible."""

    HEADERS = ("", "Clock", "Due (PT)", "Time left", "Rule set and citation")

    def __init__(self, parent=None):
        super().__init__("Clocks", parent)
        self.setAccessibleName("Clocks")
        self.grid = QGridLayout(self)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(4)
        self.headers: list[QLabel] = []
        for column, header in enumerate(self.HEADERS):
            label = QLabel(header)
            font = label.font()
            font.setBold(True)
            label.setFont(font)
            self.grid.addWidget(label, 0, column)
            self.headers.append(label)
        self.grid.setColumnStretch(4, 1)
        self.rows: dict[str, dict[str, QLabel]] = {}
        for row, name in enumerate(CLOCK_NAMES, start=1):
            cells = {}
            for column, key in enumerate(("icon", "clock", "due", "state", "rule")):
                label = QLabel()
                label.setTextFormat(Qt.TextFormat.PlainText)
                if key in ("due", "state", "rule"):
                    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
                if key == "rule":
                    label.setWordWrap(True)
                self.grid.addWidget(label, row, column, Qt.AlignmentFlag.AlignTop)
                cells[key] = label
            self.rows[name] = cells
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.grid.addWidget(self.note, len(CLOCK_NAMES) + 1, 0, 1, len(self.HEADERS))
        self.note.hide()

    def show_clocks(self, details: CaseDetails, now: datetime) -> list[ClockLine]:
        clocks = case_clocks(details, now)
        for label in (*self.headers, *(cell for cells in self.rows.values() for cell in cells.values())):
            label.setVisible(clocks is not None)  # no empty table when there is nothing to count
        if clocks is None:
            for cells in self.rows.values():
                for label in cells.values():
                    label.clear()
            self.note.setText(details.clock_problem or "The clocks cannot be counted for this case.")
            self.note.setAccessibleName(self.note.text())
            self.note.show()
            return []
        self.note.hide()
        lines = clock_lines(details, clocks, now)
        size = self.fontMetrics().height()
        for line in lines:
            cells = self.rows[line.clock]
            if line.band is None:
                cells["icon"].clear()
                cells["icon"].setAccessibleName("")
            else:
                cells["icon"].setPixmap(band_icon(line.band).pixmap(size, size))
                cells["icon"].setAccessibleName(line.band.word)
            texts = {"clock": line.label, "due": format_instant(line.due, year=True) or "—", "state": line.state,
                     "rule": f"{line.rule} · {line.cite}" if line.rule else "—"}
            for key, text in texts.items():
                cells[key].setText(text)
                cells[key].setAccessibleName(f"{line.label}, {_CELL_NAMES[key]}: {text}")
        return lines



class SummaryForm(QWidget):
    """A read-only form of a case's fields; each value is selectable text (never retype what the system has)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.values: dict[str, QLabel] = {}

    def show_fields(self, fields: list[tuple[str, str]]) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self.values = {}
        for name, value in fields:
            label = QLabel(value)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
            label.setAccessibleName(f"{name}: {value}")
            heading = QLabel(f"{name}:")
            heading.setAccessibleName(name)
            heading.setBuddy(label)
            self._form.addRow(heading, label)
            self.values[name] = label

    def set_value(self, name: str, value: str) -> None:
        label = self.values.get(name)
        if label is not None:
            label.setText(value)
            label.setAccessibleName(f"{name}: {value}")


def _fill_table(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    last = table.columnCount() - 1
    for column in range(last):  # the last column takes the rest and wraps; the others are kept readable
        header.resizeSection(column, min(header.sectionSize(column), 320))


def _read_only_table(name: str, headers: list[str], rows: list[tuple[str, ...]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setTabKeyNavigation(False)
    table.setWordWrap(True)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # long texts wrap
    _fill_table(table, rows)
    return table


def _notes_html(details: CaseDetails) -> str:
    return "".join(
        f"<p><b>{html.escape(when)}</b> — {html.escape(author)}<br>{html.escape(text)}"
        + (f"<br><i>Attachment: {html.escape(ref)}</i>" if ref else "") + "</p>"
        for when, author, text, ref in details.notes) or "<p>No clinical notes.</p>"


class CaseView(QDialog):
    """The case workspace: clocks, the referral (when referred), the case's sections in tabs, and -- with `actions`
    (`app.ui.case_actions.CaseActions`) -- the actions the signed-in user's role allows, in a menu bar and a
    toolbar. Without `actions` it is read-only."""

    def __init__(self, details: CaseDetails, now: Callable[[], datetime], parent=None, *, actions=None, store=None, viewer=None):
        super().__init__(parent)
        self.details = details
        self.actions = actions
        self._now = now
        self.resize(960, 720)
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        heading_font = self.heading.font()
        heading_font.setPointSizeF(heading_font.pointSizeF() * 1.25)
        heading_font.setBold(True)
        self.heading.setFont(heading_font)
        layout.addWidget(self.heading)
        if actions is not None:
            menu_bar, toolbar = actions.attach(self)
            layout.setMenuBar(menu_bar)
            layout.addWidget(toolbar)
        self.referral = ReferralPanel()  # the referrer's summary and the criteria result first (issue 6)
        layout.addWidget(self.referral)
        self.clock = ClockBanner()
        layout.addWidget(self.clock)
        self.clocks = ClocksPanel()
        layout.addWidget(self.clocks)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Case sections")
        self.tabs.tabBar().setAccessibleName("Case sections: Ctrl+Tab moves between them")
        self.summary = SummaryForm()
        summary_scroll = QScrollArea()
        summary_scroll.setWidgetResizable(True)
        summary_scroll.setWidget(self.summary)
        summary_scroll.setAccessibleName("Summary")
        self.lines_table = _read_only_table("Request lines", ["Line", "Code", "Description", "Units", "From", "To"],
                                            [])
        self.diagnoses_table = _read_only_table("Diagnoses", ["Rank", "ICD-10-CM", "Description"], [])
        self.notes = QTextBrowser()
        self.notes.setAccessibleName("Clinical notes")
        self.timeline = _read_only_table("Timeline", ["When (PT)", "Who", "What"], [])
        # The workspace's sections, in order: a new section (e.g. the criteria checklist) is one more line here.
        self.tabs.addTab(summary_scroll, "&Summary")
        self.tabs.addTab(self.lines_table, "Request &lines")
        self.tabs.addTab(self.diagnoses_table, "&Diagnoses")
        self.tabs.addTab(self.notes, "Clinical &notes")
        if store is not None and viewer is not None:  # the criteria checklist (app.ui.checklist)
            self.criteria = ChecklistPanel(store, viewer, details.tar, self, clock=now)
            self.tabs.addTab(self.criteria, "&Criteria")
        self.tabs.addTab(self.timeline, "&Timeline")
        layout.addWidget(self.tabs, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Last action")
        self.status.hide()
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.show_details(details)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    def show_details(self, details: CaseDetails) -> None:
        """Show the case as `details` has it (again after an action: the tabs keep their place)."""
        self.details = details
        now = self._now()
        self.setWindowTitle(f"TAR {details.tar} — {details.member_name}")
        self.setAccessibleName(f"Case view, TAR {details.tar}")
        self.heading.setText(f"{details.member_name} · TAR {details.tar}")
        self.heading.setAccessibleName(f"Case of {details.member_name}, TAR {details.tar}")
        self.clock.show_clock(details, now)
        self.clock_lines = self.clocks.show_clocks(details, now)
        self.summary.show_fields(details.summary)
        self.summary.set_value("Due", due_text(details, now))
        _fill_table(self.lines_table, details.lines)
        _fill_table(self.diagnoses_table, details.diagnoses)
        self.notes.setHtml(_notes_html(details))
        _fill_table(self.timeline, details.timeline)

    def show_status(self, text: str) -> None:
        """What the last action did, under the tabs (and for screen readers)."""
        self.status.setText(text)
        self.status.setAccessibleName(f"Last action: {text}")
        self.status.show()

    def tick(self) -> None:
        now = self._now()
        self.clock.show_clock(self.details, now)
        self.clock_lines = self.clocks.show_clocks(self.details, now)
        self.summary.set_value("Due", due_text(self.details, now))
