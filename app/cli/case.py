"""`umws case ...`: list and show cases, and every workflow action, through the same service code as the GUI.

`--as USERNAME` selects the acting user on the store: an administrator's tool for scripting and checks (the GUI
signs users in with their passwords). Each action obeys the same authority rules and writes the same events and
audit records as the GUI. Reads (`list`, `show`) are audited under the operating-system user.
Exit codes: 0 done, 2 bad input (nothing written), 3 refused by a rule or by authority (the message says who may).
"""
from __future__ import annotations

import argparse
from typing import Callable

from app.cli import (EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, case_action_adder, open_store_for,
                     print_json, write_in_store)
from app.domain.authority import BASES, CRITERIA_RESULTS, EXTENSION_REASONS
from app.domain.case_states import NOTICE_RECIPIENTS, REFERRAL_TARGETS, REOPEN_REASONS, STATES
from app.domain.plantime import format_instant, iso_plan
from app.services import cases as svc
from app.services.audit import AuditChainError, os_user, record_view
from app.store.case_queries import STATUS_FILTERS, case_json, list_cases

OUTCOME_CHOICES = ("approve", "partial", "deny")


def register(sub) -> None:
    parser = sub.add_parser("case", help="list, show and act on cases")
    actions = parser.add_subparsers(dest="case_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    action = case_action_adder(actions)

    listing = actions.add_parser("list", help="cases, nearest decision due first")
    listing.add_argument("--status", choices=STATUS_FILTERS, metavar="open|closed|STATE",
                         help=f"open, closed, or one state: {', '.join(STATES)}")
    listing.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    add_store_option(listing)
    listing.set_defaults(handler=run_list)

    action("show", "the case, its lines, codes, clocks and timeline", run_show, actor=False)

    action("actions", "which actions the user may take on the case now, and why not the others", run_actions)

    action("claim", "take an unassigned case into your own worklist", run_claim)

    assign = action("assign", "give a case to a reviewer (supervisors)", run_assign)
    assign.add_argument("--to", required=True, metavar="USER", help="username of the reviewer")
    assign.add_argument("--note", default="", help="why (shown on the timeline)")

    pend = action("pend", "pend for information (the clock keeps running)", run_pend)
    pend.add_argument("--note", required=True, help="what is missing (or a note, with --missing)")
    pend.add_argument("--missing", action="append", default=[], metavar="ITEM",
                      help="one missing item (repeatable); without it, --note says what is missing")

    resume = action("resume", "the information asked for arrived", run_resume)
    resume.add_argument("--note", default="", help="what arrived")

    refer = action("refer", "refer to a physician, a clinical pharmacist or a same-specialty reviewer", run_refer)
    refer.add_argument("--to", required=True, choices=list(REFERRAL_TARGETS), help="referral target")
    refer.add_argument("--note", required=True, help="the summary for the reviewer")
    refer.add_argument("--question", default="", help="the question for the reviewer")
    refer.add_argument("--specialty", default=None, help="the reviewer's specialty (same-specialty)")
    refer.add_argument("--to-user", default=None, metavar="USER", help="give it to this reviewer directly")
    refer.add_argument("--criteria-result", default=None, choices=list(CRITERIA_RESULTS),
                       help="the criteria result found before referring (shown to the reviewer with the summary)")

    extend = action("extend", "extend the decision clock (nurses and physicians)", run_extend)
    extend.add_argument("--reason", required=True, choices=list(EXTENSION_REASONS))
    extend.add_argument("--note", required=True, help="why the extension is in the member's interest")

    decide = action("decide", "approve, approve in part, or deny", run_decide)
    decide.add_argument("--outcome", required=True, choices=OUTCOME_CHOICES)
    decide.add_argument("--basis", choices=list(BASES), default="medical-necessity",
                        help="medical-necessity (default) or benefit (coverage not about medical necessity)")
    decide.add_argument("--reason", required=True, help="the clinical rationale")
    decide.add_argument("--member-reason", default=None,
                        help="the reason for the member in plain language (default: --reason)")
    decide.add_argument("--criteria", action="append", default=[], metavar="SET_ID[@VERSION]",
                        help="criteria set cited (repeatable; optional for a physician)")
    decide.add_argument("--criteria-result", choices=list(CRITERIA_RESULTS), default=None,
                        help="the checklist's result (default: criteria-met when approving with --criteria, "
                             "not-met when denying or modifying with --criteria, else unknown)")
    decide.add_argument("--units", action="append", default=[], metavar="LINE=UNITS",
                        help="approved units of a line (repeatable; needed for --outcome partial)")

    withdraw = action("withdraw", "record that the request was withdrawn", run_withdraw)
    withdraw.add_argument("--note", required=True, help="how the withdrawal came")
    withdraw.add_argument("--by", choices=("provider", "member"), default="provider")

    close_admin = action("close-admin", "close a request administratively (e.g. a duplicate)", run_close_admin)
    close_admin.add_argument("--reason", required=True)

    notify = action("notify", "record that a determination's notice was sent", run_notify)
    notify.add_argument("--recipient", required=True, choices=list(NOTICE_RECIPIENTS))
    notify.add_argument("--method", default="fax", help="fax, mail, phone, electronic (default fax)")
    notify.add_argument("--sent-at", default=None, metavar="ISO8601", help="when it was sent (default: now)")

    close = action("close", "close a determined case once its notices are recorded", run_close)
    close.add_argument("--note", default="")

    reopen = action("reopen", "record a peer-to-peer or appeal outcome that reopens a case (physicians)",
                    run_reopen)
    reopen.add_argument("--reason", required=True, choices=list(REOPEN_REASONS))
    reopen.add_argument("--note", required=True, help="the outcome")

    correct = action("correct-received", "correct the received date-time (nurse supervisors)", run_correct)
    correct.add_argument("--received", required=True, metavar="ISO8601",
                         help="the corrected receipt (without an offset: plan time)")
    correct.add_argument("--reason", required=True)

    involvement = action("involvement", "record involvement in the member's care (conflict of interest)",
                         run_involvement)
    involvement.add_argument("--note", required=True, help="how the user is involved")
    involvement.add_argument("--user", default=None, metavar="USER",
                             help="the involved user (default: the acting user; others: supervisors)")

    from app.cli import case_export  # umws case export TAR --format fhir (issue 11)

    case_export.register(actions)

    from app.cli import case_documents  # issue 9: the intake documents' files, wherever they are

    case_documents.register(actions)


# ----- running an action -------------------------------------------------------------------------------------
def _result(case, short: bool) -> dict:
    result = {"tar": case.tar, "status": case.status,
              "assignee": case.assignee.username if case.assignee else None}
    if not short:
        result.update({"outcome": case.outcome, "decided_at": iso_plan(case.decided_at),
                       "decision_due": iso_plan(case.decision_due_at), "extensions_taken": case.extensions_taken,
                       "version": case.version})
    return result


def _act(args: argparse.Namespace, action: Callable, *, short: bool = False) -> int:
    def work(session):
        case = action(session)
        return case, _result(case, short)

    case, result = write_in_store(args, work)
    if args.json:
        print_json(result)
    else:
        text = f"TAR {result['tar']}: {result['status']}, held by {result['assignee'] or 'nobody'}"
        if result.get("outcome"):
            text += f"; {result['outcome']}"
        if result.get("decision_due") and result["status"] not in ("determined", "notified", "closed"):
            text += f"; decision due {format_instant(case.decision_due_at, year=True)}"
        print(text + ".")
    return 0


def run_claim(args):
    return _act(args, lambda s: svc.claim_case(s, args.tar, args.actor), short=True)


def run_assign(args):
    return _act(args, lambda s: svc.assign_case(s, args.tar, args.actor, args.to, args.note), short=True)


def run_pend(args):
    if args.missing:
        missing, note = args.missing, args.note
    else:
        missing, note = [args.note], ""
    return _act(args, lambda s: svc.pend_case(s, args.tar, args.actor, missing=missing, note=note))


def run_resume(args):
    return _act(args, lambda s: svc.record_information_received(s, args.tar, args.actor, note=args.note))


def run_refer(args):
    return _act(args, lambda s: svc.refer_case(s, args.tar, args.actor, to=args.to, summary=args.note,
                                               question=args.question, specialty=args.specialty,
                                               to_user=args.to_user, criteria_result=args.criteria_result))


def run_extend(args):
    return _act(args, lambda s: svc.extend_case(s, args.tar, args.actor, reason=args.reason, note=args.note))


def _units(items: list[str]) -> dict[int, int]:
    units = {}
    for item in items:
        line, sep, count = item.partition("=")
        if not sep or not line.strip().isdigit() or not count.strip().isdigit():
            raise CliError(f"--units '{item}' is not LINE=UNITS (e.g. --units 1=3)", EXIT_BAD_INPUT)
        units[int(line)] = int(count)
    return units


def _citations(items: list[str]) -> list[svc.CriteriaCitation]:
    citations = []
    for item in items:
        set_id, _, version = item.partition("@")
        if not set_id.strip():
            raise CliError(f"--criteria '{item}' names no criteria set", EXIT_BAD_INPUT)
        citations.append(svc.CriteriaCitation(set_id.strip(), version.strip() or None))
    return citations


def run_decide(args):
    citations = _citations(args.criteria)
    result = args.criteria_result
    if result is None and citations:
        # Citing a set says what the reviewer found in it: met for an approval, not met for a denial or modification.
        result = "criteria-met" if args.outcome == "approve" else "not-met"
    units = _units(args.units)
    return _act(args, lambda s: svc.decide_case(
        s, args.tar, args.actor, outcome=args.outcome, basis=args.basis, rationale=args.reason,
        member_reason=args.member_reason if args.member_reason is not None else args.reason,
        criteria=citations, criteria_result=result, lines=units or None))


def run_withdraw(args):
    return _act(args, lambda s: svc.withdraw_case(s, args.tar, args.actor, note=args.note, withdrawn_by=args.by))


def run_close_admin(args):
    return _act(args, lambda s: svc.close_administratively(s, args.tar, args.actor, reason=args.reason))


def run_notify(args):
    from app.cli.deadlines import parse_instant

    sent = parse_instant(args.sent_at, "--sent-at") if args.sent_at else None
    return _act(args, lambda s: svc.record_notification(s, args.tar, args.actor, recipient=args.recipient,
                                                        method=args.method, sent_at=sent))


def run_close(args):
    return _act(args, lambda s: svc.close_case(s, args.tar, args.actor, note=args.note))


def run_reopen(args):
    return _act(args, lambda s: svc.reopen_case(s, args.tar, args.actor, reason=args.reason, note=args.note))


def run_correct(args):
    from app.cli.deadlines import parse_instant

    received = parse_instant(args.received, "--received")
    return _act(args, lambda s: svc.correct_received_date(s, args.tar, args.actor, received_at=received,
                                                          reason=args.reason))


def run_involvement(args):
    return _act(args, lambda s: svc.declare_involvement(s, args.tar, args.actor, note=args.note,
                                                        involved_username=args.user))


# ----- reads ---------------------------------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise CliError("--limit must be zero (all) or more.", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            rows = list_cases(session, args.status, limit=args.limit or None)
            record_view(session, actor=os_user(), actor_kind="os-user", what="case-list",
                        details={"status": args.status, "count": len(rows), "via": "umws case list"})
    except AuditChainError as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['tar']:<12} {row['status']:<10} {(row['outcome'] or ''):<24} {row['member'][:26]:<26} "
                  f"{row['service'][:36]:<36} {row['due'] or '':<26} {row['assignee'] or ''}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            case = svc.case_by_tar(session, args.tar)
            record_view(session, actor=os_user(), actor_kind="os-user", what="case", case_id=case.id, tar=case.tar,
                        details={"via": "umws case show"})
            data = case_json(session, case)
    except svc.NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except AuditChainError as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(data)
    else:
        _print_case(data)
    return 0


def _print_case(data: dict) -> None:
    print(f"TAR {data['tar']} · {data['member']['name']} (CIN {data['member']['cin']})")
    print(f"  {data['line_of_business']} · {data['service_category']} · {data['review_timing']} · {data['urgency']}")
    print(f"  status {data['status']}" + (f" · {data['outcome']}" if data["outcome"] else "")
          + f" · held by {data['assignee'] or 'nobody'}")
    print(f"  received {data['received_at']} · decision due {data['decision_due_at']}"
          + (f" · decided {data['decided_at']}" if data["decided_at"] else ""))
    for line in data["lines"]:
        approved = "" if line["approved_units"] is None else f" → {line['approved_units']} approved"
        print(f"  line {line['line_number']}: {line['code']} {line['description']} × {line['units']}{approved}")
    for dx in data["diagnoses"]:
        print(f"  dx {dx['rank']}: {dx['code']} {dx['description']}")
    clocks = data["clocks"]
    if "error" in clocks:
        print(f"  clocks: {clocks['error']}")
    else:
        print(f"  clocks: decision {clocks['decision_due']} ({clocks['decision_rule']}), notification "
              f"{clocks['notification_due']}, member notice {clocks['member_notice_due']}"
              + (f"; breached: {', '.join(clocks['breached'])}" if clocks["breached"] else ""))
    print("  timeline:")
    for event in data["timeline"]:
        print(f"    {event['at']}  {event['actor'] or 'system':<14} {event['kind']}")


def run_actions(args: argparse.Namespace) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session:
            available = svc.available_actions(session, args.tar, args.actor)
    except svc.NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except svc.ActionRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    result = {"tar": args.tar, "username": args.actor,
              "actions": {name: {"allowed": refusal is None, "reason": refusal.reason if refusal else None,
                                 "who": list(refusal.who) if refusal else []}
                          for name, refusal in available.items()}}
    if args.json:
        print_json(result)
    else:
        for name, info in result["actions"].items():
            print(f"{name:<24} {'yes' if info['allowed'] else 'no: ' + info['reason']}")
    return 0
