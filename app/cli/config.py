"""`umws config ...`: the configuration this workstation runs with, and a check for a file before IT pushes it.

    umws config show [--json]        the effective settings: value, the file and line it came from, locked or not
    umws config check FILE [--json]  read FILE as the machine-wide file would be read; exit 2 naming the line if broken

Neither needs a store nor creates one (app/config.py; installer/README.md, "What IT configures").
"""
from __future__ import annotations

import argparse
from pathlib import Path

from app.cli import EXIT_BAD_INPUT, CliError, print_json, warn


def register(sub) -> None:
    parser = sub.add_parser("config", help="the machine-wide and user configuration (show, check a file)")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    show = actions.add_parser("show", help="the effective settings, where each came from and whether IT locked it")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_show, reads_configuration_itself=True)
    check = actions.add_parser("check", help="check a machine-wide configuration file before deploying it")
    check.add_argument("file", metavar="FILE", type=Path)
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=run_check, reads_configuration_itself=True)


def _print(described: dict, as_json: bool) -> None:
    if as_json:
        print_json(described)
        return
    for setting in described["settings"]:
        lock = " (locked)" if setting["locked"] else ""
        print(f"{setting['key']} = {setting['value']}{lock}    # {setting['origin']}")
    for message in described["ignored"]:
        warn(f"umws: warning: {message}")


def run_show(args: argparse.Namespace) -> int:
    from app import config

    try:
        settings = config.load()
    except config.ConfigError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    described = settings.describe()
    _print(described, args.json)
    if not args.json:
        for label, path in (("machine-wide file", settings.machine_file), ("user file", settings.user_file)):
            state = "read" if path in settings.files_read else "not present"
            warn(f"{label}: {path} ({state})")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from app import config

    if not args.file.is_file():
        raise CliError(f"{args.file} does not exist or is not a file.", EXIT_BAD_INPUT)
    try:
        settings = config.load(machine_file=args.file, read_user=False)
    except config.ConfigError as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    described = settings.describe()
    _print(described, args.json)
    if not args.json:
        warn(f"{args.file} is a valid machine-wide configuration ({len(described['settings'])} setting"
             f"{'s' if len(described['settings']) != 1 else ''}, {len(settings.locked)} locked).")
    return 0
