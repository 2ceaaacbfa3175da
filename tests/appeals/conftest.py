"""Appeals tests: the workflow tests' store with the demo users, and a case maker that records a denial (and, when
asked, issues its member notice) at instants in the past, so that the appeal windows can be tested at their edges."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from app.domain.plantime import PLAN_TZ
from app.services import cases as svc
from app.services import letters
from app.store.models import Case
from tests.workflow.conftest import CaseMaker, local_workflow_store, workflow_store  # noqa: F401 - fixtures

PT = svc.CriteriaCitation("outpatient-physical-therapy", "2026.1")
REASON = "Medi-Cal does not cover this service. Your doctor can ask for other care we cover."


def plan_instant(day, hour: int = 10) -> datetime:
    """`hour` o'clock plan time on the plan-local `day`, as a UTC instant."""
    return datetime.combine(day, time(hour), tzinfo=PLAN_TZ).astimezone(timezone.utc)


def do(store, action, *args, **kwargs):
    with store.session() as session, session.begin():
        return action(session, *args, **kwargs)


class Denials:
    """Cases denied (or modified) by dr.morales, Orthopaedic Surgery, with the member's notice issued or not."""

    def __init__(self, store):
        self.store = store
        self.make = CaseMaker(store)

    def __call__(self, *, days_ago: int = 20, timing: str = "pre-service", outcome: str = "deny",
                 issue: bool = True, language: str = "en", lob: str = "medi-cal", category: str = "outpatient",
                 specialty: str = "Orthopaedic Surgery", decider: str = "dr.morales") -> str:
        today = datetime.now(timezone.utc).astimezone(PLAN_TZ).date()
        decided = plan_instant(today - timedelta(days=days_ago))
        tar = self.make(received=decided - timedelta(days=2), timing=timing, lob=lob, category=category)
        with self.store.session() as session, session.begin():
            case = session.scalar(select(Case).where(Case.tar == tar))
            member = case.member
            member.address_line, member.city, member.state, member.postal_code = "1 Elm St", "Napa", "CA", "94558"
            member.language = language
            case.requesting_provider.specialty = specialty
            svc.claim_case(session, tar, decider, at=decided - timedelta(hours=1))
            svc.decide_case(session, tar, decider, outcome=outcome, basis="benefit", rationale="Not a benefit",
                            member_reason=REASON, criteria=[PT], criteria_result="not-met",
                            lines={1: 3} if outcome == "partial" else None, at=decided)
        if issue:
            self.issue(tar, "member", at=decided + timedelta(hours=1))
        return tar

    def issue(self, tar: str, recipient: str = "member", *, at: datetime | None = None, kind: str | None = None):
        with self.store.session() as session, session.begin():
            letter = next(l for l in letters.case_letters(session, tar)
                          if l.recipient == recipient and l.status in ("draft", "translation-needed")
                          and (kind is None or l.kind == kind))
            return letters.issue_letter(session, letter.id, "coord.jones", at=at)


@pytest.fixture
def denials(workflow_store):
    return Denials(workflow_store)


@pytest.fixture
def local_denials(local_workflow_store):
    return Denials(local_workflow_store)
