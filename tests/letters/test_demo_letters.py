"""The demo's letters (app.services.demo_letters): after `umws demo` a coordinator finds letters to mail, drafts wait,
one waits for a translation, a case's letters are mailed; all made by the services (events, audit chain), the PDFs
real, and the same seed gives the same letters."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.domain.plantime import to_plan
from app.services import audit, demo, demo_letters, letters
from app.store.models import AuditRecord, Case, CaseEvent, CaseWorkflow, IssuedLetter, Letter, User

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)  # Tue 24 Nov 2026, noon in the plan's time zone
CASES, SEED = 300, 5


@pytest.fixture
def demo_store(any_store):
    demo.generate(any_store, CASES, seed=SEED, now=NOW)
    return any_store


def _letters(session) -> list[Letter]:
    return session.scalars(select(Letter).join(Case).order_by(Case.tar, Letter.recipient)).all()


def test_the_coordinator_has_letters_to_mail_with_near_mail_by_dates(demo_store):
    with demo_store.session() as session:
        waiting = letters.letter_queue(session, statuses=("issued",))
        queue = letters.letter_queue(session)
    assert len({row.tar for row in waiting}) == demo_letters.CASES - demo_letters.DRAFTED - demo_letters.MAILED
    assert {row.recipient for row in waiting} == {"member", "provider"}
    for row in waiting:
        assert row.issued_at is not None and row.issued_at <= NOW
        assert NOW - timedelta(days=2) < row.mail_by_at <= NOW + timedelta(days=5), row  # 2 business days at most
    assert [row.mail_by_at for row in queue] == sorted(row.mail_by_at for row in queue)  # nearest first


def test_drafts_wait_and_one_member_letter_waits_for_its_translation(demo_store):
    with demo_store.session() as session:
        rows = _letters(session)
        drafts = [row for row in rows if row.status == "draft"]
        waiting = [row for row in rows if row.status == "translation-needed"]
        issued = {row.case_id for row in rows if row.issued_letter_id}
        assert len({row.case_id for row in drafts + waiting} - issued) == demo_letters.DRAFTED
        assert len(waiting) == 1 and waiting[0].recipient == "member"
        assert waiting[0].language != "en" and waiting[0].case.member.language == waiting[0].language
        with pytest.raises(letters.TranslationNeeded):
            letters.issue_letter(session, waiting[0].id, "coord.jones", at=NOW)
        preview = letters.preview_letter(session, waiting[0].id)
        assert preview.pdf is None and "member_reason" in preview.missing_translation


def test_one_case_is_mailed_and_its_member_notice_recorded(demo_store):
    with demo_store.session() as session:
        mailed = [row for row in _letters(session) if row.status == "mailed"]
        assert {row.recipient for row in mailed} == {"member", "provider"}
        assert len({row.case_id for row in mailed}) == demo_letters.MAILED
        for row in mailed:
            assert row.issued_at < row.mailed_at <= NOW
            kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == row.case_id)).all()
            assert {"letter-issued", "letter-mailed", "notified"} <= set(kinds)
            workflow = session.get(CaseWorkflow, row.case_id)
            assert workflow.member_notified_at == next(m.mailed_at for m in mailed if m.recipient == "member"
                                                       and m.case_id == row.case_id)
            assert row.case.status == "notified"


def test_the_cases_were_decided_by_a_physician_citing_the_unmet_criteria(demo_store):
    with demo_store.session() as session:
        cases = {row.case for row in _letters(session)}
        assert len(cases) == demo_letters.CASES
        kinds = set()
        for case in cases:
            determination = session.get(CaseEvent, session.get(CaseWorkflow, case.id).determination_event_id)
            payload = determination.payload
            decider = session.scalar(select(User).where(User.username == payload["decided_by"]["username"]))
            assert decider.role in ("medical-director", "bh-clinical-director")
            assert payload["outcome"] in ("denied", "partially-approved") and payload["criteria"]
            assert payload["criteria_result"] == "not-met" and payload["basis"] == "medical-necessity"
            assert case.decided_at <= case.decision_due_at and case.decided_at < NOW
            first = session.scalars(select(Letter).where(Letter.case_id == case.id)).first()
            facts = letters.letter_facts(session, first)
            assert facts.unmet and facts.criteria[0].title
            kinds.add(first.kind)
        assert "modification" in kinds and ({"denial-medical-necessity", "termination"} & kinds)


def test_every_step_left_its_events_and_the_audit_chain_verifies(demo_store):
    report = audit.verify(demo_store)
    assert all(chain.problem is None for chain in report.chains) and not report.case_problems
    with demo_store.session() as session:
        issued = session.scalar(select(func.count()).select_from(IssuedLetter))
        events = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "letter-issued"))
        records = session.scalar(select(func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.what == "letter-issued"))
        assert issued == events == records > 0
        decided = session.scalar(select(func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.what == "determined"))
        assert decided == demo_letters.CASES


def test_the_letters_are_real_pdfs(demo_store):
    with demo_store.session() as session:
        rows = _letters(session)
        for row in rows:
            if row.issued_letter_id:
                stored = session.get(IssuedLetter, row.issued_letter_id)
                assert stored.pdf.startswith(b"%PDF") and hashlib.sha256(stored.pdf).hexdigest() == stored.sha256
                assert to_plan(stored.issued_at).date() == stored.notice_date
        draft = next(row for row in rows if row.status == "draft")
        preview = letters.preview_letter(session, draft.id)
        assert preview.pdf.startswith(b"%PDF") and not preview.lint.blocked


def test_the_same_seed_gives_the_same_letters(local_store, tmp_path):
    from app.store.engine import open_local_store

    def summary(store):
        with store.session() as session:
            return [(row.case.tar, row.kind, row.recipient, row.language, row.status, row.mail_by_at,
                     row.issued_at, row.mailed_at) for row in _letters(session)]

    other = open_local_store(tmp_path / "second.db")
    try:
        for store in (local_store, other):
            demo.generate(store, 120, seed=SEED, now=NOW)
        first = summary(local_store)
        assert first and first == summary(other)
    finally:
        other.close()


def test_a_second_demo_run_adds_letters_on_other_cases(local_store):
    def lettered(store):
        with store.session() as session:
            return dict(session.execute(select(Letter.case_id, func.count()).group_by(Letter.case_id)).all())

    demo.generate(local_store, 120, seed=3, now=NOW)
    first = lettered(local_store)
    demo.generate(local_store, 120, seed=4, now=NOW)
    both = lettered(local_store)
    assert first and set(first) < set(both) and set(both.values()) == {2}  # a member's and a provider's letter


def test_the_coordinators_letters_to_mail_window_shows_the_demo_letters(qtbot, qtmodeltester, local_store):
    from app.store.worklist import viewer_for
    from app.ui.letters import LettersQueueWindow

    demo.generate(local_store, CASES, seed=SEED, now=NOW)
    with local_store.session() as session:
        viewer = viewer_for(session, "coord.jones")
        queue = letters.letter_queue(session)
    window = LettersQueueWindow(local_store, viewer, now=lambda: NOW)
    qtbot.addWidget(window)
    window.show()
    qtmodeltester.check(window.model)
    assert window.model.rowCount() == len(queue) > 0
    shown = [window.model.index(r, 1).data() for r in range(window.model.rowCount())]
    assert shown == [row.tar for row in queue]
    statuses = {window.model.index(r, 6).data() for r in range(window.model.rowCount())}
    assert {"Issued: to mail", "Ready to issue", "Translation needed"} <= statuses
    waiting = sum(1 for row in queue if row.status == "issued")
    assert f"{waiting} issued and waiting to be mailed, 1 waiting for a translation" in window.summary.text()
    countdowns = [window.model.index(r, 0).data() for r in range(window.model.rowCount())]
    assert all(" left" in text or "OVERDUE" in text for text in countdowns)  # the countdown to the mail-by date
    assert any(" left" in text for text in countdowns)
