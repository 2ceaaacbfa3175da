"""Laptops' audit chains, uploaded as they are (issue 9, design 7).

A push carries the device's audit records after the last one the server holds, in the form they are hashed in
(app.domain.audit). The server checks each against the chain it already holds for the device: the next number,
the link to the previous hash, and the hash of its own content. The first bad record refuses the whole push, named
by its number and id; a record the server already holds must be the same record (a laptop whose trail was
rewritten after an upload is caught here: the central copy is the one made before). Good records are stored with
their own device id, number and hash, so the merged log is every device's chain side by side (`umws audit verify`
on the central store, or `umws audit verify --server` from a laptop).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit import GENESIS, instant_text, record_hash, uuid_text
from app.store.models import AuditChainHead, AuditRecord, SyncDevice, utcnow

MAX_RECORDS = 5000  # per push


class ChainRefused(Exception):
    """An uploaded chain that does not verify; the message names the first bad record."""


def record_to_upload(record: AuditRecord) -> dict:
    """A stored record in its hashed form (what a laptop sends)."""
    return {"id": str(record.id), "seq": record.seq, "recorded_at": instant_text(record.recorded_at),
            "actor": record.actor, "actor_kind": record.actor_kind, "action": record.action, "what": record.what,
            "case_id": uuid_text(record.case_id), "tar": record.tar or "", "body": record.body,
            "prev_hash": record.prev_hash, "hash": record.hash}


def local_records(session: Session, device: uuid.UUID, after_seq: int, limit: int = MAX_RECORDS) -> list[dict]:
    rows = session.scalars(select(AuditRecord).where(AuditRecord.device_id == device, AuditRecord.seq > after_seq)
                           .order_by(AuditRecord.seq).limit(limit))
    return [record_to_upload(row) for row in rows]


def _parse_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)


def receive(session: Session, device: SyncDevice, records: list[dict]) -> int:
    """Check and store `records` of `device`'s chain; returns the last number held. ChainRefused if one is bad."""
    if len(records) > MAX_RECORDS:
        raise ChainRefused(f"at most {MAX_RECORDS} audit records per push")
    device_hex = device.device_id.hex
    head = session.get(AuditChainHead, device.device_id, with_for_update=True)
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    short = str(device.device_id)[:8]
    for record in sorted(records, key=lambda r: r["seq"]):
        seq = record["seq"]
        if seq <= last_seq:
            held = session.scalar(select(AuditRecord.hash).where(AuditRecord.device_id == device.device_id,
                                                                 AuditRecord.seq == seq))
            if held is not None and held != record["hash"]:
                raise ChainRefused(
                    f"audit record {seq} of device {short} (id {record['id']}) differs from the copy the server "
                    "received earlier: the laptop's audit trail was altered after it was uploaded. Nothing was "
                    "accepted from this push; tell the administrator.")
            continue
        if seq != last_seq + 1:
            raise ChainRefused(f"audit record {last_seq + 1} of device {short} is missing (the upload jumps to "
                               f"{seq}); nothing was accepted from this push.")
        fields = (device_hex, seq, record["recorded_at"], record["actor"], record["actor_kind"], record["action"],
                  record["what"], record["case_id"], record["tar"], record["body"], record["prev_hash"])
        if record["prev_hash"] != last_hash:
            raise ChainRefused(f"audit record {seq} of device {short} (id {record['id']}) does not link to record "
                               f"{seq - 1}: the chain was altered; nothing was accepted from this push.")
        if any("\x1f" in str(field) for field in fields) or record_hash(*fields) != record["hash"]:
            raise ChainRefused(f"audit record {seq} of device {short} (id {record['id']}) does not match its hash: "
                               "it was altered; nothing was accepted from this push.")
        session.add(AuditRecord(
            id=uuid.UUID(record["id"]), device_id=device.device_id, seq=seq,
            recorded_at=_parse_instant(record["recorded_at"]), actor=record["actor"],
            actor_kind=record["actor_kind"], action=record["action"], what=record["what"],
            case_id=uuid.UUID(record["case_id"]) if record["case_id"] else None, tar=record["tar"] or None,
            body=record["body"], prev_hash=record["prev_hash"], hash=record["hash"]))
        last_seq, last_hash = seq, record["hash"]
    if head is None and last_seq:
        session.add(AuditChainHead(device_id=device.device_id, last_seq=last_seq, last_hash=last_hash,
                                   updated_at=utcnow()))
    elif head is not None:
        head.last_seq, head.last_hash, head.updated_at = last_seq, last_hash, utcnow()
    device.audit_seq = last_seq
    return last_seq


def held_hash(session: Session, device_id: uuid.UUID, seq: int) -> str | None:
    return session.scalar(select(AuditRecord.hash).where(AuditRecord.device_id == device_id, AuditRecord.seq == seq))
