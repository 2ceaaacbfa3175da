"""The local store is encrypted at rest, keyed from the keyring, and refuses what it cannot safely open."""
from __future__ import annotations

import sqlite3
import uuid
from datetime import date, datetime, timezone

import keyring
import pytest
import sqlcipher3
from sqlalchemy import text

from app.store import keys, migrate
from app.store.engine import default_store_path, open_local_store
from app.store.errors import ForeignDatabase, KeyringUnavailable, SchemaTooNew, WrongKey
from app.store.models import Member

SECRET_NAME = "Zyxwvut-Member-Name"


def _add_member(store) -> None:
    with store.session() as session, session.begin():
        session.add(Member(id=uuid.uuid4(), cin="91234567A", first_name=SECRET_NAME, last_name="Test",
                           birth_date=date(1980, 1, 2), sex="F", language="es"))


def test_first_start_makes_a_key_in_the_keyring_and_an_encrypted_file(local_store, memory_keyring):
    _add_member(local_store)
    local_store.close()
    path = default_store_path()
    raw = path.read_bytes()
    assert not raw.startswith(b"SQLite format 3"), "the file must not be a plain SQLite database"
    assert SECRET_NAME.encode() not in raw
    (key,) = memory_keyring.secrets.values()
    assert len(key) == 64 and int(key, 16) >= 0
    assert key.encode() not in raw


def test_the_file_cannot_be_read_without_its_key(local_store):
    _add_member(local_store)
    local_store.close()
    plain = sqlite3.connect(default_store_path())
    with pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT * FROM members").fetchall()
    wrong = sqlcipher3.connect(str(default_store_path()))
    wrong.execute("PRAGMA key = \"x'" + "00" * 32 + "'\"")
    with pytest.raises(sqlcipher3.DatabaseError):
        wrong.execute("SELECT * FROM members").fetchall()


def test_the_raw_key_from_the_keyring_reads_it(local_store, memory_keyring):
    _add_member(local_store)
    local_store.close()
    (key,) = memory_keyring.secrets.values()
    connection = sqlcipher3.connect(str(default_store_path()))
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    assert connection.execute("SELECT first_name FROM members").fetchone() == (SECRET_NAME,)


def test_store_runs_in_wal_mode_with_foreign_keys(local_store):
    with local_store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA cipher_version")).scalar()


def test_reopening_keeps_the_data(local_store):
    _add_member(local_store)
    local_store.close()
    store = open_local_store()
    with store.session() as session:
        assert session.query(Member).one().first_name == SECRET_NAME
    store.close()


def test_a_replaced_key_is_refused_and_the_file_is_untouched(local_store, memory_keyring):
    _add_member(local_store)
    local_store.close()
    path = default_store_path()
    before = path.read_bytes()
    (account,) = [name for (_, name) in memory_keyring.secrets]
    memory_keyring.set_password(keys.SERVICE, account, "11" * 32)
    with pytest.raises(WrongKey, match="cannot be opened with the key"):
        open_local_store()
    assert path.read_bytes() == before


def test_a_missing_key_for_an_existing_store_is_refused_not_replaced(local_store, memory_keyring):
    _add_member(local_store)
    local_store.close()
    memory_keyring.secrets.clear()
    with pytest.raises(WrongKey, match="holds no key"):
        open_local_store()
    assert memory_keyring.secrets == {}, "no new key may be made for an existing file"


def test_a_plain_sqlite_file_is_refused_as_foreign(isolated_home):
    path = default_store_path()
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE other(x)")
    connection.commit()
    connection.close()
    before = path.read_bytes()
    with pytest.raises(ForeignDatabase, match="unencrypted SQLite database"):
        open_local_store()
    assert path.read_bytes() == before


def test_a_damaged_file_is_refused(isolated_home, memory_keyring):
    path = default_store_path()
    path.write_bytes(b"\x13\x37" * 4096)
    memory_keyring.set_password(keys.SERVICE, keys._account(path), "22" * 32)
    with pytest.raises(WrongKey, match="damaged"):
        open_local_store()
    assert path.read_bytes() == b"\x13\x37" * 4096


def test_a_schema_newer_than_the_app_is_refused(local_store):
    with local_store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    local_store.close()
    with pytest.raises(SchemaTooNew, match="newer version"):
        open_local_store()


def test_plaintext_keyring_is_refused_without_the_allowance(monkeypatch, isolated_home):
    monkeypatch.delenv("UMWS_ALLOW_INSECURE_KEYRING")
    with pytest.raises(KeyringUnavailable, match="plaintext"):
        open_local_store()
    assert not default_store_path().exists()


def test_plaintext_keyring_is_allowed_with_a_warning(capsys, local_store):
    assert "insecure keyring" in capsys.readouterr().err


def test_no_keyring_backend_is_a_clear_error(monkeypatch, isolated_home):
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    with pytest.raises(KeyringUnavailable, match="No keyring is available"):
        open_local_store()


def test_secure_backends_are_recognised():
    from keyring.backends import SecretService, chainer, null

    assert keys._is_secure(SecretService.Keyring())
    assert not keys._is_secure(null.Keyring())
    chain = chainer.ChainerBackend()
    chain.__dict__["backends"] = [null.Keyring()]
    assert not keys._is_secure(chain)


def test_naive_datetimes_are_refused(local_store):
    from app.store.models import ClinicalNote

    with pytest.raises(Exception, match="naive datetime"):
        with local_store.session() as session, session.begin():
            session.add(ClinicalNote(case_id=uuid.uuid4(), written_at=datetime(2026, 1, 1), author="x", text="y"))


def test_the_migration_chain_reaches_head(local_store):
    assert migrate.current_revision(local_store.engine) == migrate.head_revision()
