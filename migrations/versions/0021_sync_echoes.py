"""Echoes: a case changed only by a laptop's own push is not sent back to that laptop (issue 9)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

A pushed change the server did exactly as the laptop had done it leaves the laptop's copy of the case as the
server's, but for the lease the server took (app.server.push, `ECHOES`). The push answer carries that lease, and the
laptop's next pull leaves the case out (app.server.pull), so 10,000 changes are not sent straight back.

* `sync_changes.xact` (central): the transaction that made the change, written by the change log's trigger
  (`pg_current_xact_id()`, as a bigint); a laptop's store has the column and never writes it.
* `sync_mutations.xact` (central): the transaction that answered the change (its default, on PostgreSQL), and
  `sync_mutations.echo`: whether the answer left the laptop's copy of the case as the server's. A pull skips a
  change-log row of a case when the transaction that made it answered only echoes of the caller's device on
  that case.
* `sync_outbox.copy_waiting` (laptop): a pull brought the server's copy of the case while this change was still
  unsent, and left it aside; the case is then pulled again after the push whatever the answer.
"""
import sqlalchemy as sa
from alembic import op


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

XACT = "pg_current_xact_id()::text::bigint"

LOG_CHANGE = """
    CREATE OR REPLACE FUNCTION sync_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        number bigint;
        row jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1 RETURNING value INTO number;
        INSERT INTO sync_changes (change_no, entity, entity_id{columns})
        VALUES (number, TG_ARGV[0], (row ->> TG_ARGV[1])::uuid{values});
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("xact", sa.BigInteger(), nullable=True,
                                      comment="the central transaction that made the change"))
    with op.batch_alter_table("sync_mutations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("xact", sa.BigInteger(), nullable=True,
                                      server_default=sa.text(XACT) if postgres else None,
                                      comment="the central transaction that answered the change"))
        batch_op.add_column(sa.Column("echo", sa.Boolean(), nullable=False, server_default=sa.false(),
                                      comment="the answer left the laptop's copy of the case as the server's"))
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("copy_waiting", sa.Boolean(), nullable=False, server_default=sa.false(),
                                      comment="a pull left the server's copy aside while this was unsent"))
    if postgres:
        op.execute(LOG_CHANGE.format(columns=", xact", values=f", {XACT}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LOG_CHANGE.format(columns="", values=""))
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_column("copy_waiting")
    with op.batch_alter_table("sync_mutations", schema=None) as batch_op:
        batch_op.drop_column("echo")
        batch_op.drop_column("xact")
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.drop_column("xact")
