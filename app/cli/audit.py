"""`umws audit verify|show`: walk the hash chains; print a case's audit history (issue 6, scope 6)."""
from __future__ import annotations

import argparse

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json
from app.domain.plantime import iso_plan
from app.services import audit
from app.services.cases import NotFound, case_by_tar
from app.store.audit_queries import case_history


def register(sub) -> None:
    parser = sub.add_parser("audit", help="the tamper-evident audit trail")
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    verify = actions.add_parser("verify", help="walk every chain and check the dates on the cases against it; "
                                               "exit 3 naming the first altered, inserted or deleted record")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--server", nargs="?", const="", default=None, metavar="URL",
                        help="also check the merged log on the sync server (default: the one signed in to) and "
                             "that its copy of this laptop's chain matches the one here")
    add_store_option(verify)
    verify.set_defaults(handler=run_verify)
    show = actions.add_parser("show", help="a case's audit history (who, when, what, before and after)")
    show.add_argument("--case", required=True, metavar="TAR", dest="tar")
    show.add_argument("--json", action="store_true", help="print a JSON list")
    add_store_option(show)
    show.set_defaults(handler=run_show)


def run_verify(args: argparse.Namespace) -> int:
    if args.server is not None:
        from app.cli.audit_server import run_verify_server

        return run_verify_server(args)
    store = open_store_for(args)
    try:
        report = audit.verify(store)
    finally:
        store.close()
    if args.json:
        print_json(report.to_json())
    else:
        for chain in report.chains:
            state = "intact" if chain.problem is None else chain.problem.kind
            print(f"device {chain.device}: {chain.records} records, head {chain.head_seq}, {state}")
        for problem in report.case_problems:
            print(problem.message)
    if not report.ok:
        raise CliError(f"the audit trail is broken: {report.first_problem.message}", EXIT_REFUSED)
    if not args.json:
        print(f"Audit trail intact: {report.records} records in {len(report.chains)} chain(s); the received, "
              f"decided and notified dates of {report.cases_checked} case(s) match it.")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            case = case_by_tar(session, args.tar)
            rows = case_history(session, case.id)
            audit.record_view(session, actor=audit.os_user(), actor_kind="os-user", what="audit-history",
                              case_id=case.id, tar=case.tar, details={"via": "umws audit show"})
    except NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except audit.AuditChainError as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    for row in rows:
        row["recorded_at"] = iso_plan(row["recorded_at"])
        row["tar"] = args.tar
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            changed = ", ".join(f"{k}: {row['before'].get(k)} → {v}" for k, v in (row["after"] or {}).items())
            print(f"{row['recorded_at']}  #{row['seq']:<6} {row['actor']:<16} {row['action']:<7} {row['what']:<24} "
                  f"{changed}")
    return 0
