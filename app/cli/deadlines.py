"""`umws deadlines`: the regulatory clocks of one request, computed without any store (issue 4, scope 2).

    umws deadlines --lob medi-cal|medicare --timing pre-service|concurrent|post-service|post-stabilization
                   --urgency urgent|routine [--category medication|other] --received ISO8601
                   [--decided ISO8601] [--extensions N] [--now ISO8601] [--json]

Date-times are ISO 8601 (``2026-11-17T10:00-08:00``, ``2026-11-17T18:00Z``). One without an offset is read as
plan time (America/Los_Angeles); in the repeated hour of a fall-back night that is the first (daylight-time)
occurrence, and a time skipped by a spring-forward change is read with the standard-time offset. A date
without a time is refused: the time of receipt decides the clocks.

``--json`` prints one object: rule_sets, deemed_received, decision_due, decision_rule, notification_due,
member_notice_due (ISO 8601 with the plan offset, whole seconds, or null) and breached. This command never
opens or creates a store.
"""
from __future__ import annotations

import argparse
from datetime import datetime

from app.cli import EXIT_BAD_INPUT, CliError, print_json
from app.domain.calendar import default_calendar
from app.domain.clocks import (
    CATEGORIES,
    LINES_OF_BUSINESS,
    TIMINGS,
    URGENCIES,
    ClockError,
    ClockRequest,
    Clocks,
    compute_clocks,
)
from app.domain.plantime import format_instant

EXAMPLE_INSTANT = "2026-11-17T10:00-08:00"


def register(sub) -> None:
    parser = sub.add_parser(
        "deadlines",
        help="compute the regulatory clocks of a request (needs no store)",
        description="Compute when a UM request must be decided, notified and noticed, and which rule set "
                    "governs each clock (docs/clocks.md). Date-times without an offset are plan time "
                    "(America/Los_Angeles).",
    )
    parser.add_argument("--lob", required=True, choices=LINES_OF_BUSINESS, help="line of business")
    parser.add_argument("--timing", required=True, choices=TIMINGS, help="when the care is given")
    parser.add_argument("--urgency", required=True, choices=URGENCIES, help="urgent or routine")
    parser.add_argument("--category", choices=CATEGORIES, default="other",
                        help="service category; 'medication' marks a drug request (default: other)")
    parser.add_argument("--received", required=True, metavar="ISO8601",
                        help=f"when the plan received the request, e.g. {EXAMPLE_INSTANT}")
    parser.add_argument("--decided", metavar="ISO8601", help="when the decision was made, if it was")
    parser.add_argument("--extensions", default="0", metavar="N",
                        help="extensions already taken (default 0)")
    parser.add_argument("--now", metavar="ISO8601", help="the instant to judge breaches at (default: now)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def parse_instant(text: str, option: str) -> datetime:
    """An ISO 8601 date-time from the command line; without an offset it is plan time (module docstring)."""
    value = text.strip()
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"{option} '{text}' is not an ISO 8601 date-time: give one like {EXAMPLE_INSTANT} "
            "(without an offset it is read as plan time, America/Los_Angeles)", EXIT_BAD_INPUT
        ) from None
    if "T" not in value.upper() and " " not in value:
        raise CliError(
            f"{option} '{text}' has no time of day: give the time too, like {EXAMPLE_INSTANT}", EXIT_BAD_INPUT
        )
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=default_calendar().tz)
    return instant


def parse_extensions(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise CliError(f"--extensions '{text}' must be a whole number, 0 or more", EXIT_BAD_INPUT)
    return count


def run(args: argparse.Namespace) -> int:
    received = parse_instant(args.received, "--received")
    decided = parse_instant(args.decided, "--decided") if args.decided else None
    now = parse_instant(args.now, "--now") if args.now else None
    extensions = parse_extensions(args.extensions)
    try:
        request = ClockRequest(args.lob, args.timing, args.urgency, args.category, received)
        clocks = compute_clocks(request, decided=decided, extensions=extensions, now=now)
    except ClockError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    if args.json:
        print_json(clocks.to_json())
    else:
        print(human_table(clocks))
    return 0


def human_table(clocks: Clocks) -> str:
    """A short table for people: dates like "Tue 11/24/2026 11:59 PM PT", each clock with its rule set."""

    def when(instant: datetime | None) -> str:
        return format_instant(instant, year=True) if instant is not None else "-"

    def ruled(name: str) -> str:
        rule, cite = getattr(clocks, f"{name}_rule"), getattr(clocks, f"{name}_cite")
        return f"{rule}: {cite}" if rule else "not set until the decision is recorded"

    deemed = when(clocks.deemed_received)
    if clocks.deemed_received != clocks.received:
        deemed += "  (received after hours: state day counts start at the next opening)"
    limit = clocks.extension_limit
    rows = [
        ("Rule sets", ", ".join(clocks.rule_sets)),
        ("Received", when(clocks.received)),
        ("Deemed received", deemed),
        ("Decided", when(clocks.decided) if clocks.decided else "not yet"),
        ("Decision due", f"{when(clocks.decision_due):<26}  {ruled('decision')}"),
        ("Notification due", f"{when(clocks.notification_due):<26}  {ruled('notification')}"),
        ("Member notice due", f"{when(clocks.member_notice_due):<26}  {ruled('member_notice')}"),
        ("Extensions", f"{limit.taken} taken, {limit.allowed} allowed"),
        ("Breached at", f"{when(clocks.now)}: {', '.join(clocks.breached) or 'none'}"),
    ]
    if clocks.deemed_authorized:
        rows.append(("Deemed authorized", "yes: the post-stabilization answer was missed"))
    elif clocks.untimely_decision:
        rows.append(("Untimely decision", "adverse determination; the untimely-decision notice is due"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
