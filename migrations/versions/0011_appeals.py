"""appeals: appeal records and their tasks; whom each user reports to (issue 13)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

* appeals: one row per appeal of a case's adverse determination, the projection of the case's appeal events (who
  filed it and how, when it was received, the track, the notice date and whether it was timely, aid paid pending,
  the reviewer, the clocks from the clock engine, the result and the new determination of an overturn).
* appeal_tasks: reminders for the appeals staff (continue the authorization during the appeal, route it, decide
  good cause for a late one), done with an event.
* users.supervisor_id: whom a user reports to; an appeal is never decided by a subordinate of the first decider.
"""
from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervisor_id", sa.Uuid(), nullable=True, comment="whom the user reports to"))
        batch_op.create_foreign_key("fk_users_supervisor_id", "users", ["supervisor_id"], ["id"])

    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("determination_event_id", sa.Uuid(), nullable=True, comment="the determination appealed"),
        sa.Column("appealed_outcome", sa.String(length=32), nullable=False, comment="denied or partially-approved"),
        sa.Column("status", sa.String(length=20), nullable=False, comment="app.domain.appeals.STATUSES"),
        sa.Column("filed_by", sa.String(length=16), nullable=False, comment="member, provider, representative"),
        sa.Column("representative", sa.String(length=120), nullable=True,
                  comment="the authorized representative's name"),
        sa.Column("authorization", sa.String(length=200), nullable=True,
                  comment="where the member's written authorization (or consent) is on file"),
        sa.Column("channel", sa.String(length=10), nullable=False, comment="phone, writing, portal"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expedited", sa.Boolean(), nullable=False, comment="the current track: expedited or standard"),
        sa.Column("expedited_requested_by", sa.String(length=10), nullable=True, comment="member or provider"),
        sa.Column("expedited_denied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_date", sa.Date(), nullable=True, comment="date of the notice appealed"),
        sa.Column("notice_source", sa.String(length=20), nullable=True, comment="issued-letter or notified-event"),
        sa.Column("filing_deadline", sa.Date(), nullable=True),
        sa.Column("timely", sa.Boolean(), nullable=False),
        sa.Column("days_late", sa.Integer(), server_default="0", nullable=False),
        sa.Column("aid_paid_pending", sa.Boolean(), nullable=False,
                  comment="the service continues during the appeal"),
        sa.Column("continuation_requested", sa.Boolean(), nullable=False),
        sa.Column("continuation_deadline", sa.Date(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=True,
                  comment="the termination or reduction's effective date"),
        sa.Column("specialty", sa.String(length=80), nullable=True, comment="the reviewer's specialty must match it"),
        sa.Column("reviewer_id", sa.Uuid(), nullable=True),
        sa.Column("rule_set", sa.String(length=40), nullable=True,
                  comment="appeal rule set (resources/rulesets.json)"),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=False, comment="from the clock engine"),
        sa.Column("acknowledgement_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("result", sa.String(length=24), nullable=True, comment="upheld, overturned, partially-overturned"),
        sa.Column("resolution_reason", sa.Text(), nullable=True, comment="the reason, in plain language"),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Uuid(), nullable=True),
        sa.Column("resolution_event_id", sa.Uuid(), nullable=True),
        sa.Column("new_determination_event_id", sa.Uuid(), nullable=True, comment="an overturn's determination"),
        sa.Column("notice_sent_at", sa.DateTime(timezone=True), nullable=True, comment="the member's NAR mailed"),
        sa.Column("resolution_breached_at", sa.DateTime(timezone=True), nullable=True,
                  comment="first observed missed"),
        sa.Column("acknowledgement_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_information", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index("ix_appeals_case", ["case_id"], unique=False)
        batch_op.create_index("ix_appeals_status_due", ["status", "resolution_due_at"], unique=False)
        batch_op.create_index("ix_appeals_due", ["resolution_due_at"], unique=False)
        batch_op.create_index("ix_appeals_reviewer", ["reviewer_id", "status"], unique=False)
        batch_op.create_index("ix_appeals_resolved_at", ["resolved_at"], unique=False)

    op.create_table(
        "appeal_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False, comment="app.domain.appeals.TASK_KINDS"),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["done_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appeal_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_appeal_tasks_open", ["done_at", "due_at"], unique=False)
        batch_op.create_index("ix_appeal_tasks_appeal", ["appeal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeal_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_tasks_appeal")
        batch_op.drop_index("ix_appeal_tasks_open")
    op.drop_table("appeal_tasks")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_appeals_resolved_at")
        batch_op.drop_index("ix_appeals_reviewer")
        batch_op.drop_index("ix_appeals_due")
        batch_op.drop_index("ix_appeals_status_due")
        batch_op.drop_index("ix_appeals_case")
    op.drop_table("appeals")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("fk_users_supervisor_id", type_="foreignkey")
        batch_op.drop_column("supervisor_id")
