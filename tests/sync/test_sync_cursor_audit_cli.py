"""The pull cursor never skips a late commit; audit chains merge and verify; a request received offline; the CLI."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone

import psycopg
import pytest
from sqlalchemy import select, text

from app.cli import main
from app.cli.audit_server import check
from app.server.accounts import Caller
from app.server.pull import pull
from app.services import audit, cases as svc
from app.services.cases import NewCase, NewLine, receive_case
from app.store.models import Member, Provider, SyncDevice, User
from app.sync.api import ServerRefused


def _raw(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def test_a_late_committing_transaction_is_never_skipped(central, central_url):
    """T1 changes case A and stays open; T2 changes case B and commits; a pull sees B and moves its cursor past
    it. When T1 commits, its change still comes after that cursor: numbers are taken at commit, in commit order."""
    first, second = central.new_case(), central.new_case()
    with central.store.session() as session:
        user = session.scalar(select(User).where(User.username == "lead.patel"))
        device = SyncDevice(device_id=uuid.uuid4(), name="cursor test", registered_by="lead.patel")
        caller = Caller(user, device)
        session.expunge(user)

    def page(cursor):
        with central.store.session() as session:
            return pull(session, caller, cursor=cursor)

    start = page(None)["cursor"]
    late, early = _raw(central_url), _raw(central_url)
    try:
        late.execute("UPDATE cases SET updated_at = now() WHERE tar = %s", (first,))  # T1: not committed yet
        early.execute("UPDATE cases SET updated_at = now() WHERE tar = %s", (second,))
        early.commit()  # T2 commits first
        seen = page(start)
        tars = {snap["case"]["tar"] for snap in seen["cases"]}
        assert second in tars and first not in tars
        cursor = seen["cursor"]
        late.commit()  # T1 commits after the reader moved on
        after = page(cursor)
        assert first in {snap["case"]["tar"] for snap in after["cases"]}
        assert after["cursor"] > cursor
    finally:
        late.close()
        early.close()


def test_the_numbers_follow_commit_order_under_concurrent_writers(central, central_url):
    """Many writers at once: every reader that has seen change n has seen every change below n."""
    tars = [central.new_case() for _ in range(6)]
    with central.store.session() as session:
        start = session.scalar(text("SELECT coalesce(max(change_no), 0) FROM sync_changes"))

    def write(tar):
        with _raw(central_url) as connection:
            for _ in range(5):
                connection.execute("UPDATE cases SET updated_at = now() WHERE tar = %s", (tar,))
                connection.commit()

    threads = [threading.Thread(target=write, args=(tar,)) for tar in tars]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with central.store.session() as session:
        numbers = session.scalars(text("SELECT change_no FROM sync_changes WHERE change_no > :s ORDER BY change_no"),
                                  {"s": start}).all()
    assert numbers == list(range(start + 1, start + 1 + len(numbers))) and len(numbers) >= 30


def test_chains_are_uploaded_and_verified_and_a_rewrite_after_upload_is_caught(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    nurse.sync()
    with nurse.store.session() as session:
        device = audit.device_id(session)
        local = session.scalar(select(audit.AuditChainHead).where(audit.AuditChainHead.device_id == device))
    with central.store.session() as session:
        held = session.get(SyncDevice, device)
        assert held.audit_seq == local.last_seq
    report = audit.verify(central.store)
    assert report.ok and any(chain.device == device.hex for chain in report.chains), report.to_json()
    assert check(nurse.store)["ok"]
    # the laptop's trail rewritten after the upload (a record, every hash after it, and the head)
    with nurse.store.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_records_no_update"))
    _rewrite_chain(nurse.store, device)
    assert audit.verify(nurse.store).ok  # the laptop alone cannot tell
    result = check(nurse.store)
    assert not result["ok"] and not result["server_copy"]["matches"]
    nurse.act(svc.pend_case, tar, missing=["notes"])
    with pytest.raises(ServerRefused, match="altered"):  # and the next upload does not link to the server's copy
        nurse.sync()


def _rewrite_chain(store, device):
    """Change the actor of record 1 and re-hash every record after it and the head: a consistent forged chain."""
    from app.domain.audit import GENESIS, record_hash, instant_text, uuid_text
    from app.store.models import AuditChainHead, AuditRecord

    with store.session() as session, session.begin():
        records = session.scalars(select(AuditRecord).where(AuditRecord.device_id == device)
                                  .order_by(AuditRecord.seq)).all()
        previous = GENESIS
        for record in records:
            actor = "forger" if record.seq == 1 else record.actor
            digest = record_hash(device.hex, record.seq, instant_text(record.recorded_at), actor, record.actor_kind,
                                 record.action, record.what, uuid_text(record.case_id), record.tar or "",
                                 record.body, previous)
            session.execute(text("UPDATE audit_records SET actor = :a, prev_hash = :p, hash = :h WHERE id = :i"),
                            {"a": actor, "p": previous, "h": digest, "i": record.id.hex})
            previous = digest
        head = session.get(AuditChainHead, device)
        head.last_hash = previous


def test_a_request_received_offline_gets_the_central_store_copy(central, laptops):
    coordinator = laptops("lead.patel")
    coordinator.sync()
    tar = f"6{uuid.uuid4().int % 10**10:010d}"
    with coordinator.store.session() as session, session.begin():
        provider = session.scalars(select(Provider).limit(1)).one()
        member = Member(id=uuid.uuid4(), cin=f"6{uuid.uuid4().int % 10**7:07d}Z", first_name="Offline",
                        last_name="Intake", sex="M", language="es")
        session.add(member)
        user = session.scalar(select(User).where(User.username == "lead.patel"))
        receive_case(session, NewCase(
            tar=tar, line_of_business="medi-cal", service_category="dme", review_timing="pre-service",
            urgency="routine", received_at=datetime.now(timezone.utc), member=member,
            requesting_provider_id=provider.id, lines=[NewLine("E0260", "hospital bed", 1)],
            diagnoses=[("G20", "Parkinson's disease")]), actor=user)
    local_id = coordinator.case(tar).id
    report = coordinator.sync()
    assert report.applied == 1
    on_server = central.case(tar)
    here = coordinator.case(tar)
    assert here.id == on_server.id == local_id and here.version == on_server.version  # the same id everywhere
    with central.store.session() as session:
        assert session.get(Member, member.id) is not None  # the member came with it
    assert audit.verify(coordinator.store).ok


def test_cli_login_sync_status_and_conflicts(central, sync_server, monkeypatch, capsys):
    tar, mine = central.new_case(), central.new_case()
    monkeypatch.setenv("UMWS_PASSWORD", "demo-um-nurse")
    assert main(["sync", "status", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["server"] is None and state["pending"] == 0
    assert main(["sync"]) == 3 and "not signed in" in capsys.readouterr().err
    monkeypatch.setenv("UMWS_PASSWORD", "wrong password")
    assert main(["login", "--server", sync_server.url, "--user", "nurse.nguyen"]) == 3
    assert "not right" in capsys.readouterr().err
    monkeypatch.setenv("UMWS_PASSWORD", "demo-um-nurse")
    assert main(["login", "--server", sync_server.url, "--user", "nurse.nguyen"]) == 0
    capsys.readouterr()
    assert main(["sync", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pulled_cases"] >= 1
    assert main(["case", "claim", mine, "--as", "nurse.nguyen"]) == 0  # done centrally as here: an echo
    assert main(["sync"]) == 0
    assert "1 change(s) confirmed as made here (their cases not sent back)" in capsys.readouterr().out
    assert main(["case", "claim", tar, "--as", "nurse.nguyen"]) == 0
    capsys.readouterr()
    central.act(svc.claim_case, tar, "lead.patel")  # someone else got there first, online
    assert main(["sync", "status", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert set(state) >= {"pending", "last_sync", "conflicts", "server"} and state["pending"] == 1
    assert main(["sync"]) == 0
    captured = capsys.readouterr()
    assert "1 conflict" in captured.out and "umws conflicts list" in captured.err
    assert main(["conflicts", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["tar"] == tar and rows[0]["username"] == "nurse.nguyen"
    assert rows[0]["intent"] == "claim" and not rows[0]["resolved"]
    assert main(["conflicts", "resolve", rows[0]["id"], "--as", "nurse.nguyen", "--keep", "mine"]) == 3
    assert "held by lead.patel" in capsys.readouterr().err
    assert main(["conflicts", "resolve", rows[0]["id"], "--as", "nurse.nguyen", "--keep", "theirs",
                 "--note", "lead has it"]) == 0
    capsys.readouterr()
    assert main(["sync"]) == 0
    capsys.readouterr()
    assert main(["sync", "status", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["pending"] == 0 and state["conflicts"] == 0 and state["last_sync"]
    with central.store.session() as session:
        from app.store.models import SyncConflict

        assert session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one().resolution == "keep-theirs"
    assert main(["audit", "verify", "--server"]) == 0
    assert "matches" in capsys.readouterr().out
