"""`umws clocks check`: record missed decision clocks as `clock-breached` events (issue 4, scope 4).

    umws clocks check [--now ISO8601] [--json] [--database-url URL]

Finds the open, undecided cases whose decision due has passed at `--now` (default: the current instant) and that
have no `clock-breached` event yet, appends one to each (app.services.clock_watch), and prints the TAR numbers it
recorded: one a line, or with `--json` a JSON list. Running it again records nothing new. `--now` without an
offset is plan time (America/Los_Angeles), as for `umws deadlines`.
"""
from __future__ import annotations

import argparse
from datetime import datetime, timezone

from app.cli import add_store_option, open_store_for, print_json, warn
from app.cli.deadlines import parse_instant


def register(sub) -> None:
    parser = sub.add_parser("clocks", help="watch the regulatory clocks of the cases in the store")
    actions = parser.add_subparsers(dest="clocks_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    check = actions.add_parser(
        "check", help="record missed decision clocks as case events and print their TAR numbers",
        description="Record a clock-breached event on every open, undecided case whose decision due has passed "
                    "and that has none yet; print the TAR numbers recorded. Safe to run again: nothing is "
                    "recorded twice.")
    check.add_argument("--now", metavar="ISO8601",
                       help="judge the clocks at this instant (default: now); without an offset it is plan time")
    check.add_argument("--json", action="store_true", help="print a JSON list of the TAR numbers recorded")
    add_store_option(check)
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from app.services.clock_watch import record_breaches

    now = parse_instant(args.now, "--now") if args.now else datetime.now(timezone.utc)
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            recorded = record_breaches(session, now)
    finally:
        store.close()
    if args.json:
        print_json(recorded)
    else:
        for tar in recorded:
            print(tar)
        warn(f"Recorded {len(recorded)} missed decision clock{'s' if len(recorded) != 1 else ''}.")
    return 0
