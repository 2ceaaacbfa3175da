"""Migration 0007 (sync) on stores made before it (schema 0006, with data), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DatabaseError

from app.services import demo
from app.store import migrate
from app.store.models import Case, SyncChange


def test_an_older_store_upgrades_and_keeps_its_rules(any_store):
    demo.generate(any_store, 30, seed=8)
    migrate.downgrade(any_store.engine, "0006")  # the schema before sync, with its data
    assert "sync_outbox" not in inspect(any_store.engine).get_table_names()
    migrate.upgrade(any_store.engine)
    tables = set(inspect(any_store.engine).get_table_names())
    assert {"sync_outbox", "sync_conflicts", "sync_mutations", "case_leases", "sync_changes"} <= tables
    with any_store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 30
    with pytest.raises(DatabaseError, match="append-only"):  # events still refuse deletion without a rebase
        with any_store.engine.begin() as connection:
            connection.execute(text("DELETE FROM case_events"))
    with any_store.session() as session:
        tar = session.scalar(select(Case.tar).limit(1))
    if not any_store.is_sqlite:  # the change log works on the upgraded central store
        with any_store.session() as session, session.begin():
            session.execute(text("UPDATE cases SET updated_at = now() WHERE tar = :t"), {"t": tar})
        with any_store.session() as session:
            assert session.scalar(select(func.count()).select_from(SyncChange)) >= 1
    migrate.downgrade(any_store.engine, "0006")  # and back
    assert "sync_outbox" not in inspect(any_store.engine).get_table_names()
    with pytest.raises(DatabaseError, match="append-only"):
        with any_store.engine.begin() as connection:
            connection.execute(text("DELETE FROM case_events"))
