"""Put a letter together: its facts + the plan profile + the template of its kind and language -> content model.

`build()` is what the letters service, `umws letter render` and `umws letter samples` call before the linter and
the renderer. Raises `TemplateMissing` when the language has no template for the kind (the letter then waits in
"translation needed").
"""
from __future__ import annotations

from datetime import date

from app.domain.calendar import default_calendar
from app.domain.letters.content import Composition, LetterContent, compose
from app.domain.letters.facts import LetterFacts, letter_values
from app.domain.letters.kinds import structure_for
from app.letters import templates


def build(facts: LetterFacts, *, kind: str, recipient: str, language: str, notice_date: date,
          plan: dict | None = None) -> LetterContent:
    plan = plan or templates.plan_profile()
    structure = structure_for(kind, recipient, facts.line_of_business)
    template = templates.template_for(kind, recipient, language, structure)
    common = templates.common(language)
    values = letter_values(facts, kind=kind, recipient=recipient, language=language, notice_date=notice_date,
                           plan=plan, common=common, cal=default_calendar())
    return compose(Composition(
        kind=kind, recipient=recipient, language=language, structure=structure, template=template, common=common,
        values=values, tar=facts.tar, letter_ref=facts.letter_ref,
        taglines=templates.taglines(plan) if recipient == "member" else (),
        large_print=facts.large_print and recipient == "member",
        member_reason_source=(facts.member_reason or "") if recipient == "member" else ""))
