"""The worklist model: a correct Qt model, sorted and filtered in SQL, paged on demand, with a live Due column."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QModelIndex, Qt
from sqlalchemy import event, func, or_, select

from app.domain.case_states import OPEN_STATES
from app.domain.queues import COLUMNS
from app.services import demo
from app.store.models import Case, User
from app.store.worklist import WorklistQuery, viewer_for
from app.ui.worklist_model import COLUMN_IDS, DECIDED_STATES, OVERDUE_COLOUR, TAR_ROLE, WorklistModel, time_left

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


def test_default_order_is_due_soonest_first(demo_store):
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open")
    assert model.sort_key() == ("due", False)
    assert all_tars(model) == open_tars(demo_store, Case.decision_due_at, Case.tar)


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


def test_due_column_shows_time_left_and_tick_repaints_only_that_column_without_queries(qtbot, demo_store):
    now = [datetime.now(timezone.utc)]
    model = WorklistModel(demo_store, viewer(demo_store, "lead.patel"), "all-open", clock=lambda: now[0])
    due_column = column("due")
    row = next(r for r in range(model.rowCount())
               if model.index(r, 0).data(TAR_ROLE) and model.row_at(r).due_at
               and model.row_at(r).status not in DECIDED_STATES)
    due = model.row_at(row).due_at
    index = model.index(row, due_column)

    now[0] = due - timedelta(hours=2, minutes=15)
    model.tick()
    assert index.data().endswith("· in 2 h 15 m")
    assert "PT" in index.data()
    assert index.data(Qt.ItemDataRole.ForegroundRole) is None

    counter = QueryCounter(demo_store.engine)
    try:
        now[0] = due + timedelta(hours=1, minutes=5)
        with qtbot.waitSignal(model.dataChanged) as signal:
            model.tick()
        top_left, bottom_right = signal.args[0], signal.args[1]
        assert top_left.column() == bottom_right.column() == due_column
        assert (top_left.row(), bottom_right.row()) == (0, model.rowCount() - 1)
        assert index.data().endswith("· overdue 1 h 5 m")  # the word, not only the colour
        assert index.data(Qt.ItemDataRole.ForegroundRole) == OVERDUE_COLOUR
        assert "overdue" in index.data(Qt.ItemDataRole.ToolTipRole)
        assert index.data(Qt.ItemDataRole.AccessibleTextRole).startswith("Due: ")
        assert counter.statements == 0
    finally:
        counter.close()


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
