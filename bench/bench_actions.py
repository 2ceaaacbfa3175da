"""Recording a workflow action (issue 6, performance): event + audit record + projection, on the encrypted store.

Each action runs as the GUI runs it: a session, one transaction, the service call (authority, state machine, event,
hash-chained audit record, projection on the case row and case_workflow), commit. The baseline, in the same run
on the same file, is the least a raw SQLCipher connection (sqlcipher3, no SQLAlchemy) must do for the same record:
INSERT the event, UPDATE the case row, compute the SHA-256 link, INSERT the audit record, UPDATE the chain head,
COMMIT. Target (issue 6): under 10 ms per action.

    python bench/bench_actions.py [--cases 20000] [--rounds 200]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["UMWS_HOME"] = tempfile.mkdtemp(prefix="umws-bench-actions-")
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"

import keyring  # noqa: E402
import sqlcipher3  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

keyring.set_keyring(MemoryKeyring())

from sqlalchemy import select  # noqa: E402

from app.domain.audit import GENESIS, canonical_json, instant_text, record_hash  # noqa: E402
from app.services import audit, demo  # noqa: E402
from app.services import cases as svc  # noqa: E402
from app.store.engine import open_local_store  # noqa: E402
from app.store.models import Member, Provider  # noqa: E402


def new_cases(store, count: int) -> list[str]:
    """`count` fresh routine outpatient cases received an hour ago, made through receive_case."""
    tars = []
    with store.session() as session, session.begin():
        members = session.scalars(select(Member).limit(count)).all()
        provider = session.scalars(select(Provider).limit(1)).one()
        received = datetime.now(timezone.utc) - timedelta(hours=1)
        for n in range(count):
            tar = f"7{uuid.uuid4().int % 10**10:010d}"
            svc.receive_case(session, svc.NewCase(
                tar=tar, line_of_business="medi-cal", service_category="outpatient", review_timing="pre-service",
                urgency="routine", received_at=received, member=members[n % len(members)],
                requesting_provider_id=provider.id, lines=[svc.NewLine("97110", "Therapeutic exercise", 6)],
                diagnoses=[("M54.50", "Low back pain")]), actor=None)
            tars.append(tar)
    return tars


def timed_ms(function) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def ours(store, tars: list[str]) -> dict[str, list[float]]:
    steps = [
        ("claim", lambda s, t: svc.claim_case(s, t, "nurse.nguyen")),
        ("pend", lambda s, t: svc.pend_case(s, t, "nurse.nguyen", missing="operative report")),
        ("information received", lambda s, t: svc.record_information_received(s, t, "coord.jones")),
        ("refer to physician", lambda s, t: svc.refer_case(s, t, "nurse.nguyen", to="physician", summary="s")),
        ("decide (deny, per line)", lambda s, t: svc.decide_case(
            s, t, "dr.shah", outcome="deny", rationale="r", member_reason="m")),
        ("record provider notice", lambda s, t: svc.record_notification(s, t, "coord.jones", recipient="provider")),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _ in steps}
    for tar in tars:
        for name, step in steps:
            def run():
                with store.session() as session, session.begin():
                    step(session, tar)
            samples[name].append(timed_ms(run))
    return samples


def baseline(store, key: str, tars: list[str]) -> list[float]:
    """The same writes by hand on a raw sqlcipher3 connection (a chain of its own device, kept valid)."""
    connection = sqlcipher3.connect(store.location, isolation_level=None)
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    device = uuid.uuid4().hex
    now = datetime.now(timezone.utc)
    connection.execute("INSERT INTO audit_chain_heads (device_id, last_seq, last_hash, updated_at) VALUES "
                       "(?, 0, ?, ?)", (device, GENESIS, instant_text(now)))
    rows = {tar: connection.execute("SELECT id, version FROM cases WHERE tar = ?", (tar,)).fetchone()
            for tar in tars}
    user = connection.execute("SELECT id FROM users WHERE username = 'nurse.nguyen'").fetchone()[0]
    samples = []
    seq, last = 0, GENESIS
    for tar in tars:
        case_id, version = rows[tar]
        at = datetime.now(timezone.utc)
        at_text = instant_text(at)
        payload = json.dumps({"assignee": "nurse.nguyen", "status": "in-review"})
        body = canonical_json({"event": {"kind": "claimed", "payload": {"assignee": "nurse.nguyen"}},
                               "before": {"status": "received", "assignee": None},
                               "after": {"status": "in-review", "assignee": "nurse.nguyen"}})
        start = time.perf_counter()
        connection.execute("BEGIN")
        connection.execute("INSERT INTO case_events (id, case_id, occurred_at, actor_id, kind, payload) "
                           "VALUES (?, ?, ?, ?, 'claimed', ?)", (uuid.uuid4().hex, case_id, at_text, user, payload))
        connection.execute("UPDATE cases SET status = 'in-review', assignee_id = ?, version = version + 1, "
                           "updated_at = ? WHERE id = ?", (user, at_text, case_id))
        seq += 1
        digest = record_hash(device, seq, at_text, "nurse.nguyen", "user", "change", "claimed", case_id, tar,
                             body, last)
        connection.execute(
            "INSERT INTO audit_records (id, device_id, seq, recorded_at, actor, actor_kind, action, what, case_id, "
            "tar, body, prev_hash, hash) VALUES (?, ?, ?, ?, 'nurse.nguyen', 'user', 'change', 'claimed', ?, ?, ?, "
            "?, ?)", (uuid.uuid4().hex, device, seq, at_text, case_id, tar, body, last, digest))
        connection.execute("UPDATE audit_chain_heads SET last_seq = ?, last_hash = ?, updated_at = ? "
                           "WHERE device_id = ?", (seq, digest, at_text, device))
        connection.execute("COMMIT")
        samples.append((time.perf_counter() - start) * 1000)
        last = digest
    connection.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000, help="demo cases in the store first")
    parser.add_argument("--rounds", type=int, default=200, help="cases taken through the six actions")
    args = parser.parse_args()
    store = open_local_store()
    started = time.perf_counter()
    demo.generate(store, args.cases, seed=1)
    print(f"store: {args.cases:,} demo cases in {time.perf_counter() - started:.1f} s; "
          f"{args.rounds} fresh cases per measure")
    key = next(iter(keyring.get_keyring().secrets.values()))
    ours_samples = ours(store, new_cases(store, args.rounds))
    base = baseline(store, key, new_cases(store, args.rounds))
    base_median = statistics.median(base)
    print(f"\n{'action (one transaction, committed)':<36}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}{'x raw':>8}")
    for name, samples in ours_samples.items():
        samples.sort()
        median = statistics.median(samples)
        p95 = samples[int(len(samples) * 0.95) - 1]
        print(f"{name:<36}{median:>10.2f}{p95:>9.2f}{samples[-1]:>9.2f}{median / base_median:>8.1f}")
    base.sort()
    print(f"{'raw sqlcipher3 baseline (claim)':<36}{base_median:>10.2f}{base[int(len(base) * 0.95) - 1]:>9.2f}"
          f"{base[-1]:>9.2f}{1:>8.1f}")
    report = audit.verify(store)
    print(f"\naudit verify after the run: {'intact' if report.ok else report.first_problem.message} "
          f"({report.records:,} records, {len(report.chains)} chains)")
    store.close()


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(os.environ["UMWS_HOME"], ignore_errors=True)  # the bench store (and its size) goes too
