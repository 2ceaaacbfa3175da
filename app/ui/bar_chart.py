"""A bar chart drawn with QPainter, and the table model behind it (issue 14: the committee dashboard).

Why not QtCharts: it ships in PySide6-Addons (hundreds of MB unpacked), which the bundle cannot carry within its
150 MB compressed budget, and PySide6-Essentials has no QtCharts (docs/oversight.md, "Charts"). A committee reads
horizontal bars with their values written on them; that is a small widget. It draws an `app.domain.committee.Chart`
(the same data the PDF packet draws with ReportLab graphics), so the screen and the paper agree.

Colour is never alone: every series also has its own fill pattern, every bar its value, the legend names each, and
the table beside the chart holds every figure. The chart's accessible description reads all its values.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.domain.committee import Chart, Table

COLOURS = ("#22603f", "#d08c2e", "#4a6fa5", "#9b4d6b", "#7a7a7a")
PATTERNS = (Qt.BrushStyle.SolidPattern, Qt.BrushStyle.BDiagPattern, Qt.BrushStyle.Dense4Pattern,
            Qt.BrushStyle.CrossPattern, Qt.BrushStyle.FDiagPattern)
BAR = 14
GAP = 8


def _value(chart: Chart, value: float | None) -> str:
    if not value:
        return ""
    return f"{value:,.1f}" if chart.unit == "%" or value % 1 else f"{value:,.0f}"


class BarChartWidget(QWidget):
    """Horizontal bars: one row per category, a bar per series side by side (or stacked)."""

    def __init__(self, chart: Chart, parent: QWidget | None = None):
        super().__init__(parent)
        self.chart = chart
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable by Tab; its description reads its values
        self.setAccessibleName(chart.title)
        self.setAccessibleDescription(chart.describe())
        self.setToolTip(chart.describe() if len(chart.describe()) < 600 else chart.title)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.sizeHint().height())

    def _per_category(self) -> int:
        return 1 if self.chart.stacked else max(1, len(self.chart.series))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        rows = len(self.chart.categories)
        return QSize(640, 40 + 22 + rows * (self._per_category() * BAR + GAP) + 24)

    def _scale(self) -> tuple[float, float]:
        """The value axis' end and step: round numbers (1, 2 or 5 times a power of ten), four or five steps."""
        chart = self.chart
        if chart.maximum is not None:
            return chart.maximum, chart.maximum / 4
        if chart.stacked:
            totals = [sum((s.values[i] or 0) for s in chart.series) for i in range(len(chart.categories))]
        else:
            totals = [v or 0 for s in chart.series for v in s.values]
        top = max([1.0, *totals]) * 1.08
        power = 10 ** math.floor(math.log10(top / 4))
        step = next(power * m for m in (1, 2, 2.5, 5, 10) if top / (power * m) <= 5)
        return step * math.ceil(top / step), step

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        chart = self.chart
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        ink = palette.color(palette.ColorRole.WindowText)
        grid = QColor(ink)
        grid.setAlpha(40)
        metrics = QFontMetrics(self.font())
        label_width = min(int(self.width() * 0.4), max((metrics.horizontalAdvance(c) for c in chart.categories),
                                                       default=60) + 12)
        left, right = label_width, self.width() - 48
        top = 18 if chart.target is not None else 8  # room above the bars for the target's label
        legend_height = 22  # the legend (several series) and the unit share the last line
        plot_bottom = self.height() - 24 - legend_height
        maximum, step_value = self._scale()
        width = max(10, right - left)

        def x_of(value: float) -> float:
            return left + width * value / maximum

        painter.setPen(QPen(grid))
        for step in range(0, int(round(maximum / step_value)) + 1):  # the value axis: grid lines, their values
            value = step_value * step
            x = x_of(value)
            painter.drawLine(int(x), top, int(x), plot_bottom)
            painter.setPen(QPen(ink))
            tick = f"{value:,.0f}" if float(step_value).is_integer() else f"{value:,.1f}"
            painter.drawText(QRectF(x - 30, plot_bottom + 2, 60, 16), Qt.AlignmentFlag.AlignHCenter, tick)
            painter.setPen(QPen(grid))
        y = top
        for i, category in enumerate(chart.categories):
            row_height = self._per_category() * BAR
            painter.setPen(QPen(ink))
            painter.drawText(QRectF(0, y, label_width - 8, row_height),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, category)
            start = 0.0
            for n, series in enumerate(chart.series):
                value = series.values[i] or 0.0
                colour = QColor(COLOURS[n % len(COLOURS)])
                if chart.stacked:
                    rect = QRectF(x_of(start), y, x_of(start + value) - x_of(start), BAR - 2)
                    start += value
                else:
                    rect = QRectF(left, y + n * BAR, x_of(value) - left, BAR - 2)
                painter.fillRect(rect, QColor("white"))
                painter.fillRect(rect, QBrush(colour, PATTERNS[n % len(PATTERNS)]))
                painter.setPen(QPen(colour))
                painter.drawRect(rect)
                if not chart.stacked and value:
                    painter.setPen(QPen(ink))
                    painter.drawText(QRectF(rect.right() + 4, rect.top() - 1, 60, BAR),
                                     Qt.AlignmentFlag.AlignVCenter, _value(chart, value))
            if chart.stacked and start:
                painter.setPen(QPen(ink))
                painter.drawText(QRectF(x_of(start) + 4, y - 1, 60, BAR), Qt.AlignmentFlag.AlignVCenter,
                                 _value(chart, start))
            y += row_height + GAP
        if chart.target is not None:
            pen = QPen(QColor("#b3261e"))
            pen.setStyle(Qt.PenStyle.DashLine)
            pen.setWidth(2)
            painter.setPen(pen)
            x = x_of(chart.target)
            painter.drawLine(int(x), top, int(x), plot_bottom)
            painter.drawText(QRectF(x - 120, 0, 240, 16), Qt.AlignmentFlag.AlignHCenter,
                             f"target {chart.target:g}{chart.unit}")
        painter.setPen(QPen(ink))
        painter.drawText(QRectF(right - 300, self.height() - 20, 346, 18),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, chart.unit)
        if len(chart.series) > 1:
            x = left
            ly = self.height() - legend_height
            for n, series in enumerate(chart.series):
                colour = QColor(COLOURS[n % len(COLOURS)])
                swatch = QRectF(x, ly + 4, 12, 12)
                painter.fillRect(swatch, QColor("white"))
                painter.fillRect(swatch, QBrush(colour, PATTERNS[n % len(PATTERNS)]))
                painter.setPen(QPen(colour))
                painter.drawRect(swatch)
                painter.setPen(QPen(ink))
                painter.drawText(QRectF(x + 16, ly, 400, 20), Qt.AlignmentFlag.AlignVCenter, series.name)
                x += 16 + metrics.horizontalAdvance(series.name) + 18
        if self.hasFocus():
            pen = QPen(palette.color(palette.ColorRole.Highlight))
            pen.setWidth(2)
            painter.setPen(pen)
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
        painter.end()


class SpecTableModel(QAbstractTableModel):
    """A read-only model over an `app.domain.committee.Table` (its totals row last)."""

    def __init__(self, table: Table, parent=None):
        super().__init__(parent)
        self.table = table
        self._rows = list(table.rows) + ([table.total] if table.total is not None else [])

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.table.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        key = self.table.columns[index.column()][0]
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.table.cell(row, key) if key in row else ""
        if role == Qt.ItemDataRole.TextAlignmentRole:
            value = row.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self.table.total is not None and index.row() == len(self._rows) - 1:
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.table.columns[section][1] if 0 <= section < len(self.table.columns) else None
        return str(section + 1)

    def cells(self) -> list[list[str]]:
        """Every cell as shown (tests compare it with the figures)."""
        return [[self.data(self.index(r, c)) for c in range(self.columnCount())] for r in range(self.rowCount())]
