"""The audit trail in the store: append-only, one hash chain per device, and tampering found by `audit verify`.

Tampering is done the way someone with the database and its key would: a raw SQLCipher connection keyed from
the keyring, the append-only triggers dropped, rows edited, deleted or inserted by hand.
"""
from __future__ import annotations

import json
import uuid

import pytest
import sqlcipher3
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from app.cli import main
from app.domain.audit import record_hash
from app.services import audit, cases as svc
from app.store.engine import default_store_path
from app.store.models import AuditChainHead, AuditRecord, Setting

COLUMNS = "id, device_id, seq, recorded_at, actor, actor_kind, action, what, case_id, tar, body, prev_hash, hash"


def do(store, action, *args, **kwargs):
    with store.session() as session, session.begin():
        return action(session, *args, **kwargs)


@pytest.fixture
def history(local_workflow_store, make_local_case):
    """A store with a dozen audit records across two cases."""
    store = local_workflow_store
    first, second = make_local_case(), make_local_case()
    do(store, svc.claim_case, first, "nurse.nguyen")
    do(store, svc.pend_case, first, "nurse.nguyen", missing="notes")
    do(store, svc.record_information_received, first, "coord.jones")
    do(store, svc.claim_case, second, "dr.shah")
    do(store, svc.decide_case, second, "dr.shah", outcome="deny", rationale="r", member_reason="m")
    do(store, svc.record_notification, second, "coord.jones", recipient="provider")
    do(store, svc.refer_case, first, "nurse.nguyen", to="physician", summary="s")
    do(store, svc.claim_case, first, "dr.morales")
    do(store, svc.decide_case, first, "dr.morales", outcome="approve", rationale="ok")
    report = audit.verify(store)
    assert report.ok and report.records == 11 and report.cases_checked == 2
    store.close()
    return first, second


@pytest.fixture
def raw(history, memory_keyring):
    (key,) = memory_keyring.secrets.values()
    connection = sqlcipher3.connect(str(default_store_path()))
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    connection.execute("DROP TRIGGER audit_records_no_update")
    connection.execute("DROP TRIGGER audit_records_no_delete")
    yield connection
    connection.close()


def rows(raw) -> list[tuple]:
    return raw.execute(f"SELECT {COLUMNS} FROM audit_records ORDER BY seq").fetchall()


def verify_cli(capsys) -> tuple[int, str, str]:
    code = main(["audit", "verify", "--json"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def forged_hash(row) -> str:
    return record_hash(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] or "", row[9] or "", row[10],
                       row[11])


def test_the_store_refuses_update_and_delete_of_audit_records(workflow_store, make_case):
    do(workflow_store, svc.claim_case, make_case(), "nurse.nguyen")
    for statement in ("UPDATE audit_records SET actor = 'mallory'", "DELETE FROM audit_records"):
        with pytest.raises(DatabaseError, match="append-only"):
            with workflow_store.engine.begin() as connection:
                connection.execute(text(statement))
    assert audit.verify(workflow_store).ok


def test_one_device_id_made_on_first_use(workflow_store, make_case):
    with workflow_store.session() as session:
        assert session.get(Setting, "device_id") is None  # nothing audited yet: no device id
    tar = make_case()
    do(workflow_store, svc.claim_case, tar, "nurse.nguyen")
    with workflow_store.session() as session:
        device = uuid.UUID(session.get(Setting, "device_id").value)
        head = session.get(AuditChainHead, device)
        records = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
    assert head.last_seq == len(records) and head.last_hash == records[-1].hash
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert {r.device_id for r in records} == {device}
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:]))


def test_an_edited_record_is_found(raw, capsys):
    target = rows(raw)[4]
    raw.execute("UPDATE audit_records SET actor = 'someone.else' WHERE id = ?", (target[0],))
    raw.commit()
    code, out, err = verify_cli(capsys)
    problem = json.loads(out)["problem"]
    assert code == 3 and problem["kind"] == "altered" and problem["seq"] == 5 and problem["record_id"] == target[0]
    assert "record 5" in err and "altered" in err


def test_an_edited_and_rehashed_record_is_found(raw, capsys):
    target = list(rows(raw)[6])
    target[10] = target[10].replace('"denied"', '"approved"')
    raw.execute("UPDATE audit_records SET body = ?, hash = ? WHERE id = ?", (target[10], forged_hash(target),
                                                                             target[0]))
    raw.commit()
    code, out, _ = verify_cli(capsys)
    problem = json.loads(out)["problem"]
    assert code == 3 and problem["kind"] == "altered" and problem["seq"] == 7


def test_a_deleted_record_is_found(raw, capsys):
    raw.execute("DELETE FROM audit_records WHERE seq = 3")
    raw.commit()
    code, out, err = verify_cli(capsys)
    problem = json.loads(out)["problem"]
    assert code == 3 and problem["kind"] == "deleted" and problem["seq"] == 3 and "record 3" in err


def test_a_deleted_last_record_is_found(raw, capsys):
    raw.execute("DELETE FROM audit_records WHERE seq = (SELECT max(seq) FROM audit_records)")
    raw.commit()
    code, out, _ = verify_cli(capsys)
    problem = json.loads(out)["problem"]
    assert code == 3 and problem["kind"] == "deleted" and problem["seq"] == 11


def test_a_record_inserted_at_the_end_is_found(raw, capsys):
    last = rows(raw)[-1]
    forged = [uuid.uuid4().hex, last[1], last[2] + 1, last[3], "mallory", "user", "change", "determined",
              last[8], last[9], '{"after":{"outcome":"approved"}}', last[12], ""]
    forged[12] = forged_hash(forged)
    raw.execute(f"INSERT INTO audit_records ({COLUMNS}) VALUES ({', '.join('?' * 13)})", forged)
    raw.commit()
    code, out, _ = verify_cli(capsys)
    problem = json.loads(out)["problem"]
    assert code == 3 and problem["kind"] == "inserted" and problem["seq"] == 12


def test_a_record_inserted_in_the_middle_is_found(raw, capsys):
    """The careful forger: renumbers the records after the gap and gives the new one a correct hash and link."""
    before = rows(raw)
    raw.execute("DROP INDEX ux_audit_records_device_seq")
    raw.execute("UPDATE audit_records SET seq = seq + 1 WHERE seq >= 6")
    forged = [uuid.uuid4().hex, before[4][1], 6, before[4][3], "mallory", "user", "change", "claimed",
              before[4][8], before[4][9], '{"after":{"assignee":"mallory"}}', before[4][12], ""]
    forged[12] = forged_hash(forged)
    raw.execute(f"INSERT INTO audit_records ({COLUMNS}) VALUES ({', '.join('?' * 13)})", forged)
    raw.execute("UPDATE audit_chain_heads SET last_seq = last_seq + 1")
    raw.commit()
    code, out, _ = verify_cli(capsys)
    problem = json.loads(out)["problem"]
    assert code == 3 and problem["kind"] == "inserted" and problem["seq"] == 6 and problem["record_id"] == forged[0]


def test_a_second_record_with_the_same_number_is_found(raw, capsys):
    raw.execute("DROP INDEX ux_audit_records_device_seq")
    copy = list(rows(raw)[2])
    copy[0] = uuid.uuid4().hex
    raw.execute(f"INSERT INTO audit_records ({COLUMNS}) VALUES ({', '.join('?' * 13)})", copy)
    raw.commit()
    code, out, _ = verify_cli(capsys)
    problem = json.loads(out)["problem"]
    assert code == 3 and problem["kind"] == "inserted" and problem["seq"] == 3


def test_a_deleted_chain_head_stops_writing_and_is_found(raw, capsys, history):
    raw.execute("DELETE FROM audit_chain_heads")
    raw.commit()
    code, out, _ = verify_cli(capsys)
    assert code == 3 and json.loads(out)["problem"]["kind"] == "inserted"
    code = main(["case", "notify", history[1], "--as", "coord.jones", "--recipient", "member"])
    assert code == 3 and "audit chain head" in capsys.readouterr().err
    assert raw.execute("SELECT count(*) FROM case_events WHERE kind = 'notified'").fetchone() == (1,)


@pytest.mark.parametrize("column,table", [("received_at", "cases"), ("decided_at", "cases"),
                                          ("provider_notified_at", "case_workflow")])
def test_a_date_changed_on_the_case_row_shows(raw, capsys, history, column, table):
    """Nobody, not even an administrator with database access, changes a received, decided or notified date
    without it showing: the row no longer matches the last value the audit trail recorded."""
    tar = history[1]
    case_id = raw.execute("SELECT id FROM cases WHERE tar = ?", (tar,)).fetchone()[0]
    key = "id" if table == "cases" else "case_id"
    raw.execute(f"UPDATE {table} SET {column} = '2026-01-02 03:04:05.000000' WHERE {key} = ?", (case_id,))
    raw.commit()
    code, out, err = verify_cli(capsys)
    report = json.loads(out)
    assert code == 3 and all(chain["ok"] for chain in report["chains"])
    assert len(report["case_problems"]) == 1 and f"TAR {tar}" in err and "outside the workstation" in err


def test_an_intact_store_verifies_on_the_command_line(history, capsys):
    code, out, err = verify_cli(capsys)
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["records"] == 11 and report["problem"] is None
    code = main(["audit", "verify"])
    assert code == 0 and "Audit trail intact: 11 records in 1 chain(s)" in capsys.readouterr().out


def test_chains_of_another_device_merge_without_rewriting(workflow_store, make_case):
    """Records copied as they are from another installation's store (its chain and head) verify as a second
    chain: merging rewrites no hash."""
    do(workflow_store, svc.claim_case, make_case(), "nurse.nguyen")
    other = uuid.uuid4()
    with workflow_store.session() as session, session.begin():
        last_seq, last_hash = 0, "0" * 64
        from datetime import datetime, timezone

        from app.domain.audit import next_record

        for n in range(5):
            record = next_record(device=other, last_seq=last_seq, last_hash=last_hash,
                                 recorded_at=datetime(2026, 11, 1, 12, n, tzinfo=timezone.utc), actor="laptop.user",
                                 actor_kind="user", action="view", what="case", case_id=None, tar=None,
                                 body={"n": n})
            session.add(AuditRecord(id=uuid.uuid4(), device_id=other, seq=record.seq,
                                    recorded_at=datetime(2026, 11, 1, 12, n, tzinfo=timezone.utc),
                                    actor=record.actor, actor_kind="user", action="view", what="case",
                                    case_id=None, tar=None, body=record.body, prev_hash=record.prev_hash,
                                    hash=record.hash))
            last_seq, last_hash = record.seq, record.hash
        session.add(AuditChainHead(device_id=other, last_seq=last_seq, last_hash=last_hash,
                                   updated_at=datetime.now(timezone.utc)))
    report = audit.verify(workflow_store)
    assert report.ok and len(report.chains) == 2
    do(workflow_store, svc.claim_case, make_case(), "nurse.garcia")  # this device's chain goes on
    assert audit.verify(workflow_store).ok


def test_audit_show_lists_a_case_history_and_is_itself_audited(history, capsys):
    tar = history[1]
    code = main(["audit", "show", "--case", tar, "--json"])
    out = capsys.readouterr().out
    records = json.loads(out)
    assert code == 0 and [r["what"] for r in records] == ["received", "claimed", "determined", "notified"]
    assert records[2]["before"]["status"] == "in-review" and records[2]["after"]["outcome"] == "denied"
    assert records[2]["actor"] == "dr.shah" and records[2]["tar"] == tar
    main(["audit", "show", "--case", tar, "--json"])
    again = json.loads(capsys.readouterr().out)
    assert again[-1]["what"] == "audit-history" and again[-1]["actor_kind"] == "os-user"
    assert again[-1]["actor"] == audit.os_user()


def test_two_threads_auditing_at_once_both_get_numbers_and_the_chain_holds(workflow_store, make_case):
    """The GUI thread and a background read both audit views at the same time (the case view's tabs do): every
    record gets its own number, none is refused for a taken one, and the chain verifies."""
    import threading

    tar = make_case()
    with workflow_store.session() as session, session.begin():
        audit.device_id(session)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def views(n: int) -> None:
        try:
            start.wait()
            for _ in range(n):
                with workflow_store.session() as session, session.begin():
                    audit.record_view(session, actor="nurse.nguyen", tar=tar)
                    session.execute(select(AuditRecord.id).limit(1)).all()  # a read between the append and commit
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=views, args=(15,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit.verify(workflow_store)
    assert report.ok
    with workflow_store.session() as session:
        seqs = session.scalars(select(AuditRecord.seq).where(AuditRecord.action == "view")).all()
    assert len(seqs) == 60 and len(set(seqs)) == 60
