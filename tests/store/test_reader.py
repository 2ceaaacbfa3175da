"""A reader (app.store.engine.Reader): the committee dashboard's own connection, with a larger SQLite page cache
while the window is open, one snapshot per Refresh, and the pool's cache size given back when it closes."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select, text

from app.store.engine import POOL_CACHE_KIB
from app.store.models import User


def cache_kib(session) -> int:
    return -session.execute(text("PRAGMA cache_size")).scalar()


def test_a_reader_has_a_page_cache_of_its_own_and_gives_the_pool_its_size_back(local_store):
    reader = local_store.reader(256)
    session = reader.begin()
    assert cache_kib(session) == 256 * 1024
    raw = session.connection().connection.dbapi_connection
    reader.close()
    # The very connection, back in the pool, has the pool's cache size again (the extra pages are freed).
    assert -raw.execute("PRAGMA cache_size").fetchone()[0] == POOL_CACHE_KIB
    with local_store.session() as other:
        assert cache_kib(other) == POOL_CACHE_KIB


def test_one_refresh_is_one_snapshot_and_the_next_sees_what_was_written(any_store):
    """On the laptop's SQLite and on the central PostgreSQL (a supervisor's dashboard there)."""
    local_store = any_store
    reader = local_store.reader(256)

    def users() -> int:
        return reader.begin().scalar(select(func.count()).select_from(User))

    before = users()
    with local_store.session() as session, session.begin():
        session.add(User(id=uuid.uuid4(), username="nurse.reader", full_name="Nurse Reader", role="um-nurse"))
    assert users() == before  # the same Refresh: its sections all count from one snapshot
    reader.end()
    assert users() == before + 1  # the next Refresh sees the new user
    reader.close()
