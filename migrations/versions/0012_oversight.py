"""oversight: inter-rater reliability samples, blind re-reviews, corrective action plans (issue 14)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10

* irr_samples / irr_items: a drawn sample (the year's, or a corrective action plan's re-audit) and each sampled
  decision with its reviewer, review type and the criteria set version applied at decision time.
* irr_reviews / irr_answers: the auditor's blind re-review, kept apart from the case's own record; answers are
  append-only (triggers refuse UPDATE and DELETE). At submission the review keeps the comparison with the
  original determination and answers (as they stood at decision time), so reports never rebuild checklists.
* irr_plans / irr_plan_events: corrective action plans, the projection and its append-only events.
* ix_case_events_determined / ix_case_events_reopened (partial): a period's determinations and reopenings without
  reading every event (the sample's candidates, the committee's overturn figures).
* ix_cases_received_figures / _decided_figures / _timeliness_figures / _pended_figures: covering indexes, grouping
  columns first, that the committee's figures of a period read instead of the wide case rows.
"""
from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APPEND_ONLY = ("irr_answers", "irr_plan_events")
EVENT_KINDS_INDEXED = ("determined", "reopened")  # partial indexes: queries name the kind as a literal
# The committee's covering indexes on cases (the same as app.store.models.COMMITTEE_INDEX_COLUMNS, written out
# here so this revision never changes with the models).
COMMITTEE_INDEX_COLUMNS = {  # grouping columns first: GROUP BY reads the index in order, with no sort
    "ix_cases_received_figures": ("service_category", "line_of_business", "received_at", "team"),
    "ix_cases_decided_figures": ("outcome", "line_of_business", "decided_at", "team", "service_category",
                                 "requested_los_days"),
    "ix_cases_timeliness_figures": ("line_of_business", "review_timing", "urgency", "service_category", "decided_at",
                                    "decision_due_at", "received_at", "team"),
}


def upgrade() -> None:
    op.create_table(
        "irr_samples",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False, comment="annual or re-audit"),
        sa.Column("cap_id", sa.Uuid(), nullable=True, comment="the corrective action plan re-audited"),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_by", sa.String(length=40), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False, comment="per reviewer: decided cases and sample size"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_irr_samples_year", "irr_samples", ["year", "purpose"])
    op.create_table(
        "irr_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("tar", sa.String(length=20), nullable=False),
        sa.Column("determination_event_id", sa.Uuid(), nullable=False, comment="the sampled determination"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_username", sa.String(length=40), nullable=False),
        sa.Column("review_type", sa.String(length=24), nullable=False,
                  comment="app.domain.irr_sampling.REVIEW_TYPES"),
        sa.Column("set_id", sa.String(length=64), nullable=True, comment="criteria set applied at decision time"),
        sa.Column("set_version", sa.String(length=20), nullable=True),
        sa.Column("set_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["sample_id"], ["irr_samples.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_irr_items_sample", "irr_items", ["sample_id", "reviewer_username"])
    op.create_index("ux_irr_items_sample_case", "irr_items", ["sample_id", "case_id", "reviewer_id"], unique=True)
    op.create_table(
        "irr_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("auditor_id", sa.Uuid(), nullable=False),
        sa.Column("auditor_username", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("determination", sa.String(length=20), nullable=True,
                  comment="app.domain.irr_rules.AUDIT_DETERMINATIONS"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("comparison", sa.JSON(), nullable=True,
                  comment="at submission: the original and the audit determination and criterion answers"),
        sa.ForeignKeyConstraint(["item_id"], ["irr_items.id"]),
        sa.ForeignKeyConstraint(["auditor_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id"),
    )
    op.create_table(
        "irr_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("criterion_id", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False, comment="met, not-met, not-applicable, unknown"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, comment="1, 2, 3 ... per review: the order of the answers"),
        sa.ForeignKeyConstraint(["review_id"], ["irr_reviews.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_irr_answers_review", "irr_answers", ["review_id", "seq"])
    op.create_table(
        "irr_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_username", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False, comment="app.domain.irr_rules.CAP_STATES"),
        sa.Column("owner_username", sa.String(length=40), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False, comment="[{text, done_at, done_by, note}]"),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("agreement_at_open", sa.Float(), nullable=False, comment="the agreement (%) that opened it"),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=40), nullable=False),
        sa.Column("re_audit_percent", sa.Float(), nullable=True, comment="the latest re-audit's agreement (%)"),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_irr_plans_year", "irr_plans", ["year", "state"])
    op.create_table(
        "irr_plan_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False, comment="app.domain.irr_rules.CAP_EVENTS"),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["irr_plans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_irr_plan_events_plan", "irr_plan_events", ["plan_id", "occurred_at"])
    for kind in EVENT_KINDS_INDEXED:
        op.create_index(f"ix_case_events_{kind}", "case_events", ["occurred_at", "actor_id", "case_id"],
                        sqlite_where=sa.text(f"kind = '{kind}'"), postgresql_where=sa.text(f"kind = '{kind}'"))
    for name, columns in COMMITTEE_INDEX_COLUMNS.items():
        op.create_index(name, "cases", list(columns))
    op.create_index("ix_cases_pended_figures", "cases",
                    ["team", "line_of_business", "decision_due_at", "received_at", "id"],
                    sqlite_where=sa.text("status = 'pended'"), postgresql_where=sa.text("status = 'pended'"))
    for table in APPEND_ONLY:
        _append_only(table)


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE: an answer or a plan's step is recorded, never changed."""
    message = f"{table} is append-only: record a new answer or step instead"
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    else:
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )


def downgrade() -> None:
    for table in APPEND_ONLY:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    for kind in EVENT_KINDS_INDEXED:
        op.drop_index(f"ix_case_events_{kind}", table_name="case_events")
    op.drop_index("ix_cases_pended_figures", table_name="cases")
    for name in COMMITTEE_INDEX_COLUMNS:
        op.drop_index(name, table_name="cases")
    op.drop_index("ix_irr_plan_events_plan", table_name="irr_plan_events")
    op.drop_table("irr_plan_events")
    op.drop_index("ix_irr_plans_year", table_name="irr_plans")
    op.drop_table("irr_plans")
    op.drop_index("ix_irr_answers_review", table_name="irr_answers")
    op.drop_table("irr_answers")
    op.drop_table("irr_reviews")
    op.drop_index("ux_irr_items_sample_case", table_name="irr_items")
    op.drop_index("ix_irr_items_sample", table_name="irr_items")
    op.drop_table("irr_items")
    op.drop_index("ix_irr_samples_year", table_name="irr_samples")
    op.drop_table("irr_samples")
