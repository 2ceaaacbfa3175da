"""`umws login`, `umws sync`, `umws sync status`, `umws conflicts ...`: the laptop's side of sync (issue 9).

    umws login --server URL --user NAME      # password from the prompt or $UMWS_PASSWORD; token in the keyring
    umws logout
    umws sync [--server URL] [--json]        # push the outbox, pull the user's queues
    umws sync status [--json]                # {"pending", "last_sync", "conflicts", "server", ...}
    umws conflicts list [--all] [--json]
    umws conflicts show ID [--json]
    umws conflicts resolve ID --as USER --keep theirs|mine|both | --reassign-to USER [--note TEXT]

Exit codes: 0 done (conflicts, if any, are listed on stderr), 1 the server could not be reached (nothing lost),
2 bad input, 3 refused (sign in again, a revoked laptop, versions that do not match: the message says what to do).
"""
from __future__ import annotations

import argparse

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNEXPECTED, CliError, add_store_option, open_store_for, \
    print_json, warn


def register(sub) -> None:
    login = sub.add_parser("login", help="sign in to the sync server (registers this laptop as a device)")
    login.add_argument("--server", required=True, metavar="URL", help="e.g. https://umws.plan.example:8765")
    login.add_argument("--user", required=True, metavar="NAME")
    login.add_argument("--device-name", default=None, help="how the administrator sees this laptop (default: "
                                                          "its host name)")
    add_store_option(login)
    login.set_defaults(handler=run_login)
    logout = sub.add_parser("logout", help="forget this laptop's sign-in token")
    add_store_option(logout)
    logout.set_defaults(handler=run_logout)

    sync = sub.add_parser("sync", help="send this laptop's changes and bring down the user's queues")
    sync.add_argument("--server", default=None, metavar="URL", help="the sync server (default: the one signed in to)")
    sync.add_argument("--json", action="store_true")
    add_store_option(sync)
    sync.set_defaults(handler=run_sync)
    sync_actions = sync.add_subparsers(dest="sync_action", metavar="ACTION", parser_class=type(sync))
    status = sync_actions.add_parser("status", help="changes waiting, last sync, open conflicts, server")
    status.add_argument("--json", action="store_true")
    add_store_option(status)
    status.set_defaults(handler=run_status)

    conflicts = sub.add_parser("conflicts", help="changes that could not stand with the central store's")
    actions = conflicts.add_subparsers(dest="conflicts_action", metavar="ACTION", parser_class=type(conflicts))
    actions.required = True
    listing = actions.add_parser("list", help="open conflicts (with --all, resolved ones too)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    add_store_option(listing)
    listing.set_defaults(handler=run_conflicts_list)
    show = actions.add_parser("show", help="both versions of a conflict")
    show.add_argument("conflict_id")
    show.add_argument("--json", action="store_true")
    add_store_option(show)
    show.set_defaults(handler=run_conflicts_show)
    resolve = actions.add_parser("resolve", help="decide a conflict (an event on the case)")
    resolve.add_argument("conflict_id")
    resolve.add_argument("--as", dest="actor", required=True, metavar="USER")
    choice = resolve.add_mutually_exclusive_group(required=True)
    choice.add_argument("--keep", choices=("theirs", "mine", "both"))
    choice.add_argument("--reassign-to", default=None, metavar="USER")
    resolve.add_argument("--note", default="")
    resolve.add_argument("--json", action="store_true")
    add_store_option(resolve)
    resolve.set_defaults(handler=run_conflicts_resolve)


def _sync_errors(error) -> CliError:
    from app.sync.api import Offline

    return CliError(str(error), EXIT_UNEXPECTED if isinstance(error, Offline) else EXIT_REFUSED)


def run_login(args) -> int:
    from app.cli.server import read_password
    from app.sync import client
    from app.sync.api import SyncError

    password = read_password(f"Password for {args.user} on {args.server}: ")
    store = open_store_for(args)
    try:
        answer = client.login(store, args.server, args.user, password, device_name=args.device_name)
    except ValueError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except SyncError as error:
        raise _sync_errors(error) from error
    finally:
        store.close()
    warn(f"umws: signed in to {args.server} as {answer['username']} until {answer['expires_at']}; this laptop is "
         f"device {answer['device_id']}. Run 'umws sync' to bring down your queues.")
    return 0


def run_logout(args) -> int:
    from app.sync import client

    store = open_store_for(args)
    try:
        client.logout(store)
    finally:
        store.close()
    warn("umws: signed out; changes made from now on wait on this laptop until you sign in again.")
    return 0


def run_sync(args) -> int:
    from app.sync import client
    from app.sync.api import SyncError

    store = open_store_for(args)
    try:
        report = client.sync(store, server=args.server)
    except ValueError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except SyncError as error:
        raise _sync_errors(error) from error
    finally:
        store.close()
    if args.json:
        print_json(report.to_json())
    else:
        print(f"Synced with {report.server}: {report.pushed} change(s) sent ({report.applied} applied, "
              f"{report.merged} merged, {report.conflicts} conflict(s)), {report.pulled_cases} case(s) received, "
              f"{report.removed} removed"
              + (f", {report.echoes} change(s) confirmed as made here (their cases not sent back)"
                 if report.echoes else "")
              + (f", {report.documents_uploaded} document file(s) sent" if report.documents_uploaded else "") + ".")
    if report.conflicts:
        warn(f"umws: {report.conflicts} change(s) became conflicts: 'umws conflicts list' shows them.")
    if report.skipped:
        warn(f"umws: {len(report.skipped)} case(s) with changes not yet sent were left as they are.")
    if report.stopped:
        warn(f"umws: {report.stopped}")
    if report.clock:
        warn(f"umws: {report.clock}")
    for warning in report.warnings:  # documents' files missing or changed on disk; queues pulled again (horizon)
        warn(f"umws: warning: {warning}")
    return 0


def run_status(args) -> int:
    from app.sync import client

    store = open_store_for(args)
    try:
        state = client.status(store)
    finally:
        store.close()
    if args.json:
        print_json(state)
    else:
        print(f"server: {state['server'] or 'not signed in'}\nuser: {state['user'] or '-'}\n"
              f"pending: {state['pending']}\nlast sync: {state['last_sync'] or 'never'}\n"
              f"conflicts: {state['conflicts']}")
        if state["last_error"]:
            print(f"last problem: {state['last_error']}")
        if state["clock"]:
            print(f"clock: {state['clock']}")
    return 0


def run_conflicts_list(args) -> int:
    from app.services.conflicts import conflict_json, open_conflicts

    store = open_store_for(args)
    try:
        with store.session() as session:
            rows = [conflict_json(c) for c in open_conflicts(session, include_resolved=args.all)]
    finally:
        store.close()
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            state = f"resolved ({row['resolution']})" if row["resolved"] else "open"
            print(f"{row['id']}  TAR {row['tar'] or '-':<12} {row['intent']:<22} {row['username']:<16} "
                  f"{row['kind']:<10} {state}")
    return 0


def run_conflicts_show(args) -> int:
    from app.services.cases import InvalidInput, NotFound
    from app.services.conflicts import conflict_by_id, conflict_json, payload_lines

    store = open_store_for(args)
    try:
        with store.session() as session:
            row = conflict_json(conflict_by_id(session, args.conflict_id))
    except (InvalidInput, NotFound) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    finally:
        store.close()
    if args.json:
        print_json(row)
    else:
        print(f"TAR {row['tar']}: {row['intent']} by {row['username']} ({row['kind']})\n  {row['reason']}")
        print(f"  mine:   {row['mine'].get('case')}")
        print("\n".join(payload_lines(row["mine"].get("payload"), indent="          ")))
        if row["request_not_made"]:
            print("  theirs: the central store never made this request (keep mine makes it, keep theirs leaves it)")
        else:
            print(f"  theirs: {row['theirs'].get('case')}")
        for change in row["theirs"].get("since") or []:
            print(f"          then {change['kind']}")
    return 0


def run_conflicts_resolve(args) -> int:
    from app.services import cases as svc
    from app.services.conflicts import conflict_by_id, resolve_conflict
    from app.services.criteria import InvalidInput as CriteriaInput

    resolution = "reassign" if args.reassign_to else f"keep-{args.keep}"
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            tar = conflict_by_id(session, args.conflict_id).tar
            case = resolve_conflict(session, tar, args.actor, conflict_id=args.conflict_id, resolution=resolution,
                                    note=args.note, reassign_to=args.reassign_to)
            result = {"tar": case.tar if case else tar, "status": case.status if case else None,
                      "resolution": resolution, "assignee": case.assignee.username if case and case.assignee else None,
                      "request_made": case is not None}
    except (svc.NotFound, svc.InvalidInput, CriteriaInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except svc.ActionRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(result)
    elif result["status"] is None:  # a request never made here, set aside (app.services.conflicts)
        print(f"TAR {result['tar']}: conflict resolved ({resolution}); the request was not made, and the conflict "
              "keeps it.")
    else:
        print(f"TAR {result['tar']}: conflict resolved ({resolution}); {result['status']}, held by "
              f"{result['assignee'] or 'nobody'}.")
    return 0
