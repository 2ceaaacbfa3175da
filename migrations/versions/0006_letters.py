"""letters: drafted and issued notices, the exact PDF bytes of issued ones, reviewers' direct phone (issue 7)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

* letters: one row per letter of a case (kind, recipient, language), drafted when a determination, an extension or
  a pend is recorded; its status (draft, translation-needed, issued, mailed, superseded) is the projection of the
  case's letter events, kept in the same transaction; mail_by_at (the member-notice or provider-notification due
  from the clock engine) sorts the coordinators' queue.
* issued_letters: the exact PDF bytes of each issued letter with their SHA-256, the content model and the notice
  date; append-only (triggers refuse UPDATE and DELETE): a reprint returns these bytes, never a new rendering.
* users.phone: the reviewer's direct phone number, printed on provider letters (letters.md item 13).
"""
from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True,
                                      comment="direct phone number (printed on provider letters)"))

    op.create_table(
        "letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False, comment="app.domain.letters.kinds.KINDS"),
        sa.Column("recipient", sa.String(length=10), nullable=False, comment="member or provider"),
        sa.Column("language", sa.String(length=8), nullable=False, comment="ISO 639 of the letter"),
        sa.Column("status", sa.String(length=20), nullable=False,
                  comment="draft, translation-needed, issued, mailed, superseded"),
        sa.Column("source_event_id", sa.Uuid(), nullable=True,
                  comment="the determination, extension or pend event it notifies"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mail_by_at", sa.DateTime(timezone=True), nullable=True,
                  comment="member-notice / provider-notification due (clock engine)"),
        sa.Column("effective_date", sa.Date(), nullable=True, comment="termination / reduction takes effect"),
        sa.Column("translations", sa.JSON(), nullable=True, comment="the reviewer's free texts, translated"),
        sa.Column("issued_letter_id", sa.Uuid(), nullable=True, comment="the issued document (issued_letters)"),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_method", sa.String(length=12), nullable=True, comment="mail, fax, phone, portal"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.create_index("ix_letters_case", ["case_id"], unique=False)
        batch_op.create_index("ix_letters_queue", ["status", "mail_by_at"], unique=False)

    op.create_table(
        "issued_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("letter_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Uuid(), nullable=False),
        sa.Column("notice_date", sa.Date(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False, comment="the exact bytes sent"),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False, comment="the content model the PDF was rendered from"),
        sa.Column("criteria", sa.JSON(), nullable=True, comment="criteria set ids and versions cited"),
        sa.Column("corrects_id", sa.Uuid(), nullable=True,
                  comment="the issued letter this one corrects (a second notification)"),
        sa.ForeignKeyConstraint(["letter_id"], ["letters.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("issued_letters", schema=None) as batch_op:
        batch_op.create_index("ix_issued_letters_letter", ["letter_id"], unique=False)
    _append_only("issued_letters")


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE: an issued letter's bytes are part of the determination file."""
    message = f"{table} is append-only: an issued letter is never changed; issue a corrective letter instead"
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
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS issued_letters_no_update")
        op.execute("DROP TRIGGER IF EXISTS issued_letters_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS issued_letters_append_only ON issued_letters")
        op.execute("DROP FUNCTION IF EXISTS issued_letters_append_only()")
    with op.batch_alter_table("issued_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_issued_letters_letter")
    op.drop_table("issued_letters")
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_index("ix_letters_queue")
        batch_op.drop_index("ix_letters_case")
    op.drop_table("letters")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("phone")
