"""The self-check's letter step: a real Notice of Action, rendered with every bundled font embedded.

`LETTER_RENDERER` (`render_notice_of_action`) takes a demo case of the throwaway store, denies it as a demo
medical director through the service layer (which drafts the member's and the provider's letters, as in the
workstation), and renders the member's notice through the letters pipeline (`app.services.letters.preview_letter`):
the content model, the linter, the templates in resources/letters and the taglines in every language, so every
bundled font is used. `render_font_sample`, a page with a line in each font, stays for the tests of `check()`.
`check()` verifies the PDF is whole and embeds every bundled font.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Callable

from app.selfcheck import Context, StepFailed

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
    """A one-page PDF with a line in each bundled TrueType font (the tests of `check()` give it fonts of their own)."""
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


def render_notice_of_action(context: Context, out: Path) -> str:
    """Deny a demo case as a demo medical director and render the member's Notice of Action (in English, whose
    template always ships; the member's own language decides only what is issued, not what the check renders)."""
    from sqlalchemy import select

    from app.services import letters
    from app.services.cases import decide_case
    from app.store.models import Case, User

    with context.store.session() as session, session.begin():
        physician = session.scalar(select(User.username).where(User.role == "medical-director")
                                   .order_by(User.username))
        case = session.scalar(select(Case).where(Case.status.in_(("received", "in-review", "referred")),
                                                 Case.service_category != "bh-sud").order_by(Case.tar))
        if physician is None or case is None:
            raise StepFailed("the demo data has no medical director or no undecided case to deny")
        decide_case(session, case.tar, physician, outcome="deny",
                    rationale="Self-check: the records sent do not show the criteria are met.",
                    member_reason="The records your doctor sent do not show that you need this service now.")
        letter = letters.find_letter(session, case.tar, "member")
        if letter is None:
            raise StepFailed(f"denying TAR {case.tar} drafted no member letter")
        preview = letters.preview_letter(session, letter.id, None, language="en")
    if preview.pdf is None:
        raise StepFailed(f"the member letter of TAR {case.tar} did not render: " + "; ".join(preview.missing_translation))
    out.write_bytes(preview.pdf)
    return f"Notice of Action ({letter.kind}) for denied demo TAR {case.tar}"


LETTER_RENDERER: Callable[[Context, Path], str] = render_notice_of_action


def embedded_font_count(pdf_bytes: bytes) -> int:
    """How many TrueType fonts a PDF embeds (ReportLab writes each subset's outlines as one /FontFile2 stream)."""
    return pdf_bytes.count(b"/FontFile2")


def check(context: Context, renderer: Callable[[Context, Path], str] | None = None,
          fonts: list[Path] | None = None) -> str:
    renderer = renderer or LETTER_RENDERER
    fonts = bundled_fonts() if fonts is None else fonts
    out = context.output("selfcheck-letter.pdf")
    detail = render_font_sample(context, out, fonts) if renderer is render_font_sample else renderer(context, out)
    data = out.read_bytes()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise StepFailed(f"{out} is not a complete PDF")
    embedded = embedded_font_count(data)
    if embedded < len(fonts):
        raise StepFailed(f"the PDF embeds {embedded} fonts, but {len(fonts)} are bundled: every font must be embedded")
    detail = f"{detail}; {embedded} font{'s' if embedded != 1 else ''} embedded, {len(data):,} bytes"
    return detail
