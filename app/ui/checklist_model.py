"""The criteria tree of the checklist tab as a Qt model (app/ui/checklist.py): groups and criteria of one set
version, in file order, with each criterion's answer, who gave it, and the evidence or the machine's explanation.

Answers show as an icon (a glyph on a disc: check, cross, dash, question mark), a word and an Okabe-Ito colour, so
the colour never carries the answer alone (workstation-ux.md, "Clear and safe"). A group's answer is combined from
its criteria (`app.domain.criteria.node_answers`: ALL / ANY / AT LEAST N, Kleene logic). Checked with pytest-qt's
qtmodeltester (tests/ui/test_checklist_ui.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QAbstractItemModel, QByteArray, QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QFont, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.domain.criteria import ANSWER_LABELS, CriteriaSet, node_answers
from app.domain.criteria.model import Criterion, Group
from app.domain.plantime import format_instant
from app.store.criteria_answers import ChecklistRow

# Okabe-Ito (colour-blind safe); each answer also has its own glyph and word.
ANSWER_COLOURS = {"met": "#009E73", "not-met": "#D55E00", "not-applicable": "#808080", "unknown": "#0072B2"}
_GLYPHS = {
    "met": '<path d="M4.3 8.4 L7 11.1 L11.9 5.2" fill="none" stroke="#FFFFFF" stroke-width="2" '
           'stroke-linecap="round" stroke-linejoin="round"/>',
    "not-met": '<path d="M5.2 5.2 L10.8 10.8 M10.8 5.2 L5.2 10.8" fill="none" stroke="#FFFFFF" stroke-width="2" '
               'stroke-linecap="round"/>',
    "not-applicable": '<path d="M4.5 8 L11.5 8" fill="none" stroke="#FFFFFF" stroke-width="2.2" '
                      'stroke-linecap="round"/>',
    "unknown": '<path d="M5.9 6.2 C5.9 3.6 10.3 3.6 10.3 6.2 C10.3 7.8 8 7.9 8 9.6" fill="none" stroke="#FFFFFF" '
               'stroke-width="1.7" stroke-linecap="round"/><circle cx="8" cy="12.1" r="1.1" fill="#FFFFFF"/>',
}
COLUMNS = ("Criterion", "Answer", "Answered by", "Evidence or explanation")
_icons: dict[str, QIcon] = {}


def answer_icon(answer: str) -> QIcon:
    """The answer's glyph on a disc of its colour with a dark outline, from SVG at several sizes (HiDPI-clean)."""
    icon = _icons.get(answer)
    if icon is None:
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" '
               f'fill="{ANSWER_COLOURS[answer]}" stroke="#000000" stroke-width="0.9"/>{_GLYPHS[answer]}</svg>')
        renderer = QSvgRenderer(QByteArray(svg.encode()))
        icon = QIcon()
        for size in (16, 20, 24, 32, 48):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter, QRectF(0, 0, size, size))
            painter.end()
            icon.addPixmap(pixmap)
        _icons[answer] = icon
    return icon


# --- what the checklist holds ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowState:
    """One criterion as the tree shows it (from the store, from the machine preview, or just answered)."""

    answer: str  # the answer used
    machine: str | None = None  # the machine's answer, for a criterion with a rule
    explanation: str | None = None  # the machine's explanation
    reviewer: str | None = None  # the reviewer's latest answer
    reviewer_by: str | None = None
    reviewer_at: datetime | None = None
    evidence: str | None = None
    override_reason: str | None = None
    machine_changed: bool = False  # the machine's answer moved after the reviewer answered
    answers: int = 0  # answers recorded for it
    pending: bool = False  # answered here, being written

    @property
    def overridden(self) -> bool:
        return (self.reviewer is not None and self.machine in ("met", "not-met", "not-applicable")
                and self.reviewer != self.machine)


def row_state(row: ChecklistRow) -> RowState:
    machine, reviewer = row.machine, row.reviewer
    return RowState(row.answer, machine.answer if machine else None, machine.explanation if machine else None,
                    reviewer.answer if reviewer else None, reviewer.by if reviewer else None,
                    reviewer.at if reviewer else None, reviewer.evidence if reviewer else None,
                    reviewer.override_reason if reviewer else None, row.machine_changed_since_review,
                    len(row.history))



def group_rule(group: Group) -> str:
    """'All of 4', 'Any of 2', 'At least 2 of 6': how a group combines, short enough for a column."""
    count = len(group.children)
    if group.combine == "at-least":
        return f"At least {group.n} of {count}"
    return f"{'All' if group.combine == 'all' else 'Any'} of {count}"


# --- the tree model ------------------------------------------------------------------------------------------------

class ChecklistModel(QAbstractItemModel):
    """The criteria tree of one set version: groups and criteria in file order, four columns (COLUMNS)."""

    NodeIdRole = Qt.ItemDataRole.UserRole + 1
    AnswerRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cset: CriteriaSet | None = None
        self._nodes: list = []  # item number -> node; the number is the index's internal id
        self._parent: list[int] = []  # item number -> parent's item number (-1: top level)
        self._row: list[int] = []  # item number -> row under its parent
        self._children: dict[int, list[int]] = {}  # item number (-1: top level) -> children's item numbers
        self._number: dict[str, int] = {}  # node id -> item number
        self.rows: dict[str, RowState] = {}  # criterion id -> its state
        self._cells: dict[tuple[int, int, int], object] = {}  # (item, column, role) -> value, until rows change
        self.node_answer: dict[str, str] = {}  # every node id -> its answer (groups combined)

    # --- filling ------------------------------------------------------------------------------------------

    def show_set(self, cset: CriteriaSet | None, rows: dict[str, RowState]) -> None:
        self.beginResetModel()
        self.cset = cset
        self._nodes, self._parent, self._row, self._children, self._number = [], [], [], {-1: []}, {}
        if cset is not None:
            self._add(cset.root.children, -1)
        self._set_rows(rows)
        self.endResetModel()

    def _add(self, nodes, parent: int) -> None:
        for row, node in enumerate(nodes):
            number = len(self._nodes)
            self._nodes.append(node)
            self._parent.append(parent)
            self._row.append(row)
            self._children.setdefault(parent, []).append(number)
            self._number[node.id] = number
            if isinstance(node, Group):
                self._children[number] = []
                self._add(node.children, number)

    def _set_rows(self, rows: dict[str, RowState]) -> None:
        self._cells = {}
        self.rows = dict(rows)
        if self.cset is None:
            self.node_answer = {}
        else:
            self.node_answer = node_answers(self.cset, {cid: row.answer for cid, row in self.rows.items()})

    def update_rows(self, rows: dict[str, RowState]) -> None:
        """New states for the same set: every changed row, and the groups above it, are repainted."""
        before = dict(self.node_answer), dict(self.rows)
        self._set_rows(rows)
        last = len(COLUMNS) - 1
        for number, node in enumerate(self._nodes):
            if before[0].get(node.id) != self.node_answer.get(node.id) or before[1].get(node.id) != self.rows.get(node.id):
                self.dataChanged.emit(self.createIndex(self._row[number], 0, number),
                                      self.createIndex(self._row[number], last, number))

    # --- reading ------------------------------------------------------------------------------------------

    def node(self, index: QModelIndex):
        if not index.isValid():
            return None
        return self._nodes[index.internalId()]

    def node_id(self, index: QModelIndex) -> str | None:
        node = self.node(index)
        return node.id if node is not None else None

    def index_of(self, node_id: str, column: int = 0) -> QModelIndex:
        number = self._number.get(node_id)
        if number is None:
            return QModelIndex()
        return self.createIndex(self._row[number], column, number)

    def criteria_in_order(self) -> list[str]:
        return [node.id for node in self._nodes if isinstance(node, Criterion)]

    # --- QAbstractItemModel -------------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        if parent.isValid():
            if parent.column() != 0:
                return QModelIndex()
            children = self._children.get(parent.internalId(), [])
        else:
            children = self._children.get(-1, [])
        if row >= len(children):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        up = self._parent[index.internalId()]
        if up < 0:
            return QModelIndex()
        return self.createIndex(self._row[up], 0, up)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if parent.isValid():
            if parent.column() != 0:
                return 0
            return len(self._children.get(parent.internalId(), []))
        return len(self._children.get(-1, []))

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not self.hasChildren(index):
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS) and role in (
                Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        """A cell's value, kept until the rows change (a paint asks for every cell several times)."""
        if not index.isValid():
            return None
        key = (index.internalId(), index.column(), int(role))
        try:
            return self._cells[key]
        except KeyError:
            value = self._cells[key] = self._data(index, role)
            return value

    def _data(self, index: QModelIndex | QPersistentModelIndex, role: int):
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        answer = self.node_answer.get(node.id, "unknown")
        if role == self.NodeIdRole:
            return node.id
        if role == self.AnswerRole:
            return answer
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(node, column, answer)
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return answer_icon(answer)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node, column, answer)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = self._text(node, column, answer) or "none"
            return f"{COLUMNS[column]}: {text}"
        if role == Qt.ItemDataRole.FontRole and isinstance(node, Group) and column == 0:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _text(self, node, column: int, answer: str) -> str:
        if column == 0:
            return node.text
        if column == 1:
            row = self.rows.get(node.id)
            return ANSWER_LABELS[answer] + (" (check)" if row is not None and row.machine_changed else "")
        if isinstance(node, Group):
            return group_rule(node) if column == 2 else ""
        row = self.rows.get(node.id)
        if column == 2:
            if row is not None and row.pending:
                return "Saving…"
            if row is not None and row.reviewer is not None:
                return "Override" if row.overridden else "Reviewer"
            if row is not None and row.machine is not None:
                return "Machine"
            return "To answer"
        if row is None:
            return ""
        if row.reviewer is not None and row.evidence:
            return row.evidence
        if row.reviewer is not None and row.overridden and row.override_reason:
            return f"Override: {row.override_reason}"
        return row.explanation or ""

    def _tooltip(self, node, column: int, answer: str) -> str:
        if column == 0:
            return node.text
        row = self.rows.get(node.id)
        if column == 2 and row is not None and row.reviewer is not None:
            who = row.reviewer_by or "the reviewer"
            when = f", {format_instant(row.reviewer_at, year=True)}" if row.reviewer_at else ""
            return f"{'Override of the machine' if row.overridden else 'Answered'} by {who}{when}"
        if column == 2 and isinstance(node, Group):
            return node.describe()
        if column == 3 and row is not None:
            parts = [f"Machine: {row.explanation}" if row.explanation else "",
                     f"Evidence: {row.evidence}" if row.evidence else "",
                     f"Override reason: {row.override_reason}" if row.overridden and row.override_reason else ""]
            return "\n".join(p for p in parts if p) or None
        return self._text(node, column, answer) or None


