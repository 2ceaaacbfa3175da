"""The main window's Oversight menu (issue 14): Committee dashboard (Ctrl+Shift+B), Inter-rater reliability
(Ctrl+Shift+R) and the timeliness report (Ctrl+Shift+H). For the UM program's leads and the auditors; others see
the entries disabled with the reason as the tip. For those it lets in, `warm_up_dashboard` counts the dashboard's
default period once after sign-in (app.ui.committee_dashboard.WarmUp), so that its first opening is as fast as the
next."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from app.domain.irr_rules import may_read_reports


def install_oversight_menu(window) -> None:
    refusal = may_read_reports(window.viewer.role)
    menu = window.menuBar().addMenu("&Oversight")
    window.oversight_windows = {}
    window.dashboard_warm_up = None

    def show(key: str, make):
        existing = window.oversight_windows.get(key)
        if existing is None or not existing.isVisible():
            existing = make()
            window.oversight_windows[key] = existing
        existing.show()
        existing.raise_()
        existing.activateWindow()
        return existing

    def dashboard():
        from app.ui.committee_dashboard import CommitteeDashboard

        if window.dashboard_warm_up is not None:  # the window counts on its own now
            window.dashboard_warm_up.stop()
        return show("dashboard", lambda: CommitteeDashboard(window.store, window, worker=window.background))

    def irr():
        from app.ui.irr_window import IrrWindow

        return show("irr", lambda: IrrWindow(window.store, window.viewer, window, worker=window.background))

    def timeliness():
        from app.ui.timeliness_report import TimelinessReportDialog

        return show("timeliness", lambda: TimelinessReportDialog(window.store, window))

    window.oversight_actions = []
    for text, key, tip, slot in (
            ("Committee &dashboard…", "Ctrl+Shift+B", "Volumes, decisions, timeliness, overturns, utilization and "
                                                      "IRR for the UM committee; its packet as PDF", dashboard),
            ("&Inter-rater reliability…", "Ctrl+Shift+R", "The year's sample, blind re-review, agreement and "
                                                          "corrective action plans", irr),
            ("&Timeliness report…", "Ctrl+Shift+H", "Clocks met and missed per request type", timeliness)):
        action = QAction(text, window)
        action.setShortcut(QKeySequence(key))
        action.setStatusTip(refusal.reason if refusal else tip)
        action.setToolTip(refusal.reason if refusal else tip)
        action.setEnabled(refusal is None)
        action.triggered.connect(lambda checked=False, run=slot: run())
        window.addAction(action)
        menu.addAction(action)
        window.oversight_actions.append(action)
    window.open_dashboard, window.open_irr = dashboard, irr


def warm_up_dashboard(window) -> None:
    """After the main window's own first reads (queue counts, clocks, criteria: queued before it), for a user the
    Oversight menu lets in."""
    if may_read_reports(window.viewer.role) is None:
        from app.ui.committee_dashboard import WarmUp

        window.dashboard_warm_up = WarmUp(window.store, window.background)
