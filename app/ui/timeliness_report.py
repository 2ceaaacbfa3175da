"""Reports ▸ Timeliness: the clocks met and missed per request type, for a supervisor (issue 4, scope 5).

The same figures as `umws report timeliness`, computed off the GUI thread; breached TARs are listed so a supervisor
can open them.
"""
from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QDateEdit, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.domain.vocabulary import LINES_OF_BUSINESS
from app.store.engine import Store
from app.store.reports import timeliness_report
from app.ui.tasks import Task

COLUMNS = [
    ("line_of_business", "Line"),
    ("request_type", "Request type"),
    ("decided", "Decided"),
    ("decided_in_time", "In time"),
    ("percent_in_time", "% in time"),
    ("median_turnaround_hours", "Median h"),
    ("average_turnaround_hours", "Mean h"),
    ("decided_late", "Decided late"),
    ("open_past_due", "Open past due"),
    ("breaches", "Breaches"),
]


def _cell(key: str, value) -> QTableWidgetItem:
    if key == "line_of_business":
        text = LINES_OF_BUSINESS.get(value, value)
    elif value is None:
        text = "—"
    elif isinstance(value, float):
        text = f"{value:.1f}"
    else:
        text = str(value)
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    if not isinstance(value, str):
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class TimelinessReportDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None, *, today: date | None = None):
        super().__init__(parent)
        self.setWindowTitle("Timeliness report")
        self.setAccessibleName("Timeliness report")
        self._store = store
        self._task: Task | None = None
        today = today or date.today()
        self.first = QDateEdit(QDate(today - timedelta(days=30)))
        self.last = QDateEdit(QDate(today))
        for edit, name in ((self.first, "First day"), (self.last, "Last day")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("MM/dd/yyyy")
            edit.setAccessibleName(name)
        self.run_button = QPushButton("&Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        period = QHBoxLayout()
        for widget in (QLabel("From"), self.first, QLabel("to"), self.last, self.run_button):
            period.addWidget(widget)
        period.addStretch()
        self.status = QLabel("Choose a period and press Run. Days are plan time (PT).")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Timeliness by request type")
        self.table.setHorizontalHeaderLabels([label for _, label in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.breaches = QListWidget()
        self.breaches.setAccessibleName("Breached TAR numbers")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(period)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel("Breached cases (decided late, or open past due):"))
        layout.addWidget(self.breaches, 1)
        layout.addWidget(buttons)
        self.resize(980, 560)

    def period(self) -> tuple[date, date]:
        return self.first.date().toPython(), self.last.date().toPython()

    def run(self) -> None:
        first, last = self.period()
        if last < first:
            self.status.setText("The last day is before the first day: choose the period again.")
            return
        self.run_button.setEnabled(False)
        self.status.setText("Counting…")

        def work(progress, cancelled):
            with self._store.session() as session:
                return timeliness_report(session, first, last)

        self._task = Task(work, "timeliness report", self)
        self._task.succeeded.connect(self.show_report)
        self._task.failed.connect(lambda error: self.status.setText(f"The report could not be made: {error}"))
        self._task.finished.connect(lambda: self.run_button.setEnabled(True))
        self._task.start()

    def show_report(self, report: dict) -> None:
        rows = report["rows"]
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _) in enumerate(COLUMNS):
                self.table.setItem(r, c, _cell(key, row[key]))
        self.breaches.clear()
        self.breaches.addItems(report["breached_tars"])
        decided = sum(row["decided"] for row in rows)
        in_time = sum(row["decided_in_time"] for row in rows)
        share = f"{100 * in_time / decided:.1f}%" if decided else "—"
        self.status.setText(f"{report['from']} to {report['to']}: {decided} decided, {share} in time, "
                            f"{len(report['breached_tars'])} breaches.")
