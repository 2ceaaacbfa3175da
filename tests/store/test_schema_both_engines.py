"""The same migration chain and the same rules on encrypted SQLite and on a real PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DatabaseError

from app.services import demo
from app.services.cases import ActionRefused, assign_case, claim_case
from app.store import migrate
from app.store.models import Case, CaseEvent, User
from app.store.worklist import WorklistQuery, viewer_for


def test_chain_creates_every_table(any_store):
    tables = set(inspect(any_store.engine).get_table_names())
    assert {"members", "providers", "users", "cases", "request_lines", "diagnoses", "clinical_notes",
            "case_events", "alembic_version"} <= tables
    assert migrate.current_revision(any_store.engine) == migrate.head_revision()


def test_upgrade_is_idempotent(any_store):
    migrate.upgrade(any_store.engine)
    assert migrate.current_revision(any_store.engine) == migrate.head_revision()


def test_downgrade_and_upgrade_again(any_store):
    demo.generate(any_store, 20, seed=2)
    migrate.downgrade(any_store.engine, "0001")  # a step down with data in every table
    with any_store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case.__table__)) == 20
    migrate.downgrade(any_store.engine, "base")
    assert "cases" not in inspect(any_store.engine).get_table_names()
    migrate.upgrade(any_store.engine)
    assert "cases" in inspect(any_store.engine).get_table_names()


def test_instants_come_back_aware_in_utc(any_store):
    demo.generate(any_store, 5, seed=3)
    with any_store.session() as session:
        received = session.scalars(select(Case.received_at)).all()
    assert all(value.tzinfo is not None and value.utcoffset() == timedelta(0) for value in received)


def test_events_are_append_only(any_store):
    demo.generate(any_store, 3, seed=4)
    for statement in ("UPDATE case_events SET kind = 'forged'", "DELETE FROM case_events"):
        with pytest.raises(DatabaseError, match="append-only"):
            with any_store.engine.begin() as connection:
                connection.execute(text(statement))
    with any_store.session() as session:
        assert session.scalar(select(CaseEvent.kind).limit(1)) == "received"


def test_claim_and_assign_write_events_on_both_engines(any_store):
    demo.generate(any_store, 60, seed=5)
    with any_store.session() as session:
        nurse = viewer_for(session, "nurse.nguyen")
        tar = WorklistQuery("unassigned", nurse).page(session, 0, 1)[0].tar
    with any_store.session() as session, session.begin():
        claim_case(session, tar, "nurse.nguyen")
    with any_store.session() as session:
        mine = [row.tar for row in WorklistQuery("mine", nurse).page(session, 0, 1000)]
        assert tar in mine
        case = session.scalar(select(Case).where(Case.tar == tar))
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
        assert kinds.count("claimed") == 1 and case.status == "in-review"
    with any_store.session() as session, session.begin():
        with pytest.raises(ActionRefused, match="held by nurse.nguyen"):
            claim_case(session, tar, "nurse.garcia")
    with any_store.session() as session, session.begin():
        with pytest.raises(ActionRefused, match="Only a nurse supervisor"):
            assign_case(session, tar, "nurse.nguyen", "nurse.garcia")
    with any_store.session() as session, session.begin():
        assign_case(session, tar, "lead.patel", "nurse.garcia")
    with any_store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        assert case.assignee.username == "nurse.garcia"
        payload = session.scalars(select(CaseEvent.payload).where(CaseEvent.case_id == case.id,
                                                                  CaseEvent.kind == "assigned")).one()
        assert payload["from"] == "nurse.nguyen" and payload["to"] == "nurse.garcia"


def test_keys_are_uuids_made_by_the_client(any_store):
    demo.generate(any_store, 2, seed=6)
    with any_store.session() as session:
        ids = session.scalars(select(User.id)).all()
    assert all(isinstance(value, uuid.UUID) for value in ids)


def test_models_and_migrations_agree(any_store):
    """The chain builds exactly what the models declare (a model change without its migration fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.store.models import Base

    def outside_the_chain(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and name.startswith("case_search"))  # app.store.search: derived, SQLite only

    with any_store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": outside_the_chain})
        differences = compare_metadata(context, Base.metadata)
    # Autogenerate cannot see expression indexes (ix_cases_open_timing sorts urgency DESC, ix_cases_open_running_due
    # leads with the decided-state expression): ignore those only.
    differences = [d for d in differences
                   if not (d[0] in ("add_index", "remove_index") and d[1].name in ("ix_cases_open_timing",
                                                                                  "ix_cases_open_running_due"))]
    assert differences == []


def test_the_expression_indexes_survive_the_whole_chain(any_store):
    """Autogenerate cannot compare expression indexes (above), and SQLite's batch mode drops them when it rebuilds a
    table: check they are there after every migration, and after a downgrade and upgrade of the newest ones."""
    from sqlalchemy import inspect

    from app.store import migrate

    expected = {"ix_cases_open_timing", "ix_cases_open_running_due"}

    def names() -> set[str]:
        if any_store.is_sqlite:
            with any_store.engine.connect() as connection:
                rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                  "AND tbl_name = 'cases'").all()
            return {name for (name,) in rows}
        return {index["name"] for index in inspect(any_store.engine).get_indexes("cases")}

    assert expected <= names()
    migrate.downgrade(any_store.engine, "0005")
    migrate.upgrade(any_store.engine)
    assert expected <= names()
