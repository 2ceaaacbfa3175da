"""The Appeal tab driven like a user, by keyboard: file an appeal through its dialog; the reviewer decides through
the decide dialog and a confirmation that names the case (Cancel the default); refusals shown in the rule's words
with nothing written; the tab's clocks in words and shapes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from sqlalchemy import func, select

from app.services import appeals
from app.store.case_details import load_case
from app.store.models import Appeal, Case, CaseEvent, User
from app.store.worklist import viewer_for
from app.ui.appeals import DecideAppealDialog, FileAppealDialog, RouteDialog, add_appeal_tab
from app.ui.case_view import CaseView
from tests.appeals.conftest import Denials, do, local_workflow_store  # noqa: F401 - fixture

KEYS = Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier  # a tab's own actions


@pytest.fixture
def open_view(qtbot, local_workflow_store):
    def make(tar: str, username: str) -> CaseView:
        with local_workflow_store.session() as session:
            details = load_case(session, tar, full=True)
            viewer = viewer_for(session, username)
        view = CaseView(details, lambda: datetime.now(timezone.utc))
        add_appeal_tab(view, local_workflow_store, viewer)
        qtbot.addWidget(view)
        view.show()
        view.tabs.setCurrentWidget(view.appeal_tab)
        view.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is view)  # the shortcuts are the window's
        return view
    return make


def events(store, tar: str) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(CaseEvent.kind).join(Case, Case.id == CaseEvent.case_id)
                                    .where(Case.tar == tar).order_by(CaseEvent.occurred_at)))


def shortcut(qtbot, view, key) -> None:
    """The key with Ctrl+Shift where the user's focus is: a widget of the Appeal tab."""
    focus = view.appeal_tab.menu_button
    focus.setFocus()
    qtbot.keyClick(focus, key, KEYS)
    QApplication.processEvents()


def test_a_coordinator_files_an_appeal_from_the_keyboard(qtbot, local_workflow_store, open_view):
    tar = Denials(local_workflow_store)()
    view = open_view(tar, "coord.jones")
    tab = view.appeal_tab
    assert "No appeal of this case" in tab.heading.text()
    assert not tab.actions["decide"].isEnabled() and "may not decide an appeal" in tab.actions["decide"].toolTip()
    shortcut(qtbot, view, Qt.Key.Key_F)
    dialog = tab.dialog
    assert isinstance(dialog, FileAppealDialog) and dialog.isVisible()
    dialog.channel.setCurrentIndex(dialog.channel.findData("writing"))
    dialog.filed_by.setCurrentIndex(dialog.filed_by.findData("provider"))
    dialog.received.setDateTime(dialog.received.dateTime().addSecs(-3600))
    qtbot.keyClicks(dialog.note, "Surgeon's letter: the member cannot wait for therapy")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: "appeal-filed" in events(local_workflow_store, tar))
    assert "In review" in tab.heading.text() and "Standard (30 days)" in tab.heading.text()
    assert tab.form.values["Filed by"].text() == "A provider, for the member"
    assert tab.form.values["Reviewer"].text() == "dr.ito"
    assert "On track" in tab.clock_cells["resolution"][3].text()
    assert tab.clock_cells["resolution"][0].accessibleName() == "On track"  # the band's shape has its word
    assert not tab.actions["file"].isEnabled()  # one open appeal at a time


def test_a_filing_the_service_refuses_is_shown_and_writes_nothing(qtbot, local_workflow_store, open_view):
    tar = Denials(local_workflow_store)()
    view = open_view(tar, "coord.jones")
    tab = view.appeal_tab
    dialog = tab.file_prompt()
    dialog.filed_by.setCurrentIndex(dialog.filed_by.findData("representative"))
    dialog.representative.setText("Ana Ruiz")
    qtbot.keyClicks(dialog.note, "Daughter called")
    before = events(local_workflow_store, tar)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: tab.confirmation is not None and tab.confirmation.isVisible())
    assert "written authorization on file" in tab.confirmation.text()
    assert events(local_workflow_store, tar) == before


def test_the_reviewer_overturns_with_a_confirmation_naming_the_case(qtbot, local_workflow_store, open_view):
    store = local_workflow_store
    tar = Denials(store)()
    do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=datetime.now(timezone.utc),
       note="New MRI")
    view = open_view(tar, "dr.ito")
    tab = view.appeal_tab
    assert tab.actions["decide"].isEnabled()
    shortcut(qtbot, view, Qt.Key.Key_E)
    dialog = tab.dialog
    assert isinstance(dialog, DecideAppealDialog)
    dialog.choose("overturned")
    qtbot.keyClicks(dialog.reason, "The new MRI shows that you need this therapy now.")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    box = tab.confirmation
    assert box.isVisible() and f"TAR {tar}" in box.text() and "overturn it" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert "appeal-decided" not in events(store, tar)  # cancelled: nothing written
    tab.decide_prompt()
    tab.dialog.choose("overturned")
    qtbot.keyClicks(tab.dialog.reason, "The new MRI shows that you need this therapy now.")
    tab.dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    decide = next(b for b in tab.confirmation.buttons() if b.text() == "Decide")
    decide.click()
    qtbot.waitUntil(lambda: "appeal-decided" in events(store, tar))
    assert events(store, tar)[-3:] == ["reopened", "determined", "appeal-decided"]
    with store.session() as session:
        assert session.scalar(select(Case.outcome).where(Case.tar == tar)) == "approved"
    assert "Overturned" in tab.heading.text() and "Resolved: notice to send" in tab.heading.text()
    assert "Done" in tab.clock_cells["resolution"][3].text() and "in time" in tab.clock_cells["resolution"][3].text()
    assert not tab.actions["decide"].isEnabled()


def test_a_partial_overturn_with_units_through_the_dialog(qtbot, local_workflow_store, open_view):
    store = local_workflow_store
    tar = Denials(store)(outcome="partial")
    do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=datetime.now(timezone.utc),
       note="Needs more visits")
    view = open_view(tar, "dr.ito")
    dialog = view.appeal_tab.decide_prompt()
    assert not dialog.units[1].isEnabled()
    dialog.choose("partial")
    assert dialog.units[1].isEnabled() and dialog.units[1].minimum() == 3 and dialog.units[1].maximum() == 6
    dialog.units[1].setValue(5)
    qtbot.keyClicks(dialog.reason, "We now approve 5 of the 6 visits.")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    next(b for b in view.appeal_tab.confirmation.buttons() if b.text() == "Decide").click()
    qtbot.waitUntil(lambda: "appeal-decided" in events(store, tar))
    with store.session() as session:
        assert session.scalar(select(Appeal.result)) == "partially-overturned"


def test_the_first_decider_is_refused_in_the_rules_words(qtbot, local_workflow_store, open_view):
    store = local_workflow_store
    tar = Denials(store)()
    with store.session() as session, session.begin():
        session.scalar(select(User).where(User.username == "dr.ito")).active = False  # nobody else to route it to
    do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=datetime.now(timezone.utc),
       note="x")
    view = open_view(tar, "dr.morales")
    tab = view.appeal_tab
    dialog = tab.decide_prompt()
    qtbot.keyClicks(dialog.reason, "It stands.")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    next(b for b in tab.confirmation.buttons() if b.text() == "Decide").click()
    qtbot.waitUntil(lambda: "made the determination under appeal" in tab.message.text())
    assert "appeal-decided" not in events(store, tar)


def test_the_route_dialog_lists_who_may_and_why_not_the_others(qtbot, local_workflow_store, open_view):
    store = local_workflow_store
    tar = Denials(store)()
    with store.session() as session, session.begin():
        session.scalar(select(User).where(User.username == "dr.ito")).active = False
    do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=datetime.now(timezone.utc),
       note="x")
    with store.session() as session, session.begin():
        session.scalar(select(User).where(User.username == "dr.ito")).active = True  # back from leave
    view = open_view(tar, "coord.jones")
    tab = view.appeal_tab
    assert "Not routed yet" == tab.form.values["Reviewer"].text()
    assert [tab.tasks.item(0, 0).text()] == ["Route the appeal to an independent physician of the same or a similar "
                                             "specialty"]
    shortcut(qtbot, view, Qt.Key.Key_T)
    dialog = tab.dialog
    assert isinstance(dialog, RouteDialog) and dialog.reviewer() == "dr.ito"
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert any(t.startswith("Jordan Brooks") and "Not eligible" in t and "reports to dr.morales" in t for t in texts)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: tab.form.values["Reviewer"].text() == "dr.ito")
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)
                              .where(CaseEvent.kind == "appeal-reviewer-assigned")) == 1


def test_a_missed_resolution_reads_as_a_breach_in_words(qtbot, local_workflow_store, open_view):
    store = local_workflow_store
    tar = Denials(store)(days_ago=50)
    received = datetime.now(timezone.utc) - timedelta(days=45)
    do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=received, note="x",
       at=received)
    view = open_view(tar, "coord.jones")
    tab = view.appeal_tab
    assert tab.breach.text().startswith("BREACHED") and "State Hearing" in tab.breach.text()
    assert tab.clock_cells["resolution"][3].text().startswith("Overdue")
    assert tab.clock_cells["resolution"][0].accessibleName() == "Overdue"
