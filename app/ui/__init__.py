
from app.ui import qt_compat  # noqa: E402,F401 - before any Qt work: guards against a PySide6 defect on Python 3.11
