"""The worklist model: a correct Qt model, sorted and filtered in SQL, paged on demand, with a live Due column."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QIcon
from sqlalchemy import event, func, or_, select

from app.domain.case_states import OPEN_STATES
from app.domain.queues import COLUMNS
from app.services import demo
from app.store.models import Case, User
from app.store.worklist import WorklistQuery, viewer_for
from app.domain.clock_bands import BANDS
from app.domain.plantime import format_instant
from app.ui.worklist_model import (
    BAND_ROLE, COLUMN_IDS, DECIDED_STATES, OVERDUE_COLOUR, TAR_ROLE, WorklistModel, band_icon, time_left,
)

DISPLAY = Qt.ItemDataRole.DisplayRole


@pytest.fixture
def demo_store(local_store):
    demo.generate(local_store, 300, seed=1)
    return local_store


def viewer(store, username):
    with store.session() as session:
        return viewer_for(session, username)


def column(name: str) -> int:
    return COLUMN_IDS.index(name)


def all_tars(model: WorklistModel) -> list[str]:
    return [model.index(row, 0).data(TAR_ROLE) for row in range(model.rowCount())]


def open_tars(store, *order_by) -> list[str]:
    """All open cases' TARs in an order, straight from the table (what a supervisor's "All open" holds)."""
    with store.session() as session:
        return list(session.scalars(select(Case.tar).where(Case.status.in_(OPEN_STATES)).order_by(*order_by)))


class QueryCounter:
    def __init__(self, engine):
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._count)
        self.engine = engine

    def _count(self, *args):
        self.statements += 1

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_model_passes_the_qt_model_tester_through_sort_filter_and_refresh(qtmodeltester, demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", page_size=40, max_pages=3)
    assert model.rowCount() > 120  # several pages, more than the cache holds
    qtmodeltester.check(model)
    model.sort(column("member"), Qt.SortOrder.DescendingOrder)
    model.set_filter("a")
    model.refresh()
    model.tick()
    model.set_queue("unassigned")
    qtmodeltester.check(model)


def test_headers_come_from_the_column_list(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open")
    assert model.columnCount() == len(COLUMNS)
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())] == list(COLUMNS.values())
    assert model.headerData(0, Qt.Orientation.Vertical) is None


@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
def test_sorting_by_member_is_done_in_sql_and_matches_an_independent_query(demo_store, order):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", page_size=50)
    model.sort(column("member"), order)
    descending = order == Qt.SortOrder.DescendingOrder
    expected = open_tars(demo_store, *((Case.member_name.desc(), Case.tar.desc()) if descending
                                       else (Case.member_name, Case.tar)))
    assert all_tars(model) == expected
    with demo_store.session() as session:
        query = WorklistQuery("all-open", model.query.viewer, "", "member", descending)
        assert [row.tar for row in query.page(session, 0, 10_000)] == expected
    members = [model.index(row, column("member")).data() for row in range(model.rowCount())]
    assert members == sorted(members, reverse=descending)
    assert model.sort_key() == ("member", descending)


def test_sorting_by_received_newest_first(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", page_size=64)
    model.sort(column("received"), Qt.SortOrder.DescendingOrder)
    assert all_tars(model) == open_tars(demo_store, Case.received_at.desc(), Case.tar.desc())
    model.sort(column("tar"), Qt.SortOrder.AscendingOrder)
    assert all_tars(model) == open_tars(demo_store, Case.tar)


def test_default_order_is_due_soonest_first_decided_cases_last(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open")
    assert model.sort_key() == ("due", False)
    decided = Case.status.in_(("determined", "notified"))  # no decision clock left to breach: after every running one
    assert all_tars(model) == open_tars(demo_store, decided, Case.decision_due_at, Case.tar)


def test_filter_narrows_rows_to_cases_containing_the_text(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open")
    everything = model.rowCount()
    surname = model.index(0, column("member")).data().split(",")[0]
    word = surname[:4].lower()
    model.set_filter(word)
    assert 0 < model.rowCount() < everything
    for row in range(model.rowCount()):
        cells = " ".join(model.index(row, column(c)).data() for c in ("tar", "member", "service")).lower()
        assert word in cells
    with demo_store.session() as session:
        expected = session.scalar(select(func.count()).select_from(Case).where(
            Case.status.in_(OPEN_STATES),
            or_(Case.tar.ilike(f"%{word}%"), Case.member_name.ilike(f"%{word}%"),
                Case.service_summary.ilike(f"%{word}%"))))
    assert model.rowCount() == expected

    tar = all_tars(model)[0]
    model.set_filter(tar)
    assert all_tars(model) == [tar]
    model.set_filter("no such words anywhere zzqx")
    assert model.rowCount() == 0
    model.set_filter("")
    assert model.rowCount() == everything


def test_queue_and_role_decide_the_rows(demo_store):
    nurse = viewer(demo_store, "nurse.garcia")
    model = WorklistModel(demo_store, nurse, "mine")
    with demo_store.session() as session:
        garcia = session.scalar(select(User.id).where(User.username == "nurse.garcia"))
        expected = set(session.scalars(select(Case.tar).where(Case.assignee_id == garcia,
                                                              Case.status.in_(OPEN_STATES))))
    assert set(all_tars(model)) == expected and expected
    assert {model.index(r, column("assignee")).data() for r in range(model.rowCount())} == {"nurse.garcia"}
    model.set_queue("all-open")  # not a nurse's queue: the store shows nothing
    assert model.rowCount() == 0


def test_pages_are_fetched_on_demand_and_evicted(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", page_size=20, max_pages=2)
    assert model.page_fetches == 0  # counting is not fetching
    last = model.rowCount() - 1
    assert model.index(last, 0).data(TAR_ROLE)
    assert model.page_fetches == 1
    for row in range(20):
        model.index(row, 1).data()
    assert model.page_fetches == 2
    model.index(25, 1).data()  # a third page evicts the least recently used one (the last page)
    assert model.page_fetches == 3
    model.index(0, 1).data()
    assert model.page_fetches == 3
    model.index(last, 1).data()
    assert model.page_fetches == 4


def test_due_column_shows_band_countdown_and_due_and_tick_repaints_only_that_column_without_queries(
        qtbot, demo_store):
    now = [datetime.now(timezone.utc)]
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", clock=lambda: now[0])
    due_column = column("due")
    row = next(r for r in range(model.rowCount())
               if model.index(r, 0).data(TAR_ROLE) and model.row_at(r).due_at
               and model.row_at(r).status not in DECIDED_STATES
               and model.row_at(r).due_at - model.row_at(r).received_at > timedelta(hours=24))
    due = model.row_at(row).due_at
    index = model.index(row, due_column)

    now[0] = due - timedelta(hours=2, minutes=15)
    model.tick()
    assert index.data().startswith("Under 4 h · in 2 h 15 m · ")
    assert index.data().endswith(" PT") and format_instant(due) in index.data()
    assert index.data(BAND_ROLE) == "under-4h"
    assert index.data(Qt.ItemDataRole.ForegroundRole) is None
    assert isinstance(index.data(Qt.ItemDataRole.DecorationRole), QIcon)
    assert not index.data(Qt.ItemDataRole.DecorationRole).isNull()

    counter = QueryCounter(demo_store.engine)
    try:
        now[0] = due + timedelta(hours=1, minutes=5)
        with qtbot.waitSignal(model.dataChanged) as signal:
            model.tick()
        top_left, bottom_right = signal.args[0], signal.args[1]
        assert top_left.column() == bottom_right.column() == due_column
        assert (top_left.row(), bottom_right.row()) == (row, row)  # the Due cells shown since the last tick
        assert Qt.ItemDataRole.DecorationRole in signal.args[2]
        assert index.data().startswith("Overdue 1 h 5 m · ")  # the word, not only the colour
        assert index.data(BAND_ROLE) == "overdue"
        assert index.data(Qt.ItemDataRole.ForegroundRole) == OVERDUE_COLOUR
        assert "overdue" in index.data(Qt.ItemDataRole.ToolTipRole)
        assert index.data(Qt.ItemDataRole.AccessibleTextRole).startswith("Due: Overdue 1 h 5 m")
        assert counter.statements == 0
    finally:
        counter.close()


def test_tick_with_the_visible_rows_repaints_only_the_due_cells_whose_text_changed(qtbot, demo_store):
    now = [datetime(2026, 11, 24, 20, 0, 10, tzinfo=timezone.utc)]
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", clock=lambda: now[0])
    last = model.rowCount() - 1
    visible = (last - 29, last)  # the end of the list: dues days away, and some hours away
    rows = [model.row_at(r) for r in range(visible[0], visible[1] + 1)]
    before = [model.index(r, column("due")).data() for r in range(visible[0], visible[1] + 1)]
    model.tick(visible)  # the cells computed at the first now

    counter = QueryCounter(demo_store.engine)
    emitted = []
    model.dataChanged.connect(lambda tl, br, roles: emitted.extend(range(tl.row(), br.row() + 1)))
    try:
        for seconds in (61, 3600):
            now[0] += timedelta(seconds=seconds)
            emitted.clear()
            model.tick(visible)
            after = [model.index(r, column("due")).data() for r in range(visible[0], visible[1] + 1)]
            changed = [visible[0] + i for i, (a, b) in enumerate(zip(before, after)) if a != b]
            assert sorted(emitted) == changed
            before = after
        assert counter.statements == 0
    finally:
        counter.close()
    assert rows == [model.row_at(r) for r in range(visible[0], visible[1] + 1)]
    emitted.clear()
    model.tick()  # without the visible rows: every Due cell asked for since the last tick is repainted
    assert sorted(emitted) == list(range(visible[0], visible[1] + 1))
    emitted.clear()
    model.tick()  # no view asked for a Due cell since: nothing to repaint
    assert emitted == []


@pytest.mark.parametrize("share_left, expected, word", [
    (0.9, "on-track", "On track · in "),
    (0.2, "at-risk", "Under 25% left · in "),
])
def test_due_column_bands_by_share_of_the_window(demo_store, share_left, expected, word):
    now = [datetime.now(timezone.utc)]
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", clock=lambda: now[0])
    row = next(r for r in range(model.rowCount())
               if model.row_at(r).status not in DECIDED_STATES
               and model.row_at(r).due_at - model.row_at(r).received_at >= timedelta(days=5))
    data = model.row_at(row)
    now[0] = data.due_at - (data.due_at - data.received_at) * share_left
    model.tick()
    index = model.index(row, column("due"))
    assert index.data().startswith(word)
    assert index.data(BAND_ROLE) == expected
    assert index.data(Qt.ItemDataRole.ForegroundRole) is None
    icons = {band_icon(b).cacheKey() for b in BANDS.values()}
    assert len(icons) == 4
    assert index.data(Qt.ItemDataRole.DecorationRole).cacheKey() == band_icon(BANDS[expected]).cacheKey()


def test_a_decided_case_has_no_band(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open")
    row = next(r for r in range(model.rowCount()) if model.row_at(r).status in DECIDED_STATES)
    index = model.index(row, column("due"))
    assert index.data().startswith("Decision made · ")
    assert index.data(BAND_ROLE) is None and index.data(Qt.ItemDataRole.DecorationRole) is None


def test_time_left_words():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    assert time_left(now + timedelta(days=3, hours=4, minutes=10), now) == "in 3 d 4 h"
    assert time_left(now + timedelta(hours=2, minutes=15), now) == "in 2 h 15 m"
    assert time_left(now - timedelta(hours=1), now) == "overdue 1 h 0 m"
    assert time_left(now - timedelta(hours=1), now, "determined") == "decision made"
    assert time_left(None, now) == ""


def test_roles_and_invalid_indexes(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open")
    assert model.data(QModelIndex()) is None
    assert model.rowCount(model.index(0, 0)) == 0
    index = model.index(0, column("tar"))
    assert index.data(TAR_ROLE) == index.data(DISPLAY)
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) == f"TAR: {index.data()}"
    assert model.index(0, column("timing")).data().split(" · ")[0] in ("Urgent", "Routine")
