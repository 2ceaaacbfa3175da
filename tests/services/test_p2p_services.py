"""Peer-to-peer services (app.services.p2p) on encrypted SQLite and PostgreSQL: availability, requests and their
window, booking (never double-booked, also when two sessions race for a slot), reschedule and cancel, outcomes
(an overturn is a new determination with its approval notice drafted), two missed windows, queues, reminders,
the report, and nothing half-written when something is refused."""
from __future__ import annotations

import threading
import time as clock
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.domain import p2p as rules
from app.domain.plantime import PLAN_TZ
from app.services import cases as svc
from app.services import p2p
from app.services.cases import ActionRefused, InvalidInput
from app.store import p2p_queries
from app.store.models import AuditRecord, Case, CaseEvent, Letter, P2PAvailability, P2PBooking, P2PRequest, User
from app.store.worklist import WorklistQuery, viewer_for
from tests.workflow.conftest import make_case, workflow_store  # noqa: F401 - fixtures

UTC = timezone.utc


def deny(store, tar: str, physician: str = "dr.morales", outcome: str = "deny") -> None:
    with store.session() as session, session.begin():
        svc.claim_case(session, tar, physician)
        svc.decide_case(session, tar, physician, outcome=outcome, basis="medical-necessity",
                        rationale="Conservative therapy not tried; imaging does not support surgery.",
                        member_reason="The records do not show that you tried physical therapy first.",
                        lines={1: 2} if outcome == "partial" else None)


@pytest.fixture
def denied(workflow_store, make_case):
    def make(**kw) -> str:
        tar = make_case(**kw)
        deny(workflow_store, tar)
        return tar
    return make


def free(store, username: str, days: int = 10, *, after: datetime | None = None) -> list[str]:
    today = datetime.now(PLAN_TZ).date()
    with store.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        slots = p2p.reviewer_free_slots(session, [user], today, today + timedelta(days=days))[username]
    return [s.id for s in slots if after is None or s.start > after]


def events(store, tar: str) -> list[str]:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        return list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)
                                    .order_by(CaseEvent.occurred_at)))


def in_tx(store, work):
    with store.session() as session, session.begin():
        return work(session)


# ----- availability ---------------------------------------------------------------------------------------
def test_reviewers_publish_availability_and_overlaps_are_refused(workflow_store):
    day = datetime.now(PLAN_TZ).date() + timedelta(days=40)  # past the demo's 4 weeks of hours
    row = in_tx(workflow_store, lambda s: p2p.add_availability(
        s, "dr.shah", kind="one-off", first_day=day, start=time(9), end=time(10), slot_minutes=20))
    with workflow_store.session() as session:
        user = session.scalar(select(User).where(User.username == "dr.shah"))
        slots = p2p.reviewer_free_slots(session, [user], day, day)["dr.shah"]
        assert [s.start.astimezone(PLAN_TZ).strftime("%H:%M") for s in slots] == ["09:00", "09:20", "09:40"]
        assert session.scalar(select(func.count()).select_from(AuditRecord)
                              .where(AuditRecord.what == "p2p-availability-added")) >= 1
    with pytest.raises(ActionRefused, match="overlap"):
        in_tx(workflow_store, lambda s: p2p.add_availability(
            s, "coord.jones", reviewer="dr.shah", kind="one-off", first_day=day, start=time(9, 30), end=time(11)))
    with pytest.raises(ActionRefused, match="only your own"):
        in_tx(workflow_store, lambda s: p2p.add_availability(
            s, "dr.morales", reviewer="dr.shah", kind="one-off", first_day=day, start=time(11), end=time(12)))
    with pytest.raises(ActionRefused, match="may not keep"):
        in_tx(workflow_store, lambda s: p2p.add_availability(
            s, "nurse.nguyen", reviewer="dr.shah", kind="one-off", first_day=day, start=time(11), end=time(12)))
    with pytest.raises(InvalidInput, match="before they start"):
        in_tx(workflow_store, lambda s: p2p.add_availability(
            s, "dr.shah", kind="one-off", first_day=day, start=time(12), end=time(11)))
    in_tx(workflow_store, lambda s: p2p.add_availability(
        s, "coord.jones", reviewer="dr.shah", kind="out-of-office", first_day=day, start=time(9, 30), end=time(12)))
    with workflow_store.session() as session:
        user = session.scalar(select(User).where(User.username == "dr.shah"))
        assert len(p2p.reviewer_free_slots(session, [user], day, day)["dr.shah"]) == 1  # 09:00 only
    in_tx(workflow_store, lambda s: p2p.withdraw_availability(s, "dr.shah", row.id, reason="clinic day moved"))
    with workflow_store.session() as session:
        kept = session.get(P2PAvailability, row.id)
        assert kept.withdrawn_by == "dr.shah" and kept.withdrawn_reason == "clinic day moved"  # kept, not deleted
        assert p2p.reviewer_free_slots(session, [user], day, day)["dr.shah"] == []


def test_demo_reviewers_have_four_weeks_of_hours(workflow_store):
    for username in ("dr.shah", "dr.morales", "dr.lee", "pharmd.kim"):
        slots = free(workflow_store, username, days=27)
        weeks = {rules.parse_slot_id(slot)[1].astimezone(PLAN_TZ).isocalendar()[:2] for slot in slots}
        assert len(slots) > 8 and len(weeks) >= 4, username


# ----- request, offer, book, overturn ---------------------------------------------------------------------
def test_overturn_becomes_a_new_determination_with_its_approval_notice(workflow_store, denied, make_case):
    tar = denied()
    request = in_tx(workflow_store, lambda s: p2p.request_p2p(
        s, tar, "coord.jones", requester_name="Dr. Tina Clark", requester_phone="(707) 555-0100",
        reason="Wants to discuss the imaging"))
    assert request.kind == "denial" and request.status == "requested"
    proposal = in_tx(workflow_store, lambda s: p2p.propose_slots(s, tar, "coord.jones"))
    assert proposal.decider == "dr.morales"
    assert proposal.candidates[0].username == "dr.morales" and proposal.candidates[0].match == "deciding"
    deciding = [c for c in proposal.candidates if c.match == "deciding"]
    others = [c for c in proposal.candidates if c.match != "deciding"]
    assert proposal.candidates[:len(deciding)] == deciding  # the deciding physician's slots first
    assert all(c.match in ("same", "similar", "unknown") for c in others)
    with pytest.raises(InvalidInput, match="at least 2 windows"):
        in_tx(workflow_store, lambda s: p2p.offer_windows(s, tar, "coord.jones", [deciding[0].slot.id]))
    in_tx(workflow_store, lambda s: p2p.offer_windows(s, tar, "coord.jones",
                                                      [deciding[0].slot.id, deciding[1].slot.id]))
    booking = in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", deciding[1].slot.id))
    assert booking.status == "booked" and booking.match == "deciding"
    name, ics = in_tx(workflow_store, lambda s: p2p.send_invitation(s, tar, "coord.jones"))
    assert name.startswith(f"p2p-{tar}-") and b"METHOD:REQUEST" in ics
    with workflow_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        member = case.member
        for identifier in (member.cin, member.last_name, member.first_name, member.birth_date.strftime("%Y%m%d"),
                           "M54.50"):
            assert identifier.encode() not in ics  # nothing about the member beyond the TAR
        old_letters = {letter.id for letter in session.scalars(select(Letter).where(Letter.case_id == case.id))}
    records = lambda: in_tx(workflow_store, lambda s: s.scalar(select(func.count()).select_from(AuditRecord)))
    audit_before = records()
    outcome = in_tx(workflow_store, lambda s: p2p.record_outcome(
        s, tar, "dr.morales", result="overturned", note="Therapy notes faxed during the call show 8 weeks of PT."))
    assert outcome.determination_id is not None
    with workflow_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert (case.status, case.outcome, case.assignee.username) == ("determined", "approved", "dr.morales")
        determination = session.get(CaseEvent, outcome.determination_id)
        assert determination.kind == "determined" and determination.payload["outcome"] == "approved"
        assert determination.payload["decided_by"]["username"] == "dr.morales"
        assert determination.payload["supersedes"] is not None
        letters = session.scalars(select(Letter).where(Letter.case_id == case.id)).all()
        new = [letter for letter in letters if letter.id not in old_letters]
        assert {(letter.kind, letter.recipient) for letter in new} == {("approval", "member"),
                                                                      ("approval", "provider")}
        assert all(letter.source_event_id == outcome.determination_id for letter in new)
        assert all(letter.status == "superseded" for letter in letters if letter.id in old_letters)
        request = session.get(P2PRequest, request.id)
        assert (request.status, request.result) == ("completed", "overturned")
        assert request.new_determination_event_id == outcome.determination_id
        assert session.get(P2PBooking, booking.id).status == "held"
    kinds = events(workflow_store, tar)
    assert kinds[-6:] == ["p2p-offered", "p2p-booked", "p2p-invitation-sent", "p2p-call", "reopened", "determined"]
    assert records() - audit_before == 3  # the call, the reopening, the new determination: each audited
    with pytest.raises(ActionRefused, match="was approved"):  # the approval needs no peer-to-peer
        in_tx(workflow_store, lambda s: p2p.request_p2p(s, tar, "coord.jones"))


def test_a_modification_is_a_new_partial_approval_with_its_notice(workflow_store, denied):
    tar = denied()
    slot = free(workflow_store, "dr.morales")[0]
    in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", slot))  # opens the request
    with pytest.raises(InvalidInput, match="how many units"):
        in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.morales", result="modified", note="half",
                                                           member_reason="We approved 3 visits."))
    outcome = in_tx(workflow_store, lambda s: p2p.record_outcome(
        s, tar, "dr.morales", result="modified", note="Agreed on 3 visits first.", lines={1: 3},
        member_reason="We approved 3 of the 6 therapy visits asked for."))
    with workflow_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert case.outcome == "partially-approved"
        kinds = {letter.kind for letter in session.scalars(select(Letter).where(
            Letter.case_id == case.id, Letter.source_event_id == outcome.determination_id))}
        assert kinds == {"modification"}


def test_upheld_leaves_the_denial_and_its_appeal_window(workflow_store, denied):
    tar = denied()
    in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "dr.morales", free(workflow_store, "dr.morales")[0],
                                                  requester_name="Dr. Ana Ruiz", requester_phone="707-555-0199"))
    recorded = datetime.now(UTC) + timedelta(hours=1)
    called = recorded - timedelta(minutes=20)  # the call took place 20 minutes before it was recorded
    with pytest.raises(InvalidInput, match="in the future"):
        in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.morales", result="upheld",
                                                           held_at=recorded + timedelta(hours=1), at=recorded,
                                                           note="x"))
    in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.morales", result="upheld", held_at=called,
                                                       at=recorded, note="No new facts; criteria still not met."))
    with workflow_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert (case.status, case.outcome) == ("determined", "denied")
        call = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.kind == "p2p-call")).one()
        assert call.payload["appeal_window"] == "running" and call.payload["result"] == "upheld"
        request = session.scalars(select(P2PRequest).where(P2PRequest.case_id == case.id)).one()
        assert abs(request.held_at - called) < timedelta(seconds=1)  # the actual call time, not the slot's
    with pytest.raises(ActionRefused, match="was held"):  # one peer-to-peer per determination
        in_tx(workflow_store, lambda s: p2p.request_p2p(s, tar, "coord.jones"))


def test_new_information_goes_to_an_appeal_not_to_an_overturn(workflow_store, denied):
    tar = denied()
    in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", free(workflow_store, "dr.morales")[0]))
    with pytest.raises(ActionRefused, match="decided in an appeal"):
        in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.morales", result="overturned",
                                                           note="New MRI", new_information=True))
    in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.morales", result="upheld", note="New MRI",
                                                       new_information=True))


# ----- who records an outcome ------------------------------------------------------------------------------
def test_an_outcome_by_someone_not_the_physician_is_refused_and_writes_nothing(workflow_store, denied, make_case):
    tar = denied()
    in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", free(workflow_store, "dr.morales")[0]))
    counts = make_case.counts(tar)
    with pytest.raises(ActionRefused, match="Only a physician") as refused:
        in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "coord.jones", result="overturned", note="x"))
    assert set(refused.value.who) == {"medical-director", "bh-clinical-director"}
    with pytest.raises(ActionRefused, match="booked with another reviewer"):
        in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.shah", result="overturned", note="x"))
    assert make_case.counts(tar) == counts


# ----- never double-booked --------------------------------------------------------------------------------
def test_a_booked_slot_is_refused_and_freed_by_a_cancellation(workflow_store, denied, make_case):
    first, second = denied(), denied()
    slot = free(workflow_store, "dr.morales")[0]
    in_tx(workflow_store, lambda s: p2p.book_call(s, first, "coord.jones", slot))
    assert slot not in free(workflow_store, "dr.morales")
    counts = make_case.counts(second)
    with pytest.raises(ActionRefused, match="already booked") as refused:
        in_tx(workflow_store, lambda s: p2p.book_call(s, second, "coord.jones", slot))
    assert refused.value.kind == "conflict" and make_case.counts(second) == counts
    with workflow_store.session() as session:  # nothing half-written: no request was opened for it either
        case = session.scalar(select(Case).where(Case.tar == second))
        assert session.scalars(select(P2PRequest).where(P2PRequest.case_id == case.id)).first() is None
    with pytest.raises(InvalidInput, match="give the reason"):
        in_tx(workflow_store, lambda s: p2p.cancel_call(s, first, "coord.jones", reason=" "))
    in_tx(workflow_store, lambda s: p2p.cancel_call(s, first, "coord.jones", reason="Provider in surgery"))
    assert slot in free(workflow_store, "dr.morales")
    in_tx(workflow_store, lambda s: p2p.book_call(s, second, "coord.jones", slot))
    name, ics = in_tx(workflow_store, lambda s: p2p.send_invitation(s, first, "coord.jones"))
    assert b"METHOD:CANCEL" in ics and name.endswith("-cancelled.ics")


def test_two_sessions_booking_the_same_slot_one_wins_the_other_is_told(workflow_store, denied):
    """The race: session A books and has not committed; session B, which saw the slot free, books it too. B waits
    for A in the database and is then refused by the unique index; nothing of B's is written."""
    first, second = denied(), denied()
    for tar in (first, second):
        in_tx(workflow_store, lambda s, tar=tar: p2p.request_p2p(s, tar, "coord.jones"))
    slot = free(workflow_store, "dr.morales")[0]
    a = workflow_store.session()
    a.begin()
    p2p.book_call(a, first, "coord.jones", slot)  # written and flushed, not committed
    outcome: dict = {}

    def other_coordinator():
        try:
            with workflow_store.session() as b, b.begin():
                p2p.book_call(b, second, "lead.patel", slot)
            outcome["result"] = "booked"
        except ActionRefused as error:
            outcome["result"] = error

    thread = threading.Thread(target=other_coordinator)
    thread.start()
    clock.sleep(0.8)
    assert thread.is_alive(), f"B did not wait for A: {outcome}"  # B got past its own check and waits on A's row
    a.commit()
    a.close()
    thread.join(20)
    assert isinstance(outcome.get("result"), ActionRefused), outcome
    assert "at the same moment" in str(outcome["result"]) and outcome["result"].kind == "conflict"
    with workflow_store.session() as session:
        booked = session.scalars(select(P2PBooking).where(P2PBooking.status == "booked")).all()
        first_case = session.scalar(select(Case).where(Case.tar == first))
        assert [b.case_id for b in booked] == [first_case.id]
        second_case = session.scalar(select(Case).where(Case.tar == second))
        request = session.scalars(select(P2PRequest).where(P2PRequest.case_id == second_case.id)).one()
        assert request.status == "requested"  # B's request is untouched: still to schedule
    assert events(workflow_store, second)[-1] == "p2p-requested"


# ----- windows and the clock -------------------------------------------------------------------------------
def test_requests_outside_the_window_or_after_an_appeal_are_refused(workflow_store, denied, make_case):
    tar = denied()
    later = datetime.now(UTC) + timedelta(days=12)  # past 5 business days whatever today is
    with pytest.raises(ActionRefused, match="window of TAR .* closed") as refused:
        in_tx(workflow_store, lambda s: p2p.request_p2p(s, tar, "coord.jones", at=later))
    assert refused.value.kind == "p2p"
    appealed = denied()

    def file_appeal(session):  # what the appeals work records (docs/p2p.md, "Appeals")
        case = session.scalar(select(Case).where(Case.tar == appealed))
        svc.record_event(session, case, None, "appeal-filed", {"by": "member"})

    in_tx(workflow_store, file_appeal)
    counts = make_case.counts(appealed)
    with pytest.raises(ActionRefused, match="An appeal was filed"):
        in_tx(workflow_store, lambda s: p2p.book_call(s, appealed, "coord.jones",
                                                      free(workflow_store, "dr.morales")[0]))
    assert make_case.counts(appealed) == counts
    with pytest.raises(ActionRefused, match="does not schedule"):
        in_tx(workflow_store, lambda s: p2p.request_p2p(s, tar, "nurse.nguyen"))


def test_a_potential_denial_cannot_be_booked_after_the_decision_is_due(workflow_store, make_case):
    tar = make_case(urgency="urgent")  # 72 hours
    in_tx(workflow_store, lambda s: svc.claim_case(s, tar, "nurse.nguyen"))
    in_tx(workflow_store, lambda s: svc.refer_case(s, tar, "nurse.nguyen", to="physician", summary="Does not meet",
                                                   to_user="dr.morales"))
    with workflow_store.session() as session:
        due = session.scalar(select(Case.decision_due_at).where(Case.tar == tar))
    late = free(workflow_store, "dr.morales", days=14, after=due)[0]
    counts = make_case.counts(tar)
    with pytest.raises(ActionRefused, match="does not pause") as refused:
        in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", late))
    assert refused.value.kind == "clock"
    from app.domain.plantime import format_instant

    assert format_instant(due, year=True) in str(refused.value)
    assert make_case.counts(tar) == counts
    proposal = in_tx(workflow_store, lambda s: p2p.propose_slots(s, tar, "coord.jones"))
    assert proposal.kind == "potential-denial"
    assert all(c.slot.end <= due for c in proposal.candidates)
    if proposal.candidates:  # an overturned potential denial is decided at once (no reopening)
        in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", proposal.candidates[0].slot.id))
        in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.morales", result="overturned",
                                                           note="Agreed after the call"))
        assert events(workflow_store, tar)[-2:] == ["p2p-call", "determined"]


# ----- missed windows, reschedule ------------------------------------------------------------------------
def test_two_missed_windows_close_the_request_as_attempted(workflow_store, denied):
    tar = denied()
    slots = free(workflow_store, "dr.morales")
    in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", slots[0]))
    in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "coord.jones", call="plan-missed",
                                                       note="Reviewer pulled into an emergency"))
    assert slots[0] not in free(workflow_store, "dr.morales")  # a missed call keeps its slot (no re-booking it)
    in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", slots[1]))
    in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "dr.morales", call="no-show", note="No answer"))
    in_tx(workflow_store, lambda s: p2p.book_call(s, tar, "coord.jones", slots[2]))
    moved = in_tx(workflow_store, lambda s: p2p.reschedule_call(s, tar, "coord.jones", slots[3],
                                                                reason="Provider asked for later"))
    assert moved.starts_at > datetime.now(UTC)
    outcome = in_tx(workflow_store, lambda s: p2p.record_outcome(s, tar, "coord.jones", call="no-show",
                                                                 note="No answer twice"))
    assert outcome.closed_as_attempted and outcome.request.status == "closed-attempted"
    kinds = events(workflow_store, tar)
    assert kinds[-2:] == ["p2p-call", "p2p-closed-attempted"] and "p2p-rescheduled" in kinds
    with pytest.raises(ActionRefused, match="closed as attempted"):
        in_tx(workflow_store, lambda s: p2p.request_p2p(s, tar, "coord.jones"))
    report = in_tx(workflow_store, lambda s: p2p_queries.p2p_report(s, date(2000, 1, 1), date(2100, 1, 1)))
    assert (report["practitioner_no_show"], report["plan_missed"], report["closed_as_attempted"]) == (2, 1, 1)


# ----- queues, reminders, report ----------------------------------------------------------------------------
def test_queues_reminders_and_the_report(workflow_store, denied):
    waiting, booked = denied(), denied()
    in_tx(workflow_store, lambda s: p2p.request_p2p(s, waiting, "coord.jones"))
    slot = free(workflow_store, "dr.morales")[0]
    booking = in_tx(workflow_store, lambda s: p2p.book_call(s, booked, "coord.jones", slot))
    with workflow_store.session() as session:
        coordinator = viewer_for(session, "coord.jones")
        doctor = viewer_for(session, "dr.morales")
        other = viewer_for(session, "dr.shah")
        to_schedule = WorklistQuery("p2p-to-schedule", coordinator)
        assert [r.tar for r in to_schedule.page(session, 0, 50)] == [waiting] and to_schedule.count(session) == 1
        on_the_day = booking.starts_at
        today = WorklistQuery("p2p-today", doctor, now=on_the_day)
        assert [r.tar for r in today.page(session, 0, 50)] == [booked]
        assert WorklistQuery("p2p-today", other, now=on_the_day).count(session) == 0
        assert WorklistQuery("p2p-today", doctor, now=on_the_day + timedelta(days=1)).count(session) == 0
        assert WorklistQuery("p2p-today", coordinator, now=on_the_day).count(session) == 0  # not their queue
        soon = p2p.upcoming_calls(session, "dr.morales", now=booking.starts_at - timedelta(minutes=15))
        assert [(c.tar, c.starts_at) for c in soon] == [(booked, booking.starts_at)]
        assert p2p.upcoming_calls(session, "dr.morales", now=booking.starts_at - timedelta(hours=3)) == []
    held = booking.starts_at  # the call took place at its slot: the outcome is recorded then
    in_tx(workflow_store, lambda s: p2p.record_outcome(s, booked, "dr.morales", result="upheld", note="Upheld",
                                                       held_at=held, at=held + timedelta(minutes=30)))
    day = held.astimezone(PLAN_TZ).date()
    report = in_tx(workflow_store, lambda s: p2p_queries.p2p_report(s, day - timedelta(days=30), day))
    assert (report["requested"], report["held"], report["upheld"], report["overturned"]) == (2, 1, 1, 0)
    with workflow_store.session() as session:
        request = session.get(P2PRequest, booking.request_id)
        expected = round((held - request.requested_at).total_seconds() / 3600, 1)
    assert report["median_request_to_call_hours"] == expected
    empty = in_tx(workflow_store, lambda s: p2p_queries.p2p_report(s, date(2001, 1, 1), date(2001, 1, 31)))
    assert empty["requested"] == 0 and empty["median_request_to_call_hours"] is None
