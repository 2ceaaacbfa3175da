"""Where a push's time goes on the central store (issue 9): one batch of queued reassignments applied in-process,
with every SQL statement counted (a SQLAlchemy `before_cursor_execute` listener) and the call optionally profiled.

A laptop signs in to a real `umws serve`, pulls, and queues `--mutations` reassignments; the script then applies its
outbox (and audit records) the way `POST /v1/push` does -- chains.receive then push.push in one transaction of
the central store, in batches of the client's size -- but in this process, and rolls back (or with --commit,
commits and times the commit), so the run can be repeated. It prints the statements per change (by kind), the seconds, and with `--profile` the top functions.

    python bench/profile_push.py [--cases 2000] [--mutations 500] [--profile] [--commit]
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["UMWS_HOME"] = tempfile.mkdtemp(prefix="umws-profile-push-")
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"
os.environ.setdefault("UMWS_PG_BIN", "/usr/lib/postgresql/15/bin")

import keyring  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

keyring.set_keyring(MemoryKeyring())

from sqlalchemy import event, select  # noqa: E402

from app.server import accounts, chains, push  # noqa: E402
from app.services import audit, cases as svc, demo, intents  # noqa: E402
from app.store.engine import open_database_url, open_local_store  # noqa: E402
from app.store.models import Case  # noqa: E402
from app.sync import client, credentials  # noqa: E402
from tests import pg_harness  # noqa: E402
from tests.sync.conftest import ServerProcess  # noqa: E402

_KIND = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)"
                   r"\s*(\w+)?", re.IGNORECASE)


def statement_kind(statement: str) -> str:
    """'SELECT users', 'INSERT INTO case_events' ...: the verb and the first table named after FROM (or INTO ...)."""
    verb = _KIND.match(statement)
    if verb is None:
        return statement.split()[0].upper()
    word = verb.group(1).upper()
    if word == "SELECT":
        table = re.search(r"\bFROM\s+(\w+)", statement, re.IGNORECASE)
        return f"SELECT {table.group(1) if table else '?'}"
    if "SAVEPOINT" in word:
        return word
    return f"{word} {verb.group(2)}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--mutations", type=int, default=500)
    parser.add_argument("--batch", type=int, default=client.PUSH_BATCH)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions (cumulative)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--commit", action="store_true",
                        help="commit at the end (and time it: the change log's deferred triggers run then)")
    args = parser.parse_args()
    pg = pg_harness.PostgresServer().start()
    server = None
    try:
        url = pg.create_database("profile_push")
        central = open_database_url(url)
        demo.generate(central, int(args.cases / 0.8) + 200, seed=9)
        server = ServerProcess(url, Path(tempfile.mkdtemp(prefix="umws-profile-server-")), page_cases=500,
                               page_changes=2000).start()
        laptop = open_local_store(Path(tempfile.mkdtemp(prefix="umws-profile-laptop-")) / "store.db")
        client.login(laptop, server.url, "lead.patel", "demo-nurse-supervisor")
        client.sync(laptop)
        with laptop.session() as session:
            tars = session.scalars(select(Case.tar).where(Case.status != "closed").order_by(Case.tar)
                                   .limit(args.mutations)).all()
        with laptop.session() as session, session.begin():
            for tar in tars:
                svc.assign_case(session, tar, "lead.patel", "nurse.nguyen", "bench")
        with laptop.session() as session:
            device = audit.device_id(session)
            rows = intents.pending(session)
            batch = [client._mutation_json(row) for row in rows]
            audit_seq = int(client._get(session, "audit_seq") or 0)
            records = chains.local_records(session, device, audit_seq)
        token = credentials.load(server.url, "lead.patel")
        server.stop()
        server = None

        counts: collections.Counter[str] = collections.Counter()

        def count(conn, cursor, statement, parameters, context, executemany):
            counts[statement_kind(statement)] += 1

        event.listen(central.engine, "before_cursor_execute", count)
        profiler = cProfile.Profile() if args.profile else None
        start = time.perf_counter()
        applied = 0
        with central.session() as session:
            transaction = session.begin()
            caller = accounts.authenticate(session, token, str(device))
            if profiler:
                profiler.enable()
            for first in range(0, len(batch), args.batch):
                mutations = batch[first:first + args.batch]
                # the first request carries every audit record after the last one the server holds
                chains.receive(session, caller.device, records if first == 0 else [])
                answer = push.push(session, caller, mutations)
                session.flush()
                applied += sum(1 for r in answer["results"] if r["outcome"] in ("applied", "merged"))
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - start
            committed = time.perf_counter()
            transaction.commit() if args.commit else transaction.rollback()
            committed = time.perf_counter() - committed
        event.remove(central.engine, "before_cursor_execute", count)
        total = sum(counts.values())
        print(f"{len(batch)} changes ({applied} applied) and {len(records)} audit records in {elapsed:.2f} s "
              f"({elapsed / len(batch) * 1000:.1f} ms/change); {total} statements "
              f"({total / len(batch):.1f} per change)")
        if args.commit:
            print(f"commit: {committed:.2f} s ({committed / len(batch) * 1000:.1f} ms/change)")
        for kind, number in counts.most_common():
            print(f"  {number / len(batch):6.2f}/change  {number:6d}  {kind}")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        laptop.close()
        central.close()
    finally:
        if server is not None:
            server.stop()
        pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
