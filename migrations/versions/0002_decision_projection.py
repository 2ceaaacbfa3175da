"""decision projection on cases: decided_at, outcome, extensions_taken (issue 4 reports)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

The timeliness and CMS-0057-F reports compare the decision instant with the decision due of every case. The
determination and extension events stay the truth; these columns are their projection on the case row.
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True,
                                      comment="instant of the current determination"))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True,
                                      comment="approved, partially-approved, denied, ..."))
        batch_op.add_column(sa.Column("extensions_taken", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_cases_decided_at", ["decided_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_decided_at")
        batch_op.drop_column("extensions_taken")
        batch_op.drop_column("outcome")
        batch_op.drop_column("decided_at")
