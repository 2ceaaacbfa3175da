"""The timeliness report dialog shows the same figures as the report query, computed off the GUI thread."""
from __future__ import annotations

from datetime import date, datetime, timezone

from PySide6.QtCore import QDate

from app.services import demo
from app.store.reports import timeliness_report
from app.ui.timeliness_report import COLUMNS, TimelinessReportDialog

NOW = datetime(2026, 11, 20, 20, 0, tzinfo=timezone.utc)


def test_dialog_runs_the_report_and_lists_breaches(qtbot, local_store):
    demo.generate(local_store, 300, seed=21, now=NOW)
    dialog = TimelinessReportDialog(local_store, today=date(2026, 11, 20))
    qtbot.addWidget(dialog)
    dialog.first.setDate(QDate(2026, 6, 1))
    with qtbot.waitSignal(dialog.run_button.clicked, timeout=1000):
        dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled() and dialog.table.rowCount() > 0, timeout=10000)
    with local_store.session() as session:
        expected = timeliness_report(session, date(2026, 6, 1), date(2026, 11, 20))
    assert dialog.table.rowCount() == len(expected["rows"])
    decided_column = [key for key, _ in COLUMNS].index("decided")
    shown = sum(int(dialog.table.item(r, decided_column).text()) for r in range(dialog.table.rowCount()))
    assert shown == sum(row["decided"] for row in expected["rows"])
    assert dialog.breaches.count() == len(expected["breached_tars"])
    assert "in time" in dialog.status.text()


def test_a_reversed_period_is_explained_not_run(qtbot, local_store):
    dialog = TimelinessReportDialog(local_store, today=date(2026, 11, 20))
    qtbot.addWidget(dialog)
    dialog.first.setDate(QDate(2026, 12, 1))
    dialog.run()
    assert "before the first day" in dialog.status.text() and dialog.run_button.isEnabled()
