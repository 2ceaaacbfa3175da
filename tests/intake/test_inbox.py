"""The fax inbox on a temporary folder: arrival is receipt, unreadable documents are refused, processed files are
moved (never deleted) and attached, bundles dropped in become cases."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.domain.intake.errors import UnreadableRequest
from app.services import inbox, intake
from app.store.models import Case, CaseEvent, IntakeDocument
from tests.intake.bundles import therapy_bundle
from tests.intake.documents import fax_pdf, fax_tiff

ARRIVED = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=5)


def request(item: inbox.InboxItem) -> IntakeDraft:
    return IntakeDraft(
        channel="fax", received_at=item.received_at,
        member=MemberPart(cin="91234567A", first_name="Lucia", last_name="Hernandez", birth_date=date(1970, 5, 17)),
        requesting=ProviderPart("1234567893", "Chidi Okoro, MD"), place_of_service="11",
        lines=[LinePart("97110", "Therapeutic exercise", 12, date(2026, 11, 23), date(2026, 12, 31))],
        diagnoses=[DiagnosisPart("M54.50", "Low back pain")], attachments=[item.name])


def test_scan_lists_documents_and_request_files_by_arrival(tmp_path):
    fax_pdf(tmp_path / "b.pdf", arrived=ARRIVED)
    fax_tiff(tmp_path / "a.tif", arrived=ARRIVED - timedelta(minutes=10))
    (tmp_path / "bundle.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "processed").mkdir()
    items = inbox.scan(tmp_path, settle=0)
    assert [(i.name, i.kind) for i in items] == [("a.tif", "document"), ("b.pdf", "document"),
                                                 ("bundle.json", "bundle")]
    assert items[1].received_at == ARRIVED  # the arrival is the receipt


def test_a_file_still_being_written_waits(tmp_path):
    fax_pdf(tmp_path / "arriving.pdf")  # written just now
    assert inbox.scan(tmp_path) == []
    assert [i.name for i in inbox.scan(tmp_path, settle=0)] == ["arriving.pdf"]


def test_documents_are_opened_and_pages_counted(tmp_path):
    fax_pdf(tmp_path / "fax.pdf", pages=3, arrived=ARRIVED)
    fax_tiff(tmp_path / "scan.tiff", pages=2, arrived=ARRIVED)
    items = {i.name: i for i in inbox.scan(tmp_path)}
    assert inbox.open_document(items["fax.pdf"]).pages == 3
    assert inbox.open_document(items["scan.tiff"]).pages == 2


def test_a_document_that_cannot_be_opened_is_refused_and_stays(tmp_path, local_intake_store):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf at all")
    (tmp_path / "fake.tif").write_bytes(b"GIF89a not a tiff")
    for path in (tmp_path / "broken.pdf", tmp_path / "fake.tif"):
        os.utime(path, (ARRIVED.timestamp(), ARRIVED.timestamp()))
    items = inbox.scan(tmp_path)
    for item in items:
        with pytest.raises(UnreadableRequest) as caught:
            inbox.save_with_documents(local_intake_store, request(item), "coord.jones", [item],
                                      processed=tmp_path / "processed")
        assert caught.value.file == item.name and "cannot be opened" in str(caught.value)
        assert item.path.exists()
    with local_intake_store.session() as session:
        assert session.scalars(select(Case)).first() is None  # nothing saved


def test_saving_moves_the_document_to_processed_and_attaches_it(tmp_path, local_intake_store):
    fax_pdf(tmp_path / "fax-0042.pdf", pages=2, arrived=ARRIVED)
    [item] = inbox.scan(tmp_path)
    saved = inbox.save_with_documents(local_intake_store, request(item), "coord.jones", [item],
                                      processed=tmp_path / "processed")
    assert not item.path.exists()  # left the inbox
    [stored] = saved.documents
    assert Path(stored).exists() and Path(stored).parent == tmp_path / "processed"
    assert Path(stored).name == f"{saved.tar}_fax-0042.pdf"
    assert inbox.scan(tmp_path) == []
    with local_intake_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == saved.tar))
        assert case.received_at == ARRIVED  # the clock runs from the fax's arrival
        document = session.scalar(select(IntakeDocument).where(IntakeDocument.case_id == case.id))
        assert (document.pages, document.file_name, document.received_at) == (2, "fax-0042.pdf", ARRIVED)
        assert document.sha256 == intake.document_digest(Path(stored))
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
        assert "document-attached" in kinds


def test_a_failed_save_puts_the_document_back(tmp_path, local_intake_store):
    fax_pdf(tmp_path / "fax.pdf", arrived=ARRIVED)
    [item] = inbox.scan(tmp_path)
    with pytest.raises(intake.ActionRefused):
        inbox.save_with_documents(local_intake_store, request(item), "auditor.brown", [item],
                                  processed=tmp_path / "processed")
    assert item.path.exists()
    original = inbox._move
    calls = []

    def move_then_fail(source, destination):
        original(source, destination)
        calls.append(destination)
        if len(calls) == 1:
            raise OSError("the processed folder went away")

    inbox._move = move_then_fail
    try:
        with pytest.raises(OSError):
            inbox.save_with_documents(local_intake_store, request(item), "coord.jones", [item],
                                      processed=tmp_path / "processed")
    finally:
        inbox._move = original
    assert item.path.exists()  # moved back
    with local_intake_store.session() as session:
        assert session.scalars(select(IntakeDocument)).first() is None


def test_bundles_dropped_in_the_inbox_become_cases(tmp_path, local_intake_store):
    (tmp_path / "pa-1.json").write_text(json.dumps(therapy_bundle()))
    (tmp_path / "broken.json").write_text("{ not json")
    for name in ("pa-1.json", "broken.json"):
        os.utime(tmp_path / name, (ARRIVED.timestamp(), ARRIVED.timestamp()))
    outcomes = inbox.import_request_files(local_intake_store, inbox.scan(tmp_path), "coord.jones",
                                          tmp_path / "processed")
    by_name = {o.item.name: o for o in outcomes}
    assert by_name["broken.json"].error is not None and (tmp_path / "broken.json").exists()
    created = by_name["pa-1.json"].report.created
    assert len(created) == 1 and by_name["pa-1.json"].moved_to.exists()
    with local_intake_store.session() as session:
        assert session.scalar(select(Case.received_at).where(Case.tar == created[0])) == ARRIVED
    # the same bundle dropped again: nothing new, and it is moved out of the way too
    (tmp_path / "pa-1.json").write_text(json.dumps(therapy_bundle()))
    os.utime(tmp_path / "pa-1.json", (ARRIVED.timestamp(), ARRIVED.timestamp()))
    [again] = [o for o in inbox.import_request_files(local_intake_store, inbox.scan(tmp_path), "coord.jones",
                                                     tmp_path / "processed") if o.item.name == "pa-1.json"]
    assert again.report.created == [] and again.report.duplicates[0]["tar"] == created[0]
    assert len(list((tmp_path / "processed").iterdir())) == 2  # both kept, never deleted


def test_the_inbox_folder_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("UMWS_INBOX", str(tmp_path / "faxes"))
    assert inbox.inbox_folder() == tmp_path / "faxes"
    assert inbox.processed_folder(inbox.inbox_folder()) == tmp_path / "faxes" / "processed"
    monkeypatch.setenv("UMWS_INBOX_PROCESSED", str(tmp_path / "done"))
    assert inbox.processed_folder(inbox.inbox_folder()) == tmp_path / "done"
