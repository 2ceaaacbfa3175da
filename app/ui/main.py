"""Start the workstation GUI: `python main.py [--demo [N]] [--user USERNAME] [--database-url URL]`.

Everyone signs in with a username and password (`app.ui.work_session`, issue 6). `--user USERNAME` only fills in
the username on the sign-in dialog (a demo convenience): the password is still asked, so no option starts the
workstation as someone without their password.

`--demo [N]` fills an EMPTY store with N synthetic cases (default 2000) before the window opens, with a progress
dialog that can cancel; a store that already holds cases is left as it is, so starting with `--demo` every day
does not keep adding cases (File > Load demo data… adds more at any time). A store with no users at all offers
the same demo data, since nobody could work on it otherwise.

A store that cannot be opened (no keyring, wrong key, foreign or damaged file, newer schema) is a dialog with what
to do and a non-zero exit; nothing on disk is touched. Unexpected errors go to a rotating log file and the user
sees a short message, never a traceback.

Before the store (installer issue): a broken machine-wide or user configuration file is a dialog naming the file
and line (app/config.py), and a second start for the same store brings the first window to the front instead of
opening the store again (app/ui/single_instance.py).
"""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from pathlib import Path

import platformdirs
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import func, select

from app.store.engine import Store, open_store
from app.store.errors import StoreError
from app.store.models import Case, User
from app.ui.single_instance import SingleInstance, bring_to_front
from app.ui.tasks import Task, track_with_progress_dialog

EXIT_OK = 0
EXIT_CANNOT_START = 2
DEFAULT_DEMO_CASES = 2000
log = logging.getLogger("app.ui")
ICON_FILE = Path(__file__).resolve().parents[2] / "resources" / "icons" / "umws.svg"


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="umws-gui", description="UM reviewer workstation")
    parser.add_argument("--demo", nargs="?", type=int, const=DEFAULT_DEMO_CASES, default=None, metavar="N",
                        help=f"if the store holds no cases yet, add N synthetic demo cases first "
                             f"(default {DEFAULT_DEMO_CASES}); a store with cases is left as it is")
    parser.add_argument("--user", default=None, metavar="USERNAME",
                        help="fill in this username on the sign-in dialog (the password is still asked)")
    parser.add_argument("--database-url", default=None, metavar="URL",
                        help="work on this store instead of the local encrypted one; also $UMWS_DATABASE_URL")
    return parser.parse_known_args(argv)  # the rest is for Qt (-style, -platform, …)


def log_file() -> Path:
    home = os.environ.get("UMWS_HOME")
    folder = Path(home) / "logs" if home else Path(platformdirs.user_log_dir("umws", appauthor=False))
    return folder / "workstation.log"


def setup_logging() -> Path:
    """A rotating log in the platform log directory. Messages carry ids (TAR numbers, usernames), no member data."""
    path = log_file()
    root = logging.getLogger()
    if not any(getattr(h, "umws", False) for h in root.handlers):
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        handler.umws = True
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path


def _report_unexpected(path: Path):
    def hook(kind, error, trace):
        log.error("unexpected error", exc_info=(kind, error, trace))
        if QApplication.instance() is not None:
            QMessageBox.critical(None, "Something went wrong",
                                 f"The last action did not finish because of an unexpected error. Your saved work "
                                 f"is safe. Details are in the log file:\n{path}")
    return hook


def _store_counts(store: Store) -> tuple[int, int]:
    with store.session() as session:
        users = session.scalar(select(func.count()).select_from(User))
        cases = session.scalar(select(func.count()).select_from(Case))
    return users, cases


def add_demo_data(store: Store, cases: int) -> bool:
    """Add demo cases with a progress dialog, waiting for them before the window opens. False if it failed."""
    from app.services import demo

    def work(progress, cancelled):
        return demo.generate(store, cases, progress=progress, cancelled=cancelled)

    task = Task(work, "demo data")
    loop = QEventLoop()
    task.finished.connect(loop.quit)
    track_with_progress_dialog(task, None, "Preparing demo data", f"Adding {cases:,} synthetic cases…", modal=True)
    task.start()
    loop.exec()
    if task.error is not None:
        QMessageBox.critical(None, "Demo data stopped",
                             "Adding demo data stopped with an error; the whole batches made before it are kept. "
                             f"Details are in the log file:\n{log_file()}")
        return False
    return True


def run(argv: list[str] | None = None) -> int:
    args, qt_args = parse_args(list(sys.argv[1:] if argv is None else argv))
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "umws", *qt_args])
    app.setOrganizationName("umws")
    app.setApplicationName("workstation")
    app.setApplicationDisplayName("UM Reviewer Workstation")
    app.setDesktopFileName("umws")  # the installed desktop entry (installer/linux/umws.desktop)
    if ICON_FILE.is_file():
        app.setWindowIcon(QIcon(str(ICON_FILE)))
    path = setup_logging()
    sys.excepthook = _report_unexpected(path)

    if not _configuration_readable():
        return EXIT_CANNOT_START
    instance = SingleInstance.for_store(args.database_url)
    if not instance.acquire():
        return _already_running(instance)
    instance.activation_requested.connect(bring_to_front)
    try:
        try:
            store = open_store(args.database_url)
        except StoreError as error:
            log.warning("store not opened: %s", type(error).__name__)
            QMessageBox.critical(None, "Cannot open the case store", str(error))
            return EXIT_CANNOT_START
        try:
            return _run_with_store(app, store, args)
        finally:
            store.close()
    finally:
        instance.release()


def _configuration_readable() -> bool:
    """The machine-wide and user configuration (app/config.py); a broken file is a dialog naming file and line."""
    from app import config

    try:
        settings = config.current()
    except config.ConfigError as error:
        log.warning("configuration not read: %s", error)
        QMessageBox.critical(None, "The workstation's configuration is broken", str(error))
        return False
    for message in settings.ignored:
        log.warning("%s", message)
    return True


def _already_running(instance: SingleInstance) -> int:
    """A second start for the same store: the first comes to the front; the store is not opened again."""
    if instance.ask_running_to_activate():
        log.info("already running: brought the first window to the front")
        print("umws: the workstation is already running for this store; its window was brought to the front.",
              file=sys.stderr)
        return EXIT_OK
    log.warning("already running (%s), no answer", instance.holder())
    QMessageBox.information(
        None, "Already running",
        f"The workstation is already running for this store ({instance.holder()}), so it was not started a second "
        "time. Switch to its window. If it is still starting, wait a moment; if it no longer responds, close it "
        "(or sign out and back in) and start again.")
    return EXIT_CANNOT_START


def _run_with_store(app: QApplication, store: Store, args: argparse.Namespace) -> int:
    from app.ui import startup_probe
    from app.ui.sign_in import DEMO_HINT
    from app.ui.work_session import WorkSession

    users, cases = _store_counts(store)
    if args.demo is not None and cases == 0:
        add_demo_data(store, args.demo)
    elif users == 0:
        answer = QMessageBox.question(
            None, "No users yet",
            f"The store {store.location} holds no users yet, so nobody can work on it. Add "
            f"{DEFAULT_DEMO_CASES:,} synthetic demo cases and demo users now?")
        if answer != QMessageBox.StandardButton.Yes:
            return EXIT_OK
        add_demo_data(store, DEFAULT_DEMO_CASES)

    settings = QSettings()
    session = WorkSession(store, settings, username=args.user, hint=DEMO_HINT if args.demo is not None else "")
    startup_probe.arm_session(session)
    session.start()
    app.exec()
    from app.ui.tasks import stop_all

    stop_all()  # a window left open at quit still has its worker: stopped here, not aborted at exit
    return EXIT_OK
