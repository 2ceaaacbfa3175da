"""Make resources/fonts/ from Debian's Noto packages: the fonts the letters embed, with their licences.

    apt-get install fonts-noto-core fonts-noto-cjk      # the sources (SIL Open Font License 1.1)
    pip install fonttools                               # only this tool needs it
    python tools/build_fonts.py

Why these files (docs/letters.md, "Fonts"):
* ReportLab embeds TrueType outlines only. fonts-noto-core ships TrueType (`glyf`) files: they are copied as they
  are (Noto Sans for Latin, Cyrillic and Vietnamese; one Noto Sans family per other script of the taglines).
* Noto Sans CJK (fonts-noto-cjk) is CFF-based (.ttc of OpenType/CFF fonts), 19 MB: ReportLab cannot embed it, and
  it is too big to ship whole. The CJK taglines are fixed texts, so for Chinese (Traditional), Japanese and Korean
  this tool keeps only the characters that resources/letters/taglines.toml uses in those languages (plus ASCII and
  CJK punctuation), converts the cubic CFF outlines to quadratic TrueType outlines (fontTools' cu2qu, within one
  font unit) and names the result "... UMWS Subset" (OFL: a modified font keeps the licence and does not use the
  Reserved Font Name "Source"). Changing a CJK tagline means running this tool again; tests/letters/test_fonts.py
  fails until then, and the renderer refuses a tagline it cannot draw.
"""
from __future__ import annotations

import re
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "fonts"
NOTO_TTF = Path("/usr/share/fonts/truetype/noto")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
NOTO_CJK_BOLD = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")

COPIED = ["NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSansArmenian-Regular.ttf",
          "NotoSansArabic-Regular.ttf", "NotoSansKhmer-Regular.ttf", "NotoSansGurmukhi-Regular.ttf",
          "NotoSansDevanagari-Regular.ttf", "NotoSansThai-Regular.ttf", "NotoSansLao-Regular.ttf"]
# script id in taglines.toml -> (family name in the .ttc, output file)
CJK = {"cjk-tc": ("Noto Sans CJK TC", "NotoSansCJKtc-Regular-UMWS-Subset.ttf"),
       "cjk-jp": ("Noto Sans CJK JP", "NotoSansCJKjp-Regular-UMWS-Subset.ttf"),
       "cjk-kr": ("Noto Sans CJK KR", "NotoSansCJKkr-Regular-UMWS-Subset.ttf")}
EXTRA = "".join(chr(c) for c in range(0x20, 0x7F)) + "、。，：；（）「」・！？ー〜"


def tagline_characters() -> dict[str, str]:
    """Characters each CJK script needs: its taglines' texts and native names."""
    data = tomllib.loads((ROOT / "resources" / "letters" / "taglines.toml").read_text(encoding="utf-8"))
    needed: dict[str, set[str]] = {script: set(EXTRA) for script in CJK}
    for tagline in data["tagline"]:
        if tagline["script"] in needed:
            text = re.sub(r"\{[a-z_]+\}", "", tagline["text"]) + tagline["native_name"]
            needed[tagline["script"]].update(text)
    return {script: "".join(sorted(chars)) for script, chars in needed.items()}


def _font_number(ttc: Path, family: str) -> int:
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(ttc))
    for number, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family:
            return number
    raise SystemExit(f"{ttc} has no font named {family!r}")


def cff_subset_to_truetype(ttc: Path, family: str, text: str, out: Path) -> None:
    """Subset one font of a CFF collection to `text` and rewrite its outlines as TrueType (glyf)."""
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(str(ttc), fontNumber=_font_number(ttc, family), lazy=False)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)

    glyph_set = font.getGlyphSet()
    order = font.getGlyphOrder()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["head"].glyphDataFormat = 0
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attribute in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                      "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attribute, 0)
    maxp.maxZones = 1
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"
    renamed = f"{family} UMWS Subset"
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = renamed
        elif record.nameID == 6:
            record.string = renamed.replace(" ", "") + "-Regular"
        elif record.nameID == 3:
            record.string = f"{renamed}; tagline subset made by tools/build_fonts.py"
    font.save(str(out))


def licence_text() -> str:
    """The SIL Open Font License 1.1 as Debian's copyright file quotes it (one leading space, '.' for blanks)."""
    copyright_file = Path("/usr/share/doc/fonts-noto-core/copyright").read_text(encoding="utf-8")
    start = copyright_file.index("License: OFL-1.1\n PREAMBLE")
    body = copyright_file[start:].split("\n", 1)[1]
    lines = []
    for line in body.splitlines():
        if line and not line.startswith(" "):
            break
        line = line[1:] if line.startswith(" ") else line
        lines.append("" if line == "." else line)
    return "SIL OPEN FONT LICENSE Version 1.1 - 26 February 2007\n\n" + "\n".join(lines).strip() + "\n"


def main() -> int:
    missing = [path for path in [NOTO_TTF / name for name in COPIED] + [NOTO_CJK] if not path.exists()]
    if missing:
        print("missing: " + ", ".join(map(str, missing)) + "\napt-get install fonts-noto-core fonts-noto-cjk",
              file=sys.stderr)
        return 2
    from fontTools.ttLib import TTFont

    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in COPIED:
        shutil.copyfile(NOTO_TTF / name, OUT / name)
        font = TTFont(str(OUT / name))
        rows.append((name, "fonts-noto-core", font["name"].getDebugName(5), font["name"].getDebugName(0), "copied"))
    for script, text in tagline_characters().items():
        family, out_name = CJK[script]
        cff_subset_to_truetype(NOTO_CJK, family, text, OUT / out_name)
        font = TTFont(str(OUT / out_name))
        rows.append((out_name, "fonts-noto-cjk", font["name"].getDebugName(5), font["name"].getDebugName(0),
                     f"subset to {len(text)} characters, CFF converted to TrueType"))
    (OUT / "OFL.txt").write_text(licence_text(), encoding="utf-8")
    lines = ["# Fonts shipped for the letters", "",
             "Every file here is licensed under the SIL Open Font License 1.1 (OFL.txt). Made by "
             "`python tools/build_fonts.py` from Debian's packages; see that tool and docs/letters.md for why.", "",
             "| file | from | version | copyright | how |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {package} | {version} | {copyright_} | {how} |"
              for name, package, version, copyright_, how in rows]
    (OUT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, *_ in rows:
        print(f"{name}: {(OUT / name).stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
