"""Render the workstation offscreen with demo data into docs/screenshots/*.png (for the README and docs).

Shots: main-window (a nurse's cases with their clock bands), case-view and case-timeline (every clock of a
case), supervisor-at-risk ("At risk today"), supervisor-all-open-filtered, clock-warning (the in-window notice
when one of my cases falls under 4 hours; offscreen there is no system tray), appeals-due (a coordinator's
"Appeals due" queue) and appeal-tab (the Appeal tab of a case, as the reviewing physician sees it).

    python tools/screenshots.py [--out docs/screenshots] [--cases 2000]

Uses a throwaway encrypted store in a temporary directory with an in-memory keyring (so nothing touches the
user's store or keyring) and synthetic data only (Faker, fixed seed). The offscreen platform may have few fonts.
"""
from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta, timezone
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _prepare_environment(home: str) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["UMWS_HOME"] = home
    os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"  # throwaway demo store, synthetic data only
    os.environ.pop("UMWS_DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))

    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        """Forgets the throwaway store's key when the tool exits."""

        priority = 1

        def __init__(self):
            super().__init__()
            self.secrets = {}

        def get_password(self, service, username):
            return self.secrets.get((service, username))

        def set_password(self, service, username, password):
            self.secrets[(service, username)] = password

        def delete_password(self, service, username):
            self.secrets.pop((service, username), None)

    keyring.set_keyring(MemoryKeyring())


def _settle(app, rounds: int = 30) -> None:
    import time

    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args(argv)
    home = tempfile.mkdtemp(prefix="umws-screenshots-")
    _prepare_environment(home)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.services import demo
    from app.store.engine import open_store
    from app.store.worklist import running_clocks_of, viewer_for
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["screenshots"])
    app.setApplicationDisplayName("UM Reviewer Workstation")
    store = open_store()
    demo.generate(store, args.cases, seed=7)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat)
    written = []

    def shoot(widget, name: str) -> None:
        _settle(app)
        path = args.out / f"{name}.png"
        widget.grab().save(str(path))
        written.append(path)

    def settle_watch(window) -> None:
        """Wait for the counts and the first clock watch (its warning shows in the notice bar offscreen)."""
        import time

        started = time.monotonic()
        while (not window.queue_counts or not window.clock_checks or not window.clock_watch_idle()) \
                and time.monotonic() - started < 20:
            app.processEvents()
            time.sleep(0.01)

    try:
        with store.session() as session:
            nurse = viewer_for(session, "nurse.garcia")
            lead = viewer_for(session, "lead.patel")

        window = MainWindow(store, nurse, settings)
        window.resize(1366, 768)  # a 14-inch laptop
        window.show()
        settle_watch(window)
        window.select_row(1)
        shoot(window, "main-window")

        view = window.open_case()
        view.resize(960, 700)
        shoot(view, "case-view")
        view.tabs.setCurrentIndex(view.tabs.count() - 1)
        shoot(view, "case-timeline")
        view.reject()
        window.close()

        supervisor = MainWindow(store, lead, QSettings(str(Path(home) / "lead.ini"), QSettings.Format.IniFormat))
        supervisor.resize(1366, 768)
        supervisor.show()
        settle_watch(supervisor)
        supervisor.show_queue("at-risk")
        supervisor.select_row(0)
        shoot(supervisor, "supervisor-at-risk")
        supervisor.show_queue("all-open")
        surname = supervisor.model.index(0, 1).data().split(",")[0]
        supervisor.filter_edit.setText(surname[:3])
        supervisor.apply_filter()
        shoot(supervisor, "supervisor-all-open-filtered")
        supervisor.close()

        # The warning where the desktop has no tray (offscreen): the nurse's window a little later in the day,
        # when her next case falls under 4 hours.
        with store.session() as session:
            running = running_clocks_of(session, nurse.user_id)
        later = [c for c in running if c.due_at > datetime.now(timezone.utc) + timedelta(hours=4)]
        if later:
            then = min(c.due_at for c in later) - timedelta(hours=3, minutes=25)
            warned = MainWindow(store, nurse, QSettings(str(Path(home) / "warn.ini"), QSettings.Format.IniFormat),
                                clock=lambda: then)
            warned.resize(1366, 768)
            warned.show()
            settle_watch(warned)
            warned.tick()
            soonest = min(later, key=lambda c: c.due_at).tar
            row = next((r for r in range(warned.model.rowCount()) if warned.model.tar_at(r) == soonest), 0)
            warned.select_row(row)
            shoot(warned, "clock-warning")
            warned.close()
        # Appeals (issue 13): a few denials appealed through the services, then the coordinator's queue and a
        # physician's Appeal tab.
        appealed = _make_appeals(store)
        coordinator_viewer = None
        with store.session() as session:
            coordinator_viewer = viewer_for(session, "coord.jones")
            reviewer = viewer_for(session, "dr.ito")
        coordinator = MainWindow(store, coordinator_viewer,
                                 QSettings(str(Path(home) / "coord.ini"), QSettings.Format.IniFormat))
        coordinator.resize(1366, 768)
        coordinator.show()
        settle_watch(coordinator)
        coordinator.show_queue("appeals-due")
        coordinator.select_row(0)
        shoot(coordinator, "appeals-due")
        coordinator.close()
        physician = MainWindow(store, reviewer, QSettings(str(Path(home) / "ito.ini"), QSettings.Format.IniFormat))
        physician.show()
        view = physician.open_case(appealed)
        view.resize(960, 760)
        view.tabs.setCurrentWidget(view.appeal_tab)
        shoot(view, "appeal-tab")
        view.reject()
        physician.close()
    finally:
        store.close()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


def _make_appeals(store) -> str:
    """Deny five demo requests (dr.morales, not a covered benefit) and appeal them: standard, expedited by the
    provider, by a representative keeping an ongoing service, one decided; the TAR of the one to show."""
    from app.services import appeals, cases
    from app.store.models import Case
    from app.store.worklist import WorklistQuery, viewer_for
    from sqlalchemy import select

    now = datetime.now(timezone.utc)
    with store.session() as session:
        rows = WorklistQuery("unassigned", viewer_for(session, "nurse.nguyen")).page(session, 0, 60)
    pre = [r.tar for r in rows if r.timing == "pre-service"][:4]
    ongoing = next(r.tar for r in rows if r.timing == "concurrent")
    plans = [(pre[0], dict(filed_by="member", channel="phone")),
             (pre[1], dict(filed_by="provider", channel="portal", expedited=True)),
             (ongoing, dict(filed_by="representative", channel="writing", representative="Ana Ruiz",
                            authorization="AOR form scanned today", continue_service=True)),
             (pre[2], dict(filed_by="member", channel="writing")),
             (pre[3], dict(filed_by="member", channel="portal"))]
    for hours, (tar, how) in zip((70, 50, 30, 20, 6), plans):
        decided = now - timedelta(hours=hours + 48)
        with store.session() as session, session.begin():
            case = session.scalar(select(Case).where(Case.tar == tar))
            cases.claim_case(session, tar, "dr.morales", at=max(decided - timedelta(hours=1), case.received_at))
            cases.decide_case(session, tar, "dr.morales", outcome="deny", basis="benefit",
                              rationale="Not a covered benefit under the plan's rules.",
                              member_reason="Medi-Cal does not cover this care. Your doctor can ask for other care.",
                              at=max(decided, case.received_at + timedelta(minutes=5)))
            appeals.file_appeal(session, tar, "coord.jones", received_at=now - timedelta(hours=hours),
                                note="The member's daughter called: new notes from the surgeon are on their way.",
                                specialty="Orthopaedic Surgery", **how)
    with store.session() as session, session.begin():
        appeals.decide_appeal(session, pre[3], "dr.ito", result="upheld",
                              reason="The item is still not a Medi-Cal benefit. Your doctor can ask for therapy.")
    return ongoing


if __name__ == "__main__":
    sys.exit(main())
