"""One workstation window per store: a second start brings the first to the front, or says it is running.

Issue 10, "Bad input and faults": a second instance started while one runs must never open the store a second
time for writing. The first start takes a lock file beside the store (QLockFile: atomic, and a lock left by a
process that died is recognised as stale and taken over) and listens on a local socket (QLocalServer, for this
OS user only). A later start that cannot take the lock asks the first, over that socket, to come to the front,
then ends without opening the store. If the first does not answer (it is still starting, or hung), the second
says so and ends all the same.
"""
from __future__ import annotations

import getpass
import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QWidget

ACTIVATE = b"activate\n"
ANSWER = b"ok\n"
ANSWER_TIMEOUT_MS = 3000


def store_identity(database_url: str | None) -> str:
    """What makes two starts 'the same store': the database URL, or the local store file's full path."""
    from app.store.engine import default_store_path

    url = database_url or os.environ.get("UMWS_DATABASE_URL")
    return url if url else str(default_store_path().resolve())


def _digest(identity: str) -> str:
    return hashlib.sha256(f"{getpass.getuser()}\0{identity}".encode()).hexdigest()[:20]


class SingleInstance(QObject):
    """The claim of this process on a store; `activation_requested` fires when a later start asks for the window."""

    activation_requested = Signal()

    def __init__(self, identity: str, lock_dir: Path, parent: QObject | None = None):
        super().__init__(parent)
        digest = _digest(identity)
        lock_dir.mkdir(parents=True, exist_ok=True)
        self.lock_path = lock_dir / f"workstation-{digest[:12]}.lock"
        self.server_name = f"umws-{digest}"
        self._lock = QLockFile(str(self.lock_path))
        self._lock.setStaleLockTime(0)  # never stale by age: only when its process is gone
        self._server: QLocalServer | None = None

    @classmethod
    def for_store(cls, database_url: str | None, parent: QObject | None = None) -> SingleInstance:
        from app.store.engine import data_dir

        return cls(store_identity(database_url), data_dir(), parent)

    def acquire(self) -> bool:
        """True when this is the first start for the store: the lock is ours and the socket listens."""
        if not self._lock.tryLock(0):
            return False
        QLocalServer.removeServer(self.server_name)  # a socket left by a process that died (we hold the lock)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._answer)
        self._server.listen(self.server_name)
        return True

    def holder(self) -> str:
        """Who holds the lock, in words ("process 1234 on host")."""
        info = self._lock.getLockInfo()  # PySide6: (pid, hostname, appname); no lock file: not a 3-tuple
        if isinstance(info, tuple) and len(info) >= 3 and info[0]:
            return f"process {info[0]} on {info[1]}"
        return "another start"

    def ask_running_to_activate(self, timeout_ms: int = ANSWER_TIMEOUT_MS) -> bool:
        """Ask the running workstation to bring its window to the front; True when it answered."""
        socket = QLocalSocket()
        socket.connectToServer(self.server_name)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(ACTIVATE)
        socket.flush()
        answered = socket.waitForReadyRead(timeout_ms) and bytes(socket.readAll().data()).startswith(ANSWER)
        socket.disconnectFromServer()
        return answered

    def _answer(self) -> None:
        while self._server is not None and self._server.hasPendingConnections():
            connection = self._server.nextPendingConnection()
            connection.readyRead.connect(lambda c=connection: self._read(c))
            connection.disconnected.connect(connection.deleteLater)
            if connection.bytesAvailable():
                self._read(connection)

    def _read(self, connection: QLocalSocket) -> None:
        if connection.canReadLine() and bytes(connection.readLine().data()) == ACTIVATE:
            self.activation_requested.emit()
            connection.write(ANSWER)
            connection.flush()

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()


def bring_to_front() -> QWidget | None:
    """Show the window the user is working in: an open dialog (sign-in, a confirmation) first, else the main window."""
    from app.ui.main_window import MainWindow

    target = QApplication.activeModalWidget()
    if target is None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        target = windows[0] if windows else None
    if target is None:
        visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        target = visible[0] if visible else None
    if target is not None:
        if target.isMinimized():
            target.showNormal()
        target.raise_()
        target.activateWindow()
        QApplication.alert(target)
    return target
