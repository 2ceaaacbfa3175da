"""`umws case claim|assign`: the worklist actions, through the same service code as the GUI.

`--as` selects the acting user on the local store: an administrator's tool (sign-in with passwords arrives with the
workflow issue). Refusals exit 3 and say who may act.
"""
from __future__ import annotations

import argparse

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json
from app.services.cases import ActionRefused, NotFound, assign_case, claim_case


def register(sub) -> None:
    parser = sub.add_parser("case", help="act on a case")
    actions = parser.add_subparsers(dest="case_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    claim = actions.add_parser("claim", help="take an unassigned case into your own worklist")
    claim.add_argument("tar", help="TAR number")
    claim.add_argument("--as", dest="actor", required=True, help="acting username")
    claim.add_argument("--json", action="store_true")
    add_store_option(claim)
    claim.set_defaults(handler=run_claim)
    assign = actions.add_parser("assign", help="give a case to a reviewer (supervisors)")
    assign.add_argument("tar", help="TAR number")
    assign.add_argument("--to", required=True, help="username of the reviewer")
    assign.add_argument("--as", dest="actor", required=True, help="acting username")
    assign.add_argument("--note", default="", help="why (shown on the timeline)")
    assign.add_argument("--json", action="store_true")
    add_store_option(assign)
    assign.set_defaults(handler=run_assign)


def _act(args: argparse.Namespace, action) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            case = action(session)
            result = {"tar": case.tar, "status": case.status,
                      "assignee": case.assignee.username if case.assignee else None}
    except NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except ActionRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(result)
    else:
        print(f"TAR {result['tar']}: {result['status']}, held by {result['assignee']}.")
    return 0


def run_claim(args: argparse.Namespace) -> int:
    return _act(args, lambda session: claim_case(session, args.tar, args.actor))


def run_assign(args: argparse.Namespace) -> int:
    return _act(args, lambda session: assign_case(session, args.tar, args.actor, args.to, args.note))
