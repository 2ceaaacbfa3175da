"""The PySide6 guard (app/ui/qt_compat.py): Qt calls never use up None, True or False, so a long session never aborts."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from app.ui import qt_compat


class Sender(QObject):
    changed = Signal(int)


def test_a_long_session_of_qt_calls_keeps_none_true_and_false_alive(qtbot):
    label = QLabel()
    sender = Sender()
    got = []
    sender.changed.connect(got.append)
    for number in range(200_000):  # more than None's whole count in a fresh interpreter
        label.setText("x")  # returns None
        sender.changed.emit(number)  # returns True
    assert len(got) == 200_000
    if qt_compat.calls_drop_references():
        assert qt_compat.GUARDED
        for singleton in (None, True, False):
            assert sys.getrefcount(singleton) > qt_compat.IMMORTAL_MARGIN // 2
    else:
        assert not qt_compat.GUARDED or sys.version_info < (3, 12)
