"""Each fault of the issue, injected deterministically against the real server process: every change ends applied
exactly once or listed as a conflict, with a clear message where a person must act."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text, update

from app.server.accounts import revoke_device
from app.services import audit, cases as svc
from app.services.intents import new_mutation_id
from app.store.models import (AuditRecord, CaseEvent, SyncConflict, SyncDevice, SyncMutation, SyncOutbox,
                              SyncToken)
from app.sync import api as sync_api
from app.sync.api import Api, DeviceRevoked, Offline, ServerRefused, SignInNeeded, VersionMismatch
from app.sync.client import _mutation_json


def mutations_of(central, tar: str) -> list[str]:
    with central.store.session() as session:
        return [o for (o,) in session.execute(select(SyncMutation.outcome).where(SyncMutation.tar == tar)
                                              .order_by(SyncMutation.seq))]


def kinds_of(central, tar: str) -> list[str]:
    with central.store.session() as session:
        case = svc.case_by_tar(session, tar)
        return sorted(k for (k,) in session.execute(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))


def test_an_answer_lost_after_the_server_committed_is_not_applied_twice(central, laptops, network):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    nurse.act(svc.pend_case, tar, missing=["the PT plan of care"])
    network.fail("/v1/push", "answer-lost")
    with pytest.raises(Offline, match="cannot be reached"):
        nurse.sync(transport=network)
    assert nurse.status()["pending"] == 2  # the laptop never heard the answer
    assert mutations_of(central, tar) == ["applied", "applied"]  # the server did commit
    report = nurse.sync(transport=network)
    assert report.pushed == 2 and report.duplicates == 2
    assert mutations_of(central, tar) == ["applied", "applied"]
    assert kinds_of(central, tar) == ["claimed", "pended", "received"]
    assert nurse.status()["pending"] == 0 and nurse.case(tar).status == "pended"


def test_network_lost_before_a_push_and_in_the_middle_of_a_pull(central, laptops, network):
    tars = [central.new_case(category="inpatient") for _ in range(16)]
    nurse = laptops("nurse.garcia")  # inpatient: a first pull of several pages (7 cases a page on this bench)
    network.fail("/v1/pull", "before", after=1)
    with pytest.raises(Offline):
        nurse.sync(transport=network)
    held = [t for t in tars if nurse.case(t) is not None]
    assert 0 < len(held) < len(tars)  # the first page is kept
    nurse.sync(transport=network)
    assert all(nurse.case(t) is not None for t in tars)
    nurse.act(svc.claim_case, tars[0])
    network.fail("/v1/push", "before")
    with pytest.raises(Offline):
        nurse.sync(transport=network)
    assert mutations_of(central, tars[0]) == [] and nurse.status()["pending"] == 1
    assert nurse.status()["last_error"] and "offline" in nurse.status()["last_error"].lower()
    assert nurse.sync(transport=network).applied == 1
    assert mutations_of(central, tars[0]) == ["applied"]


def test_a_server_restart(central, laptops, sync_server):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    sync_server.stop()
    try:
        with pytest.raises(Offline, match="Working offline"):
            nurse.sync()
    finally:
        sync_server.start()
    assert nurse.sync().applied == 1 and mutations_of(central, tar) == ["applied"]


def test_a_laptop_closed_between_its_local_commit_and_its_push(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    with pytest.raises(RuntimeError):  # a failure inside the transaction: neither the change nor its intent stays
        with nurse.store.session() as session, session.begin():
            svc.claim_case(session, tar, "nurse.nguyen")
            raise RuntimeError("power cut before the commit")
    assert nurse.status()["pending"] == 0 and nurse.case(tar).assignee is None
    nurse.act(svc.claim_case, tar)
    nurse.reopen()  # killed after the commit, started again
    assert nurse.status()["pending"] == 1
    assert nurse.sync().applied == 1 and central.case(tar).assignee.username == "nurse.nguyen"


def test_duplicated_and_reordered_batches(central, laptops):
    tars = [central.new_case() for _ in range(4)]
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    for tar in tars:
        nurse.act(svc.claim_case, tar)
    with nurse.store.session() as session:
        rows = [_mutation_json(r) for r in session.scalars(select(SyncOutbox).where(SyncOutbox.state == "pending")
                                                          .order_by(SyncOutbox.seq))]
        device = str(audit.device_id(session))
    from app.sync import credentials

    token = credentials.load(nurse.server.url, "nurse.nguyen")
    with Api(nurse.server.url, device, token=token) as api:
        later = api.push(rows[2:], [])  # the second batch first
        assert later["results"] == [] and later["stopped"]["code"] == "gap"
        assert all(mutations_of(central, t) == [] for t in tars)
        first = api.push(rows[:2], [])
        assert [r["outcome"] for r in first["results"]] == ["applied", "applied"]
        again = api.push(rows[:2], [])  # the same batch again
        assert [r.get("duplicate") for r in again["results"]] == [True, True]
        assert again["results"][0]["mutation_id"] == first["results"][0]["mutation_id"]
        api.push(rows[2:], [])
        api.push(rows, [])  # everything once more
    assert all(mutations_of(central, t) == ["applied"] for t in tars)
    report = nurse.sync()  # the laptop, which heard none of it, gets the first answers back
    assert report.duplicates == 4 and nurse.status()["pending"] == 0
    for tar in tars:
        assert kinds_of(central, tar) == ["claimed", "received"]


def test_an_expired_sign_in(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    with central.store.session() as session, session.begin():
        session.execute(update(SyncToken).where(SyncToken.username == "nurse.nguyen")
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    with pytest.raises(SignInNeeded, match="expired.*sign in again"):
        nurse.sync()
    assert nurse.status()["pending"] == 1 and mutations_of(central, tar) == []
    nurse.login()
    assert nurse.sync().applied == 1


def test_a_revoked_laptop_is_refused_and_keeps_its_changes(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    with nurse.store.session() as session:
        device = audit.device_id(session)
    with pytest.raises(Exception, match="Administrator"):
        with central.store.session() as session, session.begin():
            revoke_device(session, device, by="lead.patel")
    with central.store.session() as session, session.begin():
        revoke_device(session, device, by="admin", reason="reported lost")
    with pytest.raises(DeviceRevoked, match="revoked by admin"):
        nurse.sync()
    with pytest.raises(DeviceRevoked):
        nurse.login()
    assert nurse.status()["pending"] == 1 and mutations_of(central, tar) == []
    with central.store.session() as session:
        assert session.get(SyncDevice, device).revoked_at is not None
        assert session.scalar(select(func.count()).select_from(SyncToken).where(SyncToken.device_id == device)) == 0


@pytest.mark.parametrize("schema, words", [("0001", "older than the sync server"),
                                           ("9999", "runs an older version")])
def test_versions_that_do_not_match_push_nothing(central, laptops, monkeypatch, schema, words):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    monkeypatch.setattr(sync_api, "schema_head", lambda: schema)
    with pytest.raises(VersionMismatch, match=words):
        nurse.sync()
    assert mutations_of(central, tar) == [] and nurse.status()["pending"] == 1
    monkeypatch.undo()
    assert nurse.sync().applied == 1


def test_a_patched_laptop_cannot_deny_as_a_nurse(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    nurse.sync()
    with nurse.store.session() as session, session.begin():  # what no service of ours would write
        device = audit.device_id(session)
        seq = session.scalar(select(func.max(SyncOutbox.seq))) + 1
        version = nurse.case(tar).version
        session.add(SyncOutbox(mutation_id=new_mutation_id(), device_id=device, seq=seq, case_id=nurse.case(tar).id,
                               tar=tar, base_version=version, intent="decide", actor="nurse.nguyen",
                               payload={"outcome": "deny", "rationale": "no", "member_reason": "no"},
                               created_at=datetime.now(timezone.utc), state="pending"))
    report = nurse.sync()
    assert report.conflicts == 1
    with central.store.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one()
        assert conflict.kind == "refused" and "physician" in conflict.reason
    assert central.case(tar).outcome is None and "determined" not in kinds_of(central, tar)


def test_clock_skew_is_flagged_and_never_makes_a_late_change_look_early(central, laptops):
    tar = central.new_case()
    skew = timedelta(hours=-2)  # the laptop's clock is two hours behind

    def laptop_clock():
        return datetime.now(timezone.utc) + skew

    nurse = laptops("nurse.nguyen", login=False)
    nurse.login(clock=laptop_clock)
    report = nurse.sync(clock=laptop_clock)
    assert report.clock and "2" in report.clock and "behind" in report.clock
    assert nurse.status()["clock"] == report.clock
    nurse.act(svc.claim_case, tar, at=laptop_clock())  # the laptop stamps its own (wrong) time
    nurse.sync(clock=laptop_clock)
    now = datetime.now(timezone.utc)
    with central.store.session() as session:
        mutation = session.scalars(select(SyncMutation).where(SyncMutation.tar == tar)).one()
        assert abs(mutation.device_time - (now + skew)) < timedelta(minutes=1)
        assert abs(mutation.applied_time - now) < timedelta(minutes=1)  # the server's clock
        assert mutation.applied_time <= mutation.received_at
        device = session.get(SyncDevice, mutation.device_id)
        assert device.skew_flagged_at is not None and abs(device.clock_offset_seconds - 7200) < 60
        flagged = session.scalars(select(AuditRecord).where(AuditRecord.what == "clock-skew")).all()
        assert any(str(device.device_id) in r.body for r in flagged)
        case = svc.case_by_tar(session, tar)
        claimed = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.kind == "claimed")).one()
        assert abs(claimed.occurred_at - now) < timedelta(minutes=1)


def test_a_case_with_unsent_changes_is_not_overwritten_by_a_pull(central, laptops):
    tar = central.new_case()
    laptop = laptops("nurse.nguyen")
    laptop.sync()
    laptop.act(svc.claim_case, tar)
    laptop.sync()
    # a supervisor works on this laptop too (a shared laptop): her change waits until she signs in here
    with laptop.store.session() as session, session.begin():
        svc.assign_case(session, tar, "lead.patel", "nurse.okafor", "covering")
    central.act(svc.declare_involvement, tar, "dr.shah", note="saw the member in clinic")
    report = laptop.sync()
    assert report.stopped and "lead.patel" in report.stopped and tar in report.skipped
    here = laptop.case(tar)
    assert here.assignee.username == "nurse.okafor"  # the laptop's own change is still what it shows
    assert "involvement-declared" not in [k for _, k in _events(laptop, tar)]
    assert laptop.status()["pending"] == 1


def _events(laptop, tar):
    with laptop.store.session() as session:
        case = svc.case_by_tar(session, tar)
        return session.execute(select(CaseEvent.id, CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()


def test_an_altered_audit_record_refuses_the_push(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    with nurse.store.engine.begin() as connection:  # someone edits the laptop's trail before it went up
        connection.execute(text("DROP TRIGGER audit_records_no_update"))
        connection.execute(text("UPDATE audit_records SET actor = 'someone.else' WHERE what = 'claimed'"))
    with pytest.raises(ServerRefused, match="does not match its hash"):
        nurse.sync()
    assert mutations_of(central, tar) == [] and nurse.status()["pending"] == 1
