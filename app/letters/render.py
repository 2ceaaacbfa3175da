"""Render a letter's content model to PDF with ReportLab's platypus (issue 7, scopes 4-6).

* Plan letterhead (logo, name, address) on the first page; on every page a header with the member's name, member
  ID, TAR and letter number, and a footer "Page 1 of 3" with the notice date (a second pass of the canvas knows
  the page count: `_LetterCanvas`).
* The "Your Rights" enclosure, the Nondiscrimination Notice and the language taglines each start on a new page.
* Large print: 20 pt Noto Sans (the DHCS standard), headings 24 pt.
* Deterministic: ReportLab's invariant mode (fixed creation date and document id), fixed metadata, no clock or
  random input, so the same content gives the same bytes.
* Every font is an embedded TrueType subset (app.letters.fonts). Taglines in complex scripts are shaped by
  HarfBuzz (uharfbuzz). Right-to-left taglines (Arabic, Farsi): ReportLab's `wordWrap='RTL'` needs its `rlbidi`
  extension, which is not published on PyPI, so without it the words of a line come out in logical order. We
  break RTL taglines into lines ourselves and lay each line out in visual order (right-aligned; runs of
  right-to-left words reversed, embedded left-to-right runs such as phone numbers kept as they are), while
  HarfBuzz shapes each word: `rtl_visual_words`. Good for the taglines' one-paragraph sentences; not a general
  Unicode bidi implementation.
"""
from __future__ import annotations

import io
import re
import threading
from functools import lru_cache
from html import escape
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, KeepTogether, NextPageTemplate, PageBreak,
                                PageTemplate, Paragraph, Spacer)

from app.domain.letters.content import Block, LetterContent, Section, Tagline
from app.letters import fonts
from app.letters.templates import RESOURCES

_RENDER_LOCK = threading.RLock()
MARGIN = 0.85 * inch
HEADER_H = 0.55 * inch
LETTERHEAD_H = 1.45 * inch
INK = colors.HexColor("#1b1b1b")
GREEN = colors.HexColor("#22603f")
GREY = colors.HexColor("#5a5a5a")


class GlyphsMissing(Exception):
    """A tagline uses characters that no shipped font can draw (run tools/build_fonts.py after changing one)."""


class _Styles:
    def __init__(self, large_print: bool):
        size = 20.0 if large_print else 10.5
        self.size = size
        lead = size * 1.32
        self.body = ParagraphStyle("body", fontName=fonts.BODY, bulletFontName=fonts.BODY, bulletFontSize=size,
                                   fontSize=size,
                                   leading=lead, textColor=INK,
                                   spaceAfter=size * 0.5)
        self.bullet = ParagraphStyle("bullet", parent=self.body, leftIndent=size * 1.4, bulletIndent=size * 0.4,
                                     spaceAfter=size * 0.25)
        self.heading = ParagraphStyle("heading", parent=self.body, fontName=fonts.BODY_BOLD,
                                      fontSize=size * (1.2 if large_print else 1.15),
                                      leading=size * (1.2 if large_print else 1.15) * 1.3, spaceBefore=size * 0.6,
                                      spaceAfter=size * 0.3, textColor=GREEN, keepWithNext=1)
        self.subheading = ParagraphStyle("subheading", parent=self.body, fontName=fonts.BODY_BOLD,
                                         spaceAfter=size * 0.2, keepWithNext=1)
        title_size = size * (1.3 if large_print else 1.6)
        self.title = ParagraphStyle("title", parent=self.body, fontName=fonts.BODY_BOLD, fontSize=title_size,
                                    leading=title_size * 1.2, spaceBefore=size * 0.4, spaceAfter=size * 0.2,
                                    textColor=GREEN)
        self.subtitle = ParagraphStyle("subtitle", parent=self.body, fontName=fonts.BODY_BOLD,
                                       fontSize=size * 1.1, leading=size * 1.4, spaceAfter=size * 0.8)
        self.address = ParagraphStyle("address", parent=self.body, spaceAfter=0)
        tag = 20.0 if large_print else 9.5
        self.tag_size = tag
        self.tag_label = ParagraphStyle("tag-label", fontName=fonts.BODY_BOLD, fontSize=tag, leading=tag * 1.45,
                                        textColor=GREEN, spaceBefore=tag * 0.5, keepWithNext=1)
        self.tag_text = ParagraphStyle("tag-text", fontName=fonts.BODY, fontSize=tag, leading=tag * 1.6,
                                       textColor=INK, shaping=1)


def _markup(text: str) -> str:
    return escape(text, quote=False)


@lru_cache(maxsize=4096)
def _script_markup(text: str, script: str) -> str:
    """Text as paragraph markup with each run in the font that has its glyphs."""
    base = fonts.chain(script)[0]
    parts = []
    for font, run in fonts.runs(text, script):
        parts.append(_markup(run) if font == base else f'<font name="{font}">{_markup(run)}</font>')
    return "".join(parts)


_RTL_CHAR = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LTR_CHAR = re.compile(r"[A-Za-z0-9\u00c0-\u024f]")


def rtl_visual_words(words: list[str]) -> list[str]:
    """The words of one right-to-left line in the order they are drawn from left to right: the runs of the line
    in reverse order; inside a right-to-left run the words reversed, inside a left-to-right run (Latin words,
    numbers) kept. A word with neither kind of letter goes with the run before it."""
    groups: list[tuple[str, list[str]]] = []
    for word in words:
        direction = "R" if _RTL_CHAR.search(word) else "L" if _LTR_CHAR.search(word) else None
        if direction is None:
            direction = groups[-1][0] if groups else "R"
        if groups and groups[-1][0] == direction:
            groups[-1][1].append(word)
        else:
            groups.append((direction, [word]))
    out: list[str] = []
    for direction, group in reversed(groups):
        out.extend(reversed(group) if direction == "R" else group)
    return out


def _width(text: str, script: str, size: float) -> float:
    return sum(stringWidth(run, font, size) for font, run in fonts.runs(text, script))


def _rtl_paragraphs(text: str, script: str, style: ParagraphStyle, width: float) -> list[Paragraph]:
    """One right-aligned paragraph per line, each line's words in visual order (see the module docstring)."""
    words = text.split()
    size = style.fontSize
    space = stringWidth(" ", fonts.BODY, size)
    widths = [_width(word, script, size) for word in words]
    lines: list[list[str]] = []
    current: list[str] = []
    used = 0.0
    limit = width * 0.92  # shaped Arabic runs a little wider or narrower than the sum of isolated forms
    for word, word_width in zip(words, widths):
        if current and used + space + word_width > limit:
            lines.append(current)
            current, used = [word], word_width
        else:
            used += (space if current else 0.0) + word_width
            current.append(word)
    if current:
        lines.append(current)
    line_style = ParagraphStyle(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT, spaceAfter=0,
                                keepWithNext=1)
    out = [Paragraph(_script_markup(" ".join(rtl_visual_words(line)), script), line_style) for line in lines]
    if out:
        out[-1].style = ParagraphStyle(f"{style.name}-rtl-last", parent=line_style, keepWithNext=0,
                                       spaceAfter=style.fontSize * 0.3)
    return out


@lru_cache(maxsize=64)
def check_taglines(taglines: tuple[Tagline, ...]) -> None:
    problems = []
    for tagline in taglines:
        missing = fonts.missing_glyphs(tagline.text + tagline.native_name, tagline.script)
        if missing:
            problems.append(f"{tagline.english_name}: {''.join(sorted(missing))}")
    if problems:
        raise GlyphsMissing("The shipped fonts cannot draw these tagline characters (run tools/build_fonts.py): "
                            + "; ".join(problems))


def _tagline_flowables(tagline: Tagline, styles: _Styles, width: float) -> list:
    font = fonts.chain(tagline.script)[0]
    label_style = ParagraphStyle(f"tag-label-{tagline.language}", parent=styles.tag_label,
                                 fontName=font if tagline.script != "sans" else fonts.BODY_BOLD, shaping=1)
    label = f"{tagline.english_name} · {tagline.native_name}"
    wrap = "CJK" if tagline.script in ("cjk-tc", "cjk-jp") else None  # no spaces between words
    text_style = ParagraphStyle(f"tag-{tagline.language}", parent=styles.tag_text, fontName=font, wordWrap=wrap)
    label_par = Paragraph(_script_markup(label, tagline.script), label_style)  # keepWithNext: never alone
    if tagline.direction == "rtl":
        return [label_par, *_rtl_paragraphs(tagline.text, tagline.script, text_style, width)]
    return [label_par, Paragraph(_script_markup(tagline.text, tagline.script), text_style)]


class _Stack(Flowable):
    """Paragraphs laid out once (wrapped at one width) and drawn as one block, never split: the taglines are the
    same in every member letter, so their line breaking and HarfBuzz shaping are done once per process
    (`_tagline_blocks`) and only drawn on each letter's canvas."""

    def __init__(self, paragraphs: list[Paragraph], width: float):
        super().__init__()
        self.parts = []
        height = 0.0
        for number, paragraph in enumerate(paragraphs):
            before = paragraph.style.spaceBefore if number else 0.0
            _, h = paragraph.wrap(width, 10_000)
            self.parts.append((paragraph, height + before, h))
            height += before + h + paragraph.style.spaceAfter
        self.block_width, self.block_height = width, height
        self.spaceBefore = paragraphs[0].style.spaceBefore if paragraphs else 0.0

    def wrap(self, avail_width, avail_height):
        return self.block_width, self.block_height

    def split(self, avail_width, avail_height):
        return []  # kept together: moves to the next page whole

    def draw(self):
        for paragraph, top, height in self.parts:
            paragraph.drawOn(self.canv, 0, self.block_height - top - height)


@lru_cache(maxsize=16)
def _tagline_blocks(taglines: tuple[Tagline, ...], large_print: bool, width: float) -> tuple[_Stack, ...]:
    styles = _Styles(large_print)
    return tuple(_Stack(_tagline_flowables(tagline, styles, width), width) for tagline in taglines)


def _section_flowables(section: Section, styles: _Styles) -> list:
    out: list = []
    if section.heading:
        out.append(Paragraph(_markup(section.heading), styles.heading))
    for block in section.blocks:
        out.append(_block(block, styles))
    return out


def _block(block: Block, styles: _Styles) -> Paragraph:
    if block.style == "bullet":
        return Paragraph(_markup(block.text), styles.bullet, bulletText="•")
    if block.style == "h":
        return Paragraph(_markup(block.text), styles.subheading)
    return Paragraph(_markup(block.text), styles.body)


def story(content: LetterContent, styles: _Styles, width: float) -> list:
    s: list = []
    for line in content.address_lines:
        s.append(Paragraph(_markup(line), styles.address))
    if content.regarding:
        s.append(Spacer(1, styles.size * 0.8))
        label = content.labels.get("regarding", "Regarding")
        s.append(Paragraph(f"<b>{_markup(label)}:</b> " + _markup(" · ".join(content.regarding)), styles.address))
    s.append(Spacer(1, styles.size))
    s.append(Paragraph(_markup(content.title), styles.title))
    if content.subtitle:
        s.append(Paragraph(_markup(content.subtitle), styles.subtitle))
    if content.salutation:
        s.append(Paragraph(_markup(content.salutation), styles.body))
    for section in content.part("letter"):
        s.extend(_section_flowables(section, styles))
    if content.signature:
        s.append(Spacer(1, styles.size * 0.6))
        signature = [Paragraph(_markup(line), styles.address) for line in content.signature]
        s.append(KeepTogether(signature))
    if content.enclosures:
        s.append(Spacer(1, styles.size))
        s.append(Paragraph(f"<b>{_markup(content.labels.get('enclosures', 'Enclosures'))}:</b> "
                           + _markup(", ".join(content.enclosures)), styles.body))
    for part in ("rights", "nondiscrimination"):
        sections = content.part(part)
        if sections:
            s.append(PageBreak())
            for number, section in enumerate(sections):
                flow = _section_flowables(section, styles)
                if number == 0 and section.heading:
                    flow[0] = Paragraph(_markup(section.heading), styles.title)
                s.extend(flow)
    if content.taglines:
        s.append(PageBreak())
        s.append(Paragraph(_markup(content.taglines_heading or "Language Assistance"), styles.title))
        blocks = _tagline_blocks(content.taglines, content.large_print, width)
        for block in blocks:  # platypus marks a flowable it moved to the next page; these live on between letters
            block.__dict__.pop("_postponed", None)
        s.extend(blocks)
    return s


def _canvas_class(content: LetterContent, plan: dict, draft: bool, large_print: bool):
    """A canvas that keeps every page until the end, then draws the furniture that needs the page count."""
    labels = content.labels
    member = content.values.get("member_name") or ""
    member_id = content.values.get("member_id") or ""
    plan_name = plan.get("plan", {}).get("name", "")
    notice = content.values.get("notice_date_text") or ""
    size = 14.0 if large_print else 8.0

    class _LetterCanvas(rl_canvas.Canvas):
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
                self._furniture(number, total)
                super().showPage()
            super().save()

        def _furniture(self, number: int, total: int) -> None:
            width, height = self._pagesize
            self.saveState()
            self.setFont(fonts.BODY, size)
            self.setFillColor(GREY)
            ids = (f"{member} · {labels.get('member_id', 'Member ID')} {member_id} · "
                   f"{labels.get('tar', 'TAR')} {content.tar} · {labels.get('letter', 'Letter')} "
                   f"{content.letter_ref}")
            self.drawString(MARGIN, height - MARGIN * 0.55, ids)
            self.setStrokeColor(colors.HexColor("#c9c9c9"))
            self.line(MARGIN, height - MARGIN * 0.55 - 4, width - MARGIN, height - MARGIN * 0.55 - 4)
            page = labels.get("page", "Page {page} of {pages}").format(page=number, pages=total)
            self.drawRightString(width - MARGIN, MARGIN * 0.5, page)
            left = f"{labels.get('notice_date', 'Notice date')}: {notice}"  # large print: no room for more
            self.drawString(MARGIN, MARGIN * 0.5, left if large_print else f"{plan_name} · {left}")
            if draft:
                self.setFont(fonts.BODY_BOLD, 40)
                self.setFillColor(colors.Color(0.8, 0.1, 0.1, alpha=0.18))
                self.translate(width / 2, height / 2)
                self.rotate(35)
                self.drawCentredString(0, 0, labels.get("draft", "DRAFT"))
            self.restoreState()

    return _LetterCanvas


def _letterhead(content: LetterContent, plan: dict, styles: _Styles):
    profile = plan.get("plan", {})
    logo = profile.get("logo")
    logo_path = RESOURCES / logo if logo else None
    address = profile.get("address") or []
    notice_label = content.labels.get("notice_date", "Notice date")
    notice = content.values.get("notice_date_text") or ""
    name_size = 15.0 if not content.large_print else 20.0
    small = 9.0 if not content.large_print else 14.0

    def draw(canvas, doc):
        width, height = canvas._pagesize
        top = height - MARGIN - HEADER_H * 0.35
        canvas.saveState()
        if logo_path and Path(logo_path).exists():
            canvas.drawImage(str(logo_path), MARGIN, top - 0.62 * inch, width=1.86 * inch, height=0.62 * inch,
                             mask="auto")
        canvas.setFillColor(GREEN)
        canvas.setFont(fonts.BODY_BOLD, name_size)
        canvas.drawRightString(width - MARGIN, top - name_size * 0.9, profile.get("name", ""))
        canvas.setFont(fonts.BODY, small)
        canvas.setFillColor(INK)
        y = top - name_size * 0.9 - small * 1.4
        for line in address:
            canvas.drawRightString(width - MARGIN, y, line)
            y -= small * 1.3
        canvas.setFont(fonts.BODY_BOLD, small)
        canvas.drawRightString(width - MARGIN, y - small * 0.4, f"{notice_label}: {notice}")
        canvas.restoreState()

    return draw


def render(content: LetterContent, plan: dict, *, draft: bool = False) -> bytes:
    """The letter as PDF bytes; the same content and plan give the same bytes."""
    fonts.register()
    check_taglines(content.taglines)
    styles = _Styles(content.large_print)
    buffer = io.BytesIO()
    width, height = LETTER
    frame_width = width - 2 * MARGIN
    doc = BaseDocTemplate(
        buffer, pagesize=LETTER, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"{content.title}: TAR {content.tar}", author=plan.get("plan", {}).get("name", ""),
        subject=f"{content.kind} {content.recipient} {content.language}", creator="UMWS letters",
        producer="UMWS letters (ReportLab)", keywords=f"letter {content.letter_ref}", invariant=1,
        pageCompression=1, lang=content.language,
        initialFontName=fonts.BODY, initialFontSize=10)  # not ReportLab's Helvetica, which is never embedded
    first = Frame(MARGIN, MARGIN, frame_width, height - 2 * MARGIN - HEADER_H - LETTERHEAD_H, id="first",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    later = Frame(MARGIN, MARGIN, frame_width, height - 2 * MARGIN - HEADER_H * 0.5, id="later",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([
        PageTemplate("first", [first], onPage=_letterhead(content, plan, styles), autoNextPageTemplate="later"),
        PageTemplate("later", [later]),
    ])
    with _RENDER_LOCK:  # ReportLab keeps global state (fonts, the cached tagline blocks): one build at a time
        flowables = story(content, styles, frame_width)
        doc.build([NextPageTemplate("later"), *flowables],
                  canvasmaker=_canvas_class(content, plan, draft, content.large_print))
    return buffer.getvalue()
