"""Letters (issue 7): kinds, the checklist of required elements, the content model and the linter. Pure Python."""
from app.domain.letters.checklist import ELEMENTS, required_elements
from app.domain.letters.content import Block, Composition, LetterContent, Section, Tagline, compose
from app.domain.letters.kinds import (ADVERSE_KINDS, DETERMINATION_KINDS, KINDS, RECIPIENTS, kind_for_determination,
                                      recipients_for, structure_for)
from app.domain.letters.linter import LintResult, Problem, lint

__all__ = ["ADVERSE_KINDS", "DETERMINATION_KINDS", "ELEMENTS", "KINDS", "RECIPIENTS", "Block", "Composition",
           "LetterContent", "LintResult", "Problem", "Section", "Tagline", "compose", "kind_for_determination",
           "lint", "recipients_for", "required_elements", "structure_for"]
