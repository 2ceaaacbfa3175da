"""The criteria checklist of an open case: the "Criteria" tab of the case view (issue 5, scopes 4 to 6).

What the reviewer sees, top to bottom: a chooser of the criteria sets proposed for the case, best match first
(`app.store.criteria_answers.proposals`; for the medicare line, Medicare's NCD / LCD first), then the other sets of
the library in effect at receipt, with Apply and "No criteria apply…" (which forces a referral to a physician);
the set applied, its exact version and source; the live overall result (criteria met: may approve; not met or no
criteria: refer to a physician; never a denial); the EPSDT standard for a member under 21 with an adult-only set;
the criteria tree (groups ALL / ANY / AT LEAST N and criteria: met / not met / not applicable / unknown, each with
an icon, a word and a colour, never the colour alone) and the details of the current criterion.

Keyboard (workstation-ux.md, "Keyboard first"): arrow keys move, 1 / 2 / 3 / 4 answer met / not met / not
applicable / unknown and move on to the next criterion, N edits the evidence note; the same actions are in the
tree's context menu (Menu key, Shift+F10) and on buttons.

Before a set is applied, the tree previews the best proposal with the machine's answers computed from the case
(nothing is written); answering one of its criteria applies that set. A machine answer (met, not met, not
applicable) is overridden only with a reason (the override dialog asks for it; `answer_criterion` refuses without
one). Each answer is written as a case event the moment it is made, through `app.services.criteria`, on the
checklist's own worker thread (`app.ui.tasks.TaskQueue`: one transaction per answer, in the order given); the
tree and the result change at once and the store's state replaces them when the writes are done. Closing the case
waits for the writes still queued, so nothing is lost. Who may answer is `may_work_checklist`
(app.domain.criteria.permissions): anyone else sees the checklist read-only, with the reason.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QDeadlineTimer, QEventLoop, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QComboBox, QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QHeaderView, QLabel, QMenu,
    QMessageBox, QPlainTextEdit, QPushButton, QSplitter, QTextBrowser, QTreeView, QVBoxLayout, QWidget,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from app.domain.criteria import ANSWER_LABELS, ROUTES, CriteriaSet, Match, OverallResult, evaluate, overall
from app.domain.criteria.model import Criterion, Group, describe_rule
from app.domain.criteria.permissions import may_work_checklist
from app.domain.plantime import format_instant
from app.services import criteria as criteria_service
from app.services.cases import ActionRefused, InvalidInput as CaseInputError, NotFound
from app.store.criteria_answers import Checklist, checklist, proposals
from app.store.criteria_library import library
from app.store.engine import Store
from app.store.errors import StoreError
from app.store.models import Case
from app.store.worklist import Viewer
from app.ui.checklist_model import ChecklistModel, RowState, answer_icon, row_state
from app.ui.tasks import Job, TaskQueue

log = logging.getLogger(__name__)

# Keys 1 to 4 (workstation-ux.md); the keypad's digits too.
ANSWER_KEYS = {Qt.Key.Key_1: "met", Qt.Key.Key_2: "not-met", Qt.Key.Key_3: "not-applicable", Qt.Key.Key_4: "unknown"}
KEY_OF_ANSWER = {"met": "1", "not-met": "2", "not-applicable": "3", "unknown": "4"}
RESULT_ANSWER = {"criteria-met": "met", "not-met": "not-met", "no-criteria": "not-met", "epsdt-review": "not-met",
                 "incomplete": "unknown"}
LOADING = "The criteria are still loading: a moment, please."
BASIS_TEXT = {"exact-code": "proposed by its code", "code-range": "proposed by a code range",
              "category": "proposed by the service category", "reviewer-choice": "chosen by the reviewer"}


# --- what the tab reads ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChecklistData:
    """What the tab needs from the store, read in one go off the GUI thread."""

    tar: str
    state: Checklist  # the case's checklist as its events say
    proposals: tuple[Match, ...]  # best first
    others: tuple[CriteriaSet, ...]  # the other sets in effect at receipt for the case's line of business
    refusal: str | None  # why this user may not answer (None: may)


def read_checklist(store: Store, tar: str, viewer: Viewer) -> ChecklistData:
    """The case's checklist, the sets proposed for it and whether `viewer` may answer (one short read)."""
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar).options(joinedload(Case.assignee)))
        if case is None:
            raise NotFound(f"No case with TAR number {tar} in this store.")
        lib = library(session)
        state = checklist(session, case, lib)
        matches = tuple(proposals(session, case, lib, state.facts))
        proposed = {m.set.id for m in matches}
        others = []
        for set_id in sorted({s.id for s in lib.sets} - proposed):
            cset = lib.effective(set_id, state.facts.received_on)
            if cset is not None and state.facts.line_of_business in cset.lines_of_business:
                others.append(cset)
        refusal = may_work_checklist(viewer.role, case.status, case.assignee.username if case.assignee else None,
                                     viewer.username)
        return ChecklistData(tar, state, matches, tuple(sorted(others, key=lambda s: s.title.lower())),
                             refusal.reason if refusal else None)


def warm_up(store: Store) -> None:
    """Read the criteria library once, off the GUI thread (the main window does at start): parsing the shipped
    files takes tens of ms, so the first case opened then shows its checklist as fast as the next ones."""
    with store.session() as session:
        library(session)


# --- small widgets -------------------------------------------------------------------------------------------------

class ChecklistTree(QTreeView):
    """The criteria tree: arrow keys move (the view's own), 1-4 answer, N edits the evidence note."""

    answer_pressed = Signal(str)
    note_pressed = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if (event.key() == Qt.Key.Key_Menu and modifiers == Qt.KeyboardModifier.NoModifier) or (
                event.key() == Qt.Key.Key_F10 and modifiers == Qt.KeyboardModifier.ShiftModifier):
            # Not every platform makes a context menu event of these keys (offscreen and X11 do not).
            rect = self.visualRect(self.currentIndex())
            self.customContextMenuRequested.emit(rect.center() if rect.isValid() else self.viewport().rect().center())
            event.accept()
            return
        if modifiers == Qt.KeyboardModifier.NoModifier:
            answer = ANSWER_KEYS.get(Qt.Key(event.key()))
            if answer is not None:
                self.answer_pressed.emit(answer)
                event.accept()
                return
            if event.key() == Qt.Key.Key_N:
                self.note_pressed.emit()
                event.accept()
                return
        super().keyPressEvent(event)


class NoteEdit(QPlainTextEdit):
    """A note field: Tab leaves it, Ctrl+Enter submits the dialog it is in."""

    submitted = Signal()

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class NoteDialog(QDialog):
    """Asks for a text (an evidence note, an override reason with the evidence, the note of "no criteria apply").

    `fields`: (key, label, initial text, required). Save is enabled only when every required field has text."""

    def __init__(self, title: str, intro: str, fields: list[tuple[str, str, str, bool]], save_text: str,
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setModal(True)
        layout = QVBoxLayout(self)
        intro_label = QLabel(intro)
        intro_label.setWordWrap(True)
        intro_label.setTextFormat(Qt.TextFormat.PlainText)
        intro_label.setAccessibleName(intro)
        layout.addWidget(intro_label)
        self.edits: dict[str, NoteEdit] = {}
        self._required: list[str] = []
        for key, label_text, initial, required in fields:
            label = QLabel(label_text + (" (required)" if required else ""))
            edit = NoteEdit(initial or "")
            edit.setAccessibleName(label_text)
            edit.setAccessibleDescription("Required. Ctrl+Enter saves." if required else "Ctrl+Enter saves.")
            edit.setMinimumHeight(edit.fontMetrics().height() * 4)
            label.setBuddy(edit)
            layout.addWidget(label)
            layout.addWidget(edit)
            self.edits[key] = edit
            edit.textChanged.connect(self._check)
            edit.submitted.connect(self._submit)
            if required:
                self._required.append(key)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(save_text)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())
        self._check()
        first = next(iter(self.edits.values()), None)
        if first is not None:
            first.setFocus()
            first.moveCursor(first.textCursor().MoveOperation.End)

    def text(self, key: str) -> str:
        return self.edits[key].toPlainText().strip()

    def complete(self) -> bool:
        return all(self.text(key) for key in self._required)

    def _check(self) -> None:
        self.save_button.setEnabled(self.complete())

    def _submit(self) -> None:
        if self.complete():
            self.accept()


# --- the tab ---------------------------------------------------------------------------------------------------------

def short(text: str, limit: int = 48) -> str:
    """A criterion's wording cut to fit a status line (no internal ids on screen)."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _words(result: OverallResult) -> str:
    return f"{result.label}: {ROUTES[result.route].lower()}" if result.route != "continue-review" else result.label


class ChecklistPanel(QWidget):
    """The "Criteria" tab of one case (see the module docstring)."""

    loaded = Signal()  # the store's state is shown (after opening, and after the queued writes)
    saved = Signal()  # every write made here so far is in the store

    def __init__(self, store: Store, viewer: Viewer, tar: str, parent=None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        super().__init__(parent)
        self.store, self.viewer, self.tar = store, viewer, tar
        self._clock = clock
        self.data: ChecklistData | None = None
        self.applied = False  # the tree shows the set applied to the case (else a preview, or nothing)
        self.read_only_reason: str | None = LOADING  # None: this user may answer
        self.result: OverallResult | None = None
        self.writes_pending = 0
        self.last_error: str | None = None
        self.dialog: NoteDialog | None = None  # the note / override / no-criteria dialog while it is open
        self._queue = TaskQueue(f"criteria {tar}", self)
        self._closed = False
        self.setAccessibleName("Criteria checklist")
        self._build()
        if isinstance(parent, QDialog):  # the case view: finish the writes before it goes
            parent.finished.connect(self.close_down)
        self.reload()

    # --- building -----------------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        chooser_row = QHBoxLayout()
        chooser_label = QLabel("Criteria s&et:")
        self.chooser = QComboBox()
        self.chooser.setAccessibleName("Criteria set")
        self.chooser.setAccessibleDescription("The sets proposed for this case, best match first, then the other "
                                              "sets in effect at receipt")
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(30)
        chooser_label.setBuddy(self.chooser)
        self.chooser.currentIndexChanged.connect(self._chooser_changed)
        self.apply_button = QPushButton("&Apply set")
        self.apply_button.setAccessibleName("Apply the chosen criteria set to this case")
        self.apply_button.clicked.connect(self.apply_chosen_set)
        self.no_criteria_button = QPushButton("N&o criteria apply…")
        self.no_criteria_button.setAccessibleName("Record that no criteria apply (refers to a physician)")
        self.no_criteria_button.clicked.connect(self.ask_no_criteria)
        chooser_row.addWidget(chooser_label)
        chooser_row.addWidget(self.chooser, 1)
        chooser_row.addWidget(self.apply_button)
        chooser_row.addWidget(self.no_criteria_button)
        layout.addLayout(chooser_row)

        self.set_label = self._label("Applied criteria set")
        layout.addWidget(self.set_label)
        self.read_only_label = self._label("Read only")
        self.read_only_label.setFrameShape(QFrame.Shape.StyledPanel)
        layout.addWidget(self.read_only_label)
        self.epsdt_label = self._label("EPSDT standard")
        self.epsdt_label.setFrameShape(QFrame.Shape.StyledPanel)
        layout.addWidget(self.epsdt_label)

        result_row = QHBoxLayout()
        self.result_icon = QLabel()
        self.result_icon.setAccessibleName("Result")
        self.result_label = self._label("Result")
        font = self.result_label.font()
        font.setBold(True)
        self.result_label.setFont(font)
        self.result_message = self._label("Result details")
        result_text = QVBoxLayout()
        result_text.setSpacing(2)
        result_text.addWidget(self.result_label)
        result_text.addWidget(self.result_message)
        result_row.addWidget(self.result_icon, 0, Qt.AlignmentFlag.AlignTop)
        result_row.addLayout(result_text, 1)
        self.result_frame = QFrame()
        self.result_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.result_frame.setLayout(result_row)
        layout.addWidget(self.result_frame)

        self.model = ChecklistModel(self)
        self.tree = ChecklistTree()
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Criteria")
        self.tree.setAccessibleDescription("Arrow keys move. 1 met, 2 not met, 3 not applicable, 4 unknown, "
                                           "N evidence note. Menu key: the same as a menu.")
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        metrics = self.tree.fontMetrics()
        header.resizeSection(1, metrics.horizontalAdvance("Not applicable") + 48)
        header.resizeSection(2, metrics.horizontalAdvance("At least 2 of 6") + 20)
        header.resizeSection(3, metrics.horizontalAdvance("M") * 16)
        self.tree.answer_pressed.connect(self.answer_current)
        self.tree.note_pressed.connect(self.edit_note)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.selectionModel().currentChanged.connect(lambda *_: self._show_details())
        self.details = QTextBrowser()
        self.details.setAccessibleName("Criterion details")
        self.details.setOpenLinks(False)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)

        buttons = QHBoxLayout()
        self.answer_buttons: dict[str, QPushButton] = {}
        for answer in ("met", "not-met", "not-applicable", "unknown"):
            button = QPushButton(answer_icon(answer), f"{ANSWER_LABELS[answer]} ({KEY_OF_ANSWER[answer]})")
            button.setAccessibleName(f"Answer {ANSWER_LABELS[answer].lower()} (key {KEY_OF_ANSWER[answer]})")
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.clicked.connect(lambda _=False, a=answer: self.answer_current(a))
            buttons.addWidget(button)
            self.answer_buttons[answer] = button
        self.note_button = QPushButton("Evidence note… (N)")
        self.note_button.setAccessibleName("Edit the evidence note (key N)")
        self.note_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.note_button.clicked.connect(self.edit_note)
        buttons.addWidget(self.note_button)
        buttons.addStretch(1)
        self.status_label = QLabel()
        self.status_label.setAccessibleName("Saving status")
        buttons.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.setFocusProxy(self.tree)
        self._show_status("Loading the criteria…")
        self._refresh_controls()

    def _label(self, name: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAccessibleName(name)
        label.hide()
        return label

    def _show_label(self, label: QLabel, text: str | None, name: str) -> None:
        if text:
            label.setText(text)
            label.setAccessibleName(f"{name}: {text}")
            label.show()
        else:
            label.clear()
            label.hide()

    def _show_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setAccessibleName(f"Saving status: {text}")

    # --- reading the store --------------------------------------------------------------------------------

    def reload(self) -> Job:
        """Read the case's checklist again (off the GUI thread) and show it."""
        store, tar, viewer = self.store, self.tar, self.viewer
        job = self._queue.submit(lambda progress, cancelled: read_checklist(store, tar, viewer), "read checklist")
        job.succeeded.connect(self._loaded)
        job.failed.connect(self._load_failed)
        return job

    def _loaded(self, data: ChecklistData) -> None:
        if self.writes_pending:  # a write was queued after this read: its answer will bring the state
            return
        self.data = data
        self.read_only_reason = data.refusal
        self._fill_chooser()
        self._show_state(data.state)
        if self.last_error is None:
            self._show_status("Read only" if data.refusal else "All answers saved")
        self.loaded.emit()

    def _load_failed(self, error: BaseException) -> None:
        text = self._error_text(error, "read")
        self.read_only_reason = text
        self._show_label(self.read_only_label, f"Read only: {text}", "Read only")
        self._show_status("Not loaded")
        self._refresh_controls()
        self.loaded.emit()

    def _fill_chooser(self) -> None:
        data = self.data
        self.chooser.blockSignals(True)
        self.chooser.clear()
        applied = data.state.set
        listed = set()
        if data.proposals:
            self._chooser_heading("Proposed for this case, best match first")
            for number, match in enumerate(data.proposals, start=1):
                cset = match.set
                self._chooser_item(f"{number}. {cset.title} · version {cset.version} · {cset.source.kind_label}",
                                   cset, match.reason)
                listed.add(cset.key)
        if applied is not None and applied.key not in listed | {s.key for s in data.others}:
            self._chooser_heading("Applied to this case")
            self._chooser_item(f"{applied.title} · version {applied.version}", applied, "The set applied to the case")
            listed.add(applied.key)
        others = [s for s in data.others if s.key not in listed]
        if others:
            self._chooser_heading("Other sets in effect at receipt")
            for cset in others:
                self._chooser_item(f"{cset.title} · version {cset.version} · {cset.source.kind_label}", cset,
                                   "Not proposed by the case's codes or service category")
        if self.chooser.count() == 0:
            self._chooser_heading("No criteria set in the library fits this request")
        self.chooser.setPlaceholderText("No set proposed for this request: choose one, or No criteria apply")
        target = applied.key if applied is not None else (data.proposals[0].set.key if data.proposals else None)
        self.chooser.setCurrentIndex(self._chooser_row(target) if target is not None else -1)
        self.chooser.blockSignals(False)

    def _chooser_heading(self, text: str) -> None:
        self.chooser.addItem(text)
        item = self.chooser.model().item(self.chooser.count() - 1)
        item.setEnabled(False)
        font = item.font()
        font.setBold(True)
        item.setFont(font)

    def _chooser_item(self, text: str, cset: CriteriaSet, tip: str) -> None:
        self.chooser.addItem(text, cset)
        row = self.chooser.count() - 1
        self.chooser.setItemData(row, f"{tip}\n{cset.source.citation}", Qt.ItemDataRole.ToolTipRole)
        self.chooser.setItemData(row, text, Qt.ItemDataRole.AccessibleTextRole)

    def _chooser_row(self, key) -> int:
        for row in range(self.chooser.count()):
            cset = self.chooser.itemData(row)
            if cset is not None and cset.key == key:
                return row
        return -1

    def chosen_set(self) -> CriteriaSet | None:
        return self.chooser.currentData()

    def _chooser_changed(self, _row: int) -> None:
        state = self.data.state if self.data else None
        if state is not None and state.chosen_at is None:  # nothing chosen yet: preview what is selected
            self._show_state(state)
        self._refresh_controls()

    # --- showing ------------------------------------------------------------------------------------------

    def _show_state(self, state: Checklist) -> None:
        """The case's checklist as the store says; before any choice, a preview of the selected set."""
        current = self.current_criterion()
        facts = state.facts
        if state.set is not None:
            self.applied = True
            cset = state.set
            rows = {row.node.id: row_state(row) for row in state.rows if not row.is_group}
            who = f" by {state.chosen_by}" if state.chosen_by else ""
            when = f" on {format_instant(state.chosen_at, year=True)}" if state.chosen_at else ""
            text = (f"Applied: {cset.title}, version {cset.version} (effective {cset.effective_from:%m/%d/%Y}"
                    f"{' to ' + format(cset.effective_to, '%m/%d/%Y') if cset.effective_to else ''}), applied"
                    f"{who}{when} ({BASIS_TEXT.get(state.basis or '', 'chosen')}). Source: "
                    f"{cset.source.kind_label}, {cset.source.citation}.")
        elif state.no_criteria is not None:
            self.applied = False
            cset, rows = None, {}
            note = state.no_criteria.get("note")
            text = (f"No criteria apply: recorded by {state.no_criteria.get('by') or 'a reviewer'}"
                    f"{' on ' + format_instant(state.chosen_at, year=True) if state.chosen_at else ''}"
                    f"{': ' + note if note else ''}. To apply a set after all, choose it and Apply.")
        else:
            self.applied = False
            cset = self.chosen_set()
            rows = {}
            text = "No criteria set proposed: choose one of the library's sets, or record that no criteria apply."
            if cset is not None:
                preview = evaluate(cset, facts)
                rows = {cid: RowState(outcome.answer, outcome.answer, outcome.explanation)
                        for cid, outcome in preview.machine.items()}
                text = (f"Preview, not applied yet: {cset.title}, version {cset.version}. Source: "
                        f"{cset.source.kind_label}, {cset.source.citation}. Answering a criterion, or Apply, "
                        "applies this set to the case.")
        if cset is not None and cset.sample_content:
            text += " Sample content: to be reviewed and approved by the plan's committees."
        self._show_label(self.set_label, text, "Criteria set")
        same_set = self.model.cset is not None and cset is not None and self.model.cset.key == cset.key
        if same_set:
            self.model.update_rows(rows)
        else:
            self.model.show_set(cset, rows)
            self.tree.expandAll()
        self._update_result(state)
        self._select(current)
        self._refresh_controls()

    def _update_result(self, state: Checklist | None = None) -> None:
        """The overall result from the answers on screen (live: no store read)."""
        state = state or (self.data.state if self.data else None)
        if state is None:
            return
        cset = self.model.cset
        if cset is not None:
            result = overall(cset, {cid: row.answer for cid, row in self.model.rows.items()}, state.facts.age())
        else:
            result = state.result
        self.result = result
        if result is None:
            self._show_label(self.result_label, "Choose a criteria set", "Result")
            self._show_label(self.result_message, "No set applies to this request: choose one, or record that no "
                                                  "criteria apply (the case then goes to a physician).", "Result")
            self.result_icon.clear()
        else:
            prefix = "" if self.applied or state.no_criteria else "Preview: "
            self._show_label(self.result_label, prefix + _words(result), "Result")
            message = result.message
            missing = len(self._missing_evidence())
            if missing:
                message += (f" {missing} {'answer has' if missing == 1 else 'answers have'} no evidence note yet "
                            "(N adds one).")
            self._show_label(self.result_message, message, "Result details")
            answer = RESULT_ANSWER[result.result]
            size = self.result_label.fontMetrics().height() * 2
            self.result_icon.setPixmap(answer_icon(answer).pixmap(size, size))
            self.result_icon.setAccessibleName(f"Result: {result.label}")
        epsdt = result.epsdt if result is not None else None
        heading = "EPSDT standard applies (member under 21)" if epsdt and epsdt.applies else "EPSDT standard may apply"
        self._show_label(self.epsdt_label, f"{heading}: {epsdt.text}" if epsdt else None, "EPSDT standard")
        self.result_frame.setAccessibleName(f"Result: {self.result_label.text()}")

    def _missing_evidence(self) -> list[str]:
        return [cid for cid, row in self.model.rows.items()
                if row.reviewer in ("met", "not-met") and not (row.evidence or "").strip()]

    def _refresh_controls(self) -> None:
        writable = self.read_only_reason is None and not self._closed
        self._show_label(self.read_only_label,
                         f"Read only: {self.read_only_reason}" if self.read_only_reason and self.data else None,
                         "Read only")
        can_answer = writable and self.model.cset is not None and (
            self.applied or (self.data is not None and self.data.state.chosen_at is None))
        for button in (*self.answer_buttons.values(), self.note_button):
            button.setEnabled(can_answer)
        chosen = self.chosen_set()
        applied = self.data.state.set if self.data else None
        self.apply_button.setEnabled(writable and chosen is not None and (applied is None or chosen.key != applied.key))
        self.no_criteria_button.setEnabled(writable and self.data is not None
                                           and self.data.state.no_criteria is None)
        self.chooser.setEnabled(self.data is not None and self.chooser.count() > 0)

    def _select(self, node_id: str | None) -> None:
        """Make a criterion or group current (the first criterion when it is not in the tree)."""
        ids = self.model.criteria_in_order()
        known = node_id is not None and self.model.index_of(node_id).isValid()
        target = node_id if known else (ids[0] if ids else None)
        if target is not None:
            index = self.model.index_of(target)
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)
        self._show_details()

    def current_criterion(self) -> str | None:
        return self.model.node_id(self.tree.currentIndex())

    def _show_details(self) -> None:
        node = self.model.node(self.tree.currentIndex())
        if node is None:
            self.details.setHtml("<p>Select a criterion to see its wording, the machine's reading and the "
                                 "answers given.</p>")
            return
        e = html.escape
        parts = [f"<p><b>{e(node.text)}</b></p>"]
        if node.member_text:
            parts.append(f"<p><i>For the member:</i> {e(node.member_text)}</p>")
        if node.guidance:
            parts.append(f"<p><i>Guidance:</i> {e(node.guidance)}</p>")
        answer = self.model.node_answer.get(node.id, "unknown")
        if isinstance(node, Group):
            parts.append(f"<p>{e(node.describe())} criteria. Combined answer: <b>{e(ANSWER_LABELS[answer])}</b>."
                         "</p>")
        else:
            row = self.model.rows.get(node.id)
            parts.append(f"<p>Answer used: <b>{e(ANSWER_LABELS[answer])}</b></p>")
            if node.rule is not None:
                parts.append(f"<p><i>Machine rule:</i> {e(describe_rule(node.rule))}</p>")
                if row is not None and row.machine is not None:
                    parts.append(f"<p><i>Machine answer:</i> {e(ANSWER_LABELS[row.machine])} — "
                                 f"{e(row.explanation or '')}</p>")
            else:
                parts.append("<p><i>No machine rule:</i> the reviewer answers from the record.</p>")
            if row is not None and row.reviewer is not None:
                who = row.reviewer_by or "you"
                when = f", {format_instant(row.reviewer_at, year=True)}" if row.reviewer_at else ""
                parts.append(f"<p><i>Reviewer ({e(who)}{e(when)}):</i> {e(ANSWER_LABELS[row.reviewer])}"
                             + (" (saving…)" if row.pending else "") + "</p>")
                if row.overridden:
                    parts.append(f"<p><i>Override reason:</i> {e(row.override_reason or '')}</p>")
                parts.append(f"<p><i>Evidence:</i> {e(row.evidence) if row.evidence else 'none noted'}</p>")
                if row.machine_changed:
                    parts.append("<p><b>The machine's answer changed after this answer</b> (a fact was recorded "
                                 "later): check it again.</p>")
            if row is not None and row.answers > 1:
                parts.append(f"<p>{row.answers} answers recorded for this criterion (see the timeline).</p>")
        self.details.setHtml("".join(parts))
        self.details.setAccessibleName(f"Criterion details: {node.text}")

    def _context_menu(self, position) -> None:
        menu = self.build_menu()
        menu.exec(self.tree.viewport().mapToGlobal(position))

    def build_menu(self) -> QMenu:
        """The tree's context menu: every checklist action with its key."""
        menu = QMenu(self)
        menu.setAccessibleName("Checklist actions")
        enabled = self.note_button.isEnabled()
        for answer in ("met", "not-met", "not-applicable", "unknown"):
            action = menu.addAction(answer_icon(answer), f"Answer {ANSWER_LABELS[answer].lower()}")
            action.setShortcut(QKeySequence(KEY_OF_ANSWER[answer]))
            action.setEnabled(enabled)
            action.triggered.connect(lambda _=False, a=answer: self.answer_current(a))
        note = menu.addAction("Evidence note…")
        note.setShortcut(QKeySequence("N"))
        note.setEnabled(enabled)
        note.triggered.connect(self.edit_note)
        menu.addSeparator()
        apply_action = menu.addAction("Apply the chosen set")
        apply_action.setEnabled(self.apply_button.isEnabled())
        apply_action.triggered.connect(self.apply_chosen_set)
        none_action = menu.addAction("No criteria apply…")
        none_action.setEnabled(self.no_criteria_button.isEnabled())
        none_action.triggered.connect(self.ask_no_criteria)
        menu.addAction("Read again from the store", self.reload)
        return menu

    # --- answering ----------------------------------------------------------------------------------------

    def _refuse(self, text: str) -> bool:
        self._show_status(text)
        return False

    def _can_answer(self) -> bool:
        if self.read_only_reason is LOADING:
            return self._refuse(LOADING)
        if self.read_only_reason:
            return self._refuse(f"Read only: {self.read_only_reason}")
        if not self.note_button.isEnabled():
            return self._refuse("Apply a criteria set first.")
        return True

    def answer_current(self, answer: str) -> bool:
        """Answer the current criterion (keys 1 to 4). A machine answer asks for a reason first."""
        node = self.model.node(self.tree.currentIndex())
        if not self._can_answer():
            return False
        if node is None:
            return self._refuse("Select a criterion first.")
        if isinstance(node, Group):
            return self._refuse("A group's answer comes from its criteria: answer those.")
        row = self.model.rows.get(node.id) or RowState("unknown")
        if row.reviewer == answer and row.answer == answer:
            self._advance(node.id)
            return True
        if row.machine in ("met", "not-met", "not-applicable") and answer != row.machine:
            self._ask_override(node, row, answer)
            return True
        self.record_answer(node.id, answer, row.evidence, None)
        self._advance(node.id)
        return True

    def _ask_override(self, node: Criterion, row: RowState, answer: str) -> None:
        intro = (f"The machine answered {ANSWER_LABELS[row.machine]} for “{node.text}”: {row.explanation or ''} "
                 f"To answer {ANSWER_LABELS[answer]} instead, give the reason for the override.")
        dialog = NoteDialog("Override the machine's answer", intro,
                            [("reason", "Reason for the override", row.override_reason or "", True),
                             ("evidence", "Evidence note", row.evidence or "", False)],
                            f"Answer {ANSWER_LABELS[answer].lower()}", self)

        def done() -> None:
            self.record_answer(node.id, answer, dialog.text("evidence") or None, dialog.text("reason"))
            self._advance(node.id)

        self._open_dialog(dialog, done)

    def edit_note(self) -> bool:
        """Edit the current criterion's evidence note (key N): saved with the answer used."""
        node = self.model.node(self.tree.currentIndex())
        if not self._can_answer():
            return False
        if node is None or isinstance(node, Group):
            return self._refuse("Select a criterion (not a group) to note its evidence.")
        row = self.model.rows.get(node.id) or RowState("unknown")
        answer = row.reviewer or row.answer
        dialog = NoteDialog("Evidence note", f"“{node.text}” — answer: {ANSWER_LABELS[answer]}. Note where in the "
                            "record the evidence is (document, date, finding).",
                            [("evidence", "Evidence note", row.evidence or "", False)], "Save note", self)

        def done() -> None:
            text = dialog.text("evidence") or None
            if text == (row.evidence or None) and (row.reviewer is not None or text is None):
                return  # nothing changed
            self.record_answer(node.id, answer, text, row.override_reason if row.overridden else None)

        self._open_dialog(dialog, done)
        return True

    def _open_dialog(self, dialog: NoteDialog, on_accept: Callable[[], None]) -> None:
        self.dialog = dialog

        def finished(result: int) -> None:
            self.dialog = None
            dialog.deleteLater()
            if result == QDialog.DialogCode.Accepted:
                on_accept()
            self.tree.setFocus()

        dialog.finished.connect(finished)
        dialog.open()

    def _advance(self, node_id: str) -> None:
        ids = self.model.criteria_in_order()
        if node_id in ids and ids.index(node_id) + 1 < len(ids):
            self._select(ids[ids.index(node_id) + 1])

    def record_answer(self, criterion_id: str, answer: str, evidence: str | None,
                      override_reason: str | None) -> None:
        """Show the answer at once and write it (one transaction) on the checklist's worker thread."""
        cset = self.model.cset
        apply_first = None if self.applied else cset
        row = self.model.rows.get(criterion_id) or RowState("unknown")
        overridden = row.machine in ("met", "not-met", "not-applicable") and answer != row.machine
        self.model.update_rows({**self.model.rows, criterion_id: replace(
            row, answer=answer, reviewer=answer, reviewer_by=self.viewer.username, reviewer_at=self._clock(),
            evidence=evidence, override_reason=override_reason if overridden else None, machine_changed=False,
            pending=True)})
        if apply_first is not None:
            self.applied = True
        self._update_result()
        self._show_details()
        tar, user = self.tar, self.viewer.username

        def write(session):
            if apply_first is not None:
                criteria_service.choose_set(session, tar, user, apply_first.id, apply_first.version)
            return criteria_service.answer_criterion(session, tar, user, criterion_id, answer, evidence,
                                                     override_reason)

        what = f"{ANSWER_LABELS[answer].lower()}, “{short(cset.node(criterion_id).text)}”"
        self._write(write, what)

    def apply_chosen_set(self) -> None:
        cset = self.chosen_set()
        if cset is None or not self.apply_button.isEnabled():
            self._show_status("Choose a criteria set to apply.")
            return
        tar, user = self.tar, self.viewer.username
        self._write(lambda session: criteria_service.choose_set(session, tar, user, cset.id, cset.version),
                    f"applied {cset.title} version {cset.version}")

    def ask_no_criteria(self) -> None:
        if not self.no_criteria_button.isEnabled():
            self._show_status(f"Read only: {self.read_only_reason}" if self.read_only_reason else
                              "No criteria apply is already recorded.")
            return
        proposed = ", ".join(m.set.title for m in self.data.proposals) if self.data and self.data.proposals else "none"
        dialog = NoteDialog(
            "No criteria apply", f"Record that no criteria set applies to TAR {self.tar} (proposed: {proposed})? "
            "The case must then be referred to a physician, board-certified in the same or a similar specialty as "
            "the service.", [("note", "Why no set applies", "", False)], "Record no criteria apply", self)
        tar, user = self.tar, self.viewer.username

        def done() -> None:
            note = dialog.text("note") or None
            self._write(lambda session: criteria_service.record_no_criteria(session, tar, user, note),
                        "no criteria apply")

        self._open_dialog(dialog, done)

    # --- writing ------------------------------------------------------------------------------------------

    def _write(self, action: Callable, what: str) -> Job:
        store = self.store

        def work(progress, cancelled):
            with store.session() as session, session.begin():
                return action(session)

        self.writes_pending += 1
        self._show_status("Saving…")
        job = self._queue.submit(work, f"criteria write: {what}")
        job.succeeded.connect(lambda state: self._written(state, what))
        job.failed.connect(lambda error: self._write_failed(error, what))
        return job

    def _written(self, state: Checklist, what: str) -> None:
        self.writes_pending -= 1
        if self.writes_pending:
            return  # later answers are on their way; the last one brings the whole state
        self.last_error = None
        if self.data is not None:
            self.data = replace(self.data, state=state)
            if state.set is not None and self.chooser.currentData() is not None \
                    and self.chooser.currentData().key != state.set.key:
                self._fill_chooser()
        self._show_state(state)
        self._show_status(f"Saved {format_instant(self._clock())}: {what}")
        self.saved.emit()

    def _write_failed(self, error: BaseException, what: str) -> None:
        self.writes_pending -= 1
        text = self._error_text(error, "write")
        self.last_error = f"Not saved ({what}): {text}"
        self._show_status(self.last_error)
        if not isinstance(error, (ActionRefused, criteria_service.InvalidInput, CaseInputError, NotFound)):
            log.error("criteria write failed for a case: %s", type(error).__name__)
        if self.writes_pending == 0:
            self.reload()  # show what the store holds
        if not self._closed:
            box = QMessageBox(QMessageBox.Icon.Warning, "Answer not saved", self.last_error,
                              QMessageBox.StandardButton.Ok, self)
            box.setAccessibleName("Answer not saved")
            box.open()
            self.error_box = box

    @staticmethod
    def _error_text(error: BaseException, doing: str) -> str:
        if isinstance(error, (ActionRefused, criteria_service.InvalidInput, CaseInputError, NotFound, StoreError)):
            return str(error)
        if isinstance(error, LookupError):
            return str(error).strip("'\"")
        if isinstance(error, SQLAlchemyError):
            return (f"the store could not be {'written' if doing == 'write' else 'read'}; nothing was changed. "
                    "Try again; if it happens again, the details are in the log file.")
        return "something unexpected went wrong; nothing was changed. The details are in the log file."

    # --- closing ------------------------------------------------------------------------------------------

    def close_down(self, *_args, timeout_ms: int = 10_000) -> None:
        """Wait for the answers still being written (nothing lost), then stop the worker thread."""
        if self._closed:
            return
        deadline = QDeadlineTimer(timeout_ms)
        while self._queue.pending() and not deadline.hasExpired():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if self._queue.pending():
            log.error("criteria writes still queued when the case closed")
        self._closed = True
        self._queue.stop()

