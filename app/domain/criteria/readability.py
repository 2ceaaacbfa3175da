"""A reading-grade estimate for member wording (Flesch-Kincaid grade level, counted by heuristics).

Medi-Cal member materials aim at a 6th-grade reading level (letters.md, "Plain language"). Two users of it:
* the criteria validator warns above MAX_GRADE for a criterion's member text and never refuses a file for it;
* the letter linter (app.domain.letters.linter) scores the member-facing reason of a notice and, above
  LETTER_MAX_GRADE, warns the reviewer before issuing and shows the sentences that are hard to read
  (`hard_sentences`).
The formula is for English; translated text is not scored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_GRADE = 8.0
LETTER_MAX_GRADE = 6.0
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
_SENTENCE = re.compile(r"[^.!?]*[^.!?\s][^.!?]*(?:[.!?]+|$)")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    word = word.lower()
    if len(word) <= 3:
        return 1
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")):
        word = word[:-1]
    elif word.endswith(("es", "ed")) and not word.endswith(("tes", "des", "ted", "ded", "ses", "zes", "ces")):
        word = word[:-2]
    return max(1, len(_VOWEL_GROUPS.findall(word)))


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade: 0.39 x words per sentence + 11.8 x syllables per word - 15.59 (0 for no words)."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(text.strip() + " ")))
    total = sum(syllables(word) for word in words)
    return max(0.0, 0.39 * len(words) / sentences + 11.8 * total / len(words) - 15.59)


def sentences(text: str) -> list[str]:
    """The sentences of `text` (ending at '.', '!' or '?'), stripped, in order."""
    return [match.group(0).strip() for match in _SENTENCE.finditer(text) if _WORD.search(match.group(0))]


@dataclass(frozen=True)
class HardSentence:
    text: str
    grade: float


def hard_sentences(text: str, max_grade: float = LETTER_MAX_GRADE) -> list[HardSentence]:
    """The sentences of `text` whose own grade is above `max_grade`, hardest first."""
    scored = [HardSentence(sentence, round(reading_grade(sentence), 1)) for sentence in sentences(text)]
    return sorted((s for s in scored if s.grade > max_grade), key=lambda s: -s.grade)
