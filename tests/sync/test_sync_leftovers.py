"""A first pull again lets go of the laptop's cases it did not bring (app.sync.leftovers.let_go_unlisted), except
those with a change not settled by a pulled copy yet: unsent, or answered but not followed by the server's copy (a
refused intake stays with its conflict). On a real encrypted local store."""
from __future__ import annotations

from sqlalchemy import select, update

from app.services import cases as svc, demo, intents
from app.store.models import Case, SyncOutbox
from app.sync import leftovers


def test_a_first_pull_again_keeps_the_cases_whose_changes_are_not_settled(local_store):
    demo.generate(local_store, 30, seed=4)
    with local_store.session() as session:
        tars = session.scalars(select(Case.tar).where(Case.status == "received").order_by(Case.tar)).all()[:4]
    with local_store.session() as session, session.begin():
        intents.enroll(session, "https://central.example.test")  # the claims below go into the outbox
    for tar in tars:
        with local_store.session() as session, session.begin():
            svc.claim_case(session, tar, "nurse.garcia")
    states = dict(zip(tars, ("pending", "acked", "done", None)))  # None: no change of this laptop at all
    with local_store.session() as session, session.begin():
        for tar, state in states.items():
            case_id = session.scalar(select(Case.id).where(Case.tar == tar))
            if state is None:
                session.execute(update(SyncOutbox).where(SyncOutbox.case_id == case_id).values(case_id=None))
            else:
                session.execute(update(SyncOutbox).where(SyncOutbox.case_id == case_id).values(state=state))
        everything = set(session.scalars(select(Case.tar)))
    with local_store.session() as session, session.begin():  # the last page of a first pull that brought nothing
        leftovers.let_go_unlisted(session, {"mode": "full", "cases": [], "more": False}, None)
    with local_store.session() as session:
        left = set(session.scalars(select(Case.tar)))
    assert len(tars) == 4 and left == {tars[0], tars[1]}, (everything - left)
