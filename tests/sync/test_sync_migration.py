"""Migration 0007 (sync) on stores made before it (schema 0006, with data), on SQLite and PostgreSQL; migration 0013
(issued letters within a rebase, TAR blocks) on a laptop."""
from __future__ import annotations

import uuid

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



def _issued_row(engine) -> str:
    """An issued letter (and its letter) of a demo case; returns the case id."""
    with engine.connect() as connection:
        case_id, user_id = connection.execute(text("SELECT (SELECT id FROM cases LIMIT 1), "
                                                   "(SELECT id FROM users LIMIT 1)")).one()
        letter_id = uuid.uuid4().hex
        connection.execute(text(
            "INSERT INTO letters (id, case_id, kind, recipient, language, status, created_at, updated_at) VALUES "
            "(:l, :c, 'approval', 'member', 'en', 'issued', '2026-12-01 10:00:00', '2026-12-01 10:00:00')"),
            {"l": letter_id, "c": case_id})
        connection.execute(text(
            "INSERT INTO issued_letters (id, letter_id, case_id, issued_at, issued_by_id, notice_date, pdf, sha256, "
            "pages, content) VALUES (:i, :l, :c, '2026-12-01 10:00:00', :u, '2026-12-01', x'25', '00', 1, '{}')"),
            {"i": uuid.uuid4().hex, "l": letter_id, "c": case_id, "u": user_id})
        connection.commit()
    return case_id


def _delete_within_rebase(engine, case_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO sync_rebase (case_id) VALUES (:c)"), {"c": case_id})
        connection.execute(text("DELETE FROM issued_letters WHERE case_id = :c"), {"c": case_id})
        connection.execute(text("DELETE FROM sync_rebase"))


def _columns(engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("sync_devices")}


def test_issued_letters_leave_a_laptop_only_within_a_rebase(local_store):
    """Migration 0013 on a laptop: issued letters stay append-only, except while a pull lists their case in
    sync_rebase (as for its events); the laptop's TAR block column; both undone by the downgrade."""
    demo.generate(local_store, 3, seed=5)
    engine = local_store.engine
    assert "tar_block" in _columns(engine)
    case_id = _issued_row(engine)
    with pytest.raises(DatabaseError, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM issued_letters"))
    _delete_within_rebase(engine, case_id)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM issued_letters")).scalar_one() == 0
    migrate.downgrade(engine, "0012")
    assert "tar_block" not in _columns(engine)
    case_id = _issued_row(engine)
    with pytest.raises(DatabaseError, match="append-only"):  # before 0013, not even within a rebase
        _delete_within_rebase(engine, case_id)
    migrate.upgrade(engine)
    assert "tar_block" in _columns(engine)
