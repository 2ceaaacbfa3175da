"""The workstation's configuration: one machine-wide file that IT pushes, then the user's own (issue 10, scope 3).

Both are TOML files named ``umws.toml`` with the same keys (installer/README.md, "What IT configures"):

1. the machine-wide file, in the platform's site configuration directory (platformdirs): ``/etc/xdg/umws`` on
   Linux, ``C:\\ProgramData\\umws`` on Windows, ``/Library/Application Support/umws`` on macOS; or the file named
   by ``$UMWS_SITE_CONFIG``. It is read first.
2. the user's file, in the user configuration directory (``~/.config/umws`` on Linux), or ``$UMWS_HOME/umws.toml``
   when ``UMWS_HOME`` is set. Its values replace the machine's, except for the keys the machine file lists in its
   top-level ``locked = [...]``: those keep the machine's value whatever the user's file, a command-line option or
   an environment variable says.

A broken file (not TOML, an unknown key, a value of the wrong kind, a file it names that does not exist) stops the
workstation with a message naming the file and the line: a setting IT locked must never be silently dropped.
Relative paths in a file are read from that file's folder, so IT can keep a holiday calendar next to umws.toml.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import platformdirs

FILE_NAME = "umws.toml"
SITE_CONFIG_ENV = "UMWS_SITE_CONFIG"
LOCKED = "locked"


class ConfigError(Exception):
    """A configuration file cannot be used as it is; the message names the file and line and says what to do."""


class SettingLocked(ConfigError):
    """The user asked for a value that IT locked in the machine-wide file."""


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a text value in quotes, for example \"https://um-sync.plan.example:8765\"")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{value}' is not an http:// or https:// address with a host name")
    return value.rstrip("/")


def _existing_file(value: Any, folder: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a file path in quotes")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise ValueError(f"names {path}, which does not exist or is not a file")
    return path


@dataclass(frozen=True)
class Key:
    name: str
    help: str
    parse: Callable[[Any, Path], Any]


KEYS: dict[str, Key] = {key.name: key for key in (
    Key("sync.server_url", "the plan's sync server (https://host:port)", lambda value, _folder: _url(value)),
    Key("plan.profile", "the plan profile file: name, letterhead, Member Services and TTY numbers, appeal address "
                        "(replaces the shipped resources/plan profile)", _existing_file),
    Key("calendar.holidays", "the plan's holiday calendar file (format of resources/holidays.json, docs/clocks.md)",
        _existing_file),
)}


@dataclass(frozen=True)
class Origin:
    """Where a value was set: the file and the line (None when the line could not be found)."""
    path: Path
    line: int | None

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}" if self.line else str(self.path)


@dataclass
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    machine_file: Path | None = None  # where the machine-wide file is looked for
    user_file: Path | None = None
    files_read: tuple[Path, ...] = ()
    ignored: tuple[str, ...] = ()  # user settings dropped because IT locked them, in words

    def get(self, key: str, default: Any = None) -> Any:
        if key not in KEYS:
            raise KeyError(key)
        return self.values.get(key, default)

    def is_locked(self, key: str) -> bool:
        return key in self.locked

    def value(self, key: str, override: Any = None) -> Any:
        """The value to use, given what the user asked for on the command line or in the environment (`override`).

        A locked key refuses an override that differs from the machine's value, naming the file and line IT set it
        in; an unlocked key takes the override."""
        if override is None:
            return self.get(key)
        if self.is_locked(key):
            locked_value = self.values[key]
            if override != locked_value and str(override).rstrip("/") != str(locked_value):
                raise SettingLocked(
                    f"{key} is locked to {locked_value} by your IT department ({self.origins[key]}), so "
                    f"{override} cannot be used. Ask IT if this machine should use another value.")
            return locked_value
        return override

    def describe(self) -> dict[str, Any]:
        """The effective settings for `umws config show` and the self-check: value, origin, locked."""
        return {
            "machine_file": str(self.machine_file) if self.machine_file else None,
            "user_file": str(self.user_file) if self.user_file else None,
            "files_read": [str(path) for path in self.files_read],
            "settings": [
                {"key": key, "value": str(self.values[key]), "origin": str(self.origins[key]),
                 "locked": self.is_locked(key)}
                for key in KEYS if key in self.values
            ],
            "ignored": list(self.ignored),
        }


def machine_config_path() -> Path:
    """The machine-wide file: $UMWS_SITE_CONFIG, else umws.toml in the platform's site configuration directory."""
    explicit = os.environ.get(SITE_CONFIG_ENV)
    if explicit:
        return Path(explicit)
    return Path(platformdirs.site_config_dir("umws", appauthor=False)) / FILE_NAME


def user_config_path() -> Path:
    home = os.environ.get("UMWS_HOME")
    folder = Path(home) if home else Path(platformdirs.user_config_dir("umws", appauthor=False))
    return folder / FILE_NAME


# --- reading one file -------------------------------------------------------------------------------------------

_DECODE_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_.\-\" ]+?)\s*=")


def _key_lines(text: str) -> dict[str, int]:
    """The line each dotted key is set on (TOML's `[table]` headers and `a.b = …` keys), for messages."""
    lines: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _TABLE.match(line):
            table = match.group(1).replace('"', "").replace(" ", "")
            lines.setdefault(table, number)
        elif match := _ASSIGNMENT.match(line):
            key = match.group(1).replace('"', "").replace(" ", "")
            lines.setdefault(f"{table}.{key}" if table else key, number)
    return lines


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _where(path: Path, line: int | None) -> str:
    return f"{path}, line {line}" if line else str(path)


def _read(path: Path, what: str, fix: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    """A file's settings, flattened to dotted keys, with their lines; None when there is no such file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"The {what} {path} cannot be read ({error.strerror}). {fix}") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ConfigError(f"The {what} is broken: {_where(path, line)} is not UTF-8 text. {fix}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _DECODE_POSITION.search(message)
        line = int(position.group(1)) if position else None
        reason = _DECODE_POSITION.sub("", message).replace("(at end of document)", "").strip()
        raise ConfigError(f"The {what} is broken: {_where(path, line)}: {reason.lower()} (the file must be TOML, "
                          f"as in installer/README.md). {fix}") from error
    return _flatten(data), _key_lines(text)


def _parse_settings(path: Path, flat: dict[str, Any], lines: dict[str, int], what: str, fix: str,
                    *, may_lock: bool) -> tuple[dict[str, Any], dict[str, Origin], frozenset[str]]:
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    locked: frozenset[str] = frozenset()
    for key, raw in flat.items():
        line = lines.get(key)
        if key == LOCKED:
            if not may_lock:
                raise ConfigError(f"The {what} is broken: {_where(path, line)}: only the machine-wide file can "
                                  f"lock settings. {fix}")
            if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
                raise ConfigError(f"The {what} is broken: {_where(path, line)}: 'locked' must be a list of keys "
                                  f"in quotes, for example locked = [\"sync.server_url\"]. {fix}")
            unknown = [item for item in raw if item not in KEYS]
            if unknown:
                raise ConfigError(f"The {what} is broken: {_where(path, line)}: 'locked' names "
                                  f"{', '.join(unknown)}, which {'is not a' if len(unknown) == 1 else 'are not'} "
                                  f"setting{'s' if len(unknown) > 1 else ''} (known: {', '.join(KEYS)}). {fix}")
            locked = frozenset(raw)
            continue
        if key not in KEYS:
            raise ConfigError(f"The {what} is broken: {_where(path, line)}: '{key}' is not a setting (known: "
                              f"{', '.join(KEYS)}). {fix}")
        try:
            values[key] = KEYS[key].parse(raw, path.parent)
        except ValueError as error:
            raise ConfigError(f"The {what} is broken: {_where(path, line)}: {key} {error}. {fix}") from error
        origins[key] = Origin(path, line)
    missing = sorted(locked - values.keys())
    if missing:
        raise ConfigError(f"The {what} is broken: {_where(path, lines.get(LOCKED))}: it locks {', '.join(missing)} "
                          f"but gives no value for {'it' if len(missing) == 1 else 'them'}. {fix}")
    return values, origins, locked


# --- the whole configuration ------------------------------------------------------------------------------------

MACHINE_FIX = "The workstation will not start until IT corrects it (installer/README.md, \"What IT configures\")."
USER_FIX = "Correct the file or move it aside, then start again."


def load(machine_file: Path | None = None, user_file: Path | None = None, *, read_user: bool = True) -> Config:
    """Read the machine-wide file, then (unless `read_user` is false) the user's, into one Config; ConfigError names
    the file and line."""
    machine_file = machine_file or machine_config_path()
    user_file = (user_file or user_config_path()) if read_user else None
    config = Config(machine_file=machine_file, user_file=user_file)
    read: list[Path] = []
    ignored: list[str] = []
    machine = _read(machine_file, "machine-wide configuration file", MACHINE_FIX)
    if machine is not None:
        read.append(machine_file)
        config.values, config.origins, config.locked = _parse_settings(
            machine_file, *machine, "machine-wide configuration file", MACHINE_FIX, may_lock=True)
    user = _read(user_file, "configuration file", USER_FIX) if user_file is not None else None
    if user is not None:
        read.append(user_file)
        values, origins, _ = _parse_settings(user_file, *user, "configuration file", USER_FIX, may_lock=False)
        for key, value in values.items():
            if config.is_locked(key):
                if value != config.values[key]:
                    ignored.append(f"{key} in {origins[key]} is ignored: IT locked it to {config.values[key]} "
                                   f"in {config.origins[key]}")
                continue
            config.values[key] = value
            config.origins[key] = origins[key]
    config.files_read = tuple(read)
    config.ignored = tuple(ignored)
    return config


_current: Config | None = None


def current() -> Config:
    """The configuration of this process, read once (ConfigError when a file is broken)."""
    global _current
    if _current is None:
        _current = load()
    return _current


def reload() -> Config:
    """Read the files again (tests, and after IT pushed a new machine-wide file)."""
    global _current
    _current = None
    return current()


# --- what the rest of the app asks -----------------------------------------------------------------------------

def server_url(override: str | None = None) -> str | None:
    """The plan's sync server: `override` (a --server option) unless IT locked it, else the configured one."""
    return current().value("sync.server_url", override)


def plan_profile_path() -> Path | None:
    """The plan profile file IT configured, or None for the one shipped in resources/."""
    return current().get("plan.profile")


def holiday_calendar_path() -> Path | None:
    """The holiday calendar file IT configured, or None for resources/holidays.json."""
    return current().get("calendar.holidays")
