"""Rows of the case store as JSON and back, column by column (the sync protocol's snapshots, issue 9).

A snapshot carries a case the way the central store holds it: its row and the rows that belong to it (workflow,
lines, diagnoses, notes, events, involvements, lease, letters and issued letters, intake record, import sources
and documents, appeals and their tasks, peer-to-peer requests and bookings), the member and the providers. Values travel as JSON: UUIDs as text, instants as ISO 8601 in UTC,
dates as ISO dates, bytes (an issued letter's PDF) as base64; everything else as it is.
"""
from __future__ import annotations

import base64
import functools
import uuid
from datetime import date, datetime, time, timezone
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import (
    JSON, Boolean, Date, Float, Integer, LargeBinary, Numeric, String, Table, Time, Uuid, any_, bindparam, select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.store.models import (
    Appeal, AppealTask, P2PAvailability, P2PBooking, P2PRequest,
    CareInvolvement, Case, CaseEvent, CaseLease, CaseWorkflow, ClinicalNote, CriteriaSetRecord, Diagnosis,
    IntakeDocument, IntakeRecord, IntakeSource, IssuedLetter, Letter, Member, Provider, RequestLine, Stay, StayDay,
    StayMonth, SyncConflict, User, UTCDateTime,
)

# The rows of a case besides its own, each with its column pointing at the case (or at a row of the case, THROUGH:
# a stay's ledger days point at the stay), in the order they are written (a row after the rows it refers to: an
# issued letter after its letter, a ledger day after its stay); they are deleted in the reverse order.
CASE_CHILDREN: tuple[tuple[Table, str], ...] = (
    (CaseWorkflow.__table__, "case_id"),
    (RequestLine.__table__, "case_id"),
    (Diagnosis.__table__, "case_id"),
    (ClinicalNote.__table__, "case_id"),
    (CaseEvent.__table__, "case_id"),
    (CareInvolvement.__table__, "case_id"),
    (CaseLease.__table__, "case_id"),
    (Letter.__table__, "case_id"),
    (IssuedLetter.__table__, "case_id"),
    (IntakeRecord.__table__, "case_id"),
    (IntakeSource.__table__, "case_id"),
    (IntakeDocument.__table__, "case_id"),
    (Stay.__table__, "case_id"),
    (StayDay.__table__, "stay_id"),
    (StayMonth.__table__, "stay_id"),  # the ledger counted by month (migration 0016), as the server counted it
    # appeals (issue 13) and peer-to-peer (issue 8): a task after its appeal, a booking after its request
    (Appeal.__table__, "case_id"),
    (AppealTask.__table__, "case_id"),
    (P2PRequest.__table__, "case_id"),
    (P2PBooking.__table__, "case_id"),
)
# Children of a case that point at it through another child: {table name: (parent table, parent's case column)}.
THROUGH: dict[str, tuple[Table, str]] = {StayDay.__table__.name: (Stay.__table__, "case_id"),
                                         StayMonth.__table__.name: (Stay.__table__, "case_id")}
# Providers a case's rows name besides the case's own requesting and servicing providers (pulled with the case,
# before its rows: a stay's facility and physicians).
CHILD_PROVIDERS: tuple[tuple[Table, str], ...] = (
    (Stay.__table__, "facility_id"), (Stay.__table__, "admitting_physician_id"),
    (Stay.__table__, "attending_physician_id"),
)
# The columns of the case rows above that name users (the pull sends those users with the case).
USER_COLUMNS: dict[str, tuple[str, ...]] = {
    "appeals": ("reviewer_id", "resolved_by_id"),
    "appeal_tasks": ("done_by_id",),
    "p2p_requests": ("requested_by_id", "physician_id"),
    "p2p_bookings": ("reviewer_id", "booked_by_id"),
}
CASES = Case.__table__
MEMBERS = Member.__table__
PROVIDERS = Provider.__table__
USERS = User.__table__
CRITERIA_SETS = CriteriaSetRecord.__table__
CONFLICTS = SyncConflict.__table__
# Reference data: reviewers' peer-to-peer availability, kept on the central store only (docs/p2p.md, "Offline").
AVAILABILITY = P2PAvailability.__table__
# What a laptop never receives of other users' accounts (it signs in only its own user offline).
PRIVATE_USER_COLUMNS = ("password_hash", "failed_sign_ins", "locked_until", "last_sign_in_at")


def value_to_json(column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, Uuid):
        return str(value)
    if isinstance(kind, UTCDateTime) or isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite read through Core without the type: naive UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(kind, Date) or isinstance(value, date):
        return value.isoformat()
    if isinstance(kind, LargeBinary) or isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(kind, Time) or isinstance(value, time):
        return value.isoformat()
    return value


_PLAIN = (String, Integer, Boolean, Float, Numeric, JSON)  # their values travel as they are read


@functools.lru_cache(maxsize=None)
def _writers(table: Table) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """value_to_json for each column of `table`, or None where values travel as they are (worked out once: a pull
    writes tens of thousands of rows)."""
    return tuple((column.name, None if isinstance(column.type, _PLAIN) else functools.partial(value_to_json, column))
                 for column in table.columns)


def row_to_json(table: Table, row: Mapping) -> dict:
    out = {}
    for name, write in _writers(table):
        value = row[name]
        out[name] = value if value is None or write is None else write(value)
    return out


def _reader(column) -> Callable[[Any], Any] | None:
    """How this column's JSON values are read back (None: they are taken as they are)."""
    kind = column.type
    for types, read in ((Uuid, uuid.UUID), (UTCDateTime, datetime.fromisoformat), (Date, date.fromisoformat),
                        (LargeBinary, base64.b64decode), (Time, time.fromisoformat)):
        if isinstance(kind, types):
            return read
    return None


@functools.lru_cache(maxsize=None)
def _readers(table: Table) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    return tuple((column.name, _reader(column)) for column in table.columns)


def row_from_json(table: Table, data: Mapping) -> dict:
    """Each column `data` holds, read back (_reader) (a pull brings tens of thousands of rows: the readers of a
    table's columns are worked out once)."""
    row = {}
    for name, read in _readers(table):
        if name in data:
            value = data[name]
            row[name] = value if value is None or read is None else read(value)
    return row


def of_cases(table: Table, column: str, case_ids):
    """The condition "this row of a CASE_CHILDREN table belongs to one of `case_ids`" (directly, or THROUGH)."""
    through = THROUGH.get(table.name)
    if through is None:
        return table.c[column].in_(case_ids)
    parent, parent_column = through
    return table.c[column].in_(select(parent.c.id).where(parent.c[parent_column].in_(case_ids)))


def case_children(bind: Session | Connection, case_ids: Iterable) -> dict[str, list[tuple[str, dict]]]:
    """Every CASE_CHILDREN row of the cases `case_ids`, as (the case's id, the row as JSON), by table name."""
    ids = list(case_ids)
    out: dict[str, list[tuple[str, dict]]] = {}
    for table, column in CASE_CHILDREN:
        if table.name in THROUGH:  # the parent's rows come first (CASE_CHILDREN's order): their case ids
            parent, parent_column = THROUGH[table.name]
            owner = {row["id"]: row[parent_column] for _, row in out[parent.name]}
            found = rows(bind, table, column, [uuid.UUID(key) for key in owner])
            out[table.name] = [(owner[row[column]], row) for row in found]
        else:
            out[table.name] = [(row[column], row) for row in rows(bind, table, column, ids)]
    return out


def rows(bind: Session | Connection, table: Table, column: str, ids: Iterable) -> list[dict]:
    """Every row of `table` whose `column` is one of `ids`, as JSON. On PostgreSQL (the server's pulls) in one
    statement with the ids as one array (`= ANY`), which PostgreSQL plans and psycopg sends without rewriting a
    query of hundreds of parameters; on SQLite by 900 at a time (its limit on bound parameters, with room)."""
    ids = list(ids)
    if not ids:
        return []
    key = table.c[column]
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    if dialect.name == "postgresql":
        statements = [select(table).where(key == any_(bindparam("ids", ids, type_=ARRAY(key.type))))]
    else:
        statements = [select(table).where(key.in_(ids[start:start + 900])) for start in range(0, len(ids), 900)]
    writers = _writers(table)
    out = []
    for statement in statements:
        for values in bind.execute(statement):
            out.append({name: value if value is None or write is None else write(value)
                        for (name, write), value in zip(writers, values)})
    return out
