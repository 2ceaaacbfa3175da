"""The CSV batch format (issue 11, scope 5): one row per request line, rows of one request sharing `request_id`.

`umws intake template --format csv` prints the header; docs/intake.md describes every column. The file is read
whole and checked before anything is imported: a wrong header, a file that is not UTF-8, or any bad row (a value
that cannot be read: a date that is not a date, a category that is not one, rows of one request that disagree)
refuses the whole file, listing every bad row with its line number and column. Values that can be read but are
wrong or missing for the plan (an NPI failing its check digit, a missing birth date or diagnosis) are not errors
here: the request is imported and pended for information, like the intake form does.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, timezone

from app.domain.intake.draft import (
    NETWORK_STATUSES, DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart,
)
from app.domain.intake.errors import Problem, UnreadableRequest
from app.domain.plantime import PLAN_TZ
from app.domain.vocabulary import LINES_OF_BUSINESS, REVIEW_TIMINGS, SERVICE_CATEGORIES, SEXES, URGENCIES


@dataclass(frozen=True)
class Column:
    name: str
    level: str  # 'request': the same on every row of a request; 'line': per request line
    required: bool
    help: str


COLUMNS = (
    Column("request_id", "request", True, "the sender's id of the request; rows with the same id are one request"),
    Column("received_at", "request", True, "when the plan received it: YYYY-MM-DDTHH:MM with an offset, or plan "
                                           "time (America/Los_Angeles) without one"),
    Column("line_of_business", "request", True, "medi-cal or medicare"),
    Column("service_category", "request", True, ", ".join(SERVICE_CATEGORIES)),
    Column("review_timing", "request", True, ", ".join(REVIEW_TIMINGS)),
    Column("urgency", "request", True, "urgent or routine"),
    Column("member_cin", "request", False, "Medi-Cal client index number (this or plan_member_id)"),
    Column("plan_member_id", "request", False, "the plan's member id (this or member_cin)"),
    Column("member_first_name", "request", False, ""),
    Column("member_last_name", "request", True, ""),
    Column("member_birth_date", "request", False, "YYYY-MM-DD"),
    Column("member_sex", "request", False, "F, M, X or U"),
    Column("requesting_npi", "request", False, "10 digits (this or requesting_name)"),
    Column("requesting_name", "request", False, "the requesting provider"),
    Column("servicing_npi", "request", False, ""),
    Column("servicing_name", "request", False, ""),
    Column("network_status", "request", False, "in-network (default), out-of-network or unknown"),
    Column("place_of_service", "request", False, "2-digit CMS place-of-service code"),
    Column("diagnosis_codes", "request", False, "ICD-10-CM codes separated by ';', primary first"),
    Column("requested_los_days", "request", False, "requested length of stay in days (inpatient)"),
    Column("proposed_date", "request", False, "proposed date of the procedure, YYYY-MM-DD"),
    Column("primary_denial_date", "request", False, "a primary insurer's denial, YYYY-MM-DD (post-service)"),
    Column("retro_eligibility_date", "request", False, "retroactive eligibility granted, YYYY-MM-DD"),
    Column("clinical_note", "request", False, "clinical indications and pertinent history"),
    Column("procedure_code", "line", True, "CPT or HCPCS (or an NDC)"),
    Column("procedure_description", "line", False, ""),
    Column("units", "line", False, "whole number, at least 1 (default 1)"),
    Column("from_date", "line", False, "YYYY-MM-DD"),
    Column("to_date", "line", False, "YYYY-MM-DD"),
)
HEADER = tuple(column.name for column in COLUMNS)
REQUEST_COLUMNS = tuple(c.name for c in COLUMNS if c.level == "request")


def template() -> str:
    """The header line (and nothing else) of an importable CSV file."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(HEADER)
    return buffer.getvalue()


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _instant(value: str) -> datetime:
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=PLAN_TZ)
    return instant.astimezone(timezone.utc)


def _row_problems(line: int, row: dict[str, str]) -> list[Problem]:
    problems = []

    def bad(column: str, what: str) -> None:
        problems.append(Problem(f"line {line}, column {column}", what))

    for column in COLUMNS:
        if column.required and not row[column.name]:
            bad(column.name, "is empty")
    choices = {"line_of_business": LINES_OF_BUSINESS, "service_category": SERVICE_CATEGORIES,
               "review_timing": REVIEW_TIMINGS, "urgency": URGENCIES, "member_sex": SEXES,
               "network_status": NETWORK_STATUSES}
    for name, allowed in choices.items():
        if row[name] and row[name] not in allowed:
            bad(name, f"'{row[name]}' is not one of: {', '.join(allowed)}")
    if row["received_at"]:
        try:
            _instant(row["received_at"])
        except ValueError:
            bad("received_at", f"'{row['received_at']}' is not a date and time (e.g. 2026-11-20T16:30-08:00)")
    for name in ("member_birth_date", "proposed_date", "primary_denial_date", "retro_eligibility_date",
                 "from_date", "to_date"):
        if row[name]:
            try:
                _date(row[name])
            except ValueError:
                bad(name, f"'{row[name]}' is not a date YYYY-MM-DD")
    for name, low in (("units", 1), ("requested_los_days", 1)):
        if row[name] and not (row[name].isdigit() and int(row[name]) >= low):
            bad(name, f"'{row[name]}' is not a whole number of at least {low}")
    if not (row["member_cin"] or row["plan_member_id"]):
        bad("member_cin", "give the member's Medi-Cal number (member_cin) or plan_member_id")
    if not (row["requesting_npi"] or row["requesting_name"]):
        bad("requesting_npi", "give the requesting provider's NPI or name (requesting_name)")
    for name in ("requesting_npi", "servicing_npi"):
        if row[name] and not (row[name].isdigit() and len(row[name]) <= 10):
            bad(name, f"'{row[name]}' is not an NPI (10 digits)")
    return problems


def read_csv(raw: bytes, file: str) -> list[IntakeDraft]:
    """Every request in the file, or UnreadableRequest listing every problem (nothing is partly read)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise UnreadableRequest(file, [Problem(f"line {line}", "the file is not UTF-8 text: save it as CSV "
                                                               "UTF-8 and import it again")]) from error
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableRequest(file, [Problem("line 1", "the file is empty: the first line is the header "
                                                         "(umws intake template --format csv)")]) from None
    except csv.Error as error:
        raise UnreadableRequest(file, [Problem("line 1", f"not CSV ({error})")]) from error
    header = [name.strip() for name in header]
    missing = [name for name in HEADER if name not in header]
    unknown = [name for name in header if name not in HEADER]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if duplicated:
            parts.append(f"repeated column(s) {', '.join(duplicated)}")
        raise UnreadableRequest(file, [Problem("line 1 (header)", "; ".join(parts) +
                                               " (umws intake template --format csv prints the header)")])
    problems: list[Problem] = []
    rows: list[tuple[int, dict[str, str]]] = []
    line = 1
    try:
        for values in reader:
            start = line + 1
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                problems.append(Problem(f"line {start}", f"has {len(values)} values; the header has "
                                                         f"{len(header)} columns"))
                continue
            row = {name: value.strip() for name, value in zip(header, values)}
            problems += _row_problems(start, row)
            rows.append((start, row))
    except csv.Error as error:
        problems.append(Problem(f"line {reader.line_num}", f"not CSV ({error})"))
    if not rows and not problems:
        problems.append(Problem("line 2", "the file has a header and no requests"))
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for start, row in rows:
        groups.setdefault(row["request_id"], []).append((start, row))
    for request_id, members in groups.items():
        first_line, first = members[0]
        for start, row in members[1:]:
            for name in REQUEST_COLUMNS:
                if row[name] != first[name]:
                    problems.append(Problem(f"line {start}, column {name}",
                                            f"request {request_id} says '{first[name]}' on line {first_line}"))
    if problems:
        raise UnreadableRequest(file, sorted(problems, key=_problem_line))
    return [_draft(file, request_id, members) for request_id, members in groups.items()]


def _problem_line(problem: Problem) -> int:
    digits = problem.place.split(",")[0].removeprefix("line ").split(" ")[0]
    return int(digits) if digits.isdigit() else 0


def _optional_date(value: str) -> date | None:
    return _date(value) if value else None


def _draft(file: str, request_id: str, members: list[tuple[int, dict[str, str]]]) -> IntakeDraft:
    first_line, row = members[0]
    canonical = "\x1f".join("\x1e".join(r[name] for name in HEADER) for _, r in members)
    key = "csv:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    diagnoses = [DiagnosisPart(code.strip()) for code in row["diagnosis_codes"].split(";") if code.strip()]
    servicing = ProviderPart(row["servicing_npi"], row["servicing_name"]) \
        if row["servicing_npi"] or row["servicing_name"] else None
    return IntakeDraft(
        channel="csv", received_at=_instant(row["received_at"]),
        member=MemberPart(cin=row["member_cin"].upper(), plan_member_id=row["plan_member_id"],
                          first_name=row["member_first_name"], last_name=row["member_last_name"],
                          birth_date=_optional_date(row["member_birth_date"]), sex=row["member_sex"] or "U"),
        requesting=ProviderPart(row["requesting_npi"], row["requesting_name"]), servicing=servicing,
        line_of_business=row["line_of_business"], service_category=row["service_category"],
        review_timing=row["review_timing"], urgency=row["urgency"], place_of_service=row["place_of_service"],
        network_status=row["network_status"] or "in-network",
        lines=[LinePart(r["procedure_code"].upper(), r["procedure_description"], int(r["units"] or 1),
                        _optional_date(r["from_date"]), _optional_date(r["to_date"])) for _, r in members],
        diagnoses=diagnoses, requested_los_days=int(row["requested_los_days"]) if row["requested_los_days"] else None,
        proposed_date=_optional_date(row["proposed_date"]), clinical_note=row["clinical_note"],
        primary_denial_date=_optional_date(row["primary_denial_date"]),
        retro_eligibility_date=_optional_date(row["retro_eligibility_date"]),
        source=f"{file} line {first_line}", source_key=key, external_id=request_id)
