"""What the demo's letters (app.services.demo_letters) add to `umws demo`: the same command with and without them.

    python bench/bench_demo_letters.py [--cases 2000] [--repeat 3]

Each run is a child process `umws demo --cases N --seed 7 --json` on a fresh throwaway store (its own UMWS_HOME,
UMWS_ALLOW_INSECURE_KEYRING=1: synthetic data only); the baseline run replaces `demo_letters.add_letters` with a
no-op, so it is `umws demo` as it was before the letters. Runs alternate (baseline, letters, baseline, ...) so that
load on a shared machine falls on both; the wall time of the whole process and the `seconds` the command reports
and the child's CPU time (steadier than the wall time on a shared machine) are printed with their medians and the
ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys
from app.services import demo_letters
if sys.argv[1] == "baseline":
    demo_letters.add_letters = lambda store, now, count=demo_letters.CASES: 0
from app.cli import main
raise SystemExit(main(["demo", "--cases", sys.argv[2], "--seed", "7", "--json"]))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(kind: str, cases: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="umws-bench-demo-") as home:
        env = {**os.environ, "UMWS_HOME": home, "UMWS_ALLOW_INSECURE_KEYRING": "1", "PYTHONPATH": str(ROOT)}
        env.pop("UMWS_DATABASE_URL", None)
        started, cpu = time.perf_counter(), _children_cpu()
        out = subprocess.run([sys.executable, "-c", CHILD, kind, str(cases)], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    return wall, cpu, float(json.loads(out)["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "letters": []}
    for n in range(args.repeat):
        for kind in ("baseline", "letters"):
            wall, cpu, seconds = run(kind, args.cases)
            results[kind].append((wall, cpu, seconds))
            print(f"run {n + 1} {kind:8}: wall {wall:5.2f} s, CPU {cpu:5.2f} s, umws demo says {seconds:4.1f} s",
                  flush=True)
    base = [statistics.median(x) for x in zip(*results["baseline"])]
    with_letters = [statistics.median(x) for x in zip(*results["letters"])]
    for i, what in enumerate(("wall", "CPU (the child process)", "reported by umws demo")):
        print(f"median {what}: baseline {base[i]:.2f} s, with letters {with_letters[i]:.2f} s "
              f"(+{with_letters[i] - base[i]:.2f} s, ratio {with_letters[i] / base[i]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
