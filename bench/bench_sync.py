"""Sync performance (issue 9): incremental sync with nothing to do, 10,000 queued changes pushed, the first pull of
20,000 cases, each against a real PostgreSQL behind a real `umws serve` on 127.0.0.1, and compared in the same run
with plain psycopg doing the same database work (the baseline: no HTTP, no service layer, no rules).

Targets: nothing to do < 200 ms; 10,000 changes pushed < 30 s; first pull of 20,000 cases < 60 s.

`--intake N` also measures a CSV batch of N requests imported on a coordinator's laptop offline and then pushed
(one `intake` change per case, each saved again by the central store with intake's rules), against plain psycopg
inserting the same number of case rows, lines, diagnoses and events.

    python bench/bench_sync.py [--cases 20000] [--mutations 10000] [--intake 0] [--json]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["UMWS_HOME"] = tempfile.mkdtemp(prefix="umws-bench-sync-")
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"
os.environ.setdefault("UMWS_PG_BIN", "/usr/lib/postgresql/15/bin")

import keyring  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

keyring.set_keyring(MemoryKeyring())

import psycopg  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.services import cases as svc, demo  # noqa: E402
from app.store.engine import open_database_url, open_local_store  # noqa: E402
from app.store.models import Case, SyncOutbox, User  # noqa: E402
from app.sync import client  # noqa: E402
from tests import pg_harness  # noqa: E402
from tests.sync.conftest import ServerProcess  # noqa: E402


def raw(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def baseline_pull(url: str, scratch: str) -> float:
    """Read every open case with its rows from the central store and insert them into another database."""
    tables = ("users", "members", "providers", "cases", "request_lines", "diagnoses", "clinical_notes", "case_events")
    with raw(url) as source, raw(scratch) as target:
        # rows are copied in whatever order they come (a user before their supervisor): foreign keys unchecked
        target.execute("SET session_replication_role = replica")
        start = time.perf_counter()
        for table in tables:
            where = {"cases": "WHERE status <> 'closed'",
                     "request_lines": "WHERE case_id IN (SELECT id FROM cases WHERE status <> 'closed')",
                     "diagnoses": "WHERE case_id IN (SELECT id FROM cases WHERE status <> 'closed')",
                     "clinical_notes": "WHERE case_id IN (SELECT id FROM cases WHERE status <> 'closed')",
                     "case_events": "WHERE case_id IN (SELECT id FROM cases WHERE status <> 'closed')"}.get(table, "")
            rows = source.execute(f"SELECT * FROM {table} {where}").fetchall()
            if not rows:
                continue
            marks = ", ".join(["%s"] * len(rows[0]))
            with target.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} VALUES ({marks})",
                                   [tuple(json.dumps(v) if isinstance(v, dict) else v for v in row) for row in rows])
        target.commit()
        return time.perf_counter() - start


def baseline_push(url: str, rows: list[tuple]) -> float:
    """The same changes written straight: an event row, the case's version bumped, the applied-change row."""
    with raw(url) as connection:
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for batch in range(0, len(rows), 500):
                chunk = rows[batch:batch + 500]
                cursor.executemany("INSERT INTO case_events (id, case_id, occurred_at, actor_id, kind, payload) "
                                   "VALUES (%s, %s, now(), NULL, 'assigned', '{}')",
                                   [(uuid.uuid4(), case_id) for case_id, _ in chunk])
                cursor.executemany("UPDATE cases SET version = version + 1 WHERE id = %s",
                                   [(case_id,) for case_id, _ in chunk])
                cursor.executemany(
                    "INSERT INTO sync_mutations (device_id, seq, mutation_id, case_id, intent, actor, outcome, "
                    "answer, device_time, applied_time, received_at) VALUES (%s, %s, %s, %s, 'assign', 'b', "
                    "'applied', '{}', now(), now(), now())",
                    [(device, seq, uuid.uuid4(), case_id) for (case_id, (device, seq)) in chunk])
                connection.commit()
        return time.perf_counter() - start


def baseline_intake(url: str, count: int) -> float:
    """`count` cases, each with a line, a diagnosis and two events, written straight into the central store (and
    rolled back): the floor of any central intake."""
    with raw(url) as connection:
        member, provider = connection.execute("SELECT (SELECT id FROM members LIMIT 1), "
                                              "(SELECT id FROM providers LIMIT 1)").fetchone()
        start = time.perf_counter()
        with connection.cursor() as cursor:
            ids = [uuid.uuid4() for _ in range(count)]
            cursor.executemany(
                "INSERT INTO cases (id, tar, line_of_business, service_category, review_timing, urgency, received_at, "
                "status, team, member_id, requesting_provider_id, member_name, service_summary, extensions_taken, "
                "updated_at, version) VALUES (%s, %s, 'medi-cal', 'outpatient', 'pre-service', 'routine', now(), "
                "'received', 'outpatient', %s, %s, 'Member, Test', '97110', 0, now(), 2)",
                [(case_id, f"5{n:010d}", member, provider) for n, case_id in enumerate(ids)])
            cursor.executemany("INSERT INTO request_lines (id, case_id, line_number, code, description, units) "
                               "VALUES (%s, %s, 1, '97110', 'Therapeutic exercise', 6)",
                               [(uuid.uuid4(), case_id) for case_id in ids])
            cursor.executemany("INSERT INTO diagnoses (id, case_id, rank, code, description) VALUES (%s, %s, 1, "
                               "'M54.50', 'Low back pain')", [(uuid.uuid4(), case_id) for case_id in ids])
            cursor.executemany("INSERT INTO case_events (id, case_id, occurred_at, kind, payload) VALUES "
                               "(%s, %s, now(), %s, '{}')",
                               [(uuid.uuid4(), case_id, kind) for case_id in ids
                                for kind in ("received", "intake-assessed")])
        elapsed = time.perf_counter() - start
        connection.rollback()
        return elapsed


def intake_push(server, url: str, count: int) -> dict:
    """A coordinator's laptop imports a CSV batch of `count` requests offline, then syncs."""
    from bench.bench_intake import batch_csv
    from app.services import intake

    home = Path(tempfile.mkdtemp(prefix="umws-bench-intake-laptop-"))
    laptop = open_local_store(home / "store.db")
    client.login(laptop, server.url, "coord.jones", "demo-um-coordinator")
    client.sync(laptop)
    path = home / "batch.csv"
    path.write_bytes(batch_csv(count, datetime.now(timezone.utc) - timedelta(hours=2)))
    import_seconds, report = timed(lambda: intake.import_file(laptop, path, "coord.jones"))
    push_seconds, pushed = timed(lambda: client.sync(laptop))
    laptop.close()
    baseline = baseline_intake(url, count)
    return {"intake_rows": count, "intake_created": len(report.created), "intake_import_local_s": round(import_seconds, 2),
            "intake_push_s": round(push_seconds, 2), "intake_applied": pushed.applied + pushed.merged,
            "intake_conflicts": pushed.conflicts, "intake_baseline_s": round(baseline, 2),
            "intake_ratio": round(push_seconds / baseline, 1)}


def time_phases() -> dict[str, float]:
    """Seconds spent from here on in the sync's push and pull phases (app.sync.client._push, _pull)."""
    spent = {"_push": 0.0, "_pull": 0.0}
    for name in spent:
        phase = getattr(client, name)

        def timed_phase(*args, _phase=phase, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _phase(*args, **kwargs)
            finally:
                spent[_name] += time.perf_counter() - start

        setattr(client, name, timed_phase)
    return spent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20000, help="open cases the supervisor's first pull brings")
    parser.add_argument("--mutations", type=int, default=10000)
    parser.add_argument("--intake", type=int, default=0, help="requests of a CSV batch imported offline, pushed")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the laptop's side of the push's sync into FILE")
    parser.add_argument("--batch", type=int, default=client.PUSH_BATCH, help="changes per push request")
    args = parser.parse_args()
    client.PUSH_BATCH = args.batch
    pg = pg_harness.PostgresServer().start()
    server = None
    try:
        url = pg.create_database("bench_sync")
        scratch = pg.create_database("bench_sync_baseline")
        central = open_database_url(url)
        # demo data: about 80% of cases are open
        demo.generate(central, int(args.cases / 0.8) + 200, seed=9)
        with central.session() as session:
            open_cases = session.scalar(select(func.count()).select_from(Case).where(Case.status != "closed"))
        open_database_url(scratch).close()
        server = ServerProcess(url, Path(tempfile.mkdtemp(prefix="umws-bench-server-")), page_cases=500,
                               page_changes=2000).start()
        home = Path(tempfile.mkdtemp(prefix="umws-bench-laptop-"))
        laptop = open_local_store(home / "store.db")
        client.login(laptop, server.url, "lead.patel", "demo-nurse-supervisor")
        pull_seconds, report = timed(lambda: client.sync(laptop))
        pull_baseline = baseline_pull(url, scratch)
        idle = []
        for _ in range(15):
            idle.append(timed(lambda: client.sync(laptop))[0])
        with raw(url) as connection:
            start = time.perf_counter()
            for _ in range(15):
                connection.execute("SELECT max(change_no) FROM sync_changes").fetchone()
                connection.execute("SELECT count(*) FROM sync_changes WHERE change_no > %s", (report.cursor,)).fetchone()
            idle_baseline = (time.perf_counter() - start) / 15
        # queue the changes on the laptop: a supervisor reassigns open cases (each one an intent in the outbox)
        with laptop.session() as session:
            tars = session.scalars(select(Case.tar).where(Case.status != "closed").order_by(Case.tar)
                                   .limit(args.mutations)).all()
        queued_at = time.perf_counter()
        for start in range(0, len(tars), 500):
            with laptop.session() as session, session.begin():
                for tar in tars[start:start + 500]:
                    svc.assign_case(session, tar, "lead.patel", "nurse.nguyen", "bench")
        queue_seconds = time.perf_counter() - queued_at
        with laptop.session() as session:
            queued = session.scalar(select(func.count()).select_from(SyncOutbox).where(SyncOutbox.state == "pending"))
            ids = session.execute(select(Case.id).where(Case.tar.in_(tars))).scalars().all()
        phases = time_phases()
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        push_seconds, pushed = timed(lambda: client.sync(laptop))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
        device = uuid.uuid4()
        push_baseline = baseline_push(url, [(case_id, (device, n + 1)) for n, case_id in enumerate(ids)])
        result = {
            "open_cases_pulled": report.pulled_cases, "open_cases_central": open_cases,
            "first_pull_s": round(pull_seconds, 2), "first_pull_baseline_s": round(pull_baseline, 2),
            "first_pull_ratio": round(pull_seconds / pull_baseline, 1),
            "idle_sync_ms": round(statistics.median(idle) * 1000, 1),
            "idle_sync_p95_ms": round(sorted(idle)[int(len(idle) * 0.95) - 1] * 1000, 1),
            "idle_baseline_ms": round(idle_baseline * 1000, 2),
            "idle_ratio": round(statistics.median(idle) / idle_baseline, 1),
            "queued": queued, "queue_local_s": round(queue_seconds, 1),
            "push_s": round(push_seconds, 2), "push_applied": pushed.applied + pushed.merged,
            "push_conflicts": pushed.conflicts, "push_baseline_s": round(push_baseline, 2),
            "push_ratio": round(push_seconds / push_baseline, 1),
            "push_phase_s": round(phases["_push"], 2), "push_pull_back_s": round(phases["_pull"], 2),
            "push_pulled_back": pushed.pulled_cases, "push_batch": args.batch,
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        laptop.close()
        if args.intake:
            result.update(intake_push(server, url, args.intake))
        central.close()
    finally:
        if server is not None:
            server.stop()
        pg.stop()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"first pull: {result['open_cases_pulled']:,} cases in {result['first_pull_s']} s (target < 60 s); "
              f"plain psycopg copying the same rows: {result['first_pull_baseline_s']} s; ratio "
              f"{result['first_pull_ratio']}x")
        print(f"incremental sync, nothing to do: median {result['idle_sync_ms']} ms, p95 {result['idle_sync_p95_ms']} ms "
              f"(target < 200 ms); plain psycopg asking the same: {result['idle_baseline_ms']} ms; ratio "
              f"{result['idle_ratio']}x")
        print(f"push: {result['queued']:,} queued changes in batches of {args.batch} in {result['push_s']} s "
              f"(target < 30 s), "
              f"{result['push_applied']:,} applied, {result['push_conflicts']} conflicts; plain psycopg writing the "
              f"same rows: {result['push_baseline_s']} s; ratio {result['push_ratio']}x; of which pushing "
              f"{result['push_phase_s']} s and pulling the {result['push_pulled_back']:,} pushed cases back "
              f"{result['push_pull_back_s']} s")
        if args.intake:
            print(f"intake: a CSV batch of {result['intake_rows']:,} requests imported offline in "
                  f"{result['intake_import_local_s']} s, pushed in {result['intake_push_s']} s "
                  f"({result['intake_applied']:,} applied, {result['intake_conflicts']} conflicts); plain psycopg "
                  f"writing the same cases: {result['intake_baseline_s']} s; ratio {result['intake_ratio']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
