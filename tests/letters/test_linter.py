"""The letter linter (app.domain.letters.linter) against letters.md, and reading-level scoring on known sentences."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.domain.criteria.readability import hard_sentences, reading_grade, sentences
from app.domain.letters import ADVERSE_KINDS, KINDS, kind_for_determination, lint, recipients_for
from app.domain.letters.checklist import ELEMENTS, HEADER_VALUES
from app.domain.letters.linter import required_for
from app.letters import compose, samples

ALL = [(kind, recipient, language, lob) for lob, kind, recipient, language in samples.sample_letters()]


def build(kind, recipient, language="en", lob="medi-cal", **changes):
    facts = samples.sample_facts(kind, language, lob)
    for name, value in changes.items():
        setattr(facts, name, value)
    return compose.build(facts, kind=kind, recipient=recipient, language=language, notice_date=samples.NOTICE_DATE)


@pytest.mark.parametrize("kind,recipient,language,lob", ALL)
def test_every_sample_letter_carries_every_required_element(kind, recipient, language, lob):
    content = build(kind, recipient, language, lob)
    result = lint(content)
    assert not result.blocked, [p.message for p in result.problems]
    assert "[" not in content.text.replace("[[", ""), "a placeholder was left in the letter"


def _without_section(content, element):
    return replace(content, sections=tuple(s for s in content.sections if s.element != element))


def _cases_per_element():
    for kind, recipient, language, lob in ALL:
        if language != "en":
            continue
        content = build(kind, recipient, language, lob)
        for element in required_for(content):
            yield kind, recipient, lob, element


@pytest.mark.parametrize("kind,recipient,lob,element", list(_cases_per_element()))
def test_the_linter_blocks_each_missing_element(kind, recipient, lob, element):
    content = build(kind, recipient, "en", lob)
    if element == "taglines":
        broken = replace(content, taglines=())
    elif element in HEADER_VALUES:
        broken = replace(content, values={**content.values, **{name: None for name in HEADER_VALUES[element]}})
    else:
        broken = _without_section(content, element)
    result = lint(broken)
    assert result.blocked
    assert element in {p.element for p in result.problems}
    assert any(ELEMENTS[element].split(" (")[0][:30] in p.message for p in result.problems)


def test_missing_data_is_named_not_invented():
    content = build("denial-medical-necessity", "member", member_address=[])
    result = lint(content)
    assert [p.element for p in result.problems] == ["member-identity"]
    assert "mailing address" in result.problems[0].message
    content = build("denial-medical-necessity", "provider", decision_maker_phone=None)
    assert any("direct phone" in p.message for p in lint(content).problems)
    content = build("denial-medical-necessity", "member", criteria=[samples.CriteriaFact("x", None, None, None)])
    assert any(p.element == "criteria" for p in lint(content).problems)


def test_a_template_that_drops_a_figure_is_caught():
    content = build("denial-medical-necessity", "member")
    appeal = content.section("appeal-rights")
    changed = replace(appeal, blocks=tuple(replace(b, text=b.text.replace("60", "sixty")) for b in appeal.blocks))
    broken = replace(content, sections=tuple(changed if s is appeal else s for s in content.sections))
    assert any("'60'" in p.message for p in lint(broken).problems)


def test_termination_takes_effect_at_least_10_days_after_the_notice():
    ok = build("termination", "member", effective_date=samples.NOTICE_DATE + timedelta(days=10))
    assert not lint(ok).blocked
    early = build("termination", "member", effective_date=samples.NOTICE_DATE + timedelta(days=9))
    problems = [p for p in lint(early).problems if p.element == "effective-date"]
    assert problems and "2026-12-04" in problems[0].message
    none = build("termination", "member", effective_date=None)
    assert any(p.element == "effective-date" for p in lint(none).problems)


def test_conditional_elements_apply_only_when_they_should():
    post = build("denial-medical-necessity", "member", review_timing="post-service")
    assert "not-a-bill" in required_for(post) and "This is not a bill." in post.text
    assert "not-a-bill" not in required_for(build("denial-medical-necessity", "member"))
    terminal = build("denial-medical-necessity", "member", terminal_illness=True, covered_alternatives=None)
    assert any(p.element == "terminal-illness" for p in lint(terminal).problems)
    terminal = build("denial-medical-necessity", "member", terminal_illness=True,
                     covered_alternatives="Hospice care at home is covered.")
    assert not lint(terminal).blocked and "Hospice care at home" in terminal.text


def test_medicare_adverse_member_notices_follow_cms_10003():
    content = build("denial-medical-necessity", "member", lob="medicare")
    assert content.structure == "cms-10003" and content.title == "Notice of Denial of Medical Coverage"
    assert "65 days" in content.text and "1-800-633-4227" in content.text
    assert build("approval", "member", lob="medicare").structure == "medi-cal-noa"
    assert build("denial-medical-necessity", "provider", lob="medicare").structure == "medi-cal-noa"


def test_kinds_follow_the_determination():
    assert kind_for_determination("denied", "medical-necessity", "pre-service") == "denial-medical-necessity"
    assert kind_for_determination("denied", "benefit", "pre-service") == "denial-not-covered"
    assert kind_for_determination("partially-approved", "medical-necessity", "pre-service") == "modification"
    assert kind_for_determination("denied", "medical-necessity", "concurrent") == "termination"
    assert kind_for_determination("approved", "medical-necessity", "concurrent") == "approval"
    assert kind_for_determination("withdrawn", None, "pre-service") is None
    assert recipients_for("request-for-information") == ("provider",)
    assert set(ADVERSE_KINDS) < set(KINDS)


# ----- reading level ----------------------------------------------------------------------------------------
def test_reading_grade_of_known_sentences():
    # "The cat sat on the mat." 6 words, 6 syllables: 0.39*6 + 11.8*1 - 15.59 = -1.45 -> 0
    assert reading_grade("The cat sat on the mat.") == 0.0
    # 8 words, 12 syllables (your doc-tor asked us for more ther-a-py vis-its): 0.39*8 + 11.8*12/8 - 15.59 = 5.23
    assert reading_grade("Your doctor asked us for more therapy visits.") == pytest.approx(5.23, abs=0.01)
    assert reading_grade("We need a test of your back. It was not sent.") < 2
    dense = ("Documentation insufficiently substantiates the medical necessity of continued rehabilitative "
             "intervention notwithstanding the established therapeutic regimen.")
    assert reading_grade(dense) > 20


def test_hard_sentences_are_shown_hardest_first():
    text = ("We said no. Documentation insufficiently substantiates the medical necessity of continued "
            "rehabilitative intervention. Call us with questions.")
    assert sentences(text)[0] == "We said no."
    hard = hard_sentences(text, 6)
    assert [h.text for h in hard] == ["Documentation insufficiently substantiates the medical necessity of "
                                      "continued rehabilitative intervention."]


def test_a_hard_member_reason_warns_without_blocking():
    hard = ("Documentation insufficiently substantiates the medical necessity of continued rehabilitative "
            "intervention notwithstanding the established therapeutic regimen.")
    result = lint(build("denial-medical-necessity", "member", member_reason=hard))
    assert not result.blocked
    assert result.reading.too_hard and result.reading.hard[0].text == hard
    assert lint(build("denial-medical-necessity", "provider")).reading is None
