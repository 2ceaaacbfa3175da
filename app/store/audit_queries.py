"""Read queries of the audit trail: the rows `audit verify` walks, the chain heads, a case's history.

`chain_rows` reads through the raw DB-API cursor (no ORM objects, no type conversion on SQLite, where the stored
text is already the hashed text), so a million records are walked in seconds. On PostgreSQL it uses a server-side
cursor and turns UUIDs and instants into the hashed text forms (app.domain.audit).
"""
from __future__ import annotations

import itertools
import json
import uuid
from typing import Iterator

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.domain.audit import instant_text
from app.store.models import AuditChainHead, AuditRecord

_COLUMNS = "id, device_id, seq, recorded_at, actor, actor_kind, action, what, case_id, tar, body, prev_hash, hash"
_ORDER = "ORDER BY device_id, seq, id"
BATCH = 20_000


def _date_kinds() -> str:
    from app.domain.audit import DATE_RECORDS

    return ", ".join(f"'{kind}'" for kind in DATE_RECORDS)


# SQLite keeps Uuid columns as 32 hex digits and instants as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text: the hashed forms
# already. So SQLite joins the fields itself (app.domain.audit.joined_text: concat_ws makes one string, handed over
# as UTF-8 bytes), and a row costs a handful of Python objects. concat_ws skips a NULL field; the walk then counts
# one separator too few and calls the record altered.
_SQLITE_WALK = """
    SELECT id, device_id, seq,
           CAST(concat_ws(char(31), device_id, seq, recorded_at, actor, actor_kind, action, what,
                          coalesce(case_id, ''), coalesce(tar, ''), body, prev_hash) AS BLOB),
           prev_hash, hash,
           CASE WHEN what IN ({kinds}) THEN recorded_at END,
           CASE WHEN what IN ({kinds}) THEN case_id END,
           CASE WHEN what IN ({kinds}) THEN body END
    FROM audit_records {order}"""


def chain_heads(connection: Connection) -> dict[str, tuple[int, str]]:
    rows = connection.execute(select(AuditChainHead.device_id, AuditChainHead.last_seq, AuditChainHead.last_hash))
    return {device.hex: (last_seq, last_hash) for device, last_seq, last_hash in rows}


def chain_rows(connection: Connection, *, storage_order: bool = False) -> Iterator[tuple]:
    """Every audit record as the row app.domain.audit.verify_chains walks: sorted by device, seq and id, or with
    `storage_order` as the store keeps them (faster on SQLite: no index walk; chain order unless tampered with).

    Read through the raw DB-API cursor: no ORM objects, no type conversion, a batch at a time."""
    dbapi = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite":
        cursor = dbapi.cursor()
        cursor.execute(_SQLITE_WALK.format(kinds=_date_kinds(), order="" if storage_order else _ORDER))

        def batches():
            try:
                while batch := cursor.fetchmany(BATCH):
                    yield batch
            finally:
                cursor.close()

        return itertools.chain.from_iterable(batches())
    return _postgres_rows(dbapi)


def _postgres_rows(dbapi) -> Iterator[tuple]:
    from app.domain.audit import DATE_RECORDS, joined_text

    cursor = dbapi.cursor(name="umws_audit_verify")
    try:
        cursor.itersize = BATCH
        cursor.execute(f"SELECT {_COLUMNS} FROM audit_records {_ORDER}")
        for (record_id, device, seq, at, actor, kind, action, what, case_id, tar, body, prev_hash,
             digest) in cursor:
            device, at = _hex(device), instant_text(at)
            case_id = _hex(case_id) if case_id is not None else None
            dated = what in DATE_RECORDS
            yield (str(record_id), device, seq,
                   joined_text(device, seq, at, actor, kind, action, what, case_id, tar, body, prev_hash).encode(),
                   prev_hash, digest, at if dated else None, case_id if dated else None, body if dated else None)
    finally:
        cursor.close()


def case_dates(connection: Connection) -> Iterator[tuple[str, str, dict]]:
    """Every case's watched dates as ISO 8601 UTC text (the form audit bodies hold)."""
    from app.store.models import Case, CaseWorkflow

    rows = connection.execute(
        select(Case.id, Case.tar, Case.received_at, Case.decided_at, CaseWorkflow.provider_notified_at,
               CaseWorkflow.member_notified_at)
        .outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id))
    for case_id, tar, received, decided, provider, member in rows:
        yield case_id.hex, tar, {"received_at": _iso(received), "decided_at": _iso(decided),
                                 "provider_notified_at": _iso(provider), "member_notified_at": _iso(member)}


def _iso(instant) -> str | None:
    from datetime import timezone

    return instant.astimezone(timezone.utc).isoformat(timespec="microseconds") if instant else None


def _hex(value) -> str:
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


def record_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(AuditRecord))


def case_history(session: Session, case_id: uuid.UUID) -> list[dict]:
    """The audit records of one case, oldest first, as plain dicts (body parsed)."""
    rows = session.execute(
        select(AuditRecord.recorded_at, AuditRecord.actor, AuditRecord.actor_kind, AuditRecord.action,
               AuditRecord.what, AuditRecord.body, AuditRecord.device_id, AuditRecord.seq, AuditRecord.hash)
        .where(AuditRecord.case_id == case_id)
        .order_by(AuditRecord.recorded_at, AuditRecord.device_id, AuditRecord.seq)
    )
    history = []
    for at, actor, kind, action, what, body, device, seq, digest in rows:
        content = json.loads(body)
        history.append({
            "recorded_at": at, "actor": actor, "actor_kind": kind, "action": action, "what": what,
            "before": content.get("before"), "after": content.get("after"), "event": content.get("event"),
            "os_user": content.get("os_user"), "device_id": str(device), "seq": seq, "hash": digest,
        })
    return history
