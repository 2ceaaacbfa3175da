"""Oversight ▸ Inter-rater reliability: the year's sample, the blind re-review and the results with the corrective
action plans, one tab each (app.ui.irr_sample, app.ui.irr_review, app.ui.irr_results) (issue 14).

Store work runs on one worker thread (the main window's store worker when opened from it); a refusal or bad input
is shown in the user's words, never a traceback. Keys: Alt+1 / Alt+2 / Alt+3 the tabs, F5 refresh, Esc close.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any, Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget

from app.store.engine import Store
from app.store.worklist import Viewer
from app.ui.irr_results import ResultsTab
from app.ui.irr_review import BlindReviewTab
from app.ui.irr_sample import SampleTab
from app.ui.tasks import Job, TaskQueue

log = logging.getLogger(__name__)


def words(error: BaseException) -> str:
    """An error in the user's words (services' refusals and bad input say what to do)."""
    from app.services.cases import ActionRefused, InvalidInput, NotFound

    if isinstance(error, (ActionRefused, InvalidInput, NotFound)):
        return str(error)
    return "Something went wrong; nothing was changed. Try again; the log has the details."


class IrrWindow(QMainWindow):
    def __init__(self, store: Store, viewer: Viewer, parent=None, *, today: date | None = None,
                 worker: TaskQueue | None = None):
        super().__init__(parent)
        self.setWindowTitle("Inter-rater reliability — UM Reviewer Workstation")
        self.setAccessibleName("Inter-rater reliability")
        self.store = store
        self.viewer = viewer
        self.today = today or date.today()
        self._own_worker = worker is None
        self.worker = worker or TaskQueue("irr", self)
        self.jobs: list[Job] = []
        self.sample_tab = SampleTab(self)
        self.review_tab = BlindReviewTab(self)
        self.results_tab = ResultsTab(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.sample_tab, "&1 Sample")
        self.tabs.addTab(self.review_tab, "&2 Blind review")
        self.tabs.addTab(self.results_tab, "&3 Results and action plans")
        self.tabs.currentChanged.connect(lambda _: self.refresh())
        self.setCentralWidget(self.tabs)
        self.message = QLabel()
        self.message.setAccessibleName("Message")
        self.statusBar().addWidget(self.message, 1)
        menu = self.menuBar().addMenu("&Inter-rater reliability")
        for text, keys, slot in (("&Refresh", ["F5"], self.refresh), ("&Close", ["Esc"], self.close)):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(lambda checked=False, run=slot: run())
            self.addAction(action)
            menu.addAction(action)
        self.resize(1200, 800)
        self.refresh()

    @property
    def busy(self) -> bool:
        return any(not job.done for job in self.jobs)

    def run(self, work, on_success: Callable[[Any], None], name: str, *, refresh: bool = False,
            on_error: Callable[[], None] | None = None) -> Job:
        """Run store work on the worker; its result goes to `on_success` on the GUI thread."""
        job = self.worker.submit(work, name)
        self.jobs = [j for j in self.jobs if not j.done] + [job]

        def failed(error):
            self.message.setText(words(error))
            if on_error:
                on_error()

        def succeeded(result):
            self.message.setText("")
            on_success(result)

        job.succeeded.connect(succeeded)
        job.failed.connect(failed)
        return job

    def refresh(self) -> None:
        self.tabs.currentWidget().load()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._own_worker:
            self.worker.stop()
        super().closeEvent(event)
