"""workflow and audit trail: sign-in columns on users, case_workflow, care_involvements, audit_records (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

* users: argon2 password hash, failed sign-ins in a row, locked-until, last sign-in.
* case_workflow: per-case workflow projection (referral target, pended-from state, current determination, notices).
* care_involvements: users recorded as involved in a member's care (they may not decide the member's cases).
* audit_records: the hash-chained audit trail, one chain per device; append-only (triggers refuse UPDATE and
  DELETE on SQLite and PostgreSQL, like case_events). audit_chain_heads: each chain's last number and hash.
* store_settings: the sign-in defaults (5 failures lock for 15 minutes; the screen locks after 15 idle minutes).
"""
from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SETTINGS = (("auth.max_failed_sign_ins", "5"), ("auth.lockout_minutes", "15"), ("auth.idle_lock_minutes", "15"))


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True,
                                      comment="argon2id hash; None: cannot sign in"))
        batch_op.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0",
                                      comment="failed sign-ins in a row"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True,
                                      comment="sign-in refused until then"))
        batch_op.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "case_workflow",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("referred_to", sa.String(length=20), nullable=True, comment="physician, pharmacist, same-specialty"),
        sa.Column("referred_specialty", sa.String(length=80), nullable=True, comment="same-specialty referrals"),
        sa.Column("referral_event_id", sa.Uuid(), nullable=True, comment="the current referral's event"),
        sa.Column("pended_from", sa.String(length=16), nullable=True,
                  comment="state to return to when information arrives"),
        sa.Column("pend_event_id", sa.Uuid(), nullable=True, comment="the current pend's event"),
        sa.Column("determination_event_id", sa.Uuid(), nullable=True, comment="the current determination"),
        sa.Column("criteria_result", sa.String(length=16), nullable=True,
                  comment="criteria result of the determination"),
        sa.Column("provider_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("member_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    with op.batch_alter_table("case_workflow", schema=None) as batch_op:
        batch_op.create_index("ix_case_workflow_referred_to", ["referred_to"], unique=False)

    op.create_table(
        "care_involvements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True, comment="the case it was declared on"),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declared_by_id", sa.Uuid(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["declared_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("care_involvements", schema=None) as batch_op:
        batch_op.create_index("ix_care_involvements_member_user", ["member_id", "user_id"], unique=False)

    op.create_table(
        "audit_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False, comment="store installation whose chain this is"),
        sa.Column("seq", sa.Integer(), nullable=False, comment="1, 2, 3 ... per device"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False, comment="username, or the operating-system user"),
        sa.Column("actor_kind", sa.String(length=16), nullable=False, comment="user, os-user, system"),
        sa.Column("action", sa.String(length=16), nullable=False, comment="create, change, view, access"),
        sa.Column("what", sa.String(length=60), nullable=False, comment="event kind or what was viewed"),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("tar", sa.String(length=20), nullable=True),
        sa.Column("body", sa.Text(), nullable=False, comment="canonical JSON: before, after, event"),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False, comment="SHA-256 of the fields and prev_hash"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.create_index("ux_audit_records_device_seq", ["device_id", "seq"], unique=True)
        batch_op.create_index("ix_audit_records_case", ["case_id", "recorded_at"], unique=False)

    op.create_table(
        "audit_chain_heads",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )

    _append_only("audit_records")

    settings = sa.table("store_settings", sa.column("key", sa.String), sa.column("value", sa.String))
    existing = {key for (key,) in op.get_bind().execute(sa.select(settings.c.key))}
    rows = [{"key": key, "value": value} for key, value in SETTINGS if key not in existing]
    if rows:
        op.bulk_insert(settings, rows)


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE: an audit record is never changed or removed."""
    message = f"{table} is append-only: audit records are never changed or removed"
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
    settings = sa.table("store_settings", sa.column("key", sa.String))
    op.execute(settings.delete().where(settings.c.key.in_([key for key, _ in SETTINGS])))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS audit_records_append_only()")
    op.drop_table("audit_chain_heads")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_records_case")
        batch_op.drop_index("ux_audit_records_device_seq")
    op.drop_table("audit_records")
    with op.batch_alter_table("care_involvements", schema=None) as batch_op:
        batch_op.drop_index("ix_care_involvements_member_user")
    op.drop_table("care_involvements")
    with op.batch_alter_table("case_workflow", schema=None) as batch_op:
        batch_op.drop_index("ix_case_workflow_referred_to")
    op.drop_table("case_workflow")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_sign_in_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_sign_ins")
        batch_op.drop_column("password_hash")
