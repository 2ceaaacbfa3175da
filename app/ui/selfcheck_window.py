"""The self-check's window step: the main window on the throwaway store, offscreen, with its worklist showing.

The one place outside app/ui that reaches into the GUI is the self-check (app/selfcheck), whose job is to prove
the window opens in this installation. Its settings go to an INI file in the self-check's temporary folder, so the
user's window layout is not touched.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QSettings, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.selfcheck import Context, StepFailed


def application() -> QApplication:
    """The running QApplication, or a new offscreen one (the self-check never needs a display)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "umws", "-platform", "offscreen"])
    return app


def open_main_window_offscreen(context: Context) -> str:
    app = application()
    previous = qInstallMessageHandler(_quiet_offscreen)
    try:
        return _open(app, context)
    finally:
        qInstallMessageHandler(previous)


def _quiet_offscreen(kind, where, message: str) -> None:
    """The offscreen platform says it cannot raise windows or propagate size hints; nothing else is hidden."""
    if not message.startswith("This plugin does not support"):
        print(message, file=sys.stderr)


def _open(app: QApplication, context: Context) -> str:
    from app.store.worklist import viewer_for
    from app.ui.main_window import MainWindow

    with context.store.session() as session:
        viewer = viewer_for(session, context.username)
    if viewer is None:
        raise StepFailed(f"the demo user {context.username} was not found in the throwaway store")
    settings = QSettings(str(context.folder / "selfcheck-window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(context.store, viewer, settings, watch_ms=0)
    try:
        window.resize(1280, 800)
        window.show()
        for _ in range(5):
            app.processEvents()
        if not window.isVisible():
            raise StepFailed("the main window did not become visible")
        rows = window.model.rowCount()
        for queue in window.queues:  # the first queue may be empty ("My cases"); show one with cases
            if rows:
                break
            window.show_queue(queue.id)
            app.processEvents()
            rows = window.model.rowCount()
        if rows == 0:
            raise StepFailed(f"every worklist of {context.username} is empty on a store with demo data")
        picture = window.grab()
        if picture.isNull():
            raise StepFailed("the main window could not be drawn")
        shot = context.output("selfcheck-window.png")
        picture.save(str(shot))
        return (f"main window for {context.username} with {rows} case{'s' if rows != 1 else ''} in "
                f"'{window.model.queue_id}' ({QGuiApplication.platformName()} platform, Qt {_qt_version()})")
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()


def _qt_version() -> str:
    from PySide6.QtCore import qVersion

    return qVersion()
