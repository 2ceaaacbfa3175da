"""The Stay tab driven by the keyboard: a concurrent review, a discharge and a transfer, with what they write."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QMessageBox
from sqlalchemy import select

from app.services import stays as svc
from app.store.models import Case, CaseEvent
from app.store.stays import facility_choices, load_stay
from app.store.worklist import viewer_for
from app.ui.main_window import MainWindow
from app.ui.stay import LedgerModel, ReviewDialog, StayTab, TransferDialog
from tests.stays.conftest import plan_today

ALT = Qt.KeyboardModifier.AltModifier
TAB_KEYS = Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier  # a tab's own actions


@pytest.fixture
def window(qtbot, local_stay_store, tmp_path):
    def make(username: str) -> MainWindow:
        with local_stay_store.session() as session:
            viewer = viewer_for(session, username)
        win = MainWindow(local_stay_store, viewer, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                         watch_ms=0)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda: bool(win.queue_counts))
        qtbot.waitUntil(lambda: win.clock_checks > 0 and win.clock_watch_idle())
        return win
    return make


def open_stay_tab(qtbot, win: MainWindow, tar: str) -> StayTab:
    view = win.open_case(tar)
    qtbot.waitExposed(view)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)
    qtbot.keyClick(QApplication.focusWidget() or view, Qt.Key.Key_A, ALT)  # the "St&ay" tab
    tab = view.stay_tab
    assert view.tabs.currentWidget() is tab
    qtbot.waitUntil(lambda: tab.table.hasFocus())
    return tab


def stay_events(store, tar: str) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(CaseEvent.kind).join(Case, Case.id == CaseEvent.case_id)
                                    .where(Case.tar == tar).order_by(CaseEvent.occurred_at)))


def test_a_review_by_keyboard_walks_the_criteria_and_approves_days(qtbot, window, local_stays, local_stay_store):
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=1), days=2)
    tar = stay.case.tar
    win = window("nurse.garcia")
    assert "reviews-due" in [q.id for q in win.queues]
    tab = open_stay_tab(qtbot, win, tar)
    qtbot.keyClick(tab.table, Qt.Key.Key_R, TAB_KEYS)
    qtbot.waitUntil(lambda: isinstance(tab.dialog, ReviewDialog) and tab.dialog.isVisible())
    dialog: ReviewDialog = tab.dialog
    qtbot.waitUntil(lambda: dialog.update_text.hasFocus())
    qtbot.keyClicks(dialog.update_text, "BP 118/70, afebrile, IV ceftriaxone day 2")
    wanted = {dialog.answers[c] for c in ("unstable", "intensity", "lower-level")}
    answered = set()
    for _ in range(40):  # Tab through the form; answer "Met" by its first letter on the three criteria
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        if focus in wanted and focus not in answered:
            qtbot.keyClick(focus, Qt.Key.Key_M)
            answered.add(focus)
        if answered == wanted:
            break
    assert answered == wanted and all(isinstance(c, QComboBox) and c.currentData() == "met" for c in wanted)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)  # the default button: Approve days
    qtbot.waitUntil(lambda: not dialog.isVisible())
    with local_stay_store.session() as session:
        view = load_stay(session, tar)
    assert [d.status for d in view.ledger.days] == ["approved", "approved"]
    assert view.next_review == plan_today() + timedelta(days=2)  # acute: every other day
    assert view.assignee == "nurse.garcia"
    kinds = stay_events(local_stay_store, tar)
    assert {"claimed", "criteria-set-chosen", "criterion-answered", "stay-determined"} <= set(kinds)
    assert "Approved days through" in tab.status.text()
    assert [tab.model.index(r, 1).data() for r in range(tab.model.rowCount())] == ["Approved", "Approved"]


def test_a_refused_review_stays_open_and_writes_nothing(qtbot, window, local_stays, local_stay_store):
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=1), days=2)
    tar = stay.case.tar
    win = window("nurse.garcia")
    tab = open_stay_tab(qtbot, win, tar)  # opening the case is audited as a view
    qtbot.waitUntil(lambda: win.case_views[-1].actions.ready)
    before = local_stays.counts(tar)
    dialog = tab.review()
    qtbot.waitUntil(lambda: dialog.isActiveWindow() and dialog.update_text.hasFocus())
    qtbot.keyClicks(dialog.update_text, "No documentation today")
    qtbot.keyClick(dialog.update_text, Qt.Key.Key_A, ALT)  # "&Approve days" with the criteria unanswered
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert dialog.isVisible() and "criteria" in dialog.error.text()
    assert local_stays.counts(tar) == before


def test_a_discharge_by_keyboard_confirms_with_the_safe_default(qtbot, window, local_stays, local_stay_store):
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=1), days=2)
    tar = stay.case.tar
    with local_stay_store.session() as session, session.begin():
        svc.review_stay(session, tar, "nurse.garcia", clinical_update="ok", approve_through=plan_today(),
                        criteria_result="criteria-met")
    tab = open_stay_tab(qtbot, window("nurse.garcia"), tar)

    def discharge_dialog():
        tab.window().activateWindow()  # (offscreen, closing a box does not give the window back by itself)
        qtbot.waitUntil(tab.window().isActiveWindow)
        qtbot.keyClick(tab.table, Qt.Key.Key_H, TAB_KEYS)
        qtbot.waitUntil(lambda: tab.dialog is not None and tab.dialog.isVisible())
        dialog = tab.dialog
        qtbot.waitUntil(lambda: dialog.isActiveWindow() and dialog.at.hasFocus())
        qtbot.keyClick(dialog.at, Qt.Key.Key_D, ALT)  # "&Disposition"
        assert dialog.disposition.hasFocus()
        qtbot.keyClick(dialog.disposition, Qt.Key.Key_H)
        qtbot.keyClick(dialog.disposition, Qt.Key.Key_H)  # "Home", then "Home with home health"
        assert dialog.disposition.currentData() == "home-health"
        qtbot.keyClick(dialog.disposition, Qt.Key.Key_Tab)
        assert dialog.needs["dme"].hasFocus()
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)  # the first need: DME
        assert dialog.needs["dme"].isChecked()
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: tab.confirmation is not None and tab.confirmation.isVisible()
                        and tab.confirmation.isActiveWindow())
        return tab.confirmation

    box: QMessageBox = discharge_dialog()
    assert tar in box.text() and box.defaultButton().text() == "Cancel"
    qtbot.keyClick(box, Qt.Key.Key_Return)  # the safe default: nothing happens
    qtbot.waitUntil(lambda: not box.isVisible())
    with local_stay_store.session() as session:
        assert load_stay(session, tar).status == "open"
    box = discharge_dialog()
    qtbot.keyClick(box, Qt.Key.Key_R, ALT)  # "&Record discharge"
    qtbot.waitUntil(lambda: "Discharge recorded" in tab.status.text())
    with local_stay_store.session() as session:
        view = load_stay(session, tar)
    assert view.status == "discharged" and view.disposition == "home-health"
    assert [r["need"] for r in view.linked_requests] == ["dme"]
    assert not tab.action_review.isEnabled() and "Discharged" in tab.facts.values["Stay"].text()


def transfer_by_keyboard(qtbot, tab: StayTab, npi: str) -> TransferDialog:
    """Alt+Shift+N, the receiving facility typed by its NPI, "Record transfer", up to the confirmation."""
    tab.window().activateWindow()
    qtbot.waitUntil(tab.window().isActiveWindow)
    qtbot.keyClick(tab.table, Qt.Key.Key_N, TAB_KEYS)
    qtbot.waitUntil(lambda: isinstance(tab.dialog, TransferDialog) and tab.dialog.isVisible())
    dialog: TransferDialog = tab.dialog
    qtbot.waitUntil(lambda: dialog.isActiveWindow() and dialog.at.hasFocus())
    qtbot.keyClick(dialog.at, Qt.Key.Key_F, ALT)  # "To &facility"
    assert dialog.facility.hasFocus()
    qtbot.keyClicks(dialog.facility.lineEdit(), npi)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # on to the level of care (the popup closes)
    assert dialog.level.hasFocus() and dialog.level.currentData() == tab.view.level_of_care
    qtbot.keyClick(dialog.level, Qt.Key.Key_Tab)
    qtbot.keyClick(dialog.days, Qt.Key.Key_Up)  # 2 days requested there
    qtbot.keyClick(dialog.days, Qt.Key.Key_T, ALT)  # "Record &transfer…"
    return dialog


def test_a_transfer_by_keyboard_ends_the_stay_and_links_the_new_one(qtbot, window, local_stays, local_stay_store):
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=1), days=2)
    tar = stay.case.tar
    with local_stay_store.session() as session, session.begin():
        svc.review_stay(session, tar, "nurse.garcia", clinical_update="ok", approve_through=plan_today(),
                        criteria_result="criteria-met")
    tab = open_stay_tab(qtbot, window("nurse.garcia"), tar)
    assert tab.action_transfer.isEnabled() and tab.action_transfer in tab.menu.actions()
    with local_stay_store.session() as session:
        _, name, npi, _ = facility_choices(session, excluding_npi=tab.view.facility_npi)[0]
    dialog = transfer_by_keyboard(qtbot, tab, npi)
    qtbot.waitUntil(lambda: tab.confirmation is not None and tab.confirmation.isVisible()
                    and tab.confirmation.isActiveWindow())
    box: QMessageBox = tab.confirmation
    assert tar in box.text() and name in box.text() and box.defaultButton().text() == "Cancel"
    qtbot.keyClick(box, Qt.Key.Key_Return)  # the safe default: back to the dialog, nothing written
    qtbot.waitUntil(lambda: not box.isVisible())
    with local_stay_store.session() as session:
        assert load_stay(session, tar).status == "open"
    assert dialog.isVisible()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    qtbot.keyClick(dialog.days, Qt.Key.Key_T, ALT)
    qtbot.waitUntil(lambda: tab.confirmation is not box and tab.confirmation is not None
                    and tab.confirmation.isVisible() and tab.confirmation.isActiveWindow())
    qtbot.keyClick(tab.confirmation, Qt.Key.Key_R, ALT)  # "&Record transfer"
    qtbot.waitUntil(lambda: "Transfer recorded" in tab.status.text())
    with local_stay_store.session() as session:
        old = load_stay(session, tar)
        moved = [r["tar"] for r in old.linked_requests if r["need"] == "transfer"]
        assert old.status == "discharged" and old.disposition == "another-acute" and len(moved) == 1
        new = load_stay(session, moved[0])
    assert new is not None and new.is_open and new.transferred_from == tar and new.facility_npi == npi
    assert new.admission_source == "transfer" and len(new.ledger.days) == 2
    assert "stay-transferred" in stay_events(local_stay_store, tar)
    assert moved[0] in tab.status.text() and moved[0] in tab.facts.values["Stay"].text()
    assert "Transferred" in tab.facts.values["Stay"].text() and "transferred" in tab.heading.text()
    assert not tab.action_transfer.isEnabled() and not tab.buttons[tab.action_transfer].isEnabled()
    assert tab.dialog is None  # closed (and deleted) once the transfer went through


def test_a_refused_transfer_says_why_in_its_dialog_and_writes_nothing(qtbot, window, local_stays,
                                                                        local_stay_store):
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=1), days=2)  # days undecided
    tar = stay.case.tar
    win = window("nurse.garcia")
    tab = open_stay_tab(qtbot, win, tar)
    qtbot.waitUntil(lambda: win.case_views[-1].actions.ready)
    before = local_stays.counts(tar)
    with local_stay_store.session() as session:
        _, _, npi, _ = facility_choices(session, excluding_npi=tab.view.facility_npi)[0]
    dialog = transfer_by_keyboard(qtbot, tab, npi)
    qtbot.waitUntil(lambda: tab.confirmation is not None and tab.confirmation.isVisible()
                    and tab.confirmation.isActiveWindow())
    qtbot.keyClick(tab.confirmation, Qt.Key.Key_R, ALT)
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert dialog.isVisible() and "still undecided" in dialog.error.text()  # the day before the transfer day
    assert local_stays.counts(tar) == before
    with local_stay_store.session() as session:
        assert load_stay(session, tar).status == "open"
    # A facility typed that is not in the list: said in words, nothing asked of the service.
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.facility.setEditText("No Such Place")
    qtbot.keyClick(dialog.days, Qt.Key.Key_T, ALT)
    qtbot.waitUntil(lambda: "Choose the receiving facility" in dialog.error.text())
    assert local_stays.counts(tar) == before


def test_transfer_is_disabled_with_the_reason_for_a_role_that_may_not(qtbot, local_stays, local_stay_store):
    stay = local_stays.admit(days=2)
    tab = StayTab(local_stay_store, "auditor.brown", "auditor", stay.case.tar, lambda: datetime.now(timezone.utc))
    qtbot.addWidget(tab)
    assert not tab.action_transfer.isEnabled() and not tab.buttons[tab.action_transfer].isEnabled()
    assert "may not record a transfer" in tab.buttons[tab.action_transfer].toolTip()
    assert tab.transfer() is None
    assert tab.action_discharge.isEnabled()  # (the other actions keep their own checks)


def test_ledger_model_passes_the_model_tester(qtmodeltester, local_stays, local_stay_store):
    stay = local_stays.admit(days=4)
    model = LedgerModel()
    with local_stay_store.session() as session:
        model.set_view(load_stay(session, stay.case.tar))
    qtmodeltester.check(model)
    assert model.rowCount() == 4 and model.index(0, 1).data() == "Requested"
