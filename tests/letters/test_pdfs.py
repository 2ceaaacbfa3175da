"""Real PDFs of every sample letter: pypdf extracts every required element per kind and language, every font is
embedded, identifiers and "page X of Y" are on every page, the bytes are deterministic, large print is 20 pt."""
from __future__ import annotations

import io
import re
import unicodedata

import pytest
from pypdf import PdfReader

from app.domain.letters.linter import required_for
from app.letters import compose, fonts, render, samples, templates

ALL = [(kind, recipient, language, lob) for lob, kind, recipient, language in samples.sample_letters()]

# What each element must show on the page (looked up in the extracted text), per language.
SHOWS = {
    "en": {"appeal-rights": ["60 days", "72 hours", "30 days"], "state-hearing": ["State Hearing", "120 days"],
           "aid-paid-pending": ["10 days"], "contacts": ["1-800-555-0134", "TTY 711", "1-888-452-8609"],
           "other-services": ["This notice does not affect any of your other Medi-Cal services."],
           "your-rights": ["Your Rights under Medi-Cal Managed Care"], "nondiscrimination": ["Nondiscrimination Notice"],
           "imr": ["Independent Medical Review", "1-888-466-2219"], "criteria-copy": ["free copy"],
           "alternative-formats": ["large print", "Braille"], "grievance-right": ["grievance"],
           "peer-to-peer": ["peer-to-peer", "1-800-555-0188"], "medicare-appeal": ["65 days"],
           "medicare-help": ["1-800-633-4227", "1-877-486-2048"]},
    "es": {"appeal-rights": ["60 días", "72 horas", "30 días"], "state-hearing": ["Audiencia Estatal", "120 días"],
           "aid-paid-pending": ["10 días"], "contacts": ["1-800-555-0134", "TTY 711", "1-888-452-8609"],
           "other-services": ["Este aviso no afecta ninguno de sus otros servicios de Medi-Cal."],
           "your-rights": ["Sus derechos en Medi-Cal"], "nondiscrimination": ["Aviso de no discriminación"],
           "imr": ["Revisión Médica Independiente", "1-888-466-2219"], "criteria-copy": ["copia gratis"],
           "alternative-formats": ["letra grande", "braille"], "grievance-right": ["queja"],
           "peer-to-peer": ["entre pares", "1-800-555-0188"], "medicare-appeal": ["65"],
           "medicare-help": ["1-800-633-4227", "1-877-486-2048"]},
}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text))


def make(kind, recipient, language, lob, **changes):
    facts = samples.sample_facts(kind, language, lob)
    for name, value in changes.items():
        setattr(facts, name, value)
    content = compose.build(facts, kind=kind, recipient=recipient, language=language, notice_date=samples.NOTICE_DATE)
    return facts, content, render.render(content, templates.plan_profile())


@pytest.fixture(scope="module", params=ALL, ids=lambda p: "-".join(p))
def letter(request):
    kind, recipient, language, lob = request.param
    facts, content, pdf = make(kind, recipient, language, lob)
    reader = PdfReader(io.BytesIO(pdf))
    pages = [_flat(page.extract_text()) for page in reader.pages]
    return facts, content, pdf, reader, pages


def test_every_required_element_is_on_the_page(letter):
    facts, content, _, _, pages = letter
    text = " ".join(pages)
    shows = SHOWS[content.language]
    for element in required_for(content):
        for wanted in shows.get(element, []):
            assert wanted in text, f"{element}: '{wanted}' not in the {content.kind} {content.recipient} letter"
        if element in ("request", "decision", "reason", "criteria", "clinical-reason", "untimely"):
            section = content.section(element)
            assert _flat(section.heading) in text if section.heading else True
    assert "Golden Valley Health Plan" in text and "2200 Harbor Way" in text
    assert _flat(content.values["notice_date_text"]) in text
    assert facts.member_name in text and facts.member_id in text
    if content.recipient == "member":
        assert "1420 Alder Street" in text
        if content.kind in ("denial-medical-necessity", "modification", "termination", "denial-not-covered"):
            reason = facts.member_reason if content.language == "en" else facts.translations["member_reason"]
            assert _flat(reason) in text
            assert "version 2026" in text or "versión 2026" in text
    else:
        assert (facts.provider_name or "Attending") in text
        if content.kind in ("denial-medical-necessity", "modification", "termination", "denial-not-covered"):
            assert "Elena Morales, DO" in text and "1-707-555-0142" in text
            assert _flat(facts.rationale) in text


def test_identifiers_and_page_numbers_on_every_page(letter):
    facts, content, _, _, pages = letter
    total = len(pages)
    word = "Page" if content.language == "en" else "Página"
    between = "of" if content.language == "en" else "de"
    for number, page in enumerate(pages, start=1):
        assert f"{word} {number} {between} {total}" in page
        assert facts.member_id in page and facts.tar in page and content.letter_ref in page
        assert facts.member_name in page


def test_enclosures_start_on_their_own_pages(letter):
    _, content, _, _, pages = letter
    if content.recipient != "member":
        return
    heading = content.taglines_heading
    assert any(page.strip().startswith(_flat(heading)) for page in pages)  # the furniture is drawn last
    if content.part("rights"):
        first = content.part("rights")[0].heading
        assert any(page.strip().startswith(_flat(first)) for page in pages)


def test_every_font_is_embedded_truetype(letter):
    _, _, _, reader, _ = letter
    seen = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            assert font["/Subtype"] in ("/TrueType", "/Type0"), font["/Subtype"]
            descriptor = (font["/DescendantFonts"][0].get_object()["/FontDescriptor"] if font["/Subtype"] == "/Type0"
                          else font["/FontDescriptor"]).get_object()
            assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"
            seen.add(str(font["/BaseFont"]))
    assert seen and not any(name.endswith(("STSong-Light", "HeiseiMin-W3", "HYSMyeongJo-Medium")) for name in seen)


def test_the_same_content_gives_the_same_bytes(letter):
    _, content, pdf, _, _ = letter
    assert render.render(content, templates.plan_profile()) == pdf


def test_member_letters_carry_the_taglines_of_the_top_15_and_the_plans_languages(letter):
    _, content, pdf, reader, pages = letter
    if content.recipient != "member":
        return
    names = [t.english_name for t in content.taglines]
    for name in ("Spanish", "Chinese", "Vietnamese", "Tagalog", "Korean", "Armenian", "Russian", "Farsi", "Arabic",
                 "Hmong", "Khmer (Cambodian)", "Punjabi", "Japanese", "Hindi", "Thai", "Mien", "Ukrainian", "Lao"):
        assert name in names
        assert name in " ".join(pages)
    used = {str(f.get_object()["/BaseFont"]).split("+")[-1] for page in reader.pages
            for f in page["/Resources"]["/Font"].values()}
    for family in ("NotoSansArabic", "NotoSansKhmer", "NotoSansGurmukhi", "NotoSansDevanagari", "NotoSansThai",
                   "NotoSansArmenian", "NotoSansLao"):
        assert any(name.startswith(family) for name in used), (family, used)
    assert any("CJK" in name for name in used)


def test_large_print_is_20_point_sans_serif():
    _, content, pdf = make("denial-medical-necessity", "member", "en", "medi-cal", large_print=True)
    assert content.large_print
    stream = b"".join(page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf)).pages)
    sizes = {float(size) for size in re.findall(rb"/F\d+\+?\d* ([\d.]+) Tf", stream)}
    assert 20.0 in sizes and all(s == 14.0 or s >= 20 for s in sizes), sizes  # furniture 14 pt, text 20 pt up
    _, normal, small = make("denial-medical-necessity", "member", "en", "medi-cal")
    assert len(PdfReader(io.BytesIO(pdf)).pages) > len(PdfReader(io.BytesIO(small)).pages)


def test_taglines_have_a_glyph_for_every_character():
    fonts.register()
    for tagline in templates.taglines():
        text = tagline.text + tagline.native_name + tagline.english_name
        assert fonts.missing_glyphs(text, tagline.script) == set(), tagline.language
        for font, run in fonts.runs(text, tagline.script):
            from reportlab.pdfbase import pdfmetrics

            face = pdfmetrics.getFont(font).face
            assert all(ord(c) in face.charToGlyph for c in run if not c.isspace() and c not in fonts.IGNORABLE), \
                (tagline.language, font, run)


def test_a_tagline_the_fonts_cannot_draw_is_refused():
    tagline = templates.taglines()[2]
    broken = tagline.__class__(tagline.language, tagline.english_name, tagline.native_name, tagline.script,
                               tagline.direction, tagline.text + " 龘")
    with pytest.raises(render.GlyphsMissing, match="build_fonts"):
        render.check_taglines((broken,))


def test_fonts_ship_with_their_licence():
    readme = (fonts.FONTS_DIR / "README.md").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in (fonts.FONTS_DIR / "OFL.txt").read_text()
    for file in set(fonts.SCRIPT_FILES.values()) | {"NotoSans-Bold.ttf"}:
        assert (fonts.FONTS_DIR / file).exists() and file in readme
        assert (fonts.FONTS_DIR / file).read_bytes()[:4] == b"\x00\x01\x00\x00"  # TrueType outlines


def test_right_to_left_lines_are_laid_out_in_visual_order():
    words = "توجه: اگر به شماره 1-800-555-0134 (TTY: 711) تماس".split()
    visual = render.rtl_visual_words(words)
    assert visual[-1] == "توجه:" and visual[0] == "تماس"
    assert visual.index("1-800-555-0134") < visual.index("(TTY:") < visual.index("711)")
