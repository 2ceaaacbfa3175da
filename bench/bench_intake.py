"""Intake (issue 11, performance): a 5,000-row CSV validated and imported under 10 s; one PAS bundle under 50 ms.

Both on the local encrypted store (SQLCipher) with the demo users, each against a baseline in the same run:

* CSV: `umws intake import` as it runs (read and check the whole file, then in one transaction per request: member,
  providers, duplicate check, `receive_case` with its event and audit record, intake record, assessment event,
  pended event when items are missing). Baseline: a raw sqlcipher3 connection inserting the same number of case
  rows, request lines, diagnoses and one event each in one transaction (the floor of any importer).
* Bundle: read one PAS bundle (JSON, FHIR R4B models, references, mapping) and save it as a case, committed.
  Baselines: `json.loads` of the same bytes, and the FHIR model validation alone (what any FHIR-library reader pays).

    python bench/bench_intake.py [--rows 5000] [--bundles 50] [--enrolled]

`--enrolled`: the store is a laptop signed in to a sync server (issue 9), so every case the import makes also
writes its `intake` change to the outbox in the same transaction.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["UMWS_HOME"] = tempfile.mkdtemp(prefix="umws-bench-intake-")
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"

import keyring  # noqa: E402
import sqlcipher3  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

keyring.set_keyring(MemoryKeyring())

from app.domain.intake.csvfile import HEADER  # noqa: E402
from app.domain.intake.pas import read_bundle  # noqa: E402
from app.services import demo, intake  # noqa: E402
from app.store import keys  # noqa: E402
from app.store.engine import default_store_path, open_local_store  # noqa: E402
from tests.intake.bundles import therapy_bundle  # noqa: E402


def batch_csv(rows: int, received: datetime) -> bytes:
    """`rows` requests of one line each, every other one missing a birth date (so half are pended)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for n in range(rows):
        row = {
            "request_id": f"DG-{n:06d}", "received_at": received.isoformat(timespec="seconds"),
            "line_of_business": "medi-cal", "service_category": "outpatient", "review_timing": "pre-service",
            "urgency": "urgent" if n % 10 == 0 else "routine", "member_cin": f"8{n:07d}B",
            "member_first_name": "Test", "member_last_name": f"Member{n:05d}",
            "member_birth_date": "" if n % 2 else "1975-03-04", "member_sex": "F", "requesting_npi": "1234567893",
            "requesting_name": "Delegated Medical Group", "place_of_service": "11", "diagnosis_codes": "M54.50",
            "clinical_note": "Pain for 8 weeks", "procedure_code": ("97110", "E0130", "70551", "99213")[n % 4],
            "units": "6", "from_date": "2026-12-01", "to_date": "2026-12-31",
        }
        writer.writerow([row.get(name, "") for name in HEADER])
    return buffer.getvalue().encode("utf-8")


def raw_baseline(path: Path, hex_key: str, rows: int, member_ids: list[bytes], provider_id: bytes) -> float:
    """The same number of cases, lines, diagnoses and events, inserted by a raw connection in one transaction."""
    connection = sqlcipher3.connect(str(path))
    connection.execute(f"PRAGMA key = \"x'{hex_key}'\"")
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    start = time.perf_counter()
    connection.execute("BEGIN")
    for n in range(rows):
        case_id = uuid.uuid4().hex
        connection.execute(
            "INSERT INTO cases (id, tar, line_of_business, service_category, review_timing, urgency, received_at, "
            "status, team, member_id, requesting_provider_id, member_name, service_summary, extensions_taken, "
            "updated_at, version) VALUES (?, ?, 'medi-cal', 'outpatient', 'pre-service', 'routine', ?, 'received', "
            "'outpatient', ?, ?, 'Member, Test', '97110 Therapeutic exercise', 0, ?, 1)",
            (case_id, f"6{n:010d}", now, member_ids[n % len(member_ids)].hex(), provider_id.hex(), now))
        connection.execute("INSERT INTO request_lines (id, case_id, line_number, code, description, units) "
                           "VALUES (?, ?, 1, '97110', 'Therapeutic exercise', 6)", (uuid.uuid4().hex, case_id))
        connection.execute("INSERT INTO diagnoses (id, case_id, rank, code, description) VALUES (?, ?, 1, 'M54.50', "
                           "'Low back pain')", (uuid.uuid4().hex, case_id))
        connection.execute("INSERT INTO case_events (id, case_id, occurred_at, kind, payload) VALUES (?, ?, ?, "
                           "'received', ?)", (uuid.uuid4().hex, case_id, now, json.dumps({"channel": "csv"})))
    connection.rollback()  # the baseline leaves the store as it was
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--bundles", type=int, default=50)
    parser.add_argument("--enrolled", action="store_true", help="a laptop enrolled in sync: outbox rows too")
    args = parser.parse_args(argv)
    store = open_local_store()
    demo.generate(store, 0, seed=1)
    if args.enrolled:
        from app.services.intents import enroll

        with store.session() as session, session.begin():
            enroll(session, "https://umws.bench.invalid")
    received = datetime.now(timezone.utc) - timedelta(hours=2)
    work = Path(os.environ["UMWS_HOME"])

    # ----- CSV -----
    path = work / "batch.csv"
    path.write_bytes(batch_csv(args.rows, received))
    start, cpu_start = time.perf_counter(), time.process_time()
    drafts = intake.read_requests(path)
    read_seconds = time.perf_counter() - start
    with store.session() as session, session.begin():
        report = intake.import_requests(session, drafts, "coord.jones", file=path.name)
    csv_seconds = time.perf_counter() - start
    csv_cpu = time.process_time() - cpu_start
    assert len(report.created) == args.rows, report.to_json()
    from sqlalchemy import select

    from app.store.models import Member, Provider

    with store.session() as session:
        member_ids = [m.bytes for m in session.scalars(select(Member.id).limit(200))]
        provider_id = session.scalars(select(Provider.id).limit(1)).one().bytes
    hex_key = keys.load_key(default_store_path())
    raw_seconds = raw_baseline(default_store_path(), hex_key, args.rows, member_ids, provider_id)
    again_start = time.perf_counter()
    again = intake.import_file(store, path, "coord.jones")
    again_seconds = time.perf_counter() - again_start
    assert again.created == [] and len(again.duplicates) == args.rows

    # ----- one bundle -----
    read_bundle(json.dumps(therapy_bundle()), "warm.json", received)  # import the FHIR models once
    ours, parse, model = [], [], []
    from fhir.resources.R4B.bundle import Bundle

    for n in range(args.bundles):
        raw = json.dumps(therapy_bundle(cin=f"7{n:07d}C")).encode()
        t0 = time.perf_counter()
        data = json.loads(raw)
        t1 = time.perf_counter()
        Bundle.model_validate(data)
        t2 = time.perf_counter()
        draft = read_bundle(raw, f"b{n}.json", received)
        with store.session() as session, session.begin():
            intake.save_request(session, draft, "coord.jones", resolution="new")
        t3 = time.perf_counter()
        parse.append((t1 - t0) * 1000)
        model.append((t2 - t1) * 1000)
        ours.append((t3 - t2) * 1000)

    if args.enrolled:
        from sqlalchemy import func

        from app.store.models import SyncOutbox

        with store.session() as session:
            queued = session.scalar(select(func.count()).select_from(SyncOutbox))
        assert queued == args.rows + args.bundles, queued
        print(f"Enrolled in sync: {queued:,} changes queued in the outbox (one per case)")
    print(f"CSV, {args.rows:,} rows ({len(report.problems):,} pended), one transaction:")
    print(f"  read and check the file        {read_seconds:7.2f} s")
    print(f"  umws intake import (whole)     {csv_seconds:7.2f} s   target < 10 s  (CPU {csv_cpu:.2f} s; load "
          f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  raw sqlcipher3 insert baseline {raw_seconds:7.2f} s   ratio {csv_seconds / raw_seconds:5.1f}x")
    print(f"  import again (all duplicates)  {again_seconds:7.2f} s")
    print(f"One PAS bundle (read, map, save, commit), {args.bundles} bundles:")
    for name, values in (("ours: read + save + commit", ours), ("json.loads baseline", parse),
                         ("FHIR R4B model validation only", model)):
        print(f"  {name:<32} median {statistics.median(values):6.2f} ms  p95 "
              f"{sorted(values)[int(len(values) * 0.95) - 1]:6.2f} ms")
    print(f"  ratio ours / json.loads {statistics.median(ours) / statistics.median(parse):6.1f}x, "
          f"ours / model validation {statistics.median(ours) / statistics.median(model):5.1f}x; target < 50 ms")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
