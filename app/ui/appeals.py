"""Appeals in the workstation (issue 13): the case view's Appeal tab and its dialogs.

The tab shows the case's current appeal: its clocks (resolution, notice, acknowledgement) with their dues, time
left and band in words and shape, breaches spelled out ("the member may ask for a State Hearing"); who filed it,
how and when, the track, whether it came in time, aid paid pending, the specialty and the reviewer; the
determination appealed (its reason, criteria and lines) and the new information; the result; the tasks. A
physician reviewing it sees all of that next to the case's other tabs (request lines, notes, letters).

Every action has a button, an entry in the "Appeal actions" menu and a shortcut (active while the case view has the
focus), and goes to one call in app.services.appeals:

    File appeal…       Alt+Shift+F       Route to reviewer…   Alt+Shift+T       Move to standard…   Alt+Shift+S
    Extend…            Alt+Shift+X       Decide appeal…       Alt+Shift+E       Task done…          Alt+Shift+D

(Alt+Shift keys, like every tab's own actions: the Ctrl keys belong to the case's workflow actions.)

Deciding, moving an expedited appeal to standard and dismissing are irreversible: each confirms naming the case,
with Cancel as the default button. Refusals are shown in the service's words; an unexpected error in plain words
(details in the log). Actions the user's role may never take are disabled with the reason as their tooltip.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Callable

from PySide6.QtCore import QDateTime, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDateTimeEdit, QDialog, QDialogButtonBox, QFormLayout,
    QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox,
    QPlainTextEdit, QPushButton, QRadioButton, QScrollArea, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget,
)

from app.domain import authority
from app.domain.appeals import CHANNELS, EXTENSION_REASONS, FILED_BY, RESULTS, TASK_KINDS
from app.domain.case_states import OUTCOMES
from app.domain.clock_bands import band
from app.domain.plantime import PLAN_TZ, format_duration, format_instant
from app.services import appeals as svc
from app.services.cases import ActionRefused, InvalidInput, NotFound
from app.ui.case_view import SummaryForm
from app.ui.worklist_model import band_icon, countdown_text

log = logging.getLogger(__name__)

CLOCK_ROWS = (("resolution", "Decision", "resolution_due", "resolved"),
              ("notice", "Notice of Appeal Resolution", "notice_due", "notice_sent"),
              ("acknowledgement", "Acknowledgement", "acknowledgement_due", "acknowledged"))
SHORTCUTS = {"file": "Alt+Shift+F", "route": "Alt+Shift+T", "standard": "Alt+Shift+S", "extend": "Alt+Shift+X",
             "decide": "Alt+Shift+E", "task": "Alt+Shift+D"}


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _day(text: str | None) -> str:
    """'11/27/2026' from an ISO date (the users' way of writing a date)."""
    return date.fromisoformat(text).strftime("%m/%d/%Y") if text else ""


def _error_text(error: Exception) -> str:
    if isinstance(error, (ActionRefused, NotFound, InvalidInput)):
        return str(error)
    return "The appeal could not be saved, so nothing was changed. Try again; details are in the log file."


def clock_state(due: datetime | None, done: datetime | None, received: datetime, now: datetime, *,
                stopped: bool = False) -> tuple[str, object]:
    """(words, band or None) of one appeal clock at `now`: done in time or late, missed, or running."""
    if due is None:
        return "Not for this track", None
    if done is not None:
        late = done - due
        return (f"Done {format_instant(done, year=True)}: "
                + ("in time" if late.total_seconds() <= 0 else f"{format_duration(late)} late")), None
    if stopped:
        return "Stopped (appeal dismissed)", None
    current = band(received, due, now)
    return countdown_text(current, due, now), current


class AppealTab(QWidget):
    """The Appeal tab of a case view: the current appeal, its clocks, details and tasks, and every appeal action.
    `changed` is emitted after an action was recorded (the case's own actions then read the case again)."""

    changed = Signal()

    def __init__(self, store, viewer, tar: str, member_name: str, *, now: Callable[[], datetime], parent=None):
        super().__init__(parent)
        self.store, self.viewer, self.tar, self.member_name, self._now = store, viewer, tar, member_name, now
        self.setAccessibleName("Appeal")
        self.data: dict = {}
        self.appeal: dict | None = None
        self.dialog: QDialog | None = None
        self.confirmation: QMessageBox | None = None
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        self.clocks = QGroupBox("Appeal clocks")
        self.clocks.setAccessibleName("Appeal clocks")
        grid = QGridLayout(self.clocks)
        self.clock_cells: dict[str, tuple[QLabel, QLabel, QLabel, QLabel]] = {}
        for row, (name, label, _, _) in enumerate(CLOCK_ROWS):
            cells = tuple(QLabel() for _ in range(4))
            cells[1].setText(label)
            for column, cell in enumerate(cells):
                cell.setTextFormat(Qt.TextFormat.PlainText)
                grid.addWidget(cell, row, column, Qt.AlignmentFlag.AlignTop)
            cells[3].setWordWrap(True)
            grid.setColumnStretch(3, 1)
            self.clock_cells[name] = cells
        self.breach = QLabel()
        self.breach.setWordWrap(True)
        self.breach.setTextFormat(Qt.TextFormat.PlainText)
        self.breach.setAccessibleName("Appeal breach")
        grid.addWidget(self.breach, len(CLOCK_ROWS), 0, 1, 4)
        layout.addWidget(self.clocks)
        self.form = SummaryForm()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setAccessibleName("Appeal details")
        layout.addWidget(scroll, 1)
        self.tasks = QTableWidget(0, 3)
        self.tasks.setAccessibleName("Appeal tasks")
        self.tasks.setHorizontalHeaderLabels(["Task", "Due (PT)", "Done"])
        self.tasks.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tasks.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tasks.verticalHeader().hide()
        self.tasks.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.tasks)
        buttons = QHBoxLayout()
        self.actions: dict[str, QAction] = {}
        self.buttons: dict[str, QPushButton] = {}
        menu = QMenu("Appeal actions", self)
        for key, text, slot in (("file", "&File appeal…", self.file_prompt),
                                ("route", "&Route to reviewer…", self.route_prompt),
                                ("standard", "Move to &standard…", self.standard_prompt),
                                ("extend", "E&xtend…", self.extend_prompt),
                                ("decide", "D&ecide appeal…", self.decide_prompt),
                                ("task", "Tas&k done…", self.task_prompt)):
            action = QAction(text.replace("&", ""), self)
            action.setShortcut(QKeySequence(SHORTCUTS[key]))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda checked=False, run=slot: run())
            self.addAction(action)
            menu.addAction(action)
            button = QPushButton(text)
            button.setAccessibleName(text.replace("&", "").rstrip("…"))
            button.clicked.connect(lambda checked=False, run=slot: run())
            buttons.addWidget(button)
            self.actions[key], self.buttons[key] = action, button
        buttons.addStretch(1)
        self.menu_button = QPushButton("Appeal actions")
        self.menu_button.setAccessibleName("Appeal actions menu")
        self.menu_button.setMenu(menu)
        buttons.addWidget(self.menu_button)
        layout.addLayout(buttons)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Appeal message")
        layout.addWidget(self.message)
        self.timer = QTimer(self)
        self.timer.setInterval(30_000)
        self.timer.timeout.connect(self.show_clocks)
        self.timer.start()
        self.load()

    # --- reading ------------------------------------------------------------------------------------------
    def load(self) -> None:
        with self.store.session() as session, session.begin():
            self.data = svc.show_appeals(session, self.tar, self.viewer.username, now=self._now())
        appeals = self.data["appeals"]
        self.appeal = next((a for a in appeals if a["status"] not in ("closed", "dismissed")),
                           appeals[0] if appeals else None)
        self.show_appeal()
        self.enable_actions()

    def show_appeal(self) -> None:
        appeal = self.appeal
        if appeal is None:
            self.heading.setText("No appeal of this case. When the member (or a provider or representative for "
                                 f"them) appeals, log it with File appeal… ({SHORTCUTS['file']}).")
            self.heading.setAccessibleName(self.heading.text())
            self.clocks.hide()
            self.form.show_fields([])
            self.tasks.setRowCount(0)
            self.tasks.hide()
            return
        self.clocks.show()
        track = "Expedited (72 hours)" if appeal["expedited"] else "Standard (30 days)"
        text = (f"Appeal received {format_instant(_instant(appeal['received_at']), year=True)} · "
                f"{appeal['status_label']} · {track}")
        if appeal["result"]:
            text += f" · {RESULTS[appeal['result']]}"
        self.heading.setText(text)
        self.heading.setAccessibleName(text)
        determination = appeal["determination"]
        lines = "\n".join(f"{line['code']} {line['description']}: {line['approved_units']} of "
                          f"{line['requested_units']} approved" for line in determination.get("lines", []))
        criteria = ", ".join(f"{c.get('set_id')} {c.get('version') or ''}".strip()
                             for c in determination.get("criteria", []))
        app = appeal["aid_paid_pending"]
        if app["applies"]:
            keep = f"Yes: the service continues during the appeal (asked in time; the last day was " \
                   f"{_day(app['deadline'])})"
        elif app["requested"]:
            keep = f"Asked too late (the last day was {_day(app['deadline'])}): the service does not continue"
        else:
            keep = "Not asked for" if app["deadline"] else "Not a service being stopped or reduced"
        timely = ("Yes" if appeal["timely"] else f"No: LATE by {appeal['days_late']} day(s)")
        if appeal["filing_deadline"]:
            timely += f" (notice of {_day(appeal['notice_date'])}; last day {_day(appeal['filing_deadline'])})"
        else:
            timely += " (no notice on record: the 60 days have not started)"
        filer = FILED_BY.get(appeal["filed_by"], appeal["filed_by"])
        if appeal["representative"]:
            filer += f": {appeal['representative']}"
        if appeal["authorization"]:
            filer += f" (authorization: {appeal['authorization']})"
        self.form.show_fields([(name, value) for name, value in (
            ("Filed by", filer),
            ("How", CHANNELS.get(appeal["channel"], appeal["channel"])),
            ("Track", track + (" — moved from expedited" if appeal["expedited_denied_at"] else "")),
            ("In time", timely),
            ("Keep the service", keep),
            ("Specialty to match", appeal["specialty"] or ""),
            ("Reviewer", appeal["reviewer"] or "Not routed yet"),
            ("Determination appealed", f"{OUTCOMES.get(determination['outcome'], determination['outcome'])} by "
                                       f"{determination['decided_by'] or 'unknown'} on "
                                       + (format_instant(_instant(determination['decided_at']), year=True)
                                          if determination['decided_at'] else "an unknown date")),
            ("Lines", lines),
            ("Clinical rationale", determination.get("rationale") or ""),
            ("Reason given to the member", determination.get("member_reason") or ""),
            ("Criteria cited", criteria),
            ("New information", appeal["new_information"]),
            ("Result", RESULTS.get(appeal["result"], "") if appeal["result"] else "Not decided"),
            ("Reason for the result", appeal["reason"] or ""),
        ) if value])
        self.tasks.setRowCount(len(appeal["tasks"]))
        for row, task in enumerate(appeal["tasks"]):
            for column, value in enumerate((task["text"],
                                            format_instant(_instant(task["due"]), year=True) if task["due"] else "",
                                            format_instant(_instant(task["done_at"]), year=True)
                                            if task["done_at"] else "Open")):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.tasks.setItem(row, column, item)
        self.tasks.resizeColumnsToContents()
        rows = sum(self.tasks.rowHeight(r) for r in range(self.tasks.rowCount()))
        self.tasks.setFixedHeight(self.tasks.horizontalHeader().height() + rows + 2 * self.tasks.frameWidth())
        self.tasks.setVisible(bool(appeal["tasks"]))
        self.show_clocks()

    def show_clocks(self) -> None:
        appeal = self.appeal
        if appeal is None or "error" in appeal["clocks"]:
            if appeal is not None:
                self.breach.setText(appeal["clocks"]["error"])
            return
        clocks, now = appeal["clocks"], self._now()
        received = _instant(appeal["received_at"])
        size = self.fontMetrics().height()
        for name, label, due_key, done_key in CLOCK_ROWS:
            icon, title, due_label, state = self.clock_cells[name]
            due = _instant(clocks[due_key])
            words, current = clock_state(due, _instant(clocks[done_key]), received, now,
                                         stopped=appeal["status"] == "dismissed")
            due_label.setText(format_instant(due, year=True) if due else "—")
            state.setText(words)
            state.setAccessibleName(f"{label}: {words}")
            if current is None:
                icon.clear()
                icon.setAccessibleName("")
            else:
                icon.setPixmap(band_icon(current).pixmap(size, size))
                icon.setAccessibleName(current.word)
        missed = [name for name, _, due_key, done_key in CLOCK_ROWS
                  if clocks[due_key] and appeal["status"] != "dismissed"
                  and ((_instant(clocks[done_key]) or now) > _instant(clocks[due_key]))]
        if {"resolution", "notice"} & set(missed):
            self.breach.setText("BREACHED: the appeal was not resolved with its notice in time; the member may ask "
                                "for a State Hearing now (42 CFR 438.408(c)(3)).")
        elif missed:
            self.breach.setText("BREACHED: the acknowledgement was not sent within 5 days.")
        else:
            self.breach.setText(f"Rule: {clocks['rule_set']} · {clocks['resolution_cite']}")
        self.breach.setAccessibleName(self.breach.text())

    # --- which actions -------------------------------------------------------------------------------------
    def enable_actions(self) -> None:
        appeal = self.appeal
        open_ = appeal is not None and appeal["status"] not in ("closed", "dismissed")
        unresolved = open_ and appeal["status"] in ("late-review", "awaiting-reviewer", "in-review")
        role = self.viewer.role
        adverse = self.data.get("outcome") in ("denied", "partially-approved") and not open_
        states = {
            "file": (adverse, "The case has no adverse determination to appeal, or its appeal is open"),
            "route": (unresolved and appeal["status"] != "late-review"
                      and not (role in authority.PHYSICIAN_ROLES and appeal["reviewer"] is not None),
                      "No appeal waits for a reviewer"),
            "standard": (unresolved and appeal["expedited"], "No expedited appeal is open"),
            "extend": (unresolved and appeal["status"] != "late-review", "No open appeal to extend"),
            "decide": (unresolved and appeal["status"] != "late-review"
                       and appeal["reviewer"] in (None, self.viewer.username),
                       "The appeal is not open, or another physician holds it"),
            "task": (open_ and any(t["done_at"] is None for t in appeal["tasks"]), "No open task"),
        }
        service_action = {"file": "file-appeal", "route": "route-appeal", "standard": "deny-expedited-appeal",
                          "extend": "extend-appeal", "decide": "decide-appeal", "task": "appeal-task"}
        for key, (possible, why_not) in states.items():
            refusal = authority.may_appeal(role, service_action[key])
            enabled = refusal is None and possible
            tip = refusal.reason if refusal else (self.buttons[key].accessibleName() if possible else why_not)
            for widget in (self.actions[key], self.buttons[key]):
                widget.setEnabled(enabled)
                widget.setToolTip(f"{tip} ({SHORTCUTS[key]})")

    # --- running an action ---------------------------------------------------------------------------------
    def run(self, action: Callable, done: str) -> bool:
        try:
            with self.store.session() as session, session.begin():
                action(session)
        except Exception as error:  # noqa: BLE001 - shown in the user's words, logged when unexpected
            if not isinstance(error, (ActionRefused, NotFound, InvalidInput)):
                log.exception("appeal action on TAR %s failed", self.tar)
            self.message.setText(_error_text(error))
            box = QMessageBox(QMessageBox.Icon.Warning, "Appeal", _error_text(error), QMessageBox.StandardButton.Ok,
                              self)
            box.setAccessibleName("Appeal not saved")
            box.open()
            self.confirmation = box
            return False
        self.message.setText(done)
        self.load()
        self.changed.emit()
        return True

    def confirm(self, title: str, text: str, verb: str, then: Callable[[], None]) -> QMessageBox:
        """An irreversible step: the question names the case; Cancel is the default button."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, self)
        yes = box.addButton(verb, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAccessibleName(title)
        box.buttonClicked.connect(lambda button: then() if button is yes else None)
        box.open()
        self.confirmation = box
        return box

    def _open(self, dialog: QDialog, accepted: Callable[[], None]) -> QDialog:
        dialog.accepted.connect(accepted)
        dialog.open()
        self.dialog = dialog
        return dialog

    # --- the actions ---------------------------------------------------------------------------------------
    def file_prompt(self) -> "FileAppealDialog | None":
        if not self.actions["file"].isEnabled():
            return None
        dialog = FileAppealDialog(self.tar, self.member_name, self._now(), self)
        return self._open(dialog, lambda: self.run(
            lambda s: svc.file_appeal(s, self.tar, self.viewer.username, **dialog.values()),
            f"Appeal of TAR {self.tar} logged; its clocks are running."))

    def route_prompt(self) -> "RouteDialog | None":
        if not self.actions["route"].isEnabled():
            return None
        with self.store.session() as session:
            choices = svc.reviewer_choices(session, self.tar)
        only_me = self.viewer.role in authority.PHYSICIAN_ROLES
        dialog = RouteDialog(self.tar, choices, self.viewer.username if only_me else None, self)
        return self._open(dialog, lambda: self.run(
            lambda s: svc.route_appeal(s, self.tar, self.viewer.username, dialog.reviewer(), note=dialog.note()),
            f"Appeal of TAR {self.tar} routed to {dialog.reviewer()}."))

    def standard_prompt(self) -> "ReasonDialog | None":
        if not self.actions["standard"].isEnabled():
            return None
        dialog = ReasonDialog(f"Move the appeal of TAR {self.tar} to standard",
                              "Why waiting 30 days would not seriously harm the member's health:", self)

        def then():
            self.confirm(f"Move TAR {self.tar} to standard",
                         f"Move the appeal of TAR {self.tar} ({self.member_name}) from expedited to standard?\n\n"
                         "It will be decided within 30 days of its receipt. The member gets a written notice "
                         "within 2 days; call them today. This cannot be undone.", "Move to standard",
                         lambda: self.run(lambda s: svc.deny_expedited(s, self.tar, self.viewer.username,
                                                                       reason=dialog.text()),
                                          "Moved to standard; the notice is drafted in the Letters tab."))
        return self._open(dialog, then)

    def extend_prompt(self) -> "ExtendDialog | None":
        if not self.actions["extend"].isEnabled():
            return None
        dialog = ExtendDialog(self.tar, self)
        return self._open(dialog, lambda: self.run(
            lambda s: svc.extend_appeal(s, self.tar, self.viewer.username, **dialog.values()),
            "Extended; the notice to the member is drafted in the Letters tab."))

    def decide_prompt(self) -> "DecideAppealDialog | None":
        if not self.actions["decide"].isEnabled() or self.appeal is None:
            return None
        dialog = DecideAppealDialog(self.tar, self.member_name, self.appeal["determination"].get("lines", []), self)

        def then():
            values = dialog.values()
            what = {"upheld": "uphold the determination", "overturned": "overturn it: the request is approved",
                    "partial": "overturn it in part"}[values["result"]]
            self.confirm(f"Decide the appeal of TAR {self.tar}",
                         f"Decide the appeal of TAR {self.tar} ({self.member_name}): {what}?\n\nThe Notice of Appeal "
                         "Resolution is drafted for the member and the provider"
                         + ("; the approval and its notice go out today" if values["result"] != "upheld" else "")
                         + ". This cannot be undone.", "Decide",
                         lambda: self.run(lambda s: svc.decide_appeal(s, self.tar, self.viewer.username, **values),
                                          "Appeal decided; its letters are in the Letters tab."))
        return self._open(dialog, then)

    def task_prompt(self) -> "TaskDialog | None":
        if not self.actions["task"].isEnabled() or self.appeal is None:
            return None
        kinds = [t["task"] for t in self.appeal["tasks"] if t["done_at"] is None]
        dialog = TaskDialog(self.tar, kinds, self)
        return self._open(dialog, lambda: self.run(
            lambda s: svc.complete_task(s, self.tar, self.viewer.username, task=dialog.task(), note=dialog.note()),
            "Task recorded as done."))


# ----- dialogs ----------------------------------------------------------------------------------------------------
def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class FileAppealDialog(QDialog):
    """Log an appeal: who filed it and how, when the plan received it, the track, new information."""

    def __init__(self, tar: str, member_name: str, now: datetime, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"File an appeal for TAR {tar}")
        self.setAccessibleName(self.windowTitle())
        form = QFormLayout(self)
        form.addRow(QLabel(f"{member_name} · TAR {tar}"))
        self.filed_by = QComboBox()
        for key, label in FILED_BY.items():
            self.filed_by.addItem(label, key)
        self.filed_by.setAccessibleName("Filed by")
        self.representative = QLineEdit()
        self.representative.setAccessibleName("Representative's name")
        self.authorization = QLineEdit()
        self.authorization.setPlaceholderText("e.g. AOR form scanned 11/20")
        self.authorization.setAccessibleName("Where the written authorization is on file")
        self.channel = QComboBox()
        for key, label in CHANNELS.items():
            self.channel.addItem(label, key)
        self.channel.setAccessibleName("How it came")
        self.received = QDateTimeEdit(QDateTime(now.astimezone(PLAN_TZ).replace(tzinfo=None, microsecond=0)))
        self.received.setDisplayFormat("MM/dd/yyyy h:mm AP")
        self.received.setCalendarPopup(True)
        self.received.setAccessibleName("Received (plan time)")
        self.expedited = QCheckBox("Expedited: the provider says so, or waiting could seriously harm the member")
        self.keep_service = QCheckBox("The member asks to keep the service while the appeal runs")
        self.specialty = QLineEdit()
        self.specialty.setPlaceholderText("Default: the requesting provider's specialty")
        self.specialty.setAccessibleName("Specialty the reviewer must match")
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("What was said, and any new information")
        self.note.setTabChangesFocus(True)
        for label, widget in (("&Filed by:", self.filed_by), ("Re&presentative:", self.representative),
                              ("&Authorization on file:", self.authorization), ("&How:", self.channel),
                              ("&Received (PT):", self.received), ("", self.expedited), ("", self.keep_service),
                              ("S&pecialty:", self.specialty), ("&New information:", self.note)):
            form.addRow(label, widget)
        self.buttons = _buttons(self, "File appeal")
        form.addRow(self.buttons)
        self.filed_by.currentIndexChanged.connect(self._filer_changed)
        self._filer_changed()

    def _filer_changed(self) -> None:
        representative = self.filed_by.currentData() == "representative"
        self.representative.setEnabled(representative)

    def values(self) -> dict:
        received = self.received.dateTime().toPython().replace(tzinfo=PLAN_TZ)
        return {"filed_by": self.filed_by.currentData(), "channel": self.channel.currentData(),
                "received_at": received, "expedited": self.expedited.isChecked(),
                "representative": self.representative.text().strip() or None,
                "authorization": self.authorization.text().strip() or None,
                "continue_service": self.keep_service.isChecked(),
                "specialty": self.specialty.text().strip() or None, "note": self.note.toPlainText()}


class DecideAppealDialog(QDialog):
    """The reviewer's decision: uphold, overturn, or overturn in part (units per line), with the reasons."""

    def __init__(self, tar: str, member_name: str, lines: list[dict], parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Decide the appeal of TAR {tar}")
        self.setAccessibleName(self.windowTitle())
        self.resize(640, 520)
        form = QFormLayout(self)
        form.addRow(QLabel(f"{member_name} · TAR {tar}. The request, the determination appealed, its criteria and "
                           "the new information are in the case's tabs."))
        self.results = QButtonGroup(self)
        row = QHBoxLayout()
        for key, text in (("upheld", "&Uphold"), ("overturned", "&Overturn"), ("partial", "Overturn in &part")):
            radio = QRadioButton(text)
            radio.setProperty("result", key)
            radio.setAccessibleName(text.replace("&", ""))
            self.results.addButton(radio)
            row.addWidget(radio)
        self.results.buttons()[0].setChecked(True)
        form.addRow("Result:", row)
        self.units: dict[int, QSpinBox] = {}
        for line in lines:
            spin = QSpinBox()
            spin.setRange(line["approved_units"], line["requested_units"])
            spin.setValue(line["approved_units"])
            spin.setAccessibleName(f"Units approved, line {line['line_number']}")
            self.units[line["line_number"]] = spin
            form.addRow(f"Line {line['line_number']} ({line['code']} {line['description']}, "
                        f"{line['requested_units']} asked):", spin)
        self.reason = QPlainTextEdit()
        self.reason.setAccessibleName("The reason, in plain language for the member")
        self.reason.setTabChangesFocus(True)
        self.rationale = QPlainTextEdit()
        self.rationale.setAccessibleName("Clinical rationale for the provider")
        self.rationale.setTabChangesFocus(True)
        form.addRow("&Reason for the member:", self.reason)
        form.addRow("&Clinical rationale:", self.rationale)
        self.buttons = _buttons(self, "Decide…")
        form.addRow(self.buttons)
        self.results.buttonToggled.connect(lambda *_: self._result_changed())
        self._result_changed()

    def result(self) -> str:
        return self.results.checkedButton().property("result")

    def _result_changed(self) -> None:
        for spin in self.units.values():
            spin.setEnabled(self.result() == "partial")

    def choose(self, result: str) -> None:
        next(b for b in self.results.buttons() if b.property("result") == result).setChecked(True)

    def values(self) -> dict:
        result = self.result()
        return {"result": result, "reason": self.reason.toPlainText(),
                "rationale": self.rationale.toPlainText().strip() or None,
                "approve": {n: s.value() for n, s in self.units.items()} if result == "partial" else None}


class RouteDialog(QDialog):
    """The physicians who may decide the appeal (fewest open appeals first) and, greyed, why not the others."""

    def __init__(self, tar: str, choices: list, only: str | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Route the appeal of TAR {tar}")
        self.setAccessibleName(self.windowTitle())
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setAccessibleName("Physicians")
        for choice in choices:
            text = f"{choice.full_name} — {choice.specialty or 'no specialty'} · {choice.open_appeals} open appeal(s)"
            if choice.refusal:
                text += f"\n    Not eligible: {choice.refusal}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, choice.username)
            eligible = choice.refusal is None and (only is None or choice.username == only)
            if not eligible:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable & ~Qt.ItemFlag.ItemIsEnabled)
            item.setToolTip(choice.refusal or "Eligible")
            self.list.addItem(item)
        first = next((i for i in range(self.list.count()) if self.list.item(i).flags() & Qt.ItemFlag.ItemIsEnabled),
                     None)
        if first is not None:
            self.list.setCurrentRow(first)
        layout.addWidget(QLabel("Independent physicians of the same or a similar specialty:"))
        layout.addWidget(self.list)
        self.note_edit = QLineEdit()
        self.note_edit.setAccessibleName("Note")
        layout.addWidget(self.note_edit)
        self.buttons = _buttons(self, "Route")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(first is not None)
        layout.addWidget(self.buttons)

    def reviewer(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else ""

    def note(self) -> str:
        return self.note_edit.text()


class ExtendDialog(QDialog):
    def __init__(self, tar: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Extend the appeal of TAR {tar}")
        self.setAccessibleName(self.windowTitle())
        form = QFormLayout(self)
        self.reason = QComboBox()
        for key, label in EXTENSION_REASONS.items():
            self.reason.addItem(label, key)
        self.reason.setAccessibleName("Reason")
        self.days = QSpinBox()
        self.days.setRange(1, 14)
        self.days.setValue(14)
        self.days.setAccessibleName("Days to add")
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Why it is in the member's interest")
        self.note.setTabChangesFocus(True)
        form.addRow("&Reason:", self.reason)
        form.addRow("&Days (1 to 14):", self.days)
        form.addRow("&Note:", self.note)
        form.addRow(_buttons(self, "Extend"))

    def values(self) -> dict:
        return {"reason": self.reason.currentData(), "days": self.days.value(), "note": self.note.toPlainText()}


class ReasonDialog(QDialog):
    def __init__(self, title: str, prompt: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(prompt))
        self.edit = QPlainTextEdit()
        self.edit.setAccessibleName(prompt.rstrip(":"))
        self.edit.setTabChangesFocus(True)
        layout.addWidget(self.edit)
        layout.addWidget(_buttons(self, "Continue…"))

    def text(self) -> str:
        return self.edit.toPlainText()


class TaskDialog(QDialog):
    def __init__(self, tar: str, kinds: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Appeal task done, TAR {tar}")
        self.setAccessibleName(self.windowTitle())
        form = QFormLayout(self)
        self.kind = QComboBox()
        for kind in kinds:
            self.kind.addItem(TASK_KINDS[kind], kind)
        self.kind.setAccessibleName("Task")
        self.note_edit = QLineEdit()
        self.note_edit.setAccessibleName("Note")
        form.addRow("&Task:", self.kind)
        form.addRow("&Note:", self.note_edit)
        form.addRow(_buttons(self, "Done"))

    def task(self) -> str:
        return self.kind.currentData()

    def note(self) -> str:
        return self.note_edit.text()


def add_appeal_tab(view, store, viewer) -> AppealTab:
    """Add the Appeal tab to an open case view (app.ui.case_view.CaseView)."""
    tab = AppealTab(store, viewer, view.details.tar, view.details.member_name, now=view._now, parent=view)
    view.appeal_tab = tab
    view.tabs.addTab(tab, "&Appeal")
    return tab
