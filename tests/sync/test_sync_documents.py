"""Intake documents' files and sync (issue 9, "nothing lost"), against a real PostgreSQL and a real server process:
a fax attached offline reaches the central store byte for byte at the next sync and opens on another laptop and on
the central store; a file changed on disk after attaching is reported and not sent; the server refuses bytes that
are not their SHA-256, files no document names, and downloads outside the user's queues; a network failure during
the upload loses nothing; `umws case documents` / `umws case document`."""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.services import cases as svc
from app.services import documents, inbox
from app.store.models import AuditRecord, DocumentFile, IntakeDocument, SyncChange
from app.sync import api as api_module
from app.sync import client
from app.sync.api import Api, Offline, ServerRefused
from tests.intake.documents import fax_pdf, fax_tiff
from tests.sync.conftest import Laptop

TODAY = date.today()


def signed_in(laptops, username: str = "coord.jones"):
    laptop = laptops(username)
    laptop.sync()  # the users come down with the first pull
    return laptop


def fax_request(folder: Path, laptop, *names: str, pages: int = 2) -> tuple[str, dict[str, bytes]]:
    """A faxed request with its documents, saved from the inbox on `laptop` (no sync): its TAR and the files."""
    inbox_dir = folder / f"inbox-{uuid.uuid4().hex[:6]}"
    inbox_dir.mkdir()
    arrived = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    for name in names or ("fax.pdf",):
        (fax_tiff if name.endswith(".tif") else fax_pdf)(inbox_dir / name, pages=pages, arrived=arrived)
    items = inbox.scan(inbox_dir, settle=0)
    contents = {item.name: item.path.read_bytes() for item in items}
    cin = f"6{uuid.uuid4().int % 10**7:07d}D"
    draft = IntakeDraft(
        channel="fax", received_at=arrived,
        member=MemberPart(cin=cin, first_name="Docu", last_name="Ment", birth_date=date(1971, 3, 4), sex="F"),
        requesting=ProviderPart("1234567893", "Chidi Okoro, MD"), place_of_service="11",
        lines=[LinePart("97110", "Therapeutic exercise", 8, TODAY + timedelta(days=2), TODAY + timedelta(days=30))],
        diagnoses=[DiagnosisPart("M54.50", "Low back pain")], attachments=[item.name for item in items])
    saved = inbox.save_with_documents(laptop.store, draft, laptop.username, items, processed=folder / "processed")
    return saved.tar, contents


def central_file(central_store, sha256: str) -> bytes | None:
    with central_store.session() as session:
        row = session.get(DocumentFile, sha256)
        return row.content if row else None


def document_rows(store, tar: str) -> list[IntakeDocument]:
    from app.store.models import Case

    with store.session() as session:
        return session.scalars(select(IntakeDocument).join(Case, Case.id == IntakeDocument.case_id)
                               .where(Case.tar == tar).order_by(IntakeDocument.file_name)).all()


def api_of(laptop) -> Api:
    api, _user = client._api(laptop.store, None, None, None)
    return api


def test_a_fax_attached_offline_reaches_the_central_store_and_opens_elsewhere(central, laptops, tmp_path):
    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "fax.pdf", "scan.tif")
    report = coordinator.sync()
    assert report.documents_uploaded == 2 and report.warnings == []
    central_rows = document_rows(central.store, tar)
    assert len(central_rows) == 2
    for row in central_rows:  # byte for byte, confirmed on the central rows
        assert central_file(central.store, row.sha256) == contents[row.file_name]
        assert row.stored_centrally_at is not None
    with central.store.session() as session:  # the confirmation is a change of the case in the change log
        assert session.scalar(select(func.count()).select_from(SyncChange)
                              .where(SyncChange.entity_id == central_rows[0].case_id)) >= 2
    again = coordinator.sync()  # nothing asked or sent again
    assert again.documents_uploaded == 0 and again.warnings == []
    (tmp_path / "processed").rename(tmp_path / "lost")  # the receiving laptop's files are gone from here on

    # The central store directly (a supervisor with --database-url): from document_files, audited there.
    opened = documents.open_document(central.store, tar, "scan.tif", "lead.patel")
    assert opened.content == contents["scan.tif"] and opened.source == "central store"

    # Another laptop: the nurse the case is assigned to lists it (on the central store, not here) and opens it.
    central.act(svc.assign_case, tar, "lead.patel", assignee_username="nurse.nguyen", note="documents")
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    with nurse.store.session() as session:
        listed = documents.list_documents(session, tar)
    assert [(d.file_name, d.here, d.central) for d in listed] == [("fax.pdf", False, True),
                                                                   ("scan.tif", False, True)]
    fetch = client.document_fetcher(nurse.store)
    opened = documents.open_document(nurse.store, tar, "fax.pdf", "nurse.nguyen", fetch=fetch)
    assert opened.content == contents["fax.pdf"] and opened.source == "downloaded"
    with central.store.session() as session:  # the download is a view of the case on the central store
        views = session.scalars(select(AuditRecord).where(AuditRecord.tar == tar, AuditRecord.action == "view",
                                                          AuditRecord.actor == "nurse.nguyen")).all()
    bodies = [json.loads(v.body) if isinstance(v.body, str) else v.body for v in views]
    assert any((body.get("details") or {}).get("document") == opened.document.id for body in bodies)
    # Kept in the laptop's encrypted store: opened again offline, from there.
    again = documents.open_document(nurse.store, tar, opened.document.id, "nurse.nguyen", fetch=None)
    assert again.content == contents["fax.pdf"] and again.source == "this computer"
    with nurse.store.session() as session:
        assert [d.here for d in documents.list_documents(session, tar)] == [True, False]


def test_a_file_changed_on_disk_after_attaching_is_reported_and_not_sent(central, laptops, tmp_path):
    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "edited.pdf", "kept.pdf")
    edited, kept = document_rows(coordinator.store, tar)
    Path(edited.stored_path).write_bytes(contents["edited.pdf"] + b"\n% annotated later")
    report = coordinator.sync()
    assert report.pushed >= 1 and report.documents_uploaded == 1  # the sync went on
    assert len(report.warnings) == 1 and "edited.pdf" in report.warnings[0] and "changed" in report.warnings[0]
    assert central_file(central.store, edited.sha256) is None
    assert central_file(central.store, kept.sha256) == contents["kept.pdf"]
    os.remove(edited.stored_path)  # and a file gone from the processed folder is reported too
    assert "no longer at" in coordinator.sync().warnings[0]


def test_the_server_refuses_wrong_bytes_unknown_files_and_downloads_outside_the_queues(central, laptops, tmp_path):
    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "fax.pdf")
    [row] = document_rows(coordinator.store, tar)
    network_report = coordinator.sync(cancelled=iter([False, True, True, True]).__next__)
    assert network_report.cancelled and central_file(central.store, row.sha256) is None
    with api_of(coordinator) as api:
        with pytest.raises(ServerRefused) as wrong:
            api.upload_document(row.sha256, contents["fax.pdf"] + b"tampered")
        assert wrong.value.status == 422 and wrong.value.server_code == "sha256-mismatch"
        assert "nothing was stored" in str(wrong.value)
        stray = b"%PDF-1.4 not a document of any case"
        with pytest.raises(ServerRefused) as unknown:
            api.upload_document(hashlib.sha256(stray).hexdigest(), stray)
        assert unknown.value.status == 404 and unknown.value.server_code == "unknown-document"
        assert api.upload_document(row.sha256, contents["fax.pdf"])["stored"] is True
        assert api.upload_document(row.sha256, contents["fax.pdf"])["stored"] is False  # idempotent
    assert central_file(central.store, row.sha256) == contents["fax.pdf"]
    with central.store.session() as session:
        [central_row] = session.scalars(select(IntakeDocument).where(IntakeDocument.sha256 == row.sha256)).all()
    other_team = laptops("nurse.garcia")  # the inpatient team's nurse: an outpatient case is not in her queues
    with api_of(other_team) as api:
        with pytest.raises(ServerRefused) as refused:
            api.fetch_document(str(central_row.id))
        assert refused.value.status == 403 and refused.value.server_code == "out-of-scope"
    supervisor = laptops("lead.patel")
    with api_of(supervisor) as api:
        assert api.fetch_document(str(central_row.id)) == contents["fax.pdf"]


def test_offline_during_the_upload_loses_nothing_and_the_next_sync_sends_it(central, laptops, tmp_path, network):
    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "first.pdf", "second.pdf")
    first, second = document_rows(coordinator.store, tar)
    order = sorted([first.sha256, second.sha256])
    network.fail(f"/v1/documents/{order[0]}", "answer-lost")  # stored centrally; the laptop never hears it
    with pytest.raises(Offline):
        coordinator.sync(transport=network)
    assert central_file(central.store, order[0]) is not None and central_file(central.store, order[1]) is None
    confirmed = lambda: {row.sha256 for row in document_rows(coordinator.store, tar) if row.stored_centrally_at}
    assert confirmed() == set()
    network.fail(f"/v1/documents/{order[1]}", "before")  # the next file: the network goes before it leaves
    with pytest.raises(Offline):
        coordinator.sync(transport=network)
    assert confirmed() == {order[0]} and central_file(central.store, order[1]) is None  # the held one: confirmed
    report = coordinator.sync(transport=network)
    assert report.documents_uploaded == 1 and report.warnings == []
    assert confirmed() == set(order)
    for row in (first, second):
        assert central_file(central.store, row.sha256) == contents[row.file_name]


def test_cli_lists_and_writes_a_document_with_exit_codes(central, laptops, tmp_path, sync_server, central_store,
                                                         isolated_home, capsys):
    from app.cli import main

    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "fax.pdf")
    coordinator.sync()
    (tmp_path / "processed").rename(tmp_path / "lost")  # the files are on the central store only from here on
    url = central_store.engine.url.render_as_string(hide_password=False)
    assert main(["case", "documents", tar, "--json", "--database-url", url]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["tar"], listed["file_name"], listed["pages"], listed["central"]) == (tar, "fax.pdf", 2, True)
    out = tmp_path / "copy.pdf"
    assert main(["case", "document", tar, "fax.pdf", "--out", str(out), "--json", "--database-url", url,
                 "--as", "lead.patel"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert out.read_bytes() == contents["fax.pdf"] and answer["size_bytes"] == len(contents["fax.pdf"])
    assert main(["case", "document", tar, "nope.pdf", "--out", str(tmp_path / "x"), "--database-url", url]) == 2
    assert "no document 'nope.pdf'" in capsys.readouterr().err and not (tmp_path / "x").exists()
    assert main(["case", "documents", "99999999999", "--database-url", url]) == 2

    # A laptop (the default store of this home) still holding the case after it left the nurse's queues: 3.
    central.act(svc.assign_case, tar, "lead.patel", assignee_username="nurse.garcia", note="inpatient for now")
    nurse = Laptop(isolated_home, sync_server, "nurse.garcia", central_store)
    try:
        nurse.login()
        nurse.sync()
        central.act(svc.assign_case, tar, "lead.patel", assignee_username="nurse.nguyen", note="outpatient again")
        capsys.readouterr()
        assert main(["case", "documents", tar, "--as", "nurse.garcia", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["here"] is False
        assert main(["case", "document", tar, listed["id"], "--out", str(tmp_path / "y"), "--as",
                     "nurse.garcia"]) == 3
        assert "not in your queues" in capsys.readouterr().err and not (tmp_path / "y").exists()
    finally:
        nurse.close()


def test_the_workstations_sync_result_shows_a_document_warning(central, laptops, tmp_path, qtbot):
    from PySide6.QtCore import QSettings, Qt

    from app.store.worklist import viewer_for
    from app.ui.main_window import MainWindow

    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "fax.pdf")
    [row] = document_rows(coordinator.store, tar)
    Path(row.stored_path).write_bytes(b"%PDF-1.4 something else entirely")
    with coordinator.store.session() as session:
        viewer = viewer_for(session, coordinator.username)
    window = MainWindow(coordinator.store, viewer, QSettings(str(tmp_path / "c.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.clock_checks > 0 and window.clock_watch_idle())
    with qtbot.waitSignal(window.sync.synced, timeout=30_000) as done:
        qtbot.keyClick(window, Qt.Key.Key_F5)
    report = done.args[0]
    assert report.pushed >= 1 and report.documents_uploaded == 0 and len(report.warnings) == 1
    assert "'fax.pdf'" in window.statusBar().currentMessage()
    assert "has changed since it was attached" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.sync.job is None)


def test_a_fax_attached_on_the_central_store_itself_opens_on_a_laptop(central, laptops, tmp_path):
    """A coordinator working on the central store (--database-url): the file goes into document_files in the
    intake's own transaction, so a laptop opens it although no laptop ever held it."""
    from types import SimpleNamespace

    tar, contents = fax_request(tmp_path, SimpleNamespace(store=central.store, username="coord.jones"), "central.pdf")
    (row,) = document_rows(central.store, tar)
    assert central_file(central.store, row.sha256) == contents["central.pdf"] and row.stored_centrally_at
    (tmp_path / "processed").rename(tmp_path / "moved-away")  # the central machine's processed folder is elsewhere
    central.act(svc.assign_case, tar, "lead.patel", assignee_username="nurse.nguyen", note="documents")
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    opened = documents.open_document(nurse.store, tar, "central.pdf", "nurse.nguyen",
                                     fetch=client.document_fetcher(nurse.store))
    assert opened.content == contents["central.pdf"] and opened.source == "downloaded"


def big_fax_on_the_nurses_laptop(central, laptops, tmp_path):
    """A 200-page fax (about 160 KB: three download chunks) received on a coordinator's laptop and synced, its file
    gone from there; the nurse the case is assigned to has the case on her laptop but not the file."""
    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "big-fax.pdf", pages=200)
    assert coordinator.sync().documents_uploaded == 1
    (tmp_path / "processed").rename(tmp_path / "gone")
    central.act(svc.assign_case, tar, "lead.patel", assignee_username="nurse.nguyen", note="documents")
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    content = contents["big-fax.pdf"]
    assert len(content) > 2 * api_module.DOWNLOAD_CHUNK
    return nurse, tar, content


def laptop_state(laptop, tar: str) -> tuple[int, list[bool], int]:
    """Files kept in the laptop's store, whether each document is here, and the laptop's views naming a document."""
    with laptop.store.session() as session:
        kept = session.scalar(select(func.count()).select_from(DocumentFile))
        here = [d.here for d in documents.list_documents(session, tar)]
        bodies = [json.loads(b) if isinstance(b, str) else b for b in session.scalars(
            select(AuditRecord.body).where(AuditRecord.tar == tar, AuditRecord.action == "view"))]
    return kept, here, sum(1 for b in bodies if (b.get("details") or {}).get("document"))


def test_a_download_cancelled_after_its_first_chunk_keeps_nothing(central, laptops, tmp_path):
    nurse, tar, content = big_fax_on_the_nurses_laptop(central, laptops, tmp_path)
    before = laptop_state(nurse, tar)
    assert before[1] == [False]
    seen: list[tuple[int, int]] = []
    fetch = client.document_fetcher(nurse.store, progress=lambda received, total: seen.append((received, total)),
                                    cancelled=lambda: any(received for received, _ in seen))
    with pytest.raises(documents.Cancelled):
        documents.open_document(nurse.store, tar, "big-fax.pdf", "nurse.nguyen", fetch=fetch)
    assert seen == [(0, len(content)), (api_module.DOWNLOAD_CHUNK, len(content))]  # stopped after the first chunk
    assert laptop_state(nurse, tar) == before  # nothing kept, nothing audited here

    seen.clear()  # opened again, not cancelled: it comes chunk by chunk, whole, and is kept
    fetch = client.document_fetcher(nurse.store, progress=lambda received, total: seen.append((received, total)))
    opened = documents.open_document(nurse.store, tar, "big-fax.pdf", "nurse.nguyen", fetch=fetch)
    assert opened.content == content and opened.source == "downloaded"
    assert len(seen) > 3 and seen[-1] == (len(content), len(content))
    assert laptop_state(nurse, tar)[:2] == (before[0] + 1, [True])


def test_the_documents_tab_shows_a_download_and_cancel_stops_it(central, laptops, tmp_path, qtbot):
    import threading

    from PySide6.QtCore import QSettings, Qt

    from app.store.worklist import viewer_for
    from app.ui.main_window import MainWindow

    nurse, tar, content = big_fax_on_the_nurses_laptop(central, laptops, tmp_path)
    before = laptop_state(nurse, tar)
    first_chunk, go_on = threading.Event(), threading.Event()

    def held_after_the_first_chunk(store, *, progress, cancelled):
        """The real download, held after its first chunk until the test has pressed Cancel."""
        def reported(received, total):
            progress(received, total)
            if received and not first_chunk.is_set():
                first_chunk.set()
                go_on.wait(30)
        return client.document_fetcher(store, progress=reported, cancelled=cancelled)

    with nurse.store.session() as session:
        viewer = viewer_for(session, "nurse.nguyen")
    window = MainWindow(nurse.store, viewer, QSettings(str(tmp_path / "n.ini"), QSettings.Format.IniFormat),
                        watch_ms=0)
    qtbot.addWidget(window)
    window.show()
    view = window.open_case(tar)
    panel = view.documents_tab
    panel._fetcher_for = held_after_the_first_chunk
    view.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: len(panel.documents) == 1)
    assert not panel.downloading() and panel.cancel_button.isHidden()
    panel.table.selectRow(0)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    qtbot.waitUntil(first_chunk.is_set, timeout=20_000)
    qtbot.waitUntil(lambda: panel.progress.value() > 0)
    assert panel.downloading() and panel.cancel_button.isVisible() and panel.cancel_button.isEnabled()
    assert panel.progress.format() == f"64 KB of {len(content) / 1024:.0f} KB"
    assert panel.last_message == "Fetching 'big-fax.pdf' from the central store…"
    assert not panel.open_button.isEnabled()
    view.resize(900, 560)
    qtbot.wait(50)
    shot = Path(os.environ.get("UMWS_SCREENSHOTS") or tmp_path) / "case-documents-downloading.png"
    assert view.grab().save(str(shot))

    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.last_message == "Cancelling the download of 'big-fax.pdf'…" and not panel.cancel_button.isEnabled()
    go_on.set()
    qtbot.waitUntil(lambda: panel.cancelled_downloads == 1, timeout=20_000)
    assert panel.last_message.startswith("Download cancelled: 'big-fax.pdf' was not opened, and nothing of it was "
                                         "kept on this laptop.")
    qtbot.waitUntil(lambda: panel.open_button.isEnabled())
    assert panel.cancel_button.isHidden() and panel.progress.isHidden()
    assert panel.last_opened is None
    assert laptop_state(nurse, tar) == before
    assert panel.table.item(0, 5).text() == "On the central store (opens when online)"
    view.close()
    window.close()


def test_cli_leaves_no_partial_file_when_writing_fails(central, laptops, tmp_path, central_store, isolated_home):
    """`umws case document … --out FILE` on a disk that takes only 4 KB more (a real limit: RLIMIT_FSIZE in the
    CLI's own process): it fails saying so, and FILE is absent, or as it was before."""
    import resource
    import subprocess
    import sys

    coordinator = signed_in(laptops)
    tar, contents = fax_request(tmp_path, coordinator, "big-fax.pdf", pages=200)
    coordinator.sync()
    url = central_store.engine.url.render_as_string(hide_password=False)
    root = Path(__file__).resolve().parents[2]

    def cli(out: Path, limit: int | None) -> subprocess.CompletedProcess:
        def small_disk():
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return subprocess.run(
            [sys.executable, "-m", "app", "case", "document", tar, "big-fax.pdf", "--out", str(out),
             "--database-url", url, "--as", "lead.patel"],
            env={**os.environ, "UMWS_HOME": str(isolated_home), "PYTHONPATH": str(root),
                 "PYTHONDONTWRITEBYTECODE": "1"},
            cwd=root, capture_output=True, text=True, timeout=120, preexec_fn=small_disk)

    folder = tmp_path / "out"
    folder.mkdir()
    new = folder / "copy.pdf"
    failed = cli(new, 4096)
    assert not new.exists() and list(folder.iterdir()) == []  # no partial file, no temporary file left
    assert failed.returncode == 2, failed.stderr
    assert f"cannot write {new}" in failed.stderr and "nothing was written there" in failed.stderr

    kept = folder / "earlier.pdf"
    kept.write_bytes(b"an earlier copy")
    assert cli(kept, 4096).returncode == 2
    assert kept.read_bytes() == b"an earlier copy" and sorted(folder.iterdir()) == [kept]

    written = cli(kept, None)  # the disk has room again
    assert written.returncode == 0, written.stderr
    assert kept.read_bytes() == contents["big-fax.pdf"] and sorted(folder.iterdir()) == [kept]
