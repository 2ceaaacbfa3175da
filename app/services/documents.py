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

`fetch` is given by the caller (app.sync.client.fetch_document on an enrolled laptop): services do not talk to the
network themselves. It raises `Unreachable` (offline) or `ActionRefused` (the server's refusal, e.g. outside the
user's queues).
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.plantime import iso_plan
from app.services import audit
from app.services.cases import InvalidInput, NotFound, _acting_user, case_by_tar
from app.store.models import Case, DocumentFile, IntakeDocument, User, utcnow


class Unavailable(Exception):
    """The file is neither in this store nor reachable now; the message says what to do."""


class Unreachable(Unavailable):
    """`fetch` could not reach the central store (offline)."""


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
