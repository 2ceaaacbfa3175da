"""The letter linter: checks a letter's content model against the checklist and its kind before it may be issued.

Issue 7, scope 3; ../shared/reference/letters.md. `lint()` returns every problem at once, in words that say what to
add; `LintResult.blocked` is True when any element is missing (the letter is not issued and `umws letter render`
exits 3). The member-facing reason is scored for reading level (Flesch-Kincaid grade,
app.domain.criteria.readability): above grade 6 it is a warning, not a block, with the sentences that are hard.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from app.domain.criteria.readability import LETTER_MAX_GRADE, HardSentence, hard_sentences, reading_grade
from app.domain.letters.checklist import ELEMENTS, FIGURES, HEADER_VALUES, required_elements
from app.domain.letters.content import LetterContent, is_missing
from app.domain.letters.kinds import ADVERSE_KINDS, TERMINATION_NOTICE_DAYS

# What to do about a missing value, in the user's words (value name -> where to add it).
VALUE_HINTS = {
    "member_address": "add the member's mailing address to the member record",
    "member_id": "the member record has no member ID (CIN)",
    "member_name": "the member record has no name",
    "provider_name": "the case has no requesting provider",
    "addressee": "the case has no requesting provider to address the letter to",
    "member_reason": "give the reason for the member in plain words (decide again with a member reason)",
    "member_reason_translated": "add the translation of the member's reason",
    "clinical_rationale": "the determination has no clinical rationale",
    "criteria_cited": "cite the criteria set used (name and version) in the determination",
    "criteria_not_met": "answer the criteria checklist: which criteria were not met (in another language: "
                        "translate them)",
    "decision_maker": "the determination names no decision maker",
    "decision_maker_phone": "add the reviewer's direct phone number ('umws letter set-phone USER PHONE')",
    "effective_date": "set the date the change takes effect (at least 10 days after the notice)",
    "delay_reason": "the extension has no reason",
    "information_needed": "say what information is needed (the pend or extension note)",
    "decision_by": "the case has no decision due",
    "respond_by": "the case has no date by which the information is needed",
    "covered_alternatives": "give the covered alternatives for a member with a terminal illness",
    "notice_date": "the letter has no notice date",
    "plan_name": "resources/plan.toml has no plan name",
    "plan_address": "resources/plan.toml has no plan address",
    "service": "the request has no service lines (in another language: translate them)",
    "approved_services": "the determination approves no line (in another language: translate the services)",
    "denied_services": "the determination denies no line (in another language: translate the services)",
    "requester": "the case has no requesting provider",
    "signature": "resources/plan.toml has no signature block",
    "appeal_received_date": "the appeal has no received date",
    "appealed_decided_date": "the appeal names no determination",
    "appeal_decision_by": "the appeal has no resolution due",
    "hearing_by": "the letter has no notice date to count the 120 days from",
    "hearing_keep_by": "the letter has no notice date to count the 10 days from",
}


@dataclass(frozen=True)
class Problem:
    element: str
    message: str  # what is missing and what to add

    def to_json(self) -> dict:
        return {"element": self.element, "message": self.message}


@dataclass(frozen=True)
class ReadingLevel:
    grade: float
    max_grade: float
    hard: tuple[HardSentence, ...] = ()

    @property
    def too_hard(self) -> bool:
        return self.grade > self.max_grade

    def to_json(self) -> dict:
        return {"grade": round(self.grade, 1), "max_grade": self.max_grade, "too_hard": self.too_hard,
                "hard_sentences": [{"text": s.text, "grade": s.grade} for s in self.hard]}


@dataclass(frozen=True)
class LintResult:
    problems: tuple[Problem, ...]
    reading: ReadingLevel | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def blocked(self) -> bool:
        return bool(self.problems)

    def to_json(self) -> dict:
        return {"blocked": self.blocked, "missing": [p.to_json() for p in self.problems],
                "reading_level": self.reading.to_json() if self.reading else None, "warnings": list(self.warnings)}


def _hint(name: str) -> str:
    return VALUE_HINTS.get(name, f"add the {name.replace('_', ' ')}")


def _figure_text(figure: str, values: dict) -> str | None:
    if figure.startswith("@"):
        value = values.get(figure[1:])
        return None if is_missing(value) else str(value)
    return figure


def required_for(content: LetterContent) -> tuple[str, ...]:
    v = content.values
    return required_elements(content.structure, content.kind, content.recipient,
                             knox_keene=bool(v.get("knox_keene")), post_service=bool(v.get("post_service")),
                             terminal_illness=bool(v.get("terminal_illness")),
                             medical_necessity=content.kind in ("denial-medical-necessity", "modification",
                                                                "termination") and bool(v.get("medical_necessity")),
                             denial_stands=bool(v.get("denial_stands")),
                             hearing_continuation=bool(v.get("hearing_continuation")),
                             expedited_denied=bool(v.get("expedited_denied")))


def lint(content: LetterContent) -> LintResult:
    """Every missing element of the letter, and the reading level of the member's reason."""
    problems: list[Problem] = []
    values = content.values
    for element in required_for(content):
        if element == "taglines":
            continue  # checked below: the taglines are the content's own list, not a section
        if element in HEADER_VALUES:
            for name in HEADER_VALUES[element]:
                if is_missing(values.get(name)):
                    problems.append(Problem(element, f"Missing {ELEMENTS[element]}: {_hint(name)}."))
            continue
        section = content.section(element)
        if section is None:
            problems.append(Problem(element, f"Missing {ELEMENTS[element]}: the {content.language} template of "
                                             f"'{content.kind}' has no section for it."))
            continue
        for name in section.missing:
            problems.append(Problem(element, f"Missing {ELEMENTS[element]}: {_hint(name)}."))
        if not section.missing:
            text = section.text
            for figure in FIGURES.get(content.structure, {}).get(element, ()):
                wanted = _figure_text(figure, values)
                if wanted is None:
                    problems.append(Problem(element, f"Missing {ELEMENTS[element]}: {_hint(figure[1:])}."))
                elif wanted not in text:
                    problems.append(Problem(element, f"The section for {ELEMENTS[element]} does not state "
                                                     f"'{wanted}'; correct the template."))
    if content.recipient == "member" and not content.taglines:
        problems.append(Problem("taglines", f"Missing {ELEMENTS['taglines']}: resources/letters/taglines.toml."))
    problems += _date_problems(content)
    return LintResult(tuple(_unique(problems)), reading_level(content))


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for problem in problems:
        if problem.message not in seen:
            seen.add(problem.message)
            out.append(problem)
    return out


def _as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _date_problems(content: LetterContent) -> list[Problem]:
    """A termination or reduction takes effect at least 10 days after the notice (42 CFR 431.211)."""
    problems = []
    if content.kind == "termination":
        notice, effective = _as_date(content.values.get("notice_date")), _as_date(content.values.get("effective_date"))
        if notice and effective and effective < notice + timedelta(days=TERMINATION_NOTICE_DAYS):
            problems.append(Problem("effective-date", (
                f"The change takes effect {effective.isoformat()}, less than {TERMINATION_NOTICE_DAYS} days after "
                f"the notice date {notice.isoformat()}: set an effective date on or after "
                f"{(notice + timedelta(days=TERMINATION_NOTICE_DAYS)).isoformat()} (42 CFR 431.211).")))
    return problems


def reading_level(content: LetterContent) -> ReadingLevel | None:
    """Flesch-Kincaid grade of the member-facing reason (member letters of adverse kinds; English source)."""
    text = content.member_reason_source.strip()
    if content.recipient != "member" or content.kind not in ADVERSE_KINDS or not text:
        return None
    return ReadingLevel(reading_grade(text), LETTER_MAX_GRADE, tuple(hard_sentences(text, LETTER_MAX_GRADE)))
