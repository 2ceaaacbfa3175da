"""`umws worklist`: the rows a user would see in a queue, in the GUI's default order (issue 3, scope 7).

`--now ISO8601` judges the queues that depend on the time ("at-risk": due before the end of that plan day) at that
instant instead of the current one; without an offset it is plan time, as for `umws deadlines`.
"""
from __future__ import annotations

import argparse

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json
from app.cli.deadlines import parse_instant
from app.domain.plantime import format_instant
from app.domain.queues import COLUMNS, DEFAULT_SORT, QUEUES
from app.domain.roles import ROLES
from app.store.stay_worklist import stay_fields
from app.store.worklist import WorklistQuery, viewer_for


def register(sub) -> None:
    parser = sub.add_parser("worklist", help="print a queue as a user sees it")
    parser.add_argument("--queue", required=True, choices=list(QUEUES), help="queue id")
    parser.add_argument("--user", required=True, help="the username whose view to print")
    parser.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many rows first")
    parser.add_argument("--filter", default="", help="quick filter: words in the TAR, member or service")
    parser.add_argument("--sort", choices=list(COLUMNS), default=DEFAULT_SORT[0], help="column to sort by")
    parser.add_argument("--desc", action="store_true", help="sort descending")
    parser.add_argument("--now", metavar="ISO8601",
                        help="judge time-dependent queues (at-risk) at this instant (default: now); "
                             "without an offset it is plan time")
    parser.add_argument("--json", action="store_true", help="print a JSON list of rows")
    add_store_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.limit < 0 or args.offset < 0:
        raise CliError("--limit and --offset must be zero or more.", EXIT_BAD_INPUT)
    now = parse_instant(args.now, "--now") if args.now else None
    store = open_store_for(args)
    try:
        with store.session() as session:
            viewer = viewer_for(session, args.user)
            if viewer is None:
                raise CliError(f"No user '{args.user}' in this store; 'umws demo' makes the demo users.")
            queue = QUEUES[args.queue]
            if viewer.role not in queue.roles:
                who = ", ".join(ROLES[r] for r in sorted(queue.roles))
                raise CliError(f"The '{args.queue}' queue is not shown to a {ROLES[viewer.role]}; it is for: {who}.",
                               EXIT_REFUSED)
            query = WorklistQuery(args.queue, viewer, args.filter, args.sort, args.desc, now)
            rows = query.page(session, args.offset, args.limit)
            stays = stay_fields(session, [row.tar for row in rows]) if queue.stays else {}
    finally:
        store.close()
    if args.json:
        print_json([{**row.to_json(), **stays.get(row.tar, {})} for row in rows])
    else:
        for row in rows:
            print(f"{row.tar:<12} {row.member[:28]:<28} {row.service[:40]:<40} {row.urgency:<7} "
                  f"{format_instant(row.due_at):<22} {row.status:<10} {row.assignee or '':<14}")
    return 0
