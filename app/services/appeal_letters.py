"""The appeal letters' part of the letters pipeline (issue 13): what an appeal letter says (its facts), when it must
be mailed, and what mailing it completes. app.services.letters calls these for the kinds of
app.domain.letters.kinds.APPEAL_KINDS (acknowledgement, extension notice, Notice of Appeal Resolution)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.letters import kinds as letter_kinds
from app.services.appeals import _end_of_plan_day
from app.services.cases import _acting_user, iso_utc, record_event, record_notification
from app.store.models import Appeal, CaseEvent, CaseWorkflow, Letter, User


def _appeal_of_event(session: Session, event: CaseEvent | None) -> Appeal | None:
    if event is None or not (event.payload or {}).get("appeal_id"):
        return None
    return session.get(Appeal, uuid.UUID(event.payload["appeal_id"]))


def letter_mail_by(session: Session, kind: str, source: CaseEvent | None, at: datetime) -> datetime | None:
    """The mail-by of an appeal letter: the acknowledgement's due (the expedited denial's written notice when that
    is earlier), the extension notice's due, the resolution notice within the resolution timeframe (the end of the
    day of an overturn)."""
    appeal = _appeal_of_event(session, source)
    if appeal is None:
        return None
    payload = source.payload
    if kind == "appeal-acknowledgement":
        dues = [appeal.acknowledgement_due_at]
        if payload.get("notice_due"):
            dues.append(datetime.fromisoformat(payload["notice_due"]))
        return min(d for d in dues if d is not None) if any(dues) else None
    if kind == "appeal-extension":
        return datetime.fromisoformat(payload["notice_due"]) if payload.get("notice_due") else None
    if payload.get("result") == "overturned":
        return min(appeal.resolution_due_at, _end_of_plan_day(at))
    return appeal.resolution_due_at


def fill_letter_facts(session: Session, letter: Letter, source: CaseEvent, facts) -> None:
    """The appeal part of an appeal letter's facts (app.services.letters.letter_facts calls this): the appeal, and
    for the Notice of Appeal Resolution the result, its lines, reason, criteria and reviewer."""
    from app.domain.letters.facts import AppealFact, LineFact
    from app.services.letters import _criteria_facts

    appeal = _appeal_of_event(session, source)
    if appeal is None:
        return
    case = letter.case
    determination = session.get(CaseEvent, appeal.determination_event_id) if appeal.determination_event_id else None
    appealed = determination.payload if determination is not None else {}
    decided = source.payload if source.kind == "appeal-decided" else None
    lines = {line["line_number"]: line.get("approved_units")
             for line in ((decided or appealed).get("lines") or [])}
    facts.lines = [LineFact(line.code, line.description, line.units, lines.get(line.line_number), line.from_date,
                            line.to_date) for line in case.lines]
    facts.outcome = appealed.get("outcome")
    facts.basis = appealed.get("basis")
    extension = session.scalars(select(CaseEvent.payload).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "appeal-extended")
        .order_by(CaseEvent.occurred_at.desc())).first()
    reviewer = (decided or {}).get("reviewer") or {}
    if decided is not None:
        user = session.scalar(select(User).where(User.username == reviewer.get("username")))
        facts.member_reason = decided.get("reason")
        facts.rationale = decided.get("rationale")
        facts.criteria = _criteria_facts(session, decided.get("criteria") or [])
        facts.decision_maker = reviewer.get("full_name")
        facts.decision_maker_phone = user.phone if user else None
        facts.decided_at = datetime.fromisoformat(decided["resolved_at"])
    ongoing = letter_kinds.kind_for_determination(appealed.get("outcome"), appealed.get("basis"),
                                                  case.review_timing) == "termination"
    facts.appeal = AppealFact(
        filed_by=appeal.filed_by, received_at=appeal.received_at, representative=appeal.representative,
        appealed_decided_at=datetime.fromisoformat(appealed["decided_at"]) if appealed.get("decided_at") else None,
        expedited=appeal.expedited, expedited_denied=appeal.expedited_denied_at is not None,
        aid_paid_pending=appeal.aid_paid_pending, ongoing_service=ongoing, resolution_due=appeal.resolution_due_at,
        extension_reason=extension.get("reason") if extension and appeal.extension_days else None,
        result=decided.get("result") if decided else None,
        resolved_at=datetime.fromisoformat(decided["resolved_at"]) if decided else None,
        reviewer_specialty=reviewer.get("specialty"))


def record_appeal_notice(session: Session, letter: Letter, username: str, *, sent: datetime, at: datetime) -> None:
    """An appeal letter went in the mail (app.services.letters.mark_mailed): the acknowledgement completes its
    clock, the member's Notice of Appeal Resolution the notice clock (the appeal closes); a partial overturn's NAR
    is also its determination's notice (cases.record_notification)."""
    appeal = _appeal_of_event(session, session.get(CaseEvent, letter.source_event_id))
    if appeal is None:
        return
    case = letter.case
    actor = _acting_user(session, username)
    if letter.kind == "appeal-acknowledgement" and appeal.acknowledged_at is None:
        appeal.acknowledged_at = sent
    if letter.kind == "appeal-resolution" and letter.recipient == "member":
        appeal.notice_sent_at = sent
        if appeal.status == "resolved":
            appeal.status = "closed"
    appeal.updated_at = at
    record_event(session, case, actor, "appeal-notice-sent", {
        "appeal_id": str(appeal.id), "letter_id": str(letter.id), "letter": letter.kind,
        "recipient": letter.recipient, "sent_at": iso_utc(sent)}, at)
    if letter.kind == "appeal-resolution" and appeal.result == "partially-overturned":
        workflow = session.get(CaseWorkflow, case.id)
        if workflow is not None and workflow.determination_event_id == appeal.new_determination_event_id:
            already = (workflow.provider_notified_at if letter.recipient == "provider"
                       else workflow.member_notified_at)
            if already is None:
                session.flush()
                record_notification(session, case.tar, username, recipient=letter.recipient, method="mail",
                                    sent_at=sent, at=at)
