"""Saving a request: pended for what it lacks, events with channel and who, clocks from receipt, duplicates."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.services import intake
from app.services.cases import ActionRefused, InvalidInput, decision_due
from app.store.models import Case, CaseEvent, CaseWorkflow, IntakeRecord, Member, Provider

NOW = datetime.now(timezone.utc)


def draft(**changes) -> IntakeDraft:
    made = IntakeDraft(
        channel="form", received_at=NOW - timedelta(hours=3),
        member=MemberPart(cin="97770001A", first_name="Rosa", last_name="Diaz", birth_date=date(1961, 4, 9), sex="F"),
        requesting=ProviderPart("1234567893", "Chidi Okoro, MD"), place_of_service="11",
        lines=[LinePart("97110", "Therapeutic exercise", 12, date(2026, 11, 23), date(2026, 12, 31))],
        diagnoses=[DiagnosisPart("m5450", "Low back pain")], clinical_note="8 weeks of pain")
    for key, value in changes.items():
        setattr(made, key, value)
    return made


def save(store, request: IntakeDraft, user: str = "coord.jones", **kwargs):
    with store.session() as session, session.begin():
        return intake.save_request(session, request, user, **kwargs)


def events(store, tar: str) -> list[tuple[str, str | None, dict]]:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        rows = session.execute(select(CaseEvent.kind, CaseEvent.actor_id, CaseEvent.payload)
                               .where(CaseEvent.case_id == case.id).order_by(CaseEvent.occurred_at)).all()
        return [(kind, actor, payload) for kind, actor, payload in rows]


def test_a_complete_request_is_received_with_its_clock_in_its_team_queue(intake_store):
    saved = save(intake_store, draft())
    assert saved.created and saved.status == "received" and saved.missing == []
    with intake_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == saved.tar))
        assert case.team == "outpatient" and case.assignee is None
        assert case.received_at == draft().received_at  # the clocks run from the receipt, not from the save
        assert case.decision_due_at == decision_due("medi-cal", "pre-service", "routine", "outpatient",
                                                    case.received_at)
        assert [d.code for d in case.diagnoses] == ["M54.50"]
        record = session.get(IntakeRecord, case.id)
        assert record.channel == "form" and record.received_by == "coord.jones"
    kinds = [kind for kind, _, _ in events(intake_store, saved.tar)]
    assert kinds == ["received", "intake-assessed"]
    received = events(intake_store, saved.tar)[0]
    assert received[2]["channel"] == "form" and received[1] is not None  # who: the coordinator


def test_missing_items_pend_the_case_and_are_listed(intake_store):
    saved = save(intake_store, draft(member=MemberPart(cin="97770002A", first_name="Tom", last_name="Reyes"),
                                     diagnoses=[], requesting=ProviderPart("1234567890", "Dr Who")))
    assert saved.status == "pended"
    assert "member's birth date" in saved.missing and "diagnosis (ICD-10-CM code)" in saved.missing
    assert any("check digit" in item for item in saved.missing)
    pend = [payload for kind, _, payload in events(intake_store, saved.tar) if kind == "pended"][0]
    assert pend["missing"] == saved.missing and pend["requester_asked"] is True
    with intake_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == saved.tar))
        assert case.assignee is None  # stays in the team's queue
        assert session.get(CaseWorkflow, case.id).pended_from == "in-review"
        # the clock is not stopped by the pend
        assert case.decision_due_at == decision_due("medi-cal", "pre-service", "routine", "outpatient",
                                                    case.received_at)


def test_who_may_enter_requests(intake_store):
    with pytest.raises(ActionRefused, match="does not enter requests"):
        save(intake_store, draft(), "auditor.brown")
    with pytest.raises(ActionRefused, match="medication TARs only"):
        save(intake_store, draft(), "tech.rivera")
    assert save(intake_store, draft(service_category="medication", lines=[LinePart("J1745", "Infliximab", 10)]),
                "tech.rivera").created
    assert save(intake_store, draft(member=MemberPart(cin="97770009A", first_name="A", last_name="B",
                                                      birth_date=date(1990, 1, 1))), "nurse.nguyen").created


def test_bad_input_writes_nothing(intake_store):
    with intake_store.session() as session:
        before = session.scalar(select(func.count()).select_from(CaseEvent))
    for bad in (draft(received_at=NOW + timedelta(hours=2)), draft(received_at=datetime(2026, 11, 20, 9)),
                draft(urgency="soon"), draft(requesting=ProviderPart("", ""))):
        with pytest.raises(InvalidInput):
            save(intake_store, bad)
    with intake_store.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == before


def test_members_and_providers_are_found_or_made(intake_store):
    first = save(intake_store, draft(member=MemberPart(plan_member_id="PLN-1", first_name="Ivy", last_name="Ng",
                                                       birth_date=date(1999, 9, 9))))
    second = save(intake_store, draft(member=MemberPart(plan_member_id="PLN-1", first_name="Ivy", last_name="Ng",
                                                        birth_date=date(1999, 9, 9)),
                                      lines=[LinePart("E0130", "Walker", 1)]))
    with intake_store.session() as session:
        cases = session.scalars(select(Case).where(Case.tar.in_([first.tar, second.tar]))).all()
        assert len({c.member_id for c in cases}) == 1
        member = session.get(Member, cases[0].member_id)
        assert member.cin is None and member.plan_member_id == "PLN-1"
        assert session.scalar(select(func.count()).select_from(Provider).where(Provider.npi == "1234567893")) == 1


# ----- duplicates -----------------------------------------------------------------------------------------------
def test_an_overlapping_open_case_is_shown_and_the_user_decides(intake_store):
    original = save(intake_store, draft())
    overlapping = draft(lines=[LinePart("97110", "Therapeutic exercise", 6, date(2026, 12, 15), date(2027, 1, 15))])
    with pytest.raises(intake.DuplicatesFound) as caught:
        save(intake_store, overlapping)
    assert [c.tar for c in caught.value.candidates] == [original.tar]
    assert "97110 overlaps its line 97110 11/23/2026–12/31/2026" in caught.value.candidates[0].describe()
    later = draft(lines=[LinePart("97110", "Therapeutic exercise", 6, date(2027, 1, 5), date(2027, 2, 5))])
    assert save(intake_store, later).created  # no overlap: no question
    other_code = draft(lines=[LinePart("97140", "Manual therapy", 6, date(2026, 12, 1), date(2026, 12, 20))])
    assert save(intake_store, other_code).created


def test_confirm_link_and_merge(intake_store):
    original = save(intake_store, draft())
    confirmed = save(intake_store, draft(), resolution="new")
    assert confirmed.created and confirmed.tar != original.tar
    assessed = [p for k, _, p in events(intake_store, confirmed.tar) if k == "intake-assessed"][0]
    assert assessed["resolution"] == "new" and original.tar in assessed["possible_duplicates"]
    linked = save(intake_store, draft(), resolution="link", target=original.tar)
    assert linked.linked_to == original.tar
    assert ("intake-linked", linked.tar) in [(k, p.get("tar")) for k, _, p in events(intake_store, original.tar)]
    merged = save(intake_store, draft(clinical_note="Progress note attached"), resolution="merge", target=original.tar)
    assert not merged.created and merged.tar == original.tar
    kinds = [k for k, _, _ in events(intake_store, original.tar)]
    assert kinds.count("intake-merged") == 1
    with intake_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == original.tar))
        assert any(note.text == "Progress note attached" for note in case.notes)
    with pytest.raises(InvalidInput, match="another member"):
        save(intake_store, draft(member=MemberPart(cin="97770005A", first_name="X", last_name="Y",
                                                   birth_date=date(1980, 1, 1))),
             resolution="merge", target=original.tar)


def test_flags_are_recorded_on_the_case(intake_store):
    saved = save(intake_store, draft(member=MemberPart(cin="97770006A", first_name="Z", last_name="Q",
                                                       birth_date=date(1970, 1, 1)),
                                     lines=[LinePart("H0036", "Community psychiatric support", 4)]))
    assert saved.flags == ["no-auth-required", "redirect:county-smh"]  # off the plan's list, and carved out
    with intake_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == saved.tar))
        record = session.get(IntakeRecord, case.id)
        assert record.flags == "no-auth-required redirect:county-smh"
        assert record.assessment["redirections"][0]["redirect_to"].startswith("the county mental health plan")


def test_tar_numbers_are_new_and_of_this_device(intake_store):
    with intake_store.session() as session, session.begin():
        tars = intake.next_tars(session, 3)
    assert len(set(tars)) == 3 and all(len(t) == 11 and t.startswith("2") for t in tars)
    saved = save(intake_store, draft())
    with intake_store.session() as session, session.begin():
        assert intake.next_tars(session)[0] > saved.tar
