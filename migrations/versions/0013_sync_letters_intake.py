"""sync knows letters and intake: issued letters leave a laptop with their case; each laptop numbers its intake TARs
in a block of its own (issue 9 with issues 7 and 11)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

* issued_letters (laptops, SQLite): still append-only, but a pull may let a case's issued letters go while it lists
  the case in sync_rebase, exactly as it may a case's events (migration 0007): when the laptop takes the central
  store's copy of the case, or when the case leaves the laptop. The central store's copy is the record; the
  PostgreSQL trigger is unchanged (the central store never deletes one).
* sync_devices.tar_block: a number the central store gives each laptop at its first sign-in (1, 2, 3 ...; unique);
  the laptop numbers the requests it receives offline '2' + the block in four digits + a six-digit sequence, so two
  laptops' intake TARs never collide (the central store's own intake uses block 0).
"""
from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

APPEND_ONLY = "issued_letters is append-only: an issued letter is never changed; issue a corrective letter instead"


def upgrade() -> None:
    op.add_column("sync_devices", sa.Column("tar_block", sa.Integer(), nullable=True,
                                            comment="this laptop's block of intake TAR numbers (unique)"))
    op.create_index("ux_sync_devices_tar_block", "sync_devices", ["tar_block"], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS issued_letters_no_delete")
        op.execute(
            "CREATE TRIGGER issued_letters_no_delete BEFORE DELETE ON issued_letters "
            "WHEN NOT EXISTS (SELECT 1 FROM sync_rebase WHERE sync_rebase.case_id = OLD.case_id) "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS issued_letters_no_delete")
        op.execute(f"CREATE TRIGGER issued_letters_no_delete BEFORE DELETE ON issued_letters "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    op.drop_index("ux_sync_devices_tar_block", table_name="sync_devices")
    with op.batch_alter_table("sync_devices", schema=None) as batch_op:
        batch_op.drop_column("tar_block")
