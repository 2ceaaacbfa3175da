"""Two and three laptops working offline, then syncing in every order: one change stands, the others that cannot
stand with it are conflicts (never last-writer-wins), and every laptop ends with the central store's version."""
from __future__ import annotations

import itertools
from datetime import date

import pytest
from sqlalchemy import func, select

from app.services import cases as svc
from app.services.conflicts import resolve_conflict
from app.services.criteria import answer_criterion, choose_set
from app.store.models import CaseEvent, SyncConflict, SyncMutation


def projection(case) -> tuple:
    return (case.version, case.status, case.assignee.username if case.assignee else None, case.outcome,
            case.decided_at)


def events_of(store, tar: str) -> list[str]:
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        rows = session.execute(select(CaseEvent.id, CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    return sorted((str(i), k) for i, k in rows)


def visible_to(username: str, case, central) -> bool:
    """Whether the case belongs on the user's laptop: in the queues the user's role sees (the server's scope), or
    with an open conflict of theirs."""
    from app.server.accounts import Caller
    from app.server.pull import scope_condition
    from app.store.models import Case, SyncDevice, User

    with central.store.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        caller = Caller(user, SyncDevice(name="check", registered_by=username))
        return session.scalar(select(func.count()).select_from(Case)
                              .where(Case.id == case.id, scope_condition(caller))) == 1


def converged(central, laptops, tar: str) -> None:
    """After a final sync every laptop holds the central store's copy of the case, or none when it left the
    user's queues."""
    truth = central.case(tar)
    for laptop in laptops:
        laptop.sync()
        here = laptop.case(tar)
        if not visible_to(laptop.username, truth, central):
            assert here is None, laptop.username
            continue
        assert projection(here) == projection(truth), laptop.username
        assert events_of(laptop.store, tar) == events_of(central.store, tar), laptop.username


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_three_offline_laptops_sync_in_every_order(central, laptops, order):
    central.user("nurse.sync2")
    tar = central.new_case(category="outpatient")
    team = [laptops("nurse.nguyen"), laptops("nurse.sync2"), laptops("lead.patel")]
    for laptop in team:
        laptop.sync()
    # all three offline: two nurses claim, the supervisor assigns it to the second nurse
    team[0].act(svc.claim_case, tar)
    team[1].act(svc.claim_case, tar)
    team[2].act(svc.assign_case, tar, assignee_username="nurse.sync2", note="covering")
    outcomes = {}
    for index in order:
        report = team[index].sync()
        outcomes[index] = "applied" if report.applied else "conflict" if report.conflicts else "?"
    first = order[0]
    assert outcomes[first] == "applied"
    # the supervisor's assignment after a nurse's claim is a conflict too (it would overwrite the claim silently)
    assert sorted(outcomes.values()) == ["applied", "conflict", "conflict"]
    with central.store.session() as session:
        conflicts = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).all()
        assert len(conflicts) == 2 and all(c.kind == "concurrent" for c in conflicts)
        assert all(c.theirs["case"]["assignee"] and c.mine["payload"] is not None for c in conflicts)
        assert session.scalar(select(func.count()).select_from(SyncMutation).where(SyncMutation.tar == tar)) == 3
    holder = {0: "nurse.nguyen", 1: "nurse.sync2", 2: "nurse.sync2"}[first]
    assert central.case(tar).assignee.username == holder
    converged(central, team, tar)
    # the loser sees the conflict on its own laptop
    loser = team[[i for i in order if i != first][0]]
    with loser.store.session() as session:
        assert session.scalar(select(func.count()).select_from(SyncConflict).where(SyncConflict.tar == tar)) >= 1
    assert loser.status()["conflicts"] >= 1


@pytest.mark.parametrize("first", [0, 1])
def test_two_determinations_are_a_conflict_and_a_supervisor_keeps_both(central, laptops, first):
    tar = central.new_case(category="outpatient")
    central.act(svc.claim_case, tar, "lead.patel")
    central.act(svc.refer_case, tar, "lead.patel", to="physician", summary="needs a physician")
    doctors = [laptops("dr.shah"), laptops("dr.morales")]
    for laptop in doctors:
        laptop.sync()
        assert laptop.case(tar).status == "referred"
    for laptop in doctors:
        laptop.act(svc.decide_case, tar, outcome="deny", rationale=f"{laptop.username}: not necessary",
                   member_reason="The service is not needed for your condition now.")
    second = 1 - first
    assert doctors[first].sync().applied == 1
    report = doctors[second].sync()
    assert report.conflicts == 1
    with central.store.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one()
        assert conflict.intent == "decide" and conflict.actor == doctors[second].username
        assert conflict.theirs["case"]["outcome"] == "denied"
        conflict_id = str(conflict.id)
    # a nurse may not resolve someone else's conflict
    with pytest.raises(svc.ActionRefused, match="supervisor"):
        central.act(resolve_conflict, tar, "nurse.nguyen", conflict_id=conflict_id, resolution="keep-theirs")
    central.act(resolve_conflict, tar, "lead.patel", conflict_id=conflict_id, resolution="keep-both",
                note="both physicians agree; the later rationale is fuller")
    case = central.case(tar)
    assert case.outcome == "denied" and case.assignee.username == doctors[second].username
    with central.store.session() as session:
        kinds = [k for (k,) in session.execute(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)
                                                .order_by(CaseEvent.occurred_at))]
        assert kinds.count("determined") == 2 and "conflict-resolved" in kinds
        assert session.get(SyncConflict, conflict.id).resolution == "keep-both"
    converged(central, doctors, tar)
    assert doctors[second].status()["conflicts"] == 0


def test_answers_to_different_criteria_merge_and_to_the_same_one_conflict(central, laptops):
    tar = central.new_case(category="medication", lines=(("J1439", 1),), birth=date(1975, 3, 3))
    central.act(svc.claim_case, tar, "tech.rivera")
    central.act(choose_set, tar, "tech.rivera", set_id="med-ferric-carboxymaltose")
    tech = laptops("tech.rivera")
    tech.sync()
    tech.act(answer_criterion, tar, criterion_id="labs", answer="met", evidence="Ferritin 12 on 11/02")
    tech.act(answer_criterion, tar, criterion_id="course", answer="met", evidence="6 weeks")
    # meanwhile on the central store a supervisor answers another criterion, then the same as the second one
    central.act(answer_criterion, tar, "lead.patel", criterion_id="oral-unsuitable", answer="not-met",
                evidence="tolerates oral iron", override_reason="chart review")
    central.act(answer_criterion, tar, "lead.patel", criterion_id="course", answer="not-met", evidence="2 weeks")
    report = tech.sync()
    assert (report.merged, report.conflicts) == (1, 1)
    with central.store.session() as session:
        case = svc.case_by_tar(session, tar)
        answers = [e.payload for e in session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "criterion-answered"))
            if e.payload["source"] == "reviewer"]
        assert sorted(p["criterion_id"] for p in answers) == ["course", "labs", "oral-unsuitable"]
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one()
        assert conflict.intent == "answer-criterion" and conflict.payload["criterion_id"] == "course"
    converged(central, [tech], tar)


def test_a_stale_pend_merges_with_a_note_made_meanwhile(central, laptops):
    tar = central.new_case(category="outpatient")
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    nurse.sync()
    nurse.act(svc.pend_case, tar, missing=["PT notes"])
    central.act(svc.declare_involvement, tar, "dr.shah", note="treated the member in 2024")
    report = nurse.sync()
    assert report.merged == 1 and report.conflicts == 0
    assert central.case(tar).status == "pended"
    converged(central, [nurse], tar)
