"""Load the letter templates, common texts, taglines and the plan profile from resources/ (issue 7, scopes 4 and 8).

Templates are data: resources/letters/<language>/<kind>.toml (one per kind and language, with a [member] and a
[provider] table), resources/letters/<language>/common.toml (shared blocks, labels, dates), cms-10003.toml per
language (Medicare adverse member notices), resources/letters/taglines.toml and resources/plan.toml. A plan loads
the DHCS-issued wording by replacing these files; nothing here holds wording of its own. Files are read once and
cached; `reload()` drops the cache (tests, an administrator who changed a file).
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.domain.letters.content import Tagline

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
LETTERS_DIR = RESOURCES / "letters"
PLAN_FILE = RESOURCES / "plan.toml"

# California's top 15 languages for the taglines (W&I 14029.92), in the order they print; the plan adds its own.
TOP_15 = ("es", "zh", "vi", "tl", "ko", "hy", "ru", "fa", "ar", "hmn", "km", "pa", "ja", "hi", "th")


class TemplateError(Exception):
    """A template or resource file is missing or malformed; the message names the file and what to fix."""


class TemplateMissing(TemplateError):
    """No template for this kind in this language: the letter waits in 'translation needed'."""


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise TemplateMissing(f"{path.relative_to(RESOURCES.parent)} does not exist") from error
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"{path.relative_to(RESOURCES.parent)} is not valid TOML: {error}") from error


@lru_cache(maxsize=None)
def plan_profile() -> dict[str, Any]:
    """resources/plan.toml as a dict."""
    return _read(PLAN_FILE)


@lru_cache(maxsize=None)
def common(language: str) -> dict[str, Any]:
    return _read(LETTERS_DIR / language / "common.toml")


@lru_cache(maxsize=None)
def _kind_file(language: str, name: str) -> dict[str, Any]:
    return _read(LETTERS_DIR / language / f"{name}.toml")


def template_for(kind: str, recipient: str, language: str, structure: str) -> dict[str, Any]:
    """The recipient's table of the kind's template in `language` (CMS-10003's for Medicare adverse notices)."""
    name = "cms-10003" if structure == "cms-10003" else kind
    data = _kind_file(language, name)
    table = data.get(recipient)
    if not table:
        raise TemplateMissing(f"resources/letters/{language}/{name}.toml has no [{recipient}] letter")
    return table


def has_template(kind: str, recipient: str, language: str, structure: str) -> bool:
    try:
        template_for(kind, recipient, language, structure)
        common(language)
    except TemplateMissing:
        return False
    return True


def languages() -> tuple[str, ...]:
    """Languages with a common.toml (a complete set ships for English and Spanish)."""
    return tuple(sorted(p.parent.name for p in LETTERS_DIR.glob("*/common.toml")))


@lru_cache(maxsize=None)
def _taglines_file() -> dict[str, Any]:
    return _read(LETTERS_DIR / "taglines.toml")


def all_taglines() -> tuple[Tagline, ...]:
    """Every tagline in taglines.toml, unfilled."""
    return tuple(Tagline(t["language"], t["english_name"], t["native_name"], t["script"], t["direction"], t["text"])
                 for t in _taglines_file()["tagline"])


def taglines(plan: dict[str, Any] | None = None) -> tuple[Tagline, ...]:
    """The taglines a member letter prints: English first, California's top 15, then the plan's own languages,
    with the plan's Member Services and TTY numbers filled in."""
    plan = plan or plan_profile()
    services = plan.get("member_services", {})
    extra = tuple(plan.get("languages", {}).get("tagline_extra", ()))
    wanted = ("en",) + TOP_15 + tuple(code for code in extra if code not in TOP_15)
    by_language = {t.language: t for t in all_taglines()}
    missing = [code for code in wanted if code not in by_language]
    if missing:
        raise TemplateError(f"resources/letters/taglines.toml has no tagline for: {', '.join(missing)}")
    out = []
    for code in wanted:
        t = by_language[code]
        text = t.text.format(phone=services.get("phone", ""), tty=services.get("tty", ""))
        out.append(Tagline(t.language, t.english_name, t.native_name, t.script, t.direction, text))
    return tuple(out)


def reload() -> None:
    for cached in (plan_profile, common, _kind_file, _taglines_file):
        cached.cache_clear()
