"""The PySide6 workstation. `qt_compat` first: it guards against a PySide6 defect on Python 3.11."""
from app.ui import qt_compat  # noqa: F401
