"""Echoes (migration 0021, app.server.push.ECHOES), against a real PostgreSQL and a real server process: a change the
server did exactly as the laptop had is not pulled back, and the laptop's copy is the server's, table by table, its
lease included; a change merged over someone else's work, and a case whose server copy a pull left aside for an
unsent change, still come back."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import httpx
from sqlalchemy import select

from app.server import push
from app.server.pull import snapshots
from app.services import cases as svc, criteria
from app.store.models import Case, IntakeDocument, SyncMutation, SyncOutbox

PT_SET = "outpatient-physical-therapy"


def snapshot(store, tar: str) -> dict | None:
    """The case with everything that belongs to it, as the pull sends it (rows sorted, so two copies compare)."""
    with store.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.tar == tar))
        if case_id is None:
            return None
        [snap] = snapshots(session, [case_id])
    return {table: sorted(rows, key=lambda row: json.dumps(row, sort_keys=True)) if isinstance(rows, list) else rows
            for table, rows in snap.items()}


def first_criterion(session, tar: str, username: str) -> str:
    sheet = criteria.choose_set(session, tar, username, PT_SET)
    return next(row.node.id for row in sheet.rows if not row.is_group)


def _steps(chosen: list[str]):
    """(intent, who, action, whether the case stays in that user's queues afterwards): every intent of ECHOES."""
    return [
        ("claim", "nurse", lambda s, t, u: svc.claim_case(s, t, u), True),
        ("record-fact", "nurse", lambda s, t, u: criteria.record_fact(s, t, u, "weight_kg", 70), True),
        ("declare-involvement", "nurse", lambda s, t, u: svc.declare_involvement(s, t, u, note="saw her"), True),
        ("pend", "nurse", lambda s, t, u: svc.pend_case(s, t, u, missing=["notes"]), True),
        ("information-received", "nurse", lambda s, t, u: svc.record_information_received(s, t, u, note="in"), True),
        ("choose-criteria-set", "nurse", lambda s, t, u: chosen.append(first_criterion(s, t, u)), True),
        ("answer-criterion", "nurse",
         lambda s, t, u: criteria.answer_criterion(s, t, u, chosen[0], "met", evidence="PT notes"), True),
        ("extend", "nurse", lambda s, t, u: svc.extend_case(s, t, u, reason="information-needed", note="more"), True),
        ("assign", "lead", lambda s, t, u: svc.assign_case(s, t, u, "nurse.nguyen"), True),
        ("refer", "nurse", lambda s, t, u: svc.refer_case(s, t, u, to="physician", summary="needs a physician"),
         False),
        ("claim", "md", lambda s, t, u: svc.claim_case(s, t, u), True),
        ("decide", "md", lambda s, t, u: svc.decide_case(s, t, u, outcome="approve", rationale="meets criteria"),
         True),
        ("notify", "md", lambda s, t, u: svc.record_notification(s, t, u, recipient="provider"), True),
        ("notify", "md", lambda s, t, u: svc.record_notification(s, t, u, recipient="member", method="mail"), True),
        ("close", "md", lambda s, t, u: svc.close_case(s, t, u), False),
    ]


def test_every_echo_leaves_the_laptop_holding_the_servers_copy_without_pulling_it_back(central, laptops):
    tar = central.new_case()
    people = {"nurse": laptops("nurse.nguyen"), "lead": laptops("lead.patel"), "md": laptops("dr.shah")}
    for laptop in people.values():
        laptop.sync()
    chosen: list[str] = []
    done = set()
    for intent, who, action, stays in _steps(chosen):
        laptop = people[who]
        laptop.act(action, tar)
        report = laptop.sync()
        assert (report.pushed, report.echoes, report.pulled_cases) == (1, 1, 0), intent
        if stays:
            assert snapshot(laptop.store, tar) == snapshot(central.store, tar), intent
        else:  # out of the user's queues: the pull lists it gone although it sends nothing of it
            assert laptop.case(tar) is None, intent
        for other in people.values():  # the others' laptops are told as before
            other.sync()
        done.add(intent)
    assert done == push.ECHOES  # each intent answered as an echo is checked here, table by table
    with central.store.session() as session:
        assert all(session.scalars(select(SyncMutation.echo).where(SyncMutation.tar == tar)))


def test_a_change_merged_over_someone_elses_work_is_pulled_back(central, laptops):
    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.declare_involvement, tar, note="saw her")  # commutes with the supervisor's change below
    central.act(svc.assign_case, tar, "lead.patel", assignee_username="nurse.nguyen")
    report = nurse.sync()
    assert (report.merged, report.echoes) == (1, 0)
    assert snapshot(nurse.store, tar) == snapshot(central.store, tar)


def test_an_echo_pushed_offline_twice_is_answered_once_and_still_not_pulled_back(central, laptops, network):
    """The push's answer is lost after the server committed: the second push gets the first answer, echo and
    lease included, and the case still does not come down."""
    from app.sync.api import Offline

    tar = central.new_case()
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    nurse.act(svc.claim_case, tar)
    network.fail("/v1/push", "answer-lost")
    try:
        nurse.sync(transport=network)
    except Offline:
        pass
    network.plan.clear()
    report = nurse.sync()
    assert (report.duplicates, report.echoes, report.pulled_cases) == (1, 1, 0)
    assert snapshot(nurse.store, tar) == snapshot(central.store, tar)


def test_a_copy_left_aside_for_an_unsent_change_comes_after_the_push_even_when_it_is_an_echo(central, laptops):
    """The central store confirms a document of the case (a change that moves no case version); the nurse claims
    the case during her next sync, after its push: the pull leaves the server's copy aside for the unsent claim.
    The sync's last push sends the claim, which the server does as the laptop did (an echo), but the case comes
    down at the next pull anyway, with the confirmation."""
    tar = central.new_case()
    now = datetime.now(timezone.utc)
    with central.store.session() as session, session.begin():
        case_id = session.scalar(select(Case.id).where(Case.tar == tar))
        document = IntakeDocument(id=uuid.uuid4(), case_id=case_id, file_name="fax.pdf", stored_path="/central/fax",
                                  sha256="cd" * 32, media_type="application/pdf", pages=1, received_at=now,
                                  attached_at=now, attached_by=None)
        session.add(document)
    nurse = laptops("nurse.nguyen")
    nurse.sync()
    with central.store.session() as session, session.begin():
        session.get(IntakeDocument, document.id).stored_centrally_at = now

    class ClaimWhilePulling(httpx.HTTPTransport):
        """The nurse claims the case once the push is over, as the pull's request leaves."""

        def handle_request(self, request):
            if request.url.path == "/v1/pull" and not claimed:
                claimed.append(nurse.act(svc.claim_case, tar))
            return super().handle_request(request)

    claimed: list = []
    with ClaimWhilePulling() as transport:
        report = nurse.sync(transport=transport)
    assert claimed and tar in report.skipped  # the server's copy came while the claim was unsent
    # The sync's last push (after the pull) sends the claim; the server did it as the laptop had: an echo.
    with nurse.store.session() as session:
        row = session.scalar(select(SyncOutbox).where(SyncOutbox.tar == tar))
        assert (row.copy_waiting, row.state, row.outcome) == (True, "acked", "applied")
    with central.store.session() as session:
        assert session.scalar(select(SyncMutation.echo).where(SyncMutation.mutation_id == row.mutation_id))
    report = nurse.sync()
    assert report.pulled_cases == 1  # the case came down, with the confirmation
    assert snapshot(nurse.store, tar) == snapshot(central.store, tar)
    with nurse.store.session() as session:
        assert session.get(IntakeDocument, document.id).stored_centrally_at is not None
        assert session.scalar(select(SyncOutbox.state).where(SyncOutbox.tar == tar)) == "done"
