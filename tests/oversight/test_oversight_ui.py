"""The oversight screens offscreen: the dashboard's tables hold the figures, the blind review is blind and worked
by keyboard, the results show agreement and timeliness only, the main window's Oversight menu (issue 14)."""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import func, select

from app.domain.reviewer_figures import denial_figures_about_reviewers
from app.services import demo, irr
from app.store.committee import SECTIONS
from app.store.models import IrrAnswer
from app.store.worklist import viewer_for
from app.ui.bar_chart import SpecTableModel
from app.ui.committee_dashboard import CommitteeDashboard, quarter_before
from app.ui.irr_results import REVIEWER_COLUMNS, reviewer_cells
from app.ui.irr_window import IrrWindow
from tests.oversight.helpers import YEAR, act, decided_case


@pytest.fixture
def store(local_store):
    demo.generate(local_store, 300, seed=9)
    return local_store


@pytest.fixture
def quiet_store(local_store):
    demo.generate(local_store, 0, seed=9)  # users only: the test's own decisions are the year's case load
    return local_store


def viewer(store, username):
    with store.session() as session:
        return viewer_for(session, username)


def test_the_dashboard_shows_every_section_with_its_figures(qtbot, qtmodeltester, store, tmp_path):
    window = CommitteeDashboard(store, today=date(YEAR + 1, 1, 10))
    qtbot.addWidget(window)
    assert (window.first.date().toPython(), window.last.date().toPython()) == (date(YEAR, 10, 1),
                                                                               date(YEAR, 12, 31))
    window.first.setDate(date(YEAR, 1, 1))
    qtbot.waitUntil(lambda: not window.busy, timeout=20000)
    window.refresh()
    qtbot.waitUntil(lambda: not window.busy and window.dashboard is not None
                    and window.dashboard.filters.first == date(YEAR, 1, 1), timeout=20000)
    assert [w.view.id for w in window.sections] == [s.id for s in SECTIONS]
    assert window.section_list.count() == len(SECTIONS)
    volumes = window.sections[0]
    model = volumes.tables[0].model()
    qtmodeltester.check(model)
    figures = window.dashboard.figures["volumes"]
    assert model.cells()[-1][-1] == f"{figures['total']:,}"
    chart = volumes.charts[0]
    assert chart.accessibleName() == "Requests received by service category"
    assert "Inpatient:" in chart.accessibleDescription()
    window.team.setCurrentIndex(window.team.findData("pharmacy"))
    window.refresh()
    qtbot.waitUntil(lambda: not window.busy and window.dashboard.filters.team == "pharmacy", timeout=20000)
    categories = {r["service_category"] for r in window.dashboard.figures["volumes"]["rows"]}
    assert categories <= {"medication"}
    job = window.save_packet(tmp_path / "packet.pdf")
    qtbot.waitUntil(lambda: job.done, timeout=30000)
    assert (tmp_path / "packet.pdf").read_bytes().startswith(b"%PDF")
    assert "Packet saved" in window.status.text()
    window.close()


def test_quarter_before():
    assert quarter_before(date(2027, 2, 14)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarter_before(date(2026, 7, 1)) == (date(2026, 4, 1), date(2026, 6, 30))


def test_blind_review_by_keyboard_shows_nothing_of_the_original(qtbot, quiet_store):
    store = quiet_store
    decided_case(store, "94000000001")
    act(store, irr.draw_sample, "lead.patel", year=YEAR, seed=2)
    window = IrrWindow(store, viewer(store, "auditor.brown"), today=date.today())
    qtbot.addWidget(window)
    window.tabs.setCurrentIndex(1)
    tab = window.review_tab
    qtbot.waitUntil(lambda: not window.busy and tab.items.count() > 0, timeout=20000)
    row = next(i for i in range(tab.items.count()) if tab.items.item(i).text().startswith("94000000001"))
    tab.items.setCurrentRow(row)
    qtbot.waitUntil(lambda: not window.busy and tab.model is not None and tab.model.view.tar == "94000000001",
                    timeout=20000)
    shown = tab.case.toPlainText() + repr(tab.model.rows()) + repr(dataclasses.asdict(tab.model.view))
    assert "SECRET" not in shown and "dr.shah" not in shown
    assert all(answer == "—" for _, _, answer, _, group in tab.model.rows() if not group)
    criteria = list(tab.model.view.answerable)
    tab.tree.setFocus()
    for n, _ in enumerate(criteria):
        qtbot.keyClick(tab.tree, Qt.Key.Key_1)
        qtbot.waitUntil(lambda: not window.busy, timeout=20000)
    qtbot.waitUntil(lambda: len(tab.model.view.my_answers) == len(criteria), timeout=20000)
    with store.session() as session:
        assert len(session.scalars(select(IrrAnswer)).all()) == len(criteria)
    box = tab.confirm_submit("94000000001", "approved")
    assert box.defaultButton() == box.button(QMessageBox.StandardButton.Cancel) and "94000000001" in box.text()
    box.close()
    tab.determination.setCurrentIndex(tab.determination.findData("approved"))
    tab.submit("approved")
    qtbot.waitUntil(lambda: not window.busy and tab.model.view.submitted, timeout=20000)
    assert not tab.submit_button.isEnabled()
    window.tabs.setCurrentIndex(2)
    results = window.results_tab
    qtbot.waitUntil(lambda: not window.busy and results.report is not None, timeout=20000)
    assert results.reviewers.rowCount() >= 1
    assert not results.buttons["open"].isEnabled()  # an auditor reads results; leads run plans
    window.close()


def test_results_rows_are_agreement_and_timeliness_only(qtbot, quiet_store):
    store = quiet_store
    decided_case(store, "94000000002")
    act(store, irr.draw_sample, "lead.patel", year=YEAR, seed=2)
    window = IrrWindow(store, viewer(store, "lead.patel"), today=date.today())
    qtbot.addWidget(window)
    window.tabs.setCurrentIndex(2)
    results = window.results_tab
    qtbot.waitUntil(lambda: not window.busy and results.report is not None, timeout=20000)
    rows = [reviewer_cells(r) for r in results.report["reviewers"]]
    assert rows and all(set(row) == {key for key, _ in REVIEWER_COLUMNS} for row in rows)
    assert denial_figures_about_reviewers({"rows": rows}) == []
    headers = [results.reviewers.horizontalHeaderItem(c).text().lower() for c in range(results.reviewers.columnCount())]
    assert not any(word in h for h in headers for word in ("den", "approv", "outcome"))
    assert results.buttons["open"].isEnabled()
    window.close()


def test_the_dashboard_shows_sections_as_they_are_counted_and_each_refresh_counts_anew(qtbot, quiet_store):
    """One job per section, each shown when counted; the window's own connection ends its snapshot after every
    Refresh (a case decided since is counted) and is given back when the window closes."""
    decided_case(quiet_store, "94000000101")
    window = CommitteeDashboard(quiet_store, today=date(YEAR + 1, 1, 10))
    qtbot.addWidget(window)
    window.first.setDate(date(YEAR - 1, 1, 1))
    qtbot.waitUntil(lambda: not window.busy, timeout=20000)
    shown = []
    window.refresh()
    assert window.counting and window.status.text() == "Counting…"
    for job in window._jobs:  # after the window's own slot: what the window shows as each section arrives
        job.succeeded.connect(lambda _part: shown.append((len(window._counted), window.status.text())))
    qtbot.waitUntil(lambda: not window.busy, timeout=20000)
    total = len(SECTIONS)
    assert [count for count, _ in shown] == list(range(1, total + 1))
    assert [text for _, text in shown[:-1]] == [f"Counting… {n} of {total} sections shown" for n in range(1, total)]
    assert not shown[-1][1].startswith("Counting")
    assert window.dashboard.figures["volumes"]["total"] == 1
    decided_case(quiet_store, "94000000102")
    window.refresh()
    qtbot.waitUntil(lambda: not window.busy, timeout=20000)
    assert window.dashboard.figures["volumes"]["total"] == 2
    assert [w.view.id for w in window.sections] == [s.id for s in SECTIONS]
    reader = window._reader
    window.close()
    assert reader._connection.closed


def test_the_main_window_has_the_oversight_menu(qtbot, store, tmp_path):
    from app.ui.main_window import MainWindow

    for username, enabled in (("lead.patel", True), ("nurse.garcia", False)):
        window = MainWindow(store, viewer(store, username),
                            QSettings(str(tmp_path / f"{username}.ini"), QSettings.Format.IniFormat), watch_ms=0)
        qtbot.addWidget(window)
        menus = [a.text() for a in window.menuBar().actions()]
        assert "&Oversight" in menus
        assert [a.isEnabled() for a in window.oversight_actions] == [enabled] * 3
        if enabled:
            dashboard = window.open_dashboard()
            qtbot.waitUntil(lambda: dashboard.dashboard is not None, timeout=20000)
            dashboard.close()
        window.close()


def test_a_leads_main_window_counts_the_dashboards_quarter_once_after_sign_in(qtbot, store, tmp_path):
    """The warm-up counts every section of the default period on the store worker; a nurse's window has none."""
    from app.ui.main_window import MainWindow

    window = MainWindow(store, viewer(store, "lead.patel"),
                        QSettings(str(tmp_path / "lead.ini"), QSettings.Format.IniFormat), watch_ms=0)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.dashboard_warm_up.done, timeout=20000)
    assert window.dashboard_warm_up.counted == [section.id for section in SECTIONS]
    window.close()
    nurse = MainWindow(store, viewer(store, "nurse.garcia"),
                       QSettings(str(tmp_path / "nurse.ini"), QSettings.Format.IniFormat), watch_ms=0)
    qtbot.addWidget(nurse)
    assert nurse.dashboard_warm_up is None
    nurse.close()


def test_the_warm_up_writes_nothing(qtbot, store):
    from app.store.models import AuditRecord, SyncOutbox
    from app.ui.committee_dashboard import WarmUp
    from app.ui.tasks import TaskQueue

    def written():
        with store.session() as session:
            return [session.scalar(select(func.count()).select_from(table)) for table in (AuditRecord, SyncOutbox)]

    before = written()
    worker = TaskQueue("warm-up test")
    warm_up = WarmUp(store, worker, today=date(YEAR + 1, 1, 10))
    qtbot.waitUntil(lambda: warm_up.done, timeout=20000)
    worker.stop()
    assert warm_up.counted == [section.id for section in SECTIONS]
    assert written() == before


@pytest.mark.parametrize("then", ["open the dashboard", "close the main window"])
def test_the_warm_up_stops_when_the_dashboard_opens_or_the_main_window_closes(qtbot, store, tmp_path, then):
    """Submitted behind the window's first reads, it is stopped before its first section has run: nothing more is
    counted (at most the section already running), and a closed window's worker is not started again."""
    from app.ui.main_window import MainWindow

    window = MainWindow(store, viewer(store, "lead.patel"),
                        QSettings(str(tmp_path / "lead.ini"), QSettings.Format.IniFormat), watch_ms=0)
    qtbot.addWidget(window)
    warm_up = window.dashboard_warm_up
    if then == "open the dashboard":
        dashboard = window.open_dashboard()
        qtbot.waitUntil(lambda: dashboard.dashboard is not None, timeout=20000)
        dashboard.close()
    else:
        window.close()
    qtbot.waitUntil(lambda: warm_up.done, timeout=20000)
    qtbot.wait(50)
    assert len(warm_up.counted) <= 1
    if then == "close the main window":  # its worker is not started again by a next section
        from app.ui.tasks import TaskQueue

        assert window.background not in TaskQueue._live
    window.close()
