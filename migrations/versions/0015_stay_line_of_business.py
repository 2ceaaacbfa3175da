"""stays.line_of_business and ix_stay_days_figures: the committee's utilization figures (issue 14)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

The UM committee's utilization figures group a year's stays and their ledger days by line of business. Read
through the case, that was one lookup of a wide case row per stay (seconds on an encrypted store of 200,000 cases);
the stay keeps its case's line of business, as it keeps its team (both fixed at receipt). Filled from the cases for
the stays already recorded. ix_stay_days_figures covers what the figures read of a stay's ledger (day, status,
leave, level of care), so each stay's days are counted from the index alone.
"""
from alembic import op
import sqlalchemy as sa


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stays") as batch:
        batch.add_column(sa.Column("line_of_business", sa.String(length=16), nullable=True,
                                   comment="the case's line of business (fixed at receipt), for the figures"))
    op.execute("UPDATE stays SET line_of_business = "
               "(SELECT cases.line_of_business FROM cases WHERE cases.id = stays.case_id)")
    op.create_index("ix_stay_days_figures", "stay_days", ["stay_id", "day", "status", "on_leave", "level_of_care"])


def downgrade() -> None:
    op.drop_index("ix_stay_days_figures", table_name="stay_days")
    with op.batch_alter_table("stays") as batch:
        batch.drop_column("line_of_business")
