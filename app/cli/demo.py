"""`umws demo`: fill the local store with synthetic demo data (issue 3, scope 5)."""
from __future__ import annotations

import argparse
import sys
import time

from app.cli import EXIT_BAD_INPUT, CliError, add_store_option, open_store_for, print_json


def register(sub) -> None:
    parser = sub.add_parser("demo", help="add synthetic demo users, members, providers and cases")
    parser.add_argument("--cases", type=int, default=2000, help="how many cases to add (default 2000)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")
    parser.add_argument("--json", action="store_true", help="print what was made as JSON")
    add_store_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from app.services import demo

    if args.cases < 0:
        raise CliError("--cases must be zero or more.", EXIT_BAD_INPUT)
    store = open_store_for(args)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"\rumws: {done:,} of {total:,} cases", end="", file=sys.stderr, flush=True)

    try:
        result = demo.generate(store, args.cases, seed=args.seed, progress=progress)
    finally:
        store.close()
    print(file=sys.stderr)
    seconds = time.monotonic() - started
    summary = {"users": result.users, "members": result.members, "providers": result.providers,
               "cases": result.cases, "seconds": round(seconds, 1), "store": store.location}
    if args.json:
        print_json(summary)
    else:
        print(f"Added {result.cases:,} cases, {result.members:,} members and {result.providers:,} providers "
              f"in {seconds:.1f} s to {store.location}.")
    return 0
