"""ix_cases_timeliness_period: the committee's timeliness figures read only the period's cases (issue 14)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

The committee dashboard opens on the last quarter, and its Timeliness section scanned 0012's covering index
`ix_cases_timeliness_figures` (grouping columns first, read in GROUP BY order) whole, every case of the year,
once per stretch of rule sets; its open past due cases came through `ix_cases_open_due`, one case row each. In a
fresh process (a cold page cache) that is what it paid for: pages read and decrypted. This index leads with
decided_at, then decision_due_at, then the grouping columns and what the figures read (status too, for the open
cases), so that the decisions of a period are one range of it and the undecided cases (decided_at NULL) a range of
their due, neither reading a case row; it replaces `ix_cases_timeliness_figures`, which nothing reads any more.
"""
from alembic import op


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Written out here (the same as in app.store.models.COMMITTEE_INDEXES) so this revision never changes
# with the models.
NEW = ("ix_cases_timeliness_period", ("decided_at", "decision_due_at", "line_of_business", "review_timing", "urgency",
                                      "service_category", "received_at", "team", "status"))
OLD = ("ix_cases_timeliness_figures", ("line_of_business", "review_timing", "urgency", "service_category",
                                       "decided_at", "decision_due_at", "received_at", "team"))


def upgrade() -> None:
    op.create_index(NEW[0], "cases", list(NEW[1]))
    op.drop_index(OLD[0], table_name="cases")


def downgrade() -> None:
    op.create_index(OLD[0], "cases", list(OLD[1]))
    op.drop_index(NEW[0], table_name="cases")
