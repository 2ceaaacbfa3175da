"""The change log's horizon (`umws server prune-changes`, app.server.change_log) and what leaves a laptop with the
cases that leave it (app.sync.leftovers), against a real PostgreSQL and a real server process."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from app.cli import main
from app.services import cases as svc
from app.store.models import AuditRecord, Case, Member, SyncChange, SyncCounter


def _member_id(store, tar: str):
    with store.session() as session:
        return session.scalar(select(Case.member_id).where(Case.tar == tar))


def _has_member(laptop, member_id) -> bool:
    with laptop.store.session() as session:
        return session.get(Member, member_id) is not None


def _log(central) -> tuple[int, int]:
    with central.store.session() as session:
        return (session.scalar(select(func.count()).select_from(SyncChange)),
                session.scalar(select(SyncCounter.horizon)))


def test_a_laptop_behind_the_horizon_pulls_its_queues_again_and_one_ahead_of_it_is_unaffected(
        central, laptops, central_url, capsys):
    kept, leaving, waiting = central.new_case(), central.new_case(), central.new_case()
    behind = laptops("nurse.nguyen")  # outpatient team: the unassigned queue
    behind.sync()
    assert all(behind.case(tar) is not None for tar in (kept, leaving, waiting))
    # a supervisor's change on this laptop waits (a shared laptop): the case must stay as the laptop has it
    with behind.store.session() as session, session.begin():
        svc.assign_case(session, waiting, "lead.patel", "nurse.okafor", "covering")
    central.act(svc.claim_case, leaving, "nurse.garcia")  # out of nurse.nguyen's queues
    central.act(svc.claim_case, waiting, "nurse.garcia")
    arrived = central.new_case()
    ahead = laptops(central.user("nurse.ahead"))  # outpatient too
    ahead.sync()

    assert main(["server", "prune-changes", "--database-url", central_url, "--older-than", "0", "--as", "admin",
                 "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    count, horizon = _log(central)
    assert done["deleted"] > 0 and done["horizon"] == horizon == done["last_deleted"] + 1 and count == 0
    with central.store.session() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.what == "change-log-pruned")).one()
        assert record.actor == "admin" and f'"horizon":{horizon}' in record.body.replace(" ", "")

    later = central.new_case()
    report = ahead.sync()  # its cursor is at the horizon: the changes after it, as always
    assert not report.warnings and ahead.case(later) is not None and ahead.case(arrived) is not None

    report = behind.sync()
    assert any("change log was pruned" in words for words in report.warnings)
    assert behind.case(arrived) is not None and behind.case(later) is not None
    assert behind.case(leaving) is None  # left its queues while the changes saying so were pruned
    assert behind.case(kept).version == central.case(kept).version
    here = behind.case(waiting)  # the unsent change and its case, untouched
    assert here.assignee.username == "nurse.okafor" and behind.status()["pending"] == 1
    assert behind.status()["cursor"] >= horizon - 1
    assert not _has_member(behind, _member_id(central.store, leaving))  # left with its only case
    assert not behind.sync().warnings  # once: its cursor is past the horizon now


def test_members_leave_a_laptop_with_their_last_case_only(central, laptops):
    alone = central.new_case()
    shared = central.new_case()
    sibling = central.new_case(member_of=shared)
    waiting = central.new_case()
    laptop = laptops("nurse.nguyen")
    laptop.sync()
    with laptop.store.session() as session, session.begin():  # an unsent change (a shared laptop)
        svc.assign_case(session, waiting, "lead.patel", "nurse.okafor", "covering")
    for tar in (alone, shared, waiting):
        central.act(svc.claim_case, tar, "nurse.garcia")  # out of nurse.nguyen's queues: `gone` at the pull
    members = {tar: _member_id(central.store, tar) for tar in (alone, shared, waiting)}
    laptop.sync()
    assert laptop.case(alone) is None and laptop.case(shared) is None and laptop.case(sibling) is not None
    assert not _has_member(laptop, members[alone])
    assert _has_member(laptop, members[shared])  # still named by its other case
    assert laptop.case(waiting) is not None and _has_member(laptop, members[waiting])  # its case's change waits
    with laptop.store.session() as session:
        records = session.scalars(select(AuditRecord.body).where(AuditRecord.what == "parties-removed")).all()
    assert any(str(members[alone]) in body for body in records)
    assert not any(str(members[shared]) in body for body in records)
    with central.store.session() as session:  # on the central store they are the record
        assert session.get(Member, members[alone]) is not None


def test_prune_changes_refuses_bad_input_and_others_than_administrators(central, central_url, capsys):
    central.new_case()
    before = _log(central)
    assert main(["server", "prune-changes", "--database-url", central_url, "--older-than", "-1",
                 "--as", "admin"]) == 2
    assert "zero or more" in capsys.readouterr().err
    assert main(["server", "prune-changes", "--older-than", "90", "--as", "admin"]) == 2
    assert "--database-url" in capsys.readouterr().err
    assert main(["server", "prune-changes", "--database-url", central_url, "--older-than", "0",
                 "--as", "nurse.nguyen"]) == 3
    assert "Only an Administrator" in capsys.readouterr().err
    assert main(["server", "prune-changes", "--database-url", central_url, "--older-than", "-1",
                 "--as", "nurse.nguyen"]) == 3  # authority is checked before anything else about the request
    assert "Only an Administrator" in capsys.readouterr().err
    assert _log(central) == before
    assert main(["server", "prune-changes", "--database-url", central_url, "--older-than", "90", "--as", "admin",
                 "--json"]) == 0  # nothing that old: nothing deleted, the horizon as it was
    done = json.loads(capsys.readouterr().out)
    assert done["deleted"] == 0 and done["horizon"] == before[1] and _log(central) == before
