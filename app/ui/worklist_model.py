"""The worklist table model: one queue as a viewer sees it, paged from the store on demand (issue 3, scope 6).

The model holds a row count and a small LRU cache of pages of plain rows; it never materialises all cases.
Sorting and the quick filter re-query in SQL (`WorklistQuery`), never through a proxy model. The Due column shows
the clock's band (issue 4, scope 3; `app.domain.clock_bands`) as a word and an icon of its own shape and colour, the
live countdown and the due: "Under 4 h · in 2 h 15 m · Tue 11/24 3:00 PM PT". All of it is computed from the cached
row and the model's notion of now: `tick()` moves now forward and repaints that column without touching the
database (bench/bench_countdown.py measures it). The due's text is formatted once per row (it does not move).
"""
from __future__ import annotations

import atexit
import uuid
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QByteArray, QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.domain.case_states import STATES
from app.domain.clock_bands import OVERDUE, Band, band
from app.domain.plantime import format_duration, format_instant
from app.domain.queues import COLUMNS, DECIDED_STATES, DEFAULT_SORT, QUEUES
from app.domain.vocabulary import REVIEW_TIMINGS, SERVICE_CATEGORIES, URGENCIES
from app.store.engine import Store
from app.store.worklist import Viewer, WorklistQuery, WorklistRow

COLUMN_IDS = list(COLUMNS)
TAR_ROLE = Qt.ItemDataRole.UserRole  # the case's TAR number (str), on every column
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the whole WorklistRow
BAND_ROLE = Qt.ItemDataRole.UserRole + 2  # the Due column's band id (on-track, at-risk, under-4h, overdue) or None
DUE_SOON = timedelta(hours=24)
OVERDUE_COLOUR = QColor(OVERDUE.colour)  # Okabe-Ito vermillion; always with the word "Overdue" and a square icon

_Index = QModelIndex | QPersistentModelIndex


def time_left(due: datetime | None, now: datetime, status: str = "received") -> str:
    """'in 2 h 15 m', 'in 3 d 4 h', 'overdue 1 h 5 m', 'decision made', or '' when there is no due."""
    if due is None:
        return ""
    if status in DECIDED_STATES:
        return "decision made"
    left = due - now
    if left < timedelta(0):
        return f"overdue {format_duration(-left)}"
    return f"in {format_duration(left)}"


_instant_text = lru_cache(maxsize=8192)(format_instant)  # a due's text never changes: format it once
_BOLD: QFont | None = None  # made once, like the band icons below; both let go before Qt shuts down


def _forget_qt_objects() -> None:
    """Qt objects kept at module level must go before the QApplication does (at exit), or the interpreter's
    last garbage collection frees them after Qt is gone."""
    global _BOLD
    _BOLD = None
    _icons.clear()


atexit.register(_forget_qt_objects)


def _bold() -> QFont:
    global _BOLD
    if _BOLD is None:
        _BOLD = QFont()
        _BOLD.setBold(True)
    return _BOLD


def countdown_text(current: Band, due: datetime, now: datetime) -> str:
    """The band's word with the live countdown: 'Under 4 h · in 2 h 15 m', 'Overdue 1 h 5 m'."""
    if current is OVERDUE:
        return f"{OVERDUE.word} {format_duration(now - due)}"
    return f"{current.word} · in {format_duration(due - now)}"


def due_cell_text(received: datetime, due: datetime | None, now: datetime, status: str) -> tuple[Band | None, str]:
    """The Due cell: (band, 'Under 4 h · in 2 h 15 m · Tue 11/24 3:00 PM PT'). No band when no clock runs."""
    if due is None:
        return None, "No clock"
    if status in DECIDED_STATES:
        return None, f"Decision made · {_instant_text(due)}"
    current = band(received, due, now)
    return current, f"{countdown_text(current, due, now)} · {_instant_text(due)}"


_SHAPES = {  # SVG outlines on a 16 x 16 grid, one per band shape (clock_bands.Band.shape)
    "circle": '<circle cx="8" cy="8" r="6.5"/>',
    "triangle": '<path d="M8 1.5 L15 14.5 L1 14.5 Z"/>',
    "diamond": '<path d="M8 0.8 L15.2 8 L8 15.2 L0.8 8 Z"/>',
    "square": '<rect x="1.8" y="1.8" width="12.4" height="12.4" rx="1"/>',
}
_icons: dict[str, QIcon] = {}


def band_icon(current: Band) -> QIcon:
    """The band's shape in its colour with a dark outline (visible on light and dark rows), from SVG at several
    sizes so that it stays sharp on HiDPI screens. Needs a QGuiApplication; made once per band."""
    icon = _icons.get(current.id)
    if icon is None:
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><g fill="{current.colour}" '
               f'stroke="#000000" stroke-width="1.1" stroke-linejoin="round">{_SHAPES[current.shape]}</g></svg>')
        renderer = QSvgRenderer(QByteArray(svg.encode()))
        icon = QIcon()
        for size in (16, 24, 32, 48, 64):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter, QRectF(0, 0, size, size))
            painter.end()
            icon.addPixmap(pixmap)
        _icons[current.id] = icon
    return icon


class WorklistModel(QAbstractTableModel):
    def __init__(self, store: Store, viewer: Viewer, queue_id: str | None = None, parent=None, *,
                 page_size: int = 200, max_pages: int = 40,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        super().__init__(parent)
        self._store = store
        self._clock = clock
        self._page_size = page_size
        self._max_pages = max_pages
        queue_id = queue_id or next(q.id for q in QUEUES.values() if viewer.role in q.roles)
        self._now = clock()
        self._query = WorklistQuery(queue_id, viewer, "", DEFAULT_SORT[0], DEFAULT_SORT[1] == "desc", self._now)
        self._pages: OrderedDict[int, list[WorklistRow]] = OrderedDict()
        self._due_cells: dict[uuid.UUID, tuple[Band | None, str]] = {}  # at self._now; emptied when now moves
        self._shown: tuple[int, int] | None = None  # first and last row whose Due cell a view asked for since the tick
        self._count = self._fetch_count()
        self.page_fetches = 0  # how many page queries ran (for tests and benchmarks)

    # --- what the model shows -------------------------------------------------------------------------------

    @property
    def query(self) -> WorklistQuery:
        return self._query

    @property
    def queue_id(self) -> str:
        return self._query.queue_id

    @property
    def filter_text(self) -> str:
        return self._query.filter_text

    def sort_key(self) -> tuple[str, bool]:
        """(column id, descending)."""
        return self._query.sort_column, self._query.descending

    def set_queue(self, queue_id: str) -> None:
        if queue_id != self._query.queue_id:
            self._requery(replace(self._query, queue_id=queue_id))

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text != self._query.filter_text:
            self._requery(replace(self._query, filter_text=text))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMN_IDS):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (COLUMN_IDS[column], descending) == self.sort_key():
            return
        self._requery(replace(self._query, sort_column=COLUMN_IDS[column], descending=descending), recount=False)

    def refresh(self) -> None:
        """Count and fetch again (after a claim, an assignment, new data)."""
        self._requery(self._query)

    def tick(self, visible: tuple[int, int] | None = None) -> None:
        """Move 'now' forward and repaint the Due cells that show it. No database query.

        With `visible` (the first and last row on screen, from the view), the cells of those rows are worked out
        at the new now and only the rows whose text or band changed are repainted: a countdown in days and hours
        changes once an hour, one in hours and minutes once a minute. Without it, every row a view asked for since
        the last tick is repainted. Either way a range reaching far off screen is avoided, since Qt repaints a
        whole viewport for one. Rows not shown are worked out with the new now when a view asks for them. The rows
        of a queue that depends on the day ("At risk today") are re-read by `refresh()`, not here."""
        self._now = self._clock()
        previous, self._due_cells = self._due_cells, {}
        asked, self._shown = self._shown, None
        if not self._count:
            return
        if visible is None:
            if asked is not None:
                self._repaint_due(asked[0], min(asked[1], self._count - 1))
            return
        changed_from = None
        for number in range(max(0, visible[0]), min(visible[1], self._count - 1) + 1):
            row = self._cached_row(number)
            cell = None
            if row is not None:
                cell = self._due_cells[row.id] = due_cell_text(row.received_at, row.due_at, self._now, row.status)
            if row is not None and previous.get(row.id) != cell:
                changed_from = number if changed_from is None else changed_from
            elif changed_from is not None:
                self._repaint_due(changed_from, number - 1)
                changed_from = None
        if changed_from is not None:
            self._repaint_due(changed_from, min(visible[1], self._count - 1))

    def _repaint_due(self, first: int, last: int) -> None:
        self.dataChanged.emit(self.index(first, _DUE_COLUMN), self.index(last, _DUE_COLUMN), _TICK_ROLES)

    def now(self) -> datetime:
        return self._now

    def row_at(self, row: int) -> WorklistRow | None:
        """The row's data, fetching its page if needed."""
        if not 0 <= row < self._count:
            return None
        number, within = divmod(row, self._page_size)
        page = self._pages.get(number)
        if page is None:
            page = self._fetch_page(number)
        else:
            self._pages.move_to_end(number)
        return page[within] if within < len(page) else None

    def _cached_row(self, row: int) -> WorklistRow | None:
        """The row's data if its page is held (no query), else None."""
        number, within = divmod(row, self._page_size)
        page = self._pages.get(number)
        return page[within] if page is not None and within < len(page) else None

    def tar_at(self, row: int) -> str | None:
        data = self.row_at(row)
        return data.tar if data else None

    def cached_row_of(self, tar: str) -> int | None:
        """The row holding `tar` among the pages already fetched (no query), or None."""
        for number, page in self._pages.items():
            for within, data in enumerate(page):
                if data.tar == tar:
                    return number * self._page_size + within
        return None

    # --- Qt model interface ---------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMN_IDS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMN_IDS):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return COLUMNS[COLUMN_IDS[section]]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Sort by {COLUMNS[COLUMN_IDS[section]].lower()} (click again to reverse)"
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() >= len(COLUMN_IDS):
            return None
        if role not in _ROLES:
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        column = COLUMN_IDS[index.column()]
        if role == TAR_ROLE:
            return row.tar
        if role == ROW_ROLE:
            return row
        if column == "due" and role in _DUE_ROLES:
            number = index.row()
            shown = self._shown
            if shown is None:
                self._shown = (number, number)
            elif not shown[0] <= number <= shown[1]:
                self._shown = (min(shown[0], number), max(shown[1], number))
            return self._due_data(row, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{COLUMNS[column]}: {self._display(row, column) or 'none'}"
        if role == Qt.ItemDataRole.FontRole:
            return self._font(row, column)
        return None

    def _due_data(self, row: WorklistRow, role: int) -> Any:
        """The Due column: band word, countdown and due as text; the band's icon; vermillion text when overdue."""
        cell = self._due_cells.get(row.id)
        if cell is None:  # a repaint asks for several roles of one cell: work it out once per tick
            if len(self._due_cells) > 10_000:
                self._due_cells.clear()
            cell = self._due_cells[row.id] = due_cell_text(row.received_at, row.due_at, self._now, row.status)
        current, text = cell
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == Qt.ItemDataRole.DecorationRole:
            return band_icon(current) if current is not None else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return OVERDUE_COLOUR if current is OVERDUE else None
        if role == BAND_ROLE:
            return current.id if current is not None else None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{COLUMNS['due']}: {text}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._due_tooltip(row, current)
        return self._font(row, "due")

    # --- cells ----------------------------------------------------------------------------------------------

    def _display(self, row: WorklistRow, column: str) -> str:
        if column == "tar":
            return row.tar
        if column == "member":
            return row.member
        if column == "service":
            return row.service
        if column == "timing":
            return f"{URGENCIES.get(row.urgency, row.urgency)} · {REVIEW_TIMINGS.get(row.timing, row.timing)}"
        if column == "received":
            return format_instant(row.received_at)
        if column == "status":
            return STATES.get(row.status, row.status)
        if column == "assignee":
            return row.assignee or "Unassigned"
        return ""

    def _due_tooltip(self, row: WorklistRow, current: Band | None) -> str:
        if row.due_at is None:
            return "No decision clock runs for this case."
        if current is None:
            return f"Decision was due {_instant_text(row.due_at, year=True)}; the decision has been made."
        left = row.due_at - self._now
        if left < timedelta(0):
            return (f"{current.word}: decision was due {_instant_text(row.due_at, year=True)}: "
                    f"overdue by {format_duration(-left)}")
        return f"{current.word}: decision due {_instant_text(row.due_at, year=True)}: {format_duration(left)} left"

    def _tooltip(self, row: WorklistRow, column: str) -> str:
        if column == "service":
            category = SERVICE_CATEGORIES.get(row.service_category, row.service_category)
            return f"{row.service}\n{category}"
        if column == "received":
            return f"Received {format_instant(row.received_at, year=True)}"
        return self._display(row, column)

    def _font(self, row: WorklistRow, column: str) -> QFont | None:
        bold = (column == "timing" and row.urgency == "urgent") or (
            column == "due" and self._running(row) and row.due_at - self._now < DUE_SOON)
        return _bold() if bold else None

    @staticmethod
    def _running(row: WorklistRow) -> bool:
        return row.due_at is not None and row.status not in DECIDED_STATES

    # --- fetching -------------------------------------------------------------------------------------------

    def _fetch_count(self) -> int:
        with self._store.session() as session:
            return self._query.count(session)

    def _fetch_page(self, number: int) -> list[WorklistRow]:
        with self._store.session() as session:
            page = self._query.page(session, number * self._page_size, self._page_size)
        self.page_fetches += 1
        self._pages[number] = page
        while len(self._pages) > self._max_pages:
            self._pages.popitem(last=False)
        return page

    def _requery(self, query: WorklistQuery, *, recount: bool = True) -> None:
        self.beginResetModel()
        self._now = self._clock()
        self._query = replace(query, now=self._now)  # "At risk today" is judged at the model's now
        self._pages.clear()
        self._due_cells.clear()
        self._shown = None
        if recount:
            self._count = self._fetch_count()
        self.endResetModel()


_DUE_COLUMN = COLUMN_IDS.index("due")
_TICK_ROLES = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole,
               Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.DecorationRole, BAND_ROLE]
_DUE_ROLES = frozenset(_TICK_ROLES)
_ROLES = frozenset({
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.DecorationRole, TAR_ROLE, ROW_ROLE,
    BAND_ROLE,
})
