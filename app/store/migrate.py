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
    """Bring the schema up to `revision` inside one transaction per step."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
