"""The main window: queues on the left, the worklist in the middle, the selected case's summary on the right.

workstation-ux.md ("Layout", "Keyboard first", "Clear and safe"); issue 3, scope 6. Each user action starts here
(a QAction with its shortcut and menu entry) and goes to one service call in `app.services`: claim and assign
(`app.services.cases`), demo data (`app.services.demo`). The case view is `app.ui.case_view`, the Assign dialog
`app.ui.assign_dialog`, and the plain case details they show come from `app.store.case_details`.

Case workspace (issue 6, scope 5): an opened case gets the actions the signed-in user's role allows
(`app.ui.case_actions`, writing through the same `TaskQueue` as the counts and the clock watch); a referred case's
summary shows the referral and the criteria result first. File > Lock screen and Sign out are signals the work
session (`app.ui.work_session`) answers.

Clock watch (issue 4, scope 4): every minute and on refresh, a task off the GUI thread records missed decision
clocks as events (`app.services.clock_watch.record_breaches`) and reads the signed-in user's running clocks; each
tick then warns about those that fell under 4 hours or became overdue (`app.ui.clock_warnings`).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFontMetrics, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QFormLayout, QHeaderView, QInputDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QMainWindow, QMessageBox, QScrollArea, QSplitter, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView,
    QVBoxLayout, QWidget,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.domain import authority
from app.domain.queues import COLUMNS, QUEUES, end_of_plan_day, queues_for_role
from app.domain.roles import ROLES
from app.domain.vocabulary import TEAMS
from app.services.cases import ActionRefused, NotFound, assign_case, claim_case
from app.store.case_details import CaseDetails, load_case
from app.store.case_workspace import referral_brief
from app.store.engine import Store
from app.store.errors import StoreError
from app.store.models import User
from app.store.worklist import Viewer, queue_counts, running_clocks_of
from app.ui.appeals import add_appeal_tab
from app.ui.assign_dialog import AssignDialog
from app.ui.case_actions import ACTIONS as CASE_ACTIONS, CaseActions
from app.ui.case_view import TICK_MS, ClockBanner, CaseView, SummaryForm, due_text
from app.ui.checklist import warm_up as warm_up_criteria
from app.ui.clock_warnings import ClockWarnings, NoticeBar
from app.ui.documents import add_documents_tab
from app.ui.letters import LettersQueueWindow, add_letters_tab
from app.ui.oversight_menu import install_oversight_menu, warm_up_dashboard
from app.ui.referral_panel import ReferralPanel
from app.ui.stay import attach_stay_tab
from app.ui.p2p import add_p2p_tab, install_p2p
from app.ui.tasks import Job, Task, TaskQueue, track_with_progress_dialog
from app.ui.worklist_model import COLUMN_IDS, WorklistModel

log = logging.getLogger(__name__)

# How wide each column starts (users resize; widths persist): a typical longest value of the column.
COLUMN_SAMPLES = {
    "tar": "90000000000", "member": "Hernández-Castillo, Guadalupe", "service": "99223 Initial hospital inpatient (+2)",
    "timing": "Urgent · Post-stabilization", "received": "Wed 11/24 11:59 PM PT",
    "due": "Under 4 h · in 2 h 15 m · Wed 11/24 11:59 PM PT", "status": "Pended for information",
    "assignee": "nurse.okafor",
}  # (the rarer "Under 25% left · in 1 d 8 h · …" loses the end of its due; the tooltip has it all)
# The Due column starts next to the member (what is about to breach comes first); users may move columns.
DEFAULT_VISUAL_ORDER = ["tar", "member", "due", "service", "timing", "status", "received", "assignee"]
SETTINGS_GEOMETRY = "main/geometry"
SETTINGS_SPLITTER = "main/splitter"
SETTINGS_HEADER = "worklist/header"
SETTINGS_SORT_COLUMN = "worklist/sort_column"
SETTINGS_SORT_DESCENDING = "worklist/descending"
SETTINGS_QUEUE = "worklist/queue"
FILTER_DELAY_MS = 200
WATCH_MS = 60_000  # how often missed clocks are recorded and my running clocks re-read (off the GUI thread)


# --- widgets ----------------------------------------------------------------------------------------------------

class SelectionSafeDelegate(QStyledItemDelegate):
    """Selected cells use the palette's highlighted text, so a coloured cell stays readable when selected."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:
        super().initStyleOption(option, index)
        if option.state & QStyle.StateFlag.State_Selected:
            option.palette.setBrush(QPalette.ColorRole.Text, option.palette.brush(QPalette.ColorRole.HighlightedText))


class CaseSummaryPanel(QScrollArea):
    """The selected case at a glance (right of the worklist)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setAccessibleName("Case summary")
        inner = QWidget()
        layout = QVBoxLayout(inner)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.heading.setFont(font)
        self.clock = ClockBanner()
        self.form = SummaryForm()
        self.referral = ReferralPanel()  # a referred case: the criteria result and the referrer's summary first
        layout.addWidget(self.heading)
        layout.addWidget(self.referral)
        layout.addWidget(self.clock)
        layout.addWidget(self.form)
        layout.addStretch(1)
        self.setWidget(inner)
        self.details: CaseDetails | None = None
        self.show_case(None, datetime.now(timezone.utc))

    def show_case(self, details: CaseDetails | None, now: datetime, referral=None) -> None:
        """`referral`: (Referral, CriteriaState) of a referred case (app.store.case_workspace.referral_brief)."""
        self.details = details
        self.referral.show_referral(*(referral or (None, None)))
        if details is None:
            self.heading.setText("No case selected")
            self.heading.setAccessibleName("No case selected")
            self.clock.show_clock(None, now, "Select a case in the worklist to see its summary here.")
            self.form.show_fields([])
            return
        self.heading.setText(f"{details.member_name} · TAR {details.tar}")
        self.heading.setAccessibleName(f"Case summary for {details.member_name}, TAR {details.tar}")
        self.form.show_fields(details.summary)
        self.tick(now)

    def tick(self, now: datetime) -> None:
        if self.details is None:
            return
        self.clock.show_clock(self.details, now)
        self.form.set_value("Due", due_text(self.details, now))


# --- the window ---------------------------------------------------------------------------------------------------

class MainWindow(QMainWindow):
    sign_out_requested = Signal()  # File > Sign out (app.ui.work_session signs out and asks who signs in)
    lock_requested = Signal()  # File > Lock screen
    closed = Signal()  # the window closed (the work session records the sign-out)

    def __init__(self, store: Store, viewer: Viewer, settings: QSettings | None = None, parent=None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), tick_ms: int = TICK_MS,
                 watch_ms: int = WATCH_MS):
        super().__init__(parent)
        self.store = store
        self.viewer = viewer
        self.settings = settings if settings is not None else QSettings()
        self._clock = clock
        self._tasks: set[Task] = set()
        self.background = TaskQueue("store reads", self)  # counts and the clock watch, one after another
        self._counts_generation = 0
        self._pending_row = 0
        self.case_views: list[CaseView] = []
        self.queue_counts: dict[str, int] = {}
        self.clock_checks = 0  # clock watches completed (tests wait on it)
        self._watch_task: Job | None = None
        self._watch_again = False
        self._closed = False
        self.screen_locked = False  # set by app.ui.work_session while the screen is locked: never show itself
        with store.session() as session:
            self.user_full_name = session.scalar(select(User.full_name).where(User.id == viewer.user_id)) \
                or viewer.username
        role = ROLES.get(viewer.role, viewer.role)
        self.setWindowTitle(f"{self.user_full_name} ({role}) — UM Reviewer Workstation")

        self.queues = queues_for_role(viewer.role)
        saved_queue = self.settings.value(SETTINGS_QUEUE, "", str)
        start_queue = saved_queue if any(q.id == saved_queue for q in self.queues) else self.queues[0].id
        self.model = WorklistModel(store, viewer, start_queue, self, clock=clock)
        self._build_widgets()
        self._build_actions()
        self._build_status_bar()
        self._restore_settings()
        self.model.modelReset.connect(self._after_reset)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.queue_list.currentRowChanged.connect(self._queue_chosen)
        self._after_reset()
        self.refresh_counts()
        self._day_end = end_of_plan_day(self._clock())
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(tick_ms)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start()
        self.watch_timer = QTimer(self)
        self.watch_timer.setInterval(watch_ms)
        self.watch_timer.timeout.connect(self.check_clocks)
        if watch_ms > 0:
            self.watch_timer.start()
        self.check_clocks()
        from app.ui.sync_ui import SyncUi  # issue 9: the Sync menu, its status-bar fields and the sync worker

        self.sync = SyncUi.attach(self)
        self.background.submit(lambda progress, cancelled: warm_up_criteria(store), "criteria library")
        warm_up_dashboard(self)  # issue 14: for the program's leads, the dashboard's first opening made fast
        self.p2p = install_p2p(self)  # issue 8: the Peer-to-peer menu, reminders for reviewers

    # --- building -------------------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.queue_list = QListWidget()
        self.queue_list.setAccessibleName("Queues")
        self.queue_list.setAccessibleDescription("Choose a queue; the worklist shows its cases")
        for queue in self.queues:
            item = QListWidgetItem(queue.label)
            item.setData(Qt.ItemDataRole.UserRole, queue.id)
            self.queue_list.addItem(item)
        self.queue_list.setCurrentRow(next(i for i, q in enumerate(self.queues) if q.id == self.model.queue_id))

        self.filter_edit = QLineEdit()
        self.filter_edit.setAccessibleName("Quick filter")
        self.filter_edit.setAccessibleDescription("Shows only cases whose TAR, member or service contains the words")
        self.filter_edit.setPlaceholderText("Filter by TAR, member or service (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self._filter_return)
        filter_label = QLabel("&Filter:")
        filter_label.setBuddy(self.filter_edit)
        self.count_label = QLabel()
        self.count_label.setAccessibleName("Cases shown")

        self.table = QTableView()
        self.table.setAccessibleName("Worklist")
        self.table.setAccessibleDescription("Cases in the chosen queue; Enter opens the selected case")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setItemDelegate(SelectionSafeDelegate(self.table))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        bold = self.table.font()
        bold.setBold(True)  # urgent and due-soon cells are bold
        metrics = QFontMetrics(bold)
        icon = self.table.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize) + 6  # the Due column's band icon
        for column, sample in COLUMN_SAMPLES.items():
            header.resizeSection(COLUMN_IDS.index(column),
                                 metrics.horizontalAdvance(sample) + 24 + (icon if column == "due" else 0))
        for visual, column in enumerate(DEFAULT_VISUAL_ORDER):
            header.moveSection(header.visualIndex(COLUMN_IDS.index(column)), visual)
        self.table.doubleClicked.connect(lambda index: self.open_case())

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        top = QFormLayout()
        top.addRow(filter_label, self.filter_edit)
        middle_layout.addLayout(top)
        middle_layout.addWidget(self.count_label)
        middle_layout.addWidget(self.table, 1)

        self.summary = CaseSummaryPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setAccessibleName("Queues, worklist and case summary")
        self.splitter.addWidget(self.queue_list)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.summary)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([200, 900, 340])
        self.notice_bar = NoticeBar(can_show_at_risk="at-risk" in {q.id for q in self.queues})
        self.notice_bar.show_at_risk.connect(lambda: self.show_queue("at-risk"))
        self.clock_warnings = ClockWarnings(self.notice_bar, self)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(4)
        central_layout.addWidget(self.notice_bar)
        central_layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.setTabOrder(self.queue_list, self.filter_edit)
        self.setTabOrder(self.filter_edit, self.table)
        self.setTabOrder(self.table, self.summary)

    def _action(self, text: str, slot, shortcuts: list, tip: str, *, window_wide: bool = True) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        if window_wide:
            self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_load_demo = self._action("Load &demo data…", self.load_demo_prompt, ["Ctrl+Shift+D"],
                                             "Add synthetic demo cases to this store")
        self.action_quit = self._action("&Quit", self.close,
                                        _standard(QKeySequence.StandardKey.Quit, "Ctrl+Q"), "Close the workstation")
        self.action_open = self._action("&Open case", self.open_case, [Qt.Key.Key_Return, Qt.Key.Key_Enter],
                                        "Open the selected case", window_wide=False)
        self.action_open.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table.addAction(self.action_open)
        self.action_claim = self._action("&Claim", self.claim_selected, ["Ctrl+Shift+C"],
                                         "Take the selected case into My cases")
        self.action_assign = self._action("&Assign…", self.assign_selected, ["Ctrl+Shift+A"],
                                          "Give the selected case to a reviewer (supervisors)")
        self.action_go_to = self._action("&Go to TAR…", self.go_to_tar_prompt, ["Ctrl+L"],
                                         "Open a case by its TAR number")
        self.action_filter = self._action("&Filter worklist", self.focus_filter,
                                          _standard(QKeySequence.StandardKey.Find, "Ctrl+F"),
                                          "Type to narrow the worklist")
        self.action_queues = self._action("&Queues", self.queue_list.setFocus, ["Ctrl+1"], "Move to the queues")
        self.action_worklist = self._action("&Worklist", self.table.setFocus, ["Ctrl+2"], "Move to the worklist")
        self.action_summary = self._action("Case &summary", self.summary.setFocus, ["Ctrl+3"],
                                           "Move to the case summary")
        self.action_refresh = self._action("&Refresh", self.refresh, ["F5"], "Read the worklist and counts again")
        self.action_letters = self._action("&Letters to mail…", self.show_letter_queue, ["Ctrl+Shift+M"],
                                           "Letters awaiting mailing, nearest mail-by first: print, mark mailed")
        self.action_lock = self._action("&Lock screen", self.lock_requested.emit, ["Ctrl+Shift+L"],
                                        "Hide member data until you sign in again")
        self.action_sign_out = self._action("Sign &out", self.sign_out_requested.emit, ["Ctrl+Shift+Q"],
                                            "Sign out so that someone else can sign in")
        self.action_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts,
                                             _standard(QKeySequence.StandardKey.HelpContents, "F1"),
                                             "List the keyboard shortcuts")
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.action_load_demo)
        file_menu.addSeparator()
        file_menu.addAction(self.action_lock)
        file_menu.addAction(self.action_sign_out)
        file_menu.addAction(self.action_quit)
        case_menu = menus.addMenu("&Case")
        for action in (self.action_open, self.action_claim, self.action_assign):
            case_menu.addAction(action)
        case_menu.addSeparator()
        case_menu.addAction(self.action_go_to)
        case_menu.addAction(self.action_letters)
        view_menu = menus.addMenu("&View")
        for action in (self.action_filter, self.action_queues, self.action_worklist, self.action_summary):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.action_refresh)
        from app.ui.intake_form import install_intake_menu  # issue 11: Intake > New request, Fax inbox, Import

        install_intake_menu(self)
        install_oversight_menu(self)  # issue 14: committee dashboard, IRR
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(self.action_shortcuts)

        # What the role may never do is disabled (the service layer still refuses on its own).
        self.claim_refusal = authority.may_claim(self.viewer.role, "received", None, self.viewer.username)
        self.assign_refusal = authority.may_assign(self.viewer.role, "received", "um-nurse")
        for action, refusal in ((self.action_claim, self.claim_refusal), (self.action_assign, self.assign_refusal)):
            if refusal:
                action.setStatusTip(refusal.reason)
                action.setToolTip(refusal.reason)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setAccessibleName("Status bar")
        role = ROLES.get(self.viewer.role, self.viewer.role)
        team = f", {TEAMS[self.viewer.team]} team" if self.viewer.team in TEAMS else ""
        self.user_label = QLabel(f"Signed in: {self.user_full_name} · {role}{team}")
        self.connection_label = QLabel("Offline — local store")
        self.connection_label.setToolTip("Sync with the plan's central store comes in a later version.")
        self.location_label = QLabel(f"Store: {self.store.location}")
        self.location_label.setToolTip(self.store.location)
        for label, name in ((self.user_label, "Signed-in user"), (self.connection_label, "Connection"),
                            (self.location_label, "Store location")):
            label.setAccessibleName(f"{name}: {label.text()}")
            label.setContentsMargins(12, 0, 12, 0)
            bar.addPermanentWidget(label)

    # --- settings -------------------------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value(SETTINGS_GEOMETRY)
        if isinstance(geometry, (QByteArray, bytes)):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 820)
        splitter = self.settings.value(SETTINGS_SPLITTER)
        if isinstance(splitter, (QByteArray, bytes)):
            self.splitter.restoreState(splitter)
        header = self.table.horizontalHeader()
        state = self.settings.value(SETTINGS_HEADER)
        if isinstance(state, (QByteArray, bytes)):
            header.restoreState(state)
        column, descending = self.model.sort_key()
        saved_column = self.settings.value(SETTINGS_SORT_COLUMN, column, str)
        if saved_column in COLUMNS:
            column = saved_column
            descending = _as_bool(self.settings.value(SETTINGS_SORT_DESCENDING, descending))
        header.setSortIndicator(COLUMN_IDS.index(column),
                                Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)  # sorts the model by the indicator: in SQL

    def save_settings(self) -> None:
        self.settings.setValue(SETTINGS_GEOMETRY, self.saveGeometry())
        self.settings.setValue(SETTINGS_SPLITTER, self.splitter.saveState())
        self.settings.setValue(SETTINGS_HEADER, self.table.horizontalHeader().saveState())
        column, descending = self.model.sort_key()
        self.settings.setValue(SETTINGS_SORT_COLUMN, column)
        self.settings.setValue(SETTINGS_SORT_DESCENDING, descending)
        self.settings.setValue(SETTINGS_QUEUE, self.model.queue_id)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closed = True
        self.save_settings()
        self.tick_timer.stop()
        self.watch_timer.stop()
        self.clock_warnings.close()
        for view in list(self.case_views):  # first: an open case must not start more work on the queue
            view.close()
        self.sync.stop()
        if self.dashboard_warm_up is not None:
            self.dashboard_warm_up.stop()
        for task in list(self._tasks):
            task.cancel()
            task.wait()
        self.background.stop()
        super().closeEvent(event)
        self.closed.emit()

    # --- worklist -------------------------------------------------------------------------------------------

    def current_tar(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.tar_at(index.row()) if index.isValid() else None

    def select_row(self, row: int) -> None:
        if self.model.rowCount() == 0:
            self.table.setCurrentIndex(self.model.index(-1, -1))
            self._current_changed()
            return
        row = max(0, min(row, self.model.rowCount() - 1))
        index = self.model.index(row, 0)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)

    def _after_reset(self) -> None:
        queue = QUEUES[self.model.queue_id]
        count = self.model.rowCount()
        filtered = f" matching “{self.model.filter_text}”" if self.model.filter_text else ""
        if count:
            text = f"{queue.label}: {count:,} case{'s' if count != 1 else ''}{filtered}"
        elif filtered:
            text = f"{queue.label}: no cases{filtered}. Clear the filter to see them all."
        else:
            text = f"{queue.label}: no cases."
        self.count_label.setText(text)
        self.count_label.setAccessibleName(self.count_label.text())
        row, self._pending_row = self._pending_row, 0
        self.select_row(row)

    def _current_changed(self, *args) -> None:
        tar = self.current_tar()
        details = referral = None
        if tar:
            try:
                with self.store.session() as session:
                    details = load_case(session, tar)
                    if details is not None and details.status in ("referred", "pended"):
                        referral = referral_brief(session, tar)
            except SQLAlchemyError:
                log.exception("could not read a case summary")
        self.summary.show_case(details, self._clock(), referral)
        self.action_open.setEnabled(tar is not None)
        self.action_claim.setEnabled(tar is not None and self.claim_refusal is None)
        self.action_assign.setEnabled(tar is not None and self.assign_refusal is None)

    def _queue_chosen(self, row: int) -> None:
        if 0 <= row < len(self.queues):
            self.model.set_queue(self.queues[row].id)

    def show_queue(self, queue_id: str) -> None:
        """Choose a queue the viewer has (as a click in the queue list would), and show the window."""
        ids = [queue.id for queue in self.queues]
        if queue_id in ids:
            self.queue_list.setCurrentRow(ids.index(queue_id))
        if self.screen_locked:
            return  # member data stays hidden until the user signs in again
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        self.model.set_filter(self.filter_edit.text())

    def _filter_return(self) -> None:
        self.apply_filter()
        self.table.setFocus()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def refresh(self) -> None:
        """Read the worklist, the counts and the summary again, keeping the position in the list."""
        index = self.table.currentIndex()
        self._pending_row = index.row() if index.isValid() else 0
        self.model.refresh()
        self.refresh_counts()
        self.check_clocks()

    def tick(self) -> None:
        """Move the countdowns on (no database), warn about my clocks, and re-read "today" when the day changes."""
        now = self._clock()
        if now >= self._day_end:
            self._day_end = end_of_plan_day(now)
            self.refresh()  # "At risk today" and its count depend on the plan day
        self.model.tick(self.visible_rows())
        self.summary.tick(now)
        self.clock_warnings.check(now)

    def visible_rows(self) -> tuple[int, int] | None:
        """The first and last worklist rows on screen (None when none is)."""
        if self.model.rowCount() == 0 or not self.table.isVisible():
            return None
        first = self.table.rowAt(0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        return (max(first, 0), last if last >= 0 else self.model.rowCount() - 1)

    def check_clocks(self) -> Job | None:
        """Off the GUI thread: record missed decision clocks as events, then read my running clocks for the
        warnings (docs/clocks.md). One at a time; asked while one runs, it runs again when that one ends."""
        if self._watch_task is not None:
            self._watch_again = True
            return None
        from app.services.clock_watch import record_breaches

        self._watch_again = False
        store, user_id, now = self.store, self.viewer.user_id, self._clock()

        def work(progress, cancelled):
            recorded = []
            try:
                with store.session() as session, session.begin():
                    recorded = record_breaches(session, now)
            except SQLAlchemyError:  # e.g. the store is busy, or read-only for this user: the warnings still run
                log.warning("missed clocks not recorded this time", exc_info=True)
            with store.session() as session:
                return recorded, running_clocks_of(session, user_id)

        task = self.background.submit(work, "clock watch")
        self._watch_task = task
        task.succeeded.connect(self._clocks_checked)
        task.finished.connect(self._clock_watch_finished)
        return task

    def clock_watch_idle(self) -> bool:
        """No clock watch running or asked for."""
        return self._watch_task is None and not self._watch_again

    def _clocks_checked(self, result) -> None:
        recorded, running = result
        if recorded:
            log.info("recorded %d missed decision clock(s): %s", len(recorded), ", ".join(recorded[:20]))
        self.clock_warnings.watch(running)
        self.clock_warnings.check(self._clock())

    def _clock_watch_finished(self) -> None:
        self._watch_task = None
        self.clock_checks += 1
        if self._watch_again and not self._closed:
            self.check_clocks()

    def refresh_counts(self) -> Job:
        """Count every queue off the GUI thread (a count of 100,000 cases is not a few milliseconds)."""
        self._counts_generation += 1
        generation = self._counts_generation
        store, viewer = self.store, self.viewer

        now = self._clock()

        def work(progress, cancelled):
            with store.session() as session:
                return queue_counts(session, viewer, now)

        task = self.background.submit(work, "queue counts")
        task.succeeded.connect(lambda counts: self._show_counts(counts, generation))
        return task

    def _show_counts(self, counts: dict[str, int], generation: int) -> None:
        if generation != self._counts_generation:
            return  # a newer count is on its way
        for row, queue in enumerate(self.queues):
            item = self.queue_list.item(row)
            count = counts.get(queue.id)
            item.setText(queue.label if count is None else f"{queue.label} ({count:,})")
        self.queue_counts = counts

    def _start(self, work, name: str) -> Task:
        task = Task(work, name, self)
        self._tasks.add(task)
        task.finished.connect(lambda: self._tasks.discard(task))
        task.start()
        return task

    # --- actions --------------------------------------------------------------------------------------------

    def tell(self, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
        """A message the user reads and dismisses; window-modal, never blocking the event loop."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAccessibleName(title)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    @contextmanager
    def _reporting(self, title: str) -> Iterator[None]:
        """Refusals and store failures become a message in the user's words; details go to the log."""
        try:
            yield
        except (ActionRefused, NotFound, StoreError) as error:
            self.tell(QMessageBox.Icon.Warning, title, str(error))
            raise _Reported from error
        except SQLAlchemyError as error:
            log.exception("%s failed", title)
            self.tell(QMessageBox.Icon.Critical, title,
                      "The local store could not save this change, so nothing was changed. Try again; if it "
                      "keeps happening, close the workstation and start it again. Details are in the log file.")
            raise _Reported from error

    def claim_selected(self) -> bool:
        tar = self.current_tar()
        if tar is None:
            return False
        try:
            with self._reporting("Cannot claim this case"):
                with self.store.session() as session, session.begin():
                    claim_case(session, tar, self.viewer.username)
        except _Reported:
            return False
        self.statusBar().showMessage(f"Claimed TAR {tar}; it is now in My cases.", 10_000)
        self.refresh()
        return True

    def reviewers(self) -> list[tuple[str, str]]:
        with self.store.session() as session:
            users = session.execute(
                select(User.username, User.full_name, User.role, User.team)
                .where(User.active.is_(True), User.role.in_(authority.CLAIMING_ROLES))
                .order_by(User.full_name)
            ).all()
        return [(u.username, f"{u.full_name} — {ROLES.get(u.role, u.role)}"
                 + (f", {TEAMS.get(u.team, u.team)}" if u.team else "")) for u in users]

    def assign_selected(self) -> AssignDialog | None:
        tar = self.current_tar()
        if tar is None:
            return None
        row = self.model.row_at(self.table.currentIndex().row())
        dialog = AssignDialog(tar, row.member, self.reviewers(), row.assignee, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.assign(tar, *dialog.choice()))
        dialog.open()
        return dialog

    def assign(self, tar: str, assignee: str, note: str = "") -> bool:
        try:
            with self._reporting("Cannot assign this case"):
                with self.store.session() as session, session.begin():
                    assign_case(session, tar, self.viewer.username, assignee, note)
        except _Reported:
            return False
        self.statusBar().showMessage(f"Assigned TAR {tar} to {assignee}.", 10_000)
        self.refresh()
        return True

    def open_case(self, tar: str | None = None) -> CaseView | None:
        tar = tar or self.current_tar()
        if tar is None:
            return None
        with self.store.session() as session:
            details = load_case(session, tar, full=True)
        if details is None:
            self.tell(QMessageBox.Icon.Information, "No such case",
                      f"No case with TAR number {tar} is in this store. Check the number and try again.")
            return None
        actions = CaseActions(self.store, self.viewer, self.background, tar)  # writes off the GUI thread
        actions.changed.connect(lambda _tar: self.refresh())
        view = CaseView(details, self._clock, self, actions=actions, store=self.store, viewer=self.viewer)
        letters = add_letters_tab(view, self.store, self.viewer)
        add_documents_tab(view, self.store, self.viewer)  # issue 9: the intake documents' files, and Open
        # The criteria and letters tabs write to the case too: its actions then read it again (its version moved).
        letters.changed.connect(lambda: actions.reload())
        if getattr(view, "criteria", None) is not None:
            view.criteria.saved.connect(lambda: actions.reload())
        stay = attach_stay_tab(view, self.store, self.viewer.username, self.viewer.role, self._clock)  # issue 12
        if stay is not None:
            stay.changed.connect(lambda: actions.reload())
            actions.loaded.connect(stay.reload)  # F5 in the case reads its stay again too
        add_p2p_tab(view, self.store, self.viewer).changed.connect(lambda: actions.reload())  # issue 8
        add_appeal_tab(view, self.store, self.viewer).changed.connect(lambda: actions.reload())  # issue 13
        view.finished.connect(lambda *_: self._case_view_closed(view))
        self.case_views.append(view)
        view.show()
        return view

    def show_letter_queue(self) -> LettersQueueWindow:
        window = LettersQueueWindow(self.store, self.viewer, now=self._clock, parent=self)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.show()
        self.letter_queue = window
        return window

    def _case_view_closed(self, view: CaseView) -> None:
        if view in self.case_views:
            self.case_views.remove(view)
            view.deleteLater()

    def go_to_tar_prompt(self) -> None:
        text, ok = QInputDialog.getText(self, "Go to TAR", "TAR number:")
        if ok and text.strip():
            self.go_to_tar(text)

    def go_to_tar(self, text: str) -> CaseView | None:
        tar = "".join(ch for ch in text if ch.isalnum())
        row = self.model.cached_row_of(tar)
        if row is not None:
            self.select_row(row)
        return self.open_case(tar)

    def load_demo_prompt(self) -> None:
        count, ok = QInputDialog.getInt(self, "Load demo data", "How many synthetic cases to add?", 2000, 1,
                                        200_000, 500)
        if ok:
            self.load_demo(count)

    def load_demo(self, cases: int) -> Task:
        """Add `cases` demo cases on a worker thread, with a progress dialog that can cancel."""
        from app.services import demo

        store = self.store

        def work(progress, cancelled):
            return demo.generate(store, cases, progress=progress, cancelled=cancelled)

        self.action_load_demo.setEnabled(False)
        task = self._start(work, "demo data")
        self.demo_progress = track_with_progress_dialog(task, self, "Load demo data",
                                                        f"Adding {cases:,} synthetic cases…")
        task.succeeded.connect(self._demo_done)
        task.failed.connect(lambda error: self.tell(
            QMessageBox.Icon.Critical, "Demo data stopped",
            "Adding demo data stopped with an error. The whole batches made before it are kept. "
            "Details are in the log file."))
        task.finished.connect(lambda: self.action_load_demo.setEnabled(True))
        task.finished.connect(self.refresh)
        return task

    def _demo_done(self, result) -> None:
        if result.cancelled:
            self.statusBar().showMessage(f"Stopped: {result.cases:,} demo cases were added.", 10_000)
        else:
            self.statusBar().showMessage(f"Added {result.cases:,} demo cases.", 10_000)

    def show_shortcuts(self) -> None:
        actions = [self.action_open, self.action_claim, self.action_assign, self.action_go_to, self.action_filter,
                   self.action_queues, self.action_worklist, self.action_summary, self.action_refresh,
                   self.action_load_demo, self.action_lock, self.action_sign_out, self.action_quit]
        lines = [f"{a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)}: "
                 f"{a.text().replace('&', '').rstrip('…')}" for a in actions]
        lines += ["", "In an open case:"] + [
            f"{QKeySequence(spec.shortcut).toString(QKeySequence.SequenceFormat.NativeText)}: "
            f"{spec.text.replace('&', '').rstrip('…')}" for spec in CASE_ACTIONS] + ["Ctrl+Tab: next section"]
        self.tell(QMessageBox.Icon.Information, "Keyboard shortcuts", "\n".join(lines))


class _Reported(Exception):
    """Raised after an error was shown to the user, to stop the action quietly."""


def _standard(key: QKeySequence.StandardKey, fallback: str) -> list:
    sequences = QKeySequence.keyBindings(key)
    return sequences if sequences else [fallback]


def _as_bool(value) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")

