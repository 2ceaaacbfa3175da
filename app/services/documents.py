"""A case's intake documents (the faxed and scanned files attached at intake) and their bytes, wherever they are
(issue 9, "nothing lost").

* `list_documents`: name, pages, media type, received, attached by, and where the file is: `here` (the file this
  store received, in its processed folder, or a copy downloaded before), `central` (the central store holds it).
* `open_document`: the bytes, each source checked against the document's SHA-256, in this order: the local file
  (the laptop that received it, or a central store's own intake); the store's `document_files` (on the central
  store, opened directly with --database-url: the files the laptops uploaded; on a laptop: the copies it
  downloaded, kept inside its encrypted store, never as loose files); else `fetch(document_id)` (on an enrolled
  laptop: a download from the sync server, which checks the user's scope and audits it), kept in `document_files`.
  Every open is a view of the case in this store's audit trail, naming the document and where its bytes came from.

`fetch` is given by the caller (app.sync.client.document_fetcher on an enrolled laptop): services do not talk to
the network themselves. It raises `Unreachable` (offline), `ActionRefused` (the server's refusal, e.g. outside the
user's queues) or `Cancelled` (the user stopped the download: nothing of it is kept, nothing is audited here).

The viewer's copies (`opened_folder`, `keep_opened_copy`, `remove_opened_copies`): the workstation hands the
system's viewer a plain copy of a member document in `opened-documents`, a folder of the user's data directory only
the user can read. The copies are removed again: those not opened for `COPIES_KEPT_FOR` (12 hours: a working day,
so a document opened in the morning still opens from its copy in the afternoon, and one opened yesterday is gone
at the next morning's start; a copy's age counts from its last open) when the workstation starts and when it
quits, and all of them when the user signs out (the next person to sign in on this computer finds none). A copy
the viewer still holds open (Windows refuses to delete it) is left for the next time, silently.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.plantime import iso_plan
from app.services import audit
from app.services.cases import InvalidInput, NotFound, _acting_user, case_by_tar
from app.store.models import Case, DocumentFile, IntakeDocument, User, utcnow

log = logging.getLogger(__name__)

OPENED_FOLDER = "opened-documents"  # in the user's data directory (app.store.engine.data_dir)
COPIES_KEPT_FOR = timedelta(hours=12)  # a viewer's copy not opened for this long goes at the next start or quit


class Unavailable(Exception):
    """The file is neither in this store nor reachable now; the message says what to do."""


class Unreachable(Unavailable):
    """`fetch` could not reach the central store (offline)."""


class Cancelled(Exception):
    """The user cancelled the download while it was under way; nothing of it was kept."""


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    file_name: str
    pages: int
    media_type: str
    received_at: datetime
    attached_at: datetime
    attached_by: str | None
    sha256: str
    here: bool  # the file is in this store's processed folder or in its copies
    central: bool  # the central store holds the file
    attached_by_name: str | None = None  # the user's full name, for the screen

    def to_json(self) -> dict:
        return {"id": self.id, "file_name": self.file_name, "pages": self.pages, "media_type": self.media_type,
                "received_at": iso_plan(self.received_at), "attached_at": iso_plan(self.attached_at),
                "attached_by": self.attached_by, "attached_by_name": self.attached_by_name, "sha256": self.sha256,
                "here": self.here, "central": self.central}


@dataclass(frozen=True)
class Opened:
    document: DocumentInfo
    content: bytes
    source: str  # "this computer", "central store", "downloaded"


def _is_central(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def list_documents(session: Session, tar: str) -> list[DocumentInfo]:
    """The case's documents, oldest first (NotFound: no such TAR). A read: the caller audits the view."""
    case = case_by_tar(session, tar)
    return _infos(session, case)


def _infos(session: Session, case: Case) -> list[DocumentInfo]:
    documents = session.scalars(select(IntakeDocument).where(IntakeDocument.case_id == case.id)
                                .order_by(IntakeDocument.attached_at, IntakeDocument.file_name)).all()
    kept = set(session.scalars(select(DocumentFile.sha256).where(
        DocumentFile.sha256.in_([d.sha256 for d in documents])))) if documents else set()
    central_store = _is_central(session)
    names = {row.username: row.full_name for row in session.execute(select(User.username, User.full_name).where(
        User.username.in_({d.attached_by for d in documents if d.attached_by})))} if documents else {}
    return [DocumentInfo(str(d.id), d.file_name, d.pages, d.media_type, d.received_at, d.attached_at,
                         d.attached_by, d.sha256,
                         here=Path(d.stored_path).is_file() or (d.sha256 in kept and not central_store),
                         central=d.stored_centrally_at is not None or (central_store and d.sha256 in kept),
                         attached_by_name=names.get(d.attached_by))
            for d in documents]


def find_document(session: Session, tar: str, document: str) -> DocumentInfo:
    """`document` is a document's id or its file name on the case (NotFound: neither; InvalidInput: a name that
    two documents share, give the id)."""
    infos = list_documents(session, tar)
    by_id = [d for d in infos if d.id == document.strip().lower()]
    if by_id:
        return by_id[0]
    named = [d for d in infos if d.file_name == document]
    if len(named) > 1:
        raise InvalidInput(f"TAR {tar} has {len(named)} documents named '{document}': give the document's id "
                           f"({', '.join(d.id for d in named)}).")
    if not named:
        raise NotFound(f"TAR {tar} has no document '{document}' (its documents: "
                       + (", ".join(d.file_name for d in infos) or "none") + ").")
    return named[0]


def _verified(content: bytes | None, sha256: str) -> bytes | None:
    return content if content is not None and hashlib.sha256(content).hexdigest() == sha256 else None


def open_document(store, tar: str, document: str, username: str | None, *, viewer_kind: str = "user",
                  fetch: Callable[[str], bytes] | None = None, via: str = "workstation") -> Opened:
    """The document's bytes (see the module docstring); the view is audited in the same transaction that keeps a
    downloaded copy. `username` None: the operating-system user reads (the CLI without --as)."""
    if username is None:
        viewer_kind = "os-user"
    with store.session() as session:
        if viewer_kind == "user":
            _acting_user(session, username)
        info = find_document(session, tar, document)
        row = session.get(IntakeDocument, uuid.UUID(info.id))
        stored_path = row.stored_path
    content, source = None, None
    try:
        content = _verified(Path(stored_path).read_bytes(), info.sha256)
        source = "this computer"
    except OSError:
        pass
    with store.session() as session:
        if content is None:
            kept = session.get(DocumentFile, info.sha256)
            content = _verified(kept.content if kept else None, info.sha256)
            source = "central store" if _is_central(session) else "this computer"
    downloaded = False
    if content is None:
        if fetch is None:
            raise Unavailable(f"The file of '{info.file_name}' is not in this store and this store is not "
                              "signed in to a sync server. Open it on the central store or on the laptop that "
                              "received it.")
        if not info.central:
            where = f" ({info.attached_by})" if info.attached_by else ""
            note = (f" The central store did not hold it at the last sync: the laptop that received it{where} "
                    "sends it at its next sync.")
        else:
            note = ""
        try:
            content = fetch(info.id)
        except Unavailable as error:
            raise type(error)(f"{error}{note}") from error
        if _verified(content, info.sha256) is None:
            raise Unavailable(f"The copy of '{info.file_name}' the central store sent does not match the document's "
                              "SHA-256; it was not kept. Tell the administrator.")
        source, downloaded = "downloaded", True
    with store.session() as session, session.begin():
        case = case_by_tar(session, tar)
        if downloaded and session.get(DocumentFile, info.sha256) is None:
            session.add(DocumentFile(sha256=info.sha256, media_type=info.media_type, size_bytes=len(content),
                                     content=content, stored_at=utcnow(), from_device=None))
        audit.record_view(session, actor=username or audit.os_user(), actor_kind=viewer_kind, what="case",
                          case_id=case.id, tar=case.tar,
                          details={"document": info.id, "sha256": info.sha256, "source": source, "via": via})
    return Opened(info, content, source)


# --- the viewer's copies --------------------------------------------------------------------------------------
def opened_folder(*, create: bool = True) -> Path:
    """The folder of the copies handed to the system's viewer: only this user can read it."""
    from app.store.engine import data_dir

    folder = data_dir() / OPENED_FOLDER
    if create:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(folder, 0o700)
        except OSError:
            pass
    return folder


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\- ]", "_", name).strip() or "document"


def keep_opened_copy(tar: str, opened: Opened) -> Path:
    """Write (or reuse) the viewer's copy of an opened document, readable by this user only. Its modification time
    is set to now even when the copy was there already: a copy's age counts from its last open."""
    path = opened_folder() / f"{tar}_{opened.document.sha256[:12]}_{_safe_name(opened.document.file_name)}"
    try:
        same = path.is_file() and path.read_bytes() == opened.content
    except OSError:
        same = False
    if same:
        try:
            os.utime(path)
        except OSError:  # a viewer holding it (Windows): it is still the document, only its age is not renewed
            pass
    else:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(opened.content)
        os.chmod(path, 0o600)
    return path


@dataclass(frozen=True)
class CopiesRemoved:
    removed: int  # copies deleted
    left: int  # copies old enough that could not be deleted now (e.g. a viewer holds one): tried again next time


def remove_opened_copies(*, older_than: timedelta | None = COPIES_KEPT_FOR, now: float | None = None,
                         folder: Path | None = None) -> CopiesRemoved:
    """Delete the viewer's copies not opened for `older_than` (None: all of them). Never raises: a copy that cannot
    be deleted is counted in `left` and stays for the next time; the log gets the counts only (the file names are
    member documents' names)."""
    folder = folder if folder is not None else opened_folder(create=False)
    now = time.time() if now is None else now
    removed = left = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no folder yet (nothing was ever opened), or unreadable: nothing to do now
        return CopiesRemoved(0, 0)
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                continue  # the workstation makes no folders here; left alone
            if older_than is not None and now - info.st_mtime < older_than.total_seconds():
                continue
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            continue
        except OSError:
            left += 1
    if removed or left:
        log.info("viewer's copies: %d removed, %d left for next time", removed, left)
    return CopiesRemoved(removed, left)
