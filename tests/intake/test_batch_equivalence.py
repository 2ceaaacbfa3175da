"""The batch path (app.services.intake_batch) writes what the one-by-one path (save_request: receive_case,
pend_case) writes: the same case row, lines, events, payloads, audit bodies and workflow row; the audit chain stays
whole. A change to one path without the other fails here."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.domain.audit import GENESIS
from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.services import audit, intake
from app.store.models import AuditRecord, Case, CaseEvent, CaseWorkflow, IntakeRecord

RECEIVED = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=6)
AT = RECEIVED + timedelta(hours=1)


def draft(cin: str, *, complete: bool) -> IntakeDraft:
    return IntakeDraft(
        channel="csv", received_at=RECEIVED,
        member=MemberPart(cin=cin, first_name="Eva", last_name="Lind",
                          birth_date=date(1960, 1, 2) if complete else None),
        requesting=ProviderPart("1234567893", "Delegated Group"), place_of_service="11",
        lines=[LinePart("97110", "Therapeutic exercise", 6, date(2026, 12, 1), date(2026, 12, 31)),
               LinePart("X12:3", "", 1)],
        diagnoses=[DiagnosisPart("m5450", "Low back pain")], clinical_note="Pain" if complete else "",
        source="batch.csv line 2", source_key=f"csv:{cin}", external_id="R-1")


CASE_COLUMNS = ("line_of_business", "service_category", "review_timing", "urgency", "received_at", "status",
                "team", "assignee_id", "place_of_service", "requested_los_days", "proposed_date", "member_name",
                "service_summary", "decision_due_at", "decided_at", "outcome", "extensions_taken", "version")


def written(store, tar: str) -> dict:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        events = session.execute(select(CaseEvent.kind, CaseEvent.payload, CaseEvent.occurred_at)
                                 .where(CaseEvent.case_id == case.id).order_by(CaseEvent.occurred_at)).all()
        bodies = [json.loads(body) for (body,) in session.execute(
            select(AuditRecord.body).where(AuditRecord.case_id == case.id).order_by(AuditRecord.seq))]
        workflow = session.get(CaseWorkflow, case.id)
        record = session.get(IntakeRecord, case.id)
        for body in bodies:
            body["event"].pop("id")
            body["event"]["payload"].pop("tar", None)
        return {
            "case": {c: getattr(case, c) for c in CASE_COLUMNS},
            "lines": [(l.line_number, l.code, l.description, l.units, l.from_date, l.to_date) for l in case.lines],
            "diagnoses": [(d.rank, d.code, d.description) for d in case.diagnoses],
            "notes": [(n.author, n.text, n.written_at) for n in case.notes],
            "events": [(k, {key: v for key, v in p.items() if key != "tar"}, t) for k, p, t in events],
            "audit": bodies,
            "workflow": None if workflow is None else (workflow.pended_from, workflow.referred_to,
                                                       workflow.pend_event_id is not None),
            "record": (record.channel, record.received_by, record.external_id, record.source, record.assessment,
                       record.flags),
        }


@pytest.mark.parametrize("complete", [True, False])
def test_the_batch_path_writes_what_the_single_path_writes(intake_store, complete):
    with intake_store.session() as session, session.begin():
        single = intake.save_request(session, draft("96660001A", complete=complete), "coord.jones",
                                     resolution="new", at=AT)
    with intake_store.session() as session, session.begin():
        report = intake.import_requests(session, [draft("96660002A", complete=complete)], "coord.jones",
                                        file="batch.csv", at=AT)
    [batch] = report.created
    one, other = written(intake_store, single.tar), written(intake_store, batch)
    for key in one:
        assert one[key] == other[key], key
    assert [e[0] for e in one["events"]] == (["received", "intake-assessed"] if complete
                                             else ["received", "intake-assessed", "pended"])
    assert audit.verify(intake_store).ok


def test_the_batch_continues_the_audit_chain(intake_store):
    drafts = [draft(f"9667{n:04d}A", complete=n % 2 == 0) for n in range(25)]
    with intake_store.session() as session, session.begin():
        intake.save_request(session, draft("96689999A", complete=True), "coord.jones", resolution="new")
    with intake_store.session() as session, session.begin():
        report = intake.import_requests(session, drafts, "coord.jones", file="batch.csv")
    assert len(report.created) == 25
    with intake_store.session() as session, session.begin():
        intake.save_request(session, draft("96689998A", complete=True), "coord.jones", resolution="new")
    verification = audit.verify(intake_store)
    assert verification.ok and verification.records == 2 * 2 + 13 * 2 + 12 * 3  # pended ones have 3 events
