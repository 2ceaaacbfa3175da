"""The fonts the letters embed (resources/fonts/, SIL Open Font License; see its README.md) and script fallback.

Body text: Noto Sans (Latin, Cyrillic, Vietnamese), regular and bold (no letter uses italics, so none ships): large print is 20 pt of it (the DHCS
standard; sans-serif). Taglines: one Noto Sans family per script, registered `shapable=True` so that ReportLab 5
shapes them with HarfBuzz (uharfbuzz): Arabic and Farsi joining, Devanagari, Gurmukhi, Khmer, Thai and Lao
clusters. Only TrueType outlines, so every font is embedded (as a subset) in every PDF; never ReportLab's built-in
CID fonts, which are not embedded.

`runs()` splits a text into runs by the first font of a script's chain that has a glyph for each character (e.g.
the Latin digits of a phone number inside an Arabic tagline fall back to Noto Sans); `missing_glyphs()` is what
no font of the chain covers (the taglines test and the renderer's refusal use it).
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.lib.fonts import addMapping

FONTS_DIR = Path(__file__).resolve().parents[2] / "resources" / "fonts"

BODY = "UMWS-Sans"
BODY_BOLD = "UMWS-Sans-Bold"

_BODY_FILES = {BODY: "NotoSans-Regular.ttf", BODY_BOLD: "NotoSans-Bold.ttf"}
# script id (resources/letters/taglines.toml) -> font file
SCRIPT_FILES = {
    "sans": "NotoSans-Regular.ttf",
    "armenian": "NotoSansArmenian-Regular.ttf",
    "arabic": "NotoSansArabic-Regular.ttf",
    "khmer": "NotoSansKhmer-Regular.ttf",
    "gurmukhi": "NotoSansGurmukhi-Regular.ttf",
    "devanagari": "NotoSansDevanagari-Regular.ttf",
    "thai": "NotoSansThai-Regular.ttf",
    "lao": "NotoSansLao-Regular.ttf",
    "cjk-tc": "NotoSansCJKtc-Regular-UMWS-Subset.ttf",
    "cjk-jp": "NotoSansCJKjp-Regular-UMWS-Subset.ttf",
    "cjk-kr": "NotoSansCJKkr-Regular-UMWS-Subset.ttf",
}
UNSHAPED = frozenset({"cjk-tc", "cjk-jp", "cjk-kr", "armenian"})
# Characters that draw nothing and need no glyph of their own (HarfBuzz handles them in shaping).
IGNORABLE = frozenset("\u200b\u200c\u200d\u200e\u200f\ufeff")

_lock = threading.Lock()
_registered = False


class FontMissing(Exception):
    """A font file of resources/fonts/ is missing or unreadable."""


def script_font(script: str) -> str:
    """The registered font name of a tagline script ('sans' is the body font)."""
    return BODY if script == "sans" else f"UMWS-{script}"


def register() -> None:
    """Register every letter font with ReportLab once per process (thread-safe)."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        try:
            for name, file in _BODY_FILES.items():
                pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / file), shapable=False))
            for script, file in SCRIPT_FILES.items():
                if script != "sans":  # CJK and Armenian need no shaping (CJK wraps between any two characters)
                    pdfmetrics.registerFont(TTFont(script_font(script), str(FONTS_DIR / file),
                                                   shapable=script not in UNSHAPED))
        except Exception as error:  # noqa: BLE001 - TTFError, OSError: say which files, whatever the cause
            raise FontMissing(f"The letter fonts in {FONTS_DIR} cannot be read ({error}); reinstall the "
                              "workstation or run tools/build_fonts.py.") from error
        addMapping(BODY, 0, 0, BODY)
        addMapping(BODY, 1, 0, BODY_BOLD)
        addMapping(BODY, 0, 1, BODY)  # no letter sets italics: we ship no italic face, so <i> stays upright
        addMapping(BODY, 1, 1, BODY_BOLD)
        _registered = True


def _covers(font_name: str, char: str) -> bool:
    return ord(char) in pdfmetrics.getFont(font_name).face.charToGlyph


def chain(script: str) -> tuple[str, ...]:
    """The fonts tried for a script's text, in order."""
    register()
    return (BODY,) if script == "sans" else (script_font(script), BODY)


def runs(text: str, script: str) -> list[tuple[str, str]]:
    """(font name, text) runs. Each word goes whole into the first font of the script's chain that has all its
    glyphs (HarfBuzz shapes a word with one font: a word split across fonts would be drawn with wrong glyphs);
    only a word no single font covers is split character by character. Spaces stay with the run they are in."""
    fonts = chain(script)
    out: list[tuple[str, str]] = []

    def add(font: str, piece: str) -> None:
        if out and out[-1][0] == font:
            out[-1] = (font, out[-1][1] + piece)
        else:
            out.append((font, piece))

    for token in re.split(r"(\s+)", text):
        if not token:
            continue
        if token.isspace():
            add(out[-1][0] if out else fonts[0], token)
            continue
        whole = next((f for f in fonts if all(_covers(f, c) or c in IGNORABLE for c in token)), None)
        if whole is not None:
            add(whole, token)
            continue
        # No single font has every glyph (e.g. a Latin colon after a Thai word): split the word where the font
        # changes, so that each part is shaped with its own font. The cost: the parts are set a word space apart
        # (ReportLab breaks words only at white space).
        previous = None
        for char in token:
            font = next((f for f in fonts if _covers(f, char)), fonts[0])
            if previous is not None and font != previous:
                add(previous, " ")
            add(font, char)
            previous = font
    return out


def missing_glyphs(text: str, script: str) -> set[str]:
    """Characters of `text` that no font of the script's chain can draw."""
    fonts = chain(script)
    return {char for char in text
            if not char.isspace() and char not in IGNORABLE and not any(_covers(f, char) for f in fonts)}
