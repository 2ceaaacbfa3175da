"""The fax / document inbox (issue 11, scope 2): a folder watched for faxed and scanned requests.

* The folder is configurable: the GUI's Intake settings, else $UMWS_INBOX, else `inbox` in the store's data
  directory; processed files go to its `processed` subfolder (or $UMWS_INBOX_PROCESSED).
* Each PDF or TIFF file is an intake item whose receipt time is its arrival: the time the fax server wrote it
  (the file's modification time), so a fax that came in while the laptop was off keeps its real receipt. A file
  written in the last two seconds is left for the next look (the fax server may still be writing it).
* A document is opened before anything is saved: one that cannot be opened (damaged, password-protected, not
  really a PDF or TIFF) is refused with a message naming it, and stays in the inbox.
* When its case is saved the document is moved to the processed folder (named after the TAR) and attached to the
  case, in the same step: if saving fails, the file goes back. Nothing in the inbox is ever deleted.
* PAS bundles (.json) and CSV batches (.csv) dropped into the folder are imported like `umws intake import`, with
  the file's arrival as a bundle's receipt, and then moved to the processed folder; a file that cannot be
  imported stays in the inbox and is reported.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from app.domain.intake.draft import IntakeDraft
from app.domain.intake.errors import Problem, UnreadableRequest
from app.services import intake

DOCUMENT_TYPES = {".pdf": "application/pdf", ".tif": "image/tiff", ".tiff": "image/tiff"}
REQUEST_FILES = {".json": "bundle", ".csv": "csv"}
SETTLE_SECONDS = 2.0


def inbox_folder() -> Path:
    from app.store.engine import data_dir

    configured = os.environ.get("UMWS_INBOX")
    return Path(configured) if configured else data_dir() / "inbox"


def processed_folder(inbox: Path) -> Path:
    configured = os.environ.get("UMWS_INBOX_PROCESSED")
    return Path(configured) if configured else inbox / "processed"


@dataclass(frozen=True)
class InboxItem:
    path: Path
    kind: str  # 'document', 'bundle', 'csv'
    media_type: str
    received_at: datetime  # arrival in the inbox (the file's modification time), UTC
    size: int

    @property
    def name(self) -> str:
        return self.path.name


def scan(folder: Path, *, now: float | None = None, settle: float = SETTLE_SECONDS) -> list[InboxItem]:
    """The inbox's items, earliest arrival first (files still being written are left for the next scan)."""
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    items = []
    for entry in os.scandir(folder):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        suffix = Path(entry.name).suffix.lower()
        if suffix in DOCUMENT_TYPES:
            kind, media = "document", DOCUMENT_TYPES[suffix]
        elif suffix in REQUEST_FILES:
            kind, media = REQUEST_FILES[suffix], "application/fhir+json" if suffix == ".json" else "text/csv"
        else:
            continue
        stat = entry.stat()
        if now - stat.st_mtime < settle:
            continue
        items.append(InboxItem(Path(entry.path), kind, media, datetime.fromtimestamp(stat.st_mtime, timezone.utc),
                               stat.st_size))
    return sorted(items, key=lambda item: (item.received_at, item.name))


@dataclass(frozen=True)
class DocumentInfo:
    pages: int
    sha256: str


def open_document(item: InboxItem) -> DocumentInfo:
    """Open a PDF (pypdf) or TIFF (Pillow) and count its pages; UnreadableRequest when it cannot be opened."""
    try:
        if item.media_type == "application/pdf":
            pages = _pdf_pages(item.path)
        else:
            pages = _tiff_pages(item.path)
    except UnreadableRequest:
        raise
    except Exception as error:  # noqa: BLE001 - any parser failure means the document cannot be opened
        raise UnreadableRequest(item.name, [Problem("the document", f"cannot be opened ({type(error).__name__}: "
                                                                    f"{error}); ask the sender to fax it again")]) \
            from error
    if pages < 1:
        raise UnreadableRequest(item.name, [Problem("the document", "has no pages")])
    return DocumentInfo(pages, intake.document_digest(item.path))


def _pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    reader = PdfReader(str(path), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise UnreadableRequest(path.name, [Problem("the document", "is password-protected; ask the sender for "
                                                                    "an unprotected copy")])
    return len(reader.pages)


def _tiff_pages(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        if image.format != "TIFF":
            raise UnreadableRequest(path.name, [Problem("the document", f"is a {image.format} image, not a TIFF")])
        image.load()
        return getattr(image, "n_frames", 1)


def _move(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, destination)  # same file system: atomic
    except OSError:
        shutil.move(str(source), str(destination))


def save_with_documents(store, draft: IntakeDraft, username: str, items: Sequence[InboxItem], *,
                        processed: Path, resolution: str | None = None, target: str | None = None) -> intake.Saved:
    """Save the request with its inbox documents attached; the files move to `processed` in the same step."""
    documents = []
    for item in items:
        info = open_document(item)
        documents.append(intake.DocumentToFile(item.path, item.received_at, item.media_type, info.pages,
                                               info.sha256))
    moved: list[tuple[Path, Path]] = []
    try:
        with store.session() as session, session.begin():
            saved = intake.save_request(session, draft, username, resolution=resolution, target=target,
                                        documents=documents, processed_dir=processed)
            for document, destination in zip(documents, saved.documents):
                moved.append((document.path, Path(destination)))
                _move(document.path, Path(destination))
    except BaseException:
        for source, destination in reversed(moved):  # the case was not saved: the documents go back
            if destination.exists() and not source.exists():
                _move(destination, source)
        raise
    return saved


@dataclass
class FileOutcome:
    item: InboxItem
    report: intake.ImportReport | None = None
    error: UnreadableRequest | Exception | None = None
    moved_to: Path | None = None


def import_request_files(store, items: Sequence[InboxItem], username: str, processed: Path) -> list[FileOutcome]:
    """Import the bundles and CSV batches among `items` (each its own transaction); move each imported file to
    the processed folder. A refused file stays where it is and its outcome carries the error."""
    outcomes = []
    for item in items:
        if item.kind == "document":
            continue
        outcome = FileOutcome(item)
        try:
            outcome.report = intake.import_file(store, item.path, username, received_at=item.received_at)
        except (UnreadableRequest, intake.ActionRefused, intake.InvalidInput) as error:
            outcome.error = error
        else:
            stamp = item.received_at.strftime("%Y%m%dT%H%M%SZ")
            destination = processed / f"{stamp}_{item.name}"
            number = 1
            while destination.exists():
                number += 1
                destination = processed / f"{stamp}_{number}_{item.name}"
            _move(item.path, destination)
            outcome.moved_to = destination
        outcomes.append(outcome)
    return outcomes
