"""The self-check's letter step: render a PDF with every bundled font, embedded.

MERGE HOOK (for whoever merges the letters capability, app/letters/): `LETTER_RENDERER` is the function the step
calls, `renderer(context, out_path) -> str` (what it rendered, in words; raise StepFailed saying why it could not).
Until app/letters exists it is `render_font_sample`, a one-page ReportLab document with a line in each TrueType
font under resources/fonts/. When app/letters is merged, point `LETTER_RENDERER` at a function that renders a real
Notice of Action for a denied demo case of `context.store` (every language with a template, so the taglines use
every bundled font) through the letters renderer; `check()` then verifies the same things of its PDF. While
app/letters exists and the hook is not switched, the step warns so that it cannot be forgotten.
"""
from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path
from typing import Callable

from app.selfcheck import Context, StepFailed, StepWarning

FONT_SUFFIXES = (".ttf", ".ttc")


def fonts_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "resources" / "fonts"


def bundled_fonts(folder: Path | None = None) -> list[Path]:
    """Every TrueType font file under resources/fonts (any depth), in a stable order."""
    folder = folder or fonts_dir()
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in FONT_SUFFIXES and path.is_file())


def _sample_text(face, limit: int = 36) -> str:
    """Characters this font has glyphs for: a few Latin letters if present, then a spread across its other
    characters (its own script), so the line shows the font rather than a fallback."""
    printable = sorted(code for code in face.charToGlyph
                       if code > 0x20 and not unicodedata.category(chr(code)).startswith(("C", "Z", "M")))
    latin = [code for code in printable if chr(code) in "AaBbZz0123"]
    others = [code for code in printable if code > 0x2FF]
    step = max(1, len(others) // limit)
    chosen = latin + others[::step][:limit]
    return "".join(chr(code) for code in (chosen or printable[:limit]))


def render_font_sample(context: Context, out: Path, fonts: list[Path] | None = None) -> str:
    """A one-page PDF with a line in each bundled TrueType font (the stand-in until app/letters is merged)."""
    from reportlab.lib.pagesizes import LETTER
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont
    from reportlab.pdfgen import canvas

    fonts = bundled_fonts() if fonts is None else fonts
    pdf = canvas.Canvas(str(out), pagesize=LETTER, invariant=1)
    pdf.setTitle("umws self-check: bundled fonts")
    pdf.setFont("Helvetica-Bold", 14)
    y = LETTER[1] - 72
    pdf.drawString(72, y, "UM Reviewer Workstation self-check: bundled fonts")
    y -= 28
    if not fonts:
        pdf.setFont("Helvetica", 11)
        pdf.drawString(72, y, "No fonts are bundled under resources/fonts; this line uses Helvetica.")
    for number, path in enumerate(fonts):
        name = f"selfcheck-{number}-{path.stem}"
        try:
            font = TTFont(name, str(path), subfontIndex=0) if path.suffix.lower() == ".ttc" else TTFont(name, str(path))
        except (TTFError, OSError) as error:
            raise StepFailed(f"the bundled font {path} cannot be used ({error}); ReportLab needs TrueType "
                             "outlines (.ttf, or .ttc with a TrueType face)") from error
        pdfmetrics.registerFont(font)
        if y < 72:
            pdf.showPage()
            y = LETTER[1] - 72
        pdf.setFont("Helvetica", 8)
        pdf.drawString(72, y, path.name)
        pdf.setFont(name, 12)
        pdf.drawString(72, y - 14, _sample_text(font.face))
        y -= 36
    pdf.showPage()
    pdf.save()
    if not fonts:
        return "no fonts bundled under resources/fonts yet (the letters capability ships them); rendered with Helvetica"
    return f"font sample with {len(fonts)} bundled font{'s' if len(fonts) != 1 else ''}"


LETTER_RENDERER: Callable[[Context, Path], str] = render_font_sample


def embedded_font_count(pdf_bytes: bytes) -> int:
    """How many TrueType fonts a PDF embeds (ReportLab writes each subset's outlines as one /FontFile2 stream)."""
    return pdf_bytes.count(b"/FontFile2")


def check(context: Context, renderer: Callable[[Context, Path], str] | None = None,
          fonts: list[Path] | None = None) -> str:
    renderer = renderer or LETTER_RENDERER
    fonts = bundled_fonts() if fonts is None else fonts
    out = context.output("selfcheck-letter.pdf")
    if renderer is render_font_sample:
        detail = render_font_sample(context, out, fonts)
    else:
        detail = renderer(context, out)
    data = out.read_bytes()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise StepFailed(f"{out} is not a complete PDF")
    embedded = embedded_font_count(data)
    if embedded < len(fonts):
        raise StepFailed(f"the PDF embeds {embedded} fonts, but {len(fonts)} are bundled: every font must be embedded")
    detail = f"{detail}; {embedded} font{'s' if embedded != 1 else ''} embedded, {len(data):,} bytes"
    if renderer is render_font_sample and importlib.util.find_spec("app.letters") is not None:
        raise StepWarning(detail + "; app/letters is present but the self-check still renders the font sample: "
                                   "point LETTER_RENDERER in app/selfcheck/letter.py at the letters renderer")
    return detail
