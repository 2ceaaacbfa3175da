"""Stay fixtures: a store with the demo users and providers, and admissions made through `admit_stay`."""
from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.services import demo
from app.services import stays as svc
from app.store.models import AuditRecord, Case, CaseEvent, Member, Provider, StayDay

PT = ZoneInfo("America/Los_Angeles")
_tars = itertools.count(1)


def plan_today() -> date:
    return datetime.now(timezone.utc).astimezone(PT).date()


class StayMaker:
    def __init__(self, store):
        self.store = store

    def member(self, birth: date = date(1958, 3, 2)) -> uuid.UUID:
        with self.store.session() as session, session.begin():
            member = Member(id=uuid.uuid4(), cin=f"7{uuid.uuid4().int % 10**7:07d}S", first_name="Stay",
                            last_name=f"Member{next(_tars)}", birth_date=birth, sex="M", language="en")
            session.add(member)
            return member.id

    def providers(self) -> list[Provider]:
        with self.store.session() as session:
            return list(session.scalars(select(Provider).order_by(Provider.npi)))

    def admit(self, *, member: uuid.UUID | None = None, admitted: datetime | None = None,
              notified: datetime | None = None, level: str = "acute", days: int = 3, kind: str = "emergency",
              by: str = "nurse.garcia", facility: int = 0, at: datetime | None = None) -> svc.Admitted:
        member = member or self.member()
        now = datetime.now(timezone.utc)
        admitted = admitted or now - timedelta(days=1)
        notified = notified or admitted + timedelta(hours=2)
        tar = f"6{next(_tars):010d}"
        with self.store.session() as session, session.begin():
            providers = list(session.scalars(select(Provider).order_by(Provider.npi)))
            result = svc.admit_stay(session, svc.NewStay(
                tar=tar, line_of_business="medi-cal", member=session.get(Member, member),
                facility_id=providers[facility].id, admitted_at=admitted, notified_at=notified, level_of_care=level,
                admission_type=kind, requested_days=days, attending_physician_id=providers[-1].id,
                diagnoses=[("J18.9", "Pneumonia, unspecified organism")]), by, at=at)
            return result

    def counts(self, tar: str) -> tuple[int, int, int, int]:
        """(case version, events of the case, audit records, ledger rows in the store)."""
        with self.store.session() as session:
            case = session.scalar(select(Case).where(Case.tar == tar))
            events = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
            records = session.scalar(select(func.count()).select_from(AuditRecord))
            days = session.scalar(select(func.count()).select_from(StayDay))
            return case.version, events, records, days


@pytest.fixture
def stay_store(any_store):
    demo.generate(any_store, 0, seed=11)
    return any_store


@pytest.fixture
def local_stay_store(local_store):
    demo.generate(local_store, 0, seed=11)
    return local_store


@pytest.fixture
def stays(stay_store):
    return StayMaker(stay_store)


@pytest.fixture
def local_stays(local_stay_store):
    return StayMaker(local_stay_store)
