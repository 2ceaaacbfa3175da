"""The worklist table model: one queue as a viewer sees it, paged from the store on demand (issue 3, scope 6).

The model holds a row count and a small LRU cache of pages of plain rows; it never materialises all cases.
Sorting and the quick filter re-query in SQL (`WorklistQuery`), never through a proxy model. The Due column also
shows the time left ("in 2 h 15 m", "overdue 1 h 5 m"), computed from the cached row and the model's notion of now:
`tick()` moves now forward and repaints that column without touching the database.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from app.domain.case_states import STATES
from app.domain.plantime import format_duration, format_instant
from app.domain.queues import COLUMNS, DEFAULT_SORT, QUEUES
from app.domain.vocabulary import REVIEW_TIMINGS, SERVICE_CATEGORIES, URGENCIES
from app.store.engine import Store
from app.store.worklist import Viewer, WorklistQuery, WorklistRow

COLUMN_IDS = list(COLUMNS)
TAR_ROLE = Qt.ItemDataRole.UserRole  # the case's TAR number (str), on every column
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the whole WorklistRow
DUE_SOON = timedelta(hours=24)
DECIDED_STATES = frozenset({"determined", "notified", "closed"})  # the decision clock has stopped
OVERDUE_COLOUR = QColor("#D55E00")  # Okabe-Ito vermillion; always paired with the word "overdue"

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
        self._query = WorklistQuery(queue_id, viewer, "", DEFAULT_SORT[0], DEFAULT_SORT[1] == "desc")
        self._pages: OrderedDict[int, list[WorklistRow]] = OrderedDict()
        self._now = clock()
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

    def tick(self) -> None:
        """Move 'now' forward and repaint the Due column's time left. No database query."""
        self._now = self._clock()
        if self._count:
            column = COLUMN_IDS.index("due")
            self.dataChanged.emit(self.index(0, column), self.index(self._count - 1, column),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole,
                                   Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ForegroundRole,
                                   Qt.ItemDataRole.FontRole])

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
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{COLUMNS[column]}: {self._display(row, column) or 'none'}"
        if role == Qt.ItemDataRole.FontRole:
            return self._font(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == "due" and self._running(row) and row.due_at < self._now:
                return OVERDUE_COLOUR
            return None
        return None

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
        if column == "due":
            if row.due_at is None:
                return "No clock"
            return f"{format_instant(row.due_at)} · {time_left(row.due_at, self._now, row.status)}"
        if column == "status":
            return STATES.get(row.status, row.status)
        if column == "assignee":
            return row.assignee or "Unassigned"
        return ""

    def _tooltip(self, row: WorklistRow, column: str) -> str:
        if column == "due":
            if row.due_at is None:
                return "No decision clock runs for this case."
            if row.status in DECIDED_STATES:
                return f"Decision was due {format_instant(row.due_at, year=True)}; the decision has been made."
            left = row.due_at - self._now
            if left < timedelta(0):
                return f"Decision was due {format_instant(row.due_at, year=True)}: overdue by {format_duration(-left)}"
            return f"Decision due {format_instant(row.due_at, year=True)}: {format_duration(left)} left"
        if column == "service":
            category = SERVICE_CATEGORIES.get(row.service_category, row.service_category)
            return f"{row.service}\n{category}"
        if column == "received":
            return f"Received {format_instant(row.received_at, year=True)}"
        return self._display(row, column)

    def _font(self, row: WorklistRow, column: str) -> QFont | None:
        bold = (column == "timing" and row.urgency == "urgent") or (
            column == "due" and self._running(row) and row.due_at - self._now < DUE_SOON)
        if not bold:
            return None
        font = QFont()
        font.setBold(True)
        return font

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
        self._query = query
        self._pages.clear()
        self._now = self._clock()
        if recount:
            self._count = self._fetch_count()
        self.endResetModel()


_ROLES = frozenset({
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ForegroundRole, TAR_ROLE, ROW_ROLE,
})
