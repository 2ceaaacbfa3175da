"""Stay use cases through the services, on encrypted SQLite and PostgreSQL: the review cycle end to end, and every
refusal of the issue leaving nothing written."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.services import stays as svc
from app.services.cases import ActionRefused, InvalidInput, record_notification, close_case
from app.store.models import AuditRecord, Case, CaseEvent, ClinicalNote, Stay
from app.store.stays import load_stay
from tests.stays.conftest import PT, plan_today


def events(store, tar: str) -> list[CaseEvent]:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                    .order_by(CaseEvent.occurred_at)))


def view(store, tar: str):
    with store.session() as session:
        return load_stay(session, tar)


def act(store, call):
    with store.session() as session, session.begin():
        return call(session)


def test_review_cycle_end_to_end(stays, stay_store):
    today = plan_today()
    admitted = datetime.combine(today - timedelta(days=2), datetime.min.time(), tzinfo=PT).replace(hour=9)
    stay = stays.admit(admitted=admitted, days=3, level="acute")
    tar = stay.case.tar
    first = view(stay_store, tar)
    assert first.case_status == "received" and first.admit_date == today - timedelta(days=2)
    assert [d.status for d in first.ledger.days] == ["requested"] * 3
    assert first.review_due_at == first.admission_review_due
    with stay_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert case.review_timing == "concurrent" and case.decision_due_at == first.review_due_at

    # The nurse approves two days with a next review tomorrow.
    act(stay_store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="Afebrile, on IV antibiotics",
                                              approve_through=today - timedelta(days=1),
                                              next_review=today + timedelta(days=1), criteria_result="criteria-met"))
    second = view(stay_store, tar)
    assert [d.status for d in second.ledger.days] == ["approved", "approved", "requested"]
    assert second.approved_through == today - timedelta(days=1) and second.case_status == "in-review"
    assert second.assignee == "nurse.garcia"
    # The review due is the earliest of the next review date and the last approved day.
    assert second.review_due_at.astimezone(PT).date() == today - timedelta(days=1)
    review = [e for e in events(stay_store, tar) if e.kind == "stay-determined"][0]
    assert review.payload["outcome"] == "approved" and review.payload["approved"]["count"] == 2
    assert {d.determination_id for d in second.ledger.days[:2]} == {str(review.id)}
    with stay_store.session() as session:
        notes = session.scalars(select(ClinicalNote.text).join(Case).where(Case.tar == tar)).all()
        assert any("Afebrile" in text for text in notes)

    # The facility asks for two more days; the nurse refers them; a physician denies one and approves nothing else.
    act(stay_store, lambda s: svc.refer_stay(s, tar, "nurse.garcia", summary="Stable on oral antibiotics",
                                             requested_through=today + timedelta(days=1)))
    third = view(stay_store, tar)
    assert third.case_status == "referred"
    assert [d.status for d in third.ledger.days] == ["approved", "approved", "pending", "pending"]
    act(stay_store, lambda s: svc.deny_days(s, tar, "dr.shah", through=today + timedelta(days=1), first=today + timedelta(days=1),
                                            rationale="No acute need after today", member_reason="You can go home"))
    fourth = view(stay_store, tar)
    assert [d.status for d in fourth.ledger.days] == ["approved", "approved", "requested", "denied"]
    assert fourth.case_status == "in-review" and fourth.assignee == "nurse.garcia"  # back to the referring nurse
    assert fourth.care_plan_pending
    act(stay_store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="Ready tomorrow",
                                              approve_through=today, criteria_result="criteria-met"))
    act(stay_store, lambda s: svc.record_care_plan(
        s, tar, "nurse.garcia", provider_told_at=datetime.now(timezone.utc), told="Dr. Jones",
        care_plan="Home with oral antibiotics, follow-up in 7 days"))
    assert not view(stay_store, tar).care_plan_pending

    # Discharge at 11:00 today with two needs: new requests made and linked; the case is determined.
    out = datetime.now(timezone.utc) - timedelta(minutes=5)
    discharged = act(stay_store, lambda s: svc.discharge_stay(
        s, tar, "nurse.garcia", discharged_at=out, disposition="home-health", needs=["dme", "home-health"]))
    assert discharged.outcome == "partially-approved" and len(discharged.new_requests) == 2
    final = view(stay_store, tar)
    assert final.status == "discharged" and final.case_status == "determined"
    assert [d.status for d in final.ledger.days] == ["approved", "approved", "not-used", "denied"]
    assert final.ledger.bed_days() == 2 and final.ledger.last_bed_day == today - timedelta(days=1)
    assert {r["need"] for r in final.linked_requests} == {"dme", "home-health"}
    with stay_store.session() as session:
        made = {c.tar: c for c in session.scalars(select(Case).where(
            Case.tar.in_([t for _, t in discharged.new_requests])))}
        for need, new_tar in discharged.new_requests:
            new = made[new_tar]
            assert new.member_name == final.member and new.service_category == {"dme": "dme",
                                                                                "home-health": "home-health"}[need]
            assert [d.code for d in new.diagnoses] == ["J18.9"]
            assert tar in new.notes[0].text
            kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == new.id)).all()
            assert set(kinds) == {"received", "stay-discharge-need"}
        audited = set(session.scalars(select(AuditRecord.what).where(AuditRecord.tar == tar)))
    assert {"received", "stay-admitted", "stay-determined", "stay-days-requested", "referred", "stay-days-pending",
            "stay-care-plan-agreed", "stay-discharged"} <= audited
    # The determined case goes on through the case workflow: notices, then closing.
    act(stay_store, lambda s: record_notification(s, tar, "nurse.garcia", recipient="provider"))
    act(stay_store, lambda s: record_notification(s, tar, "nurse.garcia", recipient="member"))
    act(stay_store, lambda s: close_case(s, tar, "nurse.garcia"))


def _refused(store, stays_maker, tar, call, error, match):
    before = stays_maker.counts(tar)
    with pytest.raises(error, match=match):
        act(store, call)
    assert stays_maker.counts(tar) == before  # nothing half-written


def test_bad_input_and_refusals_write_nothing(local_stays, local_stay_store):
    store, today = local_stay_store, plan_today()
    stay = local_stays.admit(days=2, admitted=datetime.now(timezone.utc) - timedelta(days=1))
    tar, admit_day = stay.case.tar, stay.stay.admit_date
    review = dict(clinical_update="stable", criteria_result="criteria-met")
    _refused(store, local_stays, tar, lambda s: svc.review_stay(
        s, tar, "nurse.garcia", approve_through=admit_day + timedelta(days=5), **review),
        InvalidInput, "were not. Record the facility's request for more days first")
    _refused(store, local_stays, tar, lambda s: svc.review_stay(
        s, tar, "nurse.garcia", approve_through=admit_day - timedelta(days=1), **review),
        InvalidInput, "before the admission")
    _refused(store, local_stays, tar, lambda s: svc.review_stay(
        s, tar, "nurse.garcia", approve_through=admit_day, next_review=today - timedelta(days=1), **review),
        InvalidInput, "next review date .* is in the past")
    _refused(store, local_stays, tar, lambda s: svc.review_stay(
        s, tar, "nurse.garcia", approve_through=admit_day, clinical_update="stable"),
        ActionRefused, "approves only when the criteria are met")
    _refused(store, local_stays, tar, lambda s: svc.review_stay(
        s, tar, "nurse.garcia", approve_through=admit_day, clinical_update="stable", criteria_result="not-met"),
        ActionRefused, "criteria are not met: refer")
    _refused(store, local_stays, tar, lambda s: svc.deny_days(
        s, tar, "nurse.garcia", through=admit_day, rationale="x", member_reason="y"),
        ActionRefused, "Only a physician may deny")
    _refused(store, local_stays, tar, lambda s: svc.deny_days(
        s, tar, "dr.shah", through=admit_day, basis="late-notice", rationale="x", member_reason="y"),
        ActionRefused, "438.114\\(d\\)")
    _refused(store, local_stays, tar, lambda s: svc.discharge_stay(
        s, tar, "nurse.garcia", discharged_at=stay.stay.admitted_at - timedelta(hours=1), disposition="home"),
        InvalidInput, "before the admission")
    _refused(store, local_stays, tar, lambda s: svc.discharge_stay(
        s, tar, "nurse.garcia", discharged_at=datetime.now(timezone.utc), disposition="home"),
        ActionRefused, "still undecided")
    _refused(store, local_stays, tar, lambda s: svc.discharge_stay(
        s, tar, "nurse.garcia", discharged_at=datetime.now(timezone.utc), disposition="hotel"),
        InvalidInput, "disposition 'hotel'")
    _refused(store, local_stays, tar, lambda s: svc.review_stay(
        s, tar, "auditor.brown", approve_through=admit_day + timedelta(days=9), **review),
        ActionRefused, "An Auditor only reads")  # authority before the bad date
    _refused(store, local_stays, tar, lambda s: svc.change_level_of_care(
        s, tar, "nurse.garcia", level="administrative", effective=today, rationale="awaiting SNF bed",
        member_reason="You are waiting for a nursing home bed"), ActionRefused, "Only a physician may")
    # An overlapping stay of the same member at another facility.
    with store.session() as session:
        member = session.scalar(select(Stay.member_id).where(Stay.tar == tar))
    before = local_stays.counts(tar)
    with pytest.raises(ActionRefused, match="already has a stay at .* overlaps this admission"):
        local_stays.admit(member=member, facility=1, admitted=datetime.now(timezone.utc) - timedelta(hours=3))
    assert local_stays.counts(tar)[2:] == before[2:]


def test_late_notice_days_are_a_physicians_denial(local_stays, local_stay_store):
    now = datetime.now(timezone.utc)
    admitted = now - timedelta(days=6)
    stay = local_stays.admit(admitted=admitted, notified=now - timedelta(hours=1), kind="elective", days=7)
    assert stay.late.late and stay.stay.late_notice
    tar = stay.case.tar
    late_days = stay.late.deniable_days
    assert late_days[0] == stay.stay.admit_date
    with pytest.raises(InvalidInput, match="only the days before the plan was notified"):
        act(local_stay_store, lambda s: svc.deny_days(s, tar, "dr.shah", first=late_days[0],
                                                      through=late_days[-1] + timedelta(days=1), basis="late-notice",
                                                      rationale="Notified 5 business days late",
                                                      member_reason="The hospital told us late"))
    act(local_stay_store, lambda s: svc.deny_days(s, tar, "dr.shah", first=late_days[0], through=late_days[-1],
                                                  basis="late-notice", rationale="Notified late",
                                                  member_reason="The hospital told us late"))
    denied = [d for d in view(local_stay_store, tar).ledger.days if d.status == "denied"]
    assert [d.day for d in denied] == list(late_days)


def test_level_of_care_change_and_leave(local_stays, local_stay_store):
    today = plan_today()
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=3), days=6)
    tar = stay.case.tar
    act(local_stay_store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="x",
                                                    approve_through=today + timedelta(days=2),
                                                    criteria_result="criteria-met"))
    with pytest.raises(ActionRefused, match="held by nurse.garcia"):  # a physician takes it by referral
        act(local_stay_store, lambda s: svc.change_level_of_care(
            s, tar, "dr.shah", level="administrative", effective=today, rationale="x", member_reason="y"))
    act(local_stay_store, lambda s: svc.refer_stay(s, tar, "nurse.garcia", summary="Awaiting a SNF bed",
                                                   requested_through=today + timedelta(days=4)))
    with pytest.raises(InvalidInput, match="from today .* at the earliest"):
        act(local_stay_store, lambda s: svc.change_level_of_care(
            s, tar, "dr.shah", level="administrative", effective=today - timedelta(days=1), rationale="x",
            member_reason="y"))
    act(local_stay_store, lambda s: svc.change_level_of_care(
        s, tar, "dr.shah", level="administrative", effective=today + timedelta(days=1),
        rationale="Medically stable, awaiting SNF bed", member_reason="You are waiting for a nursing home bed"))
    changed = view(local_stay_store, tar)
    assert changed.level_of_care == "administrative" and changed.care_plan_pending
    assert changed.case_status == "in-review" and changed.assignee == "nurse.garcia"  # the referral answered
    assert changed.ledger.get(today + timedelta(days=4)).status == "requested"
    levels = {d.day: d.level_of_care for d in changed.ledger.days}
    assert levels[today] == "acute" and levels[today + timedelta(days=1)] == "administrative"
    assert changed.ledger.get(today + timedelta(days=1)).status == "approved"
    loc = [d for d in changed.determinations.values() if d.kind == "level-of-care"]
    assert changed.ledger.get(today + timedelta(days=1)).determination_id == loc[0].id
    act(local_stay_store, lambda s: svc.record_leave(s, tar, "nurse.garcia", first=today + timedelta(days=1),
                                                     last=today + timedelta(days=1), reason="home visit"))
    assert view(local_stay_store, tar).ledger.counts()["on_leave"] == 1


def test_readmission_is_flagged_at_29_and_30_days_not_31(local_stays, local_stay_store):
    now = datetime.now(timezone.utc)
    flags = {}
    for gap in (29, 30, 31):
        member = local_stays.member()
        first = local_stays.admit(member=member, admitted=now - timedelta(days=gap + 3), days=2)
        tar = first.case.tar
        act(local_stay_store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="x",
                                                        approve_through=first.stay.admit_date + timedelta(days=1),
                                                        criteria_result="criteria-met", at=now - timedelta(days=gap + 2)))
        out = datetime.combine(first.stay.admit_date + timedelta(days=2), datetime.min.time(), tzinfo=PT).replace(hour=10)
        act(local_stay_store, lambda s: svc.discharge_stay(s, tar, "nurse.garcia", discharged_at=out,
                                                           disposition="home"))
        again = local_stays.admit(member=member, admitted=out + timedelta(days=gap, hours=2))
        flags[gap] = (again.readmission_of, again.readmission_days)
        assert view(local_stay_store, again.case.tar).readmission_of == again.readmission_of
    assert flags[29][1] == 29 and flags[29][0] is not None
    assert flags[30][1] == 30 and flags[30][0] is not None
    assert flags[31] == (None, None)


def test_transfer_continues_the_stay_elsewhere(local_stays, local_stay_store):
    today = plan_today()
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=2), days=2)
    tar = stay.case.tar
    act(local_stay_store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="x",
                                                    approve_through=today - timedelta(days=1),
                                                    criteria_result="criteria-met"))
    providers = local_stays.providers()
    moved = act(local_stay_store, lambda s: svc.transfer_stay(
        s, tar, "nurse.garcia", transferred_at=datetime.now(timezone.utc) - timedelta(minutes=1),
        to_facility_id=providers[3].id, level_of_care="snf"))
    old, new = view(local_stay_store, tar), view(local_stay_store, moved.case.tar)
    assert old.status == "discharged" and old.disposition == "snf"
    assert new.transferred_from == tar and new.admission_source == "transfer" and new.readmission_of is None
    assert new.level_of_care == "snf" and not new.late.late
    assert {"need": "transfer", "tar": moved.case.tar} in old.linked_requests


def test_the_audit_trail_verifies_after_a_stay_and_sees_its_decision_date_changed(local_stays, local_stay_store):
    from sqlalchemy import text as sql

    from app.services.audit import verify_connection

    today = plan_today()
    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=1), days=2)
    tar = stay.case.tar
    act(local_stay_store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="x",
                                                    approve_through=today, criteria_result="criteria-met"))
    act(local_stay_store, lambda s: svc.discharge_stay(s, tar, "nurse.garcia", disposition="home",
                                                       discharged_at=datetime.now(timezone.utc)))
    with local_stay_store.engine.connect() as connection:
        report = verify_connection(connection)
    assert report.ok, report
    with local_stay_store.engine.begin() as connection:
        connection.execute(sql("UPDATE cases SET decided_at = '2020-01-01 00:00:00.000000' WHERE tar = :tar"),
                           {"tar": tar})
    with local_stay_store.engine.connect() as connection:
        report = verify_connection(connection)
    assert not report.ok and any("decision date" in p.message for p in report.case_problems)


def test_stay_events_read_as_sentences_on_the_timeline(local_stays, local_stay_store):
    from app.store.case_details import load_case

    stay = local_stays.admit(admitted=datetime.now(timezone.utc) - timedelta(days=1), days=2)
    tar = stay.case.tar
    act(local_stay_store, lambda s: svc.review_stay(s, tar, "nurse.garcia", clinical_update="x",
                                                    approve_through=plan_today(), criteria_result="criteria-met"))
    with local_stay_store.session() as session:
        details = load_case(session, tar, full=True)
    texts = [what for _, _, what in details.timeline]
    assert any(t.startswith("Admission recorded: Acute at ") for t in texts)
    assert any(t.startswith("Days approved: ") and "(2 days); next review" in t for t in texts)
    assert "the stay's next review" in details.due_rule


def test_an_open_stay_is_not_determined_as_a_whole(local_stays, local_stay_store):
    from app.services.cases import decide_case, withdraw_case

    stay = local_stays.admit(days=2)
    tar = stay.case.tar
    before = local_stays.counts(tar)
    with pytest.raises(ActionRefused, match="is an open stay: its days are decided by the stay's reviews"):
        act(local_stay_store, lambda s: decide_case(s, tar, "dr.shah", outcome="deny", rationale="x",
                                                    member_reason="y"))
    with pytest.raises(ActionRefused, match="is an open stay"):
        act(local_stay_store, lambda s: withdraw_case(s, tar, "nurse.garcia", note="facility called"))
    assert local_stays.counts(tar) == before
