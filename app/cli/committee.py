"""`umws report committee|dashboard`: the UM committee's packet as a PDF and its figures as JSON (issue 14).

    umws report committee --from 2026-07-01 --to 2026-09-30 --out packet.pdf [--team T] [--lob L]
    umws report dashboard --from 2026-07-01 --to 2026-09-30 [--team T] [--lob L] --json
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from app.cli import EXIT_BAD_INPUT, CliError, add_store_option, open_store_for, print_json
from app.domain.vocabulary import LINES_OF_BUSINESS, TEAMS


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-07-01") from None


def register(kinds) -> None:
    for name, help_text in (("committee", "the UM committee packet (PDF): every section, charts and tables"),
                            ("dashboard", "the committee dashboard's figures (aggregated in SQL)")):
        p = kinds.add_parser(name, help=help_text)
        p.add_argument("--from", dest="first", type=_day, required=True, metavar="DATE")
        p.add_argument("--to", dest="last", type=_day, required=True, metavar="DATE")
        p.add_argument("--team", choices=sorted(TEAMS), default=None)
        p.add_argument("--lob", choices=sorted(LINES_OF_BUSINESS), default=None, help="line of business")
        if name == "committee":
            p.add_argument("--out", required=True, metavar="FILE.pdf")
        p.add_argument("--json", action="store_true")
        add_store_option(p)
        p.set_defaults(handler=run_committee if name == "committee" else run_dashboard)


def _filters(args):
    from app.domain.committee import Filters

    if args.last < args.first:
        raise CliError("--to is before --from; give the period's first day, then its last.", EXIT_BAD_INPUT)
    return Filters(args.first, args.last, args.team, args.lob)


def run_dashboard(args: argparse.Namespace) -> int:
    from app.store.committee import build

    filters = _filters(args)
    store = open_store_for(args)
    try:
        with store.session() as session:
            dashboard = build(session, filters)
    finally:
        store.close()
    if args.json:
        print_json(dashboard.to_json())
        return 0
    for view in dashboard.views:
        print(view.title)
        for panel in view.panels:
            print(f"  {panel.table.title}")
            for row in panel.table.rows + ((panel.table.total,) if panel.table.total else ()):
                print("    " + " | ".join(panel.table.cell(row, key) for key, _ in panel.table.columns))
    return 0


def run_committee(args: argparse.Namespace) -> int:
    from app.letters.committee_packet import render_packet
    from app.store.committee import build

    filters = _filters(args)
    out = Path(args.out)
    if out.is_dir() or not out.parent.exists():
        raise CliError(f"cannot write {out}: give a file name in an existing folder", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        with store.session() as session:
            dashboard = build(session, filters)
    finally:
        store.close()
    pdf = render_packet(dashboard.views, filters, dashboard.prepared_at)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(pdf)
    partial.replace(out)
    summary = {"out": str(out), "bytes": len(pdf), "sections": [v.title for v in dashboard.views],
               "filters": filters.to_json()}
    if args.json:
        print_json(summary)
    else:
        print(f"Wrote the committee packet ({len(pdf):,} bytes, {len(dashboard.views)} sections) to {out}.",
              file=sys.stderr)
    return 0
