"""Sync in the workstation (issue 9): the status bar, the sync worker, sign-in to the server, the Conflicts queue.

* Status bar: Online / Offline (words and a symbol, never colour alone), how many changes wait to go up, when the
  last sync finished, and the clock warning when the server says this laptop's clock is off.
* The worker syncs off the GUI thread (the window's store worker: app.ui.tasks.TaskQueue): every few minutes
  when signed in (5 by default), soon after a change is made while online (so an online claim takes its lease at
  once), on Sync > Sync now (Ctrl+Shift+Y) and on Refresh (F5). Progress shows in the status bar; Sync > Cancel
  sync (Ctrl+Shift+X) stops it after the current step (nothing is lost: what was answered stays answered).
* Sync > Sign in to sync server… asks for the server and the password (the token goes to the OS keyring).
* Sync > Conflicts… (Ctrl+Shift+K): changes that could not stand with the central store's, each with both versions
  side by side, and the resolutions of app.services.conflicts, each recorded as an event on the case.

Attached to the main window by `SyncUi.attach(window)`: the window keeps its own code; this module adds a menu, the
status-bar fields and the worker.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QGridLayout, QHBoxLayout, QInputDialog, QLabel,
    QLineEdit, QMenu, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QSplitter, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from app.domain.plantime import format_instant
from app.domain.roles import SUPERVISOR_ROLES

log = logging.getLogger(__name__)
AUTO_MINUTES = 5
SOON_MS = 3000  # after a change made while online
POLL_MS = 10_000  # how often the pending count is read again (one indexed count on the outbox)


def _ago(instant: str | None, now: datetime) -> str:
    if not instant:
        return "never"
    seconds = (now - datetime.fromisoformat(instant)).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 3600:
        return f"{round(seconds / 60)} min ago"
    return format_instant(datetime.fromisoformat(instant))


class SyncUi(QObject):
    progressed = Signal(int, int)  # emitted on the worker thread, delivered on the GUI thread
    synced = Signal(object)  # the SyncReport, or the SyncError (tests wait on it)

    def __init__(self, window, *, auto_minutes: int = AUTO_MINUTES, transport=None):
        super().__init__(window)
        self.window = window
        self.store = window.store
        self.transport = transport
        # The window's own store worker (counts, clock watch): one worker thread on the local store besides the GUI
        # thread, as everywhere in the workstation (a third thread on the SQLCipher store crashed it under load).
        self.queue = window.background
        self.job = None
        self.online: bool | None = None
        self.message: str | None = None
        self.last_pending = 0
        self.runs = 0
        self._after: dict | None = None  # the status read on the worker at the end of the last sync
        self._build_status()
        self._build_menu()
        self.progressed.connect(self._show_progress)
        self.auto = QTimer(self)
        self.auto.setInterval(max(1, auto_minutes) * 60_000)
        self.auto.timeout.connect(self.sync_now)
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        # the poll reads the store only when the store worker is idle (the GUI thread reading the SQLCipher store
        # while the worker does crashed it now and then); a busy worker's sync brings its own state (`_finished`)
        self.poll.timeout.connect(lambda: self.refresh_status(read=self.queue.pending() == 0))
        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(SOON_MS)
        self.soon.timeout.connect(self.sync_now)
        self.refresh_status()
        if self.enrolled:
            self.auto.start()
        self.poll.start()

    @classmethod
    def attach(cls, window, **kwargs) -> "SyncUi":
        return cls(window, **kwargs)

    # ----- building ----------------------------------------------------------------------------------------
    def _build_status(self) -> None:
        bar = self.window.statusBar()
        self.connection = self.window.connection_label
        self.pending_label = QLabel()
        self.last_label = QLabel()
        self.clock_label = QLabel()
        self.clock_label.hide()
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Sync progress")
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        # Right after the connection, before the store's location (which may be a long path). The window adds its
        # permanent widgets in this order: signed-in user, connection, location (app.ui.main_window).
        index = 2
        for widget in (self.progress, self.pending_label, self.last_label, self.clock_label):
            if isinstance(widget, QLabel):
                widget.setContentsMargins(12, 0, 12, 0)
            bar.insertPermanentWidget(index, widget)
            if widget is self.pending_label:
                widget.setMinimumWidth(widget.fontMetrics().horizontalAdvance("9,999 changes to send") + 28)
            index += 1

    def _build_menu(self) -> None:
        window = self.window

        def action(text: str, slot, shortcut: str, tip: str) -> QAction:
            made = QAction(text, window)
            made.setShortcut(QKeySequence(shortcut))
            made.setStatusTip(tip)
            made.setToolTip(tip)
            made.triggered.connect(lambda checked=False: slot())
            window.addAction(made)
            return made

        self.action_sync = action("&Sync now", self.sync_now, "Ctrl+Shift+Y",
                                  "Send this laptop's changes and bring down your queues (also F5)")
        self.action_cancel = action("&Cancel sync", self.cancel, "Ctrl+Shift+X", "Stop the sync after this step")
        self.action_cancel.setEnabled(False)
        self.action_conflicts = action("C&onflicts…", self.show_conflicts, "Ctrl+Shift+K",
                                       "Changes that could not stand with the central store's, to resolve")
        self.action_sign_in = action("Sign &in to sync server…", self.sign_in_prompt, "Ctrl+Shift+S",
                                     "Sign in to the plan's sync server with your password")
        menus = window.menuBar()
        help_menu = next((a for a in menus.actions() if a.text().replace("&", "") == "Help"), None)
        menu = QMenu("S&ync", menus)
        if help_menu is not None:
            menus.insertMenu(help_menu, menu)
        else:
            menus.addMenu(menu)
        for item in (self.action_sync, self.action_cancel, self.action_conflicts):
            menu.addAction(item)
        menu.addSeparator()
        menu.addAction(self.action_sign_in)
        window.action_refresh.triggered.connect(lambda checked=False: self.sync_now(quiet=True))

    # ----- state -------------------------------------------------------------------------------------------
    @property
    def enrolled(self) -> bool:
        return self.state.get("server") is not None

    def refresh_status(self, state: dict | None = None, *, read: bool = True) -> dict:
        """Show the sync state: `state` when given (read on the worker), else read now on the GUI thread (unless
        `read` is False: the last state, with the connection as it is now)."""
        from app.sync.client import status

        last = getattr(self, "state", {"server": None, "pending": 0, "conflicts": 0, "last_sync": None,
                                       "clock": None})
        if state is not None:
            self.state = state
        elif not read:
            self.state = last
        else:
            try:
                self.state = status(self.store)
            except Exception:  # noqa: BLE001 - the store is busy: show the last state
                log.warning("sync status not read", exc_info=True)
                self.state = last
                return self.state
        state, now = self.state, datetime.now(timezone.utc)
        if not self.store.is_sqlite:
            text, tip = "● Central store", f"Working directly on the central store {self.store.location}"
        elif state["server"] is None:
            text, tip = "Offline — local store", "Not signed in to a sync server: Sync > Sign in to sync server…"
        elif self.job is not None:
            text, tip = "⟳ Syncing…", f"Syncing with {state['server']}"
        elif self.online is False:
            text, tip = "✕ Offline", self.message or f"{state['server']} cannot be reached; changes wait here."
        elif self.online:
            text, tip = "✓ Online", f"Synced with {state['server']}"
        else:
            text, tip = "… Not synced yet", f"Signed in to {state['server']}; the first sync comes shortly."
        self.connection.setText(text)
        self.connection.setToolTip(tip)
        self.connection.setAccessibleName(f"Connection: {text.lstrip('✓✕⟳…● ')}. {tip}")
        pending = state["pending"]
        self.pending_label.setText(f"{pending:,} change{'s' if pending != 1 else ''} to send")
        self.pending_label.setAccessibleName(f"Changes waiting to go up: {pending}")
        conflicts = state["conflicts"]
        last = f"Last sync: {_ago(state['last_sync'], now)}" + (f" · {conflicts} conflict"
                                                                 f"{'s' if conflicts != 1 else ''}" if conflicts else "")
        self.last_label.setText(last)
        self.last_label.setAccessibleName(last)
        if state.get("clock"):
            self.clock_label.setText("⚠ Clock off")
            self.clock_label.setToolTip(state["clock"])
            self.clock_label.setAccessibleName(f"Warning: {state['clock']}")
            self.clock_label.show()
        else:
            self.clock_label.hide()
        if pending > self.last_pending and self.online and self.job is None and not self.soon.isActive():
            self.soon.start()  # a change made online goes up soon (an online claim takes its lease)
        self.last_pending = pending
        return state

    # ----- the worker --------------------------------------------------------------------------------------
    def sync_now(self, quiet: bool = False):
        """Start a sync on the worker thread (one at a time); quietly does nothing when not signed in."""
        from app.sync import client

        if self.job is not None:
            return self.job
        if not self.enrolled:
            if not quiet:
                self.window.statusBar().showMessage(
                    "Not signed in to a sync server: Sync > Sign in to sync server… (Ctrl+Shift+S).", 10_000)
            return None
        store, transport, progressed = self.store, self.transport, self.progressed
        self._after = None

        def work(progress, cancelled):
            try:
                return client.sync(store, transport=transport, progress=progressed.emit, cancelled=cancelled)
            finally:  # the state to show afterwards, read here on the worker rather than on the GUI thread
                try:
                    self._after = client.status(store)
                except Exception:  # noqa: BLE001 - shown from the GUI thread's read instead
                    log.warning("sync status not read after the sync", exc_info=True)

        self.job = self.queue.submit(work, "sync")
        self.job.succeeded.connect(self._done)
        self.job.failed.connect(self._failed)
        self.job.finished.connect(self._finished)
        self.action_cancel.setEnabled(True)
        self.action_sync.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.refresh_status(read=False)  # "Syncing…"; the worker is about to use the store
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.window.statusBar().showMessage("Stopping the sync after this step…", 5000)

    def _show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def _done(self, report) -> None:
        self.online = True
        self.message = None
        words = (f"Synced: {report.pushed} change(s) sent, {report.pulled_cases} case(s) received"
                 + (f", {report.conflicts} conflict(s): Sync > Conflicts…" if report.conflicts else "") + ".")
        if report.cancelled:
            words = "Sync stopped; what was sent is kept, the rest goes at the next sync."
        if report.stopped:
            words += f" {report.stopped}."
        if report.warnings:  # a document's file missing or changed on disk (the sync went on without it), or the
            # change log pruned past this laptop's cursor (its queues pulled again)
            words += " " + report.warnings[0] + (f" (and {len(report.warnings) - 1} more warning(s): "
                                                 "'umws sync' lists them)" if len(report.warnings) > 1 else "")
            log.warning("sync: %d warning(s)", len(report.warnings))  # no file names: no member data
        self.window.statusBar().showMessage(words, 30_000 if report.warnings else 15_000)
        self.synced.emit(report)
        if report.pulled_cases or report.removed or report.echoes:  # (an echo's answer wrote the case's lease)
            self.window.refresh()

    def _failed(self, error) -> None:
        from app.sync.api import Offline, SyncError

        self.online = False if isinstance(error, Offline) else self.online
        if isinstance(error, SyncError):
            self.message = str(error)
        else:
            log.error("sync failed", exc_info=(type(error), error, error.__traceback__))
            self.message = "The sync stopped because of an unexpected error; your changes are kept. Details are " \
                           "in the log file."
        self.window.statusBar().showMessage(self.message, 20_000)
        self.synced.emit(error)

    def _finished(self) -> None:
        self.job = None
        self.runs += 1
        self.progress.hide()
        self.action_cancel.setEnabled(False)
        self.action_sync.setEnabled(True)
        after, self._after = self._after, None
        self.refresh_status(after, read=after is None and self.queue.pending() == 0)

    def stop(self) -> None:
        for timer in (self.auto, self.poll, self.soon):
            timer.stop()
        if self.job is not None:
            self.job.cancel()  # the window stops its worker queue

    # ----- dialogs -----------------------------------------------------------------------------------------
    def sign_in_prompt(self) -> "SignInToServer":
        dialog = SignInToServer(self.state.get("server") or "https://", self.window.viewer.username, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.sign_in(*dialog.values()))
        dialog.open()
        return dialog

    def sign_in(self, server: str, password: str) -> bool:
        from app.sync import client
        from app.sync.api import SyncError

        try:
            client.login(self.store, server, self.window.viewer.username, password, transport=self.transport)
        except (SyncError, ValueError) as error:
            self.window.tell(QMessageBox.Icon.Warning, "Cannot sign in to the sync server", str(error))
            return False
        self.auto.start()
        self.window.statusBar().showMessage(f"Signed in to {server}; syncing now.", 10_000)
        self.refresh_status()
        self.sync_now()
        return True

    def show_conflicts(self) -> "ConflictsDialog":
        dialog = ConflictsDialog(self.store, self.window.viewer, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.resolved.connect(lambda: (self.refresh_status(), self.window.refresh()))
        dialog.open()
        self.conflicts_dialog = dialog
        return dialog


class SignInToServer(QDialog):
    def __init__(self, server: str, username: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Sign in to the sync server")
        self.setAccessibleName("Sign in to the sync server")
        form = QFormLayout(self)
        self.server = QLineEdit(server)
        self.server.setAccessibleName("Server address")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        form.addRow("&Server:", self.server)
        form.addRow("User:", QLabel(username))
        form.addRow("&Password:", self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Sign in")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.password.setFocus()

    def values(self) -> tuple[str, str]:
        return self.server.text().strip(), self.password.text()


def _describe(side: dict | None) -> str:
    """A version of the case, in words, for the side-by-side view."""
    if not side:
        return "—"
    case = side.get("case") or {}
    lines = []
    if side.get("intent"):
        lines.append(f"Change: {side['intent']} by {side.get('actor')}")
        made = side.get("device_time")
        lines.append(f"Made at (laptop clock): {format_instant(datetime.fromisoformat(made)) if made else '—'}")
        from app.services.conflicts import payload_lines

        lines.extend(payload_lines(side.get("payload")))
        lines.append("")
        lines.append("The case on the laptop after it:")
    else:
        lines.append("The case on the central store:")
    for key in ("status", "assignee", "outcome", "decided_at", "version"):
        if key in case:
            lines.append(f"  {key.replace('_', ' ')}: {case[key] if case[key] is not None else '—'}")
    for change in side.get("since") or []:
        detail = change.get("payload") or {}
        detail = detail.get("assignee") or detail.get("to") or detail.get("outcome") or detail.get("recipient")
        lines.append(f"  then: {change['kind']}" + (f" ({detail})" if detail else ""))
    return "\n".join(lines)


_UNMADE = ("The central store never made this request: it refused it (the reason is below).\n\n"
           "Keep mine: make it now, with the same details (the rules decide again).\n"
           "Keep theirs: leave it unmade; the conflict keeps the request as it was entered.")


class ConflictsDialog(QDialog):
    """The Conflicts queue: each open conflict, both versions side by side, and the resolutions."""

    resolved = Signal()

    def __init__(self, store, viewer, parent=None):
        super().__init__(parent)
        self.store = store
        self.viewer = viewer
        self.setWindowTitle("Conflicts")
        self.setAccessibleName("Conflicts")
        self.resize(1000, 560)
        layout = QVBoxLayout(self)
        intro = QLabel("These changes could not stand with what the central store already held. Nothing was thrown "
                       "away: choose what stands. Each choice is recorded on the case.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["TAR", "Change", "By", "Why", "Found"])
        self.table.setAccessibleName("Open conflicts")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sides = QWidget()
        grid = QGridLayout(sides)
        grid.setContentsMargins(0, 0, 0, 0)
        self.mine = QPlainTextEdit()
        self.mine.setReadOnly(True)
        self.mine.setAccessibleName("This laptop's change")
        self.theirs = QPlainTextEdit()
        self.theirs.setReadOnly(True)
        self.theirs.setAccessibleName("The central store's version")
        grid.addWidget(QLabel("<b>This laptop's change</b>"), 0, 0)
        grid.addWidget(QLabel("<b>The central store's version</b>"), 0, 1)
        grid.addWidget(self.mine, 1, 0)
        grid.addWidget(self.theirs, 1, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(sides)
        splitter.setSizes([180, 320])
        layout.addWidget(splitter, 1)
        layout.addWidget(self.reason)
        buttons = QHBoxLayout()
        self.keep_theirs = QPushButton("Keep &theirs")
        self.keep_mine = QPushButton("Keep &mine")
        self.keep_both = QPushButton("Keep &both")
        self.reassign = QPushButton("&Reassign…")
        self.close_button = QPushButton("&Close")
        self.keep_theirs.setToolTip("The central store's version stands; this change is set aside")
        self.keep_mine.setToolTip("Do this change now, on the case as it is")
        self.keep_both.setToolTip("For determinations: both stand, this one becomes the current one")
        self.reassign.setToolTip("Give the case to someone (supervisors)")
        for button in (self.keep_theirs, self.keep_mine, self.keep_both, self.reassign):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.keep_theirs.clicked.connect(lambda: self.resolve("keep-theirs"))
        self.keep_mine.clicked.connect(lambda: self.resolve("keep-mine"))
        self.keep_both.clicked.connect(lambda: self.resolve("keep-both"))
        self.reassign.clicked.connect(self.reassign_prompt)
        self.close_button.clicked.connect(self.reject)
        self.reassign.setVisible(viewer.role in SUPERVISOR_ROLES)
        self.table.currentCellChanged.connect(lambda *_: self._show_current())
        self.load()

    def load(self) -> None:
        from app.services.conflicts import conflict_json, open_conflicts

        with self.store.session() as session:
            self.rows = [conflict_json(c) for c in open_conflicts(session)]
        self.table.setRowCount(len(self.rows))
        for row, conflict in enumerate(self.rows):
            for column, value in enumerate((conflict["tar"], conflict["intent"], conflict["username"],
                                            "someone changed it first" if conflict["kind"] == "concurrent"
                                            else "refused by the rules",
                                            format_instant(datetime.fromisoformat(conflict["detected_at"])))):
                self.table.setItem(row, column, QTableWidgetItem(value or ""))
        self.table.resizeColumnsToContents()
        if self.rows:
            self.table.setCurrentCell(0, 0)
        self._show_current()

    def current(self) -> dict | None:
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _show_current(self) -> None:
        conflict = self.current()
        for button in (self.keep_theirs, self.keep_mine, self.keep_both, self.reassign):
            button.setEnabled(conflict is not None)
        if conflict is None:
            self.mine.setPlainText("")
            self.theirs.setPlainText("")
            self.reason.setText("No open conflicts." if not self.rows else "")
            return
        self.keep_both.setEnabled(conflict["intent"] == "decide")
        self.reassign.setEnabled(not conflict.get("request_not_made"))  # no case to reassign
        self.mine.setPlainText(_describe(conflict["mine"]))
        self.theirs.setPlainText(_UNMADE if conflict.get("request_not_made") else _describe(conflict["theirs"]))
        self.reason.setText(conflict["reason"])

    def reassign_prompt(self) -> None:
        conflict = self.current()
        if conflict is None:
            return
        username, ok = QInputDialog.getText(self, "Reassign", f"Give TAR {conflict['tar']} to (username):")
        if ok and username.strip():
            self.resolve("reassign", reassign_to=username.strip())

    def resolve(self, resolution: str, *, reassign_to: str | None = None, confirm: bool = True) -> bool:
        from app.services import cases as svc
        from app.services.conflicts import RESOLUTIONS, resolve_conflict
        from app.services.criteria import InvalidInput as CriteriaInput

        conflict = self.current()
        if conflict is None:
            return False
        if confirm:
            box = QMessageBox(QMessageBox.Icon.Question, "Resolve the conflict",
                              f"TAR {conflict['tar']}: {RESOLUTIONS[resolution]}?\nThis is recorded on the case and "
                              "cannot be undone.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                              self)
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            if box.exec() != QMessageBox.StandardButton.Yes:
                return False
        try:
            with self.store.session() as session, session.begin():
                resolve_conflict(session, conflict["tar"], self.viewer.username, conflict_id=conflict["id"],
                                 resolution=resolution, reassign_to=reassign_to)
        except (svc.ActionRefused, svc.NotFound, svc.InvalidInput, CriteriaInput) as error:
            box = QMessageBox(QMessageBox.Icon.Warning, "Cannot resolve the conflict", str(error),
                              QMessageBox.StandardButton.Ok, self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.last_error = str(error)
            return False
        self.load()
        self.resolved.emit()
        return True
