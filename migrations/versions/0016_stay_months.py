"""stay_months: each stay's ledger counted by month, for the committee's utilization figures (issue 14)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

The committee dashboard's Utilization section counted every stay's ledger days (bed days, SNF days, days denied) by
correlated subqueries, one per stay and figure (0.3-0.6 s of a 1 s target on a year of 200,000 cases). The stay
services now keep those counts by calendar month in `stay_months` (one row per stay and month of its ledger), in
the transaction that changes the ledger or the discharge; the section sums the period's whole months from it and
reads the ledger only for the days of a month the period or today cuts. Two covering indexes on `stays` give the
stays admitted and discharged in a period without reading their rows; ix_stay_days_period (day first) gives the
ledger's days of a cut month without reading theirs, and replaces 0015's ix_stay_days_figures (stay_id first, for
the correlated counts no longer made). Filled here from the ledgers already recorded, with the reading of a bed day
of app.store.stay_figures (written out here so this revision never changes with the code).
"""
from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The covering indexes of the stays admitted and discharged in a period (app.store.models, written out here)
STAYS_ADMITTED_FIGURES = ("admit_date", "line_of_business", "admit_level_of_care", "team", "admission_source",
                          "readmission_of_id")
STAYS_DISCHARGED_FIGURES = ("discharge_date", "line_of_business", "admit_level_of_care", "team", "id")
# app.store.stay_figures._bed_day: not on leave, not after the discharge, the admission day of a same-day stay counted
BED_DAY = ("d.status <> 'not-used' AND NOT d.on_leave AND (s.discharge_date IS NULL OR d.day < s.discharge_date "
           "OR d.day = s.admit_date)")


def upgrade() -> None:
    op.create_table(
        "stay_months",
        sa.Column("stay_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False, comment="the first day of the month"),
        sa.Column("line_of_business", sa.String(length=16), nullable=True),
        sa.Column("admit_level_of_care", sa.String(length=20), nullable=False),
        sa.Column("team", sa.String(length=20), nullable=False),
        sa.Column("bed_days", sa.Integer(), nullable=False),
        sa.Column("snf_days", sa.Integer(), nullable=False, comment="bed days at the SNF level of care"),
        sa.Column("denied_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["stay_id"], ["stays.id"]),
        sa.PrimaryKeyConstraint("stay_id", "month"),
    )
    op.create_index("ix_stay_months_figures", "stay_months", ["month", "line_of_business", "admit_level_of_care",
                                                              "team", "bed_days", "snf_days", "denied_days"])
    op.drop_index("ix_stay_days_figures", table_name="stay_days")
    op.create_index("ix_stay_days_period", "stay_days", ["day", "status", "on_leave", "level_of_care", "stay_id"])
    op.create_index("ix_stays_admitted_figures", "stays", list(STAYS_ADMITTED_FIGURES))
    op.create_index("ix_stays_discharged_figures", "stays", list(STAYS_DISCHARGED_FIGURES))
    month = ("date(d.day, 'start of month')" if op.get_bind().dialect.name == "sqlite"
             else "CAST(date_trunc('month', d.day) AS DATE)")
    op.execute(
        "INSERT INTO stay_months (stay_id, month, line_of_business, admit_level_of_care, team, bed_days, snf_days, "
        "denied_days) "
        f"SELECT d.stay_id, {month}, s.line_of_business, s.admit_level_of_care, s.team, "
        f"SUM(CASE WHEN {BED_DAY} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {BED_DAY} AND d.level_of_care = 'snf' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN d.status = 'denied' THEN 1 ELSE 0 END) "
        "FROM stay_days d JOIN stays s ON s.id = d.stay_id "
        f"GROUP BY d.stay_id, {month}, s.line_of_business, s.admit_level_of_care, s.team")


def downgrade() -> None:
    op.drop_index("ix_stays_discharged_figures", table_name="stays")
    op.drop_index("ix_stays_admitted_figures", table_name="stays")
    op.drop_index("ix_stay_days_period", table_name="stay_days")
    op.create_index("ix_stay_days_figures", "stay_days", ["stay_id", "day", "status", "on_leave", "level_of_care"])
    op.drop_index("ix_stay_months_figures", table_name="stay_months")
    op.drop_table("stay_months")
