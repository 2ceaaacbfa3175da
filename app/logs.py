"""The log file: rotating, in the platform's log directory (or $UMWS_HOME/logs), ids only, never member data.

Errors shown to users say what to do; the traceback behind them goes here (workstation-ux.md, "Clear and safe").
"""
from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

_configured = False


def log_dir() -> Path:
    home = os.environ.get("UMWS_HOME")
    return Path(home) / "logs" if home else Path(platformdirs.user_log_dir("umws", appauthor=False))


def configure() -> Path:
    """Send the app's log records to a rotating file (1 MB × 5); returns the file's path."""
    global _configured
    path = log_dir() / "umws.log"
    if not _configured:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("umws")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        _configured = True
    return path
