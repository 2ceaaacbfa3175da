"""The workstation's sync: status bar, the worker off the GUI thread, Sync now / F5, cancel, the Conflicts queue."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from sqlalchemy import select

from app.services import cases as svc
from app.store.models import SyncConflict
from app.store.worklist import viewer_for
from app.ui.main_window import MainWindow


@pytest.fixture
def window_for(qtbot, tmp_path):
    def make(laptop) -> MainWindow:
        with laptop.store.session() as session:
            viewer = viewer_for(session, laptop.username)
        settings = QSettings(str(tmp_path / f"{laptop.username}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(laptop.store, viewer, settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.clock_checks > 0 and window.clock_watch_idle())
        return window
    return make


def test_status_bar_sync_now_and_the_conflicts_queue(central, laptops, window_for, qtbot, tmp_path):
    tar, other = central.new_case(), central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    window = window_for(nurse)
    sync = window.sync
    assert sync.connection.text().endswith("Not synced yet") or "Online" in sync.connection.text()
    assert sync.pending_label.text() == "0 changes to send"
    assert "Last sync: just now" in sync.last_label.text()
    # offline work: the claim waits, the status bar says so
    with nurse.store.session() as session, session.begin():
        svc.claim_case(session, tar, "nurse.nguyen")
    central.act(svc.declare_involvement, tar, "dr.shah", note="knows the member")
    nurse.act(svc.claim_case, other)
    central.act(svc.assign_case, other, "lead.patel", assignee_username="nurse.okafor", note="rebalancing")
    sync.refresh_status()
    assert sync.pending_label.text() == "2 changes to send"
    assert sync.pending_label.accessibleName() == "Changes waiting to go up: 2"
    with qtbot.waitSignal(sync.synced, timeout=30_000) as done:
        qtbot.keyClick(window, Qt.Key.Key_F5)  # Refresh also syncs
    report = done.args[0]
    assert (report.merged, report.conflicts) == (1, 1)  # merged over the involvement declared meanwhile
    qtbot.waitUntil(lambda: sync.job is None)
    assert "Online" in sync.connection.text() and sync.pending_label.text() == "0 changes to send"
    assert "1 conflict" in sync.last_label.text()
    # the Conflicts queue: both versions side by side, resolve with a confirmation that names the case
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = sync.conflicts_dialog
    qtbot.waitExposed(dialog)
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 0).text() == other
    assert "claim by nurse.nguyen" in dialog.mine.toPlainText()
    assert "assignee: nurse.okafor" in dialog.theirs.toPlainText()
    assert not dialog.keep_both.isEnabled()  # keeping both is for determinations
    dialog.grab().save(str(tmp_path / "conflicts.png"))
    assert not dialog.resolve("keep-mine", confirm=False)  # the rules refuse it now: said in words
    assert "held by nurse.okafor" in dialog.last_error
    assert dialog.resolve("keep-theirs", confirm=False)
    assert dialog.table.rowCount() == 0
    dialog.close()
    with qtbot.waitSignal(sync.synced, timeout=30_000):
        qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: sync.job is None)
    with central.store.session() as session:
        assert session.scalars(select(SyncConflict.resolution).where(SyncConflict.tar == other)).one() == "keep-theirs"
    window.grab().save(str(tmp_path / "window.png"))


def test_offline_is_shown_in_words_and_cancel_stops_a_sync(central, laptops, window_for, qtbot, network):
    central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    window = window_for(nurse)
    window.sync.transport = network
    network.fail("/v1/pull", "before")
    with qtbot.waitSignal(window.sync.synced, timeout=30_000) as done:
        window.sync.action_sync.trigger()
    assert "cannot be reached" in str(done.args[0])
    qtbot.waitUntil(lambda: window.sync.job is None)
    assert window.sync.connection.text() == "✕ Offline"
    assert "cannot be reached" in window.sync.connection.toolTip()
    job = window.sync.sync_now()
    window.sync.cancel()
    qtbot.waitUntil(lambda: window.sync.job is None, timeout=30_000)
    assert job.done
