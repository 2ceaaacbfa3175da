"""`umws audit verify` over 1,000,000 audit records on the encrypted store (issue 6, performance: under 10 s).

Setup (not timed): one device chain of N records made with app.domain.audit.next_record, with bodies shaped like
the workstation's (before/after, the event and its payload; ~15% of them date-setting kinds such as 'determined'),
bulk-inserted through a raw SQLCipher connection into a fresh store.

Timed, in the same run on the same file:
* raw read: a raw sqlcipher3 connection reads every row the walk needs, in chain order, and does nothing else;
* raw read + SHA-256: the same, plus hashing each row's joined fields (the least any verification must do);
* `audit.verify(store, case_dates=False)`: the chain walk of `umws audit verify`;
* `audit.verify(store)`: the walk plus the check of the dates on the case rows (parses the date-setting records).

    python bench/bench_audit_verify.py [--records 1000000]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["UMWS_HOME"] = tempfile.mkdtemp(prefix="umws-bench-audit-")
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"

import keyring  # noqa: E402
import sqlcipher3  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

keyring.set_keyring(MemoryKeyring())

from app.domain.audit import GENESIS, SEPARATOR, instant_text, next_record  # noqa: E402
from app.services import audit  # noqa: E402
from app.store.engine import open_local_store  # noqa: E402

COLUMNS = "id, device_id, seq, recorded_at, actor, actor_kind, action, what, case_id, tar, body, prev_hash, hash"
KINDS = ["claimed", "pended", "information-received", "referred", "assigned", "extended", "view-case",
         "criterion-answered", "determined", "notified", "view-case", "received", "claimed", "view-case",
         "criterion-answered", "fact-recorded", "claimed", "closed", "view-case", "referred"]
USERS = ["nurse.garcia", "nurse.nguyen", "nurse.okafor", "dr.shah", "dr.morales", "coord.jones", "tech.rivera"]


def body(kind: str, n: int, at: datetime) -> dict:
    iso = at.isoformat(timespec="microseconds")
    if kind == "view-case":
        return {"os_user": "ward", "details": {"via": "umws case show"}}
    after = {"status": "in-review", "assignee": USERS[n % len(USERS)]}
    if kind == "determined":
        after = {"status": "determined", "outcome": "approved", "decided_at": iso}
    elif kind == "notified":
        after = {"status": "notified", "provider_notified_at": iso}
    elif kind == "received":
        after = {"status": "received", "received_at": iso, "decision_due_at": iso}
    return {"event": {"id": str(uuid.UUID(int=n)), "kind": kind, "occurred_at": iso,
                      "payload": {"assignee": USERS[n % len(USERS)], "note": "records requested from the surgeon",
                                  "status": after["status"]}},
            "before": {"status": "received", "assignee": None}, "after": after, "version": n % 17 + 1,
            "os_user": "ward"}


def populate(store, key: str, count: int) -> None:
    connection = sqlcipher3.connect(store.location, isolation_level=None)
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    device = uuid.uuid4()
    start = datetime(2026, 1, 5, 16, 0, tzinfo=timezone.utc)
    seq, last = 0, GENESIS
    connection.execute("INSERT INTO store_settings (key, value) VALUES ('device_id', ?)", (str(device),))
    batch = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        at = start + timedelta(seconds=n * 17)
        view = kind == "view-case"
        record = next_record(device=device, last_seq=seq, last_hash=last, recorded_at=at,
                             actor=USERS[n % len(USERS)], actor_kind="user", action="view" if view else "change",
                             what="case" if view else kind, case_id=uuid.UUID(int=n % 100_000 + 1),
                             tar=f"9{n % 100_000:010d}", body=body(kind, n, at))
        batch.append((uuid.uuid4().hex, record.device, record.seq, record.recorded_at, record.actor,
                      record.actor_kind, record.action, record.what, record.case_id, record.tar, record.body,
                      record.prev_hash, record.hash))
        seq, last = record.seq, record.hash
        if len(batch) == 50_000 or n == count - 1:
            connection.execute("BEGIN")
            connection.executemany(f"INSERT INTO audit_records ({COLUMNS}) VALUES ({', '.join('?' * 13)})", batch)
            connection.execute("COMMIT")
            batch.clear()
    connection.execute("INSERT INTO audit_chain_heads (device_id, last_seq, last_hash, updated_at) "
                       "VALUES (?, ?, ?, ?)", (device.hex, seq, last, instant_text(start)))
    connection.close()


def raw_read(store, key: str, hash_rows: bool) -> tuple[float, int]:
    connection = sqlcipher3.connect(store.location)
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    connection.execute("PRAGMA cache_size=-65536")
    start = time.perf_counter()
    cursor = connection.execute(f"SELECT {COLUMNS} FROM audit_records ORDER BY device_id, seq, id")
    count = 0
    sha256 = hashlib.sha256
    while True:
        rows = cursor.fetchmany(20_000)
        if not rows:
            break
        count += len(rows)
        if hash_rows:
            for row in rows:
                sha256(SEPARATOR.join((row[1], str(row[2]), row[3], row[4], row[5], row[6], row[7], row[8] or "",
                                       row[9] or "", row[10], row[11])).encode()).hexdigest()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed, count


def best(function, repeat: int):
    results = [function() for _ in range(repeat)]
    return min(results, key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    store = open_local_store()
    key = next(iter(keyring.get_keyring().secrets.values()))
    started = time.perf_counter()
    populate(store, key, args.records)
    size = Path(store.location).stat().st_size / 2**20
    print(f"setup: {args.records:,} records in {time.perf_counter() - started:.1f} s; store file {size:,.0f} MiB")

    def ours(case_dates: bool):
        start = time.perf_counter()
        report = audit.verify(store, case_dates=case_dates)
        assert report.ok and report.records == args.records, report.first_problem
        return time.perf_counter() - start, report.records

    raw, _ = best(lambda: raw_read(store, key, False), args.repeat)
    raw_hash, _ = best(lambda: raw_read(store, key, True), args.repeat)
    walk, _ = best(lambda: ours(False), args.repeat)
    full, _ = best(lambda: ours(True), args.repeat)
    print(f"\n{'measure (best of ' + str(args.repeat) + ')':<52}{'seconds':>9}{'us/record':>11}{'x raw read':>12}")
    for label, seconds in (("raw sqlcipher3 read of every row (baseline)", raw),
                           ("raw read + SHA-256 of each row", raw_hash),
                           ("audit verify: chain walk", walk),
                           ("audit verify: chain walk + case dates check", full)):
        print(f"{label:<52}{seconds:>9.2f}{seconds / args.records * 1e6:>11.2f}{seconds / raw:>12.2f}")
    store.close()


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(os.environ["UMWS_HOME"], ignore_errors=True)  # the bench store (and its size) goes too
