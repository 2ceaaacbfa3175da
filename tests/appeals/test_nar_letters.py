"""The Notice of Appeal Resolution and the overturn's approval notice as real PDFs (pypdf reads them back): every
required element on the page in English and Spanish, the State Hearing deadline 120 days from the notice, IMR (the
plan is Knox-Keene licensed), keeping the service through the hearing for a reduction; the linter blocks a NAR that
misses an element."""
from __future__ import annotations

import io
import re
import uuid
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.domain.letters import lint
from app.domain.letters.linter import required_for
from app.domain.plantime import to_plan
from app.services import appeals, letters
from app.store.models import IssuedLetter, Letter
from tests.appeals.conftest import do

UPHELD = "Hot tubs are not a Medi-Cal benefit, even when a doctor orders one. Your doctor can ask for other care."
UPHELD_ES = ("Las tinas de hidromasaje no son un beneficio de Medi-Cal, aunque un médico la recete. Su médico puede "
             "pedir otra atención.")
OVERTURNED = "The new records show that you need these therapy visits. We approve them."


def text_of(pdf: bytes) -> str:
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", " ".join(pages)))


def appeal_letters(store, tar, kind="appeal-resolution") -> dict[str, Letter]:
    with store.session() as session:
        data = appeals.show_appeals(session, tar, "coord.jones")["appeals"][0]["letters"]
        return {l["recipient"]: session.get(Letter, uuid.UUID(l["letter_id"]))
                for l in data if l["kind"] == kind and l["status"] != "superseded"}


def issue(store, letter_id) -> tuple[bytes, dict]:
    with store.session() as session, session.begin():
        issued = letters.issue_letter(session, letter_id, "coord.jones")
        return issued.pdf, issued.content


def file_and_decide(store, denials, *, result, reason, language="en", **denial):
    tar = denials(language=language, **denial)
    do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=datetime.now(timezone.utc),
       note="Please look again.")
    do(store, appeals.decide_appeal, tar, "dr.ito", result=result, reason=reason,
       approve={1: 5} if result == "partial" else None)
    return tar


EN = ["Notice of Appeal Resolution", "We did not change our decision", UPHELD, "State Hearing", "120 days",
      "Independent Medical Review", "1-888-466-2219", "1-800-743-8525", "1-888-452-8609", "TTY 711",
      "This notice does not affect any of your other Medi-Cal services.", "free copy",
      "Your Rights under Medi-Cal Managed Care after an appeal", "Nondiscrimination Notice", "large print",
      "Outpatient physical therapy visits", "version 2026.1", "Spanish", "Vietnamese", "Hmong"]
ES = ["Aviso de Resolución de la Apelación", "No cambiamos nuestra decisión", UPHELD_ES, "Audiencia Estatal",
      "120 días", "Revisión Médica Independiente", "1-888-466-2219", "1-888-452-8609",
      "Este aviso no afecta ninguno de sus otros servicios de Medi-Cal.", "copia gratis",
      "Sus derechos en Medi-Cal después de una apelación", "Aviso de no discriminación", "letra grande"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_upheld_nar_carries_every_required_element(local_workflow_store, local_denials, language):
    store = local_workflow_store
    reason = UPHELD
    # a Spanish member's own notice waits for its translation: the appeal then runs with no notice date on record
    tar = file_and_decide(store, local_denials, result="upheld", reason=reason, language=language,
                          issue=language == "en")
    member = appeal_letters(store, tar)["member"]
    if language == "es":
        assert member.status == "translation-needed"  # never an English letter in its place
        with store.session() as session, session.begin():
            letters.add_translation(session, member.id, "coord.jones", {
                "member_reason": UPHELD_ES,
                "services": ["Visitas de terapia física", "Terapia manual"]})
    pdf, content = issue(store, member.id)
    text = text_of(pdf)
    for wanted in (EN if language == "en" else ES):
        assert wanted in text, wanted
    notice = to_plan(datetime.now(timezone.utc)).date()
    assert content["values"]["hearing_by"] == (notice + timedelta(days=120)).isoformat()
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"] if language == "en" else ["enero", "febrero", "marzo", "abril", "mayo", "junio",
                                                                 "julio", "agosto", "septiembre", "octubre",
                                                                 "noviembre", "diciembre"]
    hearing = notice + timedelta(days=120)
    day = (f"{months[hearing.month - 1]} {hearing.day}, {hearing.year}" if language == "en"
           else f"{hearing.day} de {months[hearing.month - 1]} de {hearing.year}")
    assert day in text  # "by <date>": 120 days from this notice
    required = required_for_content(content)
    assert {"state-hearing", "imr", "criteria", "your-rights", "reason", "decision"} <= required
    assert "hearing-aid-paid-pending" not in required  # nothing ongoing is being stopped


def required_for_content(content: dict) -> set[str]:
    from app.domain.letters.checklist import required_elements

    v = content["values"]
    return set(required_elements(content["structure"], content["kind"], content["recipient"],
                                 knox_keene=bool(v.get("knox_keene")), denial_stands=bool(v.get("denial_stands")),
                                 hearing_continuation=bool(v.get("hearing_continuation"))))


def test_a_reduction_upheld_tells_how_to_keep_the_service_through_the_hearing(local_workflow_store, local_denials):
    store = local_workflow_store
    tar = file_and_decide(store, local_denials, result="upheld", reason=UPHELD, timing="concurrent",
                          outcome="partial")
    pdf, content = issue(store, appeal_letters(store, tar)["member"].id)
    text = text_of(pdf)
    assert "If you want to keep getting the service until the hearing" in text
    assert "within 10 days of the date of this letter" in text
    assert "hearing-aid-paid-pending" in required_for_content(content)
    assert "We still approve" in text  # the units the reduction kept


def test_overturn_gives_a_new_determination_an_approval_notice_and_a_nar_without_hearing_rights(
        local_workflow_store, local_denials):
    store = local_workflow_store
    tar = file_and_decide(store, local_denials, result="overturned", reason=OVERTURNED)
    with store.session() as session:
        approval = {l.recipient: l for l in letters.case_letters(session, tar) if l.kind == "approval"}
        assert set(approval) == {"member", "provider"}
    pdf, _ = issue(store, approval["member"].id)
    text = text_of(pdf)
    assert "Notice of Approval" in text and "we approved this request" in text
    nar_pdf, content = issue(store, appeal_letters(store, tar)["member"].id)
    nar = text_of(nar_pdf)
    assert "Good news: we changed our decision" in nar and OVERTURNED in nar and "Notice of Approval" in nar
    assert "State Hearing" not in nar and "120 days" not in nar  # the member got what they asked for
    provider_pdf, _ = issue(store, appeal_letters(store, tar)["provider"].id)
    provider = text_of(provider_pdf)
    assert "Overturned on" in provider and "Kenji Ito, MD (Orthopaedic Surgery)" in provider
    assert "1-707-555-0146" in provider  # the appeal reviewer's direct line
    with store.session() as session:
        issued = session.scalars(select(IssuedLetter).where(IssuedLetter.letter_id == approval["member"].id)).one()
        assert issued.sha256 and issued.pages >= 2


def test_partial_overturn_nar_says_what_is_now_approved_and_what_is_not(local_workflow_store, local_denials):
    store = local_workflow_store
    tar = file_and_decide(store, local_denials, result="partial", reason="We now approve 5 of the 6 visits.",
                          outcome="partial")
    pdf, _ = issue(store, appeal_letters(store, tar)["member"].id)
    text = text_of(pdf)
    assert "We changed part of our decision" in text and "We now approve" in text
    assert "We still do not approve" in text and "service 97110: 1 unit" in text
    assert "State Hearing" in text and "120 days" in text


def test_the_linter_blocks_a_nar_without_state_hearing_rights(local_workflow_store, local_denials):
    store = local_workflow_store
    tar = file_and_decide(store, local_denials, result="upheld", reason=UPHELD)
    member = appeal_letters(store, tar)["member"]
    with store.session() as session:
        _, content = letters.build_content(session, session.get(Letter, member.id))
    assert not lint(content).blocked
    broken = replace(content, sections=tuple(s for s in content.sections if s.element != "state-hearing"))
    result = lint(broken)
    assert result.blocked and [p.element for p in result.problems] == ["state-hearing"]
    assert "120 days after the appeal decision" in result.problems[0].message
    assert "state-hearing" in required_for(content)
