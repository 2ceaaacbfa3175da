"""Test harness: an isolated home and in-memory keyring per test, offscreen Qt, and a real PostgreSQL per session."""
from __future__ import annotations

import itertools
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import pytest

from tests import pg_harness
from tests.memory_keyring import MemoryKeyring


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own store directory, an in-memory keyring and the CI keyring allowance."""
    home = tmp_path / "umws-home"
    home.mkdir()
    monkeypatch.setenv("UMWS_HOME", str(home))
    monkeypatch.setenv("UMWS_ALLOW_INSECURE_KEYRING", "1")
    monkeypatch.delenv("UMWS_DATABASE_URL", raising=False)
    # No machine-wide configuration (app/config.py) unless a test writes one here; the process's copy is re-read.
    monkeypatch.setenv("UMWS_SITE_CONFIG", str(tmp_path / "site-config" / "umws.toml"))
    from app import config

    config._current = None
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield home
    _stop_worker_threads()
    keyring.set_keyring(previous)
    config._current = None


def _stop_worker_threads() -> None:
    """A test that failed half way leaves its windows' worker threads running; collected later, in another test,
    a running QThread aborts the whole run. Stop them here (only where the GUI was loaded)."""
    import sys

    tasks = sys.modules.get("app.ui.tasks")
    if tasks is not None:
        tasks.stop_all()


@pytest.fixture
def memory_keyring():
    return keyring.get_keyring()


@pytest.fixture
def local_store(isolated_home):
    from app.store.engine import open_local_store

    store = open_local_store()
    yield store
    store.close()


@pytest.fixture(scope="session")
def postgres_server():
    if not pg_harness.available():
        pytest.skip("PostgreSQL binaries not found (set UMWS_PG_BIN)")
    server = pg_harness.PostgresServer().start()
    yield server
    server.stop()


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database(f"umws_test_{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request, isolated_home):
    """The same test on the local encrypted SQLite store and on PostgreSQL."""
    from app.store.engine import open_database_url, open_local_store

    if request.param == "sqlite":
        store = open_local_store()
    else:
        store = open_database_url(request.getfixturevalue("postgres_url"))
    yield store
    store.close()
