"""intake: members by plan member id, providers without an NPI, intake records, import sources, documents (issue 11)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

* members.cin may be empty and members.plan_member_id is new (unique): a PAS bundle often names the member only by
  the plan's member id.
* providers.npi may be empty: a request's requester is recorded as received even when it gives no usable NPI (the
  case is pended for it).
* request_lines.code widens to 20 characters: an NDC (11 digits) or an X12 service type ('X12:3') fits.
* intake_records: per case, how it came in (channel, by whom, the sender's id and file), the network status and
  the intake assessment (missing items, prior-authorization answers, carve-out redirections, late flag).
* intake_sources: each submission imported (a hash of its content) and the case it made or was merged into, so
  importing the same bundle or file again creates nothing.
* intake_documents: faxed and scanned documents moved from the inbox to the processed folder, attached to a case.
"""
from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.alter_column("cin", existing_type=sa.String(length=16), nullable=True,
                              existing_comment="Medi-Cal client index number")
        batch_op.add_column(sa.Column("plan_member_id", sa.String(length=20), nullable=True,
                                      comment="the plan's own member id"))
        batch_op.create_index("ux_members_plan_member_id", ["plan_member_id"], unique=True)
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.alter_column("npi", existing_type=sa.String(length=10), nullable=True)
    with op.batch_alter_table("request_lines", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False, existing_comment="CPT or HCPCS",
                              comment="CPT or HCPCS; an NDC; or X12:<service type>")

    op.create_table(
        "intake_records",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False, comment="form, fax, csv, fhir"),
        sa.Column("received_by", sa.String(length=40), nullable=True, comment="username of who entered it"),
        sa.Column("network_status", sa.String(length=16), nullable=False,
                  comment="in-network, out-of-network, unknown"),
        sa.Column("external_id", sa.String(length=80), nullable=True, comment="the sender's own request id"),
        sa.Column("source", sa.String(length=300), nullable=True, comment="file (and line) it came from"),
        sa.Column("primary_denial_date", sa.Date(), nullable=True),
        sa.Column("retro_eligibility_date", sa.Date(), nullable=True),
        sa.Column("assessment", sa.JSON(), nullable=False,
                  comment="missing items, authorization answers, redirections, late flag"),
        sa.Column("flags", sa.String(length=200), nullable=False, server_default="",
                  comment="space-separated flag ids, for filtering"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "intake_sources",
        sa.Column("source_key", sa.String(length=80), nullable=False, comment="fhir:/csv: + SHA-256 of the content"),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("disposition", sa.String(length=12), nullable=False, comment="created, merged"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("source_key"),
    )
    op.create_table(
        "intake_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False, comment="name in the inbox"),
        sa.Column("stored_path", sa.String(length=1000), nullable=False, comment="where it is now (processed folder)"),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, comment="arrival in the inbox"),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("intake_documents", schema=None) as batch_op:
        batch_op.create_index("ix_intake_documents_case", ["case_id"], unique=False)
        batch_op.create_index("ix_intake_documents_sha256", ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("intake_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_documents_sha256")
        batch_op.drop_index("ix_intake_documents_case")
    op.drop_table("intake_documents")
    op.drop_table("intake_sources")
    op.drop_table("intake_records")
    with op.batch_alter_table("request_lines", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=20), type_=sa.String(length=10),
                              existing_nullable=False, comment="CPT or HCPCS")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.alter_column("npi", existing_type=sa.String(length=10), nullable=False)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ux_members_plan_member_id")
        batch_op.drop_column("plan_member_id")
        batch_op.alter_column("cin", existing_type=sa.String(length=16), nullable=False,
                              existing_comment="Medi-Cal client index number")
