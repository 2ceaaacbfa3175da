"""case store

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

The case store of issue 3. case_events is append-only: triggers refuse UPDATE and DELETE on SQLite and PostgreSQL
alike. The ix_cases_open_* indexes are partial (open cases only) and serve the worklist's sort orders.
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('members',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('cin', sa.String(length=16), nullable=False, comment='Medi-Cal client index number'),
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False, comment='preferred written language, ISO 639'),
    sa.Column('alternative_format', sa.String(length=20), nullable=True, comment='large-print, audio, braille, electronic'),
    sa.Column('address_line', sa.String(length=120), nullable=True),
    sa.Column('city', sa.String(length=60), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('county', sa.String(length=40), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cin')
    )
    op.create_table('providers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('npi', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('specialty', sa.String(length=80), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('fax', sa.String(length=20), nullable=True),
    sa.Column('address_line', sa.String(length=120), nullable=True),
    sa.Column('city', sa.String(length=60), nullable=True),
    sa.Column('state', sa.String(length=2), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('npi')
    )
    op.create_table('store_settings',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False, comment='app.domain.roles.ROLES'),
    sa.Column('team', sa.String(length=20), nullable=True, comment='app.domain.vocabulary.TEAMS'),
    sa.Column('credential', sa.String(length=20), nullable=True, comment='license type: RN, LVN, MD, DO, PharmD, CPhT'),
    sa.Column('specialty', sa.String(length=80), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('cases',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tar', sa.String(length=20), nullable=False, comment='TAR number as the requester knows it'),
    sa.Column('line_of_business', sa.String(length=16), nullable=False),
    sa.Column('service_category', sa.String(length=24), nullable=False),
    sa.Column('review_timing', sa.String(length=20), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('team', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('requesting_provider_id', sa.Uuid(), nullable=False),
    sa.Column('servicing_provider_id', sa.Uuid(), nullable=True),
    sa.Column('place_of_service', sa.String(length=2), nullable=True, comment='CMS place-of-service code'),
    sa.Column('requested_los_days', sa.Integer(), nullable=True, comment='requested length of stay (inpatient)'),
    sa.Column('proposed_date', sa.Date(), nullable=True, comment='proposed date of procedure'),
    sa.Column('member_name', sa.String(length=170), nullable=False, comment="'Last, First' of the member"),
    sa.Column('service_summary', sa.String(length=200), nullable=False),
    sa.Column('decision_due_at', sa.DateTime(timezone=True), nullable=True, comment='from the clock engine'),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False, comment="bumped by every event; sync's base version"),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.ForeignKeyConstraint(['requesting_provider_id'], ['providers.id'], ),
    sa.ForeignKeyConstraint(['servicing_provider_id'], ['providers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tar')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_assignee', ['assignee_id', 'status'], unique=False)
        batch_op.create_index('ix_cases_category_status', ['service_category', 'status'], unique=False)
        batch_op.create_index('ix_cases_member', ['member_id'], unique=False)
        batch_op.create_index('ix_cases_open_due', ['decision_due_at', 'tar'], unique=False, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_open_member', ['member_name', 'tar'], unique=False, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_open_received', ['received_at', 'tar'], unique=False, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_open_service', ['service_summary', 'tar'], unique=False, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_open_timing', [sa.text('urgency DESC'), 'review_timing', 'tar'], unique=False, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_open_status', ['status', 'tar'], unique=False, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.create_index('ix_cases_team_status', ['team', 'status'], unique=False)

    op.create_table('case_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True, comment='None: the system'),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_case', ['case_id', 'occurred_at'], unique=False)

    op.create_table('clinical_notes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author', sa.String(length=120), nullable=False, comment='who wrote it (requester or reviewer)'),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachment_ref', sa.String(length=300), nullable=True, comment='document reference, e.g. fax file name'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('clinical_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinical_notes_case_id'), ['case_id'], unique=False)

    op.create_table('diagnoses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False, comment='1 = primary'),
    sa.Column('code', sa.String(length=8), nullable=False, comment='ICD-10-CM'),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('diagnoses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_diagnoses_case_id'), ['case_id'], unique=False)

    op.create_table('request_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False, comment='CPT or HCPCS'),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=True),
    sa.Column('to_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('request_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_lines_case_id'), ['case_id'], unique=False)


    _append_only("case_events")


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on an event table: a correction is a new event, never an edit."""
    message = f"{table} is append-only: record a correcting event instead"
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
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS case_events_append_only ON case_events")
        op.execute("DROP FUNCTION IF EXISTS case_events_append_only()")
    with op.batch_alter_table('request_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_lines_case_id'))

    op.drop_table('request_lines')
    with op.batch_alter_table('diagnoses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_diagnoses_case_id'))

    op.drop_table('diagnoses')
    with op.batch_alter_table('clinical_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinical_notes_case_id'))

    op.drop_table('clinical_notes')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case')

    op.drop_table('case_events')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_team_status')
        batch_op.drop_index('ix_cases_open_timing')
        batch_op.drop_index('ix_cases_open_status', sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.drop_index('ix_cases_open_service', sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.drop_index('ix_cases_open_received', sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.drop_index('ix_cases_open_member', sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.drop_index('ix_cases_open_due', sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.drop_index('ix_cases_member')
        batch_op.drop_index('ix_cases_category_status')
        batch_op.drop_index('ix_cases_assignee')

    op.drop_table('cases')
    op.drop_table('users')
    op.drop_table('store_settings')
    op.drop_table('providers')
    op.drop_table('members')
