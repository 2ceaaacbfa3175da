"""The intake form by keyboard (pytest-qt): a request typed and saved, a fax read beside the form, a duplicate."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import select

from app.services import demo
from app.store.models import Case, IntakeDocument
from app.store.worklist import viewer_for
from app.ui.intake_form import DuplicateDialog, IntakeWindow
from tests.intake.documents import fax_pdf

ARRIVED = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=4)


@pytest.fixture
def store(local_store):
    demo.generate(local_store, 0, seed=9)
    return local_store


def window_for(qtbot, store, tmp_path, username="coord.jones") -> IntakeWindow:
    with store.session() as session:
        viewer = viewer_for(session, username)
    window = IntakeWindow(store, viewer, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                          folder=tmp_path / "inbox", poll_ms=0)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    window.form.member_search.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.form.member_search)
    return window


def type_in(qtbot, window, text: str, tabs: int = 1) -> None:
    focused = QApplication.focusWidget()
    qtbot.keyClicks(focused, text)
    for _ in range(tabs):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)


def close_messages(window) -> None:
    for box in window.findChildren(QMessageBox):
        box.close()


def test_a_request_typed_by_keyboard_is_saved_pended_for_what_it_lacks(qtbot, store, tmp_path):
    window = window_for(qtbot, store, tmp_path)
    assert QApplication.focusWidget() is window.form.member_search
    qtbot.keyClick(window.form.member_search, Qt.Key.Key_Tab)  # the (hidden) results are skipped
    assert QApplication.focusWidget() is window.form.cin
    type_in(qtbot, window, "91234567a")
    type_in(qtbot, window, "")  # plan member id
    type_in(qtbot, window, "Lucia")
    type_in(qtbot, window, "Hernandez")
    type_in(qtbot, window, "", tabs=2)  # no birth date; sex left Unknown
    assert QApplication.focusWidget() is window.form.requesting_npi
    qtbot.keyClicks(window.form.requesting_npi, "1234567893")
    assert window.form.requesting_check.text() == "✓ check digit OK"
    qtbot.keyClick(window.form.requesting_npi, Qt.Key.Key_Tab)
    type_in(qtbot, window, "Chidi Okoro, MD")
    # the first request line: Ctrl+Shift+L adds one and goes there; F2 edits a cell, Tab moves along
    window.form.lines.setRowCount(0)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    table = window.form.lines
    assert QApplication.focusWidget() is table and table.currentRow() == 0
    for column, text in ((0, "97110"), (1, "Therapeutic exercise"), (2, "12")):
        table.setCurrentCell(0, column)
        qtbot.keyClick(table, Qt.Key.Key_F2)
        qtbot.keyClicks(QApplication.focusWidget(), text)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # Alt+D: Diagnoses
    assert QApplication.focusWidget() is window.form.diagnoses
    qtbot.keyClicks(window.form.diagnoses, "M54.50 Low back pain; 5450")
    assert "'5450' is not an ICD-10-CM code" in window.form.diagnoses_check.text()
    window.form.diagnoses.setText("")
    qtbot.keyClicks(window.form.diagnoses, "m54.50 Low back pain")
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # Ctrl+S
    saved = window.last_saved
    assert saved is not None and saved.status == "pended"
    assert saved.missing == ["member's birth date",
                             "clinical indications and pertinent history, treatment or clinical data",
                             "location of service (place of service)"]
    assert f"TAR {saved.tar} saved and pended" in window.last_message
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == saved.tar))
        assert case.member_name == "Hernandez, Lucia" and case.member.cin == "91234567A"
        assert [(l.code, l.units) for l in case.lines] == [("97110", 12)]
        assert [d.code for d in case.diagnoses] == ["M54.50"]
        assert case.requesting_provider.npi == "1234567893"
    close_messages(window)
    assert window.form.cin.text() == ""  # ready for the next request


def test_a_fax_beside_the_form_gives_its_receipt_and_is_attached(qtbot, store, tmp_path):
    (tmp_path / "inbox").mkdir()
    fax_pdf(tmp_path / "inbox" / "fax-0912.pdf", arrived=ARRIVED)
    window = window_for(qtbot, store, tmp_path)
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # Ctrl+1: the inbox
    assert QApplication.focusWidget() is window.inbox_list
    qtbot.keyClick(window.inbox_list, Qt.Key.Key_Home)
    assert window.current is not None and window.current.name == "fax-0912.pdf"
    assert window.viewer_widget.currentWidget() is window.viewer_widget.pdf_view
    assert window.viewer_widget.pdf_document.pageCount() == 2
    assert window.form.received_at() == ARRIVED
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # Ctrl+2: the form
    type_in(qtbot, window, "91234567A")
    type_in(qtbot, window, "")
    type_in(qtbot, window, "Lucia")
    type_in(qtbot, window, "Hernandez")
    type_in(qtbot, window, "05/17/1970", tabs=2)
    type_in(qtbot, window, "1234567893")
    type_in(qtbot, window, "Chidi Okoro, MD")
    window.form.lines.item(0, 0).setText("97110")
    window.form.place.setEditText("11")
    window.form.diagnoses.setText("M54.50")
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = window.last_saved
    assert saved is not None and saved.status == "received" and saved.missing == []
    assert not (tmp_path / "inbox" / "fax-0912.pdf").exists()
    assert (tmp_path / "inbox" / "processed" / f"{saved.tar}_fax-0912.pdf").exists()
    assert window.inbox_list.count() == 0
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == saved.tar))
        assert case.received_at == ARRIVED
        assert session.scalar(select(IntakeDocument.file_name).where(IntakeDocument.case_id == case.id)) \
            == "fax-0912.pdf"
    close_messages(window)


def fill(window, code="97110"):
    form = window.form
    form.cin.setText("91234567A"); form.first_name.setText("Lucia"); form.last_name.setText("Hernandez")
    form.birth_date.setText("05/17/1970"); form.requesting_npi.setText("1234567893")
    form.requesting_name.setText("Chidi Okoro, MD"); form.place.setEditText("11")
    form.lines.item(0, 0).setText(code); form.lines.item(0, 3).setText("11/23/2026")
    form.diagnoses.setText("M54.50"); form.notes.setPlainText("8 weeks of pain")


def test_a_duplicate_asks_and_cancel_is_the_default(qtbot, store, tmp_path):
    window = window_for(qtbot, store, tmp_path)
    fill(window)
    first = window.save()
    close_messages(window)
    fill(window)
    answers = []

    def answer(keys):
        def run():
            dialog = next(d for d in window.findChildren(DuplicateDialog) if d.isVisible())
            answers.append(dialog.cancel_button.isDefault())
            for key, modifier in keys:
                qtbot.keyClick(QApplication.focusWidget() or dialog, key, modifier)
        return run

    QTimer.singleShot(50, answer([(Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)]))
    assert window.save() is None  # Enter: Cancel, nothing saved
    QTimer.singleShot(50, answer([(Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)]))  # Alt+A: add to that case
    merged = window.save()
    assert answers == [True, True]
    assert merged is not None and not merged.created and merged.tar == first.tar
    close_messages(window)
    with store.session() as session:
        assert session.scalar(select(Case).where(Case.tar != first.tar, Case.member_name == "Hernandez, Lucia")) \
            is None


def test_roles_that_do_not_enter_requests_cannot_save(qtbot, store, tmp_path):
    window = window_for(qtbot, store, tmp_path, "auditor.brown")
    assert not window.save_button.isEnabled()
    assert "does not enter requests" in window.save_button.toolTip()


def test_the_window_watches_the_inbox_folder(qtbot, store, tmp_path):
    import json

    from tests.intake.bundles import therapy_bundle

    (tmp_path / "inbox").mkdir()
    window = window_for(qtbot, store, tmp_path)
    assert window.inbox_list.count() == 0
    fax_pdf(tmp_path / "inbox" / "new-fax.pdf", arrived=ARRIVED)  # arrives while the window is open
    qtbot.waitUntil(lambda: window.inbox_list.count() == 1, timeout=5000)
    assert "new-fax.pdf" in window.inbox_list.item(0).text()
    bundle = tmp_path / "inbox" / "portal-request.json"
    bundle.write_text(json.dumps(therapy_bundle()))
    os.utime(bundle, (ARRIVED.timestamp(), ARRIVED.timestamp()))
    qtbot.waitUntil(lambda: not bundle.exists(), timeout=10000)  # imported and moved to processed
    qtbot.waitUntil(lambda: window.import_task is None, timeout=5000)
    assert "portal-request.json: 1 case(s) created" in window.inbox_label.text()
    with store.session() as session:
        assert session.scalar(select(Case).where(Case.received_at == ARRIVED)) is not None
