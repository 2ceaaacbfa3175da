"""Clocks in the GUI (issue 4, scopes 3 and 4): the warnings for my cases, every clock on an open case, and the
"At risk today" queue. Time is driven through the window's (and so the model's) injectable clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QSystemTrayIcon
from sqlalchemy import select, update

from app.domain.clock_bands import OVERDUE, UNDER_4H_BAND
from app.domain.clocks import ClockRequest, compute_clocks
from app.domain.plantime import format_instant
from app.services import demo
from app.services.cases import decision_due
from app.store.case_details import load_case
from app.store.models import Case, CaseEvent
from app.store.worklist import RunningClock, running_clocks_of, viewer_for
from app.ui.case_view import CaseView, case_clocks, clock_lines
from app.ui.clock_warnings import WarningTracker, warning_message
from app.ui.main_window import MainWindow
from app.ui.worklist_model import BAND_ROLE, COLUMN_IDS, TAR_ROLE

UTC = timezone.utc


@pytest.fixture
def demo_store(local_store):
    demo.generate(local_store, 300, seed=1)
    return local_store


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


class Clock:
    """The window's notion of now, moved by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def window_at(qtbot, demo_store, settings):
    def make(username: str, clock: Clock) -> MainWindow:
        with demo_store.session() as session:
            viewer = viewer_for(session, username)
        window = MainWindow(demo_store, viewer, settings, clock=clock, watch_ms=0)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: bool(window.queue_counts) and window.clock_checks > 0 and window.clock_watch_idle())
        return window
    return make


def my_running(store, username: str) -> list[RunningClock]:
    with store.session() as session:
        return running_clocks_of(session, viewer_for(session, username).user_id)


# --- the warning rule (no Qt) -------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def case(tar: str, hours_window: float, hours_left_at_t0: float) -> RunningClock:
    due = T0 + timedelta(hours=hours_left_at_t0)
    return RunningClock(tar, due - timedelta(hours=hours_window), due)


def test_each_case_is_warned_once_per_threshold_and_per_due():
    tracker = WarningTracker()
    tracker.watch([case("A", 72, 5), case("B", 72, 30), case("C", 0.5, 0.5)])
    first = tracker.due(T0)
    assert [(w.tar, w.band.id) for w in first] == [("C", "under-4h")]  # 30 minutes: under 4 h from receipt
    assert tracker.due(T0) == []
    assert tracker.due(T0 + timedelta(minutes=30)) == []  # exactly at the due: still in time
    hour = tracker.due(T0 + timedelta(hours=1, seconds=1))
    assert [(w.tar, w.band.id) for w in hour] == [("C", "overdue"), ("A", "under-4h")]  # most urgent first
    assert tracker.due(T0 + timedelta(hours=2)) == []
    assert [(w.tar, w.band.id) for w in tracker.due(T0 + timedelta(hours=5, minutes=1))] == [("A", "overdue")]
    assert tracker.due(T0 + timedelta(hours=6)) == []
    assert [(w.tar, w.band.id) for w in tracker.due(T0 + timedelta(hours=26, seconds=1))] == [("B", "under-4h")]
    # An extension gives a new due: a new clock, warned again.
    tracker.watch([case("A", 72 + 24 * 14, 24 * 14)])
    assert tracker.due(T0 + timedelta(hours=6)) == []
    assert [w.band.id for w in tracker.due(T0 + timedelta(hours=24 * 14 - 3))] == ["under-4h"]


def test_a_case_first_seen_overdue_is_warned_once_as_overdue():
    tracker = WarningTracker()
    tracker.watch([case("A", 72, -1)])
    assert [w.band for w in tracker.due(T0)] == [OVERDUE]
    assert tracker.due(T0) == [] and tracker.due(T0 + timedelta(days=1)) == []


def test_a_restart_warns_again():
    cases = [case("A", 72, 2)]
    first, second = WarningTracker(), WarningTracker()
    first.watch(cases)
    second.watch(cases)
    assert len(first.due(T0)) == 1 and len(second.due(T0)) == 1


def test_the_message_names_tar_numbers_and_times_but_no_member():
    tracker = WarningTracker()
    tracker.watch([case(f"9000000000{i}", 72, 3 - i * 0.1) for i in range(7)] + [case("90000000100", 72, -2)])
    title, text = warning_message(tracker.due(T0))
    assert title == "8 of your cases are overdue or under 4 h"
    lines = text.splitlines()
    assert lines[0].startswith("TAR 90000000100: decision overdue by 2 h 0 m")
    assert lines[1].startswith("TAR 90000000006: decision due ") and lines[1].endswith("in 2 h 24 m")
    assert lines[-1] == "and 3 more" and len(lines) == 6
    title, text = warning_message(WarningTracker().due(T0) or [*_one(case("90000000042", 72, 3))])
    assert (title, text) == ("Under 4 h: TAR 90000000042", "The decision is due Tue 11/24 7:00 AM PT, in 3 h 0 m.")
    title, text = warning_message(_one(case("90000000043", 72, -0.5)))
    assert (title, text) == ("Overdue: TAR 90000000043",
                             "The decision was due Tue 11/24 3:30 AM PT; it is overdue by 30 m.")


def _one(clock: RunningClock):
    tracker = WarningTracker()
    tracker.watch([clock])
    return tracker.due(T0)


# --- the warnings in the window -----------------------------------------------------------------------------------

def test_a_case_of_mine_under_4_hours_is_warned_once_in_the_notice_bar_then_once_when_overdue(
        qtbot, window_at, demo_store, monkeypatch):
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    # An outpatient nurse: her cases' decision dues are regulatory clocks (an inpatient nurse's are mostly stays,
    # due at their next review, which is warned too but recorded as a breach only for days left undecided).
    running = my_running(demo_store, "nurse.nguyen")
    assert running
    soonest = min(running, key=lambda c: c.due_at)
    crossing = {c.tar for c in running if c.due_at == soonest.due_at}
    clock = Clock(soonest.due_at - timedelta(hours=5))
    window = window_at("nurse.nguyen", clock)
    shown = []
    window.clock_warnings.shown.connect(lambda title, text: shown.append((title, text)))
    window.tick()
    assert shown == [] and not window.notice_bar.isVisible()

    clock.now = soonest.due_at - timedelta(hours=3, minutes=59)
    window.tick()
    assert len(shown) == 1
    title, text = shown[0]
    assert UNDER_4H_BAND.word in title or "under 4 h" in title
    assert all(f"TAR {tar}" in text or f"TAR {tar}" in title for tar in crossing)
    bar = f"{window.notice_bar.title.text()}\n{window.notice_bar.text.text()}"
    assert window.notice_bar.isVisible() and f"TAR {soonest.tar}" in bar
    assert "in 3 h 59 m" in bar and bar == f"{title}\n{text}"

    for minutes in (1, 2, 30):  # later ticks, and a refresh that reads my cases again: no second warning
        clock.now += timedelta(minutes=minutes)
        window.tick()
    checks = window.clock_checks
    window.refresh()
    qtbot.waitUntil(lambda: window.clock_checks > checks and window.clock_watch_idle())
    window.tick()
    assert len(shown) == 1

    window.notice_bar.dismiss_button.click()
    assert not window.notice_bar.isVisible()
    clock.now = soonest.due_at + timedelta(minutes=1)
    window.tick()
    assert len(shown) == 2 and "overdue" in shown[1][0].lower() + shown[1][1]
    assert window.notice_bar.isVisible()
    window.tick()
    assert len(shown) == 2

    # The breach is recorded off the GUI thread as an event on the case, once.
    checks = window.clock_checks
    window.check_clocks()  # (runs again after one already running, which may have started before the due)
    qtbot.waitUntil(lambda: window.clock_checks > checks and window.clock_watch_idle())
    with demo_store.session() as session:
        events = session.scalars(select(CaseEvent).join(Case, CaseEvent.case_id == Case.id).where(
            Case.tar == soonest.tar, CaseEvent.kind == "clock-breached")).all()
    assert len(events) == 1 and events[0].payload["clock"] == "decision"

    window.notice_bar.at_risk_button.click()
    assert window.model.queue_id == "at-risk"
    assert soonest.tar in [window.model.index(r, 0).data(TAR_ROLE) for r in range(window.model.rowCount())]


def test_with_a_system_tray_the_warning_is_a_tray_message(qtbot, window_at, demo_store, monkeypatch):
    messages = []
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, title, text, *a: messages.append((title, text)))
    soonest = min(my_running(demo_store, "nurse.garcia"), key=lambda c: c.due_at)
    clock = Clock(soonest.due_at - timedelta(hours=2))
    window = window_at("nurse.garcia", clock)  # the first watch already warns
    window.tick()
    window.tick()
    assert len(messages) == 1 and soonest.tar in messages[0][0] + messages[0][1]
    assert not window.notice_bar.isVisible()
    assert window.clock_warnings.tray is not None


def test_only_my_cases_are_warned(qtbot, window_at, demo_store, monkeypatch):
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    mine = {c.tar for c in my_running(demo_store, "nurse.garcia")}
    others = my_running(demo_store, "nurse.nguyen")
    soonest = min(others, key=lambda c: c.due_at)
    clock = Clock(soonest.due_at - timedelta(hours=1))
    window = window_at("nurse.garcia", clock)
    window.tick()
    warned = " ".join(title + text for title, text in window.clock_warnings.messages)
    assert soonest.tar not in warned or soonest.tar in mine


# --- every clock on an open case ----------------------------------------------------------------------------------

def routine_case(store) -> str:
    with store.session() as session:
        return session.scalar(select(Case.tar).where(
            Case.line_of_business == "medi-cal", Case.review_timing == "pre-service", Case.urgency == "routine",
            Case.service_category != "medication", Case.status == "in-review").order_by(Case.tar).limit(1))


def test_the_case_view_shows_every_clock_with_due_rule_set_citation_time_left_and_band(qtbot, demo_store):
    tar = routine_case(demo_store)
    with demo_store.session() as session:
        details = load_case(session, tar, full=True)
        case = session.scalar(select(Case).where(Case.tar == tar))
        request = ClockRequest("medi-cal", "pre-service", "routine", "other", case.received_at)
    now = details.due_at - timedelta(hours=3)
    view = CaseView(details, lambda: now)
    qtbot.addWidget(view)
    expected = compute_clocks(request, now=now)
    rows = view.clocks.rows
    assert [rows[n]["clock"].text() for n in ("decision", "notification", "member_notice")] == [
        "Decision", "Provider notification", "Member written notice"]
    for name in ("decision", "notification", "member_notice"):
        due = expected.due(name)
        cells = rows[name]
        if due is None:
            assert cells["due"].text() == "—" and "decision is made" in cells["state"].text()
            continue
        assert cells["due"].text() == format_instant(due, year=True)
        assert cells["rule"].text().startswith(expected.rule(name) + " · ")
        assert getattr(expected, f"{name}_cite") in cells["rule"].text()
        assert cells["icon"].pixmap() is not None and not cells["icon"].pixmap().isNull()
    assert rows["decision"]["state"].text() == "Under 4 h · in 3 h 0 m"
    assert view.clock.text().startswith("Under 4 h: decision due ")

    now = details.due_at + timedelta(minutes=5)
    view.tick()
    assert rows["decision"]["state"].text() == "Overdue 5 m"
    assert view.clock.text().startswith("OVERDUE")
    lines = clock_lines(details, case_clocks(details, now), now)
    assert lines[0].band is OVERDUE


def test_a_missed_post_stabilization_decision_reads_deemed_authorized(qtbot, demo_store):
    tar = routine_case(demo_store)
    with demo_store.session() as session, session.begin():
        received = session.scalar(select(Case.received_at).where(Case.tar == tar))
        due = decision_due("medi-cal", "post-stabilization", "urgent", "inpatient", received)
        session.execute(update(Case).where(Case.tar == tar).values(
            review_timing="post-stabilization", urgency="urgent", service_category="inpatient", decision_due_at=due))
    with demo_store.session() as session:
        details = load_case(session, tar, full=True)
    assert details.due_at == received + timedelta(minutes=30)
    now = received + timedelta(minutes=10)
    view = CaseView(details, lambda: now)
    qtbot.addWidget(view)
    assert view.clocks.rows["decision"]["state"].text() == "Under 4 h · in 20 m"  # 30 minutes: under 4 h at once
    assert "H&SC 1371.4(a)" in view.clocks.rows["decision"]["rule"].text()
    now = received + timedelta(minutes=31)
    view.tick()
    assert view.clocks.rows["decision"]["state"].text().startswith("Deemed authorized")
    assert view.clock.text().startswith("DEEMED AUTHORIZED") and "H&SC 1371.4(a)" in view.clock.text()


def test_a_decided_case_shows_when_it_was_decided(qtbot, demo_store):
    with demo_store.session() as session:
        tar = session.scalar(select(Case.tar).where(Case.status == "determined").order_by(Case.tar).limit(1))
        details = load_case(session, tar, full=True)
    assert details.decided_at is not None
    now = details.decided_at + timedelta(hours=1)
    view = CaseView(details, lambda: now)
    qtbot.addWidget(view)
    decision = view.clocks.rows["decision"]["state"].text()
    assert decision.startswith(f"Decided {format_instant(details.decided_at, year=True)}: ")
    assert decision.endswith("in time") or decision.endswith("late")
    assert view.clocks.rows["notification"]["due"].text() != "—"  # fixed once the decision is made


# --- "At risk today" in the window ---------------------------------------------------------------------------------

def test_a_supervisor_sees_at_risk_today_with_its_count_and_bands(qtbot, window_at, demo_store):
    clock = Clock(datetime.now(UTC) + timedelta(days=1))
    window = window_at("lead.patel", clock)
    assert "at-risk" in [q.id for q in window.queues]
    window.show_queue("at-risk")
    assert window.model.queue_id == "at-risk"
    count = window.model.rowCount()
    assert count > 0 and window.queue_counts["at-risk"] == count
    label = window.queue_list.item([q.id for q in window.queues].index("at-risk")).text()
    assert label == f"At risk today ({count})"
    bands = {window.model.index(r, COLUMN_IDS.index("due")).data(BAND_ROLE) for r in range(count)}
    assert bands <= {"under-4h", "overdue", "at-risk", "on-track"} and "overdue" in bands


def test_the_timeline_says_when_a_decision_clock_was_breached(demo_store):
    from app.services.clock_watch import record_breaches

    later = datetime.now(UTC) + timedelta(days=3)
    with demo_store.session() as session, session.begin():
        tar = record_breaches(session, later)[0]
    with demo_store.session() as session:
        details = load_case(session, tar, full=True)
        payload = session.scalar(select(CaseEvent.payload).join(Case, CaseEvent.case_id == Case.id).where(
            Case.tar == tar, CaseEvent.kind == "clock-breached"))
    due = datetime.fromisoformat(payload["due"])  # the case's decision due (a stay's: its undecided days')
    when, who, what = details.timeline[-1]
    assert who == "System" and when == format_instant(later, year=True)
    assert what == f"Decision clock breached: was due {format_instant(due, year=True)} (rule {payload['rule']})"


def test_at_risk_today_is_read_again_when_the_plan_day_changes(qtbot, window_at, demo_store):
    from zoneinfo import ZoneInfo

    from app.store.worklist import WorklistQuery

    plan = ZoneInfo("America/Los_Angeles")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).astimezone(plan).date()
    clock = Clock(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 23, 50, tzinfo=plan))
    window = window_at("lead.patel", clock)
    window.show_queue("at-risk")
    before = window.model.rowCount()

    def expected(now):
        with demo_store.session() as session:
            return WorklistQuery("at-risk", window.viewer, now=now).count(session)

    assert before == expected(clock.now)
    clock.now += timedelta(minutes=20)  # 00:10 the next plan day
    window.tick()
    assert window.model.rowCount() == expected(clock.now) > before
    qtbot.waitUntil(lambda: window.queue_counts.get("at-risk") == expected(clock.now))
