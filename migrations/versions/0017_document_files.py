"""document_files: the central store keeps the faxed and scanned files themselves, by SHA-256, so a document attached
on a laptop is not lost with the laptop and can be opened elsewhere (issue 9, "nothing lost")

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

* document_files: one row per distinct file (content-addressed: the SHA-256 of its bytes is the key), with its
  media type, its size, the bytes, when it was stored and from which device. Append-only: the same SHA-256 is the
  same bytes, so a stored file is never changed or deleted (triggers, as for issued letters in 0006). On a laptop
  the same table holds the files it downloaded from the central store (its cache, inside the encrypted store).
* intake_documents.stored_centrally_at: when the central store confirmed it holds the document's file. The server
  sets it; the central change log gets a change of the document's case when it does (PostgreSQL: a constraint
  trigger like 0007's, on that column only), so every laptop holding the case learns of it at its next pull, and
  the laptop that uploaded the file stops asking about it.
"""
from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLE = "document_files"
MESSAGE = "document_files is append-only: a stored file is never changed (the same SHA-256 is the same bytes)"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("sha256", sa.String(length=64), nullable=False, comment="hex SHA-256 of content"),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_device", sa.Uuid(), nullable=True, comment="the device that uploaded it"),
        sa.PrimaryKeyConstraint("sha256"),
    )
    with op.batch_alter_table("intake_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_centrally_at", sa.DateTime(timezone=True), nullable=True,
                                      comment="when the central store confirmed it holds the file"))
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    else:
        op.execute(f"CREATE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$")
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()")
        op.execute(
            "CREATE CONSTRAINT TRIGGER intake_documents_sync_log AFTER UPDATE OF stored_centrally_at "
            "ON intake_documents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION sync_log_change('case', 'case_id')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}")
    else:
        op.execute("DROP TRIGGER IF EXISTS intake_documents_sync_log ON intake_documents")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {TABLE}_append_only()")
    with op.batch_alter_table("intake_documents", schema=None) as batch_op:
        batch_op.drop_column("stored_centrally_at")
    op.drop_table(TABLE)
