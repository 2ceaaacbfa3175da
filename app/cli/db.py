"""`umws db upgrade` and `umws db status`: the store's schema (issue 3, scope 4)."""
from __future__ import annotations

import argparse

from app.cli import add_store_option, open_store_for, print_json


def register(sub) -> None:
    parser = sub.add_parser("db", help="the store's schema")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    upgrade = actions.add_parser("upgrade", help="bring the store's schema up to this version of the workstation")
    add_store_option(upgrade)
    upgrade.set_defaults(handler=run_upgrade)
    status = actions.add_parser("status", help="show the store's location and schema revision")
    status.add_argument("--json", action="store_true")
    add_store_option(status)
    status.set_defaults(handler=run_status)


def run_upgrade(args: argparse.Namespace) -> int:
    from app.store import migrate

    store = open_store_for(args, upgrade=False)
    try:
        before = migrate.current_revision(store.engine)
        migrate.upgrade(store.engine)
        after = migrate.current_revision(store.engine)
    finally:
        store.close()
    print(f"Store {store.location}: schema {before or 'empty'} -> {after}.")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from app.store import keys, migrate

    store = open_store_for(args, upgrade=False)
    try:
        status = {
            "store": store.location,
            "engine": store.engine.dialect.name,
            "revision": migrate.current_revision(store.engine),
            "head": migrate.head_revision(),
            "keyring": keys.describe_backend() if store.is_sqlite else None,
        }
    finally:
        store.close()
    if args.json:
        print_json(status)
    else:
        for key, value in status.items():
            print(f"{key}: {value}")
    return 0
