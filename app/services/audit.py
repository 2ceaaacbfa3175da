"""The audit trail's writing side (issue 6, scope 6): append a record to this device's chain, verify the chains.

Every create, change and view of a case is one record, written in the same transaction as what it records
(`app.services.cases.record_event` appends one for every case event). The device id is a UUID kept in
`store_settings` ("device_id"), made on first use together with the chain head; each record takes the next number
of the chain under a lock on the head row: SELECT ... FOR UPDATE on PostgreSQL; on SQLite, which ignores FOR UPDATE,
a no-op write on the head row first, which takes the database's one write lock before the head is read (without it,
two threads of one workstation, the GUI and a background read that audits a view, could both read the same head
and the second commit fail on the chain's unique (device, seq)).
"""
from __future__ import annotations

import getpass
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, event, select, update
from sqlalchemy.orm import Session

from app.domain.audit import (
    GENESIS, OutOfOrder, Verification, compare_case_dates, fold_case_dates, next_record, verify_chains,
)
from app.store import audit_queries
from app.store.models import AuditChainHead, AuditRecord, Setting, utcnow

DEVICE_KEY = "device_id"


class AuditChainError(Exception):
    """This device's chain cannot take a record (its head is missing): `umws audit verify` says what happened."""


def os_user() -> str:
    """The operating-system user running this process ('unknown' when the platform cannot say)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - getuser raises several kinds when no name is known
        return "unknown"


# Device id per engine: it never changes while a store is open, and reading it is one query less per action. A
# cached id whose chain head is gone is read again from store_settings before anything is refused.
_DEVICES: "weakref.WeakKeyDictionary[Engine, uuid.UUID]" = weakref.WeakKeyDictionary()


def device_id(session: Session) -> uuid.UUID:
    """This store installation's device id, made (with its empty chain) on first use."""
    setting = session.get(Setting, DEVICE_KEY)
    if setting is not None:
        return uuid.UUID(setting.value)
    device = uuid.uuid4()
    session.add(Setting(key=DEVICE_KEY, value=str(device)))
    session.add(AuditChainHead(device_id=device, last_seq=0, last_hash=GENESIS, updated_at=utcnow()))
    session.flush()
    return device


@dataclass(frozen=True)
class Appended:
    device_id: uuid.UUID
    seq: int
    hash: str


def append(session: Session, *, actor: str, actor_kind: str, action: str, what: str,
           case_id: uuid.UUID | None = None, tar: str | None = None, body: dict[str, Any] | None = None,
           at: datetime | None = None) -> Appended:
    """Append one record to this device's chain, in the caller's transaction."""
    head = None
    engine = session.get_bind()
    device = _DEVICES.get(engine)
    if device is not None:
        head = _head(session, device)
    if head is None:
        device = device_id(session)
        head = _head(session, device)
        if head is not None:
            _DEVICES[engine] = device
    if head is None:
        raise AuditChainError(
            f"The audit chain head of this store (device {device}) is missing, so no audit record can be written "
            "and nothing was changed. Run 'umws audit verify' and tell the administrator."
        )
    at = at or utcnow()
    record = next_record(device=device, last_seq=head.last_seq, last_hash=head.last_hash, recorded_at=at,
                         actor=actor, actor_kind=actor_kind, action=action, what=what, case_id=case_id, tar=tar,
                         body=body or {})
    session.add(AuditRecord(id=uuid.uuid4(), device_id=device, seq=record.seq, recorded_at=at, actor=record.actor,
                            actor_kind=actor_kind, action=action, what=record.what, case_id=case_id, tar=tar,
                            body=record.body, prev_hash=record.prev_hash, hash=record.hash))
    head.last_seq = record.seq
    head.last_hash = record.hash
    head.updated_at = at
    return Appended(device, record.seq, record.hash)


_LOCKED_HEAD = "umws.audit_head_locked"


@event.listens_for(Session, "after_soft_rollback")
def _forget_locked_head(session: Session, previous_transaction) -> None:
    """A rollback, even of a savepoint, may have let the head's lock go (PostgreSQL releases row locks taken after
    a savepoint rolled back to): the next record reads it again under its lock."""
    session.info.pop(_LOCKED_HEAD, None)


def _head(session: Session, device: uuid.UUID) -> AuditChainHead | None:
    # Not flushing first: the head does not depend on what the action has pending (it is flushed with it at
    # commit, in one round), and a head made by device_id() in this session is flushed there.
    # Once read under its lock in this transaction, the head is this session's own until the transaction ends
    # (nobody else can move it), so the next record of the same transaction (a push applies hundreds) takes it
    # as the session holds it. Any rollback forgets it (`_forget_locked_head`).
    transaction = session.get_transaction()
    locked = session.info.get(_LOCKED_HEAD)
    if locked is not None and transaction is not None and locked[0] is transaction and locked[1] == device:
        held = locked[2]
        if held in session:
            return held
    with session.no_autoflush:
        if session.get_bind().dialect.name == "sqlite":
            heads = AuditChainHead.__table__
            session.execute(update(heads).where(heads.c.device_id == device).values(last_seq=heads.c.last_seq))
        statement = select(AuditChainHead).where(AuditChainHead.device_id == device).with_for_update()
        cached = session.identity_map.get(session.identity_key(AuditChainHead, device))
        if cached is None or cached not in session.dirty:
            # Sessions outlive their commits (expire_on_commit=False): read the head as it is now, unless this
            # session has moved it and not yet written it.
            statement = statement.execution_options(populate_existing=True)
        head = session.scalars(statement).one_or_none()
    if head is not None and transaction is not None:
        session.info[_LOCKED_HEAD] = (transaction, device, head)
    return head


def record_view(session: Session, *, actor: str, actor_kind: str = "user", what: str = "case",
                case_id: uuid.UUID | None = None, tar: str | None = None, details: dict | None = None) -> Appended:
    """A read of a case (or of a list of cases, or of a case's history) by `actor`."""
    body = {"os_user": os_user()}
    if details:
        body["details"] = details
    return append(session, actor=actor, actor_kind=actor_kind, action="view", what=what, case_id=case_id, tar=tar,
                  body=body)


def verify_connection(connection: Connection, *, case_dates: bool = True) -> Verification:
    """Walk every chain in the store on `connection` (read only); then, unless `case_dates` is False, check the
    received, decided and notified dates on every case row against the last values the trail recorded."""
    heads = audit_queries.chain_heads(connection)
    try:
        # Fast: the rows as stored, which is chain order unless someone moved things; anything odd and ...
        report = verify_chains(audit_queries.chain_rows(connection, storage_order=True), heads, storage_order=True)
    except OutOfOrder:
        # ... the walk in chain order, which judges it and names the first altered, inserted or deleted record.
        report = verify_chains(audit_queries.chain_rows(connection), heads)
    if case_dates:
        # The case rows of a store are written by its own device's chain; the chains copied in from laptops by sync
        # describe the laptops' copies (a change the central store kept as a conflict never reached its rows).
        own = _own_device(connection)
        records = report.date_records if own is None else [r for r in report.date_records if r[0] == own]
        audited = fold_case_dates(records)
        report.cases_checked, report.case_problems = compare_case_dates(audited,
                                                                        audit_queries.case_dates(connection))
    report.date_records = []
    return report


def _own_device(connection: Connection) -> str | None:
    value = connection.execute(select(Setting.value).where(Setting.key == DEVICE_KEY)).scalar()
    return uuid.UUID(value).hex if value else None


def verify(store, *, case_dates: bool = True) -> Verification:
    """Walk every chain of `store` (an app.store.engine.Store), report the first problem of each, and check the
    dates on the case rows against the trail."""
    with store.engine.connect() as connection:
        with connection.begin():
            return verify_connection(connection, case_dates=case_dates)
