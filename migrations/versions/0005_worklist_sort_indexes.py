"""worklist at 100,000 cases: sort by assignee and the unassigned team queue from an index (issue 3)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

* cases.assignee_username: the assignee's username, a projection kept by the service layer (the `assignee`
  relationship), so that "sort by assignee" walks a partial index instead of sorting every open case.
* ix_cases_open_assignee: open cases by assignee username, TAR.
* ix_cases_unassigned_due: unassigned open cases by team, decision due, TAR: the unassigned team queue's default
  order without sorting a team's backlog.
* ix_cases_open_running_due: open cases, those whose decision clock still runs first, by decision due, TAR: the
  default order of My cases and All open, where decided cases (waiting for their notices) come after every clock
  that can still breach.
"""
from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "status <> 'closed'"
UNASSIGNED_OPEN = f"{OPEN} AND assignee_id IS NULL"
DECIDED_OPEN = "status IN ('determined', 'notified')"


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_username", sa.String(length=64), nullable=True,
                                      comment="the assignee's username, for sorting by assignee "
                                              "(kept by the `assignee` relationship)"))
    op.execute("UPDATE cases SET assignee_username = "
               "(SELECT users.username FROM users WHERE users.id = cases.assignee_id)")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_open_assignee", ["assignee_username", "tar"], unique=False,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_index("ix_cases_unassigned_due", ["team", "decision_due_at", "tar"], unique=False,
                              sqlite_where=sa.text(UNASSIGNED_OPEN), postgresql_where=sa.text(UNASSIGNED_OPEN))
    # An expression index: made outside batch mode, which reflects (and so keeps) only plain column indexes.
    op.create_index("ix_cases_open_running_due", "cases", [sa.text(f"({DECIDED_OPEN})"), "decision_due_at", "tar"],
                    unique=False, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ix_cases_open_running_due", table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_unassigned_due")
        batch_op.drop_index("ix_cases_open_assignee")
        batch_op.drop_column("assignee_username")
