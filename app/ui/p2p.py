"""Peer-to-peer in the workstation (issue 8): the case view's Peer-to-peer tab, the availability week calendar, the
peer-to-peer report, and the reminders 15 minutes before a reviewer's call.

* `P2PTab` (case view, "&Peer-to-peer"): whether a peer-to-peer is offered and until when (or why not), the deciding
  physician, the request and its calls; the free windows, the deciding physician's first, then reviewers of the
  same or similar specialty with the match shown. Request… (Alt+Shift+Q), Offer selected (at least two), Book
  selected (Alt+Shift+K), Reschedule…, Cancel call…, Save invitation…, Record outcome… (Alt+Shift+U).
* `AvailabilityWindow` (Peer-to-peer ▸ Availability calendar, Ctrl+Shift+W): one reviewer's week in a `WeekView`
  (PageUp / PageDown between weeks, arrows move between half hours, Enter adds one-off hours there, Delete
  withdraws what is there), the availability entries, and Add weekly hours / one-off hours / out of office.
* `P2PReportDialog` (Peer-to-peer ▸ Report, Ctrl+Shift+T): the figures of `umws report p2p`.
* `P2PReminders`: every minute (off the GUI thread) the signed-in reviewer's calls of the next two hours are read;
  each tick shows a notice 15 minutes before a call (TAR number, practitioner and phone: no member data).

Every action is one call in app.services.p2p in its own transaction; refusals are shown in the service's words.
Irreversible steps (cancelling, an overturn) confirm naming the case, with the safe button the default.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QDate, QDateTime, QLineF, QRectF, QSize, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDateEdit, QDateTimeEdit, QDialog, QDialogButtonBox,
    QFileDialog, QFormLayout, QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
    QListWidgetItem, QMenu, QMessageBox, QPlainTextEdit, QPushButton, QRadioButton, QSpinBox, QTableWidget,
    QTableWidgetItem, QTimeEdit, QVBoxLayout, QWidget,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.domain import p2p as rules
from app.domain.plantime import PLAN_TZ, format_instant
from app.services import p2p as svc
from app.services.cases import ActionRefused, InvalidInput, NotFound
from app.ui.tasks import Task

log = logging.getLogger(__name__)
REMINDER_TICK_MS = 30_000
REMINDER_READ_MS = 60_000


def _error_text(error: Exception) -> str:
    if isinstance(error, (ActionRefused, InvalidInput, NotFound)):
        text = str(error)
        return text[0].upper() + text[1:] if text else text
    return "The store could not save this, so nothing was changed. Try again; details are in the log file."


def _when(text: str | None) -> str:
    return format_instant(datetime.fromisoformat(text), year=True) if text else "—"


def _item(text: str, tip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tip or text)
    return item


def _bold(label: QLabel) -> QLabel:
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def _text_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    return label


def _set(label: QLabel, text: str, name: str) -> None:
    label.setText(text)
    label.setAccessibleName(f"{name}: {text}")
    label.setVisible(bool(text))


def _confirm(parent: QWidget, title: str, text: str, yes: str) -> QMessageBox:
    """A confirmation whose default (Enter, Escape) is the safe answer."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    box.setAccessibleName(title)
    box.yes = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.button(QMessageBox.StandardButton.Cancel))
    box.setEscapeButton(box.button(QMessageBox.StandardButton.Cancel))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box


def _plan_datetime_edit(instant: datetime, name: str) -> QDateTimeEdit:
    local = instant.astimezone(PLAN_TZ)
    edit = QDateTimeEdit(QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute)))
    edit.setDisplayFormat("MM/dd/yyyy h:mm AP")
    edit.setCalendarPopup(True)
    edit.setAccessibleName(name)
    return edit


def _plan_instant(edit: QDateTimeEdit) -> datetime:
    value = edit.dateTime()
    day, clock = value.date().toPython(), value.time().toPython()
    return datetime.combine(day, clock.replace(second=0, microsecond=0), tzinfo=PLAN_TZ).astimezone(timezone.utc)


# ----- dialogs of the tab --------------------------------------------------------------------------------------
class RequestDialog(QDialog):
    """A practitioner's request: name and phone (the requesting provider's by default), reason, two preferred
    windows (optional)."""

    def __init__(self, tar: str, name: str, phone: str, now: datetime, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Peer-to-peer request — TAR {tar}")
        self.setAccessibleName(f"Peer-to-peer request for TAR {tar}")
        form = QFormLayout(self)
        self.name = QLineEdit(name)
        self.phone = QLineEdit(phone)
        self.reason = QPlainTextEdit()
        self.reason.setTabChangesFocus(True)
        self.reason.setPlaceholderText("What the practitioner wants to discuss")
        self.reason.setFixedHeight(70)
        for widget, label in ((self.name, "&Requesting practitioner:"), (self.phone, "&Phone:"),
                              (self.reason, "Rea&son:")):
            widget.setAccessibleName(label.replace("&", "").rstrip(":"))
            heading = QLabel(label)
            heading.setBuddy(widget)
            form.addRow(heading, widget)
        self.windows: list[tuple[QCheckBox, QDateTimeEdit, QDateTimeEdit]] = []
        start = (now + timedelta(days=1)).astimezone(PLAN_TZ).replace(hour=9, minute=0, second=0, microsecond=0)
        for n in range(2):
            use = QCheckBox(f"Preferred window &{n + 1}:")
            use.setAccessibleName(f"Use preferred window {n + 1}")
            begin = _plan_datetime_edit(start + timedelta(days=n), f"Preferred window {n + 1} from")
            end = _plan_datetime_edit(start + timedelta(days=n, hours=3), f"Preferred window {n + 1} to")
            for edit in (begin, end):
                edit.setEnabled(False)
                use.toggled.connect(edit.setEnabled)
            row = QHBoxLayout()
            row.addWidget(begin)
            row.addWidget(QLabel("to"))
            row.addWidget(end)
            form.addRow(use, row)
            self.windows.append((use, begin, end))
        note = QLabel("Times are plan time (PT). The provider usually proposes at least two windows.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record request")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"requester_name": self.name.text(), "requester_phone": self.phone.text(),
                "reason": self.reason.toPlainText(),
                "windows": [(_plan_instant(begin), _plan_instant(end)) for use, begin, end in self.windows
                            if use.isChecked()]}


class ReasonDialog(QDialog):
    """Asks for the reason of a change that names the case; the safe button (keep) is the default."""

    def __init__(self, title: str, text: str, yes: str, keep: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        message = _text_label(text)
        layout.addWidget(message)
        heading = QLabel("&Reason:")
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason")
        heading.setBuddy(self.reason)
        layout.addWidget(heading)
        layout.addWidget(self.reason)
        buttons = QDialogButtonBox()
        self.yes = buttons.addButton(yes, QDialogButtonBox.ButtonRole.AcceptRole)
        self.keep = buttons.addButton(keep, QDialogButtonBox.ButtonRole.RejectRole)
        self.keep.setDefault(True)
        self.keep.setAutoDefault(True)
        self.yes.setAutoDefault(False)
        self.yes.setEnabled(False)
        self.reason.textChanged.connect(lambda text: self.yes.setEnabled(bool(text.strip())))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class OutcomeDialog(QDialog):
    """The outcome of the booked call in one dialog: held / practitioner no-show / plan missed; upheld, overturned
    or modified (with the approved units per line and the member's reason); notes; when the call took place."""

    def __init__(self, tar: str, member: str, lines: list[tuple[int, str, int]], now: datetime, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Outcome of the peer-to-peer — TAR {tar}")
        self.setAccessibleName(f"Outcome of the peer-to-peer call on TAR {tar}, {member}")
        layout = QVBoxLayout(self)
        calls = QGroupBox("The call")
        calls_layout = QHBoxLayout(calls)
        self.call_group = QButtonGroup(self)
        self.call_buttons: dict[str, QRadioButton] = {}
        for key, text in (("held", "&Held"), ("no-show", "Practitioner &no-show"), ("plan-missed", "&Plan missed")):
            button = QRadioButton(text)
            button.setAccessibleName(text.replace("&", ""))
            self.call_group.addButton(button)
            self.call_buttons[key] = button
            calls_layout.addWidget(button)
        layout.addWidget(calls)
        results = QGroupBox("Result")
        results_layout = QHBoxLayout(results)
        self.result_group = QButtonGroup(self)
        self.result_buttons: dict[str, QRadioButton] = {}
        for key, text in (("upheld", "&Upheld"), ("overturned", "&Overturned (approve)"),
                          ("modified", "&Modified (approve in part)")):
            button = QRadioButton(text)
            button.setAccessibleName(text.replace("&", ""))
            self.result_group.addButton(button)
            self.result_buttons[key] = button
            results_layout.addWidget(button)
        self.results = results
        layout.addWidget(results)
        form = QFormLayout()
        self.when = _plan_datetime_edit(now, "When the call took place")
        self._opened = (now, self.when.dateTime())  # untouched, "when" is this exact instant (not its minute)
        when_label = QLabel("&When the call took place (PT):")
        when_label.setBuddy(self.when)
        form.addRow(when_label, self.when)
        self.notes = QPlainTextEdit()
        self.notes.setTabChangesFocus(True)
        self.notes.setAccessibleName("Notes on the call")
        self.notes.setFixedHeight(90)
        notes_label = QLabel("No&tes:")
        notes_label.setBuddy(self.notes)
        form.addRow(notes_label, self.notes)
        self.new_information = QCheckBox("The practitioner offered new clinical &information (it goes to an appeal)")
        form.addRow(self.new_information)
        layout.addLayout(form)
        self.modification = QGroupBox("Approved units (modified)")
        mod_layout = QFormLayout(self.modification)
        self.units: dict[int, QSpinBox] = {}
        for number, text, requested in lines:
            spin = QSpinBox()
            spin.setRange(0, requested)
            spin.setValue(requested)
            spin.setAccessibleName(f"Approved units of line {number}")
            spin.setSuffix(f" of {requested}")
            mod_layout.addRow(f"Line {number} {text[:40]}:", spin)
            self.units[number] = spin
        self.member_reason = QLineEdit()
        self.member_reason.setAccessibleName("Reason for the member")
        self.member_reason.setPlaceholderText("In plain words, e.g. 'We approved 3 of the 6 visits asked for.'")
        mod_layout.addRow("Reason for the &member:", self.member_reason)
        layout.addWidget(self.modification)
        self.problem = _text_label()
        self.problem.hide()
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Record outcome")
        buttons.accepted.connect(self._accept_if_complete)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.call_group.buttonToggled.connect(lambda *_: self._update())
        self.result_group.buttonToggled.connect(lambda *_: self._update())
        self.call_buttons["held"].setChecked(True)
        self._update()

    def call(self) -> str:
        return next(key for key, button in self.call_buttons.items() if button.isChecked())

    def result(self) -> str | None:
        if self.call() != "held":
            return None
        return next((key for key, button in self.result_buttons.items() if button.isChecked()), None)

    def _update(self) -> None:
        held = self.call() == "held"
        self.results.setEnabled(held)
        self.when.setEnabled(held)
        self.new_information.setEnabled(held)
        self.modification.setVisible(self.result() == "modified")
        self.adjustSize()

    def missing(self) -> str | None:
        if self.call() == "held" and self.result() is None:
            return "Choose the result: upheld, overturned or modified."
        if not self.notes.toPlainText().strip():
            return "Write notes on the call."
        if self.result() == "modified" and not self.member_reason.text().strip():
            return "Give the reason for the member, in plain words."
        return None

    def _accept_if_complete(self) -> None:
        problem = self.missing()
        if problem:
            self.problem.setText(problem)
            self.problem.setAccessibleName(problem)
            self.problem.show()
            return
        self.accept()

    def held_at(self) -> datetime:
        now, shown = self._opened
        return now if self.when.dateTime() == shown else _plan_instant(self.when)

    def values(self) -> dict:
        result = self.result()
        return {"call": self.call(), "result": result, "note": self.notes.toPlainText(),
                "held_at": self.held_at() if self.call() == "held" else None,
                "new_information": self.new_information.isChecked() and self.call() == "held",
                "member_reason": self.member_reason.text() if result == "modified" else "",
                "lines": {n: spin.value() for n, spin in self.units.items()} if result == "modified" else None}


# ----- the case view's tab -------------------------------------------------------------------------------------
class P2PTab(QWidget):
    """The Peer-to-peer tab of a case view."""

    changed = Signal()  # after any action that wrote

    CANDIDATE_HEADERS = ("When (PT)", "Reviewer", "Specialty", "Match", "Preferred")
    CALL_HEADERS = ("When (PT)", "Reviewer", "Status", "Why")

    def __init__(self, store, viewer, tar: str, member_name: str, *, now: Callable[[], datetime], parent=None):
        super().__init__(parent)
        self.store, self.viewer, self.tar, self.member_name, self._now = store, viewer, tar, member_name, now
        self.setAccessibleName("Peer-to-peer")
        self.data: dict = {}
        self.proposal: svc.Proposal | None = None
        self.request_dialog: RequestDialog | None = None
        self.outcome_dialog: OutcomeDialog | None = None
        layout = QVBoxLayout(self)
        self.offer_label = _bold(_text_label())
        self.decider_label = _text_label()
        self.request_label = _text_label()
        self.call_label = _bold(_text_label())
        self.message = _text_label()
        for label in (self.offer_label, self.decider_label, self.request_label, self.call_label, self.message):
            layout.addWidget(label)
            label.hide()
        actions = QHBoxLayout()
        self.request_button = QPushButton("&Request…")
        self.outcome_button = QPushButton("Record &outcome…")
        self.reschedule_button = QPushButton("Re&schedule to selected…")
        self.cancel_button = QPushButton("&Cancel call…")
        self.invitation_button = QPushButton("Save &invitation…")
        self.cancel_request_button = QPushButton("Cancel re&quest…")
        for button, tip, slot in (
                (self.request_button, "Record the practitioner's request: name, phone, reason, preferred windows "
                                      "(Alt+Shift+Q)", self.request_prompt),
                (self.outcome_button, "Held, no-show or plan missed; upheld, overturned or modified (Alt+Shift+U)",
                 self.outcome_prompt),
                (self.reschedule_button, "Move the booked call to the window selected below", self.reschedule_prompt),
                (self.cancel_button, "Cancel the booked call (the request waits to be scheduled again)",
                 self.cancel_prompt),
                (self.invitation_button, "Save the calendar invitation (.ics) of the booked call, or its "
                                         "cancellation", self.save_invitation_prompt),
                (self.cancel_request_button, "Cancel the request itself (e.g. the practitioner withdrew it)",
                 self.cancel_request_prompt)):
            button.setToolTip(tip)
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
            button.clicked.connect(lambda checked=False, slot=slot: slot())
            actions.addWidget(button)
        actions.addStretch(1)
        layout.addLayout(actions)
        windows = QGroupBox("Free windows: the deciding physician's first, then the same or a similar specialty")
        windows.setAccessibleName("Free windows")
        windows_layout = QVBoxLayout(windows)
        self.all_reviewers = QCheckBox("Show every fit reviewer, whatever the speci&alty")
        self.all_reviewers.toggled.connect(lambda *_: self.load_candidates())
        windows_layout.addWidget(self.all_reviewers)
        self.candidates = QTableWidget(0, len(self.CANDIDATE_HEADERS))
        self.candidates.setAccessibleName("Free windows for the call")
        self.candidates.setAccessibleDescription("Select two or more to offer, or one to book; "
                                                 "Ctrl+Space adds a row to the selection")
        self.candidates.setHorizontalHeaderLabels(self.CANDIDATE_HEADERS)
        self.candidates.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.candidates.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.candidates.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.candidates.setTabKeyNavigation(False)
        self.candidates.verticalHeader().hide()
        self.candidates.horizontalHeader().setStretchLastSection(True)
        self.candidates.itemSelectionChanged.connect(self._enable)
        windows_layout.addWidget(self.candidates)
        self.windows_note = _text_label()
        windows_layout.addWidget(self.windows_note)
        window_buttons = QHBoxLayout()
        self.offer_button = QPushButton("O&ffer selected windows")
        self.offer_button.setToolTip("Record the selected windows (at least two) as offered to the practitioner")
        self.offer_button.clicked.connect(self.offer_selected)
        self.book_button = QPushButton("&Book selected")
        self.book_button.setToolTip("Book the call in the selected window (Alt+Shift+K)")
        self.book_button.clicked.connect(self.book_selected)
        for button in (self.offer_button, self.book_button):
            button.setAccessibleName(button.text().replace("&", ""))
            window_buttons.addWidget(button)
        window_buttons.addStretch(1)
        windows_layout.addLayout(window_buttons)
        layout.addWidget(windows, 1)
        layout.addWidget(_bold(QLabel("Calls")))
        self.calls = QTableWidget(0, len(self.CALL_HEADERS))
        self.calls.setAccessibleName("Calls of this case")
        self.calls.setHorizontalHeaderLabels(self.CALL_HEADERS)
        self.calls.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.calls.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.calls.setTabKeyNavigation(False)
        self.calls.verticalHeader().hide()
        self.calls.horizontalHeader().setStretchLastSection(True)
        self.calls.setMaximumHeight(140)
        layout.addWidget(self.calls)
        for text, keys, slot in (("Book selected window", "Alt+Shift+K", self.book_selected),
                                 ("Record outcome…", "Alt+Shift+U", self.outcome_prompt),
                                 ("Request peer-to-peer…", "Alt+Shift+Q", self.request_prompt)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda checked=False, slot=slot: slot())
            self.addAction(action)
        self.load()

    # --- reading --------------------------------------------------------------------------------------------
    def load(self) -> None:
        try:
            with self.store.session() as session:
                self.data = svc.case_p2p(session, self.tar, self.viewer.username, at=self._now())
        except (ActionRefused, NotFound, SQLAlchemyError) as error:
            log.warning("peer-to-peer of %s not read", self.tar, exc_info=True)
            self.data = {}
            _set(self.offer_label, _error_text(error), "Peer-to-peer")
            return
        data = self.data
        if data["offered"]:
            what = "this denial" if data["kind"] == "denial" else "this potential denial"
            offer = f"Peer-to-peer offered for {what} until {_when(data['window_closes'])} ({data['window_basis']})."
        elif data["refusal"]:
            offer = f"Peer-to-peer not offered: {data['refusal']}"
        else:
            offer = "Peer-to-peer: no window applies to this case."
        open_request = self.open_request()
        if open_request is not None and not data["offered"]:
            offer += " The open request was made in time; its call can still be booked."
        _set(self.offer_label, offer, "Peer-to-peer")
        decider = data.get("deciding_physician")
        who = (f"Deciding physician: {decider['full_name']}" + (f" ({decider['specialty']})"
                                                                if decider.get("specialty") else "")
               if decider else "Deciding physician: not yet known (no physician holds the case)")
        who += f". Requesting practitioner's specialty: {data.get('requesting_specialty') or 'not recorded'}."
        if data["kind"] == "potential-denial":
            who += f" The decision is due {_when(data['decision_due'])}: the call must end before then."
        _set(self.decider_label, who, "Deciding physician")
        latest = data["requests"][-1] if data["requests"] else None
        if latest is None:
            _set(self.request_label, "No request yet.", "Request")
        else:
            text = (f"Request ({rules.REQUEST_STATUSES[latest['status']].lower()}): {latest['requester_name']}, "
                    f"{latest['requester_phone']}; asked {_when(latest['requested_at'])}")
            if latest["reason"]:
                text += f"; “{latest['reason']}”"
            if latest["missed_windows"]:
                text += f"; missed windows: {latest['missed_windows']} of {rules.MISSED_WINDOWS_TO_CLOSE}"
            if latest["result"]:
                text += f"; {rules.RESULTS[latest['result']].lower()} (call at {_when(latest['held_at'])})"
            if latest["new_information"]:
                text += "; new clinical information offered: route it to an appeal"
            _set(self.request_label, text if text.endswith((".", "”")) else text + ".", "Request")
        booked = self.booked()
        _set(self.call_label, f"Call booked {_when(booked['starts_at'])} with {booked['reviewer_name']} "
                              f"({rules.MATCHES.get(booked['match'], booked['match'] or '')})." if booked else "",
             "Booked call")
        calls = [call for request in data["requests"] for call in request["calls"]]
        self.calls.setRowCount(len(calls))
        for row, call in enumerate(reversed(calls)):
            values = (_when(call["starts_at"]), call["reviewer_name"], rules.BOOKING_STATUSES[call["status"]],
                      call["close_reason"] or "")
            for column, value in enumerate(values):
                self.calls.setItem(row, column, _item(value))
        self.calls.resizeColumnsToContents()
        self.load_candidates()

    def open_request(self) -> dict | None:
        return next((r for r in self.data.get("requests", []) if r["status"] in rules.OPEN_REQUEST_STATUSES), None)

    def booked(self) -> dict | None:
        request = self.open_request()
        return next((c for c in request["calls"] if c["status"] == "booked"), None) if request else None

    def load_candidates(self) -> None:
        self.proposal = None
        self.candidates.setRowCount(0)
        if not self.data or not (self.data["offered"] or self.open_request() is not None):
            _set(self.windows_note, "", "Free windows")
            self._enable()
            return
        try:
            with self.store.session() as session:
                self.proposal = svc.propose_slots(session, self.tar, self.viewer.username, at=self._now(),
                                                  include_all=self.all_reviewers.isChecked())
        except (ActionRefused, InvalidInput, NotFound) as error:
            _set(self.windows_note, _error_text(error), "Free windows")
            self._enable()
            return
        rows = self.proposal.candidates
        self.candidates.setRowCount(len(rows))
        for row, candidate in enumerate(rows):
            values = (format_instant(candidate.slot.start, year=True), candidate.full_name,
                      candidate.specialty or "—", rules.MATCHES[candidate.match],
                      "Preferred window" if candidate.preferred else "")
            for column, value in enumerate(values):
                self.candidates.setItem(row, column, _item(value))
        self.candidates.resizeColumnsToContents()
        _set(self.windows_note, self.proposal.note or
             f"{len(rows)} free windows from {rules.day_text(self.proposal.first_day)} to "
             f"{rules.day_text(self.proposal.last_day)}.", "Free windows")
        self._enable()

    def selected(self) -> list[svc.Candidate]:
        if self.proposal is None:
            return []
        rows = sorted({index.row() for index in self.candidates.selectionModel().selectedRows()})
        return [self.proposal.candidates[row] for row in rows if row < len(self.proposal.candidates)]

    def _enable(self) -> None:
        request, booked = self.open_request(), self.booked()
        offered = bool(self.data.get("offered"))
        chosen = len(self.selected())
        self.request_button.setEnabled(offered and request is None)
        self.offer_button.setEnabled(chosen >= rules.MIN_WINDOWS_OFFERED and booked is None
                                     and (request is not None or offered))
        self.book_button.setEnabled(chosen == 1 and booked is None)
        self.reschedule_button.setEnabled(chosen == 1 and booked is not None)
        self.cancel_button.setEnabled(booked is not None)
        self.outcome_button.setEnabled(booked is not None)
        self.cancel_request_button.setEnabled(request is not None)
        latest = self.data.get("requests", [])[-1:] if self.data else []
        self.invitation_button.setEnabled(bool(latest and latest[0]["calls"]))

    # --- acting ---------------------------------------------------------------------------------------------
    def _act(self, title: str, work, done: str) -> bool:
        try:
            with self.store.session() as session, session.begin():
                work(session)
        except (ActionRefused, InvalidInput, NotFound, SQLAlchemyError) as error:
            if isinstance(error, SQLAlchemyError):
                log.exception("%s failed", title)
            self.show_message(_error_text(error), warning=True, title=title)
            self.load()
            return False
        self.load()
        self.show_message(done)
        self.changed.emit()
        return True

    def show_message(self, text: str, *, warning: bool = False, title: str = "Peer-to-peer") -> None:
        _set(self.message, text, "Message")
        if warning:
            box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
            box.setAccessibleName(title)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.last_box = box

    def request_prompt(self) -> RequestDialog | None:
        if not self.request_button.isEnabled():
            return None
        with self.store.session() as session:
            from app.store.models import Case

            case = session.scalar(select(Case).where(Case.tar == self.tar))
            provider = case.requesting_provider
            name, phone = (provider.name, provider.phone or "") if provider else ("", "")
        dialog = RequestDialog(self.tar, name, phone, self._now(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.request(**dialog.values()))
        dialog.open()
        self.request_dialog = dialog
        return dialog

    def request(self, **values) -> bool:
        return self._act("Cannot record the request",
                         lambda s: svc.request_p2p(s, self.tar, self.viewer.username, at=self._now(), **values),
                         f"Request recorded for TAR {self.tar}; offer at least two windows, then book one.")

    def offer_selected(self) -> bool:
        chosen = self.selected()
        if len(chosen) < rules.MIN_WINDOWS_OFFERED:
            self.show_message(f"Select at least {rules.MIN_WINDOWS_OFFERED} windows to offer.", warning=True)
            return False
        return self._act("Cannot offer these windows",
                         lambda s: svc.offer_windows(s, self.tar, self.viewer.username,
                                                     [c.slot.id for c in chosen], at=self._now()),
                         "Offered: " + "; ".join(f"{format_instant(c.slot.start)} with {c.full_name}"
                                                 for c in chosen) + ".")

    def book_selected(self) -> bool:
        chosen = self.selected()
        if len(chosen) != 1:
            self.show_message("Select the one window the practitioner chose.", warning=True)
            return False
        choice = chosen[0]
        return self._act("Cannot book this window",
                         lambda s: svc.book_call(s, self.tar, self.viewer.username, choice.slot.id, at=self._now()),
                         f"Booked {format_instant(choice.slot.start, year=True)} with {choice.full_name}. Save "
                         "the invitation to send it.")

    def reschedule_prompt(self) -> ReasonDialog | None:
        chosen = self.selected()
        if len(chosen) != 1 or self.booked() is None:
            return None
        choice = chosen[0]
        dialog = ReasonDialog("Reschedule the call",
                              f"Move the peer-to-peer on TAR {self.tar} ({self.member_name}) from "
                              f"{_when(self.booked()['starts_at'])} to {format_instant(choice.slot.start, year=True)} "
                              f"with {choice.full_name}?", "Move the call", "Keep the call", self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._act(
            "Cannot move the call",
            lambda s: svc.reschedule_call(s, self.tar, self.viewer.username, choice.slot.id,
                                          reason=dialog.reason.text(), at=self._now()),
            f"Moved to {format_instant(choice.slot.start, year=True)}. Save the new invitation to send it."))
        dialog.open()
        return dialog

    def cancel_prompt(self) -> ReasonDialog | None:
        booked = self.booked()
        if booked is None:
            return None
        dialog = ReasonDialog("Cancel the call",
                              f"Cancel the peer-to-peer call on TAR {self.tar} ({self.member_name}) at "
                              f"{_when(booked['starts_at'])} with {booked['reviewer_name']}? The request waits "
                              "to be scheduled again.", "Cancel the call", "Keep the call", self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._act(
            "Cannot cancel the call",
            lambda s: svc.cancel_call(s, self.tar, self.viewer.username, reason=dialog.reason.text(), at=self._now()),
            "Call cancelled; save the invitation again to send the cancellation."))
        dialog.open()
        return dialog

    def cancel_request_prompt(self) -> ReasonDialog | None:
        if self.open_request() is None:
            return None
        dialog = ReasonDialog("Cancel the request",
                              f"Cancel the peer-to-peer request on TAR {self.tar} ({self.member_name}) and any call "
                              "booked for it?", "Cancel the request", "Keep the request", self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._act(
            "Cannot cancel the request",
            lambda s: svc.cancel_request(s, self.tar, self.viewer.username, reason=dialog.reason.text(),
                                         at=self._now()),
            "Request cancelled."))
        dialog.open()
        return dialog

    def save_invitation_prompt(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the invitation", f"p2p-{self.tar}.ics",
                                              "Calendar invitation (*.ics)")
        if path:
            self.save_invitation(Path(path))

    def save_invitation(self, path: Path) -> bool:
        def work(session):
            _, data = svc.send_invitation(session, self.tar, self.viewer.username, at=self._now())
            path.write_bytes(data)  # in the transaction: a file that cannot be written records nothing as sent

        try:
            return self._act("Cannot save the invitation", work, f"Invitation saved to {path}.")
        except OSError as error:
            self.show_message(f"The invitation could not be written to {path} ({error.strerror}); choose another "
                              "folder.", warning=True)
            return False

    def outcome_prompt(self) -> OutcomeDialog | None:
        if self.booked() is None:
            return None
        with self.store.session() as session:
            from app.store.models import Case

            case = session.scalar(select(Case).where(Case.tar == self.tar))
            lines = [(line.line_number, f"{line.code} {line.description}", line.units) for line in case.lines]
        dialog = OutcomeDialog(self.tar, self.member_name, lines, self._now(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.confirm_outcome(dialog.values()))
        dialog.open()
        self.outcome_dialog = dialog
        return dialog

    def confirm_outcome(self, values: dict) -> QMessageBox | bool:
        """An overturn or a modification is a new determination: confirm it naming the case; the rest is
        recorded at once."""
        if values["result"] not in ("overturned", "modified"):
            return self.record_outcome(values)
        what = "approval" if values["result"] == "overturned" else "partial approval"
        box = _confirm(self, "Record a new determination",
                       f"Record the peer-to-peer on TAR {self.tar} ({self.member_name}) as "
                       f"{values['result']}? This makes a new {what} by you, reopening the case, and drafts its "
                       "notice.", "Record and decide")
        box.buttonClicked.connect(lambda button: self.record_outcome(values) if button is box.yes else None)
        box.open()
        self.last_box = box
        return box

    def record_outcome(self, values: dict) -> bool:
        result = values["result"]
        done = {"upheld": "Recorded: upheld. The denial stands and the appeal window keeps running.",
                "overturned": "Recorded: overturned. The new approval is decided and its notice drafted "
                              "(Letters tab).",
                "modified": "Recorded: modified. The new partial approval is decided and its notice drafted "
                            "(Letters tab).",
                None: f"Recorded: {rules.CALL_STATUSES[values['call']].lower()}."}[result]
        return self._act("Cannot record the outcome",
                         lambda s: svc.record_outcome(s, self.tar, self.viewer.username, at=self._now(), **values),
                         done)


def add_p2p_tab(view, store, viewer) -> P2PTab:
    """Add the Peer-to-peer tab to an open case view (app.ui.case_view.CaseView)."""
    tab = P2PTab(store, viewer, view.details.tar, view.details.member_name, now=view._now, parent=view)
    view.p2p_tab = tab
    view.tabs.addTab(tab, "&Peer-to-peer")
    return tab


# ----- the week calendar ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Style:
    fill: str
    text: str
    pattern: Qt.BrushStyle
    border: Qt.PenStyle


STYLES = {  # the word in each box says what it is; colour and pattern only repeat it
    "free": _Style("#d6e9f8", "#0b3a5d", Qt.BrushStyle.SolidPattern, Qt.PenStyle.SolidLine),
    "booked": _Style("#0b5394", "#ffffff", Qt.BrushStyle.SolidPattern, Qt.PenStyle.SolidLine),
    "held": _Style("#6d6d6d", "#ffffff", Qt.BrushStyle.SolidPattern, Qt.PenStyle.SolidLine),
    "missed": _Style("#b45f06", "#ffffff", Qt.BrushStyle.Dense4Pattern, Qt.PenStyle.SolidLine),
    "past": _Style("#eeeeee", "#6d6d6d", Qt.BrushStyle.SolidPattern, Qt.PenStyle.DotLine),
    "away": _Style("#9e9e9e", "#202020", Qt.BrushStyle.BDiagPattern, Qt.PenStyle.DashLine),
}
ROW_MINUTES = 30


class WeekView(QWidget):
    """One reviewer's week, Monday to Sunday, by half hours (plan time). Painted from precomputed rectangles;
    keyboard: arrows move the focus, PageUp/PageDown change the week, Home goes to this week, Enter asks to add
    one-off hours at the focus, Delete to withdraw what is there."""

    week_requested = Signal(int)  # -1 previous, +1 next, 0 this week
    add_requested = Signal(object, object)  # day (date), start (time)
    withdraw_requested = Signal(object)  # availability entry id
    focus_described = Signal(str)

    HEADER = 38
    GUTTER = 64

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Week calendar")
        self.setMinimumSize(720, 420)
        self.week: svc.WeekCalendar | None = None
        self.first_row, self.last_row = 14, 38  # 07:00 to 19:00
        self.focus_day, self.focus_row = 0, 18
        self._boxes: list[tuple[QRectF, svc.WeekCell]] = []
        self._font = QFont(self.font())
        self._small = QFont(self.font())
        self._small.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.85))
        self.paints = 0

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(900, 560)

    def show_week(self, week: svc.WeekCalendar) -> None:
        self.week = week
        starts = [c.start // ROW_MINUTES for c in week.cells] + [14]
        ends = [(c.end + ROW_MINUTES - 1) // ROW_MINUTES for c in week.cells if c.kind != "away"] + [38]
        self.first_row, self.last_row = max(0, min(starts)), min(48, max(ends))
        self.focus_row = min(max(self.focus_row, self.first_row), self.last_row - 1)
        self._layout()
        self.update()
        self._describe()

    # --- geometry -------------------------------------------------------------------------------------------
    def _column_width(self) -> float:
        return (self.width() - self.GUTTER) / 7

    def _row_height(self) -> float:
        return (self.height() - self.HEADER) / max(1, self.last_row - self.first_row)

    def _y(self, minute: int) -> float:
        return self.HEADER + (minute / ROW_MINUTES - self.first_row) * self._row_height()

    def _layout(self) -> None:
        """Everything the paint draws, as rectangles and lines grouped by how they are drawn: a paint is then a
        few dozen calls into Qt whatever the number of boxes (and each call into PySide costs, see paintEvent)."""
        self._boxes = []
        self._by_kind: dict[str, list[QRectF]] = {}
        self._lines: tuple[list[QLineF], list[QLineF]] = ([], [])
        self._labels: list[tuple[QRectF, int, str]] = []
        self._holiday_rects: list[QRectF] = []
        if self.week is None:
            return
        width, height = self._column_width(), self._row_height()
        for cell in self.week.cells:
            column = (cell.day - self.week.monday).days
            top, bottom = self._y(max(cell.start, self.first_row * ROW_MINUTES)), self._y(
                min(cell.end, self.last_row * ROW_MINUTES))
            if bottom <= top:
                continue
            inset = 6 if cell.kind == "away" else 2
            rect = QRectF(self.GUTTER + column * width + inset, top + 1, width - 2 * inset, bottom - top - 2)
            self._boxes.append((rect, cell))
            self._by_kind.setdefault(cell.kind, []).append(rect)
        centre = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        for n, day in enumerate(self.week.days):
            x = self.GUTTER + n * width
            holiday = self.week.holidays.get(day)
            if holiday:
                self._holiday_rects.append(QRectF(x, self.HEADER, width, self.height() - self.HEADER))
            self._labels.append((QRectF(x + 2, 2, width - 4, self.HEADER - 4), centre,
                                 f"{day:%a %m/%d}" + (f"\n{holiday}" if holiday else "")))
        right_top = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        major, minor = self._lines
        for row in range(self.first_row, self.last_row + 1):
            y = self.HEADER + (row - self.first_row) * height
            (major if row % 2 == 0 else minor).append(QLineF(self.GUTTER, y, self.width(), y))
            if row % 2 == 0 and row < self.last_row:
                self._labels.append((QRectF(2, y, self.GUTTER - 6, height * 2), right_top,
                                     time(row // 2).strftime("%I %p").lstrip("0")))
        for n in range(8):
            x = self.GUTTER + n * width
            major.append(QLineF(x, self.HEADER, x, self.height()))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._layout()
        super().resizeEvent(event)

    # --- painting -------------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Batched: one call per kind of box (drawRects) and per kind of line (drawLines), then the texts. Besides
        being fast, this keeps the number of calls to Qt methods returning nothing small: PySide6 6.12.0 on
        Python 3.11 loses a reference to None on each such call (docs/p2p.md, "Known problems")."""
        self.paints += 1
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        if self.week is None:
            painter.drawText(QRectF(self.rect()), int(Qt.AlignmentFlag.AlignCenter), "Choose a reviewer")
            painter.end()
            return
        text_colour = palette.text().color()
        if self._holiday_rects:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor("#e6e6e6"), Qt.BrushStyle.Dense6Pattern))
            painter.drawRects(self._holiday_rects)
        major, minor = self._lines
        painter.setPen(QPen(QColor("#e4e4e4"), 1, Qt.PenStyle.DotLine))
        painter.drawLines(minor)
        painter.setPen(QPen(QColor("#c8c8c8")))
        painter.drawLines(major)
        painter.setFont(self._small)
        painter.setPen(text_colour)
        for rect, flags, text in self._labels:
            painter.drawText(rect, flags, text)
        for kind, rects in self._by_kind.items():
            style = STYLES[kind]
            painter.setBrush(QBrush(QColor(style.fill), style.pattern))
            painter.setPen(QPen(QColor("#303030"), 1, style.border))
            painter.drawRects(rects)
        left = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        pens = {kind: QColor(style.text) if style.pattern == Qt.BrushStyle.SolidPattern else text_colour
                for kind, style in STYLES.items()}
        current = None
        for rect, cell in sorted(self._boxes, key=lambda box: box[1].kind):
            if cell.kind != current:
                painter.setPen(pens[cell.kind])
                current = cell.kind
            painter.drawText(rect.adjusted(3, 0, -2, 0), left, cell.text)
        if self.hasFocus():  # the keyboard focus: a thick dashed outline
            width, height = self._column_width(), self._row_height()
            focus = QRectF(self.GUTTER + self.focus_day * width + 1,
                           self.HEADER + (self.focus_row - self.first_row) * height, width - 2, height)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(palette.highlight().color(), 3, Qt.PenStyle.DashLine))
            painter.drawRect(focus)
        painter.end()

    # --- focus and keys ---------------------------------------------------------------------------------------
    def focus_cell(self) -> tuple[date, time]:
        minute = self.focus_row * ROW_MINUTES
        return self.week.monday + timedelta(days=self.focus_day), time(minute // 60, minute % 60)

    def cell_at_focus(self) -> svc.WeekCell | None:
        if self.week is None:
            return None
        day, start = self.focus_cell()
        minute = start.hour * 60 + start.minute
        found = [c for c in self.week.cells if c.day == day and c.start <= minute < c.end]
        return next((c for c in found if c.kind != "away"), found[0] if found else None)

    def describe_focus(self) -> str:
        if self.week is None:
            return ""
        day, start = self.focus_cell()
        cell = self.cell_at_focus()
        holiday = self.week.holidays.get(day)
        what = cell.text if cell else "nothing published"
        if cell and cell.kind == "free":
            what = "free slot"
        return (f"{day:%A %m/%d/%Y} {start.strftime('%I:%M %p').lstrip('0')} PT: {what}"
                + (f" (plan holiday: {holiday})" if holiday else ""))

    def _describe(self) -> None:
        text = self.describe_focus()
        self.setAccessibleDescription(text)
        self.focus_described.emit(text)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        moves = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        if key in moves and self.week is not None:
            dx, dy = moves[key]
            self.focus_day = min(6, max(0, self.focus_day + dx))
            self.focus_row = min(self.last_row - 1, max(self.first_row, self.focus_row + dy))
            self.update()
            self._describe()
        elif key == Qt.Key.Key_PageUp:
            self.week_requested.emit(-1)
        elif key == Qt.Key.Key_PageDown:
            self.week_requested.emit(1)
        elif key == Qt.Key.Key_Home:
            self.week_requested.emit(0)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.week is not None:
            self.add_requested.emit(*self.focus_cell())
        elif key == Qt.Key.Key_Delete:
            cell = self.cell_at_focus()
            if cell is not None and cell.entry_id is not None:
                self.withdraw_requested.emit(cell.entry_id)
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.week is None:
            return
        position = event.position()
        if position.x() >= self.GUTTER and position.y() >= self.HEADER:
            self.focus_day = min(6, int((position.x() - self.GUTTER) / self._column_width()))
            self.focus_row = min(self.last_row - 1,
                                 self.first_row + int((position.y() - self.HEADER) / self._row_height()))
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.update()
            self._describe()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.mousePressEvent(event)
        if self.week is not None:
            self.add_requested.emit(*self.focus_cell())

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.update()
        self._describe()
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.update()
        super().focusOutEvent(event)


class EntryDialog(QDialog):
    """Weekly hours, one-off hours or an out-of-office block (plan time)."""

    def __init__(self, kind: str, reviewer: str, day: date, start: time | None = None, parent=None):
        super().__init__(parent)
        self.kind = kind
        title = {"weekly": "Add weekly hours", "one-off": "Add one-off hours", "out-of-office": "Add out of office"}
        self.setWindowTitle(f"{title[kind]} — {reviewer}")
        self.setAccessibleName(f"{title[kind]} for {reviewer}")
        form = QFormLayout(self)
        start = start or time(9)
        end = (datetime.combine(day, start) + timedelta(hours=2)).time() if start < time(22) else time(23, 30)
        self.weekday = QComboBox()
        self.weekday.addItems(list(rules.WEEKDAY_NAMES))
        self.weekday.setCurrentIndex(day.weekday())
        self.first = QDateEdit(QDate(day.year, day.month, day.day))
        self.last = QDateEdit(QDate(day.year, day.month, day.day).addDays(27 if kind == "weekly" else 0))
        self.open_ended = QCheckBox("No last day")
        self.start = QTimeEdit(QTime(start.hour, start.minute))
        self.end = QTimeEdit(QTime(end.hour, end.minute))
        self.whole_days = QCheckBox("Whole days")
        self.slot_minutes = QComboBox()
        for minutes in rules.SLOT_MINUTES:
            self.slot_minutes.addItem(f"{minutes} minutes", minutes)
        self.slot_minutes.setCurrentIndex(rules.SLOT_MINUTES.index(rules.DEFAULT_SLOT_MINUTES))
        self.note = QLineEdit()
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("ddd MM/dd/yyyy")
        for edit in (self.start, self.end):
            edit.setDisplayFormat("h:mm AP")
        rows = []
        if kind == "weekly":
            rows += [("&Weekday:", self.weekday), ("&From day:", self.first), ("&Until day:", self.last),
                     ("", self.open_ended)]
        elif kind == "one-off":
            rows += [("&Day:", self.first)]
        else:
            rows += [("&From day:", self.first), ("&Until day:", self.last), ("", self.whole_days)]
        rows += [("&Start (PT):", self.start), ("&End (PT):", self.end)]
        if kind != "out-of-office":
            rows += [("&Call length:", self.slot_minutes)]
        rows += [("&Note:", self.note)]
        for label, widget in rows:
            widget.setAccessibleName((label or widget.text()).replace("&", "").rstrip(":"))
            if label:
                heading = QLabel(label)
                heading.setBuddy(widget)
                form.addRow(heading, widget)
            else:
                form.addRow(widget)
        self.open_ended.toggled.connect(lambda on: self.last.setEnabled(not on))
        self.whole_days.toggled.connect(lambda on: (self.start.setEnabled(not on), self.end.setEnabled(not on)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        first, last = self.first.date().toPython(), self.last.date().toPython()
        start, end = self.start.time().toPython(), self.end.time().toPython()
        if self.kind == "weekly":
            return {"kind": "weekly", "weekday": self.weekday.currentIndex(), "first_day": first,
                    "last_day": None if self.open_ended.isChecked() else last, "start": start, "end": end,
                    "slot_minutes": self.slot_minutes.currentData(), "note": self.note.text()}
        if self.kind == "one-off":
            return {"kind": "one-off", "first_day": first, "start": start, "end": end,
                    "slot_minutes": self.slot_minutes.currentData(), "note": self.note.text()}
        whole = self.whole_days.isChecked()
        return {"kind": "out-of-office", "first_day": first, "last_day": last, "start": None if whole else start,
                "end": None if whole else end, "note": self.note.text()}


def _work_week(day: date) -> date:
    """The Monday of the week the calendar opens on for `day`: its own week, or the next one on a Saturday or a
    Sunday, when this week's working days are over (docs/p2p.md, "The availability calendar")."""
    return day - timedelta(days=day.weekday()) + (timedelta(days=7) if day.weekday() >= 5 else timedelta())


class AvailabilityWindow(QDialog):
    """Peer-to-peer ▸ Availability calendar: a reviewer's week, editable."""

    def __init__(self, store, viewer, *, now: Callable[[], datetime], reviewer: str | None = None, parent=None):
        super().__init__(parent)
        self.store, self.viewer, self._now = store, viewer, now
        self.setWindowTitle("Peer-to-peer availability")
        self.setAccessibleName("Peer-to-peer availability calendar")
        self.resize(1100, 760)
        self.monday = _work_week(now().astimezone(PLAN_TZ).date())
        self.last_dialog: QDialog | None = None
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.reviewer = QComboBox()
        self.reviewer.setAccessibleName("Reviewer")
        with store.session() as session:
            from app.store.p2p_queries import reviewers

            peers = [(u.username, f"{u.full_name} — {u.specialty or 'no specialty'}")
                     for u in reviewers(session, rules.PEER_ROLES)]
        self.keeps_others = viewer.role in rules.AVAILABILITY_KEEPERS
        if not self.keeps_others:
            peers = [p for p in peers if p[0] == viewer.username] or peers
        for username, label in peers:
            self.reviewer.addItem(label, username)
        chosen = reviewer or (viewer.username if any(p[0] == viewer.username for p in peers) else None)
        if chosen:
            self.reviewer.setCurrentIndex(max(0, self.reviewer.findData(chosen)))
        reviewer_label = QLabel("&Reviewer:")
        reviewer_label.setBuddy(self.reviewer)
        self.previous = QPushButton("◀ &Previous week")
        self.this_week = QPushButton("T&his week")
        self.next = QPushButton("Ne&xt week ▶")
        self.week_label = _bold(QLabel())
        for widget in (reviewer_label, self.reviewer, self.previous, self.this_week, self.next):
            top.addWidget(widget)
        top.addWidget(self.week_label, 1)
        for button in (self.previous, self.this_week, self.next):
            button.setAutoDefault(False)
        for button, tip in ((self.previous, "The week before (PageUp in the calendar)"),
                            (self.this_week, "This week (Home in the calendar)"),
                            (self.next, "The week after (PageDown in the calendar)")):
            button.setToolTip(tip)
            button.setAccessibleName(button.text().replace("&", "").strip("◀▶ "))
        layout.addLayout(top)
        self.view = WeekView()
        layout.addWidget(self.view, 1)
        self.focus_text = _text_label()
        self.focus_text.setAccessibleName("Calendar focus")
        layout.addWidget(self.focus_text)
        legend = QLabel("Free: light box · Booked: dark box with its TAR · Held / Missed / Past: grey, orange, "
                        "dotted "
                        "· Out of office: hatched · Plan holidays: shaded column, named in the header. Weekly hours "
                        "are not held on plan holidays.")
        legend.setWordWrap(True)
        layout.addWidget(legend)
        bottom = QHBoxLayout()
        self.entries = QListWidget()
        self.entries.setAccessibleName("Availability entries")
        self.entries.setMaximumHeight(130)
        bottom.addWidget(self.entries, 1)
        buttons = QVBoxLayout()
        self.add_weekly = QPushButton("Add &weekly hours…")
        self.add_one_off = QPushButton("Add &one-off hours…")
        self.add_away = QPushButton("Add o&ut of office…")
        self.withdraw = QPushButton("Wi&thdraw selected…")
        for button in (self.add_weekly, self.add_one_off, self.add_away, self.withdraw):
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
            button.setAutoDefault(False)  # Enter in the calendar adds hours there, not what has the default look
            buttons.addWidget(button)
        bottom.addLayout(buttons)
        layout.addLayout(bottom)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.previous.clicked.connect(lambda: self.move_week(-1))
        self.next.clicked.connect(lambda: self.move_week(1))
        self.this_week.clicked.connect(lambda: self.move_week(0))
        self.view.week_requested.connect(self.move_week)
        self.view.add_requested.connect(lambda day, start: self.add_prompt("one-off", day, start))
        self.view.withdraw_requested.connect(self.withdraw_prompt)
        self.view.focus_described.connect(lambda text: _set(self.focus_text, text, "Calendar focus"))
        self.reviewer.currentIndexChanged.connect(lambda *_: self.load())
        self.add_weekly.clicked.connect(lambda: self.add_prompt("weekly"))
        self.add_one_off.clicked.connect(lambda: self.add_prompt("one-off"))
        self.add_away.clicked.connect(lambda: self.add_prompt("out-of-office"))
        self.withdraw.clicked.connect(lambda: self.withdraw_prompt(self.selected_entry()))
        self.entries.currentRowChanged.connect(lambda *_: self.withdraw.setEnabled(self.selected_entry() is not None))
        self.setTabOrder(self.reviewer, self.view)
        self.load()

    def reviewer_name(self) -> str | None:
        return self.reviewer.currentData()

    def move_week(self, step: int) -> None:
        today = _work_week(self._now().astimezone(PLAN_TZ).date())
        self.monday = today if step == 0 else self.monday + timedelta(days=7 * step)
        self.load()

    def load(self) -> None:
        username = self.reviewer_name()
        if username is None:
            self.week_label.setText("No reviewer publishes availability in this store.")
            return
        with self.store.session() as session:
            week = svc.week_calendar(session, username, self.monday, now=self._now())
        self.week = week
        sunday = self.monday + timedelta(days=6)
        free = sum(1 for c in week.cells if c.kind == "free")
        booked = sum(1 for c in week.cells if c.kind == "booked")
        text = (f"Week of {self.monday:%a %m/%d/%Y} to {sunday:%a %m/%d}: {free} free, {booked} booked"
                + (f"; holiday: {', '.join(week.holidays.values())}" if week.holidays else ""))
        self.week_label.setText(text)
        self.week_label.setAccessibleName(text)
        self.view.setAccessibleName(f"Week calendar of {week.full_name}, {text}")
        today = self._now().astimezone(PLAN_TZ).date()
        if self.monday <= today <= sunday:  # start the keyboard focus on today's first slot
            self.view.focus_day = (today - self.monday).days
            starts = [c.start for c in week.cells if c.day == today]
            if starts:
                self.view.focus_row = min(starts) // ROW_MINUTES
        self.view.show_week(week)
        self.entries.clear()
        for entry in week.entries:
            item = QListWidgetItem(entry["description"] + (f" — {entry['note']}" if entry["note"] else ""))
            item.setData(Qt.ItemDataRole.UserRole, entry["id"])
            self.entries.addItem(item)
        can_edit = self.keeps_others or username == self.viewer.username
        for button in (self.add_weekly, self.add_one_off, self.add_away):
            button.setEnabled(can_edit)
        self.withdraw.setEnabled(can_edit and self.selected_entry() is not None)

    def selected_entry(self) -> str | None:
        item = self.entries.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def add_prompt(self, kind: str, day: date | None = None, start: time | None = None) -> EntryDialog | None:
        username = self.reviewer_name()
        if username is None:
            return None
        day = day or max(self.monday, self._now().astimezone(PLAN_TZ).date())
        dialog = EntryDialog(kind, self.reviewer.currentText(), day, start, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.add(**dialog.values()))
        dialog.open()
        self.last_dialog = dialog
        return dialog

    def _act(self, title: str, work) -> bool:
        try:
            with self.store.session() as session, session.begin():
                work(session)
        except (ActionRefused, InvalidInput, NotFound, SQLAlchemyError) as error:
            if isinstance(error, SQLAlchemyError):
                log.exception("%s failed", title)
            box = QMessageBox(QMessageBox.Icon.Warning, title, _error_text(error), QMessageBox.StandardButton.Ok,
                              self)
            box.setAccessibleName(title)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.last_box = box
            return False
        self.load()
        return True

    def add(self, **values) -> bool:
        username = self.reviewer_name()
        return self._act("Cannot add this availability",
                         lambda s: svc.add_availability(s, self.viewer.username, reviewer=username,
                                                        at=self._now(), **values))

    def withdraw_prompt(self, entry_id) -> ReasonDialog | None:
        if entry_id is None or self.week is None:
            return None
        entry = next((e for e in self.week.entries if e["id"] == str(entry_id)), None)
        if entry is None:
            return None
        dialog = ReasonDialog("Withdraw availability",
                              f"Withdraw {self.week.full_name}'s {entry['description']}? Calls already booked in it "
                              "stay booked.", "Withdraw", "Keep it", self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._act(
            "Cannot withdraw this availability",
            lambda s: svc.withdraw_availability(s, self.viewer.username, entry["id"], reason=dialog.reason.text(),
                                                at=self._now())))
        dialog.open()
        self.last_dialog = dialog
        return dialog


# ----- the report ------------------------------------------------------------------------------------------
REPORT_ROWS = (
    ("requested", "Requested"), ("held", "Held"), ("missed", "Missed (no-show + plan missed)"),
    ("practitioner_no_show", "  Practitioner no-show"), ("plan_missed", "  Plan missed"),
    ("cancelled", "Cancelled calls"), ("upheld", "Upheld"), ("overturned", "Overturned"), ("modified", "Modified"),
    ("closed_as_attempted", "Closed as attempted"), ("median_request_to_call_hours", "Median hours, request to call"),
)


class P2PReportDialog(QDialog):
    """Peer-to-peer ▸ Report: the figures of `umws report p2p` for a period, counted off the GUI thread."""

    def __init__(self, store, parent=None, *, today: date | None = None):
        super().__init__(parent)
        self.setWindowTitle("Peer-to-peer report")
        self.setAccessibleName("Peer-to-peer report")
        self._store = store
        self.report: dict | None = None
        self._task: Task | None = None
        today = today or datetime.now(PLAN_TZ).date()
        self.first = QDateEdit(QDate(today - timedelta(days=30)))
        self.last = QDateEdit(QDate(today))
        period = QHBoxLayout()
        for edit, name in ((self.first, "First day"), (self.last, "Last day")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("MM/dd/yyyy")
            edit.setAccessibleName(name)
        first_label, last_label = QLabel("&From"), QLabel("&to")
        first_label.setBuddy(self.first)
        last_label.setBuddy(self.last)
        self.run_button = QPushButton("&Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        for widget in (first_label, self.first, last_label, self.last, self.run_button):
            period.addWidget(widget)
        period.addStretch(1)
        self.status = _text_label("Choose a period and press Run. Days are plan time (PT). No figure per reviewer: "
                                  "nothing ranks reviewers by their decisions.")
        self.table = QTableWidget(len(REPORT_ROWS), 1)
        self.table.setAccessibleName("Peer-to-peer figures")
        self.table.setHorizontalHeaderLabels(["Count"])
        self.table.setVerticalHeaderLabels([label for _, label in REPORT_ROWS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(period)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(520, 520)

    def run(self) -> Task | None:
        first, last = self.first.date().toPython(), self.last.date().toPython()
        if last < first:
            self.status.setText("The last day is before the first day: choose the period again.")
            return None
        from app.store.p2p_queries import p2p_report

        self.run_button.setEnabled(False)
        self.status.setText("Counting…")

        def work(progress, cancelled):
            with self._store.session() as session:
                return p2p_report(session, first, last)

        self._task = Task(work, "p2p report", self)
        self._task.succeeded.connect(self.show_report)
        self._task.failed.connect(lambda error: self.status.setText("The report could not be made; details are in "
                                                                    "the log file."))
        self._task.finished.connect(lambda: self.run_button.setEnabled(True))
        self._task.start()
        return self._task

    def show_report(self, report: dict) -> None:
        self.report = report
        for row, (key, label) in enumerate(REPORT_ROWS):
            value = report[key]
            item = QTableWidgetItem("—" if value is None else str(value))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(f"{label.strip()}: {item.text()}")
            self.table.setItem(row, 0, item)
        self.status.setText(f"{report['from']} to {report['to']}: {report['requested']} requested, {report['held']} "
                            f"held, {report['overturned']} overturned, {report['upheld']} upheld.")
        self.status.setAccessibleName(self.status.text())


# ----- reminders -------------------------------------------------------------------------------------------
class ReminderBar(QFrame):
    """"Peer-to-peer call in 15 minutes": the TAR, the practitioner and their phone; Open case, Dismiss."""

    open_case = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("p2pReminder")
        self.setAccessibleName("Peer-to-peer reminder")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#p2pReminder { border: 2px solid #0b5394; border-radius: 4px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.text = _bold(_text_label())
        layout.addWidget(self.text, 1)
        self.open_button = QPushButton("Open &case")
        self.dismiss_button = QPushButton("Dismiss")
        self.open_button.clicked.connect(lambda: self.open_case.emit(self.tar))
        self.dismiss_button.clicked.connect(self.hide)
        layout.addWidget(self.open_button)
        layout.addWidget(self.dismiss_button)
        self.tar = ""
        self.hide()

    def show_reminder(self, tar: str, text: str) -> None:
        self.tar = tar
        self.text.setText(text)
        self.text.setAccessibleName(text)
        self.setAccessibleDescription(text)
        self.show()


class P2PReminders:
    """Reads the reviewer's calls of the next two hours every minute (off the GUI thread, on the window's task
    queue); each tick reminds of a call 15 minutes ahead, once per call and session."""

    def __init__(self, window, bar: ReminderBar):
        self.window, self.bar = window, bar
        self.calls: list = []
        self.reminded: set = set()
        self.messages: list[str] = []
        self.reads = 0
        self.tick_timer = QTimer(window)
        self.tick_timer.setInterval(REMINDER_TICK_MS)
        self.tick_timer.timeout.connect(self.check)
        self.read_timer = QTimer(window)
        self.read_timer.setInterval(REMINDER_READ_MS)
        self.read_timer.timeout.connect(self.read)
        self.tick_timer.start()
        self.read_timer.start()
        self.read()

    def read(self):
        if getattr(self.window, "_closed", False):  # the window is closing: its task queue has stopped
            self.stop()
            return None
        store, username, now = self.window.store, self.window.viewer.username, self.window._clock()

        def work(progress, cancelled):
            with store.session() as session:
                return svc.upcoming_calls(session, username, now)

        job = self.window.background.submit(work, "p2p reminders")
        job.succeeded.connect(self._read)
        return job

    def _read(self, calls) -> None:
        self.calls = list(calls)
        self.reads += 1
        self.check()

    def check(self) -> list[str]:
        now = self.window._clock()
        due = [c for c in self.calls if c.booking_id not in self.reminded
               and c.starts_at - timedelta(minutes=rules.REMINDER_MINUTES) <= now < c.ends_at]
        shown = []
        for call in due:
            self.reminded.add(call.booking_id)
            left = call.starts_at - now
            when = (f"in {max(0, int(left.total_seconds() // 60))} minutes" if left.total_seconds() > 0
                    else "now")
            text = (f"Peer-to-peer call {when} ({format_instant(call.starts_at)}): TAR {call.tar} with "
                    f"{call.requester_name}, {call.requester_phone}.")
            self.bar.show_reminder(call.tar, text)
            self.messages.append(text)
            shown.append(text)
        return shown

    def stop(self) -> None:
        self.tick_timer.stop()
        self.read_timer.stop()


# ----- the main window's menu -----------------------------------------------------------------------------------
class P2PTools:
    """What `install_p2p` adds to the main window: the Peer-to-peer menu and, for reviewers, the reminders."""

    def __init__(self, window):
        self.window = window
        self.calendar: AvailabilityWindow | None = None
        self.report: P2PReportDialog | None = None
        self.reminders: P2PReminders | None = None
        menu = QMenu("&Peer-to-peer", window)
        self.menu = menu
        self.action_calendar = QAction("&Availability calendar…", window)
        self.action_calendar.setShortcut(QKeySequence("Ctrl+Shift+W"))
        self.action_calendar.setStatusTip("Reviewers' peer-to-peer hours by week: add hours, out of office")
        self.action_calendar.triggered.connect(lambda: self.show_calendar())
        self.action_report = QAction("Peer-to-peer &report…", window)
        self.action_report.setShortcut(QKeySequence("Ctrl+Shift+T"))
        self.action_report.setStatusTip("Requested, held, missed, overturned, upheld; median request to call")
        self.action_report.triggered.connect(lambda: self.show_report())
        for action in (self.action_calendar, self.action_report):
            window.addAction(action)
            menu.addAction(action)
        bar = window.menuBar()
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        bar.insertMenu(help_menu, menu) if help_menu is not None else bar.addMenu(menu)
        if window.viewer.role in rules.PEER_ROLES:
            self.bar = ReminderBar(window)
            layout = window.centralWidget().layout()
            layout.insertWidget(1, self.bar)
            self.bar.open_case.connect(lambda tar: window.open_case(tar))
            self.reminders = P2PReminders(window, self.bar)

    def show_calendar(self) -> AvailabilityWindow:
        self.calendar = AvailabilityWindow(self.window.store, self.window.viewer, now=self.window._clock,
                                           parent=self.window)
        self.calendar.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.calendar.show()
        return self.calendar

    def show_report(self) -> P2PReportDialog:
        self.report = P2PReportDialog(self.window.store, self.window,
                                      today=self.window._clock().astimezone(PLAN_TZ).date())
        self.report.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.report.show()
        return self.report


def install_p2p(window) -> P2PTools:
    """Add peer-to-peer to the main window (app.ui.main_window.MainWindow): its menu, and reminders for reviewers."""
    return P2PTools(window)
