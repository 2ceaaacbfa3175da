"""Stays and sync, against a real PostgreSQL and a real server process: a stay admitted centrally comes down to the
nurse's laptop with its ledger and its facility; a concurrent review done offline goes up and the central ledger
shows the approved days under the laptop's determination; a discharge offline goes up with its discharge need's
request under the laptop's number; an admission taken offline is the same case and stay centrally; a review made on
a stay reviewed centrally meanwhile is a conflict, never applied over the central review; a transfer whose new stay's
number is taken centrally continues under a central number, never refused; every chain verifies."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from app.services import audit
from app.services.conflicts import resolve_conflict
from app.services import stays as svc
from app.store.models import (
    AuditRecord, Case, CaseEvent, Member, Provider, Stay, StayDay, StayMonth, SyncConflict, SyncOutbox,
)
from tests.stays.conftest import PT, StayMaker, plan_today

NURSE = "nurse.garcia"  # the inpatient team


def admitted_centrally(central, *, days: int = 3) -> str:
    """An acute stay admitted two days ago (3 days requested), unassigned in the inpatient queue."""
    admitted = datetime.combine(plan_today() - timedelta(days=2), datetime.min.time(), tzinfo=PT).replace(hour=9)
    return StayMaker(central.store).admit(admitted=admitted, days=days, by=NURSE).case.tar


def ledger(store, tar: str) -> dict:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        stay = session.scalar(select(Stay).where(Stay.case_id == case.id))
        days = session.scalars(select(StayDay).where(StayDay.stay_id == stay.id).order_by(StayDay.day)).all()
        months = session.scalars(select(StayMonth).where(StayMonth.stay_id == stay.id).order_by(StayMonth.month))
        return {"months": [(row.month, row.bed_days, row.snf_days, row.denied_days) for row in months],
                "case_id": case.id, "stay_id": stay.id, "status": stay.status, "disposition": stay.disposition,
                "next_review": stay.next_review_date, "approved_through": stay.approved_through,
                "facility": stay.facility_id, "attending": stay.attending_physician_id,
                "days": [(row.id, row.day, row.status, row.determination_id) for row in days]}


def events_of(store, tar: str) -> list[tuple[str, str]]:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        return sorted((str(i), k) for i, k in session.execute(
            select(CaseEvent.id, CaseEvent.kind).where(CaseEvent.case_id == case.id)))


def review(laptop_or_central, tar: str, username: str | None = None, **kwargs):
    arguments = dict(clinical_update="Afebrile on IV antibiotics, still on oxygen",
                     approve_through=plan_today() - timedelta(days=1), next_review=plan_today() + timedelta(days=1),
                     criteria_result="criteria-met")
    arguments.update(kwargs)
    if username is None:
        return laptop_or_central.act(svc.review_stay, tar, **arguments)
    return laptop_or_central.act(svc.review_stay, tar, username, **arguments)


def reviewed_offline(central, laptops):
    """A stay admitted centrally, pulled by the nurse's laptop and reviewed there (days approved through today):
    (the laptop, the stay's TAR)."""
    tar = admitted_centrally(central)
    nurse = laptops(NURSE)
    nurse.sync()
    review(nurse, tar, approve_through=plan_today())
    return nurse, tar


def transferred_offline(central, laptops):
    """A stay admitted centrally, reviewed on the nurse's laptop, then transferred there offline: (the laptop, the
    old stay's TAR, its ledger before, the transfer's result)."""
    nurse, tar = reviewed_offline(central, laptops)
    first = ledger(nurse.store, tar)
    moved = nurse.act(svc.transfer_stay, tar, transferred_at=datetime.now(timezone.utc) - timedelta(minutes=20),
                      to_facility_id=first["attending"], requested_days=2, note="needs cardiac surgery")
    return nurse, tar, first, moved


def test_a_stay_admitted_centrally_comes_down_with_its_ledger_and_facility(central, laptops):
    tar = admitted_centrally(central)
    nurse = laptops(NURSE)
    nurse.sync()
    here, there = ledger(nurse.store, tar), ledger(central.store, tar)
    assert here == there  # the same stay, the same ledger rows under the same ids
    assert here["months"]  # and the ledger counted by month (the committee's figures), as the server counted it
    assert [status for _, _, status, _ in here["days"]] == ["requested"] * 3
    with nurse.store.session() as session:  # the facility and the attending came down before the stay
        assert session.get(Provider, here["facility"]) is not None
        assert session.get(Provider, here["attending"]) is not None
    assert audit.verify(nurse.store).ok


def test_a_review_done_offline_goes_up_with_the_laptops_determination(central, laptops):
    tar = admitted_centrally(central)
    nurse = laptops(NURSE)
    nurse.sync()
    review(nurse, tar)  # offline
    offline = ledger(nurse.store, tar)
    assert [status for _, _, status, _ in offline["days"]] == ["approved", "approved", "requested"]
    assert nurse.status()["pending"] == 1
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (1, 0)
    held = ledger(central.store, tar)
    # the central ledger shows the approved days, decided by the determination the laptop recorded (same ids)
    assert held == offline
    determination = held["days"][0][3]
    with central.store.session() as session:
        event = session.get(CaseEvent, determination)
        assert event.kind == "stay-determined" and event.payload["decided_by"]["username"] == NURSE
        assert event.payload["approved"]["count"] == 2
        case = session.get(Case, held["case_id"])
        assert case.status == "in-review" and case.assignee.username == NURSE
    assert events_of(nurse.store, tar) == events_of(central.store, tar)
    assert ledger(nurse.store, tar) == held  # after the pull the laptop holds the central copy: the same
    assert nurse.status()["pending"] == 0
    assert audit.verify(nurse.store).ok and audit.verify(central.store).ok


def test_a_discharge_offline_goes_up_with_its_discharge_need(central, laptops):
    nurse, tar = reviewed_offline(central, laptops)
    out = datetime.now(timezone.utc) - timedelta(minutes=30)
    discharged = nurse.act(svc.discharge_stay, tar, discharged_at=out, disposition="home-health",
                           needs=["home-health"], note="Wound care visits three times a week")
    ((_, need_tar),) = discharged.new_requests
    need_id = nurse.case(need_tar).id
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (2, 0)
    held = ledger(central.store, tar)
    assert held["status"] == "discharged" and held["disposition"] == "home-health"
    assert central.case(tar).status == "determined" and central.case(tar).outcome == "approved"
    # the discharge need's request is the laptop's: the same case id under the same (laptop block) number
    made = central.case(need_tar)
    assert made is not None and made.id == need_id and made.review_timing == "pre-service"
    assert events_of(nurse.store, tar) == events_of(central.store, tar)
    assert audit.verify(nurse.store).ok and audit.verify(central.store).ok


def test_a_discharge_needs_number_taken_centrally_is_answered_with_both_numbers(central, laptops):
    """A discharge need's request numbered by the laptop with a number another request holds centrally is given the
    next central number (as an offline admission or transfer is); the answer names both numbers, so the nurse reads
    at the sync, not only after it, that the request she made offline has another number."""
    nurse, tar = reviewed_offline(central, laptops)
    out = datetime.now(timezone.utc) - timedelta(minutes=30)
    discharged = nurse.act(svc.discharge_stay, tar, discharged_at=out, disposition="home-health",
                           needs=["home-health", "dme"], note="Visits and a hospital bed")
    (_, home_health), (_, bed) = discharged.new_requests
    bed_id, home_health_id = nurse.case(bed).id, nurse.case(home_health).id
    central.new_case(tar=bed)  # the bed's number is taken centrally meanwhile
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (2, 0)
    with nurse.store.session() as session:
        message = session.scalar(select(SyncOutbox.message).where(SyncOutbox.intent == "stay-discharge"))
    renumbered = central.case_by_id(bed_id)
    assert renumbered.tar != bed and renumbered.tar.startswith("20000")
    assert message == (f"TAR {bed} was already used on the central store for another request: the DME request is "
                       f"TAR {renumbered.tar} now. This laptop shows the new number after the sync.")
    assert central.case(home_health).id == home_health_id  # a free number is kept
    assert audit.verify(nurse.store).ok and audit.verify(central.store).ok


def test_an_admission_taken_offline_is_the_same_case_and_stay_centrally(central, laptops):
    nurse = laptops(NURSE)
    nurse.sync()  # the providers come down with the team's cases
    admitted = datetime.now(timezone.utc) - timedelta(hours=5)
    with nurse.store.session() as session, session.begin():
        member = Member(id=uuid.uuid4(), cin=f"9{uuid.uuid4().int % 10**7:07d}S", first_name="Offline",
                        last_name="Admission", birth_date=date(1961, 4, 9), sex="F", language="en")
        session.add(member)
        facility = session.scalars(select(Provider).order_by(Provider.npi).limit(1)).one()
        tar = svc.next_tar(session)
        svc.admit_stay(session, svc.NewStay(
            tar=tar, line_of_business="medi-cal", member=member, facility_id=facility.id, admitted_at=admitted,
            notified_at=admitted + timedelta(hours=1), level_of_care="acute", requested_days=2,
            diagnoses=[("I50.9", "Heart failure, unspecified")]), NURSE)
    assert tar.startswith("2")  # the laptop's own block of numbers: never another laptop's
    offline = ledger(nurse.store, tar)
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (1, 0)
    assert ledger(central.store, tar) == offline  # same case, same stay, same ledger rows
    assert events_of(nurse.store, tar) == events_of(central.store, tar)
    assert audit.verify(nurse.store).ok and audit.verify(central.store).ok


def test_a_review_on_a_stay_reviewed_centrally_meanwhile_is_a_conflict(central, laptops):
    tar = admitted_centrally(central)
    nurse = laptops(NURSE)
    nurse.sync()
    review(nurse, tar, approve_through=plan_today())  # offline: three days
    # meanwhile, at the office, the stay is reviewed on the central store: one day, next review today
    review(central, tar, NURSE, approve_through=plan_today() - timedelta(days=2), next_review=plan_today())
    central_after = ledger(central.store, tar)
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (0, 1)
    # never applied over the central review: the central ledger is as the central review left it
    assert ledger(central.store, tar) == central_after
    assert [status for _, _, status, _ in central_after["days"]] == ["approved", "requested", "requested"]
    with central.store.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one()
        assert (conflict.intent, conflict.kind, conflict.actor) == ("stay-review", "concurrent", NURSE)
        assert conflict.payload["approve_through"] == {"$date": plan_today().isoformat()}
        assert any(event["kind"] == "stay-determined" for event in conflict.theirs["since"])
        assert "decided days of the stay" in conflict.reason  # in the reviewer's words
    # the laptop holds the central copy of the stay (its own review went with the conflict), and the conflict
    assert ledger(nurse.store, tar) == central_after
    assert nurse.status()["conflicts"] == 1
    # she keeps her review (done now, on the stay as it is: the same rules), on her laptop; it goes up
    nurse.act(resolve_conflict, tar, conflict_id=str(conflict.id), resolution="keep-mine",
              note="the facility confirmed three days")
    report = nurse.sync()
    assert report.conflicts == 0 and report.applied + report.merged == 1
    resolved = ledger(central.store, tar)
    assert [status for _, _, status, _ in resolved["days"]] == ["approved"] * 3
    assert ledger(nurse.store, tar) == resolved and nurse.status()["conflicts"] == 0
    assert audit.verify(nurse.store).ok and audit.verify(central.store).ok


def test_an_expected_discharge_offline_commutes_with_a_review_centrally(central, laptops):
    """Setting the expected discharge touches neither the workflow nor the ledger: it stands over a central
    review (and a review stands over it); two expected discharges set on two sides would be a conflict."""
    tar = admitted_centrally(central)
    nurse = laptops(NURSE)
    nurse.sync()
    expected = plan_today() + timedelta(days=4)
    nurse.act(svc.set_expected_discharge, tar, expected=expected)
    review(central, tar, NURSE)
    report = nurse.sync()
    assert (report.merged, report.conflicts) == (1, 0)
    with central.store.session() as session:
        stay = session.scalar(select(Stay).join(Case, Case.id == Stay.case_id).where(Case.tar == tar))
        assert stay.expected_discharge_date == expected and stay.approved_through == plan_today() - timedelta(days=1)
    assert ledger(nurse.store, tar) == ledger(central.store, tar)


def test_a_transfer_offline_continues_the_stay_centrally_under_the_laptops_number(central, laptops):
    nurse, tar, first, moved = transferred_offline(central, laptops)
    new_tar = moved.case.tar
    assert new_tar.startswith("2")
    continued = ledger(nurse.store, new_tar)
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (2, 0)
    assert ledger(central.store, tar)["status"] == "discharged"
    assert ledger(central.store, new_tar) == continued  # the same case, stay and ledger under the same number
    with central.store.session() as session:
        stay = session.get(Stay, continued["stay_id"])
        assert stay.transferred_from_id == first["stay_id"] and stay.admission_source == "transfer"
    assert audit.verify(nurse.store).ok and audit.verify(central.store).ok



def test_a_transfer_whose_number_is_taken_centrally_continues_under_a_central_number(central, laptops):
    """The laptop's number for the new stay is another request's on the central store (a laptop restored from
    another's image): the transfer is not refused; its new stay's case is given the next central number, the answer
    names both, the laptop shows the new one after the pull (a `case-synced` record), and what the nurse did on the
    new stay offline follows the case by its id, never the other request that holds the old number."""
    nurse, tar, first, moved = transferred_offline(central, laptops)
    laptops_tar, new_id = moved.case.tar, moved.case.id
    expected = plan_today() + timedelta(days=5)
    nurse.act(svc.set_expected_discharge, laptops_tar, expected=expected)  # and she goes on working on the new stay
    other = central.new_case(tar=laptops_tar)  # meanwhile the number is taken centrally by another request
    other_before = events_of(central.store, other)
    report = nurse.sync()
    assert (report.applied, report.conflicts) == (3, 0)  # nothing refused for a number
    with nurse.store.session() as session:
        message = session.scalar(select(SyncOutbox.message).where(SyncOutbox.intent == "stay-transfer"))
    assert f"TAR {laptops_tar} was already used" in message
    continued = central.case_by_id(new_id)
    assert continued.tar != laptops_tar and continued.tar.startswith("20000")  # the central store's own block
    assert central.case(laptops_tar).id != new_id and events_of(central.store, laptops_tar) == other_before
    held = ledger(central.store, continued.tar)
    assert held["case_id"] == new_id and held["status"] == "open"
    with central.store.session() as session:
        stay = session.get(Stay, held["stay_id"])
        assert stay.transferred_from_id == first["stay_id"] and stay.expected_discharge_date == expected
        moved_out = session.scalars(select(CaseEvent).where(CaseEvent.case_id == first["case_id"],
                                                            CaseEvent.kind == "stay-transferred")).one()
        assert moved_out.payload["to_tar"] == continued.tar  # the old stay names the new one by its central number
    # the laptop shows the central number now, on the same case, and says so in its audit trail
    here, old_number = nurse.case(continued.tar), nurse.case(laptops_tar)
    assert here is not None and here.id == new_id
    assert old_number is None or old_number.id == central.case(laptops_tar).id  # the other request, if in her queues
    assert ledger(nurse.store, continued.tar) == held
    with nurse.store.session() as session:
        synced = [json.loads(body) for body in session.scalars(select(AuditRecord.body).where(
            AuditRecord.case_id == new_id, AuditRecord.what == "case-synced"))]
    assert {"before": laptops_tar, "after": continued.tar} in [body.get("tar") for body in synced]
    assert nurse.status()["pending"] == 0 and nurse.status()["conflicts"] == 0
    assert audit.verify(nurse.store).ok and audit.verify(central.store).ok


def test_a_directors_laptop_pulls_the_referred_stays_not_every_open_case(central, laptops):
    """The stay queues count in a laptop's scope as their open stays, whatever the hour (app.server.pull): a
    medical director's "Stays referred" is the referred stays, not (as when the stay queue was read as a case queue
    with no condition of its own) every open case of the plan."""
    referred, not_referred = admitted_centrally(central), admitted_centrally(central)
    outpatient = central.new_case()
    with central.store.session() as session, session.begin():
        svc.refer_stay(session, referred, NURSE, summary="days beyond criteria: physician review")
    doctor = laptops("dr.morales")
    doctor.sync()
    assert doctor.case(referred) is not None
    assert doctor.case(not_referred) is None and doctor.case(outpatient) is None
    nurse = laptops(NURSE)  # the inpatient team's open stays, held by her or by nobody
    nurse.sync()
    assert nurse.case(not_referred) is not None and nurse.case(outpatient) is None
