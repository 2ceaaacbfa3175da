"""Cold-start timing for bench/bench_startup.py: with $UMWS_STARTUP_PROBE=FILE, the GUI writes the wall-clock time
at which the worklist first painted with cases in it, then quits. Unset (always, for users), nothing happens.
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


def arm(window) -> None:
    """Watch the worklist's first paint when the probe is asked for."""
    target = os.environ.get(PROBE_ENV)
    if target:
        probe = _FirstPaint(window, Path(target))
        window.table.viewport().installEventFilter(probe)
