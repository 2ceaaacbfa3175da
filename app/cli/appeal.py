"""`umws appeal ...`: log, route, extend and decide appeals of adverse determinations, and read them (issue 13).

Every action goes through app.services.appeals, with the same authority rules, events and audit records as the
GUI; `--as USERNAME` names the acting user. Exit codes: 0 done, 2 bad input (nothing written), 3 refused by a rule
or by authority (the message says why and who may). Reads (`show`, `tasks`, `reviewers`, `report`) are audited under
the operating-system user where they show a member's case.

    umws appeal file TAR --as USER --by member|provider|representative [--expedited] --received ISO8601 --note TEXT
    umws appeal decide TAR --as USER --result upheld|overturned|partial --reason TEXT [--units LINE=UNITS]
    umws appeal show TAR --json
"""
from __future__ import annotations

import argparse
from datetime import date
from typing import Callable

from app.cli import (EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, case_action_adder, open_store_for,
                     print_json, write_in_store)
from app.domain.appeals import CHANNELS, EXTENSION_REASONS, FILED_BY, TASK_KINDS, status_label
from app.domain.plantime import format_instant, iso_plan
from app.services import appeals as svc
from app.services.audit import AuditChainError, os_user


def register(sub) -> None:
    parser = sub.add_parser("appeal", help="log, route, extend, decide and show appeals")
    actions = parser.add_subparsers(dest="appeal_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    action = case_action_adder(actions)

    filing = action("file", "log an appeal of the case's denial or modification", run_file)
    filing.add_argument("--by", required=True, choices=list(FILED_BY), help="who filed it")
    filing.add_argument("--received", required=True, metavar="ISO8601",
                      help="when the plan received it (without an offset: plan time); the clocks run from it")
    filing.add_argument("--note", required=True, help="what was said, and any new information")
    filing.add_argument("--expedited", action="store_true",
                      help="asked for an expedited (72-hour) appeal: the provider says so, or the member's health "
                           "could be seriously harmed by waiting")
    filing.add_argument("--how", dest="channel", choices=list(CHANNELS), default="phone", help="how it came")
    filing.add_argument("--representative", default=None, metavar="NAME", help="the authorized representative")
    filing.add_argument("--authorization", default=None, metavar="TEXT",
                      help="where the member's written authorization is on file (needed for a representative)")
    filing.add_argument("--keep-service", action="store_true",
                      help="the member asks to keep a service that is being stopped or reduced (aid paid pending)")
    filing.add_argument("--specialty", default=None,
                      help="the specialty the reviewer must match (default: the requesting provider's)")
    filing.add_argument("--reviewer", default=None, metavar="USER",
                      help="route it to this physician (default: the independent one with the fewest appeals)")

    decide = action("decide", "decide an appeal: upheld, overturned or partially overturned (physicians)", run_decide)
    decide.add_argument("--result", required=True, choices=("upheld", "overturned", "partial"))
    decide.add_argument("--reason", required=True, help="the reason, in plain language for the member")
    decide.add_argument("--rationale", default=None, help="the clinical rationale (default: --reason)")
    decide.add_argument("--units", action="append", default=[], metavar="LINE=UNITS",
                        help="units now approved on a line (repeatable; needed for --result partial)")
    decide.add_argument("--criteria", action="append", default=None, metavar="SET_ID[@VERSION]",
                        help="criteria set used (repeatable; default: those the appealed determination cited)")

    action("show", "a case's appeals: the record, its clocks, tasks and letters", run_show, actor=False)
    action("reviewers", "the physicians who may decide the case's open appeal, and why not the others",
           run_reviewers, actor=False)

    route = action("route", "give the open appeal to an independent physician (or take it, a physician)", run_route)
    route.add_argument("--to", required=True, metavar="USER", help="the physician")
    route.add_argument("--note", default="")

    standard = action("standard", "deny the request for an expedited appeal: it moves to the standard track",
                      run_standard)
    standard.add_argument("--reason", required=True, help="why waiting would not seriously harm the member's health")

    extend = action("extend", "extend the appeal's clock once, by up to 14 days", run_extend)
    extend.add_argument("--reason", required=True, choices=list(EXTENSION_REASONS))
    extend.add_argument("--note", required=True, help="why it is in the member's interest, or that they asked")
    extend.add_argument("--days", type=int, default=14, help="calendar days to add (1 to 14, default 14)")

    late = action("accept-late", "accept a late appeal for good cause (supervisors)", run_accept_late)
    late.add_argument("--note", required=True, help="the good cause")

    dismiss = action("dismiss", "dismiss an appeal not yet decided, with the reason (supervisors)", run_dismiss)
    dismiss.add_argument("--reason", required=True)

    task = action("task-done", "record an appeal task as done", run_task_done)
    task.add_argument("--task", required=True, choices=list(TASK_KINDS))
    task.add_argument("--note", default="")

    boss = actions.add_parser("set-supervisor", help="record whom a user reports to (administrators)")
    boss.add_argument("username")
    boss.add_argument("--supervisor", required=True, metavar="USER", help="their supervisor, or 'none'")
    boss.add_argument("--as", dest="actor", required=True, metavar="USER", help="acting administrator")
    add_store_option(boss)
    boss.set_defaults(handler=run_set_supervisor)

    tasks = actions.add_parser("tasks", help="open appeal tasks of every case, soonest due first")
    tasks.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    tasks.add_argument("--json", action="store_true", help="print a JSON list")
    add_store_option(tasks)
    tasks.set_defaults(handler=run_tasks)

    report = actions.add_parser("report", help="appeal counts, overturn rates and timeliness for a period")
    report.add_argument("--from", dest="first", type=_day, required=True, metavar="DATE", help="first day")
    report.add_argument("--to", dest="last", type=_day, required=True, metavar="DATE", help="last day, included")
    report.add_argument("--json", action="store_true")
    add_store_option(report)
    report.set_defaults(handler=run_report)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-01") from None


# ----- running an action -------------------------------------------------------------------------------------
def _result(appeal) -> dict:
    return {"tar": appeal.case.tar, "appeal_id": str(appeal.id), "status": appeal.status,
            "expedited": appeal.expedited, "timely": appeal.timely, "days_late": appeal.days_late,
            "aid_paid_pending": appeal.aid_paid_pending,
            "reviewer": appeal.reviewer.username if appeal.reviewer else None,
            "resolution_due": iso_plan(appeal.resolution_due_at), "result": appeal.result,
            "case_status": appeal.case.status, "case_outcome": appeal.case.outcome}


def _act(args: argparse.Namespace, action: Callable) -> int:
    def work(session):
        appeal = action(session)
        return _result(appeal), appeal.resolution_due_at

    result, due = write_in_store(args, work)
    if args.json:
        print_json(result)
    else:
        text = f"TAR {result['tar']}: appeal {status_label(result['status']).lower()}"
        text += f", {'expedited' if result['expedited'] else 'standard'}"
        if result["result"]:
            text += f"; {result['result']} (case {result['case_outcome']})"
        else:
            text += f"; resolve by {format_instant(due, year=True)}"
        if result["reviewer"]:
            text += f"; reviewer {result['reviewer']}"
        if not result["timely"]:
            text += f"; LATE by {result['days_late']} day(s)"
        if result["aid_paid_pending"]:
            text += "; the service continues during the appeal"
        print(text + ".")
    return 0


def run_file(args):
    from app.cli.deadlines import parse_instant

    received = parse_instant(args.received, "--received")
    return _act(args, lambda s: svc.file_appeal(
        s, args.tar, args.actor, filed_by=args.by, received_at=received, note=args.note, channel=args.channel,
        expedited=args.expedited, representative=args.representative, authorization=args.authorization,
        continue_service=args.keep_service, specialty=args.specialty, reviewer=args.reviewer))


def run_decide(args):
    from app.cli.case import _citations, _units

    units = _units(args.units)
    citations = _citations(args.criteria) if args.criteria is not None else None
    return _act(args, lambda s: svc.decide_appeal(s, args.tar, args.actor, result=args.result, reason=args.reason,
                                                  rationale=args.rationale, approve=units or None,
                                                  criteria=citations))


def run_route(args):
    return _act(args, lambda s: svc.route_appeal(s, args.tar, args.actor, args.to, note=args.note))


def run_standard(args):
    return _act(args, lambda s: svc.deny_expedited(s, args.tar, args.actor, reason=args.reason))


def run_extend(args):
    return _act(args, lambda s: svc.extend_appeal(s, args.tar, args.actor, reason=args.reason, note=args.note,
                                                  days=args.days))


def run_accept_late(args):
    return _act(args, lambda s: svc.accept_late_appeal(s, args.tar, args.actor, note=args.note))


def run_dismiss(args):
    return _act(args, lambda s: svc.dismiss_appeal(s, args.tar, args.actor, reason=args.reason))


def run_task_done(args):
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            task = svc.complete_task(session, args.tar, args.actor, task=args.task, note=args.note)
            result = {"tar": args.tar, "task": task.kind, "done_at": iso_plan(task.done_at), "note": task.note}
    except (svc.NotFound, svc.InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (svc.ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(result)
    else:
        print(f"TAR {args.tar}: task done: {TASK_KINDS[result['task']]}.")
    return 0


def run_set_supervisor(args):
    supervisor = None if args.supervisor.strip().lower() == "none" else args.supervisor.strip()
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            svc.set_supervisor(session, args.actor, args.username, supervisor)
    except (svc.NotFound, svc.InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (svc.ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    print(f"{args.username} reports to {supervisor or 'nobody'}.")
    return 0


# ----- reads ---------------------------------------------------------------------------------------------------
def run_show(args: argparse.Namespace) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            data = svc.show_appeals(session, args.tar, os_user(), viewer_kind="os-user")
    except svc.NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except AuditChainError as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(data)
        return 0
    if not data["appeals"]:
        print(f"TAR {data['tar']} · {data['member']}: no appeals.")
        return 0
    print(f"TAR {data['tar']} · {data['member']} · case {data['status']}, {data['outcome']}")
    for appeal in data["appeals"]:
        clocks = appeal["clocks"]
        print(f"  appeal received {appeal['received_at']} by {appeal['filed_by']} ({appeal['channel']}) · "
              f"{appeal['status_label']}" + (f" · {appeal['result']}" if appeal["result"] else ""))
        print(f"    {'expedited' if appeal['expedited'] else 'standard'}; notice {appeal['notice_date'] or 'none'}; "
              + ("timely" if appeal["timely"] else f"LATE by {appeal['days_late']} day(s)")
              + ("; aid paid pending" if appeal["aid_paid_pending"]["applies"] else ""))
        if "error" in clocks:
            print(f"    clocks: {clocks['error']}")
        else:
            print(f"    resolve by {clocks['resolution_due']} ({clocks['rule_set']})"
                  + (f"; acknowledge by {clocks['acknowledgement_due']}" if clocks["acknowledgement_due"] else "")
                  + (f"; BREACHED: {', '.join(clocks['breached'])}" if clocks["breached"] else ""))
        print(f"    specialty {appeal['specialty']}; reviewer {appeal['reviewer'] or 'none yet'}")
        for task in appeal["tasks"]:
            print(f"    task: {task['text']} (due {task['due']})" + (" · done" if task["done_at"] else ""))
        for letter in appeal["letters"]:
            print(f"    letter: {letter['kind']} to {letter['recipient']} ({letter['language']}) · {letter['status']}")
    return 0


def run_reviewers(args: argparse.Namespace) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session:
            choices = svc.reviewer_choices(session, args.tar)
    except svc.NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except svc.ActionRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    rows = [{"username": c.username, "full_name": c.full_name, "specialty": c.specialty,
             "open_appeals": c.open_appeals, "eligible": c.refusal is None, "reason": c.refusal} for c in choices]
    if args.json:
        print_json({"tar": args.tar, "reviewers": rows})
    else:
        for row in rows:
            print(f"{row['username']:<14} {(row['specialty'] or ''):<38} "
                  + ("eligible" if row["eligible"] else f"no: {row['reason']}"))
    return 0


def run_tasks(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise CliError("--limit must be zero (all) or more.", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        with store.session() as session:
            rows = [row.to_json() for row in svc.open_tasks(session, limit=args.limit or None)]
    finally:
        store.close()
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['tar']:<12} {row['due'] or '':<26} {row['text']}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from app.store.appeal_reports import appeal_report

    if args.last < args.first:
        raise CliError("--to is before --from; give the period's first day, then its last.", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        with store.session() as session:
            report = appeal_report(session, args.first, args.last)
    finally:
        store.close()
    if args.json:
        print_json(report)
        return 0
    filed, resolved = report["filed"], report["resolved"]
    print(f"Appeals {report['from']} to {report['to']} (plan time)")
    print(f"  filed: {filed['appeals']} ({', '.join(f'{k} {v}' for k, v in filed['by_filer'].items()) or 'none'}); "
          f"late {filed['late']}; expedited asked {filed['expedited_requested']}, denied {filed['expedited_denied']}; "
          f"aid paid pending {filed['aid_paid_pending']}; dismissed {filed['dismissed']}")
    rate = "n/a" if resolved["overturn_rate"] is None else f"{resolved['overturn_rate']}%"
    print(f"  resolved: {resolved['appeals']} (upheld {resolved['upheld']}, overturned {resolved['overturned']}, "
          f"partially overturned {resolved['partially_overturned']}); overturn rate {rate}; "
          f"late {resolved['resolved_late']}; open past due {report['open_past_due']}")
    return 0
