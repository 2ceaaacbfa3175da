"""`umws serve` and `umws server init|seed|devices|revoke|prune-changes`: the central store's sync service (issue 9).

    umws serve --database-url URL [--host 127.0.0.1] [--port 8765] [--ssl-certfile F --ssl-keyfile F]
    umws server init --database-url URL --admin NAME      # migrate, make the first administrator
    umws server seed --database-url URL --cases N         # demo data on the central store
    umws server devices --database-url URL [--json]
    umws server revoke DEVICE_ID --database-url URL --as ADMIN [--reason TEXT]
    umws server prune-changes --database-url URL --older-than DAYS --as ADMIN [--json]

Passwords come from the prompt or $UMWS_PASSWORD (never an argument); demo users get $UMWS_DEMO_PASSWORD when set,
else the README's. URLs are postgresql:// or postgresql+psycopg://; $UMWS_DATABASE_URL stands in for the option.
"""
from __future__ import annotations

import argparse
import getpass
import os
import uuid

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, open_store_for, print_json, warn

PASSWORD_ENV = "UMWS_PASSWORD"


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None, metavar="URL",
                        help="the central PostgreSQL store (postgresql://…); also $UMWS_DATABASE_URL")


def _central(args):
    url = args.database_url or os.environ.get("UMWS_DATABASE_URL")
    if not url or not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise CliError("give the central store as --database-url postgresql://user@host/db (or $UMWS_DATABASE_URL)",
                       EXIT_BAD_INPUT)
    args.database_url = url
    return url


def register(sub) -> None:
    serve = sub.add_parser("serve", help="run the sync service for laptops over the central store")
    _database(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--ssl-certfile", default=None, help="TLS certificate (PEM); or terminate TLS in a proxy")
    serve.add_argument("--ssl-keyfile", default=None, help="TLS private key (PEM)")
    serve.add_argument("--token-hours", type=int, default=8, help="how long a sign-in lasts (default 8 hours)")
    serve.set_defaults(handler=run_serve)

    parser = sub.add_parser("server", help="set up and administer the central store")
    actions = parser.add_subparsers(dest="server_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    init = actions.add_parser("init", help="bring the central store's schema up to date and make the first "
                                           "administrator (password from the prompt or $UMWS_PASSWORD)")
    _database(init)
    init.add_argument("--admin", required=True, metavar="NAME", help="the administrator's username")
    init.add_argument("--full-name", default=None)
    init.set_defaults(handler=run_init)
    seed = actions.add_parser("seed", help="add synthetic demo data to the central store")
    _database(seed)
    seed.add_argument("--cases", type=int, default=2000)
    seed.add_argument("--seed", type=int, default=None, help="random seed (same seed, same data)")
    seed.set_defaults(handler=run_seed)
    devices = actions.add_parser("devices", help="the laptops registered with the central store")
    _database(devices)
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(handler=run_devices)
    revoke = actions.add_parser("revoke", help="refuse a device from now on (a lost laptop; administrators)")
    revoke.add_argument("device_id")
    _database(revoke)
    revoke.add_argument("--as", dest="actor", required=True, metavar="ADMIN")
    revoke.add_argument("--reason", default="")
    revoke.set_defaults(handler=run_revoke)
    prune = actions.add_parser("prune-changes", help="delete the change log's rows older than DAYS (laptops that "
                                                     "last synced before them pull their queues again; "
                                                     "administrators)")
    _database(prune)
    prune.add_argument("--older-than", dest="older_than", type=float, required=True, metavar="DAYS",
                       help="keep the changes of the last DAYS days (e.g. 90)")
    prune.add_argument("--as", dest="actor", required=True, metavar="ADMIN")
    prune.add_argument("--json", action="store_true")
    prune.set_defaults(handler=run_prune_changes)


def read_password(prompt: str) -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt) as error:
        raise CliError(f"no password given (type it at the prompt, or set ${PASSWORD_ENV})", EXIT_BAD_INPUT) from error


def run_serve(args) -> int:
    from app.server.run import serve
    from app.store.errors import StoreError

    from app import logs

    url = _central(args)
    logs.configure()
    warn(f"umws: serving {args.host}:{args.port} over {url.split('@')[-1]}" + (" with TLS" if args.ssl_certfile else
         " without TLS: put a TLS proxy in front, or give --ssl-certfile/--ssl-keyfile"))
    try:
        serve(url, args.host, args.port, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
              token_hours=args.token_hours)
    except StoreError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    return 0


def run_init(args) -> int:
    from sqlalchemy import select

    from app.services import audit
    from app.services.auth import BadPassword, check_new_password, hash_password
    from app.store.models import User

    _central(args)
    store = open_store_for(args)
    try:
        with store.session() as session:
            existing = session.scalar(select(User).where(User.username == args.admin))
        if existing is not None:
            if existing.role != "administrator":
                raise CliError(f"'{args.admin}' exists and is not an administrator; choose another name",
                               EXIT_REFUSED)
            warn(f"umws: the central store is up to date; {args.admin} is already its administrator.")
            return 0
        password = read_password(f"Password for {args.admin}: ")
        try:
            check_new_password(password, args.admin)
        except BadPassword as error:
            raise CliError(str(error), EXIT_BAD_INPUT) from error
        with store.session() as session, session.begin():
            session.add(User(id=uuid.uuid4(), username=args.admin, full_name=args.full_name or "Administrator",
                             role="administrator", team=None, active=True, password_hash=hash_password(password)))
            session.flush()
            audit.append(session, actor=args.admin, actor_kind="user", action="access", what="administrator-created",
                         body={"details": {"username": args.admin}, "os_user": audit.os_user()})
    finally:
        store.close()
    warn(f"umws: central store ready; administrator {args.admin} created.")
    return 0


def run_seed(args) -> int:
    from app.services import demo

    _central(args)
    if args.cases < 0:
        raise CliError("--cases must be zero or more", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        result = demo.generate(store, args.cases, seed=args.seed)
    finally:
        store.close()
    warn(f"umws: added {result.cases:,} demo cases ({result.users} demo users) to the central store.")
    return 0


def run_devices(args) -> int:
    from app.server.accounts import devices

    _central(args)
    store = open_store_for(args)
    try:
        with store.session() as session:
            rows = devices(session)
    finally:
        store.close()
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            state = "REVOKED" if row["revoked"] else "active"
            clock = " clock off" if row["clock_flagged"] else ""
            print(f"{row['device_id']}  {row['name'][:30]:<30} {row['registered_by']:<16} {state}{clock}")
    return 0


def run_revoke(args) -> int:
    from app.server.accounts import AccessRefused, revoke_device

    _central(args)
    try:
        device = uuid.UUID(args.device_id)
    except ValueError as error:
        raise CliError(f"'{args.device_id}' is not a device id ('umws server devices' lists them)",
                       EXIT_BAD_INPUT) from error
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            revoked = revoke_device(session, device, by=args.actor, reason=args.reason)
            name = revoked.name
    except AccessRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    except LookupError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    finally:
        store.close()
    warn(f"umws: device {device} ('{name}') is revoked; the server refuses it from now on.")
    return 0


def run_prune_changes(args) -> int:
    import math
    from datetime import timedelta

    from app.server.accounts import AccessRefused
    from app.server.change_log import check_pruner, prune

    _central(args)
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            check_pruner(session, args.actor)  # authority before the request's details
            if not math.isfinite(args.older_than) or args.older_than < 0:
                raise CliError("--older-than must be a number of days, zero or more (e.g. 90)", EXIT_BAD_INPUT)
            done = prune(session, older_than=timedelta(days=args.older_than), by=args.actor)
    except AccessRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(done)
    else:
        print(f"{done['deleted']}\t{done['horizon']}")
    warn(f"umws: {done['deleted']:,} change-log rows older than {args.older_than:g} days deleted; laptops whose "
         f"last sync saw fewer than change {done['horizon']} pull their queues again at their next sync."
         if done["deleted"] else f"umws: no change-log rows older than {args.older_than:g} days; nothing deleted.")
    return 0
