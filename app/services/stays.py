"""Stay use cases (issue 12): admit, request days, review, refer, deny days, change the level of care, leave of
absence, care plan, transfer, discharge. The only code that writes stays and their day ledgers.

Each action runs the steps of `app.services.cases`, in the same order, in the caller's transaction: who and what
(NotFound), authority (`app.domain.authority` for decisions, `app.domain.stays.may_record` for facts:
ActionRefused naming who may), the state of the stay and its case (ActionRefused), the input (InvalidInput), then
the event (`record_event`, with its audit record), the ledger days it changes (`stay_days`) and the projections
(`stays`, the case row). A refusal or bad input raises before anything is written.

A stay is a concurrent case. While the stay is open its case is received, in review, pended or referred: each review
is a determination on days (a `stay-determined` event that the ledger's days name), not a change of the case's
state, so the criteria checklist stays open for the next review. A referral is the case's own referral
(`refer_case`); the physician's determination on the days answers it and gives the stay back to the nurse who
referred it. The case's decision due follows the stay's review due (app.domain.stay_clocks.review_due), so the
worklist, "At risk today" and the clock warnings count a stay's next review like any clock. The discharge ends the
request: the case is then determined, its outcome summarising the ledger (approved, partially approved, denied),
and its notices and closing follow the case workflow.

Event kinds: stay-admitted, stay-days-requested, stay-determined (review approvals, day denials, level-of-care
changes: `determination_id`, `outcome`, `kind`), stay-days-pending (with the case's `referred` event),
stay-leave-recorded, stay-care-plan-agreed, stay-discharged, stay-transferred, and on a request made from a
discharge need: stay-discharge-need.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import authority, stay_clocks
from app.domain.roles import PHYSICIAN_ROLES
from app.domain.stays import (
    ADMISSION_TYPES, DENIAL_BASES, DISCHARGE_NEEDS, DISPOSITIONS, LEVEL_CATEGORY, LEVEL_LINE,
    LEVEL_PLACE_OF_SERVICE, Ledger, LedgerDay, StayError, default_next_review, ledger_outcome, level_label,
    lowers_level, may_deny_days, may_record, require_level,
)
from app.services import cases, stay_payload
from app.services.cases import (
    ActionRefused, CriteriaCitation, InvalidInput, NewCase, NewLine, NotFound, _Action, _check_version, _load,
    _refuse, _snapshot, _take, _text, iso_utc, receive_case, record_event,
)
from app.services.intents import Call, Since, changes_state, derived_id, intent, never
from app.store.models import (
    Case, CaseEvent, CaseWorkflow, ClinicalNote, Member, Provider, Stay, StayDay, User,
)
from app.store.stay_figures import refresh_stay_months

STAY_STATES_OPEN = ("received", "in-review", "pended", "referred")
DECIDING_STATES = ("received", "in-review", "referred")
MAX_REQUESTED_DAYS = 366


# ----- sync (issue 9): each write below is an intent; when a stale one still stands ---------------------------------
# A review, a referral, a denial, a level-of-care change, a leave, a discharge or a transfer decides or changes the
# ledger: `changes_state` -- it stands only if nothing but state-neutral work happened on the case since the version
# it was made on; any other stay event since (another review, days requested, a denial ...) makes it a conflict for a
# person to resolve, never a review applied blindly over a ledger the reviewer did not see. Stay events are not
# state-neutral, except the two that touch neither the workflow nor the ledger (intents.STAY_NEUTRAL_KINDS).
STAY_ENDED = ("stay-discharged", "stay-transferred")


def stay_not_ended_since(payload: dict, since: Since) -> bool:
    """The facility's request for days is a fact: it stands unless the stay ended meanwhile (the replay checks the
    ledger again: days already requested there are refused with the reason)."""
    return not any(kind in STAY_ENDED for kind, _ in since)


def care_plan_still_awaited(payload: dict, since: Since) -> bool:
    """A care plan agreed for a denial or lower level stands unless another determination (which it did not answer),
    another care plan or the stay's end came meanwhile."""
    return not any(kind in ("stay-determined", "stay-care-plan-agreed", *STAY_ENDED) for kind, _ in since)


def expected_discharge_not_set_since(payload: dict, since: Since) -> bool:
    """Two expected discharges set on two devices are a conflict (neither is overwritten silently)."""
    return not any(kind in ("stay-expected-discharge-set", *STAY_ENDED) for kind, _ in since)


def _with_new_tars(call: Call, key: str, tars) -> Call:
    """The TARs the write gave the requests it made (a transfer's new stay, a discharge's needs), kept in the payload
    so the central store gives them the same numbers (the laptop's block: app.services.intake.next_tars)."""
    return Call(call.tar, call.actor, {**call.payload, key: tars}, call.at)


# ----- loading and writing ----------------------------------------------------------------------------------------
@dataclass
class _StayAction:
    act: _Action
    stay: Stay
    rows: dict[date, StayDay]
    ledger: Ledger
    before: dict

    @property
    def case(self) -> Case:
        return self.act.case

    @property
    def today(self) -> date:
        return stay_clocks.plan_day(self.act.at)


def _stay_snapshot(stay: Stay) -> dict:
    return {
        "stay_status": stay.status, "level_of_care": stay.level_of_care,
        "next_review_date": stay.next_review_date.isoformat() if stay.next_review_date else None,
        "approved_through": stay.approved_through.isoformat() if stay.approved_through else None,
        "review_due_at": iso_utc(stay.review_due_at), "care_plan_pending": stay.care_plan_pending,
        "expected_discharge_date": stay.expected_discharge_date.isoformat() if stay.expected_discharge_date else None,
        "discharged_at": iso_utc(stay.discharged_at), "disposition": stay.disposition,
    }


def _ledger_of(stay: Stay, rows: dict[date, StayDay]) -> Ledger:
    return Ledger(stay.admit_date, tuple(
        LedgerDay(row.day, row.status, row.level_of_care, str(row.determination_id) if row.determination_id else None,
                  bool(row.on_leave)) for _, row in sorted(rows.items())), stay.discharge_date)


def stay_of_case(session: Session, case: Case) -> Stay:
    stay = session.scalar(select(Stay).where(Stay.case_id == case.id))
    if stay is None:
        raise NotFound(f"TAR {case.tar} is not an inpatient or facility stay (it has no admission recorded).")
    return stay


def _load_stay(session: Session, tar: str, username: str, at: datetime | None) -> _StayAction:
    act = _load(session, tar, username, at)
    stay = stay_of_case(session, act.case)
    rows = {row.day: row for row in session.scalars(select(StayDay).where(StayDay.stay_id == stay.id))}
    return _StayAction(act, stay, rows, _ledger_of(stay, rows), {**act.before, **_stay_snapshot(stay)})


def _require_open(sa: _StayAction) -> None:
    if sa.stay.status != "open":
        raise ActionRefused(f"The stay of TAR {sa.case.tar} was discharged on "
                            f"{sa.stay.discharge_date:%m/%d/%Y}; a discharged stay does not change.", kind="state")


def _require_deciding(sa: _StayAction) -> None:
    _require_open(sa)
    if sa.case.status == "pended":
        raise ActionRefused("The stay is pended for information: record the information received first, then "
                            "decide the days.", kind="state")
    if sa.case.status not in DECIDING_STATES:
        raise ActionRefused(f"The case is {sa.case.status}; days are decided while the stay is open.", kind="state")


def _ledger(call, *, refused: bool = False):
    """A ledger step; its StayError is bad input (or, with `refused`, a rule refusing the action)."""
    try:
        return call()
    except StayError as error:
        if refused:
            raise ActionRefused(str(error), kind="state") from error
        raise InvalidInput(str(error)) from error


def _apply(session: Session, sa: _StayAction, changed: Sequence[LedgerDay], requested_at: datetime | None = None) -> None:
    """Write the changed ledger days (new ones requested at `requested_at`)."""
    for day in changed:
        row = sa.rows.get(day.day)
        determination = uuid.UUID(day.determination_id) if day.determination_id else None
        if row is None:
            row = StayDay(id=derived_id("stay-day"), stay_id=sa.stay.id, day=day.day, requested_at=requested_at or sa.act.at)
            session.add(row)
            sa.rows[day.day] = row
        row.status, row.level_of_care, row.determination_id, row.on_leave = (
            day.status, day.level_of_care, determination, day.on_leave)
    sa.ledger = sa.ledger.with_days(changed)


def _refresh(sa: _StayAction) -> None:
    """The projections a queue sorts on: last approved day, review due (also the case's decision due)."""
    stay, case = sa.stay, sa.case
    stay.approved_through = sa.ledger.approved_through
    undecided = [row.requested_at for row in sa.rows.values() if row.status in ("requested", "pending")]
    determined = any(d.status in ("approved", "denied") for d in sa.ledger.days)
    stay.review_due_at = stay_clocks.review_due(
        notified_at=stay.notified_at, determined=determined, next_review=stay.next_review_date,
        approved_through=stay.approved_through, oldest_undecided_request=min(undecided) if undecided else None,
        lob=case.line_of_business, urgency=case.urgency, category=case.service_category,
        discharged=stay.status != "open")
    if stay.status == "open":
        case.decision_due_at = stay.review_due_at
    stay.updated_at = sa.act.at


def _days_json(days: Sequence[LedgerDay]) -> dict:
    """A run of days in an event payload: first, last, count and each day's new status."""
    ordered = sorted(days, key=lambda d: d.day)
    return {"first": ordered[0].day.isoformat() if ordered else None,
            "last": ordered[-1].day.isoformat() if ordered else None, "count": len(ordered),
            "days": [d.to_json() for d in ordered]}


def _write(session: Session, sa: _StayAction, kind: str, payload: dict, *,
           event_id: uuid.UUID | None = None) -> CaseEvent:
    """The event and its audit record, with the before/after of what changed on the case and the stay; and the
    stay's ledger counted by month again (`stay_months`, the committee's utilization figures)."""
    refresh_stay_months(session, [sa.stay.id])
    after_all = {**_snapshot(sa.case, sa.act.workflow), **_stay_snapshot(sa.stay)}
    before = {k: v for k, v in sa.before.items() if after_all.get(k) != v}
    after = {k: after_all[k] for k in before}
    return record_event(session, sa.case, sa.act.actor, kind, {"stay_id": str(sa.stay.id), **payload}, sa.act.at,
                        before=before, after=after, event_id=event_id)


def _answer_referral(session: Session, sa: _StayAction) -> str | None:
    """A physician's determination on a referred stay answers the referral: the undecided days go back to the
    concurrent review and the stay to the nurse who referred it (nobody, if that account is gone)."""
    if sa.case.status != "referred":
        return None
    _apply(session, sa, sa.ledger.unpend())
    workflow = sa.act.workflow_row(session)
    referrer = None
    if workflow.referral_event_id:
        event = session.get(CaseEvent, workflow.referral_event_id)
        referrer = (event.payload or {}).get("from_user") if event else None
    holder = session.scalar(select(User).where(User.username == referrer, User.active.is_(True))) if referrer else None
    sa.case.status = "in-review"
    workflow.referred_to = None
    workflow.referred_specialty = None
    workflow.updated_at = sa.act.at
    sa.case.assignee = holder
    return holder.username if holder else None


def _decider(actor: User) -> dict:
    return {"username": actor.username, "full_name": actor.full_name, "role": actor.role,
            "credential": actor.credential, "specialty": actor.specialty}


def _plan_date(value: date | None, what: str) -> date | None:
    if isinstance(value, datetime):
        raise InvalidInput(f"{what} is a date without a time, like 2026-12-04")
    if value is not None and not isinstance(value, date):
        raise InvalidInput(f"{what} must be a date like 2026-12-04")
    return value


def _instant(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"give {what} as a date-time with its time zone")
    return value.astimezone(timezone.utc)


def _criteria_result(session: Session, case: Case, given: str | None) -> str | None:
    """The criteria result a review rests on: the case's checklist (app.services.criteria), or the one given
    (which must agree with the checklist when a set is applied)."""
    from app.store.criteria_answers import checklist

    if given is not None and given not in authority.CRITERIA_RESULTS:
        raise InvalidInput(f"criteria result '{given}' is not one of: {', '.join(authority.CRITERIA_RESULTS)}")
    try:
        state = checklist(session, case)
    except LookupError:
        state = None
    walked = state.result.result if state is not None and state.result is not None else None
    if given is not None and walked is not None and given != walked:
        raise InvalidInput(f"the criteria checklist of TAR {case.tar} says '{walked}', not '{given}'; answer the "
                           "criteria (or leave the result to the checklist)")
    return given or walked


def _citations(session: Session, case: Case, criteria: Sequence[CriteriaCitation | str]) -> list[dict]:
    from app.store.criteria_answers import checklist

    citations = [c if isinstance(c, CriteriaCitation) else CriteriaCitation(str(c)) for c in criteria]
    if not citations:
        try:
            state = checklist(session, case)
        except LookupError:
            state = None
        if state is not None and state.set is not None:
            citations = [CriteriaCitation(state.set.id, state.set.version)]
    return [c.to_json() for c in citations]


# ----- admission -------------------------------------------------------------------------------------------------
@dataclass
class NewStay:
    """An admission as the facility's notification gives it (intake fills this in)."""

    tar: str
    line_of_business: str
    member: Member
    facility_id: uuid.UUID
    admitted_at: datetime
    notified_at: datetime
    level_of_care: str
    admission_type: str = "emergency"
    requested_days: int = 1
    urgency: str = "urgent"
    admitting_physician_id: uuid.UUID | None = None
    attending_physician_id: uuid.UUID | None = None
    diagnoses: list[tuple[str, str]] = field(default_factory=list)
    clinical_note: str | None = None
    expected_discharge: date | None = None
    channel: str = "phone"


@dataclass(frozen=True)
class Admitted:
    case: Case
    stay: Stay
    late: stay_clocks.LateNotice
    readmission_of: str | None  # the TAR of the stay discharged within 30 days
    readmission_days: int | None


def _overlapping(session: Session, member_id: uuid.UUID, admitted_at: datetime) -> Stay | None:
    """A stay of the member still open, or discharged after `admitted_at` (a new stay is open-ended)."""
    return session.scalar(
        select(Stay).where(Stay.member_id == member_id,
                           (Stay.status == "open") | (Stay.discharged_at > admitted_at))
        .order_by(Stay.admitted_at).limit(1))


def _previous_discharge(session: Session, member_id: uuid.UUID, admitted_at: datetime) -> Stay | None:
    return session.scalar(
        select(Stay).where(Stay.member_id == member_id, Stay.status == "discharged",
                           Stay.discharged_at <= admitted_at)
        .order_by(Stay.discharged_at.desc()).limit(1))


@intent("stay-admit", commutes=never, to_call=stay_payload.to_call, from_call=stay_payload.from_call,
        makes_case=True)
def admit_stay(session: Session, new: NewStay, username: str | None, *, at: datetime | None = None,
               transferred_from: Stay | None = None) -> Admitted:
    """Record an admission: a concurrent case (`receive_case`, received when the facility notified the plan) with
    its stay and the days requested. Flags a notice more than one business day late and a readmission within 30
    days; refuses a stay overlapping another stay of the member."""
    actor = cases._acting_user(session, username) if username else None
    category = LEVEL_CATEGORY.get(new.level_of_care)
    if category is None:
        raise InvalidInput(f"level of care '{new.level_of_care}' is not one of: {', '.join(LEVEL_CATEGORY)}")
    if actor is not None:
        _refuse(may_record(actor.role, "admit", category))
    now = cases._checked_at(at)
    if new.admission_type not in ADMISSION_TYPES:
        raise InvalidInput(f"admission type '{new.admission_type}' is not one of: {', '.join(ADMISSION_TYPES)}")
    admitted_at = _instant(new.admitted_at, "the admission")
    notified_at = _instant(new.notified_at, "when the facility notified the plan")
    if admitted_at > now:
        raise InvalidInput("the admission is in the future; a planned admission is a pre-service request")
    if notified_at > now:
        raise InvalidInput("the notification is in the future")
    if not isinstance(new.requested_days, int) or not 1 <= new.requested_days <= MAX_REQUESTED_DAYS:
        raise InvalidInput(f"request 1 to {MAX_REQUESTED_DAYS} days, not {new.requested_days}")
    admit_day = stay_clocks.plan_day(admitted_at)
    expected = _plan_date(new.expected_discharge, "the expected discharge")
    if expected is not None and expected < admit_day:
        raise InvalidInput("the expected discharge is before the admission")
    if session.scalar(select(Case.id).where(Case.tar == new.tar)) is not None:
        raise InvalidInput(f"TAR {new.tar} is already in this store; give the admission its own TAR number")
    facility = session.get(Provider, new.facility_id)
    if facility is None:
        raise NotFound("The facility is not in this store's provider directory.")
    clash = _overlapping(session, new.member.id, admitted_at)
    if clash is not None and (transferred_from is None or clash.id != transferred_from.id):
        where = session.get(Provider, clash.facility_id)
        until = "still open" if clash.status == "open" else f"discharged {clash.discharged_at:%m/%d/%Y %H:%M} UTC"
        raise ActionRefused(
            f"{new.member.display_name} already has a stay at {where.name if where else 'another facility'} "
            f"(TAR {clash.tar}, admitted {clash.admit_date:%m/%d/%Y}, {until}) that overlaps this admission: one "
            "member is not in two facilities at once. Record that stay's discharge or transfer first.",
            kind="state")
    late = stay_clocks.late_notice(admitted_at, notified_at, new.admission_type)
    previous = None if transferred_from is not None else _previous_discharge(session, new.member.id, admitted_at)
    readmission_days = None
    if previous is not None and stay_clocks.is_readmission(previous.discharged_at, admitted_at):
        readmission_days = stay_clocks.days_between_stays(previous.discharged_at, admitted_at)
    else:
        previous = None
    code, description = LEVEL_LINE[new.level_of_care]
    case = receive_case(session, NewCase(
        tar=new.tar, line_of_business=new.line_of_business, service_category=category,
        review_timing="concurrent", urgency=new.urgency, received_at=notified_at, member=new.member,
        requesting_provider_id=new.attending_physician_id or new.facility_id, servicing_provider_id=new.facility_id,
        place_of_service=LEVEL_PLACE_OF_SERVICE[new.level_of_care], requested_los_days=new.requested_days,
        lines=[NewLine(code, description, new.requested_days, admit_day,
                       admit_day + timedelta(days=new.requested_days - 1))],
        diagnoses=list(new.diagnoses), clinical_note=new.clinical_note, channel=new.channel), actor)
    stay = Stay(
        id=derived_id("stay"), case_id=case.id, tar=case.tar, team=case.team,
        line_of_business=case.line_of_business, member_id=new.member.id,
        facility_id=new.facility_id,
        admitting_physician_id=new.admitting_physician_id, attending_physician_id=new.attending_physician_id,
        admitted_at=admitted_at, admit_date=admit_day, admission_type=new.admission_type,
        admission_source="transfer" if transferred_from is not None else "admission", notified_at=notified_at,
        admit_level_of_care=new.level_of_care, level_of_care=new.level_of_care, status="open", late_notice=late.late,
        readmission_of_id=previous.id if previous else None, readmission_days=readmission_days,
        transferred_from_id=transferred_from.id if transferred_from else None, expected_discharge_date=expected,
        care_plan_pending=False, updated_at=now)
    session.add(stay)
    act = _Action(actor, case, None, cases._flow(case, None), _snapshot(case, None), now)
    sa = _StayAction(act, stay, {}, Ledger(admit_day), {**act.before, **_stay_snapshot(stay)})
    requested = sa.ledger.request_through(admit_day + timedelta(days=new.requested_days - 1), new.level_of_care)
    _apply(session, sa, requested, requested_at=notified_at)
    _refresh(sa)
    session.flush()
    _write(session, sa, "stay-admitted", {
        "facility": facility.name, "facility_npi": facility.npi, "admitted_at": iso_utc(admitted_at),
        "admit_date": admit_day.isoformat(), "admission_type": new.admission_type,
        "notified_at": iso_utc(notified_at), "level_of_care": new.level_of_care,
        "requested": _days_json(requested), "late_notice": late.to_json(),
        "admission_review_due": iso_utc(stay_clocks.admission_review_due(notified_at)),
        "readmission_of": previous.tar if previous else None, "readmission_days": readmission_days,
        "transferred_from": transferred_from.tar if transferred_from else None,
    })
    return Admitted(case, stay, late, previous.tar if previous else None, readmission_days)


# ----- requests for days --------------------------------------------------------------------------------------------
@intent("stay-request-days", commutes=stay_not_ended_since)
def request_days(session: Session, tar: str, username: str, *, through: date, note: str = "",
                 at: datetime | None = None, expected_version: int | None = None) -> Stay:
    """The facility asks for days through `through` (a continued-stay request, received now): its decision clock
    runs from now (app.domain.stay_clocks.review_due)."""
    sa = _load_stay(session, tar, username, at)
    _refuse(may_record(sa.act.actor.role, "request-days", sa.case.service_category))
    _require_open(sa)
    _check_version(sa.act, expected_version)
    through = _plan_date(through, "the last day requested")
    if through is None:
        raise InvalidInput("give the last day the facility asks for")
    changed = _ledger(lambda: sa.ledger.request_through(through, sa.stay.level_of_care))
    _add_requested(session, sa, changed, note)
    return sa.stay


def _add_requested(session: Session, sa: _StayAction, changed: list[LedgerDay], note: str = "") -> None:
    if sa.case.status == "referred":  # asked while a physician has the stay: the new days are before them too
        changed = [LedgerDay(d.day, "pending", d.level_of_care) for d in changed]
    _apply(session, sa, changed, requested_at=sa.act.at)
    _refresh(sa)
    _write(session, sa, "stay-days-requested", {"requested": _days_json(changed), "note": (note or "").strip(),
                                                "requested_at": iso_utc(sa.act.at)})


# ----- concurrent review -------------------------------------------------------------------------------------------
@intent("stay-review", commutes=changes_state)
def review_stay(session: Session, tar: str, username: str, *, clinical_update: str, approve_through: date,
                next_review: date | None = None, requested_through: date | None = None,
                expected_discharge: date | None = None, criteria_result: str | None = None,
                criteria: Sequence[CriteriaCitation | str] = (), at: datetime | None = None,
                expected_version: int | None = None) -> Stay:
    """A concurrent review that approves days: the clinical update, the criteria (the case's checklist: a nurse
    approves only when they are met), every undecided day through `approve_through` approved at the current level
    of care, and the next review date (default: by level of care, app.domain.stays.REVIEW_INTERVAL_DAYS).
    With `requested_through`, the facility's request for more days is recorded first (same transaction)."""
    sa = _load_stay(session, tar, username, at)
    act = sa.act
    cases._authorize(act, "approve")
    result = _criteria_result(session, sa.case, criteria_result)
    involved = cases.is_involved(session, act.actor, sa.case.member_id)
    refusal = authority.may_decide(act.actor.role, "approved", sa.case.service_category, criteria=result,
                                   member_under_21=cases._under_21(sa.case, act.at), involved=involved)
    if refusal:
        _refuse(refusal, "conflict" if involved and "involved" in refusal.reason else "authority")
    _require_deciding(sa)
    _check_version(act, expected_version)
    update = _text(clinical_update, "the clinical update (what the facility reported at this review)")
    approve_through = _plan_date(approve_through, "the last approved day")
    if approve_through is None:
        raise InvalidInput("give the last day to approve")
    next_review = _plan_date(next_review, "the next review date") or default_next_review(sa.stay.level_of_care,
                                                                                       sa.today)
    if next_review < sa.today:
        raise InvalidInput(f"the next review date {next_review:%m/%d/%Y} is in the past (today is "
                           f"{sa.today:%m/%d/%Y})")
    expected_discharge = _plan_date(expected_discharge, "the expected discharge")
    if expected_discharge is not None and expected_discharge < sa.stay.admit_date:
        raise InvalidInput("the expected discharge is before the admission")
    requested: list[LedgerDay] = []
    if requested_through is not None:
        requested = _ledger(lambda: sa.ledger.request_through(requested_through, sa.stay.level_of_care))
    trial = sa.ledger.with_days(requested)
    determination_id = derived_id("event:stay-determined")
    approved = _ledger(lambda: trial.approve_through(approve_through, str(determination_id)))
    # Everything checked: write.
    if requested:
        _add_requested(session, sa, requested, "with the concurrent review")
    citations = _citations(session, sa.case, criteria)
    previous_due = sa.stay.review_due_at
    _take(act)
    if sa.case.status == "received":
        sa.case.status = "in-review"
    _apply(session, sa, approved)
    handed_to = _answer_referral(session, sa) if act.actor.role in PHYSICIAN_ROLES else None
    _clinical_note(session, sa, f"Concurrent review: {update}")
    sa.stay.next_review_date = next_review
    if expected_discharge is not None:
        sa.stay.expected_discharge_date = expected_discharge
    _refresh(sa)
    _write(session, sa, "stay-determined", {
        "determination_id": str(determination_id), "kind": "review", "outcome": "approved",
        "clinical_update": update, "approved": _days_json(approved), "level_of_care": sa.stay.level_of_care,
        "next_review": next_review.isoformat(), "expected_discharge": iso_date(sa.stay.expected_discharge_date),
        "criteria": citations, "criteria_result": result, "decided_by": _decider(act.actor),
        "decided_at": iso_utc(act.at), "review_due": iso_utc(previous_due),
        "in_time": previous_due is None or act.at <= previous_due, "referral_answered_to": handed_to,
    }, event_id=determination_id)
    return sa.stay


def _clinical_note(session: Session, sa: _StayAction, text: str) -> None:
    """What the reviewer recorded at a review, among the case's clinical notes (the case view's Notes tab)."""
    session.add(ClinicalNote(id=derived_id("note"), case_id=sa.case.id, written_at=sa.act.at,
                             author=sa.act.actor.full_name, text=text))


def walk_criteria(session: Session, tar: str, username: str, *, set_id: str, answers: dict[str, str],
                  evidence: str | None = None) -> None:
    """Walk a review's criteria through the criteria services (app.services.criteria): the stay is taken by the
    reviewer when nobody holds it (claim), the set applied when it is not the case's current one, and each answer
    that differs from the one in use recorded with its evidence. Part of the review's transaction: a review refused
    afterwards leaves none of it written."""
    from app.services import criteria as criteria_svc
    from app.store.criteria_answers import checklist

    case = cases.case_by_tar(session, tar)
    stay_of_case(session, case)
    actor = cases._acting_user(session, username)
    if case.assignee is None and authority.may_claim(actor.role, case.status, None, actor.username,
                                                     category=case.service_category) is None:
        cases.claim_case(session, tar, username)
    try:
        state = checklist(session, case)
    except LookupError:
        state = None
    try:
        if state is None or state.set is None or state.set.id != set_id:
            state = criteria_svc.choose_set(session, tar, username, set_id)
        for criterion_id, answer in answers.items():
            row = state.row(criterion_id)
            if row is None:
                raise InvalidInput(f"'{criterion_id}' is not a criterion of {set_id}")
            if row.is_group or answer == row.answer:
                continue
            state = criteria_svc.answer_criterion(session, tar, username, criterion_id, answer,
                                                  evidence=(evidence or "")[:criteria_svc.MAX_NOTE] or None)
    except criteria_svc.InvalidInput as error:
        raise InvalidInput(str(error)) from error


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


@intent("stay-refer", commutes=changes_state)
def refer_stay(session: Session, tar: str, username: str, *, summary: str, question: str = "",
               requested_through: date | None = None, to_user: str | None = None, at: datetime | None = None,
               expected_version: int | None = None) -> Stay:
    """Refer the stay's undecided days to a physician (days that do not meet the continued-stay criteria): the
    case's referral (`refer_case`), and its requested days pending before the physician."""
    sa = _load_stay(session, tar, username, at)
    cases._authorize(sa.act, "refer")
    _refuse(authority.may_refer(sa.act.actor.role, sa.case.service_category, "physician"))
    _require_deciding(sa)
    if sa.case.status == "referred":
        raise ActionRefused("The stay is already referred to a physician.", kind="state")
    _check_version(sa.act, expected_version)
    _text(summary, "a summary for the physician")
    requested: list[LedgerDay] = []
    if requested_through is not None:
        requested = _ledger(lambda: sa.ledger.request_through(requested_through, sa.stay.level_of_care))
    if not requested and not sa.ledger.with_status("requested"):
        raise InvalidInput("no day of the stay awaits a decision: record the facility's request for days first "
                           "(the physician decides requested days)")
    if requested:
        _add_requested(session, sa, requested, "with the referral")
    cases.refer_case(session, tar, username, to="physician", summary=summary, question=question, to_user=to_user,
                     at=sa.act.at)
    sa.act.workflow = session.get(CaseWorkflow, sa.case.id)
    sa.before = {**_snapshot(sa.case, sa.act.workflow), **_stay_snapshot(sa.stay)}
    pending = sa.ledger.pend()
    _apply(session, sa, pending)
    _refresh(sa)
    _write(session, sa, "stay-days-pending", {"pending": _days_json(pending), "to": "physician"})
    return sa.stay


@intent("stay-deny-days", commutes=changes_state)
def deny_days(session: Session, tar: str, username: str, *, through: date, first: date | None = None,
              basis: str = "medical-necessity", rationale: str, member_reason: str,
              next_review: date | None = None, at: datetime | None = None,
              expected_version: int | None = None) -> Stay:
    """A physician denies undecided days from `first` (default: the first undecided day) through `through`, for
    lack of medical necessity or for late notice (app.domain.stays.may_deny_days). Care is not discontinued until
    the treating provider has been told and a care plan agreed (H&SC 1367.01(h)(3)): the stay shows it until
    `record_care_plan` records both."""
    if basis not in DENIAL_BASES:
        raise InvalidInput(f"denial basis '{basis}' is not one of: {', '.join(DENIAL_BASES)}")
    sa = _load_stay(session, tar, username, at)
    act = sa.act
    cases._authorize(act, "deny")
    involved = cases.is_involved(session, act.actor, sa.case.member_id)
    refusal = may_deny_days(act.actor.role, sa.case.service_category, basis,
                            member_under_21=cases._under_21(sa.case, act.at), involved=involved,
                            emergency=sa.stay.admission_type == "emergency", late_notice=sa.stay.late_notice)
    if refusal:
        _refuse(refusal, "conflict" if involved and "involved" in refusal.reason else "authority")
    _require_deciding(sa)
    _check_version(act, expected_version)
    rationale = _text(rationale, "the clinical rationale")
    member_reason = _text(member_reason, "the reason for the member, in plain language")
    through = _plan_date(through, "the last denied day")
    if through is None:
        raise InvalidInput("give the last day to deny")
    first = _plan_date(first, "the first denied day")
    if first is None:
        undecided = [d.day for d in sa.ledger.days if d.status in ("requested", "pending")]
        if not undecided:
            raise InvalidInput("no day of the stay awaits a decision")
        first = undecided[0]
    if basis == "late-notice":
        deniable = set(stay_clocks.late_notice(sa.stay.admitted_at, sa.stay.notified_at,
                                               sa.stay.admission_type).deniable_days)
        outside = [first + timedelta(days=n) for n in range((through - first).days + 1)
                   if first + timedelta(days=n) not in deniable]
        if outside:
            raise InvalidInput(f"only the days before the plan was notified may be denied for late notice; "
                               f"{outside[0]:%m/%d/%Y} is not one of them")
    next_review = _plan_date(next_review, "the next review date")
    if next_review is not None and next_review < sa.today:
        raise InvalidInput(f"the next review date {next_review:%m/%d/%Y} is in the past")
    determination_id = derived_id("event:stay-determined")
    denied = _ledger(lambda: sa.ledger.deny(first, through, str(determination_id)))
    _take(act)
    previous_due = sa.stay.review_due_at
    _apply(session, sa, denied)
    handed_to = _answer_referral(session, sa)
    if next_review is not None:
        sa.stay.next_review_date = next_review
    sa.stay.care_plan_pending = True
    _refresh(sa)
    _write(session, sa, "stay-determined", {
        "determination_id": str(determination_id), "kind": "denial", "outcome": "denied", "basis": basis,
        "denied": _days_json(denied), "level_of_care": sa.stay.level_of_care, "rationale": rationale,
        "member_reason": member_reason, "decided_by": _decider(act.actor), "decided_at": iso_utc(act.at),
        "review_due": iso_utc(previous_due), "in_time": previous_due is None or act.at <= previous_due,
        "care_continues_until": "the treating provider is told and a care plan agreed (H&SC 1367.01(h)(3))",
        "referral_answered_to": handed_to,
    }, event_id=determination_id)
    return sa.stay


@intent("stay-change-level", commutes=changes_state)
def change_level_of_care(session: Session, tar: str, username: str, *, level: str, effective: date,
                         rationale: str, member_reason: str = "", criteria_result: str | None = None,
                         next_review: date | None = None, at: datetime | None = None,
                         expected_version: int | None = None) -> Stay:
    """A change of level of care from `effective` on. Lowering it (e.g. acute to administrative days awaiting a
    SNF bed) modifies what was approved: a physician's decision, from today at the earliest, with care continuing
    until the treating provider is told and a care plan agreed (H&SC 1367.01(h)(3)). Raising it is approved like
    days are (criteria met for a nurse)."""
    try:
        require_level(level)
    except StayError as error:
        raise InvalidInput(str(error)) from error
    sa = _load_stay(session, tar, username, at)
    act = sa.act
    lowering = lowers_level(sa.stay.level_of_care, level)
    action = "partial" if lowering else "approve"
    cases._authorize(act, action)
    involved = cases.is_involved(session, act.actor, sa.case.member_id)
    result = None if lowering else _criteria_result(session, sa.case, criteria_result)
    refusal = authority.may_decide(act.actor.role, "partially-approved" if lowering else "approved",
                                   sa.case.service_category, criteria=result,
                                   member_under_21=cases._under_21(sa.case, act.at), involved=involved)
    if refusal:
        _refuse(refusal, "conflict" if involved and "involved" in refusal.reason else "authority")
    _require_deciding(sa)
    _check_version(act, expected_version)
    if level == sa.stay.level_of_care:
        raise InvalidInput(f"the stay is already at {level_label(level)}")
    effective = _plan_date(effective, "the day the level of care changes")
    if effective is None:
        raise InvalidInput("give the day the level of care changes")
    if effective < sa.stay.admit_date:
        raise InvalidInput("the change is before the admission")
    if lowering and effective < sa.today:
        raise InvalidInput(f"a lower level of care takes effect from today ({sa.today:%m/%d/%Y}) at the earliest: "
                           "care already given stays at the level approved (H&SC 1367.01(h)(3))")
    rationale = _text(rationale, "the clinical rationale")
    if lowering:
        member_reason = _text(member_reason, "the reason for the member, in plain language")
    next_review = _plan_date(next_review, "the next review date")
    if next_review is not None and next_review < sa.today:
        raise InvalidInput(f"the next review date {next_review:%m/%d/%Y} is in the past")
    determination_id = derived_id("event:stay-determined")
    changed = _ledger(lambda: sa.ledger.change_level(effective, level, str(determination_id)))
    previous = sa.stay.level_of_care
    _take(act)
    if sa.case.status == "received":
        sa.case.status = "in-review"
    _apply(session, sa, changed)
    handed_to = _answer_referral(session, sa) if act.actor.role in PHYSICIAN_ROLES else None
    sa.stay.level_of_care = level
    sa.stay.next_review_date = next_review or default_next_review(level, max(sa.today, effective))
    if lowering:
        sa.stay.care_plan_pending = True
    _refresh(sa)
    _write(session, sa, "stay-determined", {
        "determination_id": str(determination_id), "kind": "level-of-care",
        "outcome": "partially-approved" if lowering else "approved", "from_level": previous, "level_of_care": level,
        "effective": effective.isoformat(), "lowered": lowering, "changed": _days_json(changed),
        "rationale": rationale, "member_reason": member_reason.strip(), "criteria_result": result,
        "next_review": sa.stay.next_review_date.isoformat(), "decided_by": _decider(act.actor),
        "decided_at": iso_utc(act.at), "referral_answered_to": handed_to,
    }, event_id=determination_id)
    return sa.stay


@intent("stay-care-plan", commutes=care_plan_still_awaited)
def record_care_plan(session: Session, tar: str, username: str, *, provider_told_at: datetime, told: str,
                     care_plan: str, at: datetime | None = None, expected_version: int | None = None) -> Stay:
    """The treating provider was told of the denial or lower level of care, and a care plan appropriate to the
    member was agreed with them: only then may care be discontinued (H&SC 1367.01(h)(3))."""
    sa = _load_stay(session, tar, username, at)
    _refuse(may_record(sa.act.actor.role, "care-plan", sa.case.service_category))
    if not sa.stay.care_plan_pending:
        raise ActionRefused("No denial or lower level of care on this stay awaits a care plan.", kind="state")
    _check_version(sa.act, expected_version)
    told_at = _instant(provider_told_at, "when the treating provider was told")
    if told_at > sa.act.at:
        raise InvalidInput("the treating provider cannot have been told in the future")
    last = session.scalar(select(func.max(CaseEvent.occurred_at)).where(
        CaseEvent.case_id == sa.case.id, CaseEvent.kind == "stay-determined"))
    if last is not None and told_at < last.replace(second=0, microsecond=0):  # a call's time is to the minute
        raise InvalidInput("the treating provider was told before the decision was made; give the time of the call")
    told = _text(told, "who was told (the treating provider's name)")
    care_plan = _text(care_plan, "the care plan agreed with the treating provider")
    sa.stay.care_plan_pending = False
    sa.stay.updated_at = sa.act.at
    _write(session, sa, "stay-care-plan-agreed", {"provider_told_at": iso_utc(told_at), "told": told,
                                                  "care_plan": care_plan, "recorded_by": sa.act.actor.username})
    return sa.stay


@intent("stay-leave", commutes=changes_state)
def record_leave(session: Session, tar: str, username: str, *, first: date, last: date, reason: str,
                 at: datetime | None = None, expected_version: int | None = None) -> Stay:
    """A leave of absence (bed hold) from `first` to `last`: those days are not bed days."""
    sa = _load_stay(session, tar, username, at)
    _refuse(may_record(sa.act.actor.role, "leave", sa.case.service_category))
    _require_open(sa)
    _check_version(sa.act, expected_version)
    first, last = _plan_date(first, "the first day of leave"), _plan_date(last, "the last day of leave")
    if first is None or last is None:
        raise InvalidInput("give the first and the last day of the leave")
    reason = _text(reason, "the reason for the leave (e.g. 'therapeutic home visit')")
    changed = _ledger(lambda: sa.ledger.leave(first, last))
    _apply(session, sa, changed)
    _refresh(sa)
    _write(session, sa, "stay-leave-recorded", {"leave": _days_json(changed), "reason": reason})
    return sa.stay


@intent("stay-expected-discharge", commutes=expected_discharge_not_set_since)
def set_expected_discharge(session: Session, tar: str, username: str, *, expected: date,
                           at: datetime | None = None, expected_version: int | None = None) -> Stay:
    """The day the member is expected to leave (the "Expected discharges" queue)."""
    sa = _load_stay(session, tar, username, at)
    _refuse(may_record(sa.act.actor.role, "expected-discharge", sa.case.service_category))
    _require_open(sa)
    _check_version(sa.act, expected_version)
    expected = _plan_date(expected, "the expected discharge")
    if expected is None or expected < sa.stay.admit_date:
        raise InvalidInput("give an expected discharge on or after the admission")
    sa.stay.expected_discharge_date = expected
    sa.stay.updated_at = sa.act.at
    _write(session, sa, "stay-expected-discharge-set", {"expected_discharge": expected.isoformat()})
    return sa.stay


# ----- discharge and transfer -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Discharged:
    stay: Stay
    case: Case
    outcome: str
    new_requests: list[tuple[str, str]]  # (need, TAR of the new request)


def next_tar(session: Session, wanted: str | None = None) -> str:
    """The next free TAR number of this store, numbered as intake numbers (app.services.intake.next_tars: a laptop
    in its own block, so two laptops' admissions never collide). `wanted`: a number already given (by the laptop
    that made the change the central store does again), kept when it is free here."""
    from app.services.intake import next_tars

    if wanted and session.scalar(select(Case.id).where(Case.tar == wanted)) is None:
        return wanted
    return next_tars(session)[0]


def _needs_renumbered(payload: dict, result: Discharged) -> dict | None:
    """The server's answer names both numbers of each discharge need's request whose number, given by the laptop,
    was another request's centrally (`next_tar` gave the next central number instead)."""
    given = payload.get("need_tars") or []
    moved = [{"from": wanted, "to": tar, "what": f"the {DISCHARGE_NEEDS[need][0]} request"}
             for wanted, (need, tar) in zip(given, result.new_requests) if wanted and wanted != tar]
    return {"renumbered": moved} if moved else None


@intent("stay-discharge", commutes=changes_state,
        complete=lambda call, result: _with_new_tars(call, "need_tars", [tar for _, tar in result.new_requests]),
        answer=_needs_renumbered)
def discharge_stay(session: Session, tar: str, username: str, *, discharged_at: datetime, disposition: str,
                   needs: Sequence[str] = (), note: str = "", need_tars: Sequence[str] = (),
                   at: datetime | None = None, expected_version: int | None = None) -> Discharged:
    """The member left the facility: every day before the discharge day must be decided; days from it on are not
    used. Each discharge need becomes a new request in the same transaction, pre-filled from the stay (member,
    attending physician, diagnoses, the day of discharge), linked both ways. The stay's case is then determined,
    its outcome summarising the ledger, and goes on to its notices and closing. `need_tars`: the numbers the
    laptop gave the needs' requests (the central store keeps them when they are free there)."""
    sa = _load_stay(session, tar, username, at)
    act = sa.act
    _refuse(may_record(act.actor.role, "discharge", sa.case.service_category))
    _require_open(sa)
    _check_version(act, expected_version)
    if disposition not in DISPOSITIONS:
        raise InvalidInput(f"disposition '{disposition}' is not one of: {', '.join(DISPOSITIONS)}")
    unknown = [n for n in needs if n not in DISCHARGE_NEEDS]
    if unknown:
        raise InvalidInput(f"discharge need '{unknown[0]}' is not one of: {', '.join(DISCHARGE_NEEDS)}")
    if len(set(needs)) != len(needs):
        raise InvalidInput("each discharge need is listed once")
    if disposition == "expired" and needs:
        raise InvalidInput("a member who died has no discharge needs")
    out = _instant(discharged_at, "the discharge")
    if out < sa.stay.admitted_at:
        raise InvalidInput(f"the discharge ({out:%m/%d/%Y %H:%M} UTC) is before the admission "
                           f"({sa.stay.admitted_at:%m/%d/%Y %H:%M} UTC)")
    if out > act.at:
        raise InvalidInput("the discharge is in the future; record it when the member has left")
    discharge_day = stay_clocks.plan_day(out)
    unused = _ledger(lambda: sa.ledger.discharge(discharge_day), refused=True)
    return _discharge(session, sa, out, discharge_day, unused, disposition, list(needs), note,
                      need_tars=list(need_tars or ()))


def _discharge(session: Session, sa: _StayAction, out: datetime, discharge_day: date, unused: list[LedgerDay],
               disposition: str, needs: list[str], note: str, *, transfer_to: str | None = None,
               need_tars: Sequence[str] = ()) -> Discharged:
    act = sa.act
    _apply(session, sa, unused)
    sa.ledger = sa.ledger.discharged(discharge_day)
    stay, case = sa.stay, sa.case
    stay.status = "discharged"
    stay.discharged_at = out
    stay.discharge_date = discharge_day
    stay.disposition = disposition
    _refresh(sa)
    last = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "stay-determined")
                           .order_by(CaseEvent.occurred_at.desc()).limit(1)).first()
    outcome = ledger_outcome(sa.ledger)
    workflow = act.workflow_row(session)
    workflow.determination_event_id = last.id if last else None
    workflow.criteria_result = (last.payload or {}).get("criteria_result") if last else None
    workflow.referred_to = workflow.pended_from = workflow.referred_specialty = None
    workflow.provider_notified_at = workflow.member_notified_at = None
    workflow.updated_at = act.at
    case.status = "determined"
    case.outcome = outcome
    case.decided_at = last.occurred_at if last else act.at
    due = (last.payload or {}).get("review_due") if last else None
    case.decision_due_at = datetime.fromisoformat(due) if due else case.decision_due_at
    wanted = list(need_tars) + [None] * len(needs)
    new_requests = [(need, _discharge_need(session, sa, need, discharge_day, note, wanted[n]))
                    for n, need in enumerate(needs)]
    counts = sa.ledger.counts()
    _write(session, sa, "stay-discharged", {
        "discharged_at": iso_utc(out), "discharge_date": discharge_day.isoformat(), "disposition": disposition,
        "note": (note or "").strip(), "outcome": outcome, "not_used": _days_json(unused),
        "bed_days": counts["bed_days"], "approved_days": counts["approved"], "denied_days": counts["denied"],
        "determination_id": str(last.id) if last else None,
        "needs": [{"need": need, "tar": new_tar} for need, new_tar in new_requests], "transfer_to": transfer_to,
    })
    return Discharged(stay, case, outcome, new_requests)


def _discharge_need(session: Session, sa: _StayAction, need: str, discharge_day: date, note: str,
                    wanted: str | None = None) -> str:
    """A new request for a discharge need, pre-filled from the stay and linked to it."""
    label, category, code, description = DISCHARGE_NEEDS[need]
    stay, case = sa.stay, sa.case
    facility = session.get(Provider, stay.facility_id)
    diagnoses = [(d.code, d.description) for d in case.diagnoses]
    new_tar = next_tar(session, wanted)
    text = (f"Discharge need ({label}) from the stay of TAR {case.tar} at {facility.name if facility else 'the facility'}"
            f", admitted {stay.admit_date:%m/%d/%Y}, discharged {discharge_day:%m/%d/%Y} "
            f"({DISPOSITIONS[stay.disposition]}).")
    if note and note.strip():
        text += f" {note.strip()}"
    new_case = receive_case(session, NewCase(
        tar=new_tar, line_of_business=case.line_of_business, service_category=category, review_timing="pre-service",
        urgency="urgent", received_at=sa.act.at, member=case.member,
        requesting_provider_id=stay.attending_physician_id or stay.facility_id,
        place_of_service="31" if need == "snf-placement" else "12", proposed_date=discharge_day,
        lines=[NewLine(code, description, 1, discharge_day)], diagnoses=diagnoses, clinical_note=text,
        channel="discharge-plan"), sa.act.actor)
    session.flush()
    record_event(session, new_case, sa.act.actor, "stay-discharge-need",
                 {"need": need, "from_tar": case.tar, "stay_id": str(stay.id)}, sa.act.at)
    return new_tar


def _transfer_renumbered(payload: dict, result: Admitted) -> dict | None:
    """The server's answer names both numbers when the laptop's number for the new stay was another request's
    centrally (`next_tar`: the next central number instead, as for a discharge need's request), as it does for an
    admission taken offline (app.server.push)."""
    given = payload.get("new_tar")
    if not given or given == result.case.tar:
        return None
    return {"renumbered": {"from": given, "to": result.case.tar, "what": "the new stay"}}


@intent("stay-transfer", commutes=changes_state,
        complete=lambda call, result: _with_new_tars(call, "new_tar", result.case.tar), answer=_transfer_renumbered)
def transfer_stay(session: Session, tar: str, username: str, *, transferred_at: datetime,
                  to_facility_id: uuid.UUID, level_of_care: str | None = None, requested_days: int = 1,
                  note: str = "", new_tar: str | None = None, at: datetime | None = None,
                  expected_version: int | None = None) -> Admitted:
    """The member moves to another facility: this stay ends (disposition: another acute facility, or SNF for a
    skilled or sub-acute level) and a new stay continues it there, linked, notified at the transfer (a
    continuation, never a readmission). Both in one transaction. `new_tar`: the number the laptop gave the new stay
    (kept when it is free here; the next number of this store when another request holds it, as `next_tar` does for a
    discharge need's request)."""
    sa = _load_stay(session, tar, username, at)
    act = sa.act
    _refuse(may_record(act.actor.role, "transfer", sa.case.service_category))
    _require_open(sa)
    _check_version(act, expected_version)
    level = level_of_care or sa.stay.level_of_care
    if level not in LEVEL_CATEGORY:
        raise InvalidInput(f"level of care '{level}' is not one of: {', '.join(LEVEL_CATEGORY)}")
    if to_facility_id == sa.stay.facility_id:
        raise InvalidInput("the member is already at that facility; a move within it is a level-of-care change")
    facility = session.get(Provider, to_facility_id)
    if facility is None:
        raise NotFound("The receiving facility is not in this store's provider directory.")
    out = _instant(transferred_at, "the transfer")
    if out < sa.stay.admitted_at:
        raise InvalidInput("the transfer is before the admission")
    if out > act.at:
        raise InvalidInput("the transfer is in the future; record it when the member has moved")
    discharge_day = stay_clocks.plan_day(out)
    unused = _ledger(lambda: sa.ledger.discharge(discharge_day), refused=True)
    disposition = "snf" if level in ("snf", "sub-acute") else "another-acute"
    new_tar = next_tar(session, new_tar)
    _discharge(session, sa, out, discharge_day, unused, disposition, [], note, transfer_to=facility.name)
    diagnoses = [(d.code, d.description) for d in sa.case.diagnoses]
    admitted = admit_stay(session, NewStay(
        tar=new_tar, line_of_business=sa.case.line_of_business, member=sa.case.member, facility_id=to_facility_id,
        admitted_at=out, notified_at=out, level_of_care=level, admission_type=sa.stay.admission_type,
        requested_days=requested_days, urgency=sa.case.urgency,
        attending_physician_id=sa.stay.attending_physician_id, diagnoses=diagnoses,
        clinical_note=f"Transferred from TAR {tar}. {note}".strip(), channel="transfer"),
        username, at=act.at, transferred_from=sa.stay)
    record_event(session, sa.case, act.actor, "stay-transferred",
                 {"stay_id": str(sa.stay.id), "to_tar": new_tar, "to_facility": facility.name,
                  "transferred_at": iso_utc(out), "level_of_care": level}, act.at)
    return admitted


__all__ = ["ActionRefused", "Admitted", "Discharged", "InvalidInput", "NewStay", "NotFound",
           "admit_stay", "change_level_of_care", "deny_days", "discharge_stay", "next_tar", "record_care_plan",
           "record_leave", "refer_stay", "request_days", "review_stay", "set_expected_discharge", "stay_of_case",
           "transfer_stay", "walk_criteria"]
