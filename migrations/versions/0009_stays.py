"""inpatient and facility stays: stays, their day ledger, and enrolment months (issue 12)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

* stays: one row per admission (a concurrent case): facility, physicians, admission instant and type, the
  notification, levels of care, the late-notice and readmission flags, and the projection the stay queues sort on
  (next review date, last approved day, review due, expected discharge), the discharge.
  ix_stays_open_review, ix_stays_open_team_review, ix_stays_open_discharge: open stays by review due (for a team)
  or expected discharge, TAR (partial: the stay queues' condition).
* stay_days: the day ledger: each day's status, level of care, request instant and deciding determination.
* enrolment_months: the months each member was enrolled (member-months for the utilization figures).
"""
from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN_STAY = "status = 'open'"


def upgrade() -> None:
    op.create_table(
        "stays",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("tar", sa.String(length=20), nullable=False,
                  comment="the case's TAR number (a total order for the queues)"),
        sa.Column("team", sa.String(length=20), nullable=False,
                  comment="the case's team (fixed at receipt), for the team queues"),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("facility_id", sa.Uuid(), nullable=False),
        sa.Column("admitting_physician_id", sa.Uuid(), nullable=True),
        sa.Column("attending_physician_id", sa.Uuid(), nullable=True),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admit_date", sa.Date(), nullable=False, comment="plan-local day of the admission"),
        sa.Column("admission_type", sa.String(length=12), nullable=False, comment="emergency, urgent, elective"),
        sa.Column("admission_source", sa.String(length=12), nullable=False,
                  comment="admission, or transfer from another facility"),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False,
                  comment="when the facility notified the plan"),
        sa.Column("admit_level_of_care", sa.String(length=20), nullable=False),
        sa.Column("level_of_care", sa.String(length=20), nullable=False, comment="current level of care"),
        sa.Column("status", sa.String(length=12), nullable=False, comment="open, discharged"),
        sa.Column("late_notice", sa.Boolean(), nullable=False, comment="notified more than one business day late"),
        sa.Column("readmission_of_id", sa.Uuid(), nullable=True, comment="the stay discharged within 30 days"),
        sa.Column("readmission_days", sa.Integer(), nullable=True, comment="days since that discharge"),
        sa.Column("transferred_from_id", sa.Uuid(), nullable=True, comment="the stay this one continues"),
        sa.Column("next_review_date", sa.Date(), nullable=True),
        sa.Column("approved_through", sa.Date(), nullable=True, comment="the last approved day"),
        sa.Column("review_due_at", sa.DateTime(timezone=True), nullable=True,
                  comment="app.domain.stay_clocks.review_due"),
        sa.Column("expected_discharge_date", sa.Date(), nullable=True),
        sa.Column("care_plan_pending", sa.Boolean(), nullable=False,
                  comment="days denied or level lowered: provider not yet told or no care plan agreed"),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discharge_date", sa.Date(), nullable=True, comment="plan-local day of the discharge"),
        sa.Column("disposition", sa.String(length=20), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["facility_id"], ["providers.id"]),
        sa.ForeignKeyConstraint(["admitting_physician_id"], ["providers.id"]),
        sa.ForeignKeyConstraint(["attending_physician_id"], ["providers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    with op.batch_alter_table("stays", schema=None) as batch_op:
        batch_op.create_index("ix_stays_open_review", ["review_due_at", "tar"], unique=False,
                              sqlite_where=sa.text(OPEN_STAY), postgresql_where=sa.text(OPEN_STAY))
        batch_op.create_index("ix_stays_open_team_review", ["team", "review_due_at", "tar"], unique=False,
                              sqlite_where=sa.text(OPEN_STAY), postgresql_where=sa.text(OPEN_STAY))
        batch_op.create_index("ix_stays_open_discharge", ["expected_discharge_date", "review_due_at", "tar"],
                              unique=False, sqlite_where=sa.text(OPEN_STAY), postgresql_where=sa.text(OPEN_STAY))
        batch_op.create_index("ix_stays_member", ["member_id", "admitted_at"], unique=False)
        batch_op.create_index("ix_stays_admit_date", ["admit_date"], unique=False)
        batch_op.create_index("ix_stays_discharge_date", ["discharge_date"], unique=False)

    op.create_table(
        "stay_days",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("stay_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False,
                  comment="requested, pending, approved, denied, not-used"),
        sa.Column("level_of_care", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False,
                  comment="when the facility asked for it"),
        sa.Column("determination_id", sa.Uuid(), nullable=True, comment="the stay-determined event"),
        sa.Column("on_leave", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["stay_id"], ["stays.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stay_days", schema=None) as batch_op:
        batch_op.create_index("ux_stay_days_stay_day", ["stay_id", "day"], unique=True)
        batch_op.create_index("ix_stay_days_day_status", ["day", "status"], unique=False)

    op.create_table(
        "enrolment_months",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False, comment="the first day of the month"),
        sa.Column("line_of_business", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enrolment_months", schema=None) as batch_op:
        batch_op.create_index("ux_enrolment_months_member_month", ["member_id", "month"], unique=True)
        batch_op.create_index("ix_enrolment_months_month", ["month", "line_of_business"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enrolment_months", schema=None) as batch_op:
        batch_op.drop_index("ix_enrolment_months_month")
        batch_op.drop_index("ux_enrolment_months_member_month")
    op.drop_table("enrolment_months")
    with op.batch_alter_table("stay_days", schema=None) as batch_op:
        batch_op.drop_index("ix_stay_days_day_status")
        batch_op.drop_index("ux_stay_days_stay_day")
    op.drop_table("stay_days")
    with op.batch_alter_table("stays", schema=None) as batch_op:
        batch_op.drop_index("ix_stays_discharge_date")
        batch_op.drop_index("ix_stays_admit_date")
        batch_op.drop_index("ix_stays_member")
        batch_op.drop_index("ix_stays_open_discharge")
        batch_op.drop_index("ix_stays_open_team_review")
        batch_op.drop_index("ix_stays_open_review")
    op.drop_table("stays")
