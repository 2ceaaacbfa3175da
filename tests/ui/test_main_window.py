"""The main window driven like a user would: keyboard shortcuts, header clicks, the filter box, dialogs."""
from __future__ import annotations

import sqlite3
import sys
import threading
import time

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton, QApplication, QDialog, QInputDialog, QMessageBox, QPushButton, QTableWidget, QWidget,
)
from sqlalchemy import func, select

from app.domain.case_states import OPEN_STATES
from app.services import demo
from app.store.models import Case, CaseEvent, User
from app.store.worklist import viewer_for
from app.ui.assign_dialog import AssignDialog
from app.ui.main_window import MainWindow
from app.ui.sign_in import SignInDialog
from app.ui.worklist_model import COLUMN_IDS, TAR_ROLE

CLAIM = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def demo_store(local_store):
    demo.generate(local_store, 300, seed=1)
    return local_store


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def open_window(qtbot, demo_store, settings):
    def make(username: str) -> MainWindow:
        with demo_store.session() as session:
            viewer = viewer_for(session, username)
        window = MainWindow(demo_store, viewer, settings)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: bool(window.queue_counts))
        qtbot.waitUntil(lambda: window.clock_checks > 0 and window.clock_watch_idle())  # it writes: let it finish
        return window
    return make


def choose_queue(window: MainWindow, queue_id: str) -> None:
    window.queue_list.setCurrentRow([q.id for q in window.queues].index(queue_id))
    assert window.model.queue_id == queue_id


def model_tars(window: MainWindow) -> list[str]:
    return [window.model.index(r, 0).data(TAR_ROLE) for r in range(window.model.rowCount())]


def message_boxes(window: QWidget) -> list[QMessageBox]:
    return [box for box in window.findChildren(QMessageBox) if box.isVisible()]


def events_of(store, tar: str, kind: str) -> list[CaseEvent]:
    with store.session() as session:
        return list(session.scalars(select(CaseEvent).join(Case, CaseEvent.case_id == Case.id)
                                    .where(Case.tar == tar, CaseEvent.kind == kind)))


def test_window_shows_queues_with_counts_worklist_summary_and_status(open_window):
    window = open_window("nurse.garcia")
    labels = [window.queue_list.item(i).text() for i in range(window.queue_list.count())]
    assert labels[0] == f"My cases ({window.queue_counts['mine']})"
    assert not any(label.startswith("All open") for label in labels)  # a nurse has no All open queue
    assert window.current_tar() == window.model.index(0, 0).data(TAR_ROLE)
    summary = window.summary.form.values
    for name in ("Member", "CIN", "Date of birth", "Language", "Service lines", "Diagnoses", "Requesting provider",
                 "Timing / urgency", "Received", "Due", "Status", "Assignee"):
        assert summary[name].text(), name
    assert "PT" in summary["Received"].text() and "PT" in summary["Due"].text()
    status = [window.user_label.text(), window.connection_label.text(), window.location_label.text()]
    assert "Maria Garcia, RN" in status[0] and "UM nurse" in status[0]
    assert status[1] == "Offline — local store"
    assert window.store.location in status[2]


def test_claim_by_keyboard_moves_the_case_to_my_cases_and_records_an_event(qtbot, open_window, demo_store):
    window = open_window("nurse.garcia")
    mine_before = window.queue_counts["mine"]
    choose_queue(window, "unassigned")
    window.select_row(2)
    tar = window.current_tar()
    assert tar and window.model.row_at(2).assignee is None
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_C, CLAIM)

    claimed = events_of(demo_store, tar, "claimed")
    assert len(claimed) == 1
    with demo_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert case.assignee.username == "nurse.garcia"
        assert claimed[0].actor_id == case.assignee_id
    assert tar not in model_tars(window)  # it left the unassigned queue
    qtbot.waitUntil(lambda: window.queue_counts.get("mine") == mine_before + 1)
    assert window.queue_list.item(0).text() == f"My cases ({mine_before + 1})"
    choose_queue(window, "mine")
    assert tar in model_tars(window)


def test_claim_refused_by_the_service_is_a_message_not_a_traceback(qtbot, open_window, demo_store):
    window = open_window("lead.patel")
    choose_queue(window, "all-open")
    row = next(r for r in range(window.model.rowCount())
               if window.model.row_at(r).assignee not in (None, "lead.patel"))
    holder = window.model.row_at(row).assignee
    window.select_row(row)
    tar = window.current_tar()
    claims_before = len(events_of(demo_store, tar, "claimed"))
    assert window.action_claim.isEnabled()
    qtbot.keyClick(window.table, Qt.Key.Key_C, CLAIM)
    boxes = message_boxes(window)
    assert len(boxes) == 1
    assert f"held by {holder}" in boxes[0].text()
    assert "Traceback" not in boxes[0].text()
    assert len(events_of(demo_store, tar, "claimed")) == claims_before
    boxes[0].accept()


def test_assign_is_disabled_for_a_non_supervisor_and_the_service_still_refuses(qtbot, open_window, demo_store):
    window = open_window("nurse.garcia")
    assert window.current_tar()
    assert window.action_claim.isEnabled()
    assert not window.action_assign.isEnabled()
    assert "supervisor" in window.action_assign.statusTip()
    tar = window.current_tar()
    assert window.assign(tar, "nurse.nguyen") is False  # as if the action had been reached anyway
    boxes = message_boxes(window)
    assert boxes and "Only a nurse supervisor or an administrator" in boxes[0].text()
    assert events_of(demo_store, tar, "assigned") == []


def test_an_auditor_may_not_claim(open_window):
    window = open_window("auditor.brown")
    assert window.current_tar()
    assert not window.action_claim.isEnabled()
    assert not window.action_assign.isEnabled()


def test_a_supervisor_assigns_through_the_dialog(qtbot, open_window, demo_store):
    window = open_window("lead.patel")
    choose_queue(window, "unassigned")
    tar = window.current_tar()
    assert window.action_assign.isEnabled()
    qtbot.keyClick(window.table, Qt.Key.Key_A, CLAIM)
    dialog = next(d for d in window.findChildren(AssignDialog) if d.isVisible())
    dialog.reviewer.setCurrentIndex(dialog.reviewer.findData("nurse.nguyen"))
    dialog.note.setText("covering for a colleague")
    dialog.accept()
    assigned = events_of(demo_store, tar, "assigned")
    assert len(assigned) == 1 and assigned[0].payload["to"] == "nurse.nguyen"
    assert assigned[0].payload["note"] == "covering for a colleague"


def test_clicking_a_header_sorts_in_sql(qtbot, open_window, demo_store):
    window = open_window("lead.patel")
    choose_queue(window, "all-open")
    header = window.table.horizontalHeader()
    section = COLUMN_IDS.index("member")
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(section) + 10, header.height() // 2))
    column, descending = window.model.sort_key()
    assert column == "member"
    assert header.sortIndicatorSection() == section
    order = (Case.member_name.desc(), Case.tar.desc()) if descending else (Case.member_name, Case.tar)
    with demo_store.session() as session:
        expected = list(session.scalars(select(Case.tar).where(Case.status.in_(OPEN_STATES)).order_by(*order)))
    assert model_tars(window) == expected
    assert window.current_tar() == expected[0]


def test_ctrl_f_focuses_the_filter_and_typing_narrows_the_worklist(qtbot, open_window):
    window = open_window("lead.patel")
    choose_queue(window, "all-open")
    everything = window.model.rowCount()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.filter_edit.hasFocus()
    # QTest types ASCII only: the first member whose name starts with three ASCII letters.
    word = next(w for w in (window.model.index(r, COLUMN_IDS.index("member")).data().split(",")[0][:3]
                            for r in range(window.model.rowCount())) if w.isascii() and w.isalpha())
    qtbot.keyClicks(window.filter_edit, word)
    qtbot.waitUntil(lambda: window.model.filter_text == word)
    assert 0 < window.model.rowCount() < everything
    for row in range(window.model.rowCount()):
        cells = " ".join(window.model.index(row, COLUMN_IDS.index(c)).data() for c in ("tar", "member", "service"))
        assert word.lower() in cells.lower()
    assert f"“{word}”" in window.count_label.text()
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Return)
    assert window.table.hasFocus()


def test_enter_opens_a_read_only_case_view_with_the_tar(qtbot, open_window):
    window = open_window("nurse.garcia")
    tar = window.current_tar()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert len(window.case_views) == 1
    view = window.case_views[0]
    assert tar in view.windowTitle()
    assert view.summary.values["TAR"].text() == tar
    assert "Due" in view.clock.text() or "due" in view.clock.text()
    tabs = [view.tabs.tabText(i).replace("&", "") for i in range(view.tabs.count())]
    # (a stay has a Stay tab too: tests/stays/test_stay_ui.py)
    assert tabs[:7] == ["Summary", "Request lines", "Diagnoses", "Clinical notes", "Documents", "Criteria",
                        "Timeline"]
    assert "Letters" in tabs  # issue 7
    timeline = view.tabs.widget(tabs.index("Timeline"))
    assert isinstance(timeline, QTableWidget) and timeline.rowCount() >= 1
    assert timeline.item(0, 2).text().startswith("Received")
    assert timeline.editTriggers() == QTableWidget.EditTrigger.NoEditTriggers
    view.reject()
    assert window.case_views == []


def test_double_click_and_go_to_tar_open_a_case(qtbot, open_window, monkeypatch):
    window = open_window("nurse.garcia")
    index = window.model.index(1, 1)
    rect = window.table.visualRect(index)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.case_views and window.case_views[-1].details.tar == index.data(TAR_ROLE)

    with window.store.session() as session:  # a case outside the nurse's current queue
        other = session.scalar(select(Case.tar).where(Case.status == "closed").limit(1))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (f" {other} ", True))
    qtbot.keyClick(window.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.case_views[-1].details.tar == other

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("12345", True))
    qtbot.keyClick(window.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert any("No case with TAR number 12345" in box.text() for box in message_boxes(window))


def test_demo_data_loads_off_the_gui_thread_and_can_be_cancelled(qtbot, open_window, demo_store, monkeypatch):
    window = open_window("lead.patel")
    monkeypatch.setattr(demo, "BATCH", 25)
    threads = []
    cancel_pressed = threading.Event()
    real_generate = demo.generate

    def spy(*args, progress, **kwargs):
        threads.append(threading.get_ident())

        def report(done, total):  # after the first batch, wait until the user has pressed Cancel
            progress(done, total)
            cancel_pressed.wait(10)

        return real_generate(*args, progress=report, **kwargs)

    monkeypatch.setattr(demo, "generate", spy)
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (1000, True))
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    window.action_load_demo.trigger()
    task = next(t for t in window._tasks if t.name == "demo data")
    assert not window.action_load_demo.isEnabled()
    with qtbot.waitSignal(task.progressed, timeout=20_000):
        pass
    assert window.demo_progress.isVisible() and window.demo_progress.value() == 25
    cancel_button = window.demo_progress.findChild(QPushButton)
    assert cancel_button.text() == "Cancel"
    qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
    cancel_pressed.set()
    qtbot.waitUntil(lambda: task.isFinished() and window.action_load_demo.isEnabled(), timeout=20_000)
    timer.stop()

    assert threads and threads[0] != threading.get_ident()
    result = task.result
    assert result.cancelled
    assert 0 < result.cases < 1000 and result.cases % 25 == 0
    with demo_store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 300 + result.cases
    assert ticks  # the event loop kept running while the cases were made
    assert "Stopped" in window.statusBar().currentMessage()


def test_layout_sort_and_columns_persist(qtbot, open_window, demo_store, settings):
    window = open_window("lead.patel")
    choose_queue(window, "pended")
    window.table.sortByColumn(COLUMN_IDS.index("received"), Qt.SortOrder.DescendingOrder)
    window.table.horizontalHeader().resizeSection(COLUMN_IDS.index("service"), 333)
    window.resize(780, 560)  # within the offscreen screen, which restoreGeometry() clamps to
    window.splitter.setSizes([150, 400, 200])
    sizes = window.splitter.sizes()
    size = window.size()
    window.close()

    again = open_window("lead.patel")
    assert again.size() == size, (again.size(), size)
    assert again.model.sort_key() == ("received", True)
    assert again.model.queue_id == "pended"
    assert again.table.horizontalHeader().sectionSize(COLUMN_IDS.index("service")) == 333
    assert again.splitter.sizes() == sizes
    assert settings.value("worklist/sort_column") == "received"


def test_every_widget_a_screen_reader_meets_has_a_name(open_window):
    window = open_window("lead.patel")
    choose_queue(window, "all-open")
    view = window.open_case()
    unnamed = []
    for top in (window, view):
        for widget in top.findChildren(QWidget):
            if widget.focusPolicy() == Qt.FocusPolicy.NoFocus or not widget.isVisibleTo(top):
                continue
            if isinstance(widget, QAbstractButton) and widget.text():
                continue
            if not widget.accessibleName():
                unnamed.append(f"{type(widget).__name__} {widget.objectName()} {getattr(widget, 'text', str)()}")
    assert unnamed == []


def _remove_log_handlers():
    import logging

    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "umws", False)]:
        root.removeHandler(handler)
        handler.close()


def test_a_store_that_cannot_be_opened_is_a_dialog_and_a_non_zero_exit(qapp, isolated_home, monkeypatch):
    from app.ui.main import run

    foreign = isolated_home / "store.db"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    connection.close()
    before = foreign.read_bytes()
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append((title, text)))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    try:
        assert run(["--user", "nurse.garcia"]) != 0
    finally:
        _remove_log_handlers()
    assert len(shown) == 1 and "unencrypted" in shown[0][1]
    assert foreign.read_bytes() == before


def test_run_with_demo_fills_an_empty_store_once_and_opens_the_window(qapp, isolated_home, monkeypatch, tmp_path):
    from app.store.engine import open_local_store
    from app.ui.main import run

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    windows = []

    def fake_exec(*args):
        """Sign in on the dialog as the user would (--user only filled in the username), then close the window."""
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, SignInDialog) and w.isVisible())
        assert dialog.username.text() == "nurse.garcia" and "demo-um-nurse" in dialog.hint.text()
        dialog.password.setText("demo-um-nurse")
        dialog.submit()
        deadline = time.monotonic() + 20
        opened = []
        while not opened and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
            opened = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        windows.extend(opened)
        for window in opened:
            window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    try:
        assert run(["--demo", "40", "--user", "nurse.garcia"]) == 0
        assert run(["--demo", "40", "--user", "nurse.garcia"]) == 0  # a store with cases is left as it is
    finally:
        _remove_log_handlers()
        qapp.setQuitOnLastWindowClosed(True)
    assert len(windows) == 2 and windows[0].viewer.username == "nurse.garcia"
    store = open_local_store()
    try:
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 40
            assert session.scalar(select(func.count()).select_from(User).where(User.username == "nurse.garcia")) == 1
    finally:
        store.close()


def _shortcut_owners(widget: QWidget) -> dict[str, list[str]]:
    from PySide6.QtGui import QAction

    owners: dict[str, list[str]] = {}
    for action in widget.findChildren(QAction):
        for key in action.shortcuts():
            if not key.isEmpty():
                owners.setdefault(key.toString(), []).append(action.text().replace("&", ""))
    return owners


def test_no_two_actions_of_a_window_share_a_key(qtbot, open_window, demo_store):
    """Two actions on one key in one window are ambiguous to Qt: neither runs (workstation-ux.md: every action has
    its shortcut). Checked on the supervisor's main window and on a stay case with every tab of the workspace."""
    from app.store.models import Stay

    window = open_window("lead.patel")
    clashes = {key: names for key, names in _shortcut_owners(window).items() if len(set(names)) > 1}
    assert clashes == {}
    with demo_store.session() as session:
        tar = session.scalar(select(Stay.tar).where(Stay.status == "open").order_by(Stay.tar).limit(1))
    assert tar is not None, "the demo data holds open stays"
    view = window.open_case(tar)
    qtbot.waitUntil(lambda: view.actions.ready)
    tabs = [view.tabs.tabText(i).replace("&", "") for i in range(view.tabs.count())]
    assert {"Criteria", "Letters", "Peer-to-peer", "Stay", "Appeal"} <= set(tabs)
    clashes = {key: names for key, names in _shortcut_owners(view).items() if len(set(names)) > 1}
    assert clashes == {}
    view.reject()
