"""The content model of a letter, composed from a template (data, resources/letters/) and the case's values.

Pure Python: the template arrives as a dict (app.letters.templates loads the TOML files), the values as a dict of
strings, lists of strings, dates and booleans that the letters service gathered from the case, the determination,
the criteria, the clocks and the plan profile. `compose()` fills every placeholder; a value that is missing (None,
empty) is not invented: the section records it in `missing` and shows "[… missing]" where it would go, and the
linter (app.domain.letters.linter) then blocks the letter naming what to add.

Template text: paragraphs separated by a blank line; a line starting with "- " is a bullet; a placeholder alone on
a line whose value is a list becomes one bullet per item; inside a sentence a list reads "a, b and c". A section may
`use` a block of the language's common.toml (its own keys win), and be included only `when` a flag value is true
(or `unless` it is). `part` puts a section in the letter (default), the "Your Rights" enclosure (`rights`) or the
Nondiscrimination Notice (`nondiscrimination`), each of which starts on its own page.
"""
from __future__ import annotations

import string
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Mapping

PARTS = ("letter", "rights", "nondiscrimination")
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Block:
    """A paragraph ('p'), a bullet ('bullet') or a sub-heading ('h') of a section."""

    style: str
    text: str


@dataclass(frozen=True)
class Section:
    element: str | None  # the checklist element it satisfies (app.domain.letters.checklist.ELEMENTS)
    heading: str
    blocks: tuple[Block, ...]
    missing: tuple[str, ...] = ()  # names of values the section needed and did not get
    part: str = "letter"

    @property
    def text(self) -> str:
        return "\n".join([self.heading, *(block.text for block in self.blocks)])


@dataclass(frozen=True)
class Tagline:
    language: str
    english_name: str
    native_name: str
    script: str  # which shipped font family renders it (app.letters.fonts)
    direction: str  # ltr | rtl
    text: str


@dataclass(frozen=True)
class LetterContent:
    """Everything a rendered letter says, before layout. Stored (as JSON) with an issued letter."""

    kind: str
    recipient: str
    language: str
    structure: str
    title: str
    subtitle: str
    tar: str
    letter_ref: str  # short letter number printed on every page
    notice_date: date | None
    values: dict[str, Any]  # the values the sections were filled from (dates as ISO text)
    labels: dict[str, str]  # page furniture in the letter's language: "Member ID", "Page {page} of {pages}", …
    address_lines: tuple[str, ...]  # the recipient's address block
    regarding: tuple[str, ...]  # "Regarding" lines under the address (provider letters: member, member ID, TAR)
    salutation: str
    sections: tuple[Section, ...]
    signature: tuple[str, ...]
    taglines: tuple[Tagline, ...] = ()
    taglines_heading: str = ""
    large_print: bool = False
    member_reason_source: str = ""  # the member-facing reason as the reviewer wrote it (English), for scoring
    missing_header: tuple[str, ...] = ()  # header values (letterhead, address…) that are missing
    enclosures: tuple[str, ...] = ()

    def section(self, element: str) -> Section | None:
        return next((s for s in self.sections if s.element == element), None)

    def part(self, part: str) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.part == part)

    @property
    def text(self) -> str:
        """All the words of the letter in reading order (what a reader, or the linter, sees)."""
        parts = [self.title, self.subtitle, *self.address_lines, *self.regarding, self.salutation]
        parts += [s.text for s in self.sections]
        parts += list(self.signature)
        parts += [t.text for t in self.taglines]
        return "\n".join(p for p in parts if p)

    def to_json(self) -> dict:
        data = asdict(self)
        data["notice_date"] = self.notice_date.isoformat() if self.notice_date else None
        return data


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return not value or all(is_missing(v) for v in value)
    return False


def nfc(text: str) -> str:
    """Text as it goes into a letter: Unicode NFC (issue 7, "Notes for the rendering")."""
    return unicodedata.normalize("NFC", text)


def format_date(day: date, months: list[str], pattern: str) -> str:
    """A date in the letter's language: the pattern of its common.toml, e.g. '{month} {day}, {year}'."""
    return pattern.format(month=months[day.month - 1], day=day.day, year=day.year)


def join_list(items: list[str], conjunction: str) -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


class _Filler:
    """Fills placeholders from the values, recording the names it found missing."""

    def __init__(self, values: Mapping[str, Any], common: Mapping[str, Any]):
        self.values = values
        self.months = list(common.get("months") or [])
        self.date_pattern = common.get("date_format", "{month} {day}, {year}")
        self.conjunction = common.get("and", "and")
        self.missing_label = common.get("labels", {}).get("missing", "[{name} missing]")
        self.missing: list[str] = []

    def text(self, value: Any) -> str | list[str] | None:
        if isinstance(value, date):
            return format_date(value, self.months, self.date_pattern)
        if isinstance(value, (list, tuple)):
            return [str(self.text(v)) for v in value if not is_missing(v)]
        if isinstance(value, bool):
            return None
        return None if value is None else str(value)

    def fields(self, template: str) -> list[str]:
        return [name for _, name, _, _ in _FORMATTER.parse(template) if name]

    def fill(self, template: str, *, allow_lists: bool = False) -> str | list[str]:
        names = self.fields(template)
        if allow_lists and len(names) == 1 and template.strip() == "{" + names[0] + "}":
            value = self.values.get(names[0])
            if isinstance(value, (list, tuple)):
                if is_missing(value):
                    self._miss(names[0])
                    return [self.missing_label.format(name=names[0].replace("_", " "))]
                return self.text(value)
        filled = {}
        for name in names:
            value = self.values.get(name)
            if is_missing(value) or isinstance(value, bool):
                self._miss(name)
                filled[name] = self.missing_label.format(name=name.replace("_", " "))
                continue
            text = self.text(value)
            filled[name] = join_list(text, self.conjunction) if isinstance(text, list) else text
        return nfc(template.format_map(filled))

    def _miss(self, name: str) -> None:
        if name not in self.missing:
            self.missing.append(name)


def _blocks(text: str, filler: _Filler) -> tuple[Block, ...]:
    blocks: list[Block] = []
    for paragraph in text.strip().split("\n\n"):
        lines: list[str] = []
        for raw in paragraph.strip("\n").splitlines():
            if not raw.strip():
                continue
            if raw.startswith((" ", "\t")) and lines and lines[-1].startswith("- "):
                lines[-1] += " " + raw.strip()  # an indented line continues the bullet above it
            else:
                lines.append(raw.strip())
        prose: list[str] = []

        def flush() -> None:
            if prose:
                blocks.append(Block("p", filler.fill(" ".join(prose))))
                prose.clear()

        for line in lines:
            if line.startswith("### "):
                flush()
                blocks.append(Block("h", filler.fill(line[4:])))
            elif line.startswith("- "):
                flush()
                filled = filler.fill(line[2:], allow_lists=True)
                for item in filled if isinstance(filled, list) else [filled]:
                    blocks.append(Block("bullet", item))
            else:
                filled = filler.fill(line, allow_lists=True)
                if isinstance(filled, list):
                    flush()
                    blocks.extend(Block("bullet", item) for item in filled)
                else:
                    prose.append(filled)
        flush()
    return tuple(blocks)


def _included(spec: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    when, unless = spec.get("when"), spec.get("unless")
    if when and not values.get(when):
        return False
    if unless and values.get(unless):
        return False
    return True


def compose_sections(specs: list[Mapping[str, Any]], common: Mapping[str, Any],
                     values: Mapping[str, Any]) -> tuple[Section, ...]:
    blocks_of_common = common.get("blocks", {})
    groups = common.get("groups", {})
    expanded: list[Mapping[str, Any]] = []
    for raw in specs:
        if raw.get("group"):
            if raw["group"] not in groups:
                raise KeyError(f"the template uses group '{raw['group']}', which common.toml does not have")
            expanded.extend({"use": name} for name in groups[raw["group"]])
        else:
            expanded.append(raw)
    sections = []
    for raw in expanded:
        spec = dict(blocks_of_common.get(raw["use"], {})) if raw.get("use") else {}
        if raw.get("use") and not spec:
            raise KeyError(f"the template uses block '{raw['use']}', which common.toml does not have")
        spec.update({k: v for k, v in raw.items() if k != "use"})
        if not _included(spec, values):
            continue
        filler = _Filler(values, common)
        heading = filler.fill(spec.get("heading", "")) if spec.get("heading") else ""
        blocks = _blocks(spec.get("text", ""), filler)
        sections.append(Section(spec.get("element"), heading, blocks, tuple(filler.missing),
                                spec.get("part", "letter")))
    return tuple(sections)


def _enclosure_names(template: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """The template's enclosures: a name, or a table {name, when / unless} included like a section (an appeal's
    "Your Rights" pages go with it only when the denial stands)."""
    names = []
    for entry in template.get("enclosures", []):
        if isinstance(entry, str):
            names.append(entry)
        elif _included(entry, values):
            names.append(entry["name"])
    return names


@dataclass
class Composition:
    """The inputs of `compose`: which letter, its template and common texts, and the values."""

    kind: str
    recipient: str
    language: str
    structure: str
    template: Mapping[str, Any]  # the recipient's table of the kind's template
    common: Mapping[str, Any]  # the language's common.toml
    values: dict[str, Any]
    tar: str
    letter_ref: str
    taglines: tuple[Tagline, ...] = ()
    large_print: bool = False
    member_reason_source: str = ""
    header_values: tuple[str, ...] = field(default=("plan_name", "plan_address", "notice_date"))


def compose(c: Composition) -> LetterContent:
    """Fill the template with the values: the letter's content model (nothing rendered yet)."""
    values = c.values
    header = _Filler(values, c.common)
    address_spec = c.template.get("address", ["{addressee}", "{address}"])
    address: list[str] = []
    for line in address_spec:
        filled = header.fill(line, allow_lists=True)
        address.extend(filled if isinstance(filled, list) else [filled])
    regarding = tuple(header.fill(line) for line in c.template.get("regarding", []))
    title = header.fill(c.template.get("title", ""))
    subtitle = header.fill(c.template.get("subtitle", "")) if c.template.get("subtitle") else ""
    salutation = header.fill(c.template.get("salutation", "")) if c.template.get("salutation") else ""
    signature_lines = values.get("signature") or []
    for name in c.header_values:
        if is_missing(values.get(name)) and name not in header.missing:
            header.missing.append(name)
    sections = compose_sections(list(c.template.get("sections", [])), c.common, values)
    labels = {k: nfc(str(v)) for k, v in (c.common.get("labels") or {}).items()}
    enclosures = tuple(labels.get(f"enclosure_{name}", name) for name in _enclosure_names(c.template, values))
    json_values = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}
    return LetterContent(
        kind=c.kind, recipient=c.recipient, language=c.language, structure=c.structure, title=title,
        subtitle=subtitle, tar=c.tar, letter_ref=c.letter_ref, notice_date=values.get("notice_date"),
        values=json_values, labels=labels, address_lines=tuple(address), regarding=regarding, salutation=salutation,
        sections=sections, signature=tuple(nfc(line) for line in signature_lines), taglines=c.taglines,
        taglines_heading=labels.get("taglines_heading", ""), large_print=c.large_print,
        member_reason_source=c.member_reason_source, missing_header=tuple(header.missing), enclosures=enclosures,
    )
