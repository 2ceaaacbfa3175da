"""The `umws` command line.

Conventions (DEVELOPERS.md): data on stdout, messages on stderr; `--json` prints one JSON value;
exit codes 0 done, 2 bad input (nothing written), 3 refused by a rule or by authority, 1 unexpected.
Each sub-module registers its own sub-commands; commands that need no store never open one.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Callable

from app.config import ConfigError, SettingLocked

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3


class CliError(Exception):
    """An error the user can act on: printed as one line on stderr, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.code = code


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad arguments with exit code 2 through CliError (never SystemExit mid-run)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise CliError(f"{self.prog}: {message} (see '{self.prog} --help')", EXIT_BAD_INPUT)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def warn(message: str) -> None:
    print(message, file=sys.stderr)


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", default=None,
        help="work on this store (postgresql://… for the central store) instead of the local encrypted one; "
             "also $UMWS_DATABASE_URL",
    )


def case_action_adder(actions):
    """`add(name, help, handler, actor=True)`: a subcommand of `actions` about one case, `TAR [--as USER] [--json]
    [--database-url URL]`, run by `handler`; it returns the parser for the subcommand's own options."""
    def add(name: str, help_text: str, handler, *, actor: bool = True) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text)
        p.add_argument("tar", help="TAR number")
        if actor:
            p.add_argument("--as", dest="actor", required=True, metavar="USER", help="acting username")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        add_store_option(p)
        p.set_defaults(handler=handler)
        return p
    return add


def write_in_store(args: argparse.Namespace, work):
    """`work(session)` in one transaction on the command's store, its return value returned. Bad input (an unknown
    case or user, a wrong value) exits 2 and a refusal by a rule or by authority exits 3, nothing written either way."""
    from app.services.audit import AuditChainError
    from app.services.cases import ActionRefused, InvalidInput, NotFound

    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            return work(session)
    except (NotFound, InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()


def open_store_for(args: argparse.Namespace, *, upgrade: bool = True):
    """The store a command works on; a store that cannot be opened is a one-line message and exit code 2."""
    from app.store.engine import open_store
    from app.store.errors import StoreError

    try:
        return open_store(getattr(args, "database_url", None), upgrade=upgrade)
    except StoreError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error


def build_parser() -> ArgumentParser:
    from app.cli import (appeal, audit, case, clocks, criteria, db, deadlines, demo, intake, letter, report, stay,
                         users, worklist)
    from app.cli import config as config_cli, selfcheck
    from app.cli import server, sync  # issue 9: the sync service and the laptop's side of sync
    from app.version import version

    parser = ArgumentParser(prog="umws", description="UM reviewer workstation")
    parser.add_argument("--version", action="version", version=f"umws {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    for module in (worklist, case, demo, db, deadlines, report, clocks, criteria, users, audit, letter, intake,
                   stay, appeal):
        module.register(sub)
    from app.cli import p2p  # issue 8

    p2p.register(sub)
    for module in (config_cli, selfcheck):  # installer issue: these read the configuration themselves
        module.register(sub)
    for module in (server, sync):
        module.register(sub)
    from app.cli import irr  # issue 14: inter-rater reliability (the committee packet is under `report`)

    irr.register(sub)
    return parser


def read_configuration(args: argparse.Namespace) -> None:
    """Read the machine-wide and user configuration before any command (app/config.py): a broken file stops every
    command with its name and line; settings the user's file cannot change because IT locked them are warned of."""
    from app import config

    if getattr(args, "reads_configuration_itself", False):
        return
    try:
        settings = config.current()
    except config.ConfigError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    for message in settings.ignored:
        warn(f"umws: warning: {message}")


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        read_configuration(args)
        handler: Callable[[argparse.Namespace], int | None] = args.handler
        return handler(args) or EXIT_OK
    except CliError as error:
        warn(f"umws: {error}")
        return error.code
    except ConfigError as error:  # a broken file read late, or an override of a setting IT locked
        warn(f"umws: {error}")
        return EXIT_REFUSED if isinstance(error, SettingLocked) else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        warn("umws: interrupted; nothing further was written.")
        return EXIT_UNEXPECTED
    except BrokenPipeError:  # `umws … | head` closed our stdout: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush cannot fail
        return EXIT_OK
    except Exception:  # a bug: the user gets one line, the log gets the traceback
        from app import logs

        path = logs.configure()
        logging.getLogger("umws.cli").exception("unexpected error in %s", argv if argv is not None else sys.argv)
        warn(f"umws: unexpected error; nothing further was written. Details are in {path}.")
        return EXIT_UNEXPECTED
