"""Peer-to-peer in the GUI, driven like a user: request, offer two windows and book one from the case view's tab
(keyboard shortcut included), save the invitation, record an outcome (an overturn confirms naming the case, Cancel
the default), edit availability in the week calendar by keyboard, the reminder 15 minutes ahead, the report, and
the coordinators' queue."""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

import icalendar
import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import func, select

from app.domain.plantime import PLAN_TZ
from app.services import cases as svc
from app.services import p2p
from app.store.case_details import load_case
from app.store.models import Case, Letter, P2PAvailability, P2PRequest, User
from app.store.worklist import viewer_for
from app.ui.case_view import CaseView
from app.ui.main_window import MainWindow
from app.ui.p2p import AvailabilityWindow, P2PReportDialog, add_p2p_tab
from tests.workflow.conftest import CaseMaker, local_workflow_store  # noqa: F401 - fixture

SHOTS = os.environ.get("UMWS_SCREENSHOTS")
TAB_KEYS = Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier  # a tab's own actions


def denied_case(store) -> str:
    tar = CaseMaker(store)()
    with store.session() as session, session.begin():
        svc.claim_case(session, tar, "dr.morales")
        svc.decide_case(session, tar, "dr.morales", outcome="deny", basis="medical-necessity",
                        rationale="Conservative therapy not tried", member_reason="You did not try therapy first.")
    return tar


@pytest.fixture
def open_tab(qtbot, local_workflow_store):
    def make(tar: str, username: str = "coord.jones"):
        with local_workflow_store.session() as session:
            details = load_case(session, tar, full=True)
            viewer = viewer_for(session, username)
        view = CaseView(details, lambda: datetime.now(timezone.utc))
        tab = add_p2p_tab(view, local_workflow_store, viewer)
        qtbot.addWidget(view)
        view.show()
        view.activateWindow()
        view.tabs.setCurrentWidget(tab)
        qtbot.waitExposed(view)
        return view, tab
    return make


def select_rows(table, rows) -> None:
    table.clearSelection()
    model = table.model()
    for row in rows:
        table.selectionModel().select(model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                                      | QItemSelectionModel.SelectionFlag.Rows)


def request_of(store, tar: str) -> P2PRequest:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        return session.scalars(select(P2PRequest).where(P2PRequest.case_id == case.id)).one()


def test_request_offer_and_book_from_the_tab(qtbot, local_workflow_store, open_tab, tmp_path):
    tar = denied_case(local_workflow_store)
    view, tab = open_tab(tar)
    assert "offered for this denial until" in tab.offer_label.text()
    assert "Elena Morales, DO" in tab.decider_label.text()
    assert not tab.book_button.isEnabled() and tab.request_button.isEnabled()
    dialog = tab.request_prompt()
    dialog.name.setText("Dr. Tina Clark")
    dialog.phone.setText("(707) 555-0100")
    dialog.reason.setPlainText("Wants to discuss the imaging")
    dialog.windows[0][0].setChecked(True)
    dialog.accept()
    request = request_of(local_workflow_store, tar)
    assert (request.requester_name, request.status) == ("Dr. Tina Clark", "requested")
    assert len(request.preferred_windows) == 1
    assert tab.candidates.rowCount() > 2 and tab.candidates.item(0, 3).text() == "Deciding physician"
    select_rows(tab.candidates, [0])
    assert not tab.offer_button.isEnabled()  # at least two windows are offered
    select_rows(tab.candidates, [0, 1])
    assert tab.offer_button.isEnabled() and not tab.book_button.isEnabled()
    tab.offer_button.click()
    assert request_of(local_workflow_store, tar).status == "offered"
    chosen = tab.proposal.candidates[1].slot
    select_rows(tab.candidates, [1])
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view)
    tab.candidates.setFocus()
    qtbot.keyClick(tab.candidates, Qt.Key.Key_K, TAB_KEYS)  # Book selected
    qtbot.waitUntil(lambda: request_of(local_workflow_store, tar).status == "booked", timeout=5000)
    assert "Call booked" in tab.call_label.text() and "Elena Morales" in tab.call_label.text()
    assert tab.calls.rowCount() == 1 and tab.calls.item(0, 2).text() == "Booked"
    assert chosen.id not in [c.slot.id for c in tab.proposal.candidates]  # taken: no longer offered
    if SHOTS:
        view.resize(1100, 860)
        view.grab().save(os.path.join(SHOTS, "p2p-tab-booked.png"))
    assert tab.save_invitation(tmp_path / "call.ics")
    event = icalendar.Calendar.from_ical((tmp_path / "call.ics").read_bytes()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == chosen.start and tar in str(event["summary"])


def test_cancel_confirms_naming_the_case_with_keep_the_default(qtbot, local_workflow_store, open_tab):
    tar = denied_case(local_workflow_store)
    with local_workflow_store.session() as session, session.begin():
        user = session.scalar(select(User).where(User.username == "dr.morales"))
        today = datetime.now(PLAN_TZ).date()
        slot = p2p.reviewer_free_slots(session, [user], today, today + timedelta(days=10))["dr.morales"][0]
        p2p.book_call(session, tar, "coord.jones", slot.id)
    view, tab = open_tab(tar)
    dialog = tab.cancel_prompt()
    assert f"TAR {tar}" in dialog.findChildren(type(tab.message))[0].text()
    assert view.details.member_name in dialog.findChildren(type(tab.message))[0].text()
    assert dialog.keep.isDefault() and not dialog.yes.isEnabled()  # no reason, no cancelling
    dialog.reason.setText("Practitioner in surgery")
    dialog.keep.click()
    assert request_of(local_workflow_store, tar).status == "booked"
    dialog = tab.cancel_prompt()
    dialog.reason.setText("Practitioner in surgery")
    dialog.yes.click()
    assert request_of(local_workflow_store, tar).status == "requested"
    assert "Call cancelled" in tab.message.text()


def test_outcome_overturned_makes_a_new_approval_after_confirming(qtbot, local_workflow_store, open_tab):
    tar = denied_case(local_workflow_store)
    with local_workflow_store.session() as session, session.begin():
        user = session.scalar(select(User).where(User.username == "dr.morales"))
        today = datetime.now(PLAN_TZ).date()
        slot = p2p.reviewer_free_slots(session, [user], today, today + timedelta(days=10))["dr.morales"][0]
        p2p.book_call(session, tar, "coord.jones", slot.id)
    view, coordinator_tab = open_tab(tar)
    assert coordinator_tab.outcome_button.isEnabled()  # a coordinator may record a missed call
    view, tab = open_tab(tar, "dr.morales")
    dialog = tab.outcome_prompt()
    assert dialog.call_buttons["held"].isChecked() and dialog.results.isEnabled()
    dialog.ok.click()
    assert dialog.isVisible() and "Choose the result" in dialog.problem.text()  # nothing recorded yet
    dialog.result_buttons["overturned"].setChecked(True)
    dialog.notes.setPlainText("Therapy notes faxed during the call show 8 weeks of PT.")
    if SHOTS:
        dialog.grab().save(os.path.join(SHOTS, "p2p-outcome.png"))
    dialog.ok.click()
    box = tab.last_box
    assert isinstance(box, QMessageBox) and f"TAR {tar}" in box.text() and view.details.member_name in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert request_of(local_workflow_store, tar).status == "booked"  # Cancel: nothing written
    dialog = tab.outcome_prompt()
    dialog.result_buttons["overturned"].setChecked(True)
    dialog.notes.setPlainText("Therapy notes faxed during the call show 8 weeks of PT.")
    dialog.ok.click()
    next(b for b in tab.last_box.buttons() if b.text() == "Record and decide").click()
    qtbot.waitUntil(lambda: request_of(local_workflow_store, tar).status == "completed", timeout=5000)
    with local_workflow_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert (case.outcome, case.status) == ("approved", "determined")
        kinds = {letter.kind for letter in session.scalars(select(Letter).where(
            Letter.case_id == case.id, Letter.status.in_(("draft", "translation-needed"))))}
        assert kinds == {"approval"}
    assert "overturned" in tab.message.text() and "Letters tab" in tab.message.text()
    assert "Request (held)" in tab.request_label.text()


def test_outcome_by_a_coordinator_is_refused_in_words(qtbot, local_workflow_store, open_tab):
    tar = denied_case(local_workflow_store)
    with local_workflow_store.session() as session, session.begin():
        user = session.scalar(select(User).where(User.username == "dr.morales"))
        today = datetime.now(PLAN_TZ).date()
        slot = p2p.reviewer_free_slots(session, [user], today, today + timedelta(days=10))["dr.morales"][0]
        p2p.book_call(session, tar, "coord.jones", slot.id)
    view, tab = open_tab(tar)
    dialog = tab.outcome_prompt()
    dialog.result_buttons["upheld"].setChecked(True)
    dialog.notes.setPlainText("x")
    dialog.ok.click()
    assert "Only a physician" in tab.last_box.text()
    assert request_of(local_workflow_store, tar).status == "booked"


def test_week_calendar_by_keyboard(qtbot, local_workflow_store):
    with local_workflow_store.session() as session:
        viewer = viewer_for(session, "dr.shah")
    window = AvailabilityWindow(local_workflow_store, viewer, now=lambda: datetime.now(timezone.utc))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.reviewer.currentData() == "dr.shah" and not window.reviewer.count() > 1  # own availability only
    view = window.view
    # The demo hours are published from today for 4 weeks: the week shown has some (the coming one at a weekend).
    assert any(c.kind in ("free", "past") for c in window.week.cells)
    view.setFocus()
    start = window.monday
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert window.monday == start + timedelta(days=14)
    for _ in range(8):
        qtbot.keyClick(view, Qt.Key.Key_Left)
    for _ in range(40):
        qtbot.keyClick(view, Qt.Key.Key_Up)
    qtbot.keyClick(view, Qt.Key.Key_Right)  # Tuesday, the first half hour shown (7:00 AM)
    assert view.describe_focus().startswith("Tuesday") and "7:00 AM PT: nothing published" in view.describe_focus()
    assert window.focus_text.text() == view.describe_focus()
    qtbot.keyClick(view, Qt.Key.Key_Return)
    dialog = window.last_dialog
    assert dialog.kind == "one-off" and dialog.start.time().hour() == 7
    dialog.accept()  # 7:00 to 9:00 AM: clear of the demo hours
    day = start + timedelta(days=15)
    assert sum(1 for c in window.week.cells if c.day == day and c.start < 9 * 60 and c.kind == "free") == 4
    assert "nothing published" not in view.describe_focus() and "free slot" in view.describe_focus()
    if SHOTS:
        window.resize(1180, 800)
        window.grab().save(os.path.join(SHOTS, "p2p-calendar-edited.png"))
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    withdraw = window.last_dialog
    assert "One-off" in withdraw.findChildren(type(window.focus_text))[0].text() and withdraw.keep.isDefault()
    withdraw.reason.setText("Clinic moved")
    withdraw.yes.click()
    assert not any(c.day == day and c.start < 9 * 60 for c in window.week.cells)
    with local_workflow_store.session() as session:
        assert session.scalars(select(P2PAvailability).where(P2PAvailability.withdrawn_reason == "Clinic moved")).one()
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert window.monday == start
    overlap = window.add_prompt("one-off", day, datetime(2000, 1, 1, 10).time())  # inside the demo hours
    overlap.accept()
    assert "overlap" in window.last_box.text()


@pytest.mark.parametrize("today, opens_on", [(date(2026, 12, 4), date(2026, 11, 30)),  # a Friday: its week
                                             (date(2026, 12, 5), date(2026, 12, 7)),  # a Saturday: the coming week
                                             (date(2026, 12, 6), date(2026, 12, 7)),  # a Sunday
                                             (date(2026, 12, 7), date(2026, 12, 7))])  # a Monday
def test_the_calendar_opens_on_the_working_week_ahead(qtbot, local_workflow_store, today, opens_on):
    with local_workflow_store.session() as session:
        viewer = viewer_for(session, "dr.shah")
    at = datetime.combine(today, datetime.min.time().replace(hour=13), tzinfo=PLAN_TZ)
    window = AvailabilityWindow(local_workflow_store, viewer, now=lambda: at)
    qtbot.addWidget(window)
    assert window.monday == opens_on
    window.move_week(1)
    window.move_week(0)  # Home
    assert window.monday == opens_on and window.week_label.text().startswith(f"Week of {opens_on:%a %m/%d/%Y}")


def test_a_coordinator_keeps_any_reviewers_calendar(qtbot, local_workflow_store):
    with local_workflow_store.session() as session:
        viewer = viewer_for(session, "coord.jones")
    window = AvailabilityWindow(local_workflow_store, viewer, now=lambda: datetime.now(timezone.utc),
                                reviewer="dr.morales")
    qtbot.addWidget(window)
    from app.domain import p2p as rules

    with local_workflow_store.session() as session:
        peers = session.scalar(select(func.count()).select_from(User).where(User.role.in_(rules.PEER_ROLES),
                                                                            User.active.is_(True)))
    assert peers >= 4 and window.reviewer.count() == peers  # every reviewer who holds calls, not only the viewer
    assert window.reviewer.currentData() == "dr.morales"
    assert window.add_weekly.isEnabled()


def test_reminder_fifteen_minutes_ahead_and_the_queues(qtbot, local_workflow_store, tmp_path):
    tar = denied_case(local_workflow_store)
    waiting = denied_case(local_workflow_store)
    with local_workflow_store.session() as session, session.begin():
        user = session.scalar(select(User).where(User.username == "dr.morales"))
        today = datetime.now(PLAN_TZ).date()
        slot = p2p.reviewer_free_slots(session, [user], today, today + timedelta(days=10))["dr.morales"][0]
        booking = p2p.book_call(session, tar, "coord.jones", slot.id)
        p2p.request_p2p(session, waiting, "coord.jones")
        starts = booking.starts_at
    then = starts - timedelta(minutes=14)
    with local_workflow_store.session() as session:
        doctor = viewer_for(session, "dr.morales")
        coordinator = viewer_for(session, "coord.jones")
    window = MainWindow(local_workflow_store, doctor, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        clock=lambda: then)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.p2p.reminders.reads > 0, timeout=10_000)
    bar = window.p2p.bar
    assert bar.isVisible() and f"TAR {tar}" in bar.text.text() and "in 14 minutes" in bar.text.text()
    assert window.p2p.reminders.check() == []  # once per call
    menu = [a.text() for a in window.menuBar().actions()]
    assert "&Peer-to-peer" in menu and menu.index("&Peer-to-peer") == menu.index("&Help") - 1
    ids = [q.id for q in window.queues]
    assert "p2p-today" in ids
    window.queue_list.setCurrentRow(ids.index("p2p-today"))
    assert [window.model.tar_at(r) for r in range(window.model.rowCount())] == [tar]
    window.select_row(0)
    assert "Call " in window.summary.form.values["Peer-to-peer"].text()
    window.close()
    coordinator_window = MainWindow(local_workflow_store, coordinator,
                                    QSettings(str(tmp_path / "c.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(coordinator_window)
    assert coordinator_window.p2p.reminders is None
    ids = [q.id for q in coordinator_window.queues]
    coordinator_window.queue_list.setCurrentRow(ids.index("p2p-to-schedule"))
    assert [coordinator_window.model.tar_at(r) for r in range(coordinator_window.model.rowCount())] == [waiting]
    report = coordinator_window.p2p.show_report()
    qtbot.addWidget(report)
    task = report.run()
    qtbot.waitUntil(lambda: report.report is not None, timeout=10_000)
    task.wait()
    assert report.report["requested"] == 2 and report.table.item(0, 0).text() == "2"
    coordinator_window.close()


def test_report_refuses_a_backwards_period(qtbot, local_workflow_store):
    dialog = P2PReportDialog(local_workflow_store)
    qtbot.addWidget(dialog)
    dialog.last.setDate(dialog.first.date().addDays(-1))
    assert dialog.run() is None and "before the first day" in dialog.status.text()
