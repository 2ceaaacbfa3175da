"""Load (issue 9): 50 simulated laptops pushing and pulling at once for 2 minutes against a real `umws serve` on
127.0.0.1 over a real PostgreSQL; reports the p95 push latency and checks that no change was lost or applied twice.

Each simulated laptop is a device of its own, signed in as a nurse supervisor (who may work any case), speaking the
real protocol: it pulls its cases, then in a loop pushes a batch of 1-5 `record-fact` intents (on cases other
laptops change too, so merges and conflicts happen) and pulls what changed. Afterwards: every change sent has
exactly one answer on the server (sync_mutations), every answer the laptop kept matches it, and the central store
holds exactly one `fact-recorded` event per change applied. Bounded: N laptops x the duration, loopback only.

    python bench/bench_sync_load.py [--clients 50] [--seconds 120] [--cases 400] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["UMWS_HOME"] = tempfile.mkdtemp(prefix="umws-bench-load-")
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"
os.environ.setdefault("UMWS_PG_BIN", "/usr/lib/postgresql/15/bin")

from sqlalchemy import func, select  # noqa: E402

from app.services import demo  # noqa: E402
from app.services.intents import new_mutation_id  # noqa: E402
from app.store.engine import open_database_url  # noqa: E402
from app.store.models import Case, CaseEvent, SyncMutation  # noqa: E402
from app.sync.api import Api, Offline  # noqa: E402
from tests import pg_harness  # noqa: E402
from tests.sync.conftest import ServerProcess  # noqa: E402

FACTS = ("weight_kg", "height_cm")


class SimulatedLaptop(threading.Thread):
    def __init__(self, server_url: str, deadline: float, seed: int):
        super().__init__(daemon=True)
        self.device = str(uuid.uuid4())
        self.api = Api(server_url, self.device)
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.seq = 0
        self.sent: dict[str, dict] = {}  # mutation id -> the answer kept
        self.latencies: list[float] = []
        self.errors = 0
        self.cases: dict[str, int] = {}

    def sign_in(self) -> None:
        answer = self.api.login("lead.patel", "demo-nurse-supervisor", f"load laptop {self.device[:8]}")
        self.api.token = answer["token"]

    def run(self) -> None:
        cursor = None
        while cursor is None and time.monotonic() < self.deadline:
            try:
                cursor = self._pull(None)
            except Offline:
                self.errors += 1
        pending: list[dict] = []
        while time.monotonic() < self.deadline:
            if not pending:
                for _ in range(self.rng.randint(1, 5)):
                    tar = self.rng.choice(list(self.cases))
                    self.seq += 1
                    pending.append({
                        "mutation_id": str(new_mutation_id()), "seq": self.seq, "case_id": None, "tar": tar,
                        "base_version": self.cases[tar], "base_mutation_id": None, "after_version": None,
                        "intent": "record-fact", "actor": "lead.patel",
                        "payload": {"name": self.rng.choice(FACTS), "value": self.rng.randint(40, 190),
                                    "note": "load", "source": "reviewer"},
                        "created_at": datetime.now(timezone.utc).isoformat(), "mine": None})
            start = time.perf_counter()
            try:
                result = self.api.push(pending, [])
            except Offline:
                self.errors += 1
                continue  # the same batch again: the server answers what it already applied the same way
            self.latencies.append(time.perf_counter() - start)
            for item in result["results"]:
                self.sent[item["mutation_id"]] = item
            pending = []
            try:
                cursor = self._pull(cursor)
            except Offline:
                self.errors += 1
        self.api.close()

    def _pull(self, cursor):
        after = full = None
        while True:
            page = self.api.pull(cursor, after_id=after, full_cursor=full)
            for snap in page["cases"]:
                self.cases[snap["case"]["tar"]] = snap["case"]["version"]
            if page["mode"] == "full":
                after, full = page.get("after_id"), page.get("full_cursor")
            if not page["more"]:
                return page["cursor"]
            if page["mode"] == "changes":
                cursor = page["cursor"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pg = pg_harness.PostgresServer().start()
    server = None
    try:
        url = pg.create_database("bench_load")
        central = open_database_url(url)
        demo.generate(central, args.cases, seed=5)
        server = ServerProcess(url, Path(tempfile.mkdtemp(prefix="umws-load-server-")), page_cases=500,
                               page_changes=2000).start()
        laptops = [SimulatedLaptop(server.url, 0.0, seed) for seed in range(args.clients)]
        for laptop in laptops:  # each signs in first (argon2id on the server: not part of the load measured)
            laptop.sign_in()
        deadline = time.monotonic() + args.seconds
        for laptop in laptops:
            laptop.deadline = deadline
        started = time.monotonic()
        for laptop in laptops:
            laptop.start()
        for laptop in laptops:
            laptop.join(args.seconds + 120)
        elapsed = time.monotonic() - started
        sent = {mid: answer for laptop in laptops for mid, answer in laptop.sent.items()}
        devices = [uuid.UUID(laptop.device) for laptop in laptops]
        with central.session() as session:
            held = dict(session.execute(select(SyncMutation.mutation_id, SyncMutation.outcome)
                                        .where(SyncMutation.device_id.in_(devices))).all())
            facts = session.scalar(select(func.count()).select_from(CaseEvent)
                                   .where(CaseEvent.kind == "fact-recorded", CaseEvent.payload["note"].as_string()
                                          == "load"))
            open_cases = session.scalar(select(func.count()).select_from(Case).where(Case.status != "closed"))
        held = {str(k): v for k, v in held.items()}
        lost = [mid for mid in sent if mid not in held]
        unheard = len(set(held) - set(sent))  # applied, but the laptop's run ended before it heard the answer
        mismatched = [mid for mid, answer in sent.items() if held.get(mid) != answer["outcome"]]
        applied = sum(1 for outcome in held.values() if outcome in ("applied", "merged"))
        latencies = sorted(x for laptop in laptops for x in laptop.latencies)
        result = {
            "clients": args.clients, "seconds": round(elapsed, 1), "open_cases": open_cases,
            "pushes": len(latencies), "changes_sent": len(sent), "changes_on_server": len(held),
            "applied_or_merged": applied, "conflicts": sum(1 for o in held.values() if o == "conflict"),
            "fact_events": facts, "lost": len(lost), "answer_mismatches": len(mismatched),
            "applied_twice": facts - applied, "network_errors": sum(laptop.errors for laptop in laptops),
            "answered_but_unheard": unheard,
            "push_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "push_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1) if latencies else None,
            "pushes_per_s": round(len(latencies) / elapsed, 1),
        }
        central.close()
    finally:
        if server is not None:
            server.stop()
        pg.stop()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['clients']} laptops for {result['seconds']} s: {result['pushes']:,} pushes "
              f"({result['pushes_per_s']}/s), {result['changes_sent']:,} changes; push latency p50 "
              f"{result['push_p50_ms']} ms, p95 {result['push_p95_ms']} ms")
        print(f"lost {result['lost']}, applied twice {result['applied_twice']}, answers differing "
              f"{result['answer_mismatches']}; {result['applied_or_merged']:,} applied or merged, "
              f"{result['conflicts']:,} conflicts")
    return 0 if not result["lost"] and not result["applied_twice"] and not result["answer_mismatches"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
