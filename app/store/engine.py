"""Open the case store: encrypted SQLite on this laptop (SQLCipher) or the plan's PostgreSQL (issue 3, scope 3).

`open_store()` is the one way in. It finds the store, unlocks it with the key from the keyring, refuses a file it
cannot read (wrong key, foreign or damaged file, a schema newer than this app) with a message saying what to do,
and brings an older schema up to date through the Alembic chain. It never overwrites or deletes a file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from app.store import keys
from app.store.errors import ForeignDatabase, StoreError, WrongKey

STORE_FILE = "store.db"
PLAIN_SQLITE_HEADER = b"SQLite format 3\x00"
POOL_CACHE_KIB = 65536  # each pooled SQLite connection's page cache (PRAGMA cache_size=-N: N KiB)


def data_dir() -> Path:
    """Where this user's store lives: $UMWS_HOME, else the platform's user data directory."""
    home = os.environ.get("UMWS_HOME")
    return Path(home) if home else Path(platformdirs.user_data_dir("umws", appauthor=False))


def default_store_path() -> Path:
    return data_dir() / STORE_FILE


@dataclass
class Store:
    engine: Engine
    sessions: sessionmaker[Session]
    location: str  # a file path, or the database URL without its password

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return self.sessions()

    def reader(self, cache_mib: int) -> "Reader":
        return Reader(self, cache_mib)

    def close(self) -> None:
        self.engine.dispose()


class Reader:
    """A connection of its own for one window's repeated large reads (the committee dashboard, issue 14). On SQLite
    its page cache holds `cache_mib` MiB where a pooled connection holds 64: a year's aggregates touch more pages
    than that, so with the pool's size the dashboard's sections pushed each other out of the cache and every
    section read its pages again. SQLite keeps a connection's cache from one transaction to the next while no
    other connection writes, so a second Refresh reads from memory.

    `begin()` gives a session on it (one read transaction: every section counted from the same snapshot), `end()`
    ends that transaction (the next `begin()` sees what others committed meanwhile), `close()` gives the connection
    back to the pool with the pool's cache size, which frees the pages. One thread at a time."""

    def __init__(self, store: Store, cache_mib: int):
        self._store = store
        self._connection = store.engine.connect()
        self._cache(cache_mib * 1024)
        self._session: Session | None = None

    def _cache(self, kib: int) -> None:
        if self._store.is_sqlite:
            self._connection.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")
            self._connection.commit()

    def begin(self) -> Session:
        if self._session is None:
            self._session = Session(bind=self._connection)
            if self._store.is_sqlite:  # the DB-API driver begins no transaction for reads: BEGIN makes it one
                self._session.execute(text("BEGIN"))
            else:
                self._session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return self._session

    def end(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def close(self) -> None:
        self.end()
        if not self._connection.closed:
            self._cache(POOL_CACHE_KIB)
            self._connection.close()


def _sqlcipher_engine(path: Path, hex_key: str) -> Engine:
    # The password becomes `PRAGMA key = "x'…'"` on every new connection: a raw 256-bit key, no passphrase KDF.
    url = URL.create("sqlite+pysqlcipher", password=f"x'{hex_key}'", database=str(path))
    # A pool of connections any thread checks out and returns (QueuePool), not the dialect's default of one
    # connection per thread (SingletonThreadPool): a Qt worker thread is not a Python thread, so its thread-local
    # connection is forgotten between jobs; the sixth such connection made the pool close an arbitrary one, possibly
    # the GUI thread's or one in use ("Cannot operate on a closed database", or a crash).
    engine = create_engine(url, poolclass=QueuePool, connect_args={"check_same_thread": False},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # runs after the dialect has set the key
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is our message, not SQLCipher's log lines
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{POOL_CACHE_KIB}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    return engine


def _check_readable(engine: Engine, path: Path) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()
    except DatabaseError as error:
        engine.dispose()
        raise WrongKey(
            f"The local store {path} cannot be opened with the key kept for it in this computer's keyring: the key "
            "was replaced, or the file is damaged or is not a workstation store. Nothing was changed. Restore the "
            "keyring entry, or move the file aside to start a new store (its data stays in the moved file)."
        ) from error


def open_local_store(path: Path | None = None, *, upgrade: bool = True) -> Store:
    """Open (creating on first start) the encrypted store file at `path` (default: the user data directory)."""
    path = path or default_store_path()
    if path.exists():
        with path.open("rb") as handle:
            header = handle.read(16)
        if header == PLAIN_SQLITE_HEADER:
            raise ForeignDatabase(
                f"{path} is an unencrypted SQLite database, not a workstation store. Nothing was changed. Move it "
                "aside and start again to create a new encrypted store."
            )
        hex_key = keys.load_key(path)
        if hex_key is None:
            raise WrongKey(
                f"The local store {path} exists but this computer's keyring holds no key for it, so it cannot be "
                "opened. Nothing was changed. Restore the keyring entry (for example from the machine's backup), "
                "or move the file aside to start a new store."
            )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        hex_key = keys.load_key(path) or keys.create_key(path)
    return open_encrypted_file(path, hex_key, upgrade=upgrade)


def open_encrypted_file(path: Path, hex_key: str, *, upgrade: bool = True) -> Store:
    """Open (creating) the encrypted store file at `path` with a key the caller holds, not the keyring's: the
    local store's own opening, and the self-check's throwaway store (app/selfcheck)."""
    engine = _sqlcipher_engine(path, hex_key)
    _check_readable(engine, path)
    store = Store(engine, sessionmaker(engine, expire_on_commit=False), str(path))
    _prepare(store, upgrade)
    return store


def open_database_url(url: str, *, upgrade: bool = True) -> Store:
    """Open a store by URL: `postgresql://…` (psycopg 3) for the central store, or `sqlite://` for tests."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, hide_parameters=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DatabaseError as error:
        engine.dispose()
        raise StoreError(f"The database at {engine.url.render_as_string(hide_password=True)} cannot be reached "
                         f"({error.orig}). Check the URL and that the server is running.") from error
    store = Store(engine, sessionmaker(engine, expire_on_commit=False),
                  engine.url.render_as_string(hide_password=True))
    _prepare(store, upgrade)
    return store


def open_store(database_url: str | None = None, *, upgrade: bool = True) -> Store:
    """The store the user works on: `database_url` (or $UMWS_DATABASE_URL) if given, else the local encrypted file."""
    database_url = database_url or os.environ.get("UMWS_DATABASE_URL")
    if database_url:
        return open_database_url(database_url, upgrade=upgrade)
    return open_local_store(upgrade=upgrade)


def _prepare(store: Store, upgrade: bool) -> None:
    from app.store import migrate

    try:
        migrate.refuse_newer_schema(store.engine)
        if upgrade:
            migrate.upgrade(store.engine)
    except StoreError:
        store.close()
        raise
