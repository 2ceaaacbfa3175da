"""Intake and sync, against a real PostgreSQL and a real server process: a CSV batch imported offline goes up once
(a repeated push changes nothing, the same file on another laptop makes nothing again centrally); the same request
entered on two laptops is one case and a linked possible duplicate centrally; two laptops never number their
requests alike, and a number taken centrally anyway is replaced without touching the other request."""
from __future__ import annotations

import csv
import io
import json
import os
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.intake.csvfile import HEADER
from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.services import audit, intake
from app.services import cases as svc
from app.store.models import (Case, CaseEvent, IntakeRecord, IntakeSource, Member, Setting, SyncMutation,
                              SyncOutbox)
from app.sync.api import Offline

TODAY = date.today()


def cin_prefix() -> str:
    return f"8{os.getpid() % 100:02d}{uuid.uuid4().int % 1000:03d}"


def csv_file(directory: Path, count: int, prefix: str) -> Path:
    received = (datetime.now(timezone.utc) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M+00:00")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for number in range(count):
        row = {"request_id": f"S{number + 1}", "received_at": received, "line_of_business": "medi-cal",
               "service_category": "outpatient", "review_timing": "pre-service", "urgency": "routine",
               "member_cin": f"{prefix}{number:03d}A", "member_first_name": "Batch", "member_last_name": "Member",
               "member_birth_date": "1980-02-03" if number % 2 == 0 else "", "member_sex": "F",
               "requesting_npi": "1234567893", "requesting_name": "Chidi Okoro, MD", "place_of_service": "11",
               "diagnosis_codes": "M54.50", "clinical_note": "Pain for 8 weeks", "procedure_code": "97110",
               "procedure_description": "Therapeutic exercise", "units": "12",
               "from_date": (TODAY + timedelta(days=3)).isoformat(),
               "to_date": (TODAY + timedelta(days=40)).isoformat()}
        writer.writerow([row.get(name, "") for name in HEADER])
    path = directory / f"batch-{prefix}.csv"
    path.write_text(buffer.getvalue(), "utf-8")
    return path


def form_draft(cin: str) -> IntakeDraft:
    return IntakeDraft(
        channel="form", received_at=datetime.now(timezone.utc) - timedelta(hours=1),
        member=MemberPart(cin=cin, first_name="Dup", last_name="Licate", birth_date=date(1975, 1, 2), sex="F"),
        requesting=ProviderPart("1234567893", "Chidi Okoro, MD"), place_of_service="11",
        lines=[LinePart("97110", "Therapeutic exercise", 6, TODAY + timedelta(days=2), TODAY + timedelta(days=30))],
        diagnoses=[DiagnosisPart("M54.50", "Low back pain")], clinical_note="Pain for 8 weeks")


def save(laptop, draft: IntakeDraft, **kwargs) -> intake.Saved:
    with laptop.store.session() as session, session.begin():
        return intake.save_request(session, draft, laptop.username, **kwargs)


def events_of(store, case_id) -> list[tuple]:
    with store.session() as session:
        return sorted((str(i), k, json.dumps(p, sort_keys=True), t.isoformat()) for i, k, p, t in session.execute(
            select(CaseEvent.id, CaseEvent.kind, CaseEvent.payload, CaseEvent.occurred_at)
            .where(CaseEvent.case_id == case_id)))


def cases_of_members(store, prefix: str) -> dict[str, tuple]:
    """{member CIN: (TAR, case id)} of the cases whose member's CIN starts with `prefix`."""
    with store.session() as session:
        return {cin: (tar, case_id) for cin, tar, case_id in session.execute(
            select(Member.cin, Case.tar, Case.id).join(Case, Case.member_id == Member.id)
            .where(Member.cin.like(f"{prefix}%")))}


def test_a_csv_batch_imported_offline_goes_up_once_and_a_second_import_makes_nothing(central, laptops, tmp_path,
                                                                                       network):
    coordinator, nurse = laptops("coord.jones"), laptops("nurse.nguyen")
    for laptop in (coordinator, nurse):
        laptop.sync()
    prefix = cin_prefix()
    path = csv_file(tmp_path, 6, prefix)
    report = intake.import_file(coordinator.store, path, "coord.jones")
    assert len(report.created) == 6 and coordinator.status()["pending"] == 6  # one change per case
    also = intake.import_file(nurse.store, path, "nurse.nguyen")  # the same file, on another laptop, offline
    assert len(also.created) == 6 and not set(also.created) & set(report.created)  # numbers of its own
    # the server applies the batch but its answer is lost: the next push is answered with the first answers
    network.fail("/v1/push", "answer-lost")
    with pytest.raises(Offline):
        coordinator.sync(transport=network)
    again = coordinator.sync(transport=network)
    assert again.pushed == 6 and again.duplicates == 6 and coordinator.status()["pending"] == 0
    here, there = cases_of_members(coordinator.store, prefix), cases_of_members(central.store, prefix)
    assert len(there) == 6 and here == there  # the same numbers and ids on both sides, each case once
    with central.store.session() as session:
        ids = [case_id for _, case_id in there.values()]
        assert session.scalar(select(func.count()).select_from(SyncMutation)
                              .where(SyncMutation.tar.in_(report.created))) == 6
        assert session.scalar(select(func.count()).select_from(IntakeRecord)
                              .where(IntakeRecord.case_id.in_(ids))) == 6
        assert session.scalar(select(func.count()).select_from(IntakeSource)
                              .where(IntakeSource.case_id.in_(ids))) == 6
        pended = session.scalar(select(func.count()).select_from(Case)
                                .where(Case.id.in_(ids), Case.status == "pended"))
    assert pended == 3  # the rows without a birth date were pended at intake, on the central store too
    for _, case_id in list(there.values())[:2]:
        assert events_of(coordinator.store, case_id) == events_of(central.store, case_id)
    # importing the file again here makes nothing
    repeat = intake.import_file(coordinator.store, path, "coord.jones")
    assert repeat.created == [] and len(repeat.duplicates) == 6 and coordinator.status()["pending"] == 0
    # the nurse's laptop imported it offline too: the central store makes nothing again, and her own copies go
    result = nurse.sync()
    assert (result.pushed, result.merged, result.conflicts) == (6, 6, 0)
    with nurse.store.session() as session:
        messages = session.scalars(select(SyncOutbox.message).where(SyncOutbox.tar.in_(also.created))).all()
    assert len(messages) == 6 and all("imported on the central store before" in m for m in messages)
    assert cases_of_members(central.store, prefix) == there
    assert cases_of_members(nurse.store, prefix) == there  # she holds the central cases, and only them
    with nurse.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.tar.in_(also.created))) == 0
        assert session.scalar(select(func.count()).select_from(Member).where(Member.cin.like(f"{prefix}%"))) == 6
    assert audit.verify(nurse.store).ok and audit.verify(coordinator.store).ok


def test_the_same_request_on_two_laptops_is_a_linked_duplicate_centrally(central, laptops):
    first, second = laptops("coord.jones"), laptops("nurse.nguyen")
    for laptop in (first, second):
        laptop.sync()
    cin = f"{cin_prefix()}D"
    one = save(first, form_draft(cin))
    other = save(second, form_draft(cin))  # neither laptop knows of the other's
    assert one.tar[:5] != other.tar[:5] and one.tar[0] == other.tar[0] == "2"  # blocks of their own
    assert first.sync().applied == 1
    report = second.sync()
    assert (report.applied, report.conflicts) == (1, 0)
    with second.store.session() as session:
        message = session.scalar(select(SyncOutbox.message).where(SyncOutbox.tar == other.tar))
    assert f"linked to TAR {one.tar}" in message
    with central.store.session() as session:
        duplicate = svc.case_by_tar(session, other.tar)
        assessed = session.scalars(select(CaseEvent).where(CaseEvent.case_id == duplicate.id,
                                                           CaseEvent.kind == "intake-assessed")).one()
        assert assessed.payload["possible_duplicates"] == [one.tar] and assessed.payload["resolution"] == "link"
        original = svc.case_by_tar(session, one.tar)
        linked = session.scalars(select(CaseEvent).where(CaseEvent.case_id == original.id,
                                                         CaseEvent.kind == "intake-linked")).one()
        assert linked.payload["tar"] == other.tar
        central_member = session.scalar(select(Member.id).where(Member.cin == cin))
        assert duplicate.member_id == original.member_id == central_member
    # the second laptop had made the member itself: it gives way to the central store's member
    second.sync()
    with second.store.session() as session:
        assert session.scalars(select(Member.id).where(Member.cin == cin)).all() == [central_member]
        assert {c.member_id for c in session.scalars(select(Case).where(Case.tar.in_([one.tar, other.tar])))} \
            == {central_member}
    assert audit.verify(second.store).ok


def test_a_number_taken_centrally_is_replaced_and_later_changes_follow_the_case(central, laptops):
    first, second = laptops("coord.jones"), laptops("nurse.nguyen")
    for laptop in (first, second):
        laptop.sync()
    with first.store.session() as session:
        block = session.get(Setting, intake.TAR_BLOCK_KEY).value
    with second.store.session() as session, session.begin():  # a laptop restored from the other's image
        session.get(Setting, intake.TAR_BLOCK_KEY).value = block
    mine = save(first, form_draft(f"{cin_prefix()}E"))
    theirs = save(second, form_draft(f"{cin_prefix()}F"))
    assert mine.tar == theirs.tar  # the same number for two requests
    local_id = second.case(theirs.tar).id
    second.act(svc.claim_case, theirs.tar)  # and the nurse goes on working on her request
    assert first.sync().applied == 1
    report = second.sync()
    assert report.applied == 2 and report.conflicts == 0
    with second.store.session() as session:
        message = session.scalar(select(SyncOutbox.message).where(SyncOutbox.intent == "intake",
                                                                  SyncOutbox.case_id == local_id))
    assert f"TAR {theirs.tar} was already used" in message
    renumbered = central.case_by_id(local_id)
    assert renumbered.tar != theirs.tar and renumbered.tar.startswith("20000")
    assert renumbered.assignee.username == "nurse.nguyen"  # the claim followed the case, not the number
    assert central.case(mine.tar).assignee is None and central.case(mine.tar).id != local_id
    here = second.case(renumbered.tar)
    assert here is not None and here.id == local_id  # the laptop shows the central number now
    assert audit.verify(second.store).ok
