"""The push sends its next batch while the laptop acknowledges the last one (app.sync.client._push): still one
request at a time, in outbox order, and a fault or a cancel between batches loses nothing and applies nothing
twice."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.services import audit, cases as svc
from app.store.models import SyncMutation
from app.sync import client
from app.sync.api import Offline


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(client, "PUSH_BATCH", 4)


def pushed_batches(network, monkeypatch) -> list[list[int]]:
    """The outbox numbers of each push request's changes, as they left the laptop."""
    batches = []
    handle = network.handle_request

    def recording(request):
        if request.url.path == "/v1/push":
            batches.append([m["seq"] for m in json.loads(request.content)["mutations"]])
        return handle(request)

    monkeypatch.setattr(network, "handle_request", recording)
    return batches


def applied_on_server(central, laptop) -> list[tuple[int, str]]:
    """What the server recorded of this laptop's changes: (outbox number, outcome)."""
    with laptop.store.session() as session:
        device = audit.device_id(session)
    with central.store.session() as session:
        return session.execute(select(SyncMutation.seq, SyncMutation.outcome).where(SyncMutation.device_id == device)
                               .order_by(SyncMutation.seq)).all()


def claimed_offline(central, laptops, count: int):
    tars = [central.new_case() for _ in range(count)]
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    for tar in tars:
        nurse.act(svc.claim_case, tar)
    return nurse, tars


def test_every_batch_goes_once_in_order(central, laptops, network, small_batches, monkeypatch):
    nurse, tars = claimed_offline(central, laptops, 11)
    batches = pushed_batches(network, monkeypatch)
    report = nurse.sync(transport=network)
    assert (report.pushed, report.applied, report.duplicates) == (11, 11, 0)
    sent = [seq for batch in batches for seq in batch]
    assert [len(batch) for batch in batches if batch] == [4, 4, 3]  # no batch sent twice, none skipped
    assert sent == sorted(sent) == [seq for seq, outcome in applied_on_server(central, nurse) if outcome == "applied"]
    assert nurse.status()["pending"] == 0
    assert all(central.case(tar).assignee.username == "nurse.nguyen" for tar in tars)
    assert audit.verify(central.store).ok


def test_an_answer_lost_in_the_second_batch_sends_no_third_and_is_answered_again(central, laptops, network,
                                                                                small_batches):
    nurse, tars = claimed_offline(central, laptops, 11)
    network.fail("/v1/push", "answer-lost", after=1)
    with pytest.raises(Offline):
        nurse.sync(transport=network)
    # The first batch was acknowledged; the second was applied by the server but the laptop never heard it, so
    # the third was not sent.
    assert nurse.status()["pending"] == 7
    assert len(applied_on_server(central, nurse)) == 8
    report = nurse.sync(transport=network)
    assert (report.pushed, report.duplicates, report.applied) == (7, 4, 7)
    assert [seq for seq, _ in applied_on_server(central, nurse)] == list(range(1, 12))
    assert nurse.status()["pending"] == 0
    assert {central.case(tar).assignee.username for tar in tars} == {"nurse.nguyen"}
    assert audit.verify(central.store).ok


def test_a_cancel_between_batches_leaves_the_rest_waiting(central, laptops, network, small_batches):
    nurse, tars = claimed_offline(central, laptops, 11)
    before = network.seen.count("/v1/push")
    # The user presses Cancel while the first batch is with the server: the second is not sent.
    report = nurse.sync(transport=network, cancelled=lambda: network.seen.count("/v1/push") > before)
    assert report.cancelled and report.pushed == 4
    assert nurse.status()["pending"] == 7 and len(applied_on_server(central, nurse)) == 4
    report = nurse.sync(transport=network)
    assert (report.pushed, report.applied, report.duplicates) == (7, 7, 0)
    assert nurse.status()["pending"] == 0


def test_a_batch_stops_at_its_byte_budget_but_always_carries_one_change(central, laptops, network, monkeypatch):
    nurse, tars = claimed_offline(central, laptops, 5)
    monkeypatch.setattr(client, "PUSH_BYTES", 1)  # every change is over it: one change a request
    batches = pushed_batches(network, monkeypatch)
    report = nurse.sync(transport=network)
    assert (report.pushed, report.applied, report.duplicates) == (5, 5, 0)
    assert [batch for batch in batches if batch] == [[1], [2], [3], [4], [5]]
    assert all(central.case(tar).assignee.username == "nurse.nguyen" for tar in tars)


def test_the_byte_budget_counts_the_json_sent():
    small, large = {"seq": 1, "payload": {}}, {"seq": 2, "payload": {"pdf": "x" * 100}}
    budget = len(json.dumps(small)) + len(json.dumps(large))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client, "PUSH_BYTES", budget)
        assert client._within_bytes([small, large, small]) == [small, large]
        patch.setattr(client, "PUSH_BYTES", budget - 1)
        assert client._within_bytes([small, large, small]) == [small]
        assert client._within_bytes([large]) == [large]
        assert client._within_bytes([]) == []
