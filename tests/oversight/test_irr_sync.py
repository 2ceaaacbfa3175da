"""IRR writes go up from a laptop: each is a named intent in the outbox, and replaying it does the same (issue 9's
outbox, issue 14's services)."""
from __future__ import annotations

from sqlalchemy import select

from app.services import demo, intents, irr
from app.services.intents import INTENTS, Call, decode
from app.store.models import IrrAnswer, IrrSample, SyncOutbox
from tests.oversight.helpers import YEAR, act, decided_case


def test_irr_writes_are_outbox_intents_that_replay(local_store):
    store = local_store
    demo.generate(store, 0, seed=3)
    decided_case(store, "95000000001")
    with store.session() as session, session.begin():
        intents.enroll(session, "https://umws.example:8765")
    act(store, irr.draw_sample, "lead.patel", year=YEAR, seed=9)
    with store.session() as session:
        item_id = session.scalar(select(IrrSample.id))
        from app.store.models import IrrItem

        item = session.scalar(select(IrrItem))
    act(store, irr.record_answer, "auditor.brown", item_id=item.id, criterion_id="tb", answer="met", note="IGRA")
    with store.session() as session:
        rows = session.scalars(select(SyncOutbox).order_by(SyncOutbox.seq)).all()
        assert [r.intent for r in rows] == ["irr-draw-sample", "irr-answer"]
        assert rows[0].tar is None and rows[0].actor == "lead.patel"
        assert rows[0].payload["year"] == YEAR and rows[0].payload["seed"] == 9
        answer = rows[1]
    # the central store replays the same call with the same rules; ids are derived, so the rows are the same
    spec = INTENTS["irr-answer"]
    with store.session() as session, session.begin():
        spec.replay(session, Call(None, answer.actor, answer.payload))
    with store.session() as session:
        answers = session.scalars(select(IrrAnswer).order_by(IrrAnswer.seq)).all()
        assert [(a.criterion_id, a.answer, a.note) for a in answers] == [("tb", "met", "IGRA")] * 2
    assert decode(answer.payload)["item_id"] == item.id
    assert item_id is not None
    assert {"irr-draw-sample", "irr-answer", "irr-submit", "irr-open-plan", "irr-plan-action-done",
            "irr-plan-re-audit-drawn", "irr-plan-re-audit-recorded", "irr-plan-closed"} <= set(INTENTS)
