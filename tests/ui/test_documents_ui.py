"""The Documents tab of the case workspace (issue 9): the list says where each file is, Enter opens the selected one
off the GUI thread with the system's viewer (audited), and a file on neither this laptop nor reachable says so
plainly: sync when online to fetch it."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from sqlalchemy import select

from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.services import demo, inbox
from app.services.documents import Unreachable
from app.store.models import AuditRecord
from app.store.worklist import viewer_for
from app.ui.main_window import MainWindow
from tests.intake.documents import fax_pdf, fax_tiff


@pytest.fixture
def store(local_store):
    demo.generate(local_store, 0, seed=11)
    return local_store


def faxed_case(store, folder: Path) -> tuple[str, dict[str, Path]]:
    inbox_dir = folder / "inbox"
    inbox_dir.mkdir()
    arrived = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    fax_pdf(inbox_dir / "tar-request.pdf", pages=2, arrived=arrived)
    fax_tiff(inbox_dir / "clinical-notes.tif", pages=3, arrived=arrived)
    items = inbox.scan(inbox_dir, settle=0)
    draft = IntakeDraft(
        channel="fax", received_at=arrived,
        member=MemberPart(cin="95550123C", first_name="Rosa", last_name="Ibarra", birth_date=date(1968, 8, 9), sex="F"),
        requesting=ProviderPart("1234567893", "Chidi Okoro, MD"), place_of_service="11",
        lines=[LinePart("97110", "Therapeutic exercise", 12, date.today() + timedelta(days=2),
                        date.today() + timedelta(days=40))],
        diagnoses=[DiagnosisPart("M54.50", "Low back pain")], attachments=[i.name for i in items])
    saved = inbox.save_with_documents(store, draft, "coord.jones", items, processed=folder / "processed")
    return saved.tar, {Path(p).name.split("_", 1)[1]: Path(p) for p in saved.documents}


class Viewer:
    opened: list[Path] = []

    @classmethod
    def openUrl(cls, url):  # noqa: N802 - QDesktopServices' name
        cls.opened.append(Path(url.toLocalFile()))
        return True


def test_the_documents_tab_lists_opens_and_says_when_a_file_cannot_be_fetched(qtbot, store, tmp_path, monkeypatch,
                                                                               isolated_home):
    monkeypatch.setattr("app.ui.documents.QDesktopServices", Viewer)
    Viewer.opened = []
    tar, files = faxed_case(store, tmp_path)
    with store.session() as session:
        viewer = viewer_for(session, "nurse.nguyen")
    window = MainWindow(store, viewer, QSettings(str(tmp_path / "n.ini"), QSettings.Format.IniFormat), watch_ms=0)
    qtbot.addWidget(window)
    window.show()
    view = window.open_case(tar)
    panel = view.documents_tab
    qtbot.waitUntil(lambda: len(panel.documents) == 2)
    assert view.tabs.tabText(view.tabs.indexOf(panel)) == "Doc&uments"
    assert view.tabs.indexOf(panel) == view.tabs.indexOf(view.notes) + 1  # with the clinical notes
    table = panel.table
    assert [table.item(r, 0).text() for r in range(2)] == ["clinical-notes.tif", "tar-request.pdf"]
    assert [table.item(r, 1).text() for r in range(2)] == ["3", "2"]
    assert table.item(0, 2).text() == "TIFF image" and table.item(0, 5).text() == "On this laptop"
    assert table.item(0, 4).text() == "Tasha Jones"  # a name, not a username
    assert table.accessibleName() and panel.open_button.accessibleName() == "Open document"

    # Keyboard: the list has the focus, Down then Enter opens the PDF in the system's viewer.
    view.tabs.setCurrentWidget(panel)
    table.setFocus()
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(Viewer.opened) == 1)
    assert Viewer.opened[0].read_bytes() == files["tar-request.pdf"].read_bytes()
    qtbot.waitUntil(lambda: panel.last_message.startswith("Opened 'tar-request.pdf'"))
    assert panel.cancel_button.isHidden() and panel.progress.isHidden()  # a file on this laptop: no download
    assert Viewer.opened[0].parent == isolated_home / "opened-documents"  # the copies removed at sign-out
    with store.session() as session:
        bodies = [json.loads(b) if isinstance(b, str) else b for b in session.scalars(
            select(AuditRecord.body).where(AuditRecord.tar == tar, AuditRecord.action == "view",
                                           AuditRecord.actor == "nurse.nguyen"))]
    assert any((b.get("details") or {}).get("via") == "workstation" and (b.get("details") or {}).get("document")
               for b in bodies)

    # The TIFF's file is gone from this laptop and the central store cannot be reached: said plainly.
    os.remove(files["clinical-notes.tif"])

    def offline(document_id):
        raise Unreachable("The central store cannot be reached")

    panel._fetcher_for = lambda _store, **_progress_and_cancel: offline
    panel.reload()
    qtbot.waitUntil(lambda: panel.table.item(0, 5) is not None
                    and panel.table.item(0, 5).text().startswith("Not on this laptop"))
    table.selectRow(0)
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "sync when online to fetch it" in panel.last_message)
    assert len(Viewer.opened) == 1 and panel.open_button.isEnabled()
    view.resize(900, 560)
    qtbot.wait(50)
    assert view.grab().save(str(tmp_path / "docs.png"))
    if os.environ.get("UMWS_SCREENSHOTS"):
        view.grab().save(os.path.join(os.environ["UMWS_SCREENSHOTS"], "docs.png"))
    view.close()
