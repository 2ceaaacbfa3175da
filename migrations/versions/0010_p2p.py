"""peer-to-peer: reviewers' availability, practitioners' requests and booked calls (issue 8)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25

* p2p_availability: a reviewer's weekly hours, one-off hours and out-of-office blocks in plan time; withdrawn,
  never deleted.
* p2p_requests: a practitioner's request for a peer-to-peer on a case, with its window, the deciding physician and
  the outcome; at most one open request per case (partial unique index).
* p2p_bookings: a call booked in a reviewer's slot; at most one call per reviewer and start that holds the slot
  (booked, held or missed), and one booked call per request (partial unique indexes): two coordinators booking the
  same slot at once, the database lets one win.
"""
from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BOOKED = sa.text("status = 'booked'")
SLOT_TAKEN = sa.text("status IN ('booked', 'held', 'no-show', 'plan-missed')")
OPEN_REQUEST = sa.text("status IN ('requested', 'offered', 'booked')")


def upgrade() -> None:
    op.create_table(
        "p2p_availability",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="weekly, one-off, out-of-office"),
        sa.Column("weekday", sa.Integer(), nullable=True, comment="weekly: 0 = Monday"),
        sa.Column("first_day", sa.Date(), nullable=False, comment="plan-local day"),
        sa.Column("last_day", sa.Date(), nullable=True,
                  comment="weekly: None = open-ended; out of office: last day"),
        sa.Column("start_time", sa.Time(), nullable=True, comment="plan-local wall time"),
        sa.Column("end_time", sa.Time(), nullable=True, comment="plan-local wall time"),
        sa.Column("slot_minutes", sa.Integer(), nullable=True, comment="length of one call"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=40), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("p2p_availability", schema=None) as batch_op:
        batch_op.create_index("ix_p2p_availability_user", ["user_id", "kind"], unique=False)

    op.create_table(
        "p2p_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False, comment="denial, potential-denial"),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requester_name", sa.String(length=120), nullable=False),
        sa.Column("requester_phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("preferred_windows", sa.JSON(), nullable=False, comment="[{start, end}] ISO instants"),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column("physician_id", sa.Uuid(), nullable=True,
                  comment="the physician who rendered (or will render) the determination"),
        sa.Column("determination_event_id", sa.Uuid(), nullable=True, comment="the determination discussed"),
        sa.Column("window_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed_windows", sa.Integer(), server_default="0", nullable=False,
                  comment="booked calls the practitioner missed"),
        sa.Column("offered", sa.JSON(), nullable=True, comment="slot ids last offered"),
        sa.Column("result", sa.String(length=12), nullable=True, comment="upheld, overturned, modified"),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True, comment="when the call actually took place"),
        sa.Column("new_information", sa.Boolean(), nullable=False,
                  comment="new clinical information: to an appeal"),
        sa.Column("new_determination_event_id", sa.Uuid(), nullable=True, comment="overturned or modified"),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["physician_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("p2p_requests", schema=None) as batch_op:
        batch_op.create_index("ux_p2p_requests_open_case", ["case_id"], unique=True, sqlite_where=OPEN_REQUEST,
                              postgresql_where=OPEN_REQUEST)
        batch_op.create_index("ix_p2p_requests_case", ["case_id", "requested_at"], unique=False)
        batch_op.create_index("ix_p2p_requests_status", ["status", "requested_at"], unique=False)

    op.create_table(
        "p2p_bookings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("availability_id", sa.Uuid(), nullable=True, comment="the availability it was cut from"),
        sa.Column("match", sa.String(length=12), nullable=True,
                  comment="deciding, same, similar, different, unknown"),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booked_by_id", sa.Uuid(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("sequence", sa.Integer(), server_default="0", nullable=False, comment="invitation SEQUENCE"),
        sa.ForeignKeyConstraint(["request_id"], ["p2p_requests.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["booked_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("p2p_bookings", schema=None) as batch_op:
        batch_op.create_index("ux_p2p_bookings_slot", ["reviewer_id", "starts_at"], unique=True,
                              sqlite_where=SLOT_TAKEN, postgresql_where=SLOT_TAKEN)
        batch_op.create_index("ux_p2p_bookings_request", ["request_id"], unique=True, sqlite_where=BOOKED,
                              postgresql_where=BOOKED)
        batch_op.create_index("ix_p2p_bookings_reviewer_start", ["reviewer_id", "starts_at"], unique=False)
        batch_op.create_index("ix_p2p_bookings_case", ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("p2p_bookings", schema=None) as batch_op:
        for name in ("ix_p2p_bookings_case", "ix_p2p_bookings_reviewer_start", "ux_p2p_bookings_request",
                     "ux_p2p_bookings_slot"):
            batch_op.drop_index(name)
    op.drop_table("p2p_bookings")
    with op.batch_alter_table("p2p_requests", schema=None) as batch_op:
        for name in ("ix_p2p_requests_status", "ix_p2p_requests_case", "ux_p2p_requests_open_case"):
            batch_op.drop_index(name)
    op.drop_table("p2p_requests")
    with op.batch_alter_table("p2p_availability", schema=None) as batch_op:
        batch_op.drop_index("ix_p2p_availability_user")
    op.drop_table("p2p_availability")
