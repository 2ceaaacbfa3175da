"""Appeals at scale (issue 13): the appeal queues over a large store, and the appeal actions through the services.

Measures, in one run on one encrypted store:
- "Appeals due" and "Appeals to review" (count + a 200-row page, sorted by the clock, by member, filtered, the last
  page) through WorklistQuery, against the same SQL through the raw DB-API driver (sqlcipher3): the ratio is our
  overhead;
- filing an appeal and deciding it (overturn: reopen, new determination, approval and NAR letters drafted) through
  app.services.appeals, against recording a determination through app.services.cases.decide_case on a like case:
  the ratio is what an appeal costs beyond the determination it may make.

    python bench/bench_appeals.py [--cases 100000] [--appeals 5000]

The cases come from `demo.generate` in a child process; the appeals are inserted in bulk, with their dues from the
clock engine, as demo data (synthetic only). Both processes share a throwaway key through an in-memory keyring.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("UMWS_HOME", tempfile.mkdtemp(prefix="umws-bench-"))
os.environ.setdefault("UMWS_BENCH_KEY", os.urandom(32).hex())
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"

import keyring  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

keyring.set_keyring(MemoryKeyring())

from sqlalchemy import insert, select  # noqa: E402

from app.domain.appeals import OPEN_STATUSES  # noqa: E402
from app.domain.clocks import AppealRequest, compute_appeal_clocks  # noqa: E402
from app.services import appeals, demo  # noqa: E402
from app.services import cases as svc  # noqa: E402
from app.store import keys  # noqa: E402
from app.store.engine import default_store_path, open_local_store  # noqa: E402
from app.store.models import Appeal, Case, User  # noqa: E402

keyring.get_keyring().set_password(keys.SERVICE, keys._account(default_store_path()), os.environ["UMWS_BENCH_KEY"])
from app.store.worklist import WorklistQuery, viewer_for  # noqa: E402
from bench.bench_worklist import PAGE, raw_runner, sql_figures, timed  # noqa: E402


def bulk_appeals(store, count: int) -> None:
    """`count` open appeals on as many demo cases, received over the last 40 days, a tenth expedited."""
    rng = random.Random(3)
    now = datetime.now(timezone.utc)
    with store.session() as session, session.begin():
        case_rows = session.execute(select(Case.id, Case.line_of_business).limit(count)).all()
        physicians = session.scalars(select(User.id).where(User.role == "medical-director")).all()
        rows = []
        for case_id, lob in case_rows:
            received = now - timedelta(minutes=rng.randint(0, 40 * 24 * 60))
            expedited = rng.random() < 0.1
            clocks = compute_appeal_clocks(AppealRequest(lob, expedited, received), now=now)
            rows.append({
                "id": uuid.uuid4(), "case_id": case_id, "determination_event_id": None, "appealed_outcome": "denied",
                "status": rng.choice(OPEN_STATUSES[1:]), "filed_by": rng.choice(("member", "provider")),
                "channel": "phone", "received_at": received, "expedited": expedited, "timely": True, "days_late": 0,
                "aid_paid_pending": False, "continuation_requested": False, "specialty": "Orthopaedic Surgery",
                "reviewer_id": rng.choice(physicians), "rule_set": clocks.rule_set,
                "resolution_due_at": clocks.resolution_due, "acknowledgement_due_at": clocks.acknowledgement_due,
                "extension_days": 0, "new_information": "bench", "created_at": now, "updated_at": now})
        session.execute(insert(Appeal), rows)


def denial(store, tar: str) -> None:
    with store.session() as session, session.begin():
        case = session.scalar(select(Case).where(Case.tar == tar))
        case.requesting_provider.specialty = "Orthopaedic Surgery"
        svc.claim_case(session, tar, "dr.morales")
        svc.decide_case(session, tar, "dr.morales", outcome="deny", basis="benefit", rationale="Not a benefit",
                        member_reason="Medi-Cal does not cover this care.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--appeals", type=int, default=5_000)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        store = open_local_store()
        demo.generate(store, args.cases, seed=1)
        bulk_appeals(store, args.appeals)
        store.close()
        return
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--cases", str(args.cases), "--appeals", str(args.appeals),
                    "--generate-only"], check=True)
    print(f"demo data: {args.cases:,} cases, {args.appeals:,} appeals in {time.perf_counter() - started:.1f} s")
    store = open_local_store()
    raw = raw_runner(store, os.environ["UMWS_BENCH_KEY"])
    with store.session() as session:
        coordinator = viewer_for(session, "coord.jones")
        reviewer = viewer_for(session, "dr.ito")
    print(f"\n{'SQL (count + 200-row page)':<46}{'ours ms':>9}{'raw ms':>9}{'ratio':>7}")
    rows = [("appeals-due, by clock", WorklistQuery("appeals-due", coordinator), 0),
            ("appeals-due, by member", WorklistQuery("appeals-due", coordinator, sort_column="member"), 0),
            ("appeals-due, by reviewer", WorklistQuery("appeals-due", coordinator, sort_column="assignee"), 0),
            ("appeals-due, filter 'gar'", WorklistQuery("appeals-due", coordinator, filter_text="gar"), 0),
            ("appeals-due, last page", WorklistQuery("appeals-due", coordinator), -PAGE),
            ("appeals-to-review (one physician)", WorklistQuery("appeals-to-review", reviewer), 0)]
    for label, query, offset in rows:
        ours, base = sql_figures(store, raw, query, offset)
        print(f"{label:<46}{ours:>9.1f}{base:>9.1f}{ours / base:>7.2f}")

    with store.session() as session:
        free = session.scalars(select(Case.tar).where(Case.status == "received", ~Case.id.in_(select(Appeal.case_id)),
                                                      Case.review_timing == "pre-service")
                               .order_by(Case.tar).limit(30)).all()
    for tar in free:
        denial(store, tar)
    decided, appealed = free[:10], free[10:20]
    spare = iter(free[20:])

    def decide_only():
        tar = next(spare)
        with store.session() as session, session.begin():
            svc.reopen_case(session, tar, "dr.ito", reason="appeal", note="bench")
            svc.decide_case(session, tar, "dr.ito", outcome="approve", rationale="bench")

    def file_one(tar):
        with store.session() as session, session.begin():
            appeals.file_appeal(session, tar, "coord.jones", filed_by="member",
                                received_at=datetime.now(timezone.utc), note="bench", reviewer="dr.ito")

    def decide_one(tar):
        with store.session() as session, session.begin():
            appeals.decide_appeal(session, tar, "dr.ito", result="overturned", reason="bench")

    file_ms = statistics.median(timed(lambda t=tar: file_one(t), repeat=1) for tar in decided + appealed)
    decide_ms = statistics.median(timed(lambda t=tar: decide_one(t), repeat=1) for tar in appealed)
    base_ms = timed(decide_only, repeat=len(free) - 20)
    print(f"\n{'Actions through the services':<46}{'ms':>9}{'vs ms':>9}{'ratio':>7}")
    print(f"{'file an appeal (routing, clocks, ack letter)':<46}{file_ms:>9.1f}{base_ms:>9.1f}{file_ms / base_ms:>7.2f}")
    print(f"{'decide: overturn (reopen, approval, NAR)':<46}{decide_ms:>9.1f}{base_ms:>9.1f}"
          f"{decide_ms / base_ms:>7.2f}")
    print("(vs: reopen + approve through app.services.cases on a like case, the determination alone)")
    store.close()


if __name__ == "__main__":
    main()
