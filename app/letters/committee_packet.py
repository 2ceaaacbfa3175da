"""The UM committee packet as a PDF (issue 14, scope 5): the dashboard's sections, each chart drawn as vector
graphics (ReportLab graphics bar charts) with its table, page numbers and the date of preparation.

Uses the letters' set-up (app.letters.fonts: embedded Noto Sans; the letters' ink, green and grey; ReportLab's
invariant mode and the two-pass canvas that knows the page count), and the plan's name from resources/plan.toml.
The sections and their order are app.store.committee.SECTIONS; this module only draws `SectionView`s.
"""
from __future__ import annotations

import io
from datetime import datetime
from html import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Frame, KeepTogether, PageTemplate, Paragraph,
                                Spacer, Table as RLTable, TableStyle)

from app.domain.committee import Chart, Filters, SectionView, Table
from app.domain.plantime import to_plan
from app.letters import fonts
from app.letters.render import GREEN, GREY, INK, _RENDER_LOCK

MARGIN = 0.7 * inch
SERIES_COLOURS = (colors.HexColor("#22603f"), colors.HexColor("#d08c2e"), colors.HexColor("#4a6fa5"),
                  colors.HexColor("#9b4d6b"), colors.HexColor("#7a7a7a"))
RULE = colors.HexColor("#c9c9c9")


class _Styles:
    def __init__(self):
        fonts.register()
        self.body = ParagraphStyle("body", fontName=fonts.BODY, fontSize=9.5, leading=12.5, textColor=INK,
                                   spaceAfter=4)
        self.note = ParagraphStyle("note", parent=self.body, fontSize=8.5, leading=11, textColor=GREY)
        self.title = ParagraphStyle("title", parent=self.body, fontName=fonts.BODY_BOLD, fontSize=20, leading=25,
                                    textColor=GREEN, spaceAfter=6)
        self.h1 = ParagraphStyle("h1", parent=self.body, fontName=fonts.BODY_BOLD, fontSize=15, leading=19,
                                 textColor=GREEN, spaceBefore=10, spaceAfter=6, keepWithNext=1)
        self.h2 = ParagraphStyle("h2", parent=self.body, fontName=fonts.BODY_BOLD, fontSize=11, leading=14,
                                 spaceBefore=6, spaceAfter=4, keepWithNext=1)
        self.cell = ParagraphStyle("cell", parent=self.body, fontSize=8, leading=10, spaceAfter=0)
        self.head = ParagraphStyle("head", parent=self.cell, fontName=fonts.BODY_BOLD)


def _plan_name() -> str:
    try:
        from app.letters.templates import plan_profile

        return plan_profile().get("plan", {}).get("name", "")
    except Exception:  # noqa: BLE001 - a packet without the plan's name is still a packet
        return ""


def chart_drawing(chart: Chart, width: float) -> Drawing:
    """A horizontal bar chart (categories down the left, one bar per series, stacked or side by side)."""
    categories = list(chart.categories)
    series = list(chart.series)
    per_category = 1 if chart.stacked else max(1, len(series))
    bar = 9.0
    plot_height = max(40.0, len(categories) * (per_category * bar + 8))
    label_width = min(width * 0.42, max(60.0, max((fonts_width(c, 7.5) for c in categories), default=60) + 8))
    legend_rows = _legend_rows(series, width - label_width) if len(series) > 1 else 0
    legend_height = 12.0 * legend_rows + 2 if legend_rows else 0.0
    height = plot_height + 34 + legend_height
    drawing = Drawing(width, height)
    plot = HorizontalBarChart()
    plot.x, plot.y = label_width, 20 + legend_height
    plot.width, plot.height = width - label_width - 36, plot_height
    data = [[0.0 if v is None else float(v) for v in s.values] for s in series] or [[0.0] * len(categories)]
    # ReportLab draws the first category at the bottom: reverse so the chart reads top-down like its table.
    # Side-by-side bars are drawn bottom-up too: reverse the series as well, so the first series is on top.
    order = list(range(len(data))) if chart.stacked else list(reversed(range(len(data))))
    plot.data = [list(reversed(data[i])) for i in order]
    plot.categoryAxis.categoryNames = list(reversed(categories))
    plot.categoryAxis.labels.fontName = fonts.BODY
    plot.categoryAxis.labels.fontSize = 7.5
    plot.categoryAxis.labels.boxAnchor = "e"
    plot.categoryAxis.labels.dx = -4
    plot.categoryAxis.style = "stacked" if chart.stacked else "parallel"
    plot.categoryAxis.strokeColor = RULE
    plot.valueAxis.valueMin = 0
    top = max([sum(col) for col in zip(*data)] if chart.stacked else [v for row in data for v in row], default=0)
    plot.valueAxis.valueMax = chart.maximum if chart.maximum is not None else max(1.0, top * 1.15)
    plot.valueAxis.labels.fontName = fonts.BODY
    plot.valueAxis.labels.fontSize = 7
    plot.valueAxis.strokeColor = RULE
    plot.valueAxis.gridStrokeColor = colors.HexColor("#ececec")
    plot.valueAxis.visibleGrid = 1
    plot.barSpacing = 1
    plot.groupSpacing = 6
    if not chart.stacked:  # each bar its value; a stacked bar its total (below), the table its parts
        plot.barLabelFormat = _value_text(chart)
        plot.barLabels.fontName = fonts.BODY
        plot.barLabels.fontSize = 6.5
        plot.barLabels.boxAnchor = "w"
        plot.barLabels.dx = 3
        plot.barLabels.fillColor = INK
    for position, i in enumerate(order):
        plot.bars[position].fillColor = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        plot.bars[position].strokeColor = None
    drawing.add(plot)
    if chart.stacked:
        totals = [sum(col) for col in zip(*data)]
        step = plot.height / max(1, len(categories))
        for i, total in enumerate(totals):
            y = plot.y + plot.height - (i + 0.5) * step - 2.5
            x = plot.x + plot.width * total / plot.valueAxis.valueMax + 3
            drawing.add(String(x, y, _value_text(chart)(total), fontName=fonts.BODY, fontSize=6.5, fillColor=INK))
    if chart.target is not None:
        x = plot.x + plot.width * chart.target / plot.valueAxis.valueMax
        drawing.add(Line(x, plot.y, x, plot.y + plot.height, strokeColor=colors.HexColor("#b3261e"),
                         strokeDashArray=[3, 2], strokeWidth=1))
        drawing.add(String(x + 2, plot.y + plot.height + 3, f"target {chart.target:g}{chart.unit}",
                           fontName=fonts.BODY, fontSize=7, fillColor=colors.HexColor("#b3261e")))
    drawing.add(String(plot.x + plot.width, plot.y - 19, chart.unit, fontName=fonts.BODY, fontSize=7,
                       fillColor=GREY, textAnchor="end"))
    if len(series) > 1:  # the legend: a swatch and the series' name, wrapped onto as many rows as it needs
        x, y = plot.x, legend_height - 10
        for i, s in enumerate(series):
            item = 14 + fonts_width(s.name, 7.5) + 12
            if x + item > width and x > plot.x:
                x, y = plot.x, y - 12
            drawing.add(Rect(x, y, 8, 8, fillColor=SERIES_COLOURS[i % len(SERIES_COLOURS)], strokeColor=None))
            drawing.add(String(x + 11, y + 1, s.name, fontName=fonts.BODY, fontSize=7.5, fillColor=INK))
            x += item
    return drawing


def _legend_rows(series, room: float) -> int:
    rows, used = 1, 0.0
    for s in series:
        item = 14 + fonts_width(s.name, 7.5) + 12
        if used + item > room and used > 0:
            rows, used = rows + 1, 0.0
        used += item
    return rows


def _value_text(chart: Chart):
    return lambda v: "" if not v else f"{v:,.1f}" if chart.unit == "%" or v % 1 else f"{v:,.0f}"


def fonts_width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, fonts.BODY, size)


def table_flowable(table: Table, styles: _Styles, width: float) -> RLTable:
    header = [Paragraph(escape(label), styles.head) for _, label in table.columns]
    body = [[Paragraph(escape(table.cell(row, key)), styles.cell) for key, _ in table.columns] for row in table.rows]
    if table.total is not None:
        body.append([Paragraph(escape(table.cell(table.total, key)) if key in table.total else "", styles.head)
                     for key, _ in table.columns])
    if not body:
        body = [[Paragraph("None in the period.", styles.cell)] + [""] * (len(table.columns) - 1)]
    result = RLTable([header, *body], colWidths=_column_widths(table, width), repeatRows=1)
    style = [("LINEBELOW", (0, 0), (-1, 0), 0.8, GREEN), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f4")]),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    if table.total is not None:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 0.6, GREY))
    result.setStyle(TableStyle(style))
    return result


def _column_widths(table: Table, width: float) -> list[float]:
    """Every column at least as wide as its longest word (headers in bold); the room left goes to the columns
    whose cells would otherwise wrap, in proportion to what they lack."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    rows = list(table.rows) + ([table.total] if table.total else [])
    pad = 14.0  # the table's cell padding, 6 points a side, and a little air
    least, wanted = [], []
    for key, label in table.columns:
        cells = [table.cell(row, key) for row in rows]
        words = [w for w in label.split()] + [w for text in cells for w in text.split()]
        least.append(max((stringWidth(w, fonts.BODY_BOLD, 8) for w in words), default=20) + pad)
        wanted.append(max([stringWidth(text, fonts.BODY, 8) for text in cells]
                          + [stringWidth(label, fonts.BODY_BOLD, 8) * 0.6], default=20) + pad)
    wanted = [max(w, l) for w, l in zip(wanted, least)]
    if sum(wanted) <= width:
        return [width * w / sum(wanted) for w in wanted]
    room = max(0.0, width - sum(least))
    lacking = [w - l for w, l in zip(wanted, least)]
    total = sum(lacking) or 1.0
    widths = [l + room * k / total for l, k in zip(least, lacking)]
    scale = width / sum(widths)
    return [w * scale for w in widths]


def _canvas_class(title: str, prepared: str):
    class _PacketCanvas(rl_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                width, height = self._pagesize
                self.saveState()
                self.setFont(fonts.BODY, 8)
                self.setFillColor(GREY)
                self.drawString(MARGIN, height - MARGIN * 0.6, title)
                self.setStrokeColor(RULE)
                self.line(MARGIN, height - MARGIN * 0.6 - 4, width - MARGIN, height - MARGIN * 0.6 - 4)
                self.drawString(MARGIN, MARGIN * 0.5, f"Prepared {prepared}")
                self.drawRightString(width - MARGIN, MARGIN * 0.5, f"Page {number} of {total}")
                self.restoreState()
                super().showPage()
            super().save()

    return _PacketCanvas


def render_packet(views: tuple[SectionView, ...], filters: Filters, prepared_at: datetime) -> bytes:
    """The packet as PDF bytes."""
    styles = _Styles()
    plan = _plan_name()
    prepared = to_plan(prepared_at).strftime("%m/%d/%Y %I:%M %p PT")
    buffer = io.BytesIO()
    width, height = LETTER
    frame_width = width - 2 * MARGIN
    title = f"{plan + ' · ' if plan else ''}UM Committee packet · {filters.describe()}"
    doc = BaseDocTemplate(buffer, pagesize=LETTER, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                          bottomMargin=MARGIN, title="Utilization Management Committee packet", author=plan,
                          subject=filters.describe(), creator="UMWS committee packet", invariant=1,
                          pageCompression=1, initialFontName=fonts.BODY, initialFontSize=10)
    frame = Frame(MARGIN, MARGIN, frame_width, height - 2 * MARGIN - 0.2 * inch, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate("page", [frame])])
    story = [Paragraph("Utilization Management Committee packet", styles.title),
             Paragraph(escape(plan), styles.h2) if plan else Spacer(1, 1),
             Paragraph(f"Period and filters: {escape(filters.describe())}", styles.body),
             Paragraph(f"Date of preparation: {escape(prepared)}", styles.body),
             Paragraph("Sections: " + escape(", ".join(v.title for v in views)), styles.body),
             Paragraph("Every figure is counted from the store's case records when the packet is prepared; each "
                       "chart is followed by the table behind it.", styles.note)]
    for view in views:
        story.append(CondPageBreak(2.5 * inch))
        story.append(Paragraph(escape(view.title), styles.h1))
        for panel in view.panels:
            parts = [Paragraph(escape(panel.table.title), styles.h2)]
            if panel.chart is not None and not panel.chart.empty:
                parts.append(chart_drawing(panel.chart, frame_width))
                parts.append(Spacer(1, 4))
            elif panel.chart is not None:
                parts.append(Paragraph("Nothing to chart in the period.", styles.note))
            story.append(KeepTogether(parts))
            story.append(table_flowable(panel.table, styles, frame_width))
            story.append(Spacer(1, 8))
        for note in view.notes:
            story.append(Paragraph(escape(note), styles.note))
    with _RENDER_LOCK:
        doc.build(story, canvasmaker=_canvas_class(title, prepared))
    return buffer.getvalue()
