"""criteria library: criteria_sets (issue 5)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Criteria set versions held in the store: imported by an administrator (`umws criteria import`), or a shipped set
kept the first time a case applied it. A version is immutable once stored: triggers refuse UPDATE and DELETE on
SQLite and PostgreSQL, as on case_events, so a case's criteria events can always be matched to the exact content
they cite. Criterion answers and recorded facts are case events (kinds criteria-set-chosen, criterion-answered,
no-criteria-apply, fact-recorded) and need no table.
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "criteria_sets"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("set_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False,
                  comment="the set as in its file (format umws-criteria-set/1)"),
        sa.Column("sha256", sa.String(length=64), nullable=False, comment="SHA-256 of the canonical JSON of content"),
        sa.Column("origin", sa.String(length=12), nullable=False,
                  comment="imported, or shipped (kept when a case applied it)"),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=40), nullable=True, comment="username; None: the system"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index("uq_criteria_sets_set_version", ["set_id", "version"], unique=True)
    _immutable(TABLE)


def _immutable(table: str) -> None:
    """Refuse UPDATE and DELETE: a stored criteria version is cited by cases and never changes."""
    message = f"{table} is append-only: import a new version instead"
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    else:
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {TABLE}_append_only()")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("uq_criteria_sets_set_version")
    op.drop_table(TABLE)
