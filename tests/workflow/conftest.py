"""Fixtures for the workflow tests: a store with the demo users (and their demo passwords) and cases made on
demand through `receive_case`, with the category, member age, lines and receipt each test needs."""
from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.services import demo
from app.services.cases import NewCase, NewLine, receive_case
from app.store.models import AuditRecord, Case, CaseEvent, Member, Provider

_tars = itertools.count(1)
ADULT = date(1970, 5, 17)
CHILD = date(2015, 5, 17)


class CaseMaker:
    def __init__(self, store):
        self.store = store

    def __call__(self, *, category: str = "outpatient", lob: str = "medi-cal", timing: str = "pre-service",
                 urgency: str = "routine", received: datetime | None = None, birth: date | None = ADULT,
                 lines: tuple[tuple[str, int], ...] = (("97110", 6), ("97140", 4)),
                 same_member_as: str | None = None) -> str:
        tar = f"8{next(_tars):010d}"
        received = received or datetime.now(timezone.utc) - timedelta(hours=1)
        with self.store.session() as session, session.begin():
            if same_member_as:
                member = session.scalar(select(Case).where(Case.tar == same_member_as)).member
            else:
                member = Member(id=uuid.uuid4(), cin=f"8{uuid.uuid4().int % 10**7:07d}X", first_name="Test",
                                last_name=f"Member{tar[-4:]}", birth_date=birth, sex="F", language="en")
                session.add(member)
            provider = session.scalars(select(Provider).order_by(Provider.npi).limit(1)).one()
            receive_case(session, NewCase(
                tar=tar, line_of_business=lob, service_category=category, review_timing=timing, urgency=urgency,
                received_at=received, member=member, requesting_provider_id=provider.id,
                lines=[NewLine(code, f"service {code}", units) for code, units in lines],
                diagnoses=[("M54.50", "Low back pain")]), actor=None)
        return tar

    def counts(self, tar: str) -> tuple[int, int, int]:
        """(case version, events of the case, audit records in the store)."""
        with self.store.session() as session:
            case = session.scalar(select(Case).where(Case.tar == tar))
            events = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
            records = session.scalar(select(func.count()).select_from(AuditRecord))
            return case.version, events, records

    def case(self, tar: str) -> Case:
        with self.store.session() as session:
            case = session.scalar(select(Case).where(Case.tar == tar))
            case.assignee  # load
            return case


@pytest.fixture
def workflow_store(any_store):
    demo.generate(any_store, 0, seed=11)
    return any_store


@pytest.fixture
def local_workflow_store(local_store):
    demo.generate(local_store, 0, seed=11)
    return local_store


@pytest.fixture
def make_case(workflow_store):
    return CaseMaker(workflow_store)


@pytest.fixture
def make_local_case(local_workflow_store):
    return CaseMaker(local_workflow_store)
