"""`umws p2p ...`: peer-to-peer availability, slots, requests, booking, outcomes and invitations (issue 8), and
`umws report p2p` -- through the same service code as the GUI (app.services.p2p).

Days are plan days (YYYY-MM-DD) and times plan time (America/Los_Angeles) unless an instant carries its offset.
Exit codes: 0 done, 2 bad input (nothing written), 3 refused by a rule or by authority (the message says why and
who may).
"""
from __future__ import annotations

import argparse
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json
from app.domain import p2p as rules
from app.domain.plantime import PLAN_TZ, format_instant, iso_plan

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-24") from None


def _time(text: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time; write it as HH:MM (24-hour plan time), "
                                         "e.g. 09:30") from None


def _weekdays(text: str) -> list[int]:
    """'mon,wed,fri' or 'mon-fri'."""
    days: list[int] = []
    try:
        for part in text.lower().split(","):
            part = part.strip()
            if "-" in part:
                first, last = (WEEKDAYS[p.strip()[:3]] for p in part.split("-"))
                days.extend(range(first, last + 1))
            elif part:
                days.append(WEEKDAYS[part[:3]])
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of weekdays; write e.g. mon,wed,fri or "
                                         "mon-fri") from None
    if not days:
        raise argparse.ArgumentTypeError("name at least one weekday, e.g. mon-fri")
    return sorted(set(days))


def _day_and_time(text: str) -> tuple[date, time | None]:
    """'2026-12-24' (whole day) or '2026-12-24T13:00'."""
    day, _, clock = text.partition("T")
    return _day(day), (_time(clock) if clock else None)


def register(sub) -> None:
    parser = sub.add_parser("p2p", help="peer-to-peer: availability, slots, requests, booking, outcomes")
    commands = parser.add_subparsers(dest="p2p_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    def command(name: str, help_text: str, handler: Callable, *, tar: bool = True, actor: bool = True,
                parent=None) -> argparse.ArgumentParser:
        p = (parent or commands).add_parser(name, help=help_text)
        if tar:
            p.add_argument("tar", help="TAR number")
        if actor:
            p.add_argument("--as", dest="actor", required=True, metavar="USER", help="acting username")
        p.add_argument("--json", action="store_true", help="print one JSON value")
        add_store_option(p)
        p.set_defaults(handler=handler)
        return p

    availability = commands.add_parser("availability", help="a reviewer's published availability")
    kinds = availability.add_subparsers(dest="availability_command", metavar="ACTION", parser_class=type(parser))
    kinds.required = True
    listing = command("list", "a reviewer's current availability", run_availability_list, tar=False, actor=False,
                      parent=kinds)
    listing.add_argument("--physician", "--reviewer", dest="reviewer", required=True, metavar="USER")
    add = command("add", "publish weekly or one-off hours (plan time)", run_availability_add, tar=False,
                  parent=kinds)
    add.add_argument("--physician", "--reviewer", dest="reviewer", default=None, metavar="USER",
                     help="whose hours (default: the acting user)")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--weekly", type=_weekdays, metavar="DAYS", help="weekdays, e.g. mon-fri or tue,thu")
    when.add_argument("--on", type=_day, metavar="DATE", help="one day only (one-off hours)")
    add.add_argument("--from-time", type=_time, required=True, metavar="HH:MM")
    add.add_argument("--to-time", type=_time, required=True, metavar="HH:MM")
    add.add_argument("--slot-minutes", type=int, default=rules.DEFAULT_SLOT_MINUTES,
                     help=f"length of one call: {', '.join(map(str, rules.SLOT_MINUTES))} (default 30)")
    add.add_argument("--first-day", type=_day, default=None, metavar="DATE", help="weekly: from (default today)")
    add.add_argument("--last-day", type=_day, default=None, metavar="DATE", help="weekly: until (default: no end)")
    add.add_argument("--note", default="")
    away = command("out-of-office", "publish an out-of-office block", run_availability_away, tar=False,
                   parent=kinds)
    away.add_argument("--physician", "--reviewer", dest="reviewer", default=None, metavar="USER")
    away.add_argument("--from", dest="first", type=_day_and_time, required=True, metavar="DATE[THH:MM]")
    away.add_argument("--to", dest="last", type=_day_and_time, required=True, metavar="DATE[THH:MM]")
    away.add_argument("--note", default="")
    withdraw = command("withdraw", "withdraw published availability (kept, marked withdrawn)",
                       run_availability_withdraw, tar=False, parent=kinds)
    withdraw.add_argument("id", help="availability id ('umws p2p availability list' shows them)")
    withdraw.add_argument("--reason", required=True)

    slots = command("slots", "a reviewer's free future slots, each with its id", run_slots, tar=False, actor=False)
    slots.add_argument("--physician", "--reviewer", dest="reviewer", required=True, metavar="USER")
    slots.add_argument("--from", dest="first", type=_day, required=True, metavar="DATE")
    slots.add_argument("--to", dest="last", type=_day, required=True, metavar="DATE")

    propose = command("propose", "free slots for a call on the case: the deciding physician first, then the "
                                 "same or similar specialty", run_propose)
    propose.add_argument("--from", dest="first", type=_day, default=None, metavar="DATE")
    propose.add_argument("--to", dest="last", type=_day, default=None, metavar="DATE")
    propose.add_argument("--all", action="store_true", help="every reviewer fit for the case, whatever specialty")

    def requester(p):
        p.add_argument("--requester", default=None, metavar="NAME",
                       help="the requesting or treating practitioner (default: the requesting provider)")
        p.add_argument("--phone", default=None, help="the practitioner's phone (default: the requesting provider's)")
        p.add_argument("--reason", default="", help="what the practitioner wants to discuss")

    request = command("request", "record a practitioner's request for a peer-to-peer", run_request)
    requester(request)
    request.add_argument("--window", action="append", default=[], metavar="START/END",
                         help="a preferred window, e.g. 2026-11-24T09:00/2026-11-24T12:00 (repeatable)")

    offer = command("offer", "record the windows offered to the practitioner (at least two)", run_offer)
    offer.add_argument("--slot", action="append", required=True, metavar="ID", help="a slot id (repeatable)")

    book = command("book", "book the call in a slot (opens the request when none is open)", run_book)
    book.add_argument("--slot", required=True, metavar="ID")
    requester(book)

    move = command("reschedule", "move the booked call to another slot", run_reschedule)
    move.add_argument("--slot", required=True, metavar="ID")
    move.add_argument("--reason", required=True)

    cancel = command("cancel", "cancel the booked call (or, with --request, the whole request)", run_cancel)
    cancel.add_argument("--reason", required=True)
    cancel.add_argument("--request", action="store_true", help="cancel the request itself, not only the call")

    outcome = command("outcome", "record the outcome of the booked call", run_outcome)
    outcome.add_argument("--call", choices=list(rules.CALL_STATUSES), default="held")
    outcome.add_argument("--result", choices=list(rules.RESULTS), default=None,
                         help="upheld, overturned or modified (a held call)")
    outcome.add_argument("--note", required=True, help="notes on the call")
    outcome.add_argument("--at", default=None, metavar="ISO8601", help="when the call took place (default: now)")
    outcome.add_argument("--units", action="append", default=[], metavar="LINE=UNITS",
                         help="modified: approved units of a line (repeatable)")
    outcome.add_argument("--member-reason", default="", help="modified: the reason for the member, in plain words")
    outcome.add_argument("--new-information", action="store_true",
                         help="the practitioner offered new clinical information (it goes to an appeal)")

    command("show", "the case's peer-to-peer: offered until when, requests and calls", run_show)

    invitation = command("invitation", "write the .ics invitation of the booked call (or its cancellation)",
                         run_invitation)
    invitation.add_argument("--out", type=Path, default=None, help="file to write (default: a name in the "
                                                                   "current folder)")


def register_report(kinds) -> None:
    """`umws report p2p --from D --to D`: registered by app.cli.report."""
    report = kinds.add_parser("p2p", help="peer-to-peer calls: requested, held, missed, overturned, upheld")
    report.add_argument("--from", dest="first", type=_day, required=True, metavar="DATE",
                        help="first plan-local day (YYYY-MM-DD)")
    report.add_argument("--to", dest="last", type=_day, required=True, metavar="DATE",
                        help="last plan-local day, included")
    report.add_argument("--json", action="store_true")
    add_store_option(report)
    report.set_defaults(handler=run_report)


# ----- running -----------------------------------------------------------------------------------------------
def _run(args: argparse.Namespace, work: Callable, *, write: bool = True):
    from app.services.audit import AuditChainError
    from app.services.cases import ActionRefused, InvalidInput, NotFound

    store = open_store_for(args)
    try:
        with store.session() as session:
            if write:
                with session.begin():
                    return work(session)
            return work(session)
    except (NotFound, InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()


def _print(args, value, text: str) -> int:
    if args.json:
        print_json(value)
    else:
        print(text)
    return 0


def run_availability_list(args) -> int:
    from app.services import p2p

    rows = _run(args, lambda s: p2p.list_availability(s, args.reviewer), write=False)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']}  {row['description']}")
    return 0


def run_availability_add(args) -> int:
    from app.services import p2p

    today = datetime.now(PLAN_TZ).date()

    def work(session):
        if args.on:
            rows = [p2p.add_availability(session, args.actor, reviewer=args.reviewer, kind="one-off",
                                         first_day=args.on, start=args.from_time, end=args.to_time,
                                         slot_minutes=args.slot_minutes, note=args.note)]
        else:
            rows = [p2p.add_availability(session, args.actor, reviewer=args.reviewer, kind="weekly",
                                         weekday=weekday, first_day=args.first_day or today,
                                         last_day=args.last_day, start=args.from_time, end=args.to_time,
                                         slot_minutes=args.slot_minutes, note=args.note)
                    for weekday in args.weekly]
        session.flush()
        from app.store.p2p_queries import entry_of
        return [{"id": str(row.id), "description": entry_of(row).describe()} for row in rows]

    rows = _run(args, work)
    return _print(args, rows, "\n".join(f"Added {row['id']}: {row['description']}" for row in rows))


def run_availability_away(args) -> int:
    from app.services import p2p
    from app.store.p2p_queries import entry_of

    (first, start), (last, end) = args.first, args.last

    def work(session):
        row = p2p.add_availability(session, args.actor, reviewer=args.reviewer, kind="out-of-office",
                                   first_day=first, last_day=last, start=start, end=end, note=args.note)
        session.flush()
        return {"id": str(row.id), "description": entry_of(row).describe()}

    row = _run(args, work)
    return _print(args, row, f"Added {row['id']}: {row['description']}")


def run_availability_withdraw(args) -> int:
    from app.services import p2p

    def work(session):
        row = p2p.withdraw_availability(session, args.actor, args.id, reason=args.reason)
        return {"id": str(row.id), "withdrawn_at": iso_plan(row.withdrawn_at)}

    row = _run(args, work)
    return _print(args, row, f"Withdrew {row['id']}.")


def run_slots(args) -> int:
    from app.services import p2p
    from app.services.cases import user_by_name

    if args.last < args.first:
        raise CliError("--to is before --from; give the first day, then the last.", EXIT_BAD_INPUT)
    if (args.last - args.first).days > 92:
        raise CliError("ask for at most 92 days of slots at a time.", EXIT_BAD_INPUT)

    def work(session):
        user = user_by_name(session, args.reviewer)
        if user.role not in rules.PEER_ROLES:
            raise CliError(f"{args.reviewer} does not hold peer-to-peer calls (a "
                           f"{user.role}); no slots to list.", EXIT_BAD_INPUT)
        slots = p2p.reviewer_free_slots(session, [user], args.first, args.last)[user.username]
        return [{"id": slot.id, "username": user.username, "full_name": user.full_name,
                 "specialty": user.specialty, "start": iso_plan(slot.start), "end": iso_plan(slot.end)}
                for slot in slots]

    rows = _run(args, work, write=False)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:<28} {format_instant(datetime.fromisoformat(row['start']), year=True)}")
    return 0


def run_propose(args) -> int:
    from app.services import p2p

    proposal = _run(args, lambda s: p2p.propose_slots(s, args.tar, args.actor, first_day=args.first,
                                                      last_day=args.last, include_all=args.all).to_json(),
                    write=False)
    if args.json:
        print_json(proposal)
        return 0
    print(f"TAR {proposal['tar']}: {rules.KINDS[proposal['kind']].lower()}; window closes "
          f"{proposal['window_closes'] or '—'} ({proposal['window_basis'] or 'no limit'})")
    for c in proposal["candidates"]:
        print(f"{c['id']:<28} {format_instant(datetime.fromisoformat(c['start']), year=True):<26} "
              f"{c['full_name']:<24} {c['match_text']}{' · preferred' if c['preferred'] else ''}")
    if proposal["note"]:
        print(proposal["note"])
    return 0


def _windows(items: list[str]) -> list[tuple[datetime, datetime]]:
    from app.cli.deadlines import parse_instant

    windows = []
    for item in items:
        start, sep, end = item.partition("/")
        if not sep:
            raise CliError(f"--window '{item}' is not START/END, e.g. 2026-11-24T09:00/2026-11-24T12:00",
                           EXIT_BAD_INPUT)
        windows.append((parse_instant(start, "--window"), parse_instant(end, "--window")))
    return windows


def _request_json(request) -> dict:
    return {"tar": request.case.tar, "request_id": str(request.id), "kind": request.kind, "status": request.status,
            "requester_name": request.requester_name, "requester_phone": request.requester_phone,
            "window_closes": iso_plan(request.window_closes_at)}


def run_request(args) -> int:
    from app.services import p2p

    windows = _windows(args.window)
    result = _run(args, lambda s: _request_json(p2p.request_p2p(
        s, args.tar, args.actor, requester_name=args.requester, requester_phone=args.phone, reason=args.reason,
        windows=windows)))
    return _print(args, result, f"TAR {result['tar']}: peer-to-peer requested by {result['requester_name']}; "
                                f"window closes {result['window_closes'] or '—'}.")


def run_offer(args) -> int:
    from app.services import p2p

    result = _run(args, lambda s: {**_request_json(r := p2p.offer_windows(s, args.tar, args.actor, args.slot)),
                                   "offered": r.offered})
    return _print(args, result, f"TAR {result['tar']}: offered {', '.join(result['offered'])}.")


def _booking_json(booking) -> dict:
    return {"tar": booking.request.case.tar, "booking_id": str(booking.id), "request_id": str(booking.request_id),
            "status": booking.status, "slot": rules.slot_id(booking.reviewer.username, booking.starts_at),
            "username": booking.reviewer.username, "reviewer_name": booking.reviewer.full_name,
            "start": iso_plan(booking.starts_at), "end": iso_plan(booking.ends_at), "match": booking.match}


def _booked_text(result: dict) -> str:
    return (f"TAR {result['tar']}: call {result['status']} "
            f"{format_instant(datetime.fromisoformat(result['start']), year=True)} with {result['reviewer_name']}.")


def run_book(args) -> int:
    from app.services import p2p

    result = _run(args, lambda s: _booking_json(p2p.book_call(
        s, args.tar, args.actor, args.slot, requester_name=args.requester, requester_phone=args.phone,
        reason=args.reason)))
    return _print(args, result, _booked_text(result))


def run_reschedule(args) -> int:
    from app.services import p2p

    result = _run(args, lambda s: _booking_json(p2p.reschedule_call(s, args.tar, args.actor, args.slot,
                                                                    reason=args.reason)))
    return _print(args, result, _booked_text(result))


def run_cancel(args) -> int:
    from app.services import p2p

    if args.request:
        result = _run(args, lambda s: _request_json(p2p.cancel_request(s, args.tar, args.actor, reason=args.reason)))
        return _print(args, result, f"TAR {result['tar']}: peer-to-peer request cancelled.")
    result = _run(args, lambda s: _booking_json(p2p.cancel_call(s, args.tar, args.actor, reason=args.reason)))
    return _print(args, result, f"TAR {result['tar']}: call cancelled; the request waits to be scheduled again.")


def run_outcome(args) -> int:
    from app.cli.case import _units
    from app.cli.deadlines import parse_instant
    from app.services import p2p

    if args.call == "held" and args.result is None:
        raise CliError("a held call needs --result upheld, overturned or modified (or give --call no-show or "
                       "--call plan-missed)", EXIT_BAD_INPUT)
    if args.call != "held" and args.result is not None:
        raise CliError(f"--result is for a held call, not one recorded as {args.call}", EXIT_BAD_INPUT)
    held_at = parse_instant(args.at, "--at") if args.at else None
    units = _units(args.units)

    def work(session):
        outcome = p2p.record_outcome(session, args.tar, args.actor, call=args.call, result=args.result,
                                     note=args.note, held_at=held_at, member_reason=args.member_reason,
                                     lines=units or None, new_information=args.new_information)
        return {"tar": outcome.case.tar, "call": args.call, "result": args.result,
                "request_status": outcome.request.status, "missed_windows": outcome.request.missed_windows,
                "held_at": iso_plan(outcome.request.held_at), "case_status": outcome.case.status,
                "case_outcome": outcome.case.outcome,
                "determination_id": str(outcome.determination_id) if outcome.determination_id else None}

    result = _run(args, work)
    text = f"TAR {result['tar']}: call {args.call}"
    if result["result"]:
        text += f", {result['result']}"
    if result["determination_id"]:
        text += f"; new determination: {result['case_outcome']}, its notice drafted"
    if result["request_status"] == "closed-attempted":
        text += "; the request is closed as attempted (two missed windows)"
    return _print(args, result, text + ".")


def run_show(args) -> int:
    from app.services import p2p

    data = _run(args, lambda s: p2p.case_p2p(s, args.tar, args.actor), write=False)
    if args.json:
        print_json(data)
        return 0
    offered = (f"offered until {data['window_closes']} ({data['window_basis']})" if data["offered"]
               else f"not offered: {data['refusal']}")
    print(f"TAR {data['tar']}: peer-to-peer {offered}")
    for request in data["requests"]:
        print(f"  request {request['requested_at']} by {request['requester_name']} ({request['requester_phone']}): "
              f"{rules.REQUEST_STATUSES[request['status']]}" + (f", {request['result']}" if request["result"] else ""))
        for call in request["calls"]:
            print(f"    call {call['starts_at']} with {call['reviewer_name']}: "
                  f"{rules.BOOKING_STATUSES[call['status']]}")
    return 0


def run_invitation(args) -> int:
    from app.services import p2p

    def work(session):
        name, data = p2p.send_invitation(session, args.tar, args.actor)
        path = args.out or Path(name)
        try:  # inside the transaction: a file that cannot be written records no invitation as sent
            path.write_bytes(data)
        except OSError as error:
            raise CliError(f"cannot write {path}: {error.strerror}; choose another --out", EXIT_BAD_INPUT) from error
        return path, len(data)

    path, size = _run(args, work)
    return _print(args, {"tar": args.tar, "path": str(path), "bytes": size}, f"Wrote {path}.")


def run_report(args) -> int:
    from app.store.p2p_queries import p2p_report

    if args.last < args.first:
        raise CliError("--to is before --from; give the period's first day, then its last.", EXIT_BAD_INPUT)
    report = _run(args, lambda s: p2p_report(s, args.first, args.last), write=False)
    if args.json:
        print_json(report)
        return 0
    print(f"Peer-to-peer {report['from']} to {report['to']} (plan time)")
    for key in ("requested", "held", "missed", "practitioner_no_show", "plan_missed", "cancelled", "upheld",
                "overturned", "modified", "closed_as_attempted", "median_request_to_call_hours"):
        value = report[key]
        print(f"  {key.replace('_', ' '):<32} {'—' if value is None else value}")
    return 0
