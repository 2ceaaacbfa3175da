"""The Stay tab of the case view (issue 12): the admission, its flags, the day ledger, and the review cycle.

workstation-ux.md: every action has a shortcut and a menu entry (the tab's "Stay actions" menu; the shortcuts work
while the tab has the focus, so they never clash with the case view's other tabs), accessible names everywhere,
colour never alone (each day's status is a word), irreversible steps (discharge, denial) confirm naming the case
with the safe button as default, errors in the user's words.

Path of an action: a button or menu entry here -> a dialog of this module -> `app.services.stays` (authority,
`record_event`) -> the store; the tab then reads the stay again (`app.store.stays.load_stay`). Opened by
`attach_stay_tab`, which `MainWindow.open_case` calls for every case it opens (it adds nothing to a case that is
not a stay).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QDate, QDateTime, QModelIndex, QPersistentModelIndex, Qt, QTime, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QDateTimeEdit, QDialog, QDialogButtonBox, QFormLayout,
    QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QMenu, QMessageBox, QPlainTextEdit, QPushButton, QScrollArea,
    QSpinBox, QTableView, QToolButton, QVBoxLayout, QWidget,
)
from sqlalchemy.exc import SQLAlchemyError

from app.domain.criteria.model import ANSWER_LABELS
from app.domain.plantime import PLAN_TZ, format_duration, format_instant
from app.domain.roles import PHYSICIAN_ROLES
from app.domain.stays import (
    ADMISSION_TYPES, DAY_STATUSES, DENIAL_BASES, DISCHARGE_NEEDS, DISPOSITIONS, LEVELS_OF_CARE,
    REVIEW_INTERVAL_DAYS, lowers_level, may_record,
)
from app.services import stays as svc
from app.store.engine import Store
from app.store.errors import StoreError
from app.store.stays import ReviewCriteria, StayView, facility_choices, is_stay, load_stay, review_criteria

log = logging.getLogger(__name__)

LEDGER_HEADERS = ("Day", "Status", "Level of care", "Leave", "Decided by", "Determination")
DENIED_COLOUR = QColor("#D55E00")  # Okabe-Ito vermillion, always with the word "Denied"
PENDING_COLOUR = QColor("#0072B2")  # Okabe-Ito blue, always with the word "Pending"
_Index = QModelIndex | QPersistentModelIndex


def _day(value: date | None) -> str:
    return value.strftime("%a %m/%d/%Y") if value else "—"


def _qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)


def _pydate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _plan_now(now: datetime) -> QDateTime:
    local = now.astimezone(PLAN_TZ)
    return QDateTime(_qdate(local.date()), QTime(local.hour, local.minute))


def _instant(value: QDateTime) -> datetime:
    """A date-time edited in plan time, as an aware instant."""
    d, t = value.date(), value.time()
    return datetime.combine(_pydate(d), time(t.hour(), t.minute()), tzinfo=PLAN_TZ)


def _labelled(form: QFormLayout, text: str, widget: QWidget, name: str) -> None:
    label = QLabel(text)
    label.setBuddy(widget)
    widget.setAccessibleName(name)
    form.addRow(label, widget)


def _date_edit(value: date) -> QDateEdit:
    edit = QDateEdit(_qdate(value))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("MM/dd/yyyy")
    return edit


def _text_edit(placeholder: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)  # Tab moves on, as in every other field
    edit.setPlaceholderText(placeholder)
    edit.setFixedHeight(edit.fontMetrics().height() * 4 + 12)
    return edit


# ----- the ledger ------------------------------------------------------------------------------------------------
class FactsGrid(QWidget):
    """The stay's facts in two columns of "name: value" (selectable text, each with its accessible name)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(3)
        self.grid.setColumnStretch(1, 1)
        self.grid.setColumnStretch(3, 1)
        self.values: dict[str, QLabel] = {}

    def show_fields(self, fields: list[tuple[str, str]]) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.values = {}
        for n, (name, value) in enumerate(fields):
            row, column = divmod(n, 2)
            heading = QLabel(f"{name}:")
            label = QLabel(value)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
            label.setAccessibleName(f"{name}: {value}")
            heading.setBuddy(label)
            self.grid.addWidget(heading, row, column * 2, Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(label, row, column * 2 + 1, Qt.AlignmentFlag.AlignTop)
            self.values[name] = label


class LedgerModel(QAbstractTableModel):
    """A stay's days: each day's status (a word), level of care, leave, who decided it and the determination. The
    texts are made once when the stay is set (a 120-day ledger paints without recomputing a cell)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view: StayView | None = None
        self.rows: list[tuple[str, ...]] = []
        self.colours: list[QColor | None] = []

    def set_view(self, view: StayView | None) -> None:
        self.beginResetModel()
        self.view = view
        self.rows, self.colours = [], []
        if view is not None:
            decisions = {key: ((d.by or ""), f"{format_instant(d.at)}: {d.summary}")
                         for key, d in view.determinations.items()}
            for day in view.ledger.days:
                by, summary = decisions.get(day.determination_id, ("", "")) if day.determination_id else ("", "")
                self.rows.append((
                    _day(day.day), DAY_STATUSES.get(day.status, day.status),
                    LEVELS_OF_CARE.get(day.level_of_care, day.level_of_care), "On leave" if day.on_leave else "",
                    by, summary))
                self.colours.append(DENIED_COLOUR if day.status == "denied" else
                                    PENDING_COLOUR if day.status == "pending" else None)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(LEDGER_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(LEDGER_HEADERS):
            return LEDGER_HEADERS[section]
        return None

    def cell(self, row: int, column: int) -> str:
        return self.rows[row][column]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        row, column = index.row(), index.column()
        if not index.isValid() or not 0 <= row < len(self.rows) or not 0 <= column < len(LEDGER_HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            return self.rows[row][column]
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{LEDGER_HEADERS[column]}: {self.rows[row][column] or 'none'}"
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return self.colours[row]
        return None


# ----- dialogs -----------------------------------------------------------------------------------------------------
class ReviewDialog(QDialog):
    """A concurrent review: the clinical update, the criteria walked, the days approved and the next review --
    or the days referred to a physician. `submitted(choice)` asks the tab to act; the dialog closes only when the
    action went through (an error leaves it open with everything typed)."""

    submitted = Signal(str)  # "approve" or "refer"

    def __init__(self, view: StayView, criteria: ReviewCriteria, today: date, physician: bool, parent=None):
        super().__init__(parent)
        self.view, self.criteria = view, criteria
        self.setWindowTitle(f"Concurrent review — TAR {view.tar}")
        self.setAccessibleName(f"Concurrent review of TAR {view.tar}, {view.member}")
        layout = QVBoxLayout(self)
        intro = QLabel(f"{view.member} · TAR {view.tar} · {view.facility} · {LEVELS_OF_CARE[view.level_of_care]}. "
                       f"Days requested through {_day(view.ledger.requested_through)}; approved through "
                       f"{_day(view.approved_through)}.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.update_text = _text_edit("What the facility reported: vital signs, treatment, response, barriers to "
                                      "discharge")
        _labelled(form, "Clinical &update:", self.update_text, "Clinical update")
        last = view.ledger.requested_through or view.admit_date
        undecided = any(d.status in ("requested", "pending") for d in view.ledger.days)
        # Nothing left to decide: the facility's next request is usually for the level's review interval.
        asked = last if undecided else max(last, today) + timedelta(days=REVIEW_INTERVAL_DAYS[view.level_of_care])
        self.requested = _date_edit(asked)
        self.requested.setMinimumDate(_qdate(last))
        _labelled(form, "Days &requested through:", self.requested, "Days requested through")
        self.approve = _date_edit(asked)
        self.approve.setMinimumDate(_qdate(view.admit_date))
        _labelled(form, "Approve &through:", self.approve, "Approve days through")
        self.next_review = _date_edit(view.proposed_next_review(today))
        self.next_review.setMinimumDate(_qdate(today))
        _labelled(form, "&Next review:", self.next_review, "Next review date")
        self.expected = _date_edit(view.expected_discharge or last)
        self.expected.setMinimumDate(_qdate(view.admit_date))
        _labelled(form, "E&xpected discharge:", self.expected, "Expected discharge")
        self.question = QLineEdit()
        self.question.setPlaceholderText("Only when referring: the question for the physician")
        _labelled(form, "&Question for the physician:", self.question, "Question for the physician")
        layout.addLayout(form)
        self.requested.dateChanged.connect(lambda d: self.approve.setDate(d) if self.approve.date() > d else None)
        layout.addWidget(self._criteria_box(criteria, physician))
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Why the review did not go through")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.approve_button = buttons.addButton("&Approve days", QDialogButtonBox.ButtonRole.AcceptRole)
        self.refer_button = buttons.addButton("Refer to &physician", QDialogButtonBox.ButtonRole.ActionRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.approve_button.setDefault(True)
        self.approve_button.clicked.connect(lambda: self.submitted.emit("approve"))
        self.refer_button.clicked.connect(lambda: self.submitted.emit("refer"))
        self.refer_button.setVisible(not physician)
        cancel.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.update_text.setFocus()

    def _criteria_box(self, criteria: ReviewCriteria, physician: bool) -> QGroupBox:
        title = (f"Criteria: {criteria.title} ({criteria.set_id} {criteria.version})" if criteria.set_id
                 else "Criteria")
        box = QGroupBox(title)
        box.setAccessibleName(title)
        outer = QVBoxLayout(box)
        self.answers: dict[str, QComboBox] = {}
        if criteria.set_id is None:
            note = QLabel(criteria.message)
            note.setWordWrap(True)
            outer.addWidget(note)
            return box
        holder = QWidget()
        inner = QFormLayout(holder)
        inner.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # the criterion's text above its answer
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        scroll.setAccessibleName("Criteria to answer")
        scroll.setMinimumHeight(self.fontMetrics().height() * 14)
        outer.addWidget(scroll)
        for row in criteria.rows:
            indent = "    " * row.depth
            if row.is_group:
                heading = QLabel(f"{indent}{row.text}")
                heading.setWordWrap(True)
                inner.addRow(heading)
                continue
            label = QLabel(f"{indent}{row.text}")
            label.setWordWrap(True)
            label.setMinimumWidth(self.fontMetrics().averageCharWidth() * 80)
            if row.machine in ("met", "not-met", "not-applicable"):
                value = QLabel(f"{ANSWER_LABELS[row.machine]} (by rule: {row.machine_explanation or ''})")
                value.setWordWrap(True)
                value.setAccessibleName(f"{row.text}: {ANSWER_LABELS[row.machine]} by rule")
                inner.addRow(label, value)
                continue
            combo = QComboBox()
            for answer, text in ANSWER_LABELS.items():
                combo.addItem(text, answer)
            combo.setCurrentIndex(combo.findData(row.answer))
            combo.setAccessibleName(f"Answer: {row.text}")
            label.setBuddy(combo)
            inner.addRow(label, combo)
            self.answers[row.id] = combo
        hint = ("A physician's approval does not need the criteria met." if physician else
                "A nurse approves only when the criteria are met; otherwise refer the days to a physician.")
        note = QLabel(hint)
        note.setWordWrap(True)
        outer.addWidget(note)
        return box

    def chosen_answers(self) -> dict[str, str]:
        return {cid: combo.currentData() for cid, combo in self.answers.items()}

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setAccessibleName(f"Not done: {text}")
        self.error.show()


class DischargeDialog(QDialog):
    """The discharge: when, where to, and the needs that become new requests."""

    def __init__(self, view: StayView, now: datetime, parent=None):
        super().__init__(parent)
        self.view = view
        self.setWindowTitle(f"Discharge — TAR {view.tar}")
        self.setAccessibleName(f"Discharge of TAR {view.tar}, {view.member}")
        layout = QVBoxLayout(self)
        intro = QLabel(f"{view.member} · TAR {view.tar} · {view.facility}, admitted "
                       f"{format_instant(view.admitted_at, year=True)}.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.at = QDateTimeEdit(_plan_now(now))
        self.at.setDisplayFormat("MM/dd/yyyy hh:mm AP")
        self.at.setCalendarPopup(True)
        _labelled(form, "Discharged &at (PT):", self.at, "Discharged at, Pacific time")
        self.disposition = QComboBox()
        for key, text in DISPOSITIONS.items():
            self.disposition.addItem(text, key)
        _labelled(form, "&Disposition:", self.disposition, "Disposition")
        layout.addLayout(form)
        needs = QGroupBox("Discharge needs (each becomes a new request, pre-filled from the stay)")
        needs.setAccessibleName("Discharge needs")
        needs_layout = QVBoxLayout(needs)
        self.needs: dict[str, QCheckBox] = {}
        for key, (label, *_rest) in DISCHARGE_NEEDS.items():
            box = QCheckBox(label)
            box.setAccessibleName(f"Discharge need: {label}")
            needs_layout.addWidget(box)
            self.needs[key] = box
        layout.addWidget(needs)
        note_form = QFormLayout()
        self.note = QLineEdit()
        _labelled(note_form, "&Note:", self.note, "Note for the new requests")
        layout.addLayout(note_form)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("&Record discharge…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.at.setFocus()

    def chosen_needs(self) -> list[str]:
        return [key for key, box in self.needs.items() if box.isChecked()]


class TransferDialog(QDialog):
    """A transfer to another facility: when, where to (a searchable list of the directory's facilities), the level
    of care there and the days it asks for. `submitted` asks the tab to confirm and act; the dialog closes only when
    the transfer went through (an error leaves it open with everything typed)."""

    submitted = Signal()

    def __init__(self, view: StayView, now: datetime, facilities: list[tuple], parent=None):
        super().__init__(parent)
        self.view = view
        self.setWindowTitle(f"Transfer — TAR {view.tar}")
        self.setAccessibleName(f"Transfer of TAR {view.tar}, {view.member}")
        layout = QVBoxLayout(self)
        intro = QLabel(f"{view.member} · TAR {view.tar} · {view.facility}, admitted "
                       f"{format_instant(view.admitted_at, year=True)}. This stay ends and a new stay, linked to it, "
                       "continues at the receiving facility.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.at = QDateTimeEdit(_plan_now(now))
        self.at.setDisplayFormat("MM/dd/yyyy hh:mm AP")
        self.at.setCalendarPopup(True)
        _labelled(form, "Transferred &at (PT):", self.at, "Transferred at, Pacific time")
        self.facility = QComboBox()
        self.facility.setEditable(True)  # type any part of the name, NPI or city
        self.facility.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for pid, name, npi, city in facilities:
            self.facility.addItem(" · ".join(part for part in (name, f"NPI {npi}" if npi else None, city) if part),
                                  pid)
        completer = self.facility.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(completer.CompletionMode.PopupCompletion)
        self.facility.setCurrentIndex(-1)
        self.facility.lineEdit().setPlaceholderText("Type part of the facility's name, NPI or city")
        _labelled(form, "To &facility:", self.facility, "Receiving facility")
        self.level = QComboBox()
        for key, text in LEVELS_OF_CARE.items():
            self.level.addItem(text, key)
        self.level.setCurrentIndex(self.level.findData(view.level_of_care))
        _labelled(form, "&Level of care there:", self.level, "Level of care at the receiving facility")
        self.days = QSpinBox()
        self.days.setRange(1, 365)
        self.days.setValue(1)
        _labelled(form, "Days &requested:", self.days, "Days requested at the receiving facility")
        self.note = QLineEdit()
        _labelled(form, "&Note:", self.note, "Note for the new stay")
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Why the transfer did not go through")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton("Record &transfer…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setDefault(True)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.ok.clicked.connect(self.submitted.emit)
        cancel.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.at.setFocus()

    def chosen_facility(self) -> tuple[object, str] | None:
        """(provider id, shown text) of the facility typed or picked; None when the text names none of the list."""
        text = self.facility.currentText().strip()
        index = self.facility.findText(text, Qt.MatchFlag.MatchFixedString)
        if index < 0 and text:
            matches = [i for i in range(self.facility.count())
                       if text.lower() in self.facility.itemText(i).lower()]
            index = matches[0] if len(matches) == 1 else -1
        if index < 0:
            return None
        return self.facility.itemData(index), self.facility.itemText(index)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setAccessibleName(f"Not done: {text}")
        self.error.show()


class FormDialog(QDialog):
    """A small form of named fields with OK / Cancel (deny days, level of care, care plan, leave)."""

    def __init__(self, title: str, intro: str, ok_text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        label = QLabel(intro)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def add(self, text: str, widget: QWidget, name: str) -> QWidget:
        _labelled(self.form, text, widget, name)
        return widget


def confirm(parent: QWidget, title: str, text: str, action_text: str, then: Callable[[], None]) -> QMessageBox:
    """An irreversible step, named; Cancel is the default button. `then` runs when the user confirms (the box is
    window-modal and never blocks the event loop)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setAccessibleName(title)
    do = box.addButton(action_text, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: then() if button is do else None)
    box.open()
    return box


# ----- the tab ---------------------------------------------------------------------------------------------------------
class StayTab(QWidget):
    """The stay of one case: header, flags, facts, actions and the ledger."""

    changed = Signal()

    def __init__(self, store: Store, username: str, role: str, tar: str, clock: Callable[[], datetime],
                 parent=None):
        super().__init__(parent)
        self.store, self.username, self.role, self.tar, self._clock = store, username, role, tar, clock
        self.view: StayView | None = None
        self.setAccessibleName(f"Stay of TAR {tar}")
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        self.flags = QLabel()
        self.flags.setWordWrap(True)
        self.flags.setTextFormat(Qt.TextFormat.PlainText)
        flag_font = self.flags.font()
        flag_font.setBold(True)
        self.flags.setFont(flag_font)
        layout.addWidget(self.flags)
        self.facts = FactsGrid()
        self.facts.setAccessibleName("Stay facts")
        layout.addWidget(self.facts)
        layout.addLayout(self._build_actions())
        self.model = LedgerModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Day ledger")
        self.table.setAccessibleDescription("Each day of the stay: status, level of care, leave, who decided it")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setResizeContentsPrecision(30)  # column widths from the first 30 days, not every one
        layout.addWidget(self.table, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Last stay action")
        layout.addWidget(self.status)
        self.dialog: QDialog | None = None
        self.confirmation: QMessageBox | None = None
        self.reload()

    # --- actions ---
    def _action(self, text: str, shortcut: str, slot, tip: str) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> QHBoxLayout:
        self.action_review = self._action("&Review…", "Alt+Shift+R", self.review,
                                          "Concurrent review: approve days through a date, or refer them")
        self.action_deny = self._action("Den&y days…", "Alt+Shift+Y", self.deny, "Deny days (physicians)")
        self.action_level = self._action("Level &of care…", "Alt+Shift+L", self.change_level,
                                         "Change the level of care")
        self.action_leave = self._action("Leave of a&bsence…", "Alt+Shift+B", self.leave,
                                         "Record a leave of absence")
        self.action_care_plan = self._action("&Care plan agreed…", "Alt+Shift+G", self.care_plan,
                                             "The treating provider was told and a care plan agreed")
        self.action_discharge = self._action("Disc&harge…", "Alt+Shift+H", self.discharge,
                                             "Record the discharge and its needs")
        self.action_transfer = self._action("Trans&fer…", "Alt+Shift+N", self.transfer,
                                            "Record a transfer to another facility: a new stay continues there")
        # F5 is the case workspace's "read the case again", which reads the stay too (app.ui.main_window.open_case)
        self.action_refresh = self._action("Re&fresh stay", "", self.reload, "Read the stay again (F5 reads the case)")
        self.actions_in_order = [self.action_review, self.action_deny, self.action_level, self.action_leave,
                                 self.action_care_plan, self.action_discharge, self.action_transfer,
                                 self.action_refresh]
        row = QHBoxLayout()
        self.buttons: dict[QAction, QPushButton] = {}
        for action in self.actions_in_order[:-1]:
            button = QPushButton(action.text())
            button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
            button.setToolTip(f"{action.toolTip()} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
            button.clicked.connect(action.trigger)
            row.addWidget(button)
            self.buttons[action] = button
        self.menu_button = QToolButton()
        self.menu_button.setText("Stay actions")
        self.menu_button.setAccessibleName("Stay actions menu")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.menu_button)
        for action in self.actions_in_order:
            self.menu.addAction(action)
        self.menu_button.setMenu(self.menu)
        row.addWidget(self.menu_button)
        row.addStretch(1)
        return row

    def _enable(self) -> None:
        view = self.view
        open_ = view is not None and view.is_open
        physician = self.role in PHYSICIAN_ROLES
        states = {
            self.action_review: (open_, "The stay is discharged."),
            self.action_deny: (open_ and physician, "Only a physician denies days (H&SC 1367.01(e))."
                               if open_ else "The stay is discharged."),
            self.action_level: (open_, "The stay is discharged."),
            self.action_leave: (open_, "The stay is discharged."),
            self.action_care_plan: (view is not None and view.care_plan_pending,
                                    "No denial or lower level of care awaits a care plan."),
            self.action_discharge: (open_, "The stay is discharged."),
            self.action_transfer: self._may_transfer(),
        }
        for action, (enabled, why) in states.items():
            action.setEnabled(enabled)
            button = self.buttons.get(action)
            if button is not None:
                button.setEnabled(enabled)
                button.setToolTip(action.toolTip() if enabled else why)
        self.action_transfer.setToolTip(self.action_transfer.statusTip() if self.action_transfer.isEnabled()
                                        else states[self.action_transfer][1])

    def _may_transfer(self) -> tuple[bool, str]:
        """The service's own checks, in its order: authority, then an open stay (app.services.stays.transfer_stay)."""
        view = self.view
        if view is None:
            return False, "Not a stay."
        refusal = may_record(self.role, "transfer", view.service_category)
        if refusal is not None:
            return False, refusal.reason
        return (True, "") if view.is_open else (False, "The stay is discharged.")

    # --- reading ---
    def now(self) -> datetime:
        return self._clock()

    def today(self) -> date:
        return self.now().astimezone(PLAN_TZ).date()

    def reload(self) -> None:
        with self.store.session() as session:
            self.view = load_stay(session, self.tar)
        self.model.set_view(self.view)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.scroll_to_today()
        self._show()
        self._enable()

    def scroll_to_today(self) -> None:
        """Today's day of the ledger (or its last day) in view: a long stay opens where the review is."""
        if self.view is None or not self.view.ledger.days:
            return
        days = [d.day for d in self.view.ledger.days]
        row = days.index(self.today()) if self.today() in days else len(days) - 1
        self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API: laid out now, so the scroll lands
        super().showEvent(event)
        self.scroll_to_today()

    def _show(self) -> None:
        view = self.view
        if view is None:
            self.heading.setText(f"TAR {self.tar} is not a stay.")
            return
        now = self.now()
        stay_day = (self.today() - view.admit_date).days + 1
        transfer = next((r for r in view.linked_requests if r.get("need") == "transfer"), None)
        if view.discharged_at and transfer:
            where = (f"transferred {format_instant(view.discharged_at, year=True)} "
                     f"({DISPOSITIONS.get(view.disposition, view.disposition)}): the stay continues as TAR "
                     f"{transfer['tar']}")
        elif view.discharged_at:
            where = (f"discharged {format_instant(view.discharged_at, year=True)} to "
                     f"{DISPOSITIONS.get(view.disposition, view.disposition)}")
        else:
            where = f"day {stay_day}"
        heading = (f"{LEVELS_OF_CARE[view.level_of_care]} · {view.facility} · admitted "
                   f"{format_instant(view.admitted_at, year=True)} · {where}")
        self.heading.setText(heading)
        self.heading.setAccessibleName(heading)
        flags = []
        if view.late.late:
            flags.append(f"LATE NOTICE: {view.late.reason}")
        elif view.admission_type == "emergency":
            flags.append("Emergency admission: never denied for late notice (42 CFR 438.114(d)).")
        if view.readmission_of:
            flags.append(f"READMISSION: admitted {view.readmission_days} days after the discharge of TAR "
                         f"{view.readmission_of}.")
        if view.transferred_from:
            flags.append(f"Transferred from TAR {view.transferred_from}.")
        if view.care_plan_pending:
            flags.append("CARE CONTINUES: days were denied or the level of care lowered; care is not discontinued "
                         "until the treating provider is told and a care plan agreed (H&SC 1367.01(h)(3)).")
        self.flags.setText("\n".join(flags))
        self.flags.setAccessibleName("Stay flags: " + (" ".join(flags) or "none"))
        self.flags.setVisible(bool(flags))
        counts = view.ledger.counts()
        due = view.review_due_at
        if due is None:
            due_text = "No review due (transferred)" if transfer else "No review due (discharged)"
        elif due < now:
            due_text = f"OVERDUE {format_duration(now - due)} · {format_instant(due, year=True)}"
        else:
            due_text = f"in {format_duration(due - now)} · {format_instant(due, year=True)}"
        fields = [
            ("Stay", "Open" if view.is_open else f"Transferred: continues as TAR {transfer['tar']}" if transfer
                     else "Discharged"),
            ("Review due", due_text),
            ("Approved through", _day(view.approved_through)),
            ("Next review", _day(view.next_review)),
            ("Expected discharge", _day(view.expected_discharge)),
            ("Days", f"{counts['approved']} approved, {counts['denied']} denied, {counts['requested']} requested, "
                     f"{counts['pending']} pending, {counts['on_leave']} on leave; {counts['bed_days']} bed days"),
            ("Admission", f"{ADMISSION_TYPES.get(view.admission_type, view.admission_type)}; notified "
                          f"{format_instant(view.notified_at, year=True)}; admission review due "
                          f"{format_instant(view.admission_review_due, year=True)}"),
            ("Attending", view.attending_physician or "—"),
        ]
        needs = [r for r in view.linked_requests if r.get("need") != "transfer"]
        if needs:
            fields.append(("New requests", ", ".join(f"{r['need']}: TAR {r['tar']}" for r in needs)))
        if view.care_plans:
            last = view.care_plans[-1]
            fields.append(("Care plan", f"{last['told']} told; {last['care_plan']}"))
        self.facts.show_fields(fields)

    # --- running an action ---
    def run(self, title: str, call: Callable, *, on_error: Callable[[str], None] | None = None) -> bool:
        """One service call in one transaction; a refusal is shown in the user's words and nothing is written."""
        try:
            with self.store.session() as session, session.begin():
                call(session)
        except (svc.ActionRefused, svc.InvalidInput, svc.NotFound, StoreError) as error:
            if on_error is not None:
                on_error(str(error))
            else:
                self.tell(title, str(error))
            return False
        except SQLAlchemyError:
            log.exception("%s failed", title)
            self.tell(title, "The local store could not save this change, so nothing was changed. Try again; if it "
                             "keeps happening, close the workstation and start it again.")
            return False
        self.reload()
        self.changed.emit()
        return True

    def tell(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAccessibleName(title)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def done(self, text: str) -> None:
        self.status.setText(text)
        self.status.setAccessibleName(f"Last stay action: {text}")

    def _open(self, dialog: QDialog) -> QDialog:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda *_: setattr(self, "dialog", None))
        dialog.open()
        return dialog

    # --- review ---
    def review(self) -> ReviewDialog | None:
        if self.view is None or not self.view.is_open:
            return None
        with self.store.session() as session:
            criteria = review_criteria(session, self.tar)
        dialog = ReviewDialog(self.view, criteria, self.today(), self.role in PHYSICIAN_ROLES, self)
        dialog.submitted.connect(lambda choice: self._submit_review(dialog, choice))
        return self._open(dialog)

    def _submit_review(self, dialog: ReviewDialog, choice: str) -> None:
        update = dialog.update_text.toPlainText()
        requested = _pydate(dialog.requested.date())
        known = self.view.ledger.requested_through
        requested_through = requested if known is None or requested > known else None
        answers, set_id = dialog.chosen_answers(), dialog.criteria.set_id

        def walk(session) -> None:
            if set_id and answers and update.strip():
                svc.walk_criteria(session, self.tar, self.username, set_id=set_id, answers=answers, evidence=update)

        if choice == "approve":
            approve, next_review = _pydate(dialog.approve.date()), _pydate(dialog.next_review.date())
            expected = _pydate(dialog.expected.date())

            def call(session):
                walk(session)
                svc.review_stay(session, self.tar, self.username, clinical_update=update, approve_through=approve,
                                next_review=next_review, requested_through=requested_through,
                                expected_discharge=expected)

            if self.run("Review not recorded", call, on_error=dialog.show_error):
                dialog.accept()
                self.done(f"Approved days through {_day(approve)}; next review {_day(next_review)}.")
        else:
            question = dialog.question.text()

            def call(session):
                walk(session)
                svc.refer_stay(session, self.tar, self.username, summary=update, question=question,
                               requested_through=requested_through)

            if self.run("Referral not recorded", call, on_error=dialog.show_error):
                dialog.accept()
                self.done("Referred the undecided days to a physician; the stay is in 'Stays referred'.")

    # --- physician decisions ---
    def deny(self) -> FormDialog | None:
        view = self.view
        if view is None:
            return None
        undecided = [d.day for d in view.ledger.days if d.status in ("requested", "pending")]
        first_day = undecided[0] if undecided else self.today()
        dialog = FormDialog(f"Deny days — TAR {view.tar}",
                            f"{view.member} · TAR {view.tar}. Only undecided days are denied; care continues until "
                            "the treating provider is told and a care plan agreed.", "&Deny days…", self)
        first = dialog.add("&From:", _date_edit(first_day), "First denied day")
        last = dialog.add("&Through:", _date_edit(undecided[-1] if undecided else first_day), "Last denied day")
        basis = QComboBox()
        for key, text in DENIAL_BASES.items():
            basis.addItem(text, key)
        dialog.add("&Basis:", basis, "Basis of the denial")
        rationale = dialog.add("Clinical &rationale:", _text_edit("Why the days do not meet criteria"),
                               "Clinical rationale")
        reason = dialog.add("Reason for the &member:", _text_edit("In plain language, specific to the member"),
                            "Reason for the member")

        def deny_now(f: date, t: date, basis_id: str, why: str, member_why: str):
            if self.run("Days not denied", lambda s: svc.deny_days(
                    s, self.tar, self.username, first=f, through=t, basis=basis_id, rationale=why,
                    member_reason=member_why)):
                self.done(f"Denied days {_day(f)} to {_day(t)}. Record the care plan when it is agreed.")

        def accepted():
            f, t = _pydate(first.date()), _pydate(last.date())
            values = (f, t, basis.currentData(), rationale.toPlainText(), reason.toPlainText())
            self.confirmation = confirm(self, "Deny days", f"Deny {view.member}'s days {_day(f)} to {_day(t)} on TAR "
                                        f"{view.tar}? A denial is a determination: its notices go out.", "&Deny days",
                                        lambda: deny_now(*values))

        dialog.accepted.connect(accepted)
        return self._open(dialog)

    def change_level(self) -> FormDialog | None:
        view = self.view
        if view is None:
            return None
        dialog = FormDialog(f"Level of care — TAR {view.tar}",
                            f"{view.member} · TAR {view.tar}, now at {LEVELS_OF_CARE[view.level_of_care]}. Lowering "
                            "the level of care is a physician's decision.", "&Change level of care", self)
        level = QComboBox()
        for key, text in LEVELS_OF_CARE.items():
            if key != view.level_of_care:
                level.addItem(text, key)
        dialog.add("&Level of care:", level, "New level of care")
        effective = dialog.add("&Effective:", _date_edit(self.today()), "Effective day")
        rationale = dialog.add("Clinical &rationale:", _text_edit("Why the level of care changes"),
                               "Clinical rationale")
        reason = dialog.add("Reason for the &member:", _text_edit("Only when lowering: in plain language"),
                            "Reason for the member")

        def change_now(new: str, day: date, why: str, member_why: str):
            if self.run("Level of care not changed", lambda s: svc.change_level_of_care(
                    s, self.tar, self.username, level=new, effective=day, rationale=why, member_reason=member_why)):
                self.done(f"Level of care is now {LEVELS_OF_CARE[new]}.")

        def accepted():
            values = (level.currentData(), _pydate(effective.date()), rationale.toPlainText(), reason.toPlainText())
            if lowers_level(view.level_of_care, values[0]):
                self.confirmation = confirm(
                    self, "Lower the level of care", f"Lower {view.member}'s level of care on TAR {view.tar} to "
                    f"{LEVELS_OF_CARE[values[0]]} from {_day(values[1])}?", "&Lower level of care",
                    lambda: change_now(*values))
            else:
                change_now(*values)

        dialog.accepted.connect(accepted)
        return self._open(dialog)

    def care_plan(self) -> FormDialog | None:
        view = self.view
        if view is None:
            return None
        dialog = FormDialog(f"Care plan — TAR {view.tar}",
                            f"{view.member} · TAR {view.tar}: the treating provider was told of the decision and a "
                            "care plan agreed (H&SC 1367.01(h)(3)).", "&Record", self)
        told = dialog.add("&Provider told:", QLineEdit(view.attending_physician or ""), "Treating provider told")
        told_at = QDateTimeEdit(_plan_now(self.now()))
        told_at.setDisplayFormat("MM/dd/yyyy hh:mm AP")
        dialog.add("Told &at (PT):", told_at, "Told at, Pacific time")
        plan = dialog.add("&Care plan:", _text_edit("The care plan agreed with the treating provider"), "Care plan")

        def accepted():
            if self.run("Care plan not recorded", lambda s: svc.record_care_plan(
                    s, self.tar, self.username, provider_told_at=_instant(told_at.dateTime()), told=told.text(),
                    care_plan=plan.toPlainText())):
                self.done("Recorded: the treating provider was told and a care plan agreed.")

        dialog.accepted.connect(accepted)
        return self._open(dialog)

    def leave(self) -> FormDialog | None:
        view = self.view
        if view is None:
            return None
        dialog = FormDialog(f"Leave of absence — TAR {view.tar}", f"{view.member} · TAR {view.tar}: days away from "
                            "the facility (a bed hold) are not bed days.", "&Record leave", self)
        first = dialog.add("&From:", _date_edit(self.today()), "First day of leave")
        last = dialog.add("&Through:", _date_edit(self.today()), "Last day of leave")
        reason = dialog.add("&Reason:", QLineEdit(), "Reason for the leave")

        def accepted():
            f, t = _pydate(first.date()), _pydate(last.date())
            if self.run("Leave not recorded", lambda s: svc.record_leave(s, self.tar, self.username, first=f, last=t,
                                                                         reason=reason.text())):
                self.done(f"Leave of absence {_day(f)} to {_day(t)} recorded.")

        dialog.accepted.connect(accepted)
        return self._open(dialog)

    # --- discharge ---
    def discharge(self) -> DischargeDialog | None:
        if self.view is None or not self.view.is_open:
            return None
        dialog = DischargeDialog(self.view, self.now(), self)
        dialog.accepted.connect(lambda: self._discharge(dialog))
        return self._open(dialog)

    def _discharge(self, dialog: DischargeDialog) -> None:
        view = self.view
        at, disposition, needs = _instant(dialog.at.dateTime()), dialog.disposition.currentData(), dialog.chosen_needs()
        note = dialog.note.text()
        made = f" and {len(needs)} new request{'s' if len(needs) != 1 else ''}" if needs else ""
        result: list = []

        def call(session):
            result.append(svc.discharge_stay(session, self.tar, self.username, discharged_at=at,
                                             disposition=disposition, needs=needs, note=note))

        def discharge_now():
            if self.run("Discharge not recorded", call):
                tars = ", ".join(f"TAR {tar}" for _, tar in result[0].new_requests)
                self.done(f"Discharge recorded ({DISPOSITIONS[disposition]})."
                          + (f" New requests: {tars}." if tars else ""))

        self.confirmation = confirm(
            self, "Record discharge", f"Record the discharge of {view.member}, TAR {view.tar}, on "
            f"{format_instant(at, year=True)} ({DISPOSITIONS[disposition]}){made}? The stay closes.",
            "&Record discharge", discharge_now)


    # --- transfer ---
    def transfer(self) -> TransferDialog | None:
        if self.view is None or not self._may_transfer()[0]:
            return None
        with self.store.session() as session:
            facilities = facility_choices(session, excluding_npi=self.view.facility_npi)
        dialog = TransferDialog(self.view, self.now(), facilities, self)
        dialog.submitted.connect(lambda: self._transfer(dialog))
        return self._open(dialog)

    def _transfer(self, dialog: TransferDialog) -> None:
        view = self.view
        chosen = dialog.chosen_facility()
        if chosen is None:
            dialog.show_error("Choose the receiving facility from the list: type part of its name, NPI or city.")
            dialog.facility.setFocus()
            return
        facility_id, facility_text = chosen
        at, level = _instant(dialog.at.dateTime()), dialog.level.currentData()
        days, note = dialog.days.value(), dialog.note.text()
        result: list = []

        def call(session):
            result.append(svc.transfer_stay(session, self.tar, self.username, transferred_at=at,
                                            to_facility_id=facility_id, level_of_care=level, requested_days=days,
                                            note=note))

        def transfer_now():
            if self.run("Transfer not recorded", call, on_error=dialog.show_error):
                dialog.accept()
                self.done(f"Transfer recorded: the stay continues at {facility_text.split(' · ')[0]} as TAR "
                          f"{result[0].case.tar}.")

        self.confirmation = confirm(
            self, "Record transfer", f"Record the transfer of {view.member}, TAR {view.tar}, on "
            f"{format_instant(at, year=True)} to {facility_text} ({LEVELS_OF_CARE[level]})? This stay ends and a "
            "new stay continues there.", "&Record transfer", transfer_now)


def attach_stay_tab(view, store: Store, username: str, role: str, clock: Callable[[], datetime]) -> StayTab | None:
    """Give an open case view (app.ui.case_view.CaseView) its Stay tab when the case is a stay; the tab takes the
    focus (so its shortcuts work) whenever it is chosen."""
    with store.session() as session:
        if not is_stay(session, view.details.tar):
            return None
    tab = StayTab(store, username, role, view.details.tar, clock, view)
    index = view.tabs.addTab(tab, "St&ay")
    view.tabs.currentChanged.connect(lambda current: tab.table.setFocus() if current == index else None)
    view.stay_tab = tab
    owner = view.parent()
    if hasattr(owner, "refresh"):  # the main window: its worklist and counts follow the stay
        tab.changed.connect(owner.refresh)
    return tab
