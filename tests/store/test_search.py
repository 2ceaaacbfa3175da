"""The quick filter's trigram index stays in step with the cases and survives a migration that rebuilds it."""
from __future__ import annotations

from sqlalchemy import select, text, update

from app.services import demo
from app.store import migrate
from app.store.models import Case
from app.store.worklist import WorklistQuery, viewer_for


def _tars(store, words: str) -> set[str]:
    with store.session() as session:
        viewer = viewer_for(session, "lead.patel")
        query = WorklistQuery("all-open", viewer, words)
        return {row.tar for row in query.page(session, 0, 10_000)}


def _expected(store, words: str) -> set[str]:
    with store.session() as session:
        rows = session.execute(select(Case.tar, Case.member_name, Case.service_summary)
                               .where(Case.status != "closed")).all()
    return {tar for tar, member, service in rows
            if all(w.lower() in f"{tar} {member} {service}".lower() for w in words.split())}


def test_filter_matches_substrings_in_any_case_on_both_engines(any_store):
    demo.generate(any_store, 300, seed=31)
    for words in ("lumbar", "LUMBAR mri", "an", "9000000", "arthroscopy knee", "zzzq"):
        assert _tars(any_store, words) == _expected(any_store, words), words


def test_index_follows_inserts_and_updates(local_store):
    demo.generate(local_store, 50, seed=32)
    with local_store.session() as session, session.begin():
        case = session.scalars(select(Case).where(Case.status != "closed")).first()
        session.execute(update(Case).where(Case.id == case.id).values(member_name="Quokkafield, Ana"))
    assert _tars(local_store, "quokkafield") == {case.tar}
    assert _tars(local_store, "okkaf ana") == {case.tar}
    demo.generate(local_store, 20, seed=33)
    assert _tars(local_store, "lumbar") == _expected(local_store, "lumbar")


def test_index_is_rebuilt_after_a_migration(local_store):
    demo.generate(local_store, 40, seed=34)
    with local_store.engine.begin() as connection:
        connection.execute(text("INSERT INTO case_search(case_search) VALUES ('delete-all')"))
    assert _expected(local_store, "lumbar"), "demo data has lumbar MRIs"
    migrate.upgrade(local_store.engine)  # nothing to migrate: the index is left as it is
    assert _tars(local_store, "lumbar") == set()
    migrate.downgrade(local_store.engine, "0001")  # a store with cases goes down a step (tables rebuilt) ...
    migrate.upgrade(local_store.engine)  # ... and up again: the index is rebuilt
    with local_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert _tars(local_store, "lumbar") == _expected(local_store, "lumbar")
