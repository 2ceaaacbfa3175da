"""One case as plain data for the case summary and the case view: a read-only query (issue 3, scope 6).

`load_case()` runs one short query per case (with its member, providers, lines and diagnoses; notes and the event
timeline when `full`), never on every repaint, and returns a `CaseDetails` of plain strings and instants. No Qt:
the summary panel and the case view only lay it out; what moves with the time (the time left, the clocks' bands)
is worked out at display time from what is kept here: the stored decision due, and the clock engine's request
(`ClockRequest`), decision instant and extensions, from which the case view computes every clock (issue 4, scope 3).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.domain.case_states import STATES
from app.domain.clocks import ClockError, ClockRequest
from app.domain.event_text import describe_event
from app.domain.plantime import format_instant, to_plan
from app.domain.queues import DECIDED_STATES
from app.domain.vocabulary import LANGUAGES, LINES_OF_BUSINESS, REVIEW_TIMINGS, SERVICE_CATEGORIES, SEXES, URGENCIES
from app.store.models import Case, CaseEvent, CaseWorkflow, User
from app.store.criteria_answers import CRITERIA_KINDS, event_text as criteria_event_text
from app.store.stays import show_stay_clocks, stay_event_text

log = logging.getLogger(__name__)


@dataclass
class CaseDetails:
    tar: str
    status: str
    summary: list[tuple[str, str]]  # (field, value) in reading order, empties left out
    member_name: str
    due_at: datetime | None
    due_rule: str | None
    lines: list[tuple[str, ...]] = field(default_factory=list)
    diagnoses: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[tuple[str, str, str, str | None]] = field(default_factory=list)  # when, author, text, attachment
    timeline: list[tuple[str, str, str]] = field(default_factory=list)  # when, who, what
    # What the clock engine needs to compute every clock at any `now` (None when the case cannot be counted).
    clock_request: ClockRequest | None = None
    decided_at: datetime | None = None  # the determination's instant, when the case has been decided
    extensions: int = 0
    clock_problem: str | None = None  # why no clocks can be shown, in words
    provider_notified_at: datetime | None = None  # when the notices went out (case_workflow; letters issue)
    member_notified_at: datetime | None = None



def clock_request_of(case: Case) -> ClockRequest:
    """The clock engine's request for a case: its line of business, timing, urgency, drug or not, and receipt."""
    return ClockRequest(
        lob=case.line_of_business, timing=case.review_timing, urgency=case.urgency,
        category="medication" if case.service_category == "medication" else "other", received=case.received_at)


def _decided_at(session: Session, case: Case) -> datetime | None:
    """When the case was decided: the decision projection on the row (migration 0002) or, failing that, the last
    `determined` event. None while the case is undecided."""
    if case.status not in DECIDED_STATES:
        return None
    decided = getattr(case, "decided_at", None)
    if decided is None:
        decided = session.scalar(select(func.max(CaseEvent.occurred_at))
                                 .where(CaseEvent.case_id == case.id, CaseEvent.kind == "determined"))
    return decided


def _date(value: date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _provider(provider) -> str:
    if provider is None:
        return ""
    parts = [provider.name + (f" — {provider.specialty}" if provider.specialty else "")]
    contact = [f"NPI {provider.npi}"]
    if provider.phone:
        contact.append(f"phone {provider.phone}")
    if provider.fax:
        contact.append(f"fax {provider.fax}")
    parts.append(" · ".join(contact))
    return "\n".join(parts)


def _due_rule(case: Case) -> str | None:
    """The rule set that governs the decision clock, in words (the clock engine names it)."""
    try:
        from app.domain.clocks import compute_clocks, default_rule_book

        clocks = compute_clocks(clock_request_of(case))
        return default_rule_book().get(clocks.decision_rule).title
    except Exception:  # noqa: BLE001 - no rule named is better than no summary
        log.warning("no clock rule for a case", exc_info=True)
        return None


def _event_text(kind: str, payload: dict) -> str:
    if kind.startswith("appeal-"):
        from app.domain.appeals import appeal_event_text

        return appeal_event_text(kind, payload)
    if kind.startswith("p2p-"):  # peer-to-peer (issue 8)
        from app.domain.p2p import event_text

        text = event_text(kind, payload)
        if text:
            return text
    if kind.startswith("stay-"):  # issue 12
        return stay_event_text(kind, payload)
    if kind in CRITERIA_KINDS:
        return criteria_event_text(kind, payload)
    workflow_text = describe_event(kind, payload)  # the review workflow's events (app.domain.event_text)
    if workflow_text is not None:
        return workflow_text
    if kind == "received":
        return f"Received by {payload['channel']}" if payload.get("channel") else "Received"
    if kind == "claimed":
        text = f"Claimed by {payload.get('assignee', 'a reviewer')}"
        if payload.get("status"):
            text += f"; status {STATES.get(payload['status'], payload['status'])}"
        return text
    if kind == "assigned":
        text = f"Assigned from {payload.get('from') or 'nobody'} to {payload.get('to')}"
        return text + (f": {payload['note']}" if payload.get("note") else "")
    if kind == "clock-breached":
        clock = {"decision": "Decision", "notification": "Provider notification",
                 "member_notice": "Member notice"}.get(payload.get("clock"), "A")
        text = f"{clock} clock breached"
        if payload.get("due"):
            try:
                text += f": was due {format_instant(datetime.fromisoformat(payload['due']), year=True)}"
            except (TypeError, ValueError):
                text += f": was due {payload['due']}"
        return text + (f" (rule {payload['rule']})" if payload.get("rule") else "")
    details = ", ".join(f"{key} {value}" for key, value in payload.items() if key not in ("demo", "tar"))
    return kind.replace("-", " ").capitalize() + (f": {details}" if details else "")


def load_case(session: Session, tar: str, *, full: bool = False) -> CaseDetails | None:
    """The case with TAR number `tar` as plain text, or None. `full` adds notes and the timeline."""
    options = [joinedload(Case.member), joinedload(Case.requesting_provider), joinedload(Case.servicing_provider),
               joinedload(Case.assignee), selectinload(Case.lines), selectinload(Case.diagnoses)]
    if full:
        options.append(selectinload(Case.notes))
    case = session.scalar(select(Case).where(Case.tar == tar).options(*options))
    if case is None:
        return None
    member = case.member
    today = to_plan(datetime.now(timezone.utc)).date()
    birth = f"{_date(member.birth_date)} (age {_age(member.birth_date, today)})" if member.birth_date else ""
    language = LANGUAGES.get(member.language, member.language)
    if member.alternative_format:
        language += f"; alternative format: {member.alternative_format.replace('-', ' ')}"
    lines = [(str(line.line_number), line.code, line.description, str(line.units), _date(line.from_date),
              _date(line.to_date)) for line in case.lines]
    diagnoses = [(str(d.rank), d.code, d.description) for d in case.diagnoses]
    assignee = f"{case.assignee.full_name} ({case.assignee.username})" if case.assignee else "Unassigned"
    summary = [
        ("TAR", case.tar),
        ("Member", member.display_name),
        ("CIN", member.cin),
        ("Date of birth", birth),
        ("Sex", SEXES.get(member.sex, member.sex)),
        ("Language", language),
        ("Line of business", LINES_OF_BUSINESS.get(case.line_of_business, case.line_of_business)),
        ("Service category", SERVICE_CATEGORIES.get(case.service_category, case.service_category)),
        ("Service lines", "\n".join(f"{code} {text} × {units}" + (f" ({start}–{end})" if start else "")
                                    for _, code, text, units, start, end in lines)),
        ("Diagnoses", "\n".join(f"{code} {text}" for _, code, text in diagnoses)),
        ("Requesting provider", _provider(case.requesting_provider)),
        ("Servicing provider", _provider(case.servicing_provider)
         if case.servicing_provider_id != case.requesting_provider_id else "Same as requesting"),
        ("Place of service", case.place_of_service or ""),
        ("Requested stay", f"{case.requested_los_days} days" if case.requested_los_days else ""),
        ("Proposed date", _date(case.proposed_date)),
        ("Timing / urgency", f"{URGENCIES.get(case.urgency, case.urgency)} · "
                             f"{REVIEW_TIMINGS.get(case.review_timing, case.review_timing)}"),
        ("Received", format_instant(case.received_at, year=True)),
        ("Due", ""),  # filled at display time: the time left moves
        ("Status", STATES.get(case.status, case.status)),
        ("Assignee", assignee),
    ]
    from app.store.p2p_queries import summary_line  # issue 8: the case's peer-to-peer, when it has one

    summary.append(("Peer-to-peer", summary_line(session, case.id) or ""))
    details = CaseDetails(case.tar, case.status, [(k, v) for k, v in summary if v or k == "Due"],
                          member.display_name, case.decision_due_at, _due_rule(case), lines, diagnoses)
    try:
        details.clock_request = clock_request_of(case)
    except ClockError as error:
        details.clock_problem = f"The clocks cannot be counted for this case: {error}."
    show_stay_clocks(session, case, details)  # an open stay's due is its next review (issue 12)
    details.decided_at = _decided_at(session, case)
    details.extensions = getattr(case, "extensions_taken", 0) or 0
    workflow = session.get(CaseWorkflow, case.id)
    if workflow is not None:
        details.provider_notified_at = workflow.provider_notified_at
        details.member_notified_at = workflow.member_notified_at
    if full:
        details.notes = [(format_instant(n.written_at, year=True), n.author, n.text, n.attachment_ref)
                         for n in case.notes]
        events = session.execute(
            select(CaseEvent.occurred_at, CaseEvent.kind, CaseEvent.payload, User.full_name)
            .outerjoin(User, CaseEvent.actor_id == User.id)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.occurred_at)
        )
        details.timeline = [(format_instant(at, year=True), who or "System", _event_text(kind, payload or {}))
                            for at, kind, payload, who in events]
    return details
