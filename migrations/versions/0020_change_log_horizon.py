"""sync_changes.changed_at and sync_counter.horizon: the change log can be pruned behind a horizon (issue 9)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

The central change log grows by one row per changed case. `umws server prune-changes` deletes the rows older than
a number of days (app.server.change_log) and keeps the lowest change number still served in
`sync_counter.horizon`; a pull whose cursor is behind it is answered with a first pull again (app.server.pull).

* `sync_changes.changed_at`: when the change was numbered. On PostgreSQL the rows the log holds already take the
  time of this upgrade (so they are kept for the horizon's days from now), and new rows `clock_timestamp()`: the
  log's trigger numbers a change at commit under the counter's lock, so the times rise with the numbers (now()
  would be the transaction's start, earlier than changes numbered before it). A laptop's store has the table and
  never writes it (the column is nullable there, with no default).
* `sync_counter.horizon`: 0 until the log is first pruned (every cursor is served).
"""
import sqlalchemy as sa
from alembic import op


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True,
                                      server_default=sa.text("now()") if postgres else None,
                                      comment="when the change was numbered (pruning: app.server.change_log)"))
        batch_op.create_index("ix_sync_changes_changed_at", ["changed_at"], unique=False)
    if postgres:
        op.execute("ALTER TABLE sync_changes ALTER COLUMN changed_at SET DEFAULT clock_timestamp()")
    with op.batch_alter_table("sync_counter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("horizon", sa.BigInteger(), nullable=False, server_default=sa.text("0"),
                                      comment="the lowest change number still served (0: never pruned)"))


def downgrade() -> None:
    with op.batch_alter_table("sync_counter", schema=None) as batch_op:
        batch_op.drop_column("horizon")
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_changes_changed_at")
        batch_op.drop_column("changed_at")
