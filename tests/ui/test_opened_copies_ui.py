"""The workstation removes the viewer's copies of member documents: those not opened for 12 hours when it starts and
when it quits, all of them when the user signs out (File > Sign out). Real files in the user's data directory, their
ages set with os.utime; the real sign-in dialog, main window and session."""
from __future__ import annotations

import os
import time

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from app.services import demo, documents
from app.ui.main_window import MainWindow
from app.ui.sign_in import SignInDialog
from app.ui.work_session import WorkSession


@pytest.fixture
def session(qtbot, local_store, tmp_path, monkeypatch):
    demo.generate(local_store, 0, seed=11)
    monkeypatch.setattr(QApplication, "quit", lambda *a: None)  # the test's application keeps running
    work = WorkSession(local_store, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    yield work
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, (MainWindow, SignInDialog)):
            widget.close()
    work.idle.stop()
    work.queue.stop()
    QApplication.instance().setQuitOnLastWindowClosed(True)


def copies(**ages_in_hours: float) -> dict:
    folder = documents.opened_folder()
    made = {}
    for name, hours in ages_in_hours.items():
        path = folder / f"20100000042_0123456789ab_{name}.pdf"
        path.write_bytes(b"%PDF-1.4 a member's document")
        stamp = time.time() - hours * 3600
        os.utime(path, (stamp, stamp))
        made[name] = path
    return made


def left() -> list[str]:
    return sorted(p.name.split("_", 2)[2] for p in documents.opened_folder().iterdir())


def sign_in(qtbot, session, dialog, username: str, password: str) -> None:
    if not dialog.username.text():
        qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: session.window is not None, timeout=10_000)


def test_start_and_quit_remove_old_copies_and_sign_out_removes_them_all(qtbot, session):
    copies(yesterday=20, this_morning=3)
    dialog = session.start()  # the workstation starts
    assert left() == ["this_morning.pdf"]

    sign_in(qtbot, session, dialog, "nurse.nguyen", "demo-um-nurse")
    copies(just_now=0)
    window = session.window
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: session.window is None and session.dialog is not None)
    assert left() == []  # File > Sign out: the next person at this computer finds none

    sign_in(qtbot, session, session.dialog, "nurse.nguyen", "demo-um-nurse")
    copies(last_night=13, an_hour_ago=1)
    session.window.close()  # closing the main window quits the workstation
    assert left() == ["an_hour_ago.pdf"]
