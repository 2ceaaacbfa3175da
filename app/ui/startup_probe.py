"""Cold-start timing for bench/bench_startup.py: with $UMWS_STARTUP_PROBE=FILE, the GUI writes the wall-clock time
at which the worklist first painted with cases in it, then quits. Unset (always, for users), nothing happens.

Everyone signs in (issue 6), so the probe also answers the sign-in dialog with the password in $UMWS_PASSWORD (the
benchmark's demo password): the password is checked as always; the probe only types it.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

PROBE_ENV = "UMWS_STARTUP_PROBE"


class _FirstPaint(QObject):
    def __init__(self, window, path: Path):
        super().__init__(window)
        self.window = window
        self.path = path
        self.done = False

    def eventFilter(self, watched, event) -> bool:
        if not self.done and event.type() == QEvent.Type.Paint and self.window.model.rowCount() > 0:
            self.done = True
            self.path.write_text(json.dumps({"visible_at": time.time(), "rows": self.window.model.rowCount(),
                                             "queue": self.window.model.queue_id}))
            QTimer.singleShot(0, QApplication.instance().quit)
        return False


def arm_session(session) -> None:
    """Sign in with $UMWS_PASSWORD as soon as the dialog shows, and watch the window that opens."""
    if not os.environ.get(PROBE_ENV):
        return

    def answer(dialog) -> None:
        dialog.password.setText(os.environ.get("UMWS_PASSWORD", ""))
        QTimer.singleShot(0, dialog.submit)

    session.asking.connect(answer)
    session.window_opened.connect(arm)


def arm(window) -> None:
    """Watch the worklist's first paint when the probe is asked for."""
    target = os.environ.get(PROBE_ENV)
    if target:
        probe = _FirstPaint(window, Path(target))
        window.table.viewport().installEventFilter(probe)
