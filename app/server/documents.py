"""The central store's document files (issue 9, "nothing lost"): the laptops upload the faxed and scanned files of
the intake documents they received, and a signed-in user downloads one to open it.

    POST /v1/documents/missing   {"sha256": [...]} -> {"held": [...], "missing": [...], "unknown": [...]}
    PUT  /v1/documents/{sha256}  the file's bytes (application/octet-stream) -> {"sha256", "stored", "size_bytes"}
    POST /v1/documents/fetch     {"document_id"} -> the file's bytes (Content-Type: its media type)

* Content-addressed: `document_files` (migration 0017) keeps one row per SHA-256. The server stores only files that
  an intake document of the central store names (it is not a store of arbitrary blobs), only after hashing the
  bytes it received (a mismatch is refused, 422), and a repeated upload changes nothing (same SHA-256, same bytes).
* One request per file, the body the raw bytes (no base64: a fax may be tens of MB); at most MAX_BYTES (413).
* `held` marks the intake documents of a SHA-256 as stored centrally (`stored_centrally_at`): the change log then
  carries a change of their cases (migration 0017), so the laptops holding them learn it at their next pull.
* A download is allowed when the document's case is in the caller's pull scope (app.server.pull.scope_condition)
  or the caller is a supervisor; each one is an audit record: a view of the case, naming the document.
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain.roles import SUPERVISOR_ROLES
from app.server.accounts import AccessRefused, Caller
from app.store.models import Case, DocumentFile, IntakeDocument, utcnow

MAX_BYTES = int(os.environ.get("UMWS_MAX_DOCUMENT_MB", "100")) * 1024 * 1024
MAX_ASKED = 1000  # SHA-256s per `missing` request
_SHA256 = re.compile(r"[0-9a-f]{64}")


def valid_sha256(value) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValueError(f"'{str(value)[:80]}' is not a SHA-256 (64 lowercase hex digits)")
    return value


def missing(session: Session, caller: Caller, hashes: list) -> dict:
    """Which of `hashes` the central store holds, lacks (an intake document names it), or does not know."""
    asked = sorted({valid_sha256(value) for value in hashes})
    if len(asked) > MAX_ASKED:
        raise ValueError(f"at most {MAX_ASKED} SHA-256s per request")
    if not asked:
        return {"held": [], "missing": [], "unknown": []}
    held = set(session.scalars(select(DocumentFile.sha256).where(DocumentFile.sha256.in_(asked))))
    named = set(session.scalars(select(IntakeDocument.sha256).where(IntakeDocument.sha256.in_(asked)).distinct()))
    if held:
        _mark_stored(session, held)
    return {"held": sorted(held), "missing": sorted(named - held), "unknown": sorted(set(asked) - held - named)}


def _mark_stored(session: Session, hashes) -> None:
    session.execute(update(IntakeDocument).where(IntakeDocument.sha256.in_(list(hashes)),
                                                 IntakeDocument.stored_centrally_at.is_(None))
                    .values(stored_centrally_at=utcnow()).execution_options(synchronize_session=False))


def store(session: Session, caller: Caller, sha256: str, data: bytes) -> dict:
    """Keep `data` as the file of `sha256`, once its bytes are checked (see the module docstring)."""
    sha256 = valid_sha256(sha256)
    if len(data) > MAX_BYTES:
        raise AccessRefused(f"The file is {len(data):,} bytes; the central store takes documents up to "
                            f"{MAX_BYTES:,} bytes. It stays on the laptop.", 413, "too-large")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise AccessRefused(f"The bytes received hash to {actual}, not to {sha256} as the upload says: nothing was "
                            "stored. The file on the laptop may have been changed or damaged after it was attached.",
                            422, "sha256-mismatch")
    document = session.scalars(select(IntakeDocument).where(IntakeDocument.sha256 == sha256)
                               .order_by(IntakeDocument.attached_at).limit(1)).first()
    if document is None:
        raise AccessRefused("No intake document on the central store has this SHA-256, so its file is not stored "
                            "(the server keeps only the files of documents attached to cases). Sync the change "
                            "that attached it first.", 404, "unknown-document")
    stored = session.get(DocumentFile, sha256) is None
    if stored:
        values = {"sha256": sha256, "media_type": document.media_type, "size_bytes": len(data), "content": data,
                  "stored_at": utcnow(), "from_device": caller.device.device_id}
        if session.get_bind().dialect.name == "postgresql":  # two laptops uploading one fax at once: one row
            from sqlalchemy.dialects.postgresql import insert

            session.execute(insert(DocumentFile).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
        else:
            session.add(DocumentFile(**values))
            session.flush()
    _mark_stored(session, [sha256])
    return {"sha256": sha256, "stored": stored, "size_bytes": len(data)}


def fetch(session: Session, caller: Caller, document_id) -> tuple[IntakeDocument, bytes]:
    """The document and its file's bytes, for a caller who may see its case; the download is audited."""
    from app.server.pull import scope_condition
    from app.services import audit

    try:
        key = uuid.UUID(str(document_id))
    except ValueError as error:
        raise ValueError(f"'{str(document_id)[:60]}' is not a document id") from error
    document = session.get(IntakeDocument, key)
    if document is None:
        raise AccessRefused("The central store holds no such document.", 404, "unknown-document")
    case = session.get(Case, document.case_id)
    if caller.user.role not in SUPERVISOR_ROLES and session.scalar(
            select(Case.id).where(Case.id == case.id, scope_condition(caller))) is None:
        raise AccessRefused(f"TAR {case.tar} is not in your queues, so its documents are not sent to you. A nurse "
                            "supervisor may open it, or assign the case to you.", 403, "out-of-scope")
    file = session.get(DocumentFile, document.sha256)
    if file is None:
        raise AccessRefused(f"The central store does not hold the file of '{document.file_name}' yet: the laptop "
                            f"that received it ({document.attached_by or 'unknown'}) has not synced it. It comes "
                            "with that laptop's next sync.", 404, "not-uploaded")
    audit.record_view(session, actor=caller.username, what="case", case_id=case.id, tar=case.tar,
                      details={"document": str(document.id), "file": document.file_name, "sha256": document.sha256,
                               "via": "sync server download", "device": str(caller.device.device_id)})
    return document, file.content
