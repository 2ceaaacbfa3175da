"""Cases decided through the real services, with the reviewer's criteria work, for the IRR tests."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from app.services.cases import NewCase, NewLine, claim_case, decide_case, receive_case
from app.services.criteria import answer_criterion, choose_set
from app.store.models import Member, Provider

from app.domain.plantime import to_plan

# Criteria work is recorded at the current instant (the criteria services take no time), so decisions are made now.
NOW = datetime.now(timezone.utc)
YEAR = to_plan(NOW).year
RECEIVED = NOW - timedelta(hours=20)


def act(store, fn, *args, **kwargs):
    with store.session() as session, session.begin():
        return fn(session, *args, **kwargs)


def decided_case(store, tar: str, *, decider: str = "dr.shah", answer: str = "met", outcome: str = "approve",
                 received: datetime | None = None) -> str:
    """An infliximab TAR: the decider applies med-infliximab, answers every criterion `answer` with an evidence
    note naming the TAR and the criterion, and decides `outcome`."""
    received = received or RECEIVED
    with store.session() as session, session.begin():
        member = Member(id=uuid.uuid4(), cin=f"8{tar[-7:]}Z", first_name="Test", last_name=f"Member{tar[-4:]}",
                        birth_date=date(1980, 1, 1), sex="F")
        session.add(member)
        provider = session.scalars(select(Provider)).first()
        receive_case(session, NewCase(
            tar=tar, line_of_business="medi-cal", service_category="medication", review_timing="pre-service",
            urgency="routine", received_at=received, member=member, requesting_provider_id=provider.id,
            place_of_service="11", proposed_date=date(2026, 12, 1),
            lines=[NewLine("J1745", "infliximab 10 mg", 50, date(2026, 12, 1), date(2026, 12, 1))],
            diagnoses=[("K50.90", "Crohn's disease")]), None)
    act(store, claim_case, tar, decider)
    state = act(store, choose_set, tar, decider, "med-infliximab")
    for criterion in state.set.criteria():
        act(store, answer_criterion, tar, decider, criterion.id, answer, f"SECRET-EVIDENCE-{tar}-{criterion.id}",
            override_reason="reviewer's reading of the chart")
    act(store, decide_case, tar, decider, outcome=outcome, rationale=f"SECRET-RATIONALE-{tar}",
        member_reason="The drug is not needed for your condition now." if outcome != "approve" else "")
    return tar
