"""Oversight ▸ Committee dashboard: the UM committee's figures on screen, and its packet as a PDF (issue 14).

Filters (period, team, line of business) on top; the sections down the page (app.store.committee.SECTIONS), each
chart with its table right under it; a list of the sections on the left to jump to one. The figures are aggregated
in SQL on a worker thread (app.ui.tasks.TaskQueue: the main window's store worker when opened from it), one job
per section, each section shown as soon as it is counted (Volumes first, within a tenth of a second on a year of
200,000 cases); the packet renders there too. While the window is open it reads through a connection of its own
with a larger page cache (app.store.engine.Reader, DASHBOARD_CACHE_MIB), given back when it closes.

Keys: Alt+F / Alt+T the period, Alt+E team, Alt+L line of business, Enter or F5 refresh, Ctrl+1 the sections
list, Ctrl+P save the packet as PDF, Esc close.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDateEdit, QFileDialog, QFrame, QHBoxLayout,
                               QHeaderView, QLabel, QListWidget, QMainWindow, QPushButton, QScrollArea, QSplitter,
                               QTableView, QVBoxLayout, QWidget)

from app.domain.committee import Filters, SectionView
from app.domain.vocabulary import LINES_OF_BUSINESS, TEAMS
from app.store.engine import Store
from app.ui.bar_chart import BarChartWidget, SpecTableModel
from app.ui.tasks import Job, TaskQueue


DASHBOARD_CACHE_MIB = 256  # a year of 200,000 cases: 64 MiB re-read its pages section after section, 256 holds them


def quarter_before(today: date) -> tuple[date, date]:
    """The last full calendar quarter before `today` (what a quarterly committee meeting reviews)."""
    first_month = (today.month - 1) // 3 * 3 + 1
    this_quarter = date(today.year, first_month, 1)
    last_day = this_quarter - timedelta(days=1)
    return date(last_day.year, (last_day.month - 1) // 3 * 3 + 1, 1), last_day


class WarmUp:
    """After sign-in, for the program's leads (those the Oversight menu lets in): the store worker counts the
    dashboard's default period (the last quarter) once and throws the figures away, so that the first opening of
    the window finds the statements compiled, the modules imported and the pages in the OS cache. In a fresh
    process that opening took 1.1 s with the OS cache warm and 2.0 s cold, about 0.6 s once warmed up
    (docs/benchmarks.md, "Program oversight"). One section per job, the next submitted when the last has run, so a
    case opened meanwhile waits behind one section at most; reads only, nothing is written. `stop()` (the window
    opened, the main window closed) submits nothing more."""

    def __init__(self, store: Store, worker: TaskQueue, *, today: date | None = None,
                 clock=lambda: datetime.now(timezone.utc)):
        self._store, self._worker = store, worker
        self._filters = Filters(*quarter_before(today or date.today()))
        self._now = clock()
        self._stopped = False
        self.counted: list[str] = []  # the sections counted so far (tests, the bench)
        self._job = self._submit(None)

    def _submit(self, section_id: str | None) -> Job:
        def work(progress, cancelled):
            from app.store.committee import SECTIONS, build  # imported here, off the GUI thread

            ids = [section.id for section in SECTIONS]
            counting = section_id or ids[0]
            with self._store.session() as session:
                build(session, self._filters, self._now, only=(counting,))
            return counting, ids[ids.index(counting) + 1:]

        job = self._worker.submit(work, f"committee dashboard warm-up: {section_id or 'first section'}")
        job.succeeded.connect(self._next)  # a failure (logged by the queue) ends it: the window counts on its own
        return job

    def _next(self, result) -> None:
        counted, left = result
        self.counted.append(counted)
        if left and not self._stopped:
            self._job = self._submit(left[0])

    @property
    def done(self) -> bool:
        """No more of it will be counted: every section was, or it stopped (or failed)."""
        return self._job.done or self._job.is_cancelled()

    def stop(self) -> None:
        self._stopped = True
        self._job.cancel()


class SectionWidget(QFrame):
    """One section: its heading, each chart with the table behind it, its notes."""

    def __init__(self, view: SectionView, parent=None):
        super().__init__(parent)
        self.view = view
        self.setAccessibleName(view.title)
        layout = QVBoxLayout(self)
        heading = QLabel(view.title)
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        heading.setFont(font)
        layout.addWidget(heading)
        self.charts: list[BarChartWidget] = []
        self.tables: list[QTableView] = []
        for panel in view.panels:
            title = QLabel(panel.table.title)
            bold = title.font()
            bold.setBold(True)
            title.setFont(bold)
            layout.addWidget(title)
            if panel.chart is not None and not panel.chart.empty:
                chart = BarChartWidget(panel.chart)
                layout.addWidget(chart)
                self.charts.append(chart)
            elif panel.chart is not None:
                layout.addWidget(QLabel("Nothing to chart in the period."))
            table = QTableView()
            table.setModel(SpecTableModel(panel.table, table))
            table.setAccessibleName(f"{panel.table.title} (the table behind the chart)")
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            table.setTabKeyNavigation(False)
            table.verticalHeader().hide()
            table.setAlternatingRowColors(True)
            header = table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(False)
            rows = table.model().rowCount()
            row_height = table.fontMetrics().height() + 10
            table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            table.verticalHeader().setDefaultSectionSize(row_height)
            table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            table.setFixedHeight(header.sizeHint().height() + max(1, rows) * row_height + 2 * table.frameWidth()
                                 + table.horizontalScrollBar().sizeHint().height())
            layout.addWidget(table)
            self.tables.append(table)
        for note in view.notes:
            label = QLabel(note)
            label.setWordWrap(True)
            label.setEnabled(False)  # the palette's quieter text: notes, not figures
            layout.addWidget(label)


class CommitteeDashboard(QMainWindow):
    def __init__(self, store: Store, parent=None, *, today: date | None = None,
                 clock=lambda: datetime.now(timezone.utc), worker: TaskQueue | None = None):
        """`worker`: the main window's store worker (one thread on the store besides the GUI's); a window of its
        own makes its own."""
        super().__init__(parent)
        self.setWindowTitle("Committee dashboard — UM Reviewer Workstation")
        self.setAccessibleName("Committee dashboard")
        self._store = store
        self._clock = clock
        self._own_worker = worker is None
        self.worker = worker or TaskQueue("committee dashboard", self)
        self._jobs: list[Job] = []  # the sections being counted, one job each
        self._packet_job: Job | None = None
        self._reader = None  # app.store.engine.Reader, used on the worker thread only
        self._fresh = False  # the next section counted replaces what is shown
        self._counted: list = []  # the sections of this Refresh counted so far (Dashboard parts)
        self.dashboard = None
        self.sections: list[SectionWidget] = []
        first, last = quarter_before(today or date.today())
        self.first = QDateEdit(QDate(first))
        self.last = QDateEdit(QDate(last))
        for edit, name in ((self.first, "First day of the period"), (self.last, "Last day of the period")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("MM/dd/yyyy")
            edit.setAccessibleName(name)
        self.team = QComboBox()
        self.team.setAccessibleName("Team")
        self.team.addItem("All teams", None)
        for key, label in TEAMS.items():
            self.team.addItem(label, key)
        self.lob = QComboBox()
        self.lob.setAccessibleName("Line of business")
        self.lob.addItem("All lines of business", None)
        for key, label in LINES_OF_BUSINESS.items():
            self.lob.addItem(label, key)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setDefault(True)
        self.refresh_button.clicked.connect(self.refresh)
        self.packet_button = QPushButton("Save &packet as PDF…")
        self.packet_button.clicked.connect(self.save_packet_prompt)
        bar = QHBoxLayout()
        for text, widget in (("&From", self.first), ("&To", self.last), ("T&eam", self.team),
                             ("&Line", self.lob)):
            label = QLabel(text)
            label.setBuddy(widget)
            bar.addWidget(label)
            bar.addWidget(widget)
        bar.addWidget(self.refresh_button)
        bar.addStretch()
        bar.addWidget(self.packet_button)
        self.status = QLabel("Choose the period and press Refresh.")
        self.status.setAccessibleName("Dashboard status")
        self.section_list = QListWidget()
        self.section_list.setAccessibleName("Sections")
        self.section_list.currentRowChanged.connect(self.go_to_section)
        self.section_list.setMaximumWidth(240)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.addStretch()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.body)
        self.scroll.setAccessibleName("Dashboard sections")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.section_list)
        splitter.addWidget(self.scroll)
        splitter.setStretchFactor(1, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._actions()
        self.resize(1280, 860)
        self.refresh()

    def _actions(self) -> None:
        menu = self.menuBar().addMenu("&Dashboard")
        for text, keys, slot in (("&Refresh", ["F5", "Return", "Enter"], self.refresh),
                                 ("&Sections list", ["Ctrl+1"], self.section_list.setFocus),
                                 ("Save &packet as PDF…", ["Ctrl+P"], self.save_packet_prompt),
                                 ("&Close", ["Esc"], self.close)):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(lambda checked=False, run=slot: run())
            self.addAction(action)
            menu.addAction(action)

    def filters(self) -> Filters:
        return Filters(self.first.date().toPython(), self.last.date().toPython(), self.team.currentData(),
                       self.lob.currentData())

    def refresh(self) -> None:
        filters = self.filters()
        if filters.last < filters.first:
            self.status.setText("The last day is before the first day: choose the period again.")
            return
        if self.counting:
            return
        from app.store.committee import SECTIONS

        self.refresh_button.setEnabled(False)
        self.status.setText("Counting…")
        now = self._clock()
        self._fresh, self._counted = True, []
        self._jobs = [self.worker.submit(self._section_work(section.id, filters, now, last=n == len(SECTIONS) - 1),
                                         f"committee dashboard: {section.title}")
                      for n, section in enumerate(SECTIONS)]
        for job in self._jobs:
            job.succeeded.connect(self._show_part)
            job.failed.connect(lambda error: self.status.setText(
                f"The figures could not be counted: {error}. Try Refresh again; the log has the details."))
        self._jobs[-1].finished.connect(lambda: self.refresh_button.setEnabled(True))

    def _section_work(self, section_id: str, filters: Filters, now: datetime, *, last: bool):
        def work(progress, cancelled):
            from app.store.committee import build

            try:
                return build(self._reading(), filters, now, only=(section_id,))
            finally:
                if last:  # the Refresh's snapshot ends: the next one sees what was written meanwhile
                    self._end_reading()
        return work

    def _reading(self):
        """On the worker thread: a session on the window's own connection (one read transaction per Refresh)."""
        if self._reader is None:
            self._reader = self._store.reader(DASHBOARD_CACHE_MIB)
        return self._reader.begin()

    def _end_reading(self) -> None:
        if self._reader is not None:
            self._reader.end()

    @property
    def counting(self) -> bool:
        return any(not job.done for job in self._jobs)

    @property
    def busy(self) -> bool:
        return self.counting or (self._packet_job is not None and not self._packet_job.done)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        for job in self._jobs:
            job.cancel()
        reader, self._reader = self._reader, None
        if self._own_worker:
            self.worker.stop()
            if reader is not None:
                reader.close()
        elif reader is not None:  # after the job running now, on the thread that uses it
            self.worker.submit(lambda progress, cancelled: reader.close(), "committee dashboard: close")
        super().closeEvent(event)

    def _show_part(self, part) -> None:
        """One section counted: shown at once (the first of a Refresh replaces what was there)."""
        from app.store.committee import SECTIONS, Dashboard

        if self._fresh:
            self._fresh = False
            for widget in self.sections:
                widget.setParent(None)
                widget.deleteLater()
            self.sections = []
            self.section_list.clear()
        self._counted.append(part)
        for view in part.views:
            widget = SectionWidget(view)
            self.body_layout.insertWidget(self.body_layout.count() - 1, widget)
            self.sections.append(widget)
            self.section_list.blockSignals(True)
            self.section_list.addItem(view.title)
            self.section_list.blockSignals(False)
        if len(self._counted) < len(SECTIONS):
            self.status.setText(f"Counting… {len(self._counted)} of {len(SECTIONS)} sections shown")
            return
        figures = {key: value for counted in self._counted for key, value in counted.figures.items()}
        self.show_dashboard(Dashboard(part.filters, part.prepared_at, figures,
                                      tuple(view for counted in self._counted for view in counted.views)))

    def show_dashboard(self, dashboard) -> None:
        """Every section counted: the dashboard the packet would print."""
        self.dashboard = dashboard
        self.status.setText(f"{dashboard.filters.describe()} · counted "
                            f"{dashboard.prepared_at.astimezone():%m/%d/%Y %I:%M %p}")

    def go_to_section(self, row: int) -> None:
        if 0 <= row < len(self.sections):
            self.scroll.ensureWidgetVisible(self.sections[row], 0, 0)
            self.scroll.verticalScrollBar().setValue(self.sections[row].y())

    def save_packet_prompt(self) -> None:
        filters = self.filters()
        name = f"um-committee-packet-{filters.first.isoformat()}-to-{filters.last.isoformat()}.pdf"
        path, _ = QFileDialog.getSaveFileName(self, "Save the committee packet", str(Path.home() / name),
                                              "PDF (*.pdf)")
        if path:
            self.save_packet(Path(path))

    def save_packet(self, path: Path) -> Job:
        filters = self.filters()
        now = self._clock()
        self.packet_button.setEnabled(False)
        self.status.setText("Preparing the packet…")

        def work(progress, cancelled):
            from app.letters.committee_packet import render_packet
            from app.store.committee import build

            try:
                dashboard = build(self._reading(), filters, now)
            finally:
                self._end_reading()
            pdf = render_packet(dashboard.views, filters, dashboard.prepared_at)
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(pdf)
            partial.replace(path)
            return path

        job = self.worker.submit(work, "committee packet")
        job.succeeded.connect(lambda saved: self.status.setText(f"Packet saved to {saved}."))
        job.failed.connect(lambda error: self.status.setText(
            f"The packet could not be saved ({error}); choose another folder and try again."))
        job.finished.connect(lambda: self.packet_button.setEnabled(True))
        self._packet_job = job
        return job
