"""Sign-in, lock-out, the idle screen lock and sign-out, driven through the real dialogs (issue 6, scope 1)."""
from __future__ import annotations

import os
import time

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import select

from app.services import auth, demo, documents
from app.store.models import AuditRecord, User
from app.ui.main_window import MainWindow
from app.ui.sign_in import LAST_USER_KEY, SignInDialog
from app.ui.work_session import WorkSession
from tests.workflow.conftest import CaseMaker


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(local_store):
    demo.generate(local_store, 0, seed=11)
    return local_store


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def session(qtbot, store, settings, clock, monkeypatch):
    monkeypatch.setattr(QApplication, "quit", lambda *a: None)  # the test's application keeps running
    work = WorkSession(store, settings, clock=clock)
    yield work
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, (MainWindow, SignInDialog)):
            widget.close()
    work.idle.stop()
    work.queue.stop()
    QApplication.instance().setQuitOnLastWindowClosed(True)


def sign_in(qtbot, dialog: SignInDialog, username: str, password: str) -> None:
    """Type into the dialog and press Enter, as a user would; wait for the check to finish."""
    attempts = dialog.attempts
    dialog.username.clear()
    qtbot.keyClicks(dialog.username, username)
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.attempts > attempts, timeout=10_000)


def access_records(store, username: str) -> list[str]:
    with store.session() as db:
        return list(db.scalars(select(AuditRecord.what).where(AuditRecord.action == "access",
                                                              AuditRecord.actor == username)
                               .order_by(AuditRecord.seq)))


def visible_windows() -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]


def test_sign_in_opens_the_users_window_and_is_audited(qtbot, session, store, settings):
    dialog = session.start()
    assert dialog.isVisible() and dialog.password.echoMode() == dialog.password.EchoMode.Password
    sign_in(qtbot, dialog, "nurse.garcia", "demo-um-nurse")
    qtbot.waitUntil(lambda: session.window is not None)
    assert not dialog.isVisible()
    assert "Maria Garcia, RN" in session.window.windowTitle()
    assert session.window.viewer.role == "um-nurse"
    assert access_records(store, "nurse.garcia") == ["sign-in"]
    assert settings.value(LAST_USER_KEY) == "nurse.garcia"
    assert session.idle.limit_seconds == 15 * 60  # the store's default idle lock
    again = WorkSession(store, settings)  # next time the username is filled in, never the password
    try:
        assert again.start().username.text() == "nurse.garcia"
        assert again.dialog.password.text() == ""
    finally:
        again.dialog.close()
        again.queue.stop()


def test_a_wrong_password_is_said_in_words_and_counted(qtbot, session, store):
    dialog = session.start()
    sign_in(qtbot, dialog, "dr.shah", "not-my-password")
    assert session.window is None and dialog.isVisible()
    assert dialog.message.text() == "The username or password is not right."
    assert dialog.password.text() == ""  # typed again, never kept
    sign_in(qtbot, dialog, "nobody.here", "whatever-it-is")
    assert dialog.message.text() == "The username or password is not right."  # unknown users get the same
    with store.session() as db:
        assert db.scalar(select(User.failed_sign_ins).where(User.username == "dr.shah")) == 1
    assert access_records(store, "dr.shah") == ["sign-in-failed"]
    dialog.username.clear()
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.message.text() == "Enter your username."


def test_repeated_failures_lock_the_account_and_say_until_when(qtbot, session, store):
    dialog = session.start()
    for _ in range(4):
        sign_in(qtbot, dialog, "nurse.chen", "guess-again")
        assert dialog.message.text() == "The username or password is not right."
    sign_in(qtbot, dialog, "nurse.chen", "guess-again")
    text = dialog.message.text()
    assert text.startswith("Too many failed sign-ins: the account is locked until ")
    assert "PT" in text and "ask an administrator to unlock it" in text
    sign_in(qtbot, dialog, "nurse.chen", "demo-um-nurse")  # the right password, but locked
    assert dialog.message.text().startswith("The account is locked until ")
    assert session.window is None
    assert access_records(store, "nurse.chen")[-2:] == ["account-locked", "sign-in-refused"]
    with store.session() as db, db.begin():
        auth.unlock_account(db, "nurse.chen", by="admin")
    sign_in(qtbot, dialog, "nurse.chen", "demo-um-nurse")
    qtbot.waitUntil(lambda: session.window is not None)


def test_the_idle_lock_hides_member_data_until_the_same_user_signs_in_again(qtbot, session, store, clock):
    tar = CaseMaker(store)(category="outpatient")
    sign_in(qtbot, session.start(), "nurse.nguyen", "demo-um-nurse")
    qtbot.waitUntil(lambda: session.window is not None)
    window = session.window
    qtbot.waitUntil(lambda: bool(window.queue_counts))
    view = window.open_case(tar)
    qtbot.waitUntil(lambda: view.actions.ready)
    member = view.details.member_name
    assert view.isVisible() and window.isVisible()

    clock.now += 14 * 60
    assert not session.idle.check()  # not yet
    qtbot.keyClick(window.table, Qt.Key.Key_Down)  # input starts the idle time again
    clock.now += 14 * 60
    assert not session.idle.check()
    clock.now += 61
    assert session.idle.check()
    lock = session.dialog
    assert session.locked and lock is not None and lock.isVisible()
    assert visible_windows() == [lock]  # the main window and the case are hidden
    assert member not in lock.intro.text() and tar not in lock.intro.text()
    assert "Linh Nguyen" in lock.intro.text()
    window.show_queue("mine")  # e.g. a click on a clock warning: stays hidden while locked
    assert not window.isVisible()
    qtbot.waitUntil(lambda: "screen-locked" in access_records(store, "nurse.nguyen"))

    qtbot.keyClick(lock, Qt.Key.Key_Escape)  # no way out of the lock but the password (or the quit button)
    assert lock.isVisible() and session.locked
    sign_in(qtbot, lock, "nurse.nguyen", "wrong-password")
    assert session.locked and lock.message.text() == "The username or password is not right."
    sign_in(qtbot, lock, "nurse.nguyen", "demo-um-nurse")
    qtbot.waitUntil(lambda: not session.locked)
    assert window.isVisible() and view.isVisible() and session.window is window
    assert access_records(store, "nurse.nguyen")[-3:] == ["screen-locked", "screen-unlock-failed", "screen-unlock"]
    assert session.idle.limit_seconds == 15 * 60


def test_another_user_at_the_lock_signs_the_first_out(qtbot, session, store):
    sign_in(qtbot, session.start(), "nurse.nguyen", "demo-um-nurse")
    qtbot.waitUntil(lambda: session.window is not None)
    first = session.window
    lock = session.lock()
    assert lock.sign_in_button.text().replace("&", "") == "Unlock"
    sign_in(qtbot, lock, "dr.shah", "demo-medical-director")
    qtbot.waitUntil(lambda: session.window is not None and session.window is not first)
    assert session.window.viewer.username == "dr.shah" and session.window.isVisible()
    assert not shiboken6.isValid(first) or not first.isVisible()  # closed (and deleted)
    assert access_records(store, "nurse.nguyen")[-2:] == ["screen-locked", "sign-out"]
    assert access_records(store, "dr.shah") == ["sign-in"]


def test_sign_out_from_the_menu_asks_who_signs_in_next(qtbot, session, store):
    sign_in(qtbot, session.start(), "lead.patel", "demo-nurse-supervisor")
    qtbot.waitUntil(lambda: session.window is not None)
    window = session.window
    assert window.action_sign_out.shortcut().toString() == "Ctrl+Shift+Q"
    assert window.action_lock.shortcut().toString() == "Ctrl+Shift+L"
    file_menu = window.menuBar().actions()[0].menu()
    assert window.action_sign_out in file_menu.actions() and window.action_lock in file_menu.actions()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: session.window is None and session.dialog is not None)
    assert not window.isVisible() and session.dialog.isVisible()
    assert session.dialog.username.text() == "lead.patel"
    assert access_records(store, "lead.patel") == ["sign-in", "sign-out"]


def test_the_idle_minutes_come_from_the_store_setting(qtbot, session, store, clock):
    with store.session() as db, db.begin():
        auth.set_auth_setting(db, "admin", "idle_lock_minutes", 2)
    sign_in(qtbot, session.start(), "tech.rivera", "demo-pharmacy-technician")
    qtbot.waitUntil(lambda: session.window is not None)
    assert session.idle.limit_seconds == 120
    clock.now += 121
    assert session.idle.check() and session.locked


def test_signing_out_at_the_lock_ends_the_hidden_case_windows_and_their_work(qtbot, session, store):
    """A case window hidden by the lock gets no close event of its own when the next user signs the first out:
    it is ended as a dialog (`finished`), which stops its tabs' work (a document download, the checklist's
    saves) before the viewer's copies are removed."""
    tar = CaseMaker(store)(category="outpatient")
    sign_in(qtbot, session.start(), "nurse.nguyen", "demo-um-nurse")
    qtbot.waitUntil(lambda: session.window is not None)
    window = session.window
    view = window.open_case(tar)
    qtbot.waitUntil(lambda: view.actions.ready)
    ended = []
    view.finished.connect(ended.append)
    documents_queue = view.documents_tab._queue
    lock = session.lock()
    assert not view.isVisible()
    sign_in(qtbot, lock, "dr.shah", "demo-medical-director")
    qtbot.waitUntil(lambda: session.window is not None and session.window is not window)
    assert ended, "the hidden case window was never ended"
    assert documents_queue not in type(documents_queue)._live  # its Documents tab's worker stopped


def copies(**ages_in_hours: float) -> dict:
    """Viewer's copies of a member's document in the user's data directory, each made `hours` ago."""
    folder = documents.opened_folder()
    made = {}
    for name, hours in ages_in_hours.items():
        path = folder / f"20100000042_0123456789ab_{name}.pdf"
        path.write_bytes(b"%PDF-1.4 a member's document")
        stamp = time.time() - hours * 3600
        os.utime(path, (stamp, stamp))
        made[name] = path
    return made


def copies_left() -> list[str]:
    return sorted(p.name.split("_", 2)[2] for p in documents.opened_folder().iterdir())


def test_start_and_quit_remove_old_copies_and_sign_out_removes_them_all(qtbot, session):
    """The viewer's copies of member documents: those not opened for 12 hours go when the workstation starts and
    when it quits, all of them when the user signs out (File > Sign out). Real files, their ages set with os.utime."""
    copies(yesterday=20, this_morning=3)
    dialog = session.start()  # the workstation starts
    assert copies_left() == ["this_morning.pdf"]

    sign_in(qtbot, dialog, "nurse.nguyen", "demo-um-nurse")
    qtbot.waitUntil(lambda: session.window is not None)
    copies(just_now=0)
    window = session.window
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: session.window is None and session.dialog is not None)
    assert copies_left() == []  # File > Sign out: the next person at this computer finds none

    sign_in(qtbot, session.dialog, "nurse.nguyen", "demo-um-nurse")
    qtbot.waitUntil(lambda: session.window is not None)
    copies(last_night=13, an_hour_ago=1)
    session.window.close()  # closing the main window quits the workstation
    assert copies_left() == ["an_hour_ago.pdf"]
