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


def test_migration_0017_document_files_are_append_only_and_a_confirmation_is_a_change_of_the_case(any_store):
    """document_files and intake_documents.stored_centrally_at (0017) on a store made before them, both engines."""
    from datetime import datetime, timezone

    from app.store.models import DocumentFile, IntakeDocument

    demo.generate(any_store, 3, seed=9)
    migrate.downgrade(any_store.engine, "0016")
    assert "document_files" not in inspect(any_store.engine).get_table_names()
    migrate.upgrade(any_store.engine)
    now = datetime.now(timezone.utc)
    sha = "ab" * 32
    with any_store.session() as session, session.begin():
        case_id = session.scalar(select(Case.id).limit(1))
        session.add(IntakeDocument(id=uuid.uuid4(), case_id=case_id, file_name="fax.pdf", stored_path="/elsewhere/f",
                                   sha256=sha, media_type="application/pdf", pages=1, received_at=now,
                                   attached_at=now, attached_by=None))
        session.add(DocumentFile(sha256=sha, media_type="application/pdf", size_bytes=3, content=b"abc",
                                 stored_at=now))
    for statement in ("UPDATE document_files SET size_bytes = 0", "DELETE FROM document_files"):
        with pytest.raises(DatabaseError, match="append-only"):
            with any_store.engine.begin() as connection:
                connection.execute(text(statement))
    if not any_store.is_sqlite:  # the central change log: the confirmation is a change of the document's case

        def changes() -> int:
            with any_store.session() as session:
                return session.scalar(select(func.count()).select_from(SyncChange)
                                      .where(SyncChange.entity_id == case_id))

        before = changes()
        with any_store.engine.begin() as connection:
            connection.execute(text("UPDATE intake_documents SET stored_centrally_at = now()"))
        assert changes() == before + 1
        with any_store.engine.begin() as connection:  # only that column is logged
            connection.execute(text("UPDATE intake_documents SET pages = 2"))
        assert changes() == before + 1
    migrate.downgrade(any_store.engine, "0016")
    assert "document_files" not in inspect(any_store.engine).get_table_names()
    assert "stored_centrally_at" not in {c["name"] for c in inspect(any_store.engine).get_columns("intake_documents")}
    with any_store.session() as session:
        assert session.scalar(text("SELECT count(*) FROM intake_documents")) == 1
    migrate.upgrade(any_store.engine)


def test_migration_0020_times_the_change_log_and_keeps_its_horizon(any_store):
    """sync_changes.changed_at and sync_counter.horizon (0020) on a store made before them, both engines: the
    central log's rows are timed from then on (those it held, with the upgrade's time) and nothing is pruned yet."""
    from app.store.models import SyncCounter

    demo.generate(any_store, 3, seed=10)
    migrate.downgrade(any_store.engine, "0019")
    assert "horizon" not in {c["name"] for c in inspect(any_store.engine).get_columns("sync_counter")}
    migrate.upgrade(any_store.engine)
    with any_store.session() as session:
        assert session.scalar(select(SyncCounter.horizon)) == 0
    if not any_store.is_sqlite:
        with any_store.session() as session, session.begin():
            session.execute(text("UPDATE cases SET updated_at = now() WHERE tar = (SELECT min(tar) FROM cases)"))
        with any_store.session() as session:
            assert session.scalar(select(func.count()).select_from(SyncChange)) >= 1
            assert session.scalar(select(func.count()).select_from(SyncChange)
                                  .where(SyncChange.changed_at.is_(None))) == 0
            times = session.execute(select(SyncChange.changed_at).order_by(SyncChange.change_no)).scalars().all()
            assert times == sorted(times)
    migrate.downgrade(any_store.engine, "0019")
    assert "changed_at" not in {c["name"] for c in inspect(any_store.engine).get_columns("sync_changes")}
    migrate.upgrade(any_store.engine)


def test_migration_0021_names_the_transaction_of_each_change_and_keeps_echoes(any_store):
    """sync_changes.xact, sync_mutations.xact and echo, sync_outbox.copy_waiting (0021) on a store made before them,
    both engines: on the central store the change log's trigger names the transaction that made each change, and an
    answered change's row names the same one; the downgrade puts the trigger of 0007 back."""
    from app.store.models import SyncMutation

    demo.generate(any_store, 3, seed=11)
    migrate.downgrade(any_store.engine, "0020")
    assert "copy_waiting" not in {c["name"] for c in inspect(any_store.engine).get_columns("sync_outbox")}
    migrate.upgrade(any_store.engine)
    assert {"xact", "echo"} <= {c["name"] for c in inspect(any_store.engine).get_columns("sync_mutations")}
    if not any_store.is_sqlite:
        with any_store.session() as session, session.begin():
            session.execute(text("UPDATE cases SET updated_at = now() WHERE tar = (SELECT min(tar) FROM cases)"))
            session.execute(text(
                "INSERT INTO sync_mutations (device_id, seq, mutation_id, intent, actor, outcome, answer, "
                "device_time, applied_time, received_at) VALUES (:d, 1, :m, 'claim', 'x', 'applied', '{}', now(), "
                "now(), now())"), {"d": uuid.uuid4(), "m": uuid.uuid4()})
        with any_store.session() as session:
            change = session.scalar(select(SyncChange.xact).order_by(SyncChange.change_no.desc()).limit(1))
            answered, echo = session.execute(select(SyncMutation.xact, SyncMutation.echo)).one()
            assert change is not None and change == answered and echo is False
    migrate.downgrade(any_store.engine, "0020")
    assert "xact" not in {c["name"] for c in inspect(any_store.engine).get_columns("sync_changes")}
    if not any_store.is_sqlite:  # the trigger of 0007 writes the log again
        with any_store.session() as session, session.begin():
            session.execute(text("UPDATE cases SET updated_at = now() WHERE tar = (SELECT min(tar) FROM cases)"))
    migrate.upgrade(any_store.engine)
