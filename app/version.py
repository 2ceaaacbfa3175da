"""The workstation's version: the one in pyproject.toml, which the bundle ships beside the app (installer/umws.spec)."""
from __future__ import annotations

import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@cache
def version() -> str:
    """pyproject.toml's [project] version (source tree and bundle), else the installed distribution's."""
    try:
        return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        pass
    try:
        return metadata.version("umws")
    except metadata.PackageNotFoundError:
        return "unknown"
