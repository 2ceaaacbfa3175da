"""Run slow work off the GUI thread, with progress and cancel (workstation-ux.md: "the window never freezes").

A `Task` runs `work(progress, cancelled)` in its own QThread. The work function reports with
`progress(done, total)` and asks `cancelled()` between units of work; it must not touch widgets. Signals arrive on
the GUI thread: `progressed(done, total)`, then exactly one of `succeeded(result)` or `failed(exception)`, then
`finished()`. `track_with_progress_dialog()` shows a cancellable QProgressDialog for a task.

Used by "Load demo data…"; later sync and batch letters run the same way.

`TaskQueue` runs short, frequent work (queue counts, the clock watch every minute, case actions) one job after
another on ONE long-lived worker thread; each `Job` calls back on the GUI thread: `succeeded(result)` or
`failed(exception)`, then `finished()`. Jobs of one queue never overlap, so its writes to the store happen in order.
(The local store's engine pools connections for any thread: app.store.engine explains why not one per thread.)
"""
from __future__ import annotations

import itertools
import logging
import threading
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

log = logging.getLogger(__name__)

Work = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]


def _expected_refusals() -> tuple[type[BaseException], ...]:
    """What the services say to the user (a rule, authority, bad input, a wrong password, a download the user
    cancelled): not bugs."""
    from app.services.auth import AuthRefused, BadPassword, SignInRefused
    from app.services.cases import ActionRefused, InvalidInput, NotFound
    from app.services.criteria import InvalidInput as CriteriaInvalidInput
    from app.services.documents import Cancelled, Unavailable

    return (ActionRefused, InvalidInput, NotFound, CriteriaInvalidInput, SignInRefused, AuthRefused, BadPassword,
            Unavailable, Cancelled)


def _log_failure(kind: str, name: str, error: BaseException) -> None:
    """A refusal the user is shown is one line in the log (its kind only: no member data); anything else is a bug
    and goes to the log with its traceback."""
    if isinstance(error, _expected_refusals()):
        log.info("%s %s refused: %s", kind, name, type(error).__name__)
    else:
        log.error("%s %s failed", kind, name, exc_info=error)


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
            _log_failure("task", self.name, error)
            self.error = error
            self.failed.emit(error)
        else:
            self.succeeded.emit(self.result)

    def _forget(self) -> None:
        Task._running.discard(self)


class Hook:
    """A signal-like list of callbacks (`connect`, `emit`) for a `Job`, called on the GUI thread."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def clear(self) -> None:
        self._callbacks.clear()


class Job:
    """One piece of work submitted to a `TaskQueue`. After the work has run on the queue's thread, on the GUI
    thread: `succeeded(result)` or `failed(exception)`, then `finished()` (plain callbacks, `Hook`).

    Not a QObject: a QObject made per job with Python callables connected to its signals crashed PySide 6.12 at
    interpreter exit. Only a job's number crosses threads, and its callbacks are dropped once called."""

    def __init__(self, work: Work, name: str):
        self.work = work
        self.name = name
        self.cancelled = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.succeeded, self.failed, self.finished = Hook(), Hook(), Hook()

    def cancel(self) -> None:
        self.cancelled.set()

    def is_cancelled(self) -> bool:
        return self.cancelled.is_set()


class _Runner(QObject):
    """Lives on the queue's thread: runs each job, then tells the GUI thread (by number) which one ran; the jobs
    stay in the queue's table until the GUI thread hands them back."""

    ran = Signal(int)

    def __init__(self, jobs: dict[int, Job]):
        super().__init__()
        self._jobs = jobs

    @Slot(int)
    def run(self, number: int) -> None:
        job = self._jobs.get(number)
        if job is not None:
            try:
                if not job.cancelled.is_set():
                    job.result = job.work(lambda done, total: None, job.cancelled.is_set)
            except BaseException as error:  # noqa: BLE001 - reported to the GUI thread, never lost
                _log_failure("job", job.name, error)
                job.error = error
            job = None  # the GUI thread alone lets go of it
        self.ran.emit(number)


class TaskQueue(QObject):
    """Jobs run one after another, in order, on one worker thread that lives as long as the queue (or until
    `stop()`; a later `submit()` starts it again). A job is held here until its callbacks have run.

    A queue whose thread runs is held in `TaskQueue._live` until it is stopped: a running QThread collected as
    garbage aborts the process (Qt 6: "QThread: Destroyed while thread is still running" is fatal), which a window
    dropped without being closed would otherwise do. `stop_all()` stops what is left (at quit, after each test)."""

    _submitted = Signal(int)
    _live: set["TaskQueue"] = set()

    def __init__(self, name: str = "worker", parent=None):
        super().__init__(parent)
        self._jobs: dict[int, Job] = {}
        self._numbers = itertools.count(1)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._runner = _Runner(self._jobs)
        self._runner.moveToThread(self._thread)
        self._submitted.connect(self._runner.run)  # queued: runs on the worker thread
        self._runner.ran.connect(self._ran)  # queued: back on the GUI thread
        self._start()

    def _start(self) -> None:
        TaskQueue._live.add(self)
        self._thread.start()

    def submit(self, work: Work, name: str = "job") -> Job:
        if not self._thread.isRunning():  # stopped (a closed window shown again): start it again
            self._start()
        job = Job(work, name)
        number = next(self._numbers)
        self._jobs[number] = job
        self._submitted.emit(number)
        return job

    @Slot(int)
    def _ran(self, number: int) -> None:
        job = self._jobs.pop(number, None)
        if job is None:
            return
        job.done = True
        try:
            if job.error is not None:
                job.failed.emit(job.error)
            elif not job.cancelled.is_set():
                job.succeeded.emit(job.result)
            job.finished.emit()
        finally:
            for hook in (job.succeeded, job.failed, job.finished):
                hook.clear()

    def pending(self) -> int:
        return len(self._jobs)

    def stop(self) -> None:
        """Cancel the jobs not started, let the running one end, and stop the thread."""
        for job in list(self._jobs.values()):
            job.cancel()
        self._thread.quit()
        self._thread.wait()
        TaskQueue._live.discard(self)


def stop_all(timeout_ms: int = 30_000) -> None:
    """Stop every queue still running and wait for every task still running (at quit; after each GUI test)."""
    for queue in list(TaskQueue._live):
        queue.stop()
    for task in list(Task._running):
        if not shiboken6.isValid(task):  # deleted with its parent after it ran: its `finished` never came back
            Task._running.discard(task)
            continue
        task.cancel()
        if task.wait(timeout_ms):
            Task._running.discard(task)


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
