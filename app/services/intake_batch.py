"""Creating many intake cases at once (a CSV batch; issue 11, performance: 5,000 rows under 10 s).

`intake.save_request` makes one case through `cases.receive_case` and `cases.pend_case`, object by object through
the ORM: a few milliseconds a case, too slow for a 5,000-row batch. This module writes the very same rows, events
and audit records for a batch with one multi-row INSERT per table, in the caller's transaction:

* the case row, its lines, diagnoses and clinical note, as `receive_case` makes them;
* the events `received` (channel), `intake-assessed` (what intake found) and, when items are missing, `pended`
  (with the items, and the case's workflow row), with the payloads, audit bodies (before/after, version) and
  hash-chained audit records `cases.record_event` writes for them -- the chain continues from this device's head
  exactly as if each had been appended one by one;
* the intake record and the import source (so that importing the file again creates nothing);
* on a laptop enrolled in sync, each case's change (the `intake` intent, as `save_request` would write it), in one
  multi-row insert: the central store saves each request again, and the ids of its rows are the ones written
  here (each case is drawn from its own change's mutation id, app.services.intents.derived_id).

tests/intake/test_batch_equivalence.py holds the two paths equal: any change to what `receive_case`, `pend_case` or
`save_request` writes must be made here too, or that test fails.
"""
from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.domain.audit import next_record
from app.domain.case_states import CaseFlow
from app.domain.intake import codes
from app.domain.intake.assessment import Assessment
from app.domain.intake.draft import IntakeDraft
from app.domain.vocabulary import team_for_category
from app.services import audit
from app.services.cases import NewLine, decision_due, iso_utc, service_summary
from app.services.intents import Call, NewCaseChange, derived_id, encode, record_outbox_batch, seeded
from app.store.models import (
    AuditChainHead, AuditRecord, Case, CaseEvent, CaseWorkflow, ClinicalNote, Diagnosis, IntakeRecord, IntakeSource,
    RequestLine, User, utcnow,
)

PEND_NOTE = "Pended at intake: the request lacks the items listed."
CHUNK = 400  # rows per multi-row INSERT (SQLite's limit on bound parameters)


@dataclass
class Prepared:
    """One request of the batch, resolved: its member and providers exist (or are inserted with the batch)."""

    draft: IntakeDraft
    assessment: Assessment
    tar: str
    member_id: uuid.UUID
    member_name: str
    requesting_id: uuid.UUID
    servicing_id: uuid.UUID | None
    change: uuid.UUID | None = None  # the mutation id of the case's `intake` change (its rows' ids derive from it)


def _snapshot(status: str, received_at: datetime, due: datetime | None, pended_from: str | None) -> dict:
    """`cases._snapshot` of a new, unheld, undecided case without a workflow row (or with only pended_from)."""
    return {"status": status, "assignee": None, "outcome": None, "decided_at": None,
            "decision_due_at": iso_utc(due), "extensions_taken": 0, "received_at": iso_utc(received_at),
            "referred_to": None, "pended_from": pended_from, "provider_notified_at": None,
            "member_notified_at": None}


class _Chain:
    """Appends audit records to this device's chain in memory, then writes them and the head at once."""

    def __init__(self, session: Session):
        self.session = session
        self.device = audit.device_id(session)
        with session.no_autoflush:
            self.head = session.scalars(select(AuditChainHead).where(AuditChainHead.device_id == self.device)
                                        .with_for_update()).one()
        self.seq, self.hash = self.head.last_seq, self.head.last_hash
        self.rows: list[dict] = []
        self.os_user = audit.os_user()

    def append(self, *, actor: str, kind: str, case_id: uuid.UUID, tar: str, event: dict, before, after,
               version: int, at: datetime) -> None:
        body = {"event": event, "before": before, "after": after, "version": version, "os_user": self.os_user}
        record = next_record(device=self.device, last_seq=self.seq, last_hash=self.hash, recorded_at=at,
                             actor=actor, actor_kind="user", action="create" if kind == "received" else "change",
                             what=kind, case_id=case_id, tar=tar, body=body)
        self.rows.append({"id": uuid.uuid4(), "device_id": self.device, "seq": record.seq, "recorded_at": at,
                          "actor": record.actor, "actor_kind": "user", "action": record.action,
                          "what": record.what, "case_id": case_id, "tar": tar, "body": record.body,
                          "prev_hash": record.prev_hash, "hash": record.hash})
        self.seq, self.hash = record.seq, record.hash

    def write(self, at: datetime) -> None:
        _insert(self.session, AuditRecord, self.rows)
        self.head.last_seq, self.head.last_hash, self.head.updated_at = self.seq, self.hash, at


def _insert(session: Session, model, rows: Sequence[dict]) -> None:
    """Core executemany on the model's table (the ORM's bulk insert runs row by row for some tables)."""
    if not rows:
        return
    connection = session.connection()
    statement = insert(model.__table__)
    for start in range(0, len(rows), CHUNK):
        connection.execute(statement, list(rows[start:start + CHUNK]))


def create_cases(session: Session, actor: User, prepared: Iterable[Prepared], *, at: datetime,
                 source_of: dict[str, str] | None = None) -> list[str]:
    """Write the cases of `prepared` (see the module docstring); returns their TAR numbers."""
    session.flush()  # members and providers made for the batch, before the rows that refer to them
    chain = _Chain(session)
    tables: dict[type, list[dict]] = {Case: [], RequestLine: [], Diagnosis: [], ClinicalNote: [], CaseEvent: [],
                                      CaseWorkflow: [], IntakeRecord: [], IntakeSource: []}
    tars = []
    changes: list[NewCaseChange] = []
    for item in prepared:
        with seeded(item.change) if item.change else contextlib.nullcontext():
            _prepare(item, actor, at, tables, chain)
        tars.append(item.tar)
        if item.change:
            status = tables[Case][-1]["status"]
            payload = {"draft": encode(item.draft), "resolution": None, "target": None, "target_case_id": None,
                       "documents": [], "when_duplicate": "merge", "tar": item.tar}
            changes.append(NewCaseChange(Call(item.tar, actor.username, payload, at), item.change,
                                         tables[Case][-1]["id"], tables[Case][-1]["version"], status))
    for model in (Case, RequestLine, Diagnosis, ClinicalNote, CaseEvent, CaseWorkflow, IntakeRecord, IntakeSource):
        _insert(session, model, tables[model])
    chain.write(at)
    record_outbox_batch(session, "intake", changes)
    return tars


def _prepare(item: Prepared, actor: User, at: datetime, tables: dict, chain: "_Chain") -> None:
    """The rows and audit records of one case of the batch, appended to `tables` and the chain."""
    draft, assessment = item.draft, item.assessment
    received = draft.received_at.astimezone(timezone.utc)
    case_id = derived_id("case")
    lines = [NewLine(l.code.strip().upper(), (l.description or _describe(l.code)).strip()[:200], l.units,
                     l.from_date, l.to_date) for l in draft.lines]
    due = decision_due(draft.line_of_business, draft.review_timing, draft.urgency, draft.service_category,
                       received)
    events: list[tuple[str, dict, dict | None, dict | None, datetime, uuid.UUID]] = []
    after = {"status": "received", "received_at": iso_utc(received), "decision_due_at": iso_utc(due),
             "service_category": draft.service_category, "line_of_business": draft.line_of_business,
             "review_timing": draft.review_timing, "urgency": draft.urgency}
    events.append(("received", {"channel": draft.channel, "tar": item.tar}, None, after, received,
                   derived_id("event:received")))
    assessed_at = max(at, received)
    events.append(("intake-assessed", {
        "channel": draft.channel, "by": actor.username, "source": draft.source or None,
        "external_id": draft.external_id or None, "network_status": draft.network_status,
        "attachments": list(draft.attachments), **assessment.to_json()}, None, None, assessed_at,
        derived_id("event:intake-assessed")))
    status = "received"
    if assessment.missing:
        flow = CaseFlow().apply("pended")
        pend_id = derived_id("event:pended")
        before_all = _snapshot("received", received, due, None)
        after_all = _snapshot(flow.state, received, due, flow.pended_from)
        changed = [k for k in before_all if before_all[k] != after_all[k]]
        events.append(("pended", {"missing": list(assessment.missing), "note": PEND_NOTE, "from": "received",
                                  "requester_asked": True, "decision_due": iso_utc(due)},
                       {k: before_all[k] for k in changed}, {k: after_all[k] for k in changed}, assessed_at,
                       pend_id))
        status = flow.state
        tables[CaseWorkflow].append({"case_id": case_id, "referred_to": None, "referred_specialty": None,
                                     "referral_event_id": None, "pended_from": flow.pended_from,
                                     "pend_event_id": pend_id, "determination_event_id": None,
                                     "criteria_result": None, "provider_notified_at": None,
                                     "member_notified_at": None, "updated_at": assessed_at})
    tables[Case].append({
        "id": case_id, "tar": item.tar, "line_of_business": draft.line_of_business,
        "service_category": draft.service_category, "review_timing": draft.review_timing,
        "urgency": draft.urgency, "received_at": received, "status": status,
        "team": team_for_category(draft.service_category), "assignee_id": None, "member_id": item.member_id,
        "requesting_provider_id": item.requesting_id, "servicing_provider_id": item.servicing_id,
        "place_of_service": draft.place_of_service.strip() or None,
        "requested_los_days": draft.requested_los_days, "proposed_date": draft.proposed_date,
        "member_name": item.member_name, "service_summary": service_summary(lines, draft.service_category),
        "decision_due_at": due, "decided_at": None, "outcome": None, "extensions_taken": 0,
        "updated_at": events[-1][4], "version": len(events)})
    for number, line in enumerate(lines, start=1):
        tables[RequestLine].append({"id": uuid.uuid4(), "case_id": case_id, "line_number": number,
                                    "code": line.code, "description": line.description, "units": line.units,
                                    "from_date": line.from_date, "to_date": line.to_date})
    for rank, diagnosis in enumerate(draft.diagnoses, start=1):
        tables[Diagnosis].append({"id": uuid.uuid4(), "case_id": case_id, "rank": rank,
                                  "code": codes.normalize_icd10cm(diagnosis.code)[:8],
                                  "description": diagnosis.description.strip()[:200]})
    if draft.clinical_note.strip():
        tables[ClinicalNote].append({"id": uuid.uuid4(), "case_id": case_id, "written_at": received,
                                     "author": "requesting provider", "text": draft.clinical_note.strip(),
                                     "attachment_ref": None})
    for version, (kind, payload, before, after_values, when, event_id) in enumerate(events, start=1):
        tables[CaseEvent].append({"id": event_id, "case_id": case_id, "occurred_at": when,
                                  "actor_id": actor.id, "kind": kind, "payload": payload})
        chain.append(actor=actor.username, kind=kind, case_id=case_id, tar=item.tar,
                     event={"id": str(event_id), "kind": kind, "occurred_at": iso_utc(when), "payload": payload},
                     before=before, after=after_values, version=version, at=utcnow())
    tables[IntakeRecord].append({
        "case_id": case_id, "channel": draft.channel, "received_by": actor.username,
        "network_status": draft.network_status, "external_id": draft.external_id[:80] or None,
        "source": draft.source[:300] or None, "primary_denial_date": draft.primary_denial_date,
        "retro_eligibility_date": draft.retro_eligibility_date, "assessment": assessment.to_json(),
        "flags": " ".join(assessment.flags)[:200], "recorded_at": at})
    if draft.source_key:
        tables[IntakeSource].append({"source_key": draft.source_key, "case_id": case_id,
                                     "channel": draft.channel, "disposition": "created", "recorded_at": at})


def _describe(code: str) -> str:
    if codes.is_service_type(code):
        return codes.SERVICE_TYPES[code[len(codes.SERVICE_TYPE_PREFIX):]]
    return ""
