"""A rough reading-grade estimate for member wording (Flesch-Kincaid grade level, counted by heuristics).

Medi-Cal member materials aim at a 6th-grade reading level (letters.md, "Plain language"). The count is a guide
for whoever writes criteria, not a gate: the validator warns above MAX_GRADE and never refuses a file for it.
"""
from __future__ import annotations

import re

MAX_GRADE = 8.0
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
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
