"""The letters service on encrypted SQLite and PostgreSQL: drafting on determination, the linter's block, issue with
the exact bytes and SHA-256, reprint, translation needed, the queue, batch print, mark mailed and the clocks."""
from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from app.domain.clocks import compute_clocks
from app.services import cases as svc
from app.services import letters
from app.services.clock_watch import record_breaches
from app.store.case_details import clock_request_of
from app.store.models import Case, CaseEvent, CaseWorkflow, Letter
from tests.workflow.conftest import CaseMaker

PT = svc.CriteriaCitation("outpatient-physical-therapy", "2026.1")
REASON = "Medi-Cal does not cover this service. Your doctor can ask for other care we cover."


@pytest.fixture
def maker(workflow_store):
    return CaseMaker(workflow_store)


def do(store, action, *args, **kwargs):
    with store.session() as session, session.begin():
        return action(session, *args, **kwargs)


def set_member(store, tar, **values):
    with store.session() as session, session.begin():
        member = session.scalar(select(Case).where(Case.tar == tar)).member
        for name, value in values.items():
            setattr(member, name, value)


def denied(store, maker, *, address=True, language="en", lob="medi-cal", outcome="deny", **kwargs) -> str:
    tar = maker(lob=lob, **kwargs)
    set_member(store, tar, language=language, **({"address_line": "1420 Alder Street", "city": "Vallejo",
                                                    "state": "CA", "postal_code": "94590"} if address else {}))
    do(store, svc.claim_case, tar, "dr.morales")
    do(store, svc.decide_case, tar, "dr.morales", outcome=outcome, basis="benefit", rationale="Not a benefit",
       member_reason=REASON, criteria=[PT], criteria_result="not-met",
       **({"lines": {1: 3}} if outcome == "partial" else {}))
    return tar


def letter_of(store, tar, recipient="member") -> Letter:
    with store.session() as session:
        letter = letters.find_letter(session, tar, recipient)
        letter.case  # load
        return letter


def counts(store):
    with store.session() as session:
        return tuple(session.scalar(text(f"SELECT count(*) FROM {table}"))
                     for table in ("case_events", "audit_records", "issued_letters"))


def test_a_determination_drafts_the_member_and_provider_letters_with_their_mail_by(workflow_store, maker):
    tar = denied(workflow_store, maker)
    with workflow_store.session() as session:
        rows = letters.case_letters(session, tar)
        case = svc.case_by_tar(session, tar)
        clocks = compute_clocks(clock_request_of(case), decided=case.decided_at, extensions=case.extensions_taken)
        by = {row.recipient: row for row in rows}
        assert set(by) == {"member", "provider"}
        assert {row.kind for row in rows} == {"denial-not-covered"} and {row.status for row in rows} == {"draft"}
        assert by["member"].mail_by_at == clocks.member_notice_due
        assert by["provider"].mail_by_at == clocks.notification_due


def test_the_linter_blocks_issuing_and_nothing_is_written(workflow_store, maker):
    tar = denied(workflow_store, maker, address=False)
    letter = letter_of(workflow_store, tar)
    with workflow_store.session() as session:
        preview = letters.preview_letter(session, letter.id)
        assert preview.lint.blocked and "mailing address" in preview.lint.problems[0].message
        assert preview.pdf is not None  # a preview still shows what the letter says (marked DRAFT)
    before = counts(workflow_store)
    with pytest.raises(letters.LetterBlocked) as error:
        do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
    assert "mailing address" in str(error.value)
    assert counts(workflow_store) == before


def test_issue_stores_the_exact_bytes_and_a_reprint_returns_them(workflow_store, maker):
    tar = denied(workflow_store, maker)
    letter = letter_of(workflow_store, tar)
    issued = do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
    assert issued.sha256 == hashlib.sha256(issued.pdf).hexdigest()
    text_ = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(issued.pdf)).pages)
    assert REASON.split(".")[0] in text_ and tar in text_ and "DRAFT" not in text_
    with workflow_store.session() as session, session.begin():
        again = letters.reprint(session, letter.id, "auditor.brown")
        assert again.pdf == issued.pdf and again.sha256 == issued.sha256
        event = session.scalar(select(CaseEvent).where(CaseEvent.kind == "letter-issued"))
        assert event.payload["sha256"] == issued.sha256 and event.payload["criteria"][0]["version"] == "2026.1"
    with pytest.raises(svc.ActionRefused, match="reprint"):
        do(workflow_store, letters.issue_letter, letter.id, "coord.jones")


def test_issued_letters_are_append_only(workflow_store, maker):
    tar = denied(workflow_store, maker)
    issued = do(workflow_store, letters.issue_letter, letter_of(workflow_store, tar).id, "coord.jones")
    with pytest.raises(Exception, match="append-only"):
        with workflow_store.session() as session, session.begin():
            session.execute(text("UPDATE issued_letters SET sha256 = 'x' WHERE id = :id"),
                            {"id": issued.id if workflow_store.engine.dialect.name == "postgresql"
                             else issued.id.hex})


def test_mark_mailed_completes_the_member_notice_clock(workflow_store, maker):
    tar = denied(workflow_store, maker)
    letter = letter_of(workflow_store, tar)
    do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
    mailed = do(workflow_store, letters.mark_mailed, letter.id, "coord.jones")
    with workflow_store.session() as session:
        case = svc.case_by_tar(session, tar)
        workflow = session.get(CaseWorkflow, case.id)
        assert workflow.member_notified_at == mailed.mailed_at and case.status == "notified"
        clocks = compute_clocks(clock_request_of(case), decided=case.decided_at,
                                member_notified=workflow.member_notified_at)
        assert "member_notice" not in clocks.breached
        kinds = [e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                 .order_by(CaseEvent.occurred_at))]
        assert kinds[-2:] == ["letter-mailed", "notified"]
    with pytest.raises(svc.ActionRefused):
        do(workflow_store, letters.mark_mailed, letter.id, "coord.jones")


def test_provider_notification_records_its_method_and_marks_the_faxed_letter_sent(workflow_store, maker):
    tar = denied(workflow_store, maker)
    provider = letter_of(workflow_store, tar, "provider")
    do(workflow_store, letters.issue_letter, provider.id, "coord.jones")
    do(workflow_store, letters.notify_provider, tar, "coord.jones", method="fax")
    with workflow_store.session() as session:
        case = svc.case_by_tar(session, tar)
        assert session.get(CaseWorkflow, case.id).provider_notified_at is not None
        event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "notified"))
        assert event.payload["method"] == "fax" and event.payload["recipient"] == "provider"
        assert session.get(Letter, provider.id).status == "sent"
    with pytest.raises(svc.InvalidInput):
        do(workflow_store, letters.notify_provider, tar, "coord.jones", method="pigeon")


def test_a_spanish_member_gets_no_english_letter_until_the_reason_is_translated(workflow_store, maker):
    tar = denied(workflow_store, maker, language="es")
    letter = letter_of(workflow_store, tar)
    assert letter.language == "es" and letter.status == "translation-needed"
    with pytest.raises(letters.TranslationNeeded, match="member_reason"):
        do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
    spanish = "Medi-Cal no cubre este servicio. Su médico puede pedir otra atención que cubrimos."
    changed = do(workflow_store, letters.add_translation, letter.id, "coord.jones", {"member_reason": spanish})
    assert changed.status == "translation-needed"  # the service lines are not translated yet
    with pytest.raises(letters.TranslationNeeded, match="services"):
        do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
    changed = do(workflow_store, letters.add_translation, letter.id, "coord.jones",
                 {"services": ["servicio 97110", "servicio 97140"]})
    assert changed.status == "draft"
    issued = do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(issued.pdf)).pages)
    assert "Medi-Cal no cubre este servicio." in words and "Aviso de Acción" in words
    assert "servicio 97110" in words and "Atentamente," in words
    assert REASON not in words


def test_a_language_without_templates_waits_in_translation_needed_with_its_countdown(workflow_store, maker):
    tar = denied(workflow_store, maker, language="zh")
    letter = letter_of(workflow_store, tar)
    assert letter.status == "translation-needed" and letter.mail_by_at is not None
    with workflow_store.session() as session:
        queue = letters.letter_queue(session)
        assert any(row.letter_id == letter.id and row.status == "translation-needed" for row in queue)
        preview = letters.preview_letter(session, letter.id)
        assert preview.pdf is None and "zh template" in preview.missing_translation[0]


def test_the_queue_is_sorted_by_the_mail_by_due(workflow_store, maker):
    now = datetime.now(timezone.utc)
    late = denied(workflow_store, maker, received=now - timedelta(hours=2))
    early = denied(workflow_store, maker, received=now - timedelta(days=3), urgency="urgent")
    with workflow_store.session() as session:
        rows = letters.letter_queue(session)
        dues = [row.mail_by_at for row in rows if row.mail_by_at is not None]
        assert dues == sorted(dues)
        tars = [row.tar for row in rows]
        assert early in tars and late in tars


def test_batch_print_joins_the_stored_letters_and_can_be_cancelled(workflow_store, maker):
    tars = [denied(workflow_store, maker) for _ in range(2)]
    ids = []
    for tar in tars:
        letter = letter_of(workflow_store, tar)
        issued = do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
        ids.append((letter.id, issued.pages))
    seen = []
    pdf = letters.batch_pdf(workflow_store, [i for i, _ in ids], progress=lambda d, t: seen.append((d, t)))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == sum(pages for _, pages in ids)
    assert seen[-1] == (2, 2)
    assert letters.batch_pdf(workflow_store, [i for i, _ in ids], cancelled=lambda: True) is None


def test_a_new_determination_supersedes_the_unissued_letters(workflow_store, maker):
    tar = denied(workflow_store, maker)
    first = letter_of(workflow_store, tar)
    do(workflow_store, svc.decide_case, tar, "dr.morales", outcome="approve", rationale="P2P: criteria met",
       criteria=[PT], criteria_result="criteria-met")
    with workflow_store.session() as session:
        assert session.get(Letter, first.id).status == "superseded"
        current = letters.find_letter(session, tar, "member")
        assert current.kind == "approval" and current.status == "draft"


def test_only_users_who_may_record_notices_issue_letters(workflow_store, maker):
    tar = denied(workflow_store, maker)
    with pytest.raises(svc.ActionRefused) as error:
        do(workflow_store, letters.issue_letter, letter_of(workflow_store, tar).id, "auditor.brown")
    assert "um-coordinator" in error.value.who


def test_extension_pend_and_missed_decision_draft_their_notices(workflow_store, maker):
    tar = maker()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    do(workflow_store, svc.extend_case, tar, "nurse.nguyen", reason="information-needed",
       note="Therapy notes from the last 4 weeks")
    do(workflow_store, svc.pend_case, tar, "nurse.nguyen", missing=["Therapy notes", "Functional test"])
    with workflow_store.session() as session:
        rows = letters.case_letters(session, tar)
        kinds = {(row.kind, row.recipient) for row in rows}
        assert {("extension", "member"), ("extension", "provider"), ("request-for-information", "provider")} <= kinds
        extension = next(row for row in rows if row.kind == "extension" and row.recipient == "member")
        event = session.scalar(select(CaseEvent).where(CaseEvent.kind == "extended", CaseEvent.case_id ==
                                                       extension.case_id))
        assert extension.mail_by_at == datetime.fromisoformat(event.payload["notice_due"])
    missed = maker(received=datetime.now(timezone.utc) - timedelta(days=40))
    with workflow_store.session() as session, session.begin():
        assert missed in record_breaches(session, datetime.now(timezone.utc))
    with workflow_store.session() as session:
        rows = letters.case_letters(session, missed)
        assert {row.kind for row in rows} == {"untimely-decision"}


def test_medicare_member_adverse_notice_is_the_cms_10003_structure(workflow_store, maker):
    tar = denied(workflow_store, maker, lob="medicare")
    letter = letter_of(workflow_store, tar)
    issued = do(workflow_store, letters.issue_letter, letter.id, "coord.jones")
    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(issued.pdf)).pages)
    assert "Notice of Denial of Medical Coverage" in words and "65 days" in words
