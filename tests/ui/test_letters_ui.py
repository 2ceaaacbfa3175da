"""The Letters tab and the "Letters to mail" window driven like a user: preview, issue with a confirmation that
names the case (Cancel the default), batch print off the GUI thread, mark mailed, and the clocks that follow."""
from __future__ import annotations

import io
import os
from datetime import date

import pytest
from PySide6.QtWidgets import QMessageBox
from pypdf import PdfReader
from sqlalchemy import select

from app.services import cases as svc
from app.store.case_details import load_case
from app.store.models import Case, Letter
from app.store.worklist import viewer_for
from app.ui.case_view import CaseView, case_clocks, clock_lines
from app.ui.letters import LettersQueueWindow, add_letters_tab
from tests.workflow.conftest import CaseMaker, local_workflow_store  # noqa: F401 - fixture

PT = svc.CriteriaCitation("outpatient-physical-therapy", "2026.1")
SHOTS = os.environ.get("UMWS_SCREENSHOTS")


def denied_case(store, *, address=True) -> str:
    tar = CaseMaker(store)()
    with store.session() as session, session.begin():
        member = session.scalar(select(Case).where(Case.tar == tar)).member
        if address:
            member.address_line, member.city, member.state, member.postal_code = "1 Elm St", "Napa", "CA", "94558"
        svc.claim_case(session, tar, "dr.morales")
        svc.decide_case(session, tar, "dr.morales", outcome="deny", basis="benefit", rationale="Not a benefit",
                        member_reason="Medi-Cal does not cover this service.", criteria=[PT],
                        criteria_result="not-met")
    return tar


@pytest.fixture
def open_view(qtbot, local_workflow_store):
    def make(tar: str, username: str = "coord.jones") -> CaseView:
        from datetime import datetime, timezone

        with local_workflow_store.session() as session:
            details = load_case(session, tar, full=True)
            viewer = viewer_for(session, username)
        view = CaseView(details, lambda: datetime.now(timezone.utc))
        add_letters_tab(view, local_workflow_store, viewer)
        qtbot.addWidget(view)
        view.show()
        view.tabs.setCurrentWidget(view.letters_tab)
        return view
    return make


def test_preview_then_issue_with_a_confirmation_naming_the_case(qtbot, local_workflow_store, open_view):
    tar = denied_case(local_workflow_store)
    view = open_view(tar)
    tab = view.letters_tab
    assert sorted(row[2] for row in tab.rows) == ["member", "provider"]
    tab.table.setCurrentCell([row[2] for row in tab.rows].index("member"), 0)
    task = tab.show_preview()
    qtbot.waitUntil(lambda: tab.preview is not None, timeout=20_000)
    task.wait()
    assert tab.pages_layout.count() == len(PdfReader(io.BytesIO(tab.preview.pdf)).pages) >= 4
    assert "Every required element is present" in tab.findings.toPlainText()
    if SHOTS:
        view.resize(1100, 900)
        view.grab().save(os.path.join(SHOTS, "letters-tab.png"))
    box = tab.confirm_issue()
    assert f"TAR {tar}" in box.text() and view.details.member_name in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    with local_workflow_store.session() as session:
        assert session.get(Letter, tab.current()[0]).status == "draft"
    box = tab.confirm_issue()
    issue = next(b for b in box.buttons() if b.text() == "Issue")
    issue.click()
    qtbot.waitUntil(lambda: tab.current() is not None and tab.current()[4] == "issued")
    assert "SHA-256" in tab.findings.toPlainText()
    assert not tab.issue_button.isEnabled()


def test_a_blocked_letter_says_what_to_add(qtbot, local_workflow_store, open_view):
    tar = denied_case(local_workflow_store, address=False)
    view = open_view(tar)
    tab = view.letters_tab
    tab.table.setCurrentCell([row[2] for row in tab.rows].index("member"), 0)
    box = tab.confirm_issue()
    assert box.windowTitle() == "Cannot issue this letter" and "mailing address" in box.text()
    with local_workflow_store.session() as session:
        assert session.get(Letter, tab.current()[0]).status == "draft"


def test_the_queue_prints_a_batch_and_marks_letters_mailed(qtbot, qtmodeltester, local_workflow_store, tmp_path,
                                                            open_view):
    tars = [denied_case(local_workflow_store) for _ in range(2)]
    with local_workflow_store.session() as session, session.begin():
        for tar in tars:
            from app.services import letters

            letters.issue_letter(session, letters.find_letter(session, tar, "member").id, "coord.jones")
        viewer = viewer_for(session, "coord.jones")
    window = LettersQueueWindow(local_workflow_store, viewer)
    qtbot.addWidget(window)
    window.show()
    qtmodeltester.check(window.model)
    dues = [row.mail_by_at for row in window.model.rows if row.mail_by_at]
    assert dues == sorted(dues)
    assert "2 issued and waiting to be mailed" in window.summary.text()
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, "letters-queue.png"))
    path = str(tmp_path / "batch.pdf")
    task = window.print_batch(path)
    qtbot.waitUntil(lambda: window.last_batch == path, timeout=20_000)
    task.wait()
    assert len(PdfReader(path).pages) >= 8
    issued = [row for row in window.model.rows if row.status == "issued"]
    box = window.confirm_mailed(issued, date.today())
    assert all(tar in box.text() for tar in tars)
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    next(b for b in box.buttons() if b.text() == "Mark mailed").click()
    assert not [row for row in window.model.rows if row.status == "issued"]
    view = open_view(tars[0])
    clocks = case_clocks(view.details, view._now())
    member_line = next(line for line in clock_lines(view.details, clocks, view._now())
                       if line.clock == "member_notice")
    assert member_line.state.startswith("Sent ") and member_line.state.endswith("in time")


def test_a_spanish_letter_is_translated_in_the_tab_then_ready_to_issue(qtbot, local_workflow_store, open_view):
    tar = CaseMaker(local_workflow_store)()
    with local_workflow_store.session() as session, session.begin():
        member = session.scalar(select(Case).where(Case.tar == tar)).member
        member.language = "es"
        member.address_line, member.city, member.state, member.postal_code = "1 Elm St", "Napa", "CA", "94558"
        svc.claim_case(session, tar, "dr.morales")
        svc.decide_case(session, tar, "dr.morales", outcome="deny", basis="benefit", rationale="Not a benefit",
                        member_reason="Medi-Cal does not cover this service.", criteria=[PT],
                        criteria_result="not-met")
    view = open_view(tar)
    tab = view.letters_tab
    tab.table.setCurrentCell([row[2] for row in tab.rows].index("member"), 0)
    assert tab.current()[4] == "translation-needed" and tab.translate_button.isEnabled()
    dialog = tab.translate_prompt()
    assert set(dialog.edits) == {"member_reason", "services"}
    dialog.edits["member_reason"][0].setPlainText("Medi-Cal no cubre este servicio.")
    dialog.edits["services"][0].setPlainText("servicio 97110\nservicio 97140")
    dialog.accept()
    member_row = [row[2] for row in tab.rows].index("member")
    assert tab.rows[member_row][4] == "draft"
