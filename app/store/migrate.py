"""Schema migrations: the one Alembic chain in `migrations/`, run on SQLite and PostgreSQL alike (issue 3, scope 4)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.store.errors import SchemaTooNew

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def refuse_newer_schema(engine: Engine) -> None:
    """A store written by a newer release is left alone: this release cannot know what its tables mean."""
    revision = current_revision(engine)
    if revision is None:
        return
    script = ScriptDirectory.from_config(_config())
    try:
        script.get_revision(revision)
    except Exception as error:  # alembic raises several kinds for an unknown id
        raise SchemaTooNew(
            f"This store was written by a newer version of the workstation (schema {revision}). Nothing was "
            "changed. Install the current version of the workstation and start again."
        ) from error


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision`, then make sure the derived quick-filter index is whole."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` (for tests and for an administrator undoing an upgrade)."""
    _run(engine, command.downgrade, revision)


def _run(engine: Engine, step, revision: str) -> None:
    """Run an Alembic step in one transaction.

    On SQLite, a step that rebuilds a table (batch mode: copy, drop, rename) would trip the foreign keys of the rows
    that point at it, so they are switched off for the step and checked as a whole before it commits (the
    procedure of https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes").
    """
    from app.store import search

    config = _config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.rollback()
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                before = MigrationContext.configure(connection).get_current_revision()
                config.attributes["connection"] = connection
                step(config, revision)
                after = MigrationContext.configure(connection).get_current_revision()
                if sqlite and before != after:  # a whole-store check: seconds on a large store, so only after a step
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration to {revision} would break {len(broken)} references")
                if after is not None:
                    search.ensure(connection, rebuild=before != after)
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
