"""enrolment_month_counts (migration 0018): the members enrolled per month and line, kept by the database's
triggers in the transaction of every change of an enrolment month, equal the enrolment months counted row by row,
and the figures' member-months read them (both engines)."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, func, insert, select, update

from app.store import migrate
from app.store.models import EnrolmentMonth, EnrolmentMonthCount, Member
from app.store.stay_figures import stay_figures


def counted(store) -> dict[tuple[date, str], int]:
    with store.session() as session:
        kept = {(m, lob): n for m, lob, n in session.execute(select(
            EnrolmentMonthCount.month, EnrolmentMonthCount.line_of_business, EnrolmentMonthCount.members)) if n}
        rows = dict(((m, lob), n) for m, lob, n in session.execute(
            select(EnrolmentMonth.month, EnrolmentMonth.line_of_business, func.count())
            .group_by(EnrolmentMonth.month, EnrolmentMonth.line_of_business)))
    assert kept == rows
    return kept


def test_the_counts_follow_every_insert_change_and_delete(any_store):
    members = [uuid.uuid4() for _ in range(5)]
    months = [date(2026, m, 1) for m in (1, 2, 3)]
    with any_store.session() as session, session.begin():
        session.execute(insert(Member.__table__), [{"id": m, "first_name": "Enrolled", "last_name": f"M{n}",
                                                    "sex": "U", "language": "en"} for n, m in enumerate(members)])
        session.execute(insert(EnrolmentMonth.__table__), [  # one statement, many rows: a bulk load
            {"id": uuid.uuid4(), "member_id": member, "month": month,
             "line_of_business": "medi-cal" if n < 3 else "medicare-dsnp"}
            for n, member in enumerate(members) for month in months])
    assert counted(any_store) == {**{(m, "medi-cal"): 3 for m in months}, **{(m, "medicare-dsnp"): 2 for m in months}}
    with any_store.session() as session, session.begin():
        session.add(EnrolmentMonth(member_id=members[0], month=date(2026, 4, 1), line_of_business="medi-cal"))
        session.execute(update(EnrolmentMonth).where(EnrolmentMonth.member_id == members[1],
                                                     EnrolmentMonth.month == months[0])
                        .values(line_of_business="medicare-dsnp"))  # the member changed lines that month
        session.execute(delete(EnrolmentMonth).where(EnrolmentMonth.member_id == members[4]))
    kept = counted(any_store)
    assert kept[(months[0], "medi-cal")] == 2 and kept[(months[0], "medicare-dsnp")] == 2
    assert kept[(months[1], "medicare-dsnp")] == 1 and kept[(date(2026, 4, 1), "medi-cal")] == 1
    with any_store.session() as session:
        figures = stay_figures(session, date(2026, 1, 15), date(2026, 3, 31), today=date(2026, 6, 1))
    assert figures["member_months"] == sum(n for (month, _), n in kept.items() if month <= months[-1]) == 12


def test_the_migration_fills_the_counts_from_the_months_recorded_and_goes_back(any_store):
    member = uuid.uuid4()
    with any_store.session() as session, session.begin():
        session.execute(insert(Member.__table__).values(id=member, first_name="Enrolled", last_name="Before",
                                                        sex="U", language="en"))
    migrate.downgrade(any_store.engine, "0017")  # a store of the release before: enrolment months, no counts
    with any_store.engine.begin() as connection:
        connection.execute(insert(EnrolmentMonth.__table__), [
            {"id": uuid.uuid4(), "member_id": member, "month": date(2026, m, 1), "line_of_business": "medi-cal"}
            for m in range(1, 7)])
    migrate.upgrade(any_store.engine)
    assert counted(any_store) == {(date(2026, m, 1), "medi-cal"): 1 for m in range(1, 7)}
    with any_store.session() as session, session.begin():  # and the triggers keep them from now on
        session.execute(delete(EnrolmentMonth).where(EnrolmentMonth.month == date(2026, 6, 1)))
    assert counted(any_store) == {(date(2026, m, 1), "medi-cal"): 1 for m in range(1, 6)}
