"""`umws intake ...`: import PAS bundles and CSV batches, print the CSV template, ask the prior-authorization list.

    umws intake import FILE --as USER [--received ISO8601] [--json]
    umws intake template --format csv
    umws intake close-no-auth TAR --as USER [--method fax] [--json]
    umws intake auth-check CODE... [--lob medi-cal] [--pos 11] [--network in-network] [--date YYYY-MM-DD] [--json]

`import` validates the whole file before anything is written (a refusal lists every problem on stderr, exit 2),
then imports it in one transaction and prints `created` (the new TAR numbers), `duplicates` (existing TARs it
matched: imported before, or an open case of the same member for an overlapping service, which the request is
added to) and `problems` (what pended each new case). Importing the same file again creates nothing. A bundle's
receipt is `--received` (default now: when the plan received it, not when its sender made it); a CSV row carries its
own `received_at`. `template` and `auth-check` need no store and never create one.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json


def register(sub) -> None:
    parser = sub.add_parser("intake", help="import requests (PAS bundles, CSV batches), the CSV template, the "
                                           "prior-authorization list")
    actions = parser.add_subparsers(dest="intake_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    run = actions.add_parser("import", help="import a FHIR PAS bundle (.json) or a CSV batch (.csv)")
    run.add_argument("file", help="the bundle or CSV file")
    run.add_argument("--as", dest="actor", required=True, metavar="USER",
                     help="who enters the requests (a UM coordinator, nurse or nurse supervisor)")
    run.add_argument("--received", default=None, metavar="ISO8601",
                     help="when the plan received a bundle (default: now; without an offset: plan time)")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_option(run)
    run.set_defaults(handler=run_import)

    close = actions.add_parser("close-no-auth", help="close a request flagged as needing no prior authorization, "
                                                      "with the provider notice")
    close.add_argument("tar", help="TAR number")
    close.add_argument("--as", dest="actor", required=True, metavar="USER", help="a nurse, pharmacist or physician")
    close.add_argument("--method", default="fax", help="how the provider is told (default fax)")
    close.add_argument("--json", action="store_true", help="print one JSON object")
    add_store_option(close)
    close.set_defaults(handler=run_close_no_auth)

    template = actions.add_parser("template", help="print the header of an importable CSV file")
    template.add_argument("--format", required=True, choices=("csv",))
    template.set_defaults(handler=run_template)

    check = actions.add_parser("auth-check", help="does a service need prior authorization (or go elsewhere)?")
    check.add_argument("codes", nargs="+", metavar="CODE", help="CPT/HCPCS codes (or an NDC)")
    check.add_argument("--lob", default="medi-cal", choices=("medi-cal", "medicare"))
    check.add_argument("--pos", default="11", help="place of service (default 11, office)")
    check.add_argument("--network", default="in-network", choices=("in-network", "out-of-network", "unknown"))
    check.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="date of service (default today)")
    check.add_argument("--json", action="store_true", help="print a JSON list")
    check.set_defaults(handler=run_auth_check)


def run_template(args: argparse.Namespace) -> int:
    from app.domain.intake.csvfile import template

    sys.stdout.write(template())
    return 0


def run_import(args: argparse.Namespace) -> int:
    from app.cli.deadlines import parse_instant
    from app.domain.intake.errors import UnreadableRequest
    from app.services import intake
    from app.services.audit import AuditChainError
    from app.services.cases import ActionRefused, InvalidInput, NotFound

    received = parse_instant(args.received, "--received") if args.received else None
    path = Path(args.file)
    store = open_store_for(args)
    try:
        with store.session() as session:  # authority before anything else about the action
            intake.intake_user(session, args.actor)
        drafts = intake.read_requests(path, received)
        with store.session() as session, session.begin():
            report = intake.import_requests(session, drafts, args.actor, file=path.name)
    except UnreadableRequest as error:
        for line in error.lines():
            print(f"umws: {line}", file=sys.stderr)
        raise CliError(f"nothing was imported from {error.file}: correct the file and import it again",
                       EXIT_BAD_INPUT) from error
    except (NotFound, InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(report.to_json())
        return 0
    print(f"{path.name}: {len(report.created)} case(s) created, {len(report.duplicates)} duplicate(s).")
    for tar in report.created:
        print(f"created   {tar}")
    for duplicate in report.duplicates:
        print(f"duplicate {duplicate['tar'] or '-':<12} {duplicate['source']}: {duplicate['why']}")
    for problem in report.problems:
        print(f"pended    {problem['tar']}: {'; '.join(problem['missing'])}")
    for flagged in report.flags:
        print(f"flagged   {flagged['tar']}: {', '.join(flagged['flags'])}")
    return 0


def run_close_no_auth(args: argparse.Namespace) -> int:
    from app.services import intake
    from app.services.audit import AuditChainError
    from app.services.cases import ActionRefused, InvalidInput, NotFound

    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            case = intake.close_no_auth_required(session, args.tar, args.actor, method=args.method)
            result = {"tar": case.tar, "status": case.status, "outcome": case.outcome}
    except (NotFound, InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(result)
    else:
        print(f"TAR {result['tar']}: closed administratively (no prior authorization required); provider notice "
              f"recorded ({args.method}).")
    return 0


def run_auth_check(args: argparse.Namespace) -> int:
    from app.domain.intake.authlist import default_auth_list
    from app.domain.plantime import PLAN_TZ
    from datetime import datetime

    try:
        on = date.fromisoformat(args.date) if args.date else datetime.now(PLAN_TZ).date()
    except ValueError:
        raise CliError(f"--date '{args.date}' is not a date YYYY-MM-DD", EXIT_BAD_INPUT) from None
    rules = default_auth_list()
    answers = []
    for number, code in enumerate(args.codes, start=1):
        need = rules.need(number, code, lob=args.lob, pos=args.pos, network=args.network, on=on)
        redirections = rules.redirections([code], [], lob=args.lob, age=None)
        answers.append({**need.to_json(), "redirections": [r.to_json() for r in redirections]})
    if args.json:
        print_json(answers)
    else:
        for answer in answers:
            word = "needs prior authorization" if answer["required"] else "no prior authorization"
            print(f"{answer['code']:<12} {word}: {answer['reason']}")
            for redirection in answer["redirections"]:
                print(f"{'':<12} redirect to {redirection['redirect_to']}")
    return 0
