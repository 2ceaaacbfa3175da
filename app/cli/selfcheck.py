"""`umws selfcheck [--json] [--keep DIR]`: check this installation end to end (app/selfcheck, issue 10 scope 4).

Prints one line a step (status, step, what it found or why it failed) on stdout, or with `--json` one object
{"version", "frozen", "install_dir", "passed", "steps": [{"step", "status", "detail", "seconds"}]}; the verdict
goes to stderr. Exit code 0 when every step passed (warnings allowed), 1 when any failed. Needs no store and never
creates one: it works on a throwaway store in a temporary folder. `--keep DIR` keeps the letter PDF and the main
window's screenshot there.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli import EXIT_OK, EXIT_UNEXPECTED, print_json, warn

STATUS_WORDS = {"passed": "PASS", "warning": "WARN", "failed": "FAIL", "skipped": "SKIP"}


def register(sub) -> None:
    parser = sub.add_parser("selfcheck", help="check this installation: store, migrations, clocks, criteria, "
                                              "letter fonts, main window and keyring, on a throwaway store")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep the rendered letter PDF and the window screenshot in DIR")
    parser.set_defaults(handler=run_selfcheck, reads_configuration_itself=True)


def _print_line(result) -> None:
    print(f"{STATUS_WORDS[result.status]}  {result.step:<16} {result.detail}", flush=True)


def run_selfcheck(args: argparse.Namespace) -> int:
    from app import selfcheck

    if not args.json:
        warn(f"umws selfcheck {selfcheck.version()} ({'bundle' if getattr(sys, 'frozen', False) else 'source'} "
             f"at {selfcheck.install_dir()})")
    report = selfcheck.run(keep=args.keep, progress=None if args.json else _print_line)
    if args.json:
        print_json(report.to_json())
    warn(report.summary())
    return EXIT_OK if report.passed else EXIT_UNEXPECTED
