"""One stay as plain data, for `umws stay show` and the case view's Stay tab: a read-only query (issue 12).

`load_stay()` reads the stay, its ledger (one indexed range of `stay_days`), its providers and the events that name
its determinations, and returns a `StayView` of plain values: nothing here writes, and a 120-day ledger is a few
milliseconds (bench/bench_stays.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain import stay_clocks
from app.domain.plantime import iso_plan
from app.domain.stays import Ledger, LedgerDay, default_next_review
from app.store.models import Case, CaseEvent, Provider, Stay, StayDay, User

STAY_EVENT_KINDS = ("stay-determined", "stay-discharged", "stay-transferred", "stay-care-plan-agreed",
                    "stay-leave-recorded", "stay-days-requested", "stay-days-pending")


@dataclass(frozen=True)
class Determination:
    id: str
    at: datetime
    kind: str  # review, denial, level-of-care
    outcome: str
    by: str | None  # username
    summary: str

    def to_json(self) -> dict:
        return {"id": self.id, "at": iso_plan(self.at), "kind": self.kind, "outcome": self.outcome, "by": self.by,
                "summary": self.summary}


@dataclass
class StayView:
    tar: str
    case_id: uuid.UUID
    case_status: str
    case_version: int
    assignee: str | None
    member: str
    line_of_business: str
    service_category: str
    urgency: str
    status: str
    facility: str
    facility_npi: str
    admitting_physician: str | None
    attending_physician: str | None
    admitted_at: datetime
    admit_date: date
    admission_type: str
    admission_source: str
    notified_at: datetime
    admit_level_of_care: str
    level_of_care: str
    late: stay_clocks.LateNotice
    readmission_of: str | None
    readmission_days: int | None
    transferred_from: str | None
    next_review: date | None
    approved_through: date | None
    review_due_at: datetime | None
    expected_discharge: date | None
    care_plan_pending: bool
    discharged_at: datetime | None
    discharge_date: date | None
    disposition: str | None
    ledger: Ledger
    requested_at: dict[date, datetime] = field(default_factory=dict)
    determinations: dict[str, Determination] = field(default_factory=dict)
    linked_requests: list[dict] = field(default_factory=list)  # {need, tar}; a transfer: {need: transfer, tar}
    care_plans: list[dict] = field(default_factory=list)

    @property
    def admission_review_due(self) -> datetime:
        return stay_clocks.admission_review_due(self.notified_at)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def proposed_next_review(self, today: date) -> date:
        return default_next_review(self.level_of_care, today)

    def to_json(self) -> dict:
        counts = self.ledger.counts()
        return {
            "tar": self.tar, "member": self.member, "status": self.status, "case_status": self.case_status,
            "assignee": self.assignee, "facility": self.facility, "facility_npi": self.facility_npi,
            "admitting_physician": self.admitting_physician, "attending_physician": self.attending_physician,
            "admitted_at": iso_plan(self.admitted_at), "admit_date": self.admit_date.isoformat(),
            "admission_type": self.admission_type, "admission_source": self.admission_source,
            "notified_at": iso_plan(self.notified_at), "admission_review_due": iso_plan(self.admission_review_due),
            "admit_level_of_care": self.admit_level_of_care, "level_of_care": self.level_of_care,
            "late_notice": self.late.late, "late_notice_detail": {**self.late.to_json(),
                                                                 "deadline": iso_plan(self.late.deadline)},
            "readmission": self.readmission_of is not None, "readmission_of": self.readmission_of,
            "readmission_days": self.readmission_days, "transferred_from": self.transferred_from,
            "next_review": self.next_review.isoformat() if self.next_review else None,
            "approved_through": self.approved_through.isoformat() if self.approved_through else None,
            "review_due": iso_plan(self.review_due_at),
            "expected_discharge": self.expected_discharge.isoformat() if self.expected_discharge else None,
            "care_plan_pending": self.care_plan_pending,
            "discharged_at": iso_plan(self.discharged_at),
            "discharge_date": self.discharge_date.isoformat() if self.discharge_date else None,
            "disposition": self.disposition,
            "counts": counts,
            "ledger": [{**day.to_json(), "requested_at": iso_plan(self.requested_at.get(day.day)),
                        "decided_by": (self.determinations[day.determination_id].by
                                       if day.determination_id in self.determinations else None)}
                       for day in self.ledger.days],
            "determinations": [d.to_json() for d in sorted(self.determinations.values(), key=lambda d: d.at)],
            "linked_requests": self.linked_requests, "care_plans": self.care_plans,
        }


def _summary(kind: str, payload: dict) -> str:
    if kind == "review":
        days = payload.get("approved") or {}
        return f"approved {days.get('count', 0)} day(s) through {days.get('last')}; next review {payload.get('next_review')}"
    if kind == "denial":
        days = payload.get("denied") or {}
        return f"denied {days.get('count', 0)} day(s) {days.get('first')}..{days.get('last')} ({payload.get('basis')})"
    if kind == "level-of-care":
        return f"level of care {payload.get('from_level')} -> {payload.get('level_of_care')} from {payload.get('effective')}"
    return kind


def load_stay(session: Session, tar: str) -> StayView | None:
    """The stay of TAR `tar`, or None when the store holds no such case or it is not a stay."""
    row = session.execute(select(Case, Stay).join(Stay, Stay.case_id == Case.id).where(Case.tar == tar)).first()
    if row is None:
        return None
    case, stay = row
    days = session.execute(
        select(StayDay.day, StayDay.status, StayDay.level_of_care, StayDay.determination_id, StayDay.on_leave,
               StayDay.requested_at)
        .where(StayDay.stay_id == stay.id).order_by(StayDay.day)).all()
    ledger = Ledger(stay.admit_date, tuple(
        LedgerDay(day, status, level, str(determination) if determination else None, bool(leave))
        for day, status, level, determination, leave, _ in days), stay.discharge_date)
    provider_ids = {i for i in (stay.facility_id, stay.admitting_physician_id, stay.attending_physician_id) if i}
    providers = {pid: (name, npi) for pid, name, npi in session.execute(
        select(Provider.id, Provider.name, Provider.npi).where(Provider.id.in_(provider_ids)))}
    related = {sid: tar for sid, tar in session.execute(
        select(Stay.id, Stay.tar).where(Stay.id.in_([i for i in (stay.readmission_of_id, stay.transferred_from_id)
                                                     if i])))} if (stay.readmission_of_id or
                                                                   stay.transferred_from_id) else {}
    events = session.execute(
        select(CaseEvent.id, CaseEvent.occurred_at, CaseEvent.kind, CaseEvent.payload, User.username)
        .outerjoin(User, User.id == CaseEvent.actor_id)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(STAY_EVENT_KINDS))
        .order_by(CaseEvent.occurred_at)).all()
    determinations: dict[str, Determination] = {}
    linked: list[dict] = []
    care_plans: list[dict] = []
    for event_id, at, kind, payload, username in events:
        payload = payload or {}
        if kind == "stay-determined":
            determinations[str(event_id)] = Determination(str(event_id), at, payload.get("kind", ""),
                                                          payload.get("outcome", ""), username,
                                                          _summary(payload.get("kind", ""), payload))
        elif kind == "stay-discharged":
            linked += payload.get("needs") or []
        elif kind == "stay-transferred":
            linked.append({"need": "transfer", "tar": payload.get("to_tar")})
        elif kind == "stay-care-plan-agreed":
            care_plans.append({"told": payload.get("told"), "provider_told_at": payload.get("provider_told_at"),
                               "care_plan": payload.get("care_plan"), "by": username})
    assignee = case.assignee_username
    facility_name, facility_npi = providers.get(stay.facility_id, ("", ""))
    return StayView(
        tar=case.tar, case_id=case.id, case_status=case.status, case_version=case.version, assignee=assignee,
        member=case.member_name, line_of_business=case.line_of_business, service_category=case.service_category,
        urgency=case.urgency, status=stay.status, facility=facility_name, facility_npi=facility_npi,
        admitting_physician=providers.get(stay.admitting_physician_id, (None,))[0],
        attending_physician=providers.get(stay.attending_physician_id, (None,))[0],
        admitted_at=stay.admitted_at, admit_date=stay.admit_date, admission_type=stay.admission_type,
        admission_source=stay.admission_source, notified_at=stay.notified_at,
        admit_level_of_care=stay.admit_level_of_care, level_of_care=stay.level_of_care,
        late=stay_clocks.late_notice(stay.admitted_at, stay.notified_at, stay.admission_type),
        readmission_of=related.get(stay.readmission_of_id), readmission_days=stay.readmission_days,
        transferred_from=related.get(stay.transferred_from_id), next_review=stay.next_review_date,
        approved_through=stay.approved_through, review_due_at=stay.review_due_at,
        expected_discharge=stay.expected_discharge_date, care_plan_pending=bool(stay.care_plan_pending),
        discharged_at=stay.discharged_at, discharge_date=stay.discharge_date, disposition=stay.disposition,
        ledger=ledger, requested_at={day: requested for day, *_, requested in days},
        determinations=determinations, linked_requests=linked, care_plans=care_plans)


def is_stay(session: Session, tar: str) -> bool:
    return session.scalar(select(Stay.id).join(Case, Case.id == Stay.case_id).where(Case.tar == tar)) is not None


# ----- the criteria a review walks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CriteriaRow:
    depth: int
    id: str
    text: str
    is_group: bool
    machine: str | None  # the machine's answer (a rule of the set), when it has one
    machine_explanation: str | None
    answer: str  # the answer in use now: the reviewer's, else the machine's, else unknown


@dataclass(frozen=True)
class ReviewCriteria:
    """The continued-stay (or admission) criteria a review of this stay walks, as the checklist has them now."""

    set_id: str | None
    version: str | None
    title: str | None
    applied: bool  # the set is the case's current checklist (False: proposed for this level of care)
    rows: tuple[CriteriaRow, ...]
    result: str | None  # criteria-met, not-met, incomplete, ... (app.domain.criteria.RESULTS)
    message: str
    age_years: int | None = None


def review_criteria(session: Session, tar: str) -> ReviewCriteria:
    """The set a review walks: the case's applied set, else the one shipped for the stay's level of care
    (app.domain.stays.LEVEL_CRITERIA: admission criteria before the first determination, continued stay after)."""
    from app.domain.criteria.evaluate import machine_answers, overall, walk
    from app.domain.stays import LEVEL_CRITERIA
    from app.store.criteria_answers import case_facts, checklist
    from app.store.criteria_library import library

    case = session.scalar(select(Case).where(Case.tar == tar))
    stay = session.scalar(select(Stay).where(Stay.case_id == case.id)) if case else None
    if case is None or stay is None:
        return ReviewCriteria(None, None, None, False, (), None, "Not a stay.")
    state = None
    try:
        state = checklist(session, case)
    except LookupError:
        pass
    if state is not None and state.set is not None:
        rows = tuple(CriteriaRow(r.depth, r.node.id, r.node.text, r.is_group,
                                 r.machine.answer if r.machine else None,
                                 r.machine.explanation if r.machine else None, r.answer) for r in state.rows)
        return ReviewCriteria(state.set.id, state.set.version, state.set.title, True, rows,
                              state.result.result if state.result else None,
                              state.result.message if state.result else "", state.facts.age())
    decided = session.scalar(select(StayDay.id).where(StayDay.stay_id == stay.id,
                                                      StayDay.status.in_(("approved", "denied"))).limit(1))
    admission, continued = LEVEL_CRITERIA.get(stay.level_of_care, (None, None))
    set_id = continued if decided is not None else (admission or continued)
    facts = case_facts(session, case)
    cset = library(session).effective(set_id, facts.received_on) if set_id else None
    if cset is None:
        return ReviewCriteria(None, None, None, False, (), None,
                              "No criteria set ships for this level of care: a nurse refers the days to a "
                              "physician, who decides on training, experience and the member's needs.")
    machine = machine_answers(cset, facts)
    answers = {c.id: machine[c.id].answer if c.id in machine else "unknown" for c in cset.criteria()}
    result = overall(cset, answers, facts.age())
    rows = tuple(CriteriaRow(depth, node.id, node.text, node.is_group,
                             machine[node.id].answer if node.id in machine else None,
                             machine[node.id].explanation if node.id in machine else None,
                             answers.get(node.id, "unknown"))
                 for depth, node in walk(cset))
    return ReviewCriteria(cset.id, cset.version, cset.title, False, rows, result.result, result.message, facts.age())


def stay_due_rule(session: Session, case: Case) -> str | None:
    """What an open stay's case's due is (its decision due follows the stay's review due), in words for the case
    summary's banner; None for any other case."""
    if case.review_timing != "concurrent":
        return None
    stay = session.scalar(select(Stay).where(Stay.case_id == case.id))
    if stay is None or stay.status != "open" or stay.review_due_at is None:
        return None
    if stay.review_due_at == stay_clocks.admission_review_due(stay.notified_at):
        return "admission review within 24 hours of the facility's notification (plan UM program)"
    return "the stay's next review: the earlier of the next review date and the last approved day"


OPEN_STAY_CLOCKS = ("This is an open stay: its clock is the next review (the Stay tab), the earliest of the admission "
                    "review within 24 hours of the notification, the next review date, the last approved day and the "
                    "regulatory decision due of any request for days still undecided.")


def show_stay_clocks(session: Session, case: Case, details) -> None:
    """For the case summary and view (app.store.case_details.CaseDetails) of an open stay: the banner names the
    stay's review rule, and the Clocks panel says where the stay's clocks are instead of counting the admission
    request's regulatory clocks as if no day had been decided."""
    rule = stay_due_rule(session, case)
    if rule is None:
        return
    details.due_rule = rule
    details.clock_request = None
    details.clock_problem = OPEN_STAY_CLOCKS


def _span_text(days: dict | None) -> str:
    if not days or not days.get("first"):
        return "no day"
    first, last = date.fromisoformat(days["first"]), date.fromisoformat(days["last"])
    count = days.get("count", (last - first).days + 1)
    return (f"{first:%m/%d}" if first == last else f"{first:%m/%d}-{last:%m/%d}") + \
        f" ({count} day{'s' if count != 1 else ''})"


def stay_event_text(kind: str, payload: dict) -> str:
    """A stay event as one line of the case's timeline (app.store.case_details)."""
    from app.domain.stays import DISCHARGE_NEEDS, DISPOSITIONS, LEVELS_OF_CARE

    level = LEVELS_OF_CARE.get(payload.get("level_of_care"), payload.get("level_of_care") or "")
    if kind == "stay-admitted":
        text = f"Admission recorded: {level}"
        if payload.get("facility"):
            text += f" at {payload['facility']}"
        text += f", admitted {payload.get('admit_date', '')} ({payload.get('admission_type', '')})"
        if (payload.get("late_notice") or {}).get("late"):
            text += "; LATE NOTICE"
        if payload.get("readmission_of"):
            text += f"; readmission {payload.get('readmission_days')} days after TAR {payload['readmission_of']}"
        if payload.get("transferred_from"):
            text += f"; transferred from TAR {payload['transferred_from']}"
        return text
    if kind == "stay-days-requested":
        return f"Days requested: {_span_text(payload.get('requested'))}"
    if kind == "stay-days-pending":
        return f"Days before a physician: {_span_text(payload.get('pending'))}"
    if kind == "stay-determined":
        what = payload.get("kind")
        if what == "denial":
            return (f"Days denied: {_span_text(payload.get('denied'))} "
                    f"({str(payload.get('basis', '')).replace('-', ' ')})")
        if what == "level-of-care":
            old = LEVELS_OF_CARE.get(payload.get("from_level"), payload.get("from_level"))
            return f"Level of care changed from {old} to {level} from {payload.get('effective')}"
        text = f"Days approved: {_span_text(payload.get('approved'))}"
        return text + (f"; next review {payload['next_review']}" if payload.get("next_review") else "")
    if kind == "stay-leave-recorded":
        return f"Leave of absence: {_span_text(payload.get('leave'))}" + (
            f": {payload['reason']}" if payload.get("reason") else "")
    if kind == "stay-care-plan-agreed":
        return f"Treating provider told ({payload.get('told')}) and a care plan agreed: {payload.get('care_plan')}"
    if kind == "stay-expected-discharge-set":
        return f"Expected discharge {payload.get('expected_discharge')}"
    if kind == "stay-discharged":
        text = f"Discharged: {DISPOSITIONS.get(payload.get('disposition'), payload.get('disposition'))}"
        if payload.get("outcome"):
            text += f"; the stay's outcome: {str(payload['outcome']).replace('-', ' ')}"
        needs = payload.get("needs") or []
        if needs:
            text += "; new requests " + ", ".join(f"TAR {n['tar']} ({n['need']})" for n in needs)
        return text
    if kind == "stay-transferred":
        return f"Transferred to {payload.get('to_facility')}: the stay continues as TAR {payload.get('to_tar')}"
    if kind == "stay-discharge-need":
        label = DISCHARGE_NEEDS.get(payload.get("need"), (payload.get("need"),))[0]
        return f"Discharge need ({label}) from the stay of TAR {payload.get('from_tar')}"
    return kind.replace("-", " ").capitalize()


def is_open_stay(session: Session, case: Case) -> bool:
    """Whether the case is a stay still open (its days are decided by the stay's reviews, not the case)."""
    if case.review_timing != "concurrent":
        return False
    return session.scalar(select(Stay.id).where(Stay.case_id == case.id, Stay.status == "open")) is not None


# Words a facility's name carries in the provider directory (which has no provider type): hospitals, medical
# centers, clinics, skilled nursing, rehabilitation and psychiatric facilities.
FACILITY_NAME_WORDS = ("Hospital", "Medical Center", "Clinic", "Health Center", "Nursing", "Skilled", "Rehabilitation",
                       "Psychiatric", "Behavioral", "Treatment Center", "Care Center")


def facility_choices(session: Session, *, excluding_npi: str | None = None,
                     limit: int = 500) -> list[tuple[uuid.UUID, str, str | None, str | None]]:
    """The providers a member can be transferred to: every provider that has been a stay's facility, and those whose
    name says they are a facility (FACILITY_NAME_WORDS), but the one named by `excluding_npi`, as (id, name, NPI, city) by name, at most `limit` rows
    (one query; the directory is never loaded whole)."""
    query = (select(Provider.id, Provider.name, Provider.npi, Provider.city)
             .where(or_(Provider.id.in_(select(Stay.facility_id)),
                        *[Provider.name.ilike(f"%{word}%") for word in FACILITY_NAME_WORDS]))
             .order_by(Provider.name, Provider.npi).limit(limit))
    if excluding_npi:  # the facility the member leaves
        query = query.where(or_(Provider.npi.is_(None), Provider.npi != excluding_npi))
    return [tuple(row) for row in session.execute(query)]
