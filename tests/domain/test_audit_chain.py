"""The audit hash chain, pure: building records, verifying chains, and finding every kind of tampering."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from app.domain.audit import (
    DATE_RECORDS, GENESIS, SEPARATOR, AuditFieldError, canonical_json, fold_case_dates, instant_text, joined_text,
    next_record, record_hash, verify_chains,
)

T0 = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)


def build(device: uuid.UUID, count: int, start: datetime = T0) -> tuple[list[tuple], tuple[int, str]]:
    """`count` records of one device's chain as stored fields (id, device, seq, recorded_at, actor, actor_kind,
    action, what, case_id, tar, body, prev_hash, hash), and its head."""
    rows, seq, last = [], 0, GENESIS
    for n in range(count):
        record = next_record(device=device, last_seq=seq, last_hash=last, recorded_at=start + timedelta(seconds=n),
                             actor=f"user{n % 3}", actor_kind="user", action="change",
                             what="determined" if n % 4 == 0 else "claimed",
                             case_id=uuid.UUID(int=n % 5 + 1), tar=f"9{n % 5:010d}",
                             body={"before": {"status": "received"}, "after": {"decided_at": f"t{n}"}, "n": n})
        rows.append((str(uuid.UUID(int=1000 + n)), record.device, record.seq, record.recorded_at, record.actor,
                     record.actor_kind, record.action, record.what, record.case_id, record.tar, record.body,
                     record.prev_hash, record.hash))
        seq, last = record.seq, record.hash
    return rows, (seq, last)


def walk(fields: list[tuple]) -> list[tuple]:
    """Stored fields as the rows verify_chains walks (what the store hands over)."""
    rows = []
    for f in fields:
        dated = f[7] in DATE_RECORDS
        joined = None if None in (f[4], f[5], f[6], f[7], f[10]) else joined_text(*f[1:12])
        rows.append((f[0], f[1], f[2], joined, f[11], f[12], f[3] if dated else None, f[8] if dated else None,
                     f[10] if dated else None))
    return rows


def verify(fields, heads):
    return verify_chains(walk(fields), heads)


def rehash(row: tuple, *, prev: str | None = None) -> tuple:
    """What an attacker does after editing a row: recompute its hash (and optionally its link)."""
    row = list(row)
    if prev is not None:
        row[11] = prev
    row[12] = record_hash(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] or "", row[9] or "",
                          row[10], row[11])
    return tuple(row)


DEVICE = uuid.UUID("11111111-2222-3333-4444-555555555555")


def test_hash_is_sha256_of_the_fields_joined_by_the_unit_separator():
    record = next_record(device=DEVICE, last_seq=0, last_hash=GENESIS, recorded_at=T0, actor="nurse.garcia",
                         actor_kind="user", action="change", what="claimed", case_id=None, tar=None,
                         body={"b": 1, "a": [1, "é"]})
    text = SEPARATOR.join([DEVICE.hex, "1", "2026-11-23 18:00:00.000000", "nurse.garcia", "user", "change",
                           "claimed", "", "", '{"a":[1,"é"],"b":1}', GENESIS])
    assert record.hash == hashlib.sha256(text.encode()).hexdigest()
    assert record.seq == 1 and record.prev_hash == GENESIS


def test_canonical_forms():
    assert canonical_json({"b": 2, "a": {"d": None, "c": True}}) == '{"a":{"c":true,"d":null},"b":2}'
    assert instant_text(datetime(2026, 3, 8, 1, 30, 5, 7, tzinfo=timezone(timedelta(hours=-8)))) == \
        "2026-03-08 09:30:05.000007"
    with pytest.raises(AuditFieldError):
        instant_text(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_fields_may_not_carry_the_separator_or_unknown_kinds():
    for kwargs in ({"actor": "a" + SEPARATOR + "b"}, {"what": SEPARATOR}, {"tar": "9" + SEPARATOR},
                   {"actor_kind": "robot"}, {"action": "delete"}):
        values = dict(device=DEVICE, last_seq=0, last_hash=GENESIS, recorded_at=T0, actor="a", actor_kind="user",
                      action="view", what="case", case_id=None, tar=None, body={})
        values.update(kwargs)
        with pytest.raises(AuditFieldError):
            next_record(**values)
    # The body is JSON: a separator inside it is escaped, never raw.
    record = next_record(device=DEVICE, last_seq=0, last_hash=GENESIS, recorded_at=T0, actor="a",
                         actor_kind="user", action="view", what="case", case_id=None, tar=None,
                         body={"note": "x" + SEPARATOR})
    assert SEPARATOR not in record.body


def test_an_intact_chain_verifies():
    rows, head = build(DEVICE, 50)
    report = verify(rows, {DEVICE.hex: head})
    assert report.ok and report.records == 50 and report.first_problem is None
    assert report.chains[0].last_seq == 50


def test_empty_store_and_empty_chain():
    assert verify([], {}).ok
    assert verify([], {DEVICE.hex: (0, GENESIS)}).ok


def test_several_devices_are_separate_chains():
    other = uuid.UUID(int=7)
    a, head_a = build(DEVICE, 10)
    b, head_b = build(other, 7, start=T0 - timedelta(days=1))
    rows = sorted(a + b, key=lambda r: (r[1], r[2]))
    report = verify(rows, {DEVICE.hex: head_a, other.hex: head_b})
    assert report.ok and report.records == 17 and len(report.chains) == 2


@pytest.mark.parametrize("field,value", [(3, "2026-11-23 18:00:09.000001"), (4, "mallory"), (5, "system"),
                                         (6, "view"), (7, "assigned"), (8, uuid.UUID(int=99).hex),
                                         (9, "90000000000"), (10, '{"after":{"status":"approved"}}'), (2, 8)])
def test_any_altered_field_is_found(field, value):
    rows, head = build(DEVICE, 20)
    row = list(rows[8])
    row[field] = value
    rows[8] = tuple(row)
    problem = verify(rows, {DEVICE.hex: head}).first_problem
    assert problem is not None
    if field == 2:  # a renumbered record: the number 8 then appears twice
        assert problem.kind == "inserted" and problem.seq == 8
    else:
        assert problem.kind == "altered" and problem.seq == 9 and problem.record_id == rows[8][0]


def test_altered_and_rehashed_is_found_by_the_next_link():
    rows, head = build(DEVICE, 20)
    row = list(rows[4])
    row[10] = '{"forged":true}'
    rows[4] = rehash(tuple(row))
    problem = verify(rows, {DEVICE.hex: head}).first_problem
    assert problem.kind == "altered" and problem.seq == 5 and problem.record_id == rows[4][0]
    assert "link kept in record 6" in problem.message


def test_last_record_altered_and_rehashed_is_found_by_the_head():
    rows, head = build(DEVICE, 20)
    row = list(rows[-1])
    row[4] = "mallory"
    rows[-1] = rehash(tuple(row))
    problem = verify(rows, {DEVICE.hex: head}).first_problem
    assert problem.kind == "altered" and problem.seq == 20


def test_a_deleted_record_is_found():
    rows, head = build(DEVICE, 20)
    del rows[6]
    problem = verify(rows, {DEVICE.hex: head}).first_problem
    assert problem.kind == "deleted" and problem.seq == 7 and "record 7" in problem.message
    rows, head = build(DEVICE, 20)
    del rows[6:9]
    assert "records 7 to 9" in verify(rows, {DEVICE.hex: head}).first_problem.message


def test_deleted_tail_and_deleted_chain_are_found_by_the_head():
    rows, head = build(DEVICE, 20)
    problem = verify(rows[:17], {DEVICE.hex: head}).first_problem
    assert problem.kind == "deleted" and problem.seq == 18 and "records 18 to 20" in problem.message
    problem = verify([], {DEVICE.hex: head}).first_problem
    assert problem.kind == "deleted" and problem.seq == 1


def test_records_added_after_the_head_are_inserted():
    rows, head = build(DEVICE, 22)
    problem = verify(rows, {DEVICE.hex: (20, rows[19][12])}).first_problem
    assert problem.kind == "inserted" and problem.seq == 21


def test_a_chain_without_a_head_is_inserted():
    rows, _ = build(DEVICE, 3)
    problem = verify(rows, {}).first_problem
    assert problem.kind == "inserted" and "no chain head" in problem.message


def test_an_insertion_with_renumbering_names_the_inserted_record():
    rows, head = build(DEVICE, 10)
    forged = list(rows[4])  # a well-formed record put in as number 5; the old 5..10 become 6..11
    forged[0] = "forged-id"
    forged[10] = '{"forged":true}'
    forged[11] = rows[3][12]
    forged = rehash(tuple(forged))
    shifted = [tuple([*r[:2], r[2] + 1, *r[3:]]) for r in rows[4:]]
    tampered = rows[:4] + [forged] + shifted
    problem = verify(tampered, {DEVICE.hex: (11, shifted[-1][12])}).first_problem
    assert problem.kind == "inserted" and problem.seq == 5 and problem.record_id == "forged-id"


def test_a_record_numbered_twice_is_inserted():
    rows, head = build(DEVICE, 10)
    duplicate = tuple(["dup-id", *rows[3][1:]])
    rows.insert(4, duplicate)
    problem = verify(rows, {DEVICE.hex: head}).first_problem
    assert problem.kind == "inserted" and problem.seq == 4 and "dup-id" in problem.message


def test_a_separator_smuggled_into_a_field_is_altered():
    rows, head = build(DEVICE, 5)
    row = list(rows[2])
    row[4] = row[4] + SEPARATOR
    rows[2] = rehash(tuple(row))
    assert verify(rows, {DEVICE.hex: head}).first_problem.kind == "altered"


@settings(max_examples=200, deadline=None)
@given(count=st.integers(2, 30), data=st.data())
def test_any_single_tampering_is_found(count, data):
    rows, head = build(DEVICE, count)
    index = data.draw(st.integers(0, count - 1))
    how = data.draw(st.sampled_from(["edit", "edit-rehash", "delete", "swap"]))
    if how == "edit":
        row = list(rows[index])
        row[10] = row[10].replace('"n":', '"m":')
        rows[index] = tuple(row)
    elif how == "edit-rehash":
        row = list(rows[index])
        row[4] = "someone-else"
        rows[index] = rehash(tuple(row))
    elif how == "delete":
        del rows[index]
    else:
        other = (index + 1) % count
        a, b = list(rows[index]), list(rows[other])
        a[10], b[10] = b[10], a[10]
        rows[index], rows[other] = tuple(a), tuple(b)
    report = verify(rows, {DEVICE.hex: head})
    assert not report.ok
    assert report.first_problem.seq in range(1, count + 1)


def test_a_null_field_is_altered():
    rows, head = build(DEVICE, 5)
    row = list(rows[1])
    row[4] = None
    rows[1] = tuple(row)
    problem = verify(rows, {DEVICE.hex: head}).first_problem
    assert problem.kind == "altered" and problem.seq == 2


def test_date_records_of_the_walk_fold_to_the_last_value_per_case():
    rows, head = build(DEVICE, 20)
    report = verify(rows, {DEVICE.hex: head})
    assert len(report.date_records) == 5  # n = 0, 4, 8, 12, 16 are 'determined'
    audited = fold_case_dates(report.date_records)
    # case n % 5 + 1: n=0 -> case 1, 4 -> 5, 8 -> 4, 12 -> 3, 16 -> 2
    assert {case[-1]: dates["decided_at"] for case, dates in audited.items()} == {
        "1": "t0", "5": "t4", "4": "t8", "3": "t12", "2": "t16"}


def test_a_walk_in_storage_order_hands_anything_odd_to_the_ordered_walk():
    from app.domain.audit import OutOfOrder

    rows, head = build(DEVICE, 12)
    heads = {DEVICE.hex: head}
    fast = verify_chains(walk(rows), heads, storage_order=True)
    assert fast.ok and fast.records == 12
    shuffled = rows[6:] + rows[:6]
    with pytest.raises(OutOfOrder):
        verify_chains(walk(shuffled), heads, storage_order=True)
    assert verify(sorted(shuffled, key=lambda r: r[2]), heads).ok
    other = uuid.UUID(int=5)
    extra, extra_head = build(other, 3)
    interleaved = rows[:4] + extra + rows[4:]  # a merged device's block in the middle of this device's chain
    with pytest.raises(OutOfOrder):
        verify_chains(walk(interleaved), {**heads, other.hex: extra_head}, storage_order=True)
    edited = list(rows)
    edited[3] = tuple([*rows[3][:4], "mallory", *rows[3][5:]])
    with pytest.raises(OutOfOrder):
        verify_chains(walk(edited), heads, storage_order=True)
    # What needs no order is judged on the spot: a chain ending before its head.
    assert verify_chains(walk(rows[:10]), heads, storage_order=True).first_problem.kind == "deleted"


def test_the_after_values_are_read_from_canonical_bodies():
    bodies = [canonical_json({"after": {"decided_at": "t1", "status": "determined"}, "before": {"status": "x"},
                              "event": {"payload": {"after": {"decided_at": "forged"}, "note": "{ }"}}}),
              canonical_json({"after": {"received_at": "odd } text"}, "before": {}}),
              canonical_json({"before": {}, "event": {}})]
    audited = fold_case_dates([("d", "2026", "c1", bodies[0]), ("d", "2026", "c2", bodies[1]),
                               ("d", "2026", "c3", bodies[2])])
    assert audited == {"c1": {"decided_at": "t1"}, "c2": {"received_at": "odd } text"}}
