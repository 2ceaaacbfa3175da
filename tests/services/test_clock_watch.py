"""record_breaches: a missed decision clock becomes one `clock-breached` event, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from app.domain.clocks import ClockRequest, compute_clocks
from app.domain.plantime import iso_plan
from app.services import demo
from app.services.clock_watch import record_breaches
from app.store.engine import open_database_url
from app.store.models import Case, CaseEvent
from tests.breach_oracle import past_due

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)  # Tue 11/24 12:00 PT
UNDECIDED = {"received", "in-review", "pended", "referred"}


@pytest.fixture
def store(any_store):
    demo.generate(any_store, 150, seed=11, now=NOW)
    return any_store


def breach_events(store) -> list[tuple[str, CaseEvent]]:
    with store.session() as session:
        return list(session.execute(
            select(Case.tar, CaseEvent).join(Case, CaseEvent.case_id == Case.id)
            .where(CaseEvent.kind == "clock-breached").order_by(Case.tar)).all())


def expected_breaches(store, now: datetime) -> dict[str, datetime]:
    """{TAR: missed due}, worked out in Python from every row (tests/breach_oracle.py)."""
    with store.session() as session:
        return past_due(session, now)


def run(store, now: datetime) -> list[str]:
    with store.session() as session, session.begin():
        return record_breaches(session, now)


def test_each_open_undecided_case_past_due_gets_one_event_with_clock_due_and_rule(store):
    now = NOW + timedelta(days=3)
    expected = expected_breaches(store, now)
    assert 5 < len(expected) < 100  # the demo data has some and not all
    recorded = run(store, now)
    assert set(recorded) == set(expected) and len(recorded) == len(expected)
    events = breach_events(store)
    assert sorted(tar for tar, _ in events) == sorted(expected)
    with store.session() as session:
        cases = {c.tar: c for c in session.scalars(select(Case).where(Case.tar.in_(expected)))}
        for tar, event in events:
            case = cases[tar]
            clocks = compute_clocks(ClockRequest(
                case.line_of_business, case.review_timing, case.urgency,
                "medication" if case.service_category == "medication" else "other", case.received_at),
                extensions=case.extensions_taken or 0)
            assert event.payload == {"clock": "decision", "due": iso_plan(expected[tar]),
                                     "rule": clocks.decision_rule}
            assert datetime.fromisoformat(event.payload["due"]) == expected[tar].replace(microsecond=0)
            assert event.actor_id is None  # the system observed it
            assert event.occurred_at == now
    dues = [cases[tar].decision_due_at for tar in recorded]
    assert dues == sorted(dues)  # earliest due first


def test_a_second_run_records_nothing_and_later_breaches_are_added_once(store):
    first = run(store, NOW)
    assert first
    with store.session() as session:
        versions = dict(session.execute(select(Case.tar, Case.version)).all())
    assert run(store, NOW) == []
    later = NOW + timedelta(days=3)
    newly = run(store, later)
    assert newly and set(newly) == set(expected_breaches(store, later)) - set(first)
    assert run(store, later) == []
    events = breach_events(store)
    assert len(events) == len({tar for tar, _ in events}) == len(first) + len(newly)  # one event per case
    with store.session() as session:
        for tar in first:  # the first event bumped the version once; the runs after it did not touch the case
            assert session.scalar(select(Case.version).where(Case.tar == tar)) == versions[tar]


def test_due_exactly_now_is_in_time_and_decided_or_closed_cases_are_never_breached(store):
    with store.session() as session, session.begin():
        on_time, decided, closed = session.scalars(
            select(Case.tar).where(Case.status.in_(UNDECIDED)).order_by(Case.tar).limit(3)).all()
        session.execute(update(Case).where(Case.tar == on_time).values(decision_due_at=NOW))
        session.execute(update(Case).where(Case.tar == decided)
                        .values(decision_due_at=NOW - timedelta(days=1), status="determined"))
        session.execute(update(Case).where(Case.tar == closed)
                        .values(decision_due_at=NOW - timedelta(days=1), status="closed"))
    recorded = run(store, NOW)
    assert on_time not in recorded and decided not in recorded and closed not in recorded
    assert run(store, NOW + timedelta(microseconds=1)) == [on_time]
    assert decided not in {tar for tar, _ in breach_events(store)}


def test_nothing_to_record_touches_nothing(any_store):
    demo.generate(any_store, 20, seed=3, now=NOW)
    with any_store.session() as session:
        before = session.scalar(select(func.count()).select_from(CaseEvent))
    assert run(any_store, datetime(2020, 1, 1, tzinfo=timezone.utc)) == []
    with any_store.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == before


def test_now_must_be_aware(local_store):
    with local_store.session() as session, pytest.raises(ValueError):
        record_breaches(session, datetime(2026, 11, 24, 12, 0))


def test_two_workstations_at_once_on_postgres_record_each_breach_once(postgres_url):
    store = open_database_url(postgres_url)
    try:
        demo.generate(store, 60, seed=5, now=NOW)
        later = NOW + timedelta(days=3)
        other: list[list[str]] = []
        with store.session() as first, first.begin():
            mine = record_breaches(first, later)  # holds the row locks until commit
            assert mine

            def second_workstation():
                with store.session() as session, session.begin():
                    other.append(record_breaches(session, later))

            thread = threading.Thread(target=second_workstation)
            thread.start()
            time.sleep(0.5)  # the second one is now waiting for the first one's locks
            assert not other
        thread.join(20)
        assert other == [[]]
        events = breach_events(store)
        assert sorted(tar for tar, _ in events) == sorted(mine)
    finally:
        store.close()
