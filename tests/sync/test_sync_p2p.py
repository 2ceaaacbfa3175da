"""Peer-to-peer and sync, against a real PostgreSQL and a real server process: a call booked offline is the same
request and booking centrally; an outcome recorded offline (overturned) reopens and redetermines the case
centrally with the same event ids; a slot booked offline that was taken centrally meanwhile becomes a conflict
for the coordinator (never a double booking, never an error, nothing lost); availability is the central store's:
refused on a laptop, pulled by every laptop."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.domain.plantime import PLAN_TZ
from app.services import audit, p2p
from app.services import cases as svc
from app.services.cases import ActionRefused
from app.store.models import CaseEvent, P2PAvailability, P2PBooking, P2PRequest, SyncConflict, SyncOutbox, User

PHONE = "(707) 555-0100"


def denied(central) -> str:
    """A medical-necessity denial by dr.morales an hour ago (a peer-to-peer is offered; its letters are drafted, so
    the case is in the coordinators' queue)."""
    now = datetime.now(timezone.utc)
    tar = central.new_case(category="outpatient", received=now - timedelta(hours=5))
    central.act(svc.claim_case, tar, "dr.morales", at=now - timedelta(hours=2))
    central.act(svc.decide_case, tar, "dr.morales", outcome="deny", basis="medical-necessity",
                rationale="Conservative therapy not tried; imaging does not support surgery.",
                member_reason="The records do not show that you tried physical therapy first.",
                at=now - timedelta(hours=1))
    return tar


def free_slots(store, username: str, days: int = 12) -> list[str]:
    today = datetime.now(PLAN_TZ).date()
    with store.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        return [slot.id for slot in p2p.reviewer_free_slots(session, [user], today, today + timedelta(days=days))
                [username]]


def p2p_rows(store, tar: str) -> dict:
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        requests = session.scalars(select(P2PRequest).where(P2PRequest.case_id == case.id)).all()
        bookings = session.scalars(select(P2PBooking).where(P2PBooking.case_id == case.id)).all()
        return {"requests": sorted((str(r.id), r.status, r.result, r.requested_at, r.new_determination_event_id)
                                   for r in requests),
                "bookings": sorted((str(b.id), b.status, b.starts_at, str(b.reviewer_id)) for b in bookings)}


def events_of(store, tar: str) -> list[tuple]:
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        return sorted((str(i), k, at) for i, k, at in session.execute(
            select(CaseEvent.id, CaseEvent.kind, CaseEvent.occurred_at).where(CaseEvent.case_id == case.id)))


def test_a_call_booked_and_its_outcome_recorded_offline_go_up_as_the_same_rows(central, laptops):
    tar = denied(central)
    coordinator = laptops("coord.jones")
    coordinator.sync()
    slot = free_slots(coordinator.store, "dr.morales")[0]  # from the availability the laptop pulled
    coordinator.act(p2p.book_call, tar, slot_id=slot, requester_name="Dr. Tina Clark",
                    requester_phone=PHONE)  # offline: opens the request and books the call
    booked = p2p_rows(coordinator.store, tar)
    assert [row[1] for row in booked["bookings"]] == ["booked"]
    assert (coordinator.sync().applied, central.case(tar).version) == (1, coordinator.case(tar).version)
    assert p2p_rows(central.store, tar) == booked  # the same request and booking ids, the same slot
    doctor = laptops("dr.morales")
    doctor.sync()
    assert doctor.case(tar) is not None  # the call booked with him comes down, whatever its day
    doctor.act(p2p.record_outcome, tar, result="overturned",
               note="Therapy notes faxed during the call show 8 weeks of PT.")  # offline
    with doctor.store.session() as session:
        assert [row.intent for row in session.scalars(select(SyncOutbox).where(
            SyncOutbox.tar == tar, SyncOutbox.state == "pending"))] == ["p2p-outcome"]  # one change, not three
    laptop_events = events_of(doctor.store, tar)
    laptop_rows = p2p_rows(doctor.store, tar)
    assert {"p2p-call", "reopened", "determined"} <= {kind for _, kind, _ in laptop_events}
    report = doctor.sync()
    assert (report.applied, report.conflicts) == (1, 0)
    case = central.case(tar)
    assert (case.status, case.outcome) == ("determined", "approved")
    assert events_of(central.store, tar) == laptop_events  # the call, the reopening, the determination: same ids
    assert p2p_rows(central.store, tar) == laptop_rows  # completed, overturned, held; the new determination's id
    assert laptop_rows["requests"][0][1:3] == ("completed", "overturned")
    assert audit.verify(doctor.store).ok and audit.verify(coordinator.store).ok and audit.verify(central.store).ok


def test_a_slot_booked_offline_that_was_taken_centrally_is_a_conflict_for_the_coordinator(central, laptops):
    central.user("coord.sync-p2p", role="um-coordinator", team=None)
    mine, theirs = denied(central), denied(central)
    coordinator = laptops("coord.jones")
    coordinator.sync()
    slot = free_slots(coordinator.store, "dr.morales")[0]
    coordinator.act(p2p.book_call, mine, slot_id=slot, requester_phone=PHONE)  # offline
    central.act(p2p.book_call, theirs, "coord.sync-p2p", slot_id=slot, requester_phone=PHONE)  # meanwhile
    report = coordinator.sync()  # no error: the change is answered, as a conflict
    assert (report.applied, report.conflicts) == (0, 1)
    with central.store.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == mine)).one()
        assert (conflict.intent, conflict.kind, conflict.actor) == ("p2p-book", "refused", "coord.jones")
        assert "already booked" in conflict.reason and conflict.payload["slot_id"] == slot  # kept, not lost
        taken = session.scalar(select(func.count()).select_from(P2PBooking).where(P2PBooking.starts_at ==
                                                                                   p2p_rows(central.store, theirs)
                                                                                   ["bookings"][0][2],
                                                                                   P2PBooking.status == "booked"))
        assert taken == 1  # never double-booked
    assert p2p_rows(central.store, mine) == {"requests": [], "bookings": []}  # nothing half-written centrally
    # the laptop holds the central store's copies: no call on its case, the other case's call in the slot
    assert p2p_rows(coordinator.store, mine) == {"requests": [], "bookings": []}
    assert p2p_rows(coordinator.store, theirs) == p2p_rows(central.store, theirs)
    status = coordinator.status()
    assert status["conflicts"] == 1 and status["pending"] == 0
    assert slot not in free_slots(coordinator.store, "dr.morales")
    assert audit.verify(coordinator.store).ok


def test_availability_is_edited_centrally_and_pulled_by_the_laptops(central, laptops):
    doctor = laptops("dr.morales")
    doctor.sync()
    day = datetime.now(PLAN_TZ).date() + timedelta(days=30)  # past the demo's four weeks
    with pytest.raises(ActionRefused, match="kept on the central store"):
        doctor.act(lambda session, _tar, username: p2p.add_availability(
            session, username, kind="one-off", first_day=day, start=time(7), end=time(8)), None)
    with doctor.store.session() as session:
        assert session.scalar(select(func.count()).select_from(SyncOutbox)) == 0  # nothing to go up
    with central.store.session() as session, session.begin():
        added = p2p.add_availability(session, "dr.morales", kind="one-off", first_day=day, start=time(7),
                                     end=time(8), slot_minutes=30).id
    doctor.sync()
    with doctor.store.session() as session:
        row = session.get(P2PAvailability, added)
        assert row is not None and (row.first_day, row.start_time, row.end_time) == (day, time(7), time(8))
        user = session.scalar(select(User).where(User.username == "dr.morales"))
        slots = p2p.reviewer_free_slots(session, [user], day, day)["dr.morales"]
        assert [s.start.astimezone(PLAN_TZ).time() for s in slots] == [time(7), time(7, 30)]
    with central.store.session() as session, session.begin():
        p2p.withdraw_availability(session, "dr.morales", added, reason="clinic moved")
    doctor.sync()
    with doctor.store.session() as session:
        assert session.get(P2PAvailability, added).withdrawn_reason == "clinic moved"

