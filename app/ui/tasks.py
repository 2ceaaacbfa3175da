"""Run slow work off the GUI thread, with progress and cancel (workstation-ux.md: "the window never freezes").

A `Task` runs `work(progress, cancelled)` in its own QThread. The work function reports with
`progress(done, total)` and asks `cancelled()` between units of work; it must not touch widgets. Signals arrive on
the GUI thread: `progressed(done, total)`, then exactly one of `succeeded(result)` or `failed(exception)`, then
`finished()`. `track_with_progress_dialog()` shows a cancellable QProgressDialog for a task.

Used by "Load demo data…"; later sync and batch letters run the same way.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

log = logging.getLogger(__name__)

Work = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]


class Task(QThread):
    """One piece of work on a worker thread. Start it with `start()`; `cancel()` asks the work to stop."""

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception; the caller turns it into words for the user

    _running: set["Task"] = set()  # keeps started tasks alive until they finish, even without a parent

    def __init__(self, work: Work, name: str = "task", parent=None):
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self.name = name
        self.setObjectName(name)
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished.connect(self._forget)

    def start(self, *args) -> None:
        Task._running.add(self)
        super().start(*args)

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # on the worker thread
        try:
            self.result = self._work(self.progressed.emit, self._cancel.is_set)
        except BaseException as error:  # noqa: BLE001 - reported to the GUI thread, never lost
            log.exception("task %s failed", self.name)
            self.error = error
            self.failed.emit(error)
        else:
            self.succeeded.emit(self.result)

    def _forget(self) -> None:
        Task._running.discard(self)


def track_with_progress_dialog(task: Task, parent: QWidget | None, title: str, label: str,
                               *, modal: bool = False) -> QProgressDialog:
    """A progress dialog for `task`: shows done of total, and its Cancel button cancels the task.

    The dialog closes itself when the task finishes. Modeless by default, so the window stays usable.
    """
    dialog = QProgressDialog(label, "Cancel", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setAccessibleName(title)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setModal(modal)

    def on_progress(done: int, total: int) -> None:
        if dialog.maximum() != total:
            dialog.setMaximum(total)
        dialog.setValue(done)

    def on_cancel() -> None:
        dialog.setLabelText("Stopping after the current step…")
        task.cancel()

    task.progressed.connect(on_progress)
    dialog.canceled.connect(on_cancel)
    task.finished.connect(dialog.close)
    task.finished.connect(dialog.deleteLater)
    dialog.show()
    return dialog
