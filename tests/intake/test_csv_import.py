"""CSV batches: the documented header, every bad row listed with its line and column, nothing half-imported."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.intake.csvfile import HEADER, read_csv, template
from app.domain.intake.errors import UnreadableRequest
from app.services import intake
from app.store.models import AuditRecord, Case, CaseEvent, Member

BASE = {
    "request_id": "R1", "received_at": "2026-11-20T09:30", "line_of_business": "medi-cal",
    "service_category": "outpatient", "review_timing": "pre-service", "urgency": "routine",
    "member_cin": "95550001A", "plan_member_id": "", "member_first_name": "Ana", "member_last_name": "Lopez",
    "member_birth_date": "1980-02-03", "member_sex": "F", "requesting_npi": "1234567893",
    "requesting_name": "Chidi Okoro, MD", "servicing_npi": "", "servicing_name": "", "network_status": "",
    "place_of_service": "11", "diagnosis_codes": "M54.50;M51.26", "requested_los_days": "", "proposed_date": "",
    "primary_denial_date": "", "retro_eligibility_date": "", "clinical_note": "Pain for 8 weeks",
    "procedure_code": "97110", "procedure_description": "Therapeutic exercise", "units": "12",
    "from_date": "2026-11-23", "to_date": "2026-12-31",
}


def csv_bytes(rows: list[dict], header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return buffer.getvalue().encode("utf-8")


def rows(n: int, **changes) -> list[dict]:
    made = []
    for i in range(n):
        row = dict(BASE, request_id=f"R{i + 1}", member_cin=f"9555{i:04d}A")
        row.update(changes)
        made.append(row)
    return made


def test_the_template_is_the_header():
    assert template().strip().split(",") == list(HEADER)


def test_rows_of_one_request_make_one_draft_with_its_lines():
    second = dict(BASE, procedure_code="97140", units="8")
    drafts = read_csv(csv_bytes([BASE, second]), "batch.csv")
    assert len(drafts) == 1
    assert [(l.code, l.units) for l in drafts[0].lines] == [("97110", 12), ("97140", 8)]
    assert [d.code for d in drafts[0].diagnoses] == ["M54.50", "M51.26"]
    assert drafts[0].received_at.isoformat() == "2026-11-20T17:30:00+00:00"  # plan time without an offset
    assert drafts[0].source == "batch.csv line 2"


def test_every_bad_row_is_listed_with_line_and_column():
    data = rows(5)
    data[1]["member_birth_date"] = "02/03/1980"
    data[3]["service_category"] = "surgery"
    data[3]["units"] = "zero"
    data[4]["received_at"] = ""
    with pytest.raises(UnreadableRequest) as caught:
        read_csv(csv_bytes(data), "batch.csv")
    places = [p.place for p in caught.value.problems]
    assert places == ["line 3, column member_birth_date", "line 5, column service_category", "line 5, column units",
                      "line 6, column received_at"]
    assert "'surgery' is not one of" in str(caught.value.problems[1])


def test_rows_of_one_request_must_agree():
    second = dict(BASE, procedure_code="97140", urgency="urgent")
    with pytest.raises(UnreadableRequest) as caught:
        read_csv(csv_bytes([BASE, second]), "batch.csv")
    assert str(caught.value.problems[0]) == "line 3, column urgency: request R1 says 'routine' on line 2"


def test_a_wrong_header():
    header = [name for name in HEADER if name != "urgency"] + ["priority"]
    with pytest.raises(UnreadableRequest) as caught:
        read_csv(csv_bytes([BASE], header), "batch.csv")
    assert "missing column(s) urgency; unknown column(s) priority" in str(caught.value.problems[0])


def test_not_utf8_and_empty_files():
    with pytest.raises(UnreadableRequest, match="not UTF-8"):
        read_csv(csv_bytes([dict(BASE, member_last_name="López")]).decode().encode("latin-1"), "batch.csv")
    with pytest.raises(UnreadableRequest, match="empty"):
        read_csv(b"", "batch.csv")
    with pytest.raises(UnreadableRequest, match="no requests"):
        read_csv(csv_bytes([]), "batch.csv")


def test_readable_but_wrong_is_not_a_bad_row():
    drafts = read_csv(csv_bytes([dict(BASE, requesting_npi="1234567890", member_birth_date="", diagnosis_codes="")]),
                      "batch.csv")
    assert drafts[0].requesting.npi == "1234567890" and drafts[0].member.birth_date is None


# ----- importing: one transaction ----------------------------------------------------------------------------
def counts(store):
    with store.session() as session:
        return (session.scalar(select(func.count()).select_from(Case)),
                session.scalar(select(func.count()).select_from(CaseEvent)),
                session.scalar(select(func.count()).select_from(AuditRecord)),
                session.scalar(select(func.count()).select_from(Member)))


def test_one_bad_row_means_nothing_is_imported(intake_store, tmp_path):
    data = rows(30)
    data[17]["to_date"] = "2026-02-30"
    path = tmp_path / "batch.csv"
    path.write_bytes(csv_bytes(data))
    before = counts(intake_store)
    with pytest.raises(UnreadableRequest) as caught:
        intake.import_file(intake_store, path, "coord.jones")
    assert [p.place for p in caught.value.problems] == ["line 19, column to_date"]
    assert counts(intake_store) == before


def test_a_failure_while_saving_rolls_the_whole_batch_back(intake_store, tmp_path, monkeypatch):
    """A row that passes the file checks but is refused by the service (a receipt in the future) stops the batch
    before anything is written, and a store error half-way rolls back what was saved."""
    data = rows(5)
    data[4]["received_at"] = "2099-01-01T09:00"
    path = tmp_path / "batch.csv"
    path.write_bytes(csv_bytes(data))
    before = counts(intake_store)
    with pytest.raises(UnreadableRequest, match="in the future"):
        intake.import_file(intake_store, path, "coord.jones")
    assert counts(intake_store) == before
    data[4]["received_at"] = "2026-11-20T09:00"
    data[4]["member_cin"] = data[0]["member_cin"]  # same member, same code and dates as request 1: merged
    path.write_bytes(csv_bytes(data))
    from app.services import intake_batch

    original = intake_batch._insert
    calls = []

    def failing(session, model, rows):
        calls.append(model)
        if len(calls) == 4:  # cases, lines and diagnoses written: then the store fails
            raise RuntimeError("disk full")
        return original(session, model, rows)

    monkeypatch.setattr(intake_batch, "_insert", failing)
    with pytest.raises(RuntimeError):
        intake.import_file(intake_store, path, "coord.jones")
    assert len(calls) == 4
    assert counts(intake_store) == before


def test_a_batch_imports_whole_and_again_creates_nothing(intake_store, tmp_path):
    data = rows(4) + [dict(BASE, request_id="R1", member_cin="95550000A", procedure_code="97140", units="8")]
    data[2]["requesting_npi"] = "1234567890"  # fails its check digit: pended
    path = tmp_path / "batch.csv"
    path.write_bytes(csv_bytes(data))
    report = intake.import_file(intake_store, path, "coord.jones")
    assert len(report.created) == 4 and report.duplicates == []
    assert [p["request_id"] for p in report.problems] == ["R3"]
    assert any("check digit" in item for item in report.problems[0]["missing"])
    after = counts(intake_store)
    again = intake.import_file(intake_store, path, "coord.jones")
    assert again.created == [] and sorted(d["tar"] for d in again.duplicates) == sorted(report.created)
    assert counts(intake_store)[:3] == after[:3]
