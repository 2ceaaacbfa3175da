"""One case's appeals as plain data (issue 13): the appeals of a case, the open one, the lines of the determination
appealed, an appeal as a JSON-ready dict (the record, its clocks from the clock engine, its tasks and letters) and the
open appeal tasks of every case. Read-only queries; app.services.appeals writes (and audits the views)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import appeals as rules
from app.domain.clocks import AppealRequest, ClockError, compute_appeal_clocks
from app.domain.letters import kinds as letter_kinds
from app.domain.plantime import iso_plan
from app.store.models import Appeal, AppealTask, Case, CaseEvent, Letter, User, utcnow


def appeals_of(session: Session, case: Case) -> list[Appeal]:
    """A case's appeals, newest first."""
    return list(session.scalars(select(Appeal).where(Appeal.case_id == case.id)
                                .order_by(Appeal.received_at.desc(), Appeal.created_at.desc())))


def open_appeal(session: Session, case: Case) -> Appeal | None:
    return session.scalars(select(Appeal).where(Appeal.case_id == case.id, Appeal.status.in_(rules.OPEN_STATUSES))
                           .order_by(Appeal.received_at.desc()).limit(1)).first()


def appealed_lines(case: Case, determination: CaseEvent) -> dict[int, tuple[int, int]]:
    """line number -> (requested units, units the appealed determination approved)."""
    given = {line["line_number"]: line.get("approved_units") for line in (determination.payload or {}).get("lines", [])}
    default_approved = 0 if determination.payload.get("outcome") == "denied" else None
    out = {}
    for line in case.lines:
        approved = given.get(line.line_number, default_approved)
        out[line.line_number] = (line.units, line.units if approved is None else approved)
    return out


# ----- reading -------------------------------------------------------------------------------------------------
def clocks_of(appeal: Appeal, now: datetime):
    return compute_appeal_clocks(AppealRequest(appeal.case.line_of_business, appeal.expedited, appeal.received_at),
                                 extension_days=appeal.extension_days, resolved=appeal.resolved_at,
                                 notice_sent=appeal.notice_sent_at, acknowledged=appeal.acknowledged_at, now=now)


def appeal_json(session: Session, appeal: Appeal, now: datetime | None = None) -> dict:
    """One appeal as a JSON-ready dict (snake_case; instants ISO 8601 in plan time)."""
    now = now or utcnow()
    determination = session.get(CaseEvent, appeal.determination_event_id) if appeal.determination_event_id else None
    appealed = determination.payload if determination is not None else {}
    try:
        clocks = clocks_of(appeal, now).to_json()
    except ClockError as error:
        clocks = {"error": str(error)}
    resolver = session.get(User, appeal.resolved_by_id) if appeal.resolved_by_id else None
    tasks = session.scalars(select(AppealTask).where(AppealTask.appeal_id == appeal.id)
                            .order_by(AppealTask.created_at)).all()
    letters = session.scalars(select(Letter).join(CaseEvent, CaseEvent.id == Letter.source_event_id)
                              .where(Letter.case_id == appeal.case_id, Letter.kind.in_(letter_kinds.APPEAL_KINDS))
                              .order_by(Letter.created_at)).all()
    letters = [letter for letter in letters
               if (session.get(CaseEvent, letter.source_event_id).payload or {}).get("appeal_id") == str(appeal.id)]
    return {
        "appeal_id": str(appeal.id), "tar": appeal.case.tar, "status": appeal.status,
        "status_label": rules.status_label(appeal.status),
        "filed_by": appeal.filed_by, "representative": appeal.representative, "authorization": appeal.authorization,
        "channel": appeal.channel, "received_at": iso_plan(appeal.received_at),
        "expedited": appeal.expedited, "expedited_requested_by": appeal.expedited_requested_by,
        "expedited_denied_at": iso_plan(appeal.expedited_denied_at),
        "determination": {"determination_id": str(appeal.determination_event_id), "outcome": appeal.appealed_outcome,
                          "decided_at": iso_plan(datetime.fromisoformat(appealed["decided_at"]))
                          if appealed.get("decided_at") else None,
                          "decided_by": (appealed.get("decided_by") or {}).get("username"),
                          "basis": appealed.get("basis"), "rationale": appealed.get("rationale"),
                          "member_reason": appealed.get("member_reason"),
                          "criteria": list(appealed.get("criteria") or []),
                          "lines": _lines_json(appeal.case, determination)},
        "notice_date": appeal.notice_date.isoformat() if appeal.notice_date else None,
        "notice_source": appeal.notice_source,
        "filing_deadline": appeal.filing_deadline.isoformat() if appeal.filing_deadline else None,
        "timely": appeal.timely, "days_late": appeal.days_late,
        "aid_paid_pending": {"applies": appeal.aid_paid_pending, "requested": appeal.continuation_requested,
                             "deadline": appeal.continuation_deadline.isoformat() if appeal.continuation_deadline
                             else None,
                             "effective_date": appeal.effective_date.isoformat() if appeal.effective_date else None},
        "specialty": appeal.specialty, "reviewer": appeal.reviewer.username if appeal.reviewer else None,
        "clocks": clocks,
        "result": appeal.result, "reason": appeal.resolution_reason, "resolved_at": iso_plan(appeal.resolved_at),
        "resolved_by": resolver.username if resolver else None,
        "new_determination_id": str(appeal.new_determination_event_id) if appeal.new_determination_event_id
        else None,
        "notice_sent_at": iso_plan(appeal.notice_sent_at), "acknowledged_at": iso_plan(appeal.acknowledged_at),
        "new_information": appeal.new_information,
        "tasks": [{"task": t.kind, "text": t.text, "due": iso_plan(t.due_at), "done_at": iso_plan(t.done_at),
                   "note": t.note} for t in tasks],
        "letters": [{"letter_id": str(letter.id), "kind": letter.kind, "recipient": letter.recipient,
                     "language": letter.language, "status": letter.status, "mail_by": iso_plan(letter.mail_by_at)}
                    for letter in letters],
    }


def _lines_json(case: Case, determination: CaseEvent | None) -> list[dict]:
    """The request's lines with the units the appealed determination approved."""
    if determination is None:
        return []
    units = appealed_lines(case, determination)
    return [{"line_number": line.line_number, "code": line.code, "description": line.description,
             "requested_units": units[line.line_number][0], "approved_units": units[line.line_number][1]}
            for line in case.lines]


@dataclass(frozen=True)
class TaskRow:
    tar: str
    member: str
    task: str
    text: str
    due_at: datetime | None

    def to_json(self) -> dict:
        return {"tar": self.tar, "member": self.member, "task": self.task, "text": self.text,
                "due": iso_plan(self.due_at)}


def open_tasks(session: Session, *, limit: int | None = None) -> list[TaskRow]:
    """Open appeal tasks of open appeals, soonest due first (sorted and limited in SQL)."""
    query = (select(Case.tar, Case.member_name, AppealTask.kind, AppealTask.text, AppealTask.due_at)
             .join(Appeal, Appeal.id == AppealTask.appeal_id).join(Case, Case.id == AppealTask.case_id)
             .where(AppealTask.done_at.is_(None), Appeal.status.in_(rules.OPEN_STATUSES))
             .order_by(AppealTask.due_at.is_(None), AppealTask.due_at, Case.tar))
    if limit:
        query = query.limit(limit)
    return [TaskRow(*row) for row in session.execute(query)]
