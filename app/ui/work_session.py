"""Who is working at the workstation now (issue 6, scope 1): sign-in, the idle screen lock, unlock, sign-out.

`WorkSession.start()` asks for a username and password (`app.ui.sign_in`); a success opens the main window for that
user. After the store's idle minutes (`auth.idle_lock_minutes`, default 15, in `SignedIn.idle_lock_minutes`) with no
keyboard, mouse or touch input, the screen locks: every window of the workstation is hidden (the main window, open
cases, dialogs — no member data stays on screen) and a lock dialog asks for the password again. The same user's
password shows the windows again as they were; another user signing in signs the first out (their windows close,
unsaved dialog input is dropped) and gets their own window. File > Lock screen (Ctrl+Shift+L) locks at once;
File > Sign out (Ctrl+Shift+Q) signs out and asks who signs in next; closing the main window signs out and quits.
Each lock, unlock, sign-in and sign-out is an audit record (`app.services.auth`).

The copies of member documents handed to the system's viewer (the case's Documents tab,
`app.services.documents.remove_opened_copies`): those not opened for 12 hours are removed when the workstation
starts and when it quits, and all of them when a user signs out (File > Sign out, another user signing in at the
lock, or the lock dialog closed), so the next person to sign in finds none. A copy a viewer still holds (Windows)
stays until the next time, without a message.

The application does not quit when its last window is hidden or closed: the session quits it when the user quits.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer, Signal
import shiboken6
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from app.services import auth
from app.services.documents import remove_opened_copies
from app.store.engine import Store
from app.store.worklist import viewer_for
from app.ui.sign_in import LAST_USER_KEY, SignInDialog
from app.ui.tasks import TaskQueue

log = logging.getLogger(__name__)

ACTIVITY_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TabletPress,
    QEvent.Type.Shortcut,
})
CHECK_MS = 15_000  # how often the idle time is looked at


class IdleWatch(QObject):
    """Emits `idle` once when no user input reached the application for `limit_seconds`."""

    idle = Signal()

    def __init__(self, clock: Callable[[], float] = time.monotonic, parent: QObject | None = None):
        super().__init__(parent)
        self.clock = clock
        self.limit_seconds: float | None = None
        self.last_input = clock()
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_MS)
        self.timer.timeout.connect(self.check)

    def start(self, minutes: int) -> None:
        self.limit_seconds = minutes * 60
        self.last_input = self.clock()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.limit_seconds = None
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in ACTIVITY_EVENTS:
            self.last_input = self.clock()
        return False

    def idle_seconds(self) -> float:
        return self.clock() - self.last_input

    def check(self) -> bool:
        """Lock when idle long enough (True when it emitted `idle`)."""
        if self.limit_seconds is not None and self.idle_seconds() >= self.limit_seconds:
            self.stop()
            self.idle.emit()
            return True
        return False


class WorkSession(QObject):
    """Sign-in → main window → (idle) lock → unlock or another user → sign-out → sign-in …"""

    asking = Signal(object)  # the sign-in dialog, as it shows
    window_opened = Signal(object)  # the main window of the user who signed in

    def __init__(self, store: Store, settings: QSettings, *, username: str | None = None, hint: str = "",
                 clock: Callable[[], float] = time.monotonic, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store
        self.settings = settings
        self.hint = hint
        self.first_username = username
        self.queue = TaskQueue("sign-in", self)
        self.idle = IdleWatch(clock, self)
        self.idle.idle.connect(self.lock)
        self.user: auth.SignedIn | None = None
        self.window = None
        self.dialog: SignInDialog | None = None
        self.locked = False
        self.hidden: list[QWidget] = []
        self._leaving = False  # the window closes because of a sign-out / switch, not because the user quits
        app = QApplication.instance()
        if app is not None:
            app.setQuitOnLastWindowClosed(False)

    # --- signing in ----------------------------------------------------------------------------------------

    def start(self) -> SignInDialog:
        remove_opened_copies()
        return self._ask(self.first_username or self.settings.value(LAST_USER_KEY, "", str))

    def _ask(self, username: str = "") -> SignInDialog:
        dialog = SignInDialog(self.store, self.queue, username=username, hint=self.hint)
        dialog.accepted.connect(lambda: self._signed_in(dialog.signed))
        dialog.rejected.connect(self.quit)
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        self.asking.emit(dialog)
        return dialog

    def _signed_in(self, signed: auth.SignedIn) -> None:
        from app.ui.main_window import MainWindow

        self.dialog = None
        self.user = signed
        self.settings.setValue(LAST_USER_KEY, signed.username)
        self.settings.sync()
        with self.store.session() as session:
            viewer = viewer_for(session, signed.username)
        window = MainWindow(self.store, viewer, self.settings)
        window.sign_out_requested.connect(self.sign_out)
        window.lock_requested.connect(self.lock)
        window.closed.connect(self._window_closed)
        self.window = window
        window.show()
        self.window_opened.emit(window)
        self.idle.start(signed.idle_lock_minutes)
        log.info("signed in: %s", signed.username)

    # --- the lock ------------------------------------------------------------------------------------------

    def lock(self) -> SignInDialog | None:
        """Hide every window of the workstation and ask for the password again."""
        if self.locked or self.window is None or self.user is None:
            return None
        self.locked = True
        self.idle.stop()
        self.window.screen_locked = True
        self.hidden = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        for widget in self.hidden:
            widget.hide()
        QApplication.instance().installEventFilter(self)  # anything shown while locked is hidden too
        username = self.user.username
        self.queue.submit(lambda progress, cancelled: auth.record_screen_lock(self.store, username), "screen lock")
        dialog = SignInDialog(self.store, self.queue, locked=self.user, hint=self.hint)
        dialog.accepted.connect(lambda: self._unlocked(dialog))
        dialog.rejected.connect(self._quit_while_locked)
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        log.info("screen locked: %s", username)
        return dialog

    def _unlocked(self, dialog: SignInDialog) -> None:
        self.dialog = None
        if dialog.switched_user:  # someone else signed in: the first user is signed out
            self._end_window(record=True)
            self._signed_in(dialog.signed)
            return
        self._unlock_windows()
        self.window.screen_locked = False
        for widget in self.hidden:
            if shiboken6.isValid(widget):
                widget.show()
        self.hidden = []
        self.idle.start(self.user.idle_lock_minutes)
        log.info("screen unlocked: %s", self.user.username)

    def _unlock_windows(self) -> None:
        if self.locked:
            QApplication.instance().removeEventFilter(self)
        self.locked = False

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        """While locked, a window that shows itself (a message at the end of an action, a warning) is hidden."""
        if (self.locked and event.type() == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow()
                and watched is not self.dialog and not _inside(watched, self.dialog)):
            if watched not in self.hidden:
                self.hidden.append(watched)
            QTimer.singleShot(0, lambda: watched.hide() if self.locked and shiboken6.isValid(watched) else None)
        return False

    def _quit_while_locked(self) -> None:
        self.dialog = None
        self._end_window(record=True)
        self.quit()

    # --- signing out ---------------------------------------------------------------------------------------

    def sign_out(self) -> SignInDialog | None:
        """Sign out (an audit record), close the user's windows, and ask who signs in next."""
        if self.window is None:
            return None
        username = self.user.username if self.user else ""
        dialog = self._ask(username)  # shown before the window closes: the application keeps a window
        self._end_window(record=True)
        return dialog

    def _end_window(self, *, record: bool) -> None:
        """Close the signed-in user's windows (hidden or not) and record the sign-out."""
        self.idle.stop()
        window, user = self.window, self.user
        self.window = None
        self.user = None
        self._unlock_windows()
        for widget in self.hidden:
            if shiboken6.isValid(widget) and widget is not window and widget is not self.dialog:
                if isinstance(widget, QDialog):  # a hidden dialog's close() does not end it: `finished` never
                    widget.reject()  # came, and a case window's tabs went on working (a download, a save)
                widget.close()
        self.hidden = []
        if window is not None:
            self._leaving = True
            try:
                window.screen_locked = False
                window.close()
                window.deleteLater()
            finally:
                self._leaving = False
        if record and user is not None:
            self._record_sign_out(user.username)
            remove_opened_copies(older_than=None)  # the case windows are closed: their downloads are over

    def _record_sign_out(self, username: str) -> None:
        try:  # a single audit record: milliseconds, and it must be written before the application quits
            auth.sign_out(self.store, username)
        except Exception:  # noqa: BLE001 - a sign-out is never refused; a store failure is logged
            log.exception("sign-out of %s not recorded", username)
        log.info("signed out: %s", username)

    def _window_closed(self) -> None:
        if self._leaving:
            return
        # The user closed the main window (or File > Quit): sign out and quit.
        user = self.user
        self.window = None
        self.user = None
        self.idle.stop()
        if user is not None:
            self._record_sign_out(user.username)
        self.quit()

    def quit(self) -> None:
        self.idle.stop()
        self.queue.stop()
        remove_opened_copies()  # never raises: what cannot be removed now stays for the next time
        app = QApplication.instance()
        if app is not None:
            app.quit()


def _inside(widget: QWidget, dialog: QWidget | None) -> bool:
    """Whether `widget` belongs to the lock dialog (its own popups and messages)."""
    parent = widget.parentWidget()
    while parent is not None:
        if parent is dialog:
            return True
        parent = parent.parentWidget()
    return False
