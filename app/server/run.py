"""Run the sync service: `umws serve --database-url URL [--host 127.0.0.1] [--port 8765]` (issue 9, design 1).

uvicorn serves the Starlette app (app.server.http). TLS: give uvicorn's certificate options (`--ssl-certfile`,
`--ssl-keyfile`), or put a reverse proxy in front that terminates TLS (docs/sync.md). Laptops only ever hold the
URL and their own short-lived token, never the database's credentials.

Beside the requests, one thread records missed decision clocks every minute (app.services.clock_watch), as the
workstation does on its own store, so every laptop pulls the same breach events.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.store.engine import Store, open_database_url

log = logging.getLogger("umws.server")
WATCH_SECONDS = 60.0


def server_store(url: str, *, pool: int = 16) -> Store:
    """The central store with a connection pool sized for many laptops (migrated by open_database_url first)."""
    checked = open_database_url(url)
    checked.close()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, hide_parameters=True, pool_size=pool, max_overflow=pool, pool_pre_ping=True)
    return Store(engine, sessionmaker(engine, expire_on_commit=False), checked.location)


def watch_clocks(store: Store, stop: threading.Event, every: float = WATCH_SECONDS) -> None:
    from app.server.push import lock_server_chain
    from app.services.clock_watch import record_breaches
    from app.store.models import utcnow

    while not stop.wait(every):
        try:
            with store.session() as session, session.begin():
                lock_server_chain(session)  # the order every server write takes its locks in
                recorded = record_breaches(session, utcnow())
            if recorded:
                log.info("recorded %d missed decision clock(s)", len(recorded))
        except Exception:  # noqa: BLE001 - logged; the next minute tries again
            log.exception("clock watch failed")


def serve(url: str, host: str = "127.0.0.1", port: int = 8765, *, ssl_certfile: str | None = None,
          ssl_keyfile: str | None = None, token_hours: int = 8, watch_every: float = WATCH_SECONDS) -> None:
    import uvicorn

    from app.server.http import create_app

    store = server_store(url)
    stop = threading.Event()
    watcher = threading.Thread(target=watch_clocks, args=(store, stop, watch_every), name="clock watch",
                               daemon=True)
    watcher.start()
    try:
        uvicorn.run(create_app(store, token_hours=token_hours), host=host, port=port, log_level="warning",
                    ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, access_log=False)
    finally:
        stop.set()
        store.close()
