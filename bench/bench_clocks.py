"""Benchmark: regulatory clocks for 100,000 synthetic open cases (issue 4, "Performance").

    /tmp/venv/bin/python bench/bench_clocks.py [--cases 100000] [--repeat 5] [--json]

Measures, in one run and on the same cases:
  baseline        a plain loop that only adds a timedelta to each receipt (the floor for any Python loop)
  due (cold)      decision_due_for for every case, caches emptied first
  due (warm)      decision_due_for again, day-level caches filled (what a worklist refresh costs)
  all clocks      compute_clocks for every case (decision, notification, member notice, breaches)
  countdowns      remaining time from already-stored dues (due - now), what a live tick recomputes
Each figure is the best of --repeat runs (the machine's noise only ever adds time). The ratio is to the baseline.
Synthetic open cases: received in the 21 days before 2026-11-20 12:00 PT (across Veterans Day and the
fall DST change), 70% medi-cal / 30% medicare, every timing, urgency and category, 10% with one extension.
"""
from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain import clocks as engine  # noqa: E402
from app.domain.clocks import (  # noqa: E402
    ClockRequest, compute_clocks, decision_due_for, extension_limit_for, open_dues_for,
)

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=LA).astimezone(timezone.utc)


def synthetic_cases(count: int, seed: int = 4) -> list[tuple[ClockRequest, int]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        received = NOW - timedelta(seconds=rng.randrange(0, 21 * 86400))
        request = ClockRequest(
            lob=rng.choices(["medi-cal", "medicare"], [7, 3])[0],
            timing=rng.choices(["pre-service", "concurrent", "post-service", "post-stabilization"], [50, 25, 20, 5])[0],
            urgency=rng.choices(["routine", "urgent"], [3, 1])[0],
            category=rng.choices(["other", "medication"], [85, 15])[0],
            received=received,
        )
        extensions = 1 if rng.random() < 0.10 and extension_limit_for(request) >= 1 else 0
        cases.append((request, extensions))
    return cases


def clear_caches() -> None:
    book = engine.default_rule_book()
    book.coverage.cache_clear()
    book.calendar.clear_caches()
    engine._day_due.cache_clear()
    engine._undecided_day_dues.cache_clear()


def best_of(repeat: int, work, *, cold: bool = False) -> float:
    times = []
    for _ in range(repeat):
        if cold:
            clear_caches()
        gc.collect()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    cases = synthetic_cases(args.cases)
    requests = [request for request, _ in cases]
    receipts = [request.received for request in requests]
    seventy_two = timedelta(hours=72)
    stored_dues = [decision_due_for(request, extensions) for request, extensions in cases]

    def baseline():
        out = []
        for received in receipts:
            out.append(received + seventy_two)
        return out

    def dues():
        return [decision_due_for(request, extensions) for request, extensions in cases]

    def all_clocks():
        return [compute_clocks(request, extensions=extensions, now=NOW) for request, extensions in cases]

    def open_dues():
        return [open_dues_for(request, extensions) for request, extensions in cases]

    def countdowns():
        return [due - NOW for due in stored_dues]

    assert dues() == stored_dues
    assert [c.decision_due for c in all_clocks()] == stored_dues
    assert open_dues() == [(c.decision_due, c.notification_due, c.member_notice_due) for c in all_clocks()]

    results = {
        "baseline": best_of(args.repeat, baseline),
        "due_cold": best_of(args.repeat, dues, cold=True),
        "due_warm": best_of(args.repeat, dues),
        "open_dues": best_of(args.repeat, open_dues),
        "all_clocks": best_of(args.repeat, all_clocks),
        "countdowns": best_of(args.repeat, countdowns),
    }
    breached = sum(bool(c.breached) for c in all_clocks())
    if args.json:
        print(json.dumps({"cases": args.cases, "repeat": args.repeat, "seconds": results,
                          "python": platform.python_version()}, indent=2))
        return 0
    print(f"{args.cases:,} open cases, best of {args.repeat}, Python {platform.python_version()} "
          f"on {platform.machine()} ({breached:,} with a breached clock at {NOW.astimezone(LA):%Y-%m-%d %H:%M} PT)")
    print(f"{'measure':<12} {'seconds':>9} {'us/case':>8} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:<12} {seconds:9.3f} {seconds / args.cases * 1e6:8.2f} {seconds / results['baseline']:11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
