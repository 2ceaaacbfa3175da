"""sync with the central store: outbox, devices, tokens, applied mutations, conflicts, leases, change log (issue 9)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

* sync_outbox (laptops): every service-layer write's named intent, written in the same transaction.
* sync_devices, sync_tokens, sync_mutations (central): registered laptops, short-lived sign-in tokens (hashes
  only), and the answer given to every (device, seq) pushed, so a repeated push is answered the same way.
* sync_conflicts (both): changes kept with both versions for a person to resolve. case_leases (both).
* sync_changes + sync_counter (central, PostgreSQL): the commit-ordered change log. A DEFERRABLE INITIALLY
  DEFERRED constraint trigger on cases, users, criteria_sets, sync_conflicts and case_leases takes the next number
  from the one-row counter at COMMIT time; the counter's row lock is held until the commit ends, so numbers are
  handed out in commit order and a reader that has seen number n has seen every number below it.
* sync_rebase (laptops): while a pull replaces a case with the server's copy, its row lets that case's events be
  replaced (SQLite's case_events delete trigger now checks it); the audit chain keeps what was there.
"""
from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LOGGED = (("cases", "case", "id"), ("users", "user", "id"), ("criteria_sets", "criteria-set", "id"),
          ("sync_conflicts", "conflict", "id"), ("case_leases", "case", "case_id"))
APPEND_ONLY = "case_events is append-only: record a correcting event instead"


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("mutation_id", sa.Uuid(), nullable=False, comment="UUIDv7"),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, comment="1, 2, 3 ... per device: the push order"),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("tar", sa.String(length=20), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True, comment="the case version the change was made on"),
        sa.Column("base_mutation_id", sa.Uuid(), nullable=True,
                  comment="the unconfirmed change of this laptop that base_version comes from (None: a server version)"),
        sa.Column("after_version", sa.Integer(), nullable=True),
        sa.Column("intent", sa.String(length=40), nullable=False, comment="app.services.intents.INTENTS"),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, comment="device time of the change"),
        sa.Column("mine", sa.JSON(), nullable=True, comment="the case as this laptop saw it after the change"),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mutation_id"),
    )
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.create_index("ux_sync_outbox_device_seq", ["device_id", "seq"], unique=True)
        batch_op.create_index("ix_sync_outbox_state", ["state", "seq"], unique=False)
        batch_op.create_index("ix_sync_outbox_case", ["case_id", "state"], unique=False)

    op.create_table(
        "sync_devices",
        sa.Column("device_id", sa.Uuid(), nullable=False, comment="the laptop store's device id"),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("registered_by", sa.String(length=40), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False, comment="last change applied"),
        sa.Column("audit_seq", sa.Integer(), server_default="0", nullable=False, comment="last audit record held"),
        sa.Column("clock_offset_seconds", sa.Integer(), nullable=True, comment="server time minus device time"),
        sa.Column("skew_flagged_at", sa.DateTime(timezone=True), nullable=True,
                  comment="clock more than 5 minutes off"),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=40), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.create_table(
        "sync_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["sync_devices.device_id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("sync_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_sync_tokens_device", ["device_id"], unique=False)

    op.create_table(
        "sync_mutations",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mutation_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("tar", sa.String(length=20), nullable=True),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("client_base", sa.Integer(), nullable=True),
        sa.Column("client_after", sa.Integer(), nullable=True),
        sa.Column("server_base", sa.Integer(), nullable=True, comment="the server version the change was judged on"),
        sa.Column("server_after", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False, comment="applied, merged or conflict"),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=False,
                  comment="when the laptop says it happened"),
        sa.Column("applied_time", sa.DateTime(timezone=True), nullable=False, comment="the instant the event carries"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, comment="when the server received it"),
        sa.PrimaryKeyConstraint("device_id", "seq"),
        sa.UniqueConstraint("mutation_id"),
    )
    with op.batch_alter_table("sync_mutations", schema=None) as batch_op:
        batch_op.create_index("ix_sync_mutations_case", ["case_id", "seq"], unique=False)

    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mutation_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("tar", sa.String(length=20), nullable=True),
        sa.Column("team", sa.String(length=20), nullable=True),
        sa.Column("intent", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("mine", sa.JSON(), nullable=False, comment="the change and the case as the laptop saw it"),
        sa.Column("theirs", sa.JSON(), nullable=False,
                  comment="the case on the server and what changed it meanwhile"),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=40), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mutation_id"),
    )
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_sync_conflicts_open", ["resolved_at", "team"], unique=False)

    op.create_table(
        "case_leases",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "sync_changes",
        sa.Column("change_no", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False, comment="case, user, criteria-set, conflict"),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("change_no"),
    )
    op.create_table(
        "sync_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sync_rebase",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.execute("INSERT INTO sync_counter (id, value) VALUES (1, 0)")

    if op.get_bind().dialect.name == "sqlite":
        # A pull may replace a case's events with the server's copy, and only while it lists the case in sync_rebase.
        op.execute("DROP TRIGGER IF EXISTS case_events_no_delete")
        op.execute(
            "CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events "
            "WHEN NOT EXISTS (SELECT 1 FROM sync_rebase WHERE sync_rebase.case_id = OLD.case_id) "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
    else:
        op.execute("""
            CREATE FUNCTION sync_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                number bigint;
                row jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
            BEGIN
                UPDATE sync_counter SET value = value + 1 WHERE id = 1 RETURNING value INTO number;
                INSERT INTO sync_changes (change_no, entity, entity_id)
                VALUES (number, TG_ARGV[0], (row ->> TG_ARGV[1])::uuid);
                RETURN NULL;
            END $$""")
        for table, entity, column in LOGGED:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_sync_log AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sync_log_change('{entity}', '{column}')"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS case_events_no_delete")
        op.execute(f"CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    else:
        for table, _, _ in LOGGED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_sync_log ON {table}")
        op.execute("DROP FUNCTION IF EXISTS sync_log_change()")
    for table in ("sync_rebase", "sync_counter", "sync_changes", "case_leases"):
        op.drop_table(table)
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_conflicts_open")
    op.drop_table("sync_conflicts")
    with op.batch_alter_table("sync_mutations", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_mutations_case")
    op.drop_table("sync_mutations")
    with op.batch_alter_table("sync_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_tokens_device")
    op.drop_table("sync_tokens")
    op.drop_table("sync_devices")
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_outbox_case")
        batch_op.drop_index("ix_sync_outbox_state")
        batch_op.drop_index("ux_sync_outbox_device_seq")
    op.drop_table("sync_outbox")
