"""A guard against a PySide6 defect that aborts the workstation on Python 3.11 (imported by `app.ui`).

PySide6 6.12.0 hands back `None`, `True` and `False` from Qt calls without taking a reference to them (every
`setText`, `processEvents`, `Signal.emit`, ...). On Python 3.12 and later these objects are immortal and nothing
happens; on Python 3.11 each call takes one reference away, and after some ten thousand calls (minutes of work in
the case view) the interpreter aborts: "Fatal Python error: none_dealloc: deallocating None" or "bool_dealloc".
PySide6 6.11.3 does not have the defect, but QtPdf (the fax beside the intake form) ships for 6.12 as its own small
wheel, PySide6-Pdf, and only in PySide6-Addons (too large for the bundle) before: so we stay on 6.12 with this guard.

When the defect is found (a probe at import: a few calls of a method returning None), the three objects are made
immortal as Python 3.12 makes them: their reference count is raised by 2**40, which no session can spend. They are
never freed while the interpreter runs anyway, so nothing else changes.
"""
from __future__ import annotations

import ctypes
import logging
import sys

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QObject

log = logging.getLogger(__name__)

IMMORTAL_MARGIN = 1 << 40


def calls_drop_references() -> bool:
    """Whether a Qt call returning None takes a reference from None (the defect), measured on a throwaway QObject."""
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - 16


def _raise_refcount(obj: object, by: int) -> None:
    ctypes.c_ssize_t.from_address(id(obj)).value += by


def guard() -> bool:
    """Make None, True and False immortal when this PySide drops references to them; True when it did."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False  # immortal already
    if not calls_drop_references():
        return False
    if sys.getrefcount(None) < IMMORTAL_MARGIN:
        for singleton in (None, True, False):
            _raise_refcount(singleton, IMMORTAL_MARGIN)
    log.info("PySide6 %s drops references to None/True/False on Python %s; compensated",
             PYSIDE_VERSION, sys.version.split()[0])
    return True


GUARDED = guard()
