"""`umws report timeliness|cms-metrics`: how the department met its clocks (issue 4, scope 5)."""
from __future__ import annotations

import argparse
from datetime import date

from app.cli import EXIT_BAD_INPUT, CliError, add_store_option, open_store_for, print_json
from app.store.reports import cms_report, timeliness_report


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01") from None


def _year(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError(f"'{text}' is not a year; write it as YYYY, e.g. 2026")
    return int(text)


def register(sub) -> None:
    parser = sub.add_parser("report", help="timeliness, CMS-0057-F and UM committee reports")
    kinds = parser.add_subparsers(dest="report", metavar="REPORT", parser_class=type(parser))
    kinds.required = True
    timeliness = kinds.add_parser("timeliness", help="decisions in time per request type, and the breaches")
    timeliness.add_argument("--from", dest="first", type=_day, required=True, metavar="DATE",
                            help="first plan-local day (YYYY-MM-DD)")
    timeliness.add_argument("--to", dest="last", type=_day, required=True, metavar="DATE",
                            help="last plan-local day, included")
    timeliness.add_argument("--json", action="store_true")
    add_store_option(timeliness)
    timeliness.set_defaults(handler=run_timeliness)
    cms = kinds.add_parser("cms-metrics", help="the CMS-0057-F public prior-authorization metrics for a year")
    cms.add_argument("--year", type=_year, required=True)
    cms.add_argument("--json", action="store_true")
    add_store_option(cms)
    cms.set_defaults(handler=run_cms)
    from app.cli.p2p import register_report  # issue 8: umws report p2p

    register_report(kinds)
    from app.cli import committee  # issue 14: the UM committee's dashboard figures and packet

    committee.register(kinds)


def run_timeliness(args: argparse.Namespace) -> int:
    if args.last < args.first:
        raise CliError("--to is before --from; give the period's first day, then its last.", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        with store.session() as session:
            report = timeliness_report(session, args.first, args.last)
    finally:
        store.close()
    if args.json:
        print_json(report)
        return 0
    print(f"Timeliness {report['from']} to {report['to']} (plan time)")
    print(f"{'line':<9}{'request type':<30}{'decided':>8}{'in time':>8}{'%':>7}{'median h':>10}{'mean h':>8}"
          f"{'breaches':>9}")
    for row in report["rows"]:
        percent = "" if row["percent_in_time"] is None else f"{row['percent_in_time']:.1f}"
        median = "" if row["median_turnaround_hours"] is None else f"{row['median_turnaround_hours']:.1f}"
        mean = "" if row["average_turnaround_hours"] is None else f"{row['average_turnaround_hours']:.1f}"
        print(f"{row['line_of_business']:<9}{row['request_type']:<30}{row['decided']:>8}{row['decided_in_time']:>8}"
              f"{percent:>7}{median:>10}{mean:>8}{row['breaches']:>9}")
    return 0


def run_cms(args: argparse.Namespace) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session:
            report = cms_report(session, args.year)
    finally:
        store.close()
    if args.json:
        print_json(report)
        return 0
    print(f"CMS-0057-F prior-authorization metrics, {report['year']} (drugs excluded)")
    for label in ("standard", "expedited"):
        figures = report[label]
        print(f"\n{label.capitalize()} requests: {figures['requests']}")
        for key, value in figures.items():
            if key != "requests":
                print(f"  {key.replace('_', ' ')}: {'n/a' if value is None else value}")
    print(f"\nItems requiring prior authorization: {len(report['items_requiring_prior_authorization'])} codes")
    for note in report["notes"]:
        print(f"Note: {note}")
    return 0
