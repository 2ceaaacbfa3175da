"""Sign-in and screen unlock (issue 6, scope 1): a username and a password, checked by `app.services.auth`.

`SignInDialog` asks for both; the check (argon2id, tens of milliseconds on purpose) runs off the GUI thread on the
work session's `TaskQueue`. A wrong password, an unknown user and an inactive account get the same answer; a
locked account says until when, in plan time, and who can unlock it (auth: 5 failures in a row lock it for 15
minutes). The last username is remembered in QSettings (never the password).

In unlock mode (the idle screen lock, `app.ui.work_session`) the dialog names the user whose screen is locked;
their password unlocks it (`auth.unlock_screen`, counted like a sign-in). Another username signs that user out and
the new one in (`auth.sign_in`); the dialog only says which happened (`switched_user`).
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QStyle, QVBoxLayout, QWidget,
)
from sqlalchemy.exc import SQLAlchemyError

from app.services import auth
from app.store.engine import Store
from app.store.errors import StoreError
from app.ui.tasks import TaskQueue

log = logging.getLogger(__name__)

LAST_USER_KEY = "sign_in/last_user"
DEMO_HINT = ("Demo store: every demo user's password is demo- and the role id, e.g. nurse.garcia / demo-um-nurse, "
             "dr.shah / demo-medical-director (the README lists them all).")


class SignInDialog(QDialog):
    """Username and password; `signed` holds the `auth.SignedIn` once accepted."""

    def __init__(self, store: Store, queue: TaskQueue, *, username: str = "", locked: auth.SignedIn | None = None,
                 hint: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.queue = queue
        self.locked = locked
        self.signed: auth.SignedIn | None = None
        self.switched_user = False  # unlock mode: someone else signed in
        self.checking = False
        self.attempts = 0  # checks finished (tests wait on it)
        title = "Screen locked" if locked else "Sign in"
        self.setWindowTitle(f"{title} — UM Reviewer Workstation")
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        if locked:
            text = (f"The screen is locked. {locked.full_name} is signed in: enter the password to go on. Signing "
                    "in as someone else signs them out.")
        else:
            text = "Sign in with your workstation username and password."
        self.intro = QLabel(text)
        self.intro.setWordWrap(True)
        self.intro.setAccessibleName(text)
        layout.addWidget(self.intro)
        form = QFormLayout()
        self.username = QLineEdit(locked.username if locked else username)
        self.username.setAccessibleName("Username")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        user_label = QLabel("&Username:")
        user_label.setBuddy(self.username)
        password_label = QLabel("&Password:")
        password_label.setBuddy(self.password)
        form.addRow(user_label, self.username)
        form.addRow(password_label, self.password)
        layout.addLayout(form)
        self.message_row = QWidget()
        row = QHBoxLayout(self.message_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.message_icon = QLabel()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName("Sign-in message")
        row.addWidget(self.message_icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.message, 1)
        layout.addWidget(self.message_row)
        self.message_row.hide()
        if hint:
            self.hint = QLabel(hint)
            self.hint.setWordWrap(True)
            self.hint.setAccessibleName(hint)
            layout.addWidget(self.hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.sign_in_button.setText("&Unlock" if locked else "&Sign in")
        self.quit_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.quit_button.setText("Sign out and &quit" if locked else "&Quit")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.username.textChanged.connect(self._username_changed)
        layout.addWidget(self.buttons)
        self.setTabOrder(self.username, self.password)
        self.setTabOrder(self.password, self.buttons)
        (self.password if self.username.text() else self.username).setFocus()
        self.resize(460, self.sizeHint().height())

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """On the lock screen Escape does nothing: quitting (and signing out) is the button's, never a reflex."""
        if self.locked is not None and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return
        super().keyPressEvent(event)

    def _username_changed(self, text: str) -> None:
        if self.locked:
            other = text.strip() != self.locked.username
            self.sign_in_button.setText("&Sign in" if other else "&Unlock")

    def show_message(self, text: str, *, warning: bool = True) -> None:
        """A message in words with an icon (colour never alone)."""
        icon = QStyle.StandardPixmap.SP_MessageBoxWarning if warning else QStyle.StandardPixmap.SP_MessageBoxInformation
        size = self.fontMetrics().height()
        self.message_icon.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        self.message.setText(text)
        self.message.setAccessibleName(f"Sign-in message: {text}")
        self.message_row.show()

    def submit(self) -> None:
        """Check the username and password off the GUI thread (the dialog waits, the window does not freeze)."""
        if self.checking:
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username:
            self.show_message("Enter your username.")
            self.username.setFocus()
            return
        if not password:
            self.show_message("Enter your password.")
            self.password.setFocus()
            return
        self.checking = True
        for widget in (self.username, self.password, self.sign_in_button):
            widget.setEnabled(False)
        self.show_message("Checking…", warning=False)
        store = self.store
        unlock = self.locked is not None and username == self.locked.username

        def work(progress, cancelled):
            if unlock:
                return auth.unlock_screen(store, username, password)
            return auth.sign_in(store, username, password)

        job = self.queue.submit(work, "sign-in")
        job.succeeded.connect(lambda signed: self._signed_in(signed, unlock))
        job.failed.connect(self._refused)
        job.finished.connect(self._checked)

    def _checked(self) -> None:
        self.checking = False
        self.attempts += 1
        for widget in (self.username, self.password, self.sign_in_button):
            widget.setEnabled(True)
        self.sign_in_button.setDefault(True)
        if not self.signed:
            self.password.setFocus()

    def _signed_in(self, signed: auth.SignedIn, unlocked: bool) -> None:
        self.signed = signed
        self.switched_user = self.locked is not None and not unlocked
        self.password.clear()
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self.password.clear()
        self.password.setFocus()
        if isinstance(error, auth.SignInRefused):
            self.show_message(str(error))
        elif isinstance(error, (SQLAlchemyError, StoreError)):
            log.warning("sign-in could not read the store", exc_info=error)
            self.show_message("The store could not be read, so nobody can sign in just now. Try again; if it keeps "
                              "happening, close the workstation and start it again.")
        else:
            log.error("sign-in failed unexpectedly", exc_info=error)
            self.show_message("Sign-in did not finish because of an unexpected error. Try again; details are in "
                              "the log file.")
