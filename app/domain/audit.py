"""The audit trail's hash chain (issue 6, scope 6): pure Python, no database.

Every create, change and view of a case (and every sign-in) is one audit record. Records form one chain per device
(store installation): record `seq` n of device D carries `prev_hash`, the hash of record n-1 of D (GENESIS for n=1),
and its own `hash`, the SHA-256 of its content and `prev_hash`. Chains never interleave, so the chains of many
laptops can be merged into the central store as they are, without rewriting any hash.

The hashed content of a record is its fields joined by the ASCII unit separator (0x1F), in this order:

    device  seq  recorded_at  actor  actor_kind  action  what  case_id  tar  body  prev_hash

* device, case_id: UUIDs as 32 lowercase hex digits (case_id empty when the record is about no case);
* seq: decimal; recorded_at: the UTC instant as 'YYYY-MM-DD HH:MM:SS.ffffff' (the form the SQLite store keeps);
* body: canonical JSON (sorted keys, no spaces, UTF-8), holding the before/after values and the event;
* no field may contain 0x1F (JSON escapes it in the body), so the joined text splits one way only.

`verify_chains` walks the chains and names the first altered, inserted or deleted record of each. What it can and
cannot see is in docs/workflow.md ("Audit trail"): in short, whoever rewrites a record *and* every hash after it
*and* the chain head can only be caught by comparing with a copy made before (the merged central store).
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

GENESIS = "0" * 64
SEPARATOR = "\x1f"

ACTOR_KINDS = {
    "user": "a workstation user (signed in, or named with --as)",
    "os-user": "the operating-system user running a command (reads from the command line)",
    "system": "the workstation itself (e.g. intake with no user)",
}
AUDIT_ACTIONS = {
    "create": "a case was created",
    "change": "a case was changed (an event on it)",
    "view": "a case (or a list of cases, or its history) was read",
    "access": "a sign-in, sign-out, lock or password change",
}


class AuditFieldError(ValueError):
    """A field that cannot go into a record (it would make the hashed text ambiguous)."""


def canonical_json(value: Any) -> str:
    """The one JSON text of `value`: sorted keys, no spaces, non-ASCII kept. Only JSON types (no floats NaN)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def instant_text(instant: datetime) -> str:
    """A UTC instant as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive values are refused)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise AuditFieldError(f"naive datetime {instant!r}: audit instants must be timezone-aware")
    utc = instant.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%d %H:%M:%S}.{utc.microsecond:06d}"


def uuid_text(value: uuid.UUID | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, uuid.UUID):
        return value.hex
    return uuid.UUID(value).hex


def check_field(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise AuditFieldError(f"audit field {name} must be text, not {type(value).__name__}")
    if SEPARATOR in value:
        raise AuditFieldError(f"audit field {name} may not contain the unit separator (0x1F)")
    return value


def record_hash(device: str, seq: int, recorded_at: str, actor: str, actor_kind: str, action: str, what: str,
                case_id: str, tar: str, body: str, prev_hash: str) -> str:
    """SHA-256 (hex) of a record's content and the previous record's hash."""
    text = SEPARATOR.join((device, str(seq), recorded_at, actor, actor_kind, action, what, case_id, tar, body,
                           prev_hash))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class NewRecord:
    """A record ready to store: its fields as they are hashed, and its hash."""

    device: str
    seq: int
    recorded_at: str
    actor: str
    actor_kind: str
    action: str
    what: str
    case_id: str
    tar: str
    body: str
    prev_hash: str
    hash: str


def next_record(*, device: uuid.UUID | str, last_seq: int, last_hash: str, recorded_at: datetime, actor: str,
                actor_kind: str, action: str, what: str, case_id: uuid.UUID | str | None, tar: str | None,
                body: Mapping[str, Any]) -> NewRecord:
    """The record that follows (last_seq, last_hash) on `device`'s chain."""
    if actor_kind not in ACTOR_KINDS:
        raise AuditFieldError(f"actor kind '{actor_kind}' is not one of: {', '.join(ACTOR_KINDS)}")
    if action not in AUDIT_ACTIONS:
        raise AuditFieldError(f"audit action '{action}' is not one of: {', '.join(AUDIT_ACTIONS)}")
    fields = (uuid_text(device), last_seq + 1, instant_text(recorded_at), check_field("actor", actor),
              actor_kind, action, check_field("what", what), uuid_text(case_id), check_field("tar", tar or ""),
              canonical_json(dict(body)), last_hash)
    return NewRecord(*fields, record_hash(*fields))


# ----- verification -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """The first thing wrong with one device's chain."""

    kind: str  # 'altered' | 'inserted' | 'deleted'
    device: str
    seq: int | None
    record_id: str | None
    message: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "device_id": self.device, "seq": self.seq, "record_id": self.record_id,
                "message": self.message}


@dataclass
class ChainReport:
    device: str
    records: int = 0
    last_seq: int = 0
    head_seq: int | None = None
    problem: Problem | None = None

    def to_json(self) -> dict:
        return {"device_id": self.device, "records": self.records, "last_seq": self.last_seq,
                "head_seq": self.head_seq, "ok": self.problem is None,
                "problem": self.problem.to_json() if self.problem else None}


@dataclass
class Verification:
    records: int = 0
    chains: list[ChainReport] = field(default_factory=list)
    cases_checked: int = 0
    case_problems: list[Problem] = field(default_factory=list)  # dates changed on a case row outside the services
    # (device, recorded_at, case_id, body) of the date-setting records of intact chains, in walk order
    date_records: list[tuple[str, str, str, str]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return all(chain.problem is None for chain in self.chains) and not self.case_problems

    @property
    def first_problem(self) -> Problem | None:
        chain = next((chain.problem for chain in self.chains if chain.problem), None)
        return chain or (self.case_problems[0] if self.case_problems else None)

    def to_json(self) -> dict:
        problem = self.first_problem
        return {"ok": self.ok, "records": self.records, "chains": [c.to_json() for c in self.chains],
                "cases_checked": self.cases_checked,
                "case_problems": [p.to_json() for p in self.case_problems],
                "problem": problem.to_json() if problem else None}


# A row to verify: (record_id, device, seq, joined, prev_hash, hash, date_at, date_case, date_body), sorted by
# device, seq and id. `joined` is the record's hashed text: its fields joined by SEPARATOR (`joined_text`), built by
# the store (in SQL on SQLite, so that a million rows cost one string each). The last three are None except for
# the records that set a watched date (DATE_RECORDS): their recorded_at text, case_id and body, for the dates check.
Row = tuple
FIELDS = 11  # joined fields: 10 separators


def joined_text(device: str, seq: int, recorded_at: str, actor: str, actor_kind: str, action: str, what: str,
                case_id: str | None, tar: str | None, body: str, prev_hash: str) -> str:
    return SEPARATOR.join((device, str(seq), recorded_at, actor, actor_kind, action, what, case_id or "", tar or "",
                           body, prev_hash))


def _short(device: str) -> str:
    return device[:8]


class OutOfOrder(Exception):
    """A fast walk over rows in storage order met something it cannot judge without the chain order: walk again
    with the rows sorted by device, seq and id (`verify_chains(..., storage_order=False)`)."""


def verify_chains(rows: Iterable[Row], heads: Mapping[str, tuple[int, str]], *,
                  storage_order: bool = False) -> Verification:
    """Walk every chain in `rows`; `heads` maps each device to the (last_seq, last_hash) its chain head records.

    Per device, the first problem found is kept:
    * altered: a record whose content does not match its hash; or whose hash does not match the link kept in the
      next record (altered and re-hashed); or the last record, when it differs from the chain head;
    * inserted: a record numbered twice, records renumbered after an insertion (a record hashes right only with
      the number before its own), records after the chain head, or a chain with no head at all;
    * deleted: a gap in the numbers, or a chain that ends before its head.
    The date-setting records of intact chains are kept in `date_records` for `fold_case_dates`.

    `joined` may be bytes (UTF-8) or text. With `storage_order`, the rows come in the order the store keeps them,
    which is chain order for an untouched store; the first thing out of the ordinary (a device seen again, a number
    out of sequence, a hash that does not match) raises OutOfOrder instead of being judged.
    """
    sha256 = hashlib.sha256
    sep = SEPARATOR
    bsep = sep.encode()
    separators = FIELDS - 1
    report = Verification()
    dates = report.date_records
    chain: ChainReport | None = None
    current = None  # the device of `chain`
    broken = False  # `chain` has its problem: count its other records, judge nothing more
    expected, prev, prev_id = 1, GENESIS, None
    seen: set[str] = set()
    count = 0
    for record_id, device, seq, joined, prev_hash, stored, date_at, date_case, date_body in rows:
        if device != current:
            if chain is not None:
                _end_chain(chain, count, expected - 1, heads, prev)
            if device in seen:
                raise OutOfOrder(f"device {_short(device)} appears again")
            seen.add(device)
            chain = ChainReport(device, head_seq=heads[device][0] if device in heads else None, records=count)
            report.chains.append(chain)
            current, broken = device, False
            expected, prev, prev_id = 1, GENESIS, None
        count += 1
        if broken:
            continue
        if seq != expected or prev_hash != prev:
            if storage_order:
                raise OutOfOrder(f"record {seq} of device {_short(device)} is not where the chain expects it")
            chain.problem = _misplaced(device, seq, expected, record_id, prev_id)
            if chain.problem is not None:
                broken = True
                continue
        if joined.__class__ is not bytes:
            joined = joined.encode() if joined is not None else None
        if joined is None or sha256(joined).hexdigest() != stored or joined.count(bsep) != separators:
            if storage_order:
                raise OutOfOrder(f"record {seq} of device {_short(device)} does not match its hash")
            chain.problem, broken = _mismatch(device, seq, joined, stored, record_id, prev_id), True
            continue
        if prev_hash != prev:
            chain.problem, broken = Problem(
                "altered", device, seq - 1, _text(prev_id),
                f"record {seq - 1} of device {_short(device)} was altered (id {_text(prev_id)}): its hash no "
                f"longer matches the link kept in record {seq}"), True
            continue
        if date_body is not None:
            dates.append((device, date_at, date_case, date_body))
        prev, prev_id = stored, record_id
        expected = seq + 1
    if chain is not None:
        _end_chain(chain, count, expected - 1, heads, prev)
    report.records = count
    for device in sorted(set(heads) - seen):
        last_seq, _ = heads[device]
        if last_seq > 0:
            report.chains.append(ChainReport(device, head_seq=last_seq, problem=Problem(
                "deleted", device, 1, None,
                f"records 1 to {last_seq} of device {_short(device)} deleted (its head remains)")))
        else:
            report.chains.append(ChainReport(device, head_seq=0))
    return report


def _text(record_id) -> str | None:
    return None if record_id is None else str(record_id)


def _end_chain(chain: ChainReport, count: int, last_seq: int, heads, last_hash: str) -> None:
    chain.records = count - chain.records
    if chain.problem is None:
        chain.last_seq = last_seq
    _close_chain(chain, heads, last_hash)


def _misplaced(device: str, seq, expected: int, record_id, prev_id) -> Problem | None:
    """A record whose number is not the next one (None when only its link is off: judged after its hash)."""
    if seq.__class__ is not int:
        return Problem("altered", device, None, _text(record_id),
                       f"a record of device {_short(device)} has the number {seq!r} (id {record_id})")
    if seq < expected:
        return Problem("inserted", device, seq, _text(record_id),
                       f"record {seq} of device {_short(device)} appears twice (ids {prev_id} and {record_id}): "
                       "one of them was inserted")
    if seq > expected:
        missing = f"record {expected}" if seq == expected + 1 else f"records {expected} to {seq - 1}"
        return Problem("deleted", device, expected, None,
                       f"{missing} of device {_short(device)} deleted (the chain goes from {expected - 1} to {seq})")
    return None


def _mismatch(device: str, seq: int, joined: bytes | None, stored: str, record_id, prev_id) -> Problem:
    """A record that does not hash to its stored hash: renumbered after an insertion, or altered."""
    sep = SEPARATOR
    head = f"{device}{sep}{seq}{sep}".encode()
    if seq > 1 and joined is not None and joined.startswith(head) and hashlib.sha256(
            f"{device}{sep}{seq - 1}{sep}".encode() + joined[len(head):]).hexdigest() == stored:
        return Problem("inserted", device, seq - 1, _text(prev_id),
                       f"record {seq - 1} of device {_short(device)} was inserted (id {prev_id}): the records "
                       "after it were renumbered")
    return Problem("altered", device, seq, _text(record_id),
                   f"record {seq} of device {_short(device)} was altered (id {record_id}): its content does not "
                   "match its hash")


def _close_chain(chain: ChainReport, heads: Mapping[str, tuple[int, str]], last_hash: str) -> None:
    if chain.problem is not None:
        return
    device = chain.device
    if device not in heads:
        chain.problem = Problem("inserted", device, 1, None,
                                f"device {_short(device)} has {chain.records} record(s) but no chain head: they "
                                "were inserted (or the head was deleted)")
        return
    head_seq, head_hash = heads[device]
    last = chain.last_seq
    if last < head_seq:
        missing = f"record {head_seq}" if head_seq == last + 1 else f"records {last + 1} to {head_seq}"
        chain.problem = Problem("deleted", device, last + 1, None,
                                f"{missing} of device {_short(device)} deleted (the chain ends at {last}, its "
                                f"head records {head_seq})")
    elif last > head_seq:
        chain.problem = Problem("inserted", device, head_seq + 1, None,
                                f"record {head_seq + 1} of device {_short(device)} onwards was inserted after the "
                                f"chain head ({head_seq})")
    elif last_hash != head_hash:
        chain.problem = Problem("altered", device, last, None,
                                f"record {last} of device {_short(device)} was altered: its hash differs from the "
                                "one kept in the chain head")


# ----- the dates on the case rows ----------------------------------------------------------------------------
# The received, decided and notified instants live on the case row (and case_workflow), which SQL can change. Each
# change made through the services is an audit record whose `after` holds the new value, so the last audited value
# of each date must be what the row says: anything else was changed outside the workstation.
WATCHED_DATES = {
    "received_at": "the received date",
    "decided_at": "the decision date",
    "provider_notified_at": "the provider notification date",
    "member_notified_at": "the member notice date",
}
DATE_RECORDS = ("received", "received-date-corrected", "determined", "notified", "reopened",
                "case-synced",  # a laptop took the central store's copy of the case (app.sync.apply)
                "stay-discharged")  # a discharge ends a stay's request: it sets the decision date (issue 12)


_AFTER = re.compile(r'"after":(\{[^{}]*\}|null)')


def _after(body: str) -> dict:
    """The body's "after" object. Bodies are canonical JSON (sorted keys, so "after" comes first) and "after"
    holds plain values: its text is parsed alone, not the whole body (whose event payload may be long)."""
    match = _AFTER.search(body)
    if match is not None:
        try:
            return json.loads(match.group(1)) or {}
        except ValueError:  # a brace inside a string value: parse the whole body
            pass
    return json.loads(body).get("after") or {}


def fold_case_dates(records: Iterable[tuple[str, str, str, str]]) -> dict[str, dict[str, str | None]]:
    """The last audited value of each watched date per case, from (device, recorded_at, case_id, body) of the
    date-setting records (Verification.date_records) in chain order. Records of several devices are merged by
    recorded_at (a stable sort, so each device keeps its chain order when instants tie)."""
    records = list(records)
    if len({record[0] for record in records}) > 1:
        records.sort(key=lambda record: record[1])
    audited: dict[str, dict[str, str | None]] = {}
    for _, _, case_id, body in records:
        after = _after(body)
        dates = {key: after[key] for key in WATCHED_DATES if key in after}
        if dates and case_id:
            audited.setdefault(case_id, {}).update(dates)
    return audited


def compare_case_dates(audited: Mapping[str, Mapping[str, str | None]],
                       rows: Iterable[tuple[str, str, Mapping[str, str | None]]]) -> tuple[int, list[Problem]]:
    """(cases checked, problems): each case row's dates (case_id, tar, {date: ISO UTC or None}) against the trail."""
    checked, problems = 0, []
    for case_id, tar, actual in rows:
        expected = audited.get(case_id)
        if not expected:
            continue
        checked += 1
        for key, value in expected.items():
            if actual.get(key) != value:
                problems.append(Problem(
                    "altered", "", None, None,
                    f"TAR {tar}: {WATCHED_DATES[key]} is {actual.get(key) or 'empty'} on the case but "
                    f"{value or 'empty'} in the audit trail: it was changed outside the workstation"))
    return checked, problems


