"""`umws users list|set-password|unlock`: the store's user accounts (issue 6, scope 1)."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json
from app.domain.plantime import iso_plan
from app.domain.roles import role_label
from app.services import auth
from app.store.models import User


def register(sub) -> None:
    parser = sub.add_parser("users", help="user accounts")
    actions = parser.add_subparsers(dest="users_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    listing = actions.add_parser("list", help="every user: role, team, credential, account state")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    add_store_option(listing)
    listing.set_defaults(handler=run_list)
    password = actions.add_parser("set-password", help="set a user's password (administrators), read from stdin")
    password.add_argument("username")
    password.add_argument("--as", dest="actor", required=True, metavar="USER", help="acting administrator")
    password.add_argument("--password-stdin", action="store_true", required=True,
                          help="read the new password from the first line of standard input")
    add_store_option(password)
    password.set_defaults(handler=run_set_password)
    unlock = actions.add_parser("unlock", help="lift a sign-in lock before it runs out (administrators)")
    unlock.add_argument("username")
    unlock.add_argument("--as", dest="actor", required=True, metavar="USER", help="acting administrator")
    add_store_option(unlock)
    unlock.set_defaults(handler=run_unlock)


def run_list(args: argparse.Namespace) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session:
            users = session.scalars(select(User).order_by(User.username)).all()
            rows = [{"username": u.username, "full_name": u.full_name, "role": u.role,
                     "role_label": role_label(u.role), "team": u.team, "credential": u.credential,
                     "specialty": u.specialty, "active": u.active, "account": auth.account_state(u),
                     "locked_until": iso_plan(u.locked_until), "last_sign_in_at": iso_plan(u.last_sign_in_at)}
                    for u in users]
    finally:
        store.close()
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['username']:<20} {row['role_label']:<36} {row['team'] or '':<11} "
                  f"{row['credential'] or '':<7} {row['account']}")
    return 0


def _admin_act(args: argparse.Namespace, action) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            action(session)
    except (LookupError, auth.BadPassword) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except auth.AuthRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    return 0


def run_set_password(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("no password on standard input", EXIT_BAD_INPUT)
    code = _admin_act(args, lambda s: auth.set_password(s, args.username, password, by=args.actor))
    print(f"Password set for {args.username}.", file=sys.stderr)
    return code


def run_unlock(args: argparse.Namespace) -> int:
    code = _admin_act(args, lambda s: auth.unlock_account(s, args.username, by=args.actor))
    print(f"{args.username} may sign in again.", file=sys.stderr)
    return code
