"""The intake window's screenshots (issue 11), called by tools/screenshots.py: a faxed request beside the form
with the live checks (intake-form), the duplicate question (intake-duplicate), a TIFF fax (intake-tiff), and the
saved request's Documents tab in the case workspace (case-documents, issue 9)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path


def shoot_intake(store, home: str, shoot) -> None:
    from PySide6.QtCore import QSettings, QTimer

    from app.store.worklist import viewer_for
    from app.ui.intake_form import DuplicateDialog, IntakeWindow
    from tests.intake.documents import fax_pdf, fax_tiff

    folder = Path(home) / "inbox"
    folder.mkdir(exist_ok=True)
    now = datetime.now(timezone.utc)
    fax_pdf(folder / "fax-20261124-0912.pdf", pages=2, arrived=now - timedelta(hours=2, minutes=12))
    fax_tiff(folder / "scan-0007.tif", pages=2, arrived=now - timedelta(minutes=40))
    with store.session() as session:
        coordinator = viewer_for(session, "coord.jones")
    window = IntakeWindow(store, coordinator, QSettings(str(Path(home) / "intake.ini"), QSettings.Format.IniFormat),
                          folder=folder, poll_ms=0)
    window.resize(1366, 768)
    window.show()
    window.inbox_list.setCurrentRow(0)
    form = window.form
    form.cin.setText("91234567A"); form.first_name.setText("Lucia"); form.last_name.setText("Hernandez")
    form.birth_date.setText("05/17/1970"); form.sex.setCurrentIndex(form.sex.findData("F"))
    form.requesting_npi.setText("1234567890"); form.requesting_name.setText("Chidi Okoro, MD")
    form.place.setEditText("11")
    form.lines.item(0, 0).setText("97110"); form.lines.item(0, 1).setText("Therapeutic exercise")
    form.lines.item(0, 2).setText("12"); form.lines.item(0, 3).setText("11/23/2026")
    form.lines.item(0, 4).setText("12/31/2026")
    form.diagnoses.setText("M54.50 Low back pain; 5450")
    window.update_assessment()
    shoot(window, "intake-form")
    form.requesting_npi.setText("1234567893"); form.diagnoses.setText("M54.50 Low back pain")
    window.update_assessment()
    saved = window.save()
    from PySide6.QtWidgets import QMessageBox

    for box in window.findChildren(QMessageBox):
        box.close()
    window.inbox_list.setCurrentRow(0)  # the TIFF, now first
    shoot(window, "intake-tiff")
    form.cin.setText("91234567A"); form.first_name.setText("Lucia"); form.last_name.setText("Hernandez")
    form.birth_date.setText("05/17/1970"); form.requesting_npi.setText("1234567893")
    form.requesting_name.setText("Chidi Okoro, MD"); form.place.setEditText("11")
    form.lines.item(0, 0).setText("97110"); form.lines.item(0, 3).setText("12/01/2026")
    form.diagnoses.setText("M54.50")
    dialogs = []

    def grab_dialog():
        dialog = next((d for d in window.findChildren(DuplicateDialog) if d.isVisible()), None)
        if dialog is None:
            QTimer.singleShot(50, grab_dialog)
            return
        dialog.resize(760, 260)
        shoot(dialog, "intake-duplicate")
        dialogs.append(dialog)
        dialog.reject()

    QTimer.singleShot(100, grab_dialog)
    window.save()
    window.close()
    assert saved is not None and dialogs
    shoot_documents(store, home, shoot, saved.tar)


def shoot_documents(store, home: str, shoot, tar: str) -> None:
    """The faxed request's Documents tab, as the nurse who reviews it sees it."""
    import time

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.store.worklist import viewer_for
    from app.ui.main_window import MainWindow

    with store.session() as session:
        nurse = viewer_for(session, "nurse.nguyen")
    window = MainWindow(store, nurse, QSettings(str(Path(home) / "documents.ini"), QSettings.Format.IniFormat),
                        watch_ms=0)
    window.resize(1366, 768)
    window.show()
    view = window.open_case(tar)
    view.tabs.setCurrentWidget(view.documents_tab)
    started = time.monotonic()
    while not view.documents_tab.documents and time.monotonic() - started < 20:
        QApplication.processEvents()
        time.sleep(0.01)
    view.documents_tab.table.selectRow(0)
    shoot(view, "case-documents")
    view.close()
    window.close()
