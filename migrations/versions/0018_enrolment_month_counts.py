"""enrolment_month_counts: members enrolled per month and line of business, kept by triggers (issue 14)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

The committee dashboard's Utilization section counted the period's enrolment months (740,500 index entries on a
year of 200,000 cases: 146 ms of its 0.8 s when the page cache is cold, which it is after any write) for its
member-months. `enrolment_month_counts` holds those counts, one row per month and line of business, kept in the
same transaction as every insert, delete or change of an enrolment month by triggers (row triggers on SQLite;
statement triggers with transition tables on PostgreSQL, so a bulk load of enrolment adds one statement, not one
per row), whatever writes them. Filled here from the enrolment months already recorded.
"""
from alembic import op
import sqlalchemy as sa


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

KEY = "month = {row}.month AND line_of_business = {row}.line_of_business"
ADD_ONE = ("INSERT INTO enrolment_month_counts (month, line_of_business, members) "
           "VALUES (NEW.month, NEW.line_of_business, 1) "
           "ON CONFLICT (month, line_of_business) DO UPDATE SET members = members + 1;")
TAKE_ONE = "UPDATE enrolment_month_counts SET members = members - 1 WHERE " + KEY.format(row="OLD") + ";"
SQLITE_TRIGGERS = {
    "enrolment_months_count_insert": f"AFTER INSERT ON enrolment_months BEGIN {ADD_ONE} END",
    "enrolment_months_count_delete": f"AFTER DELETE ON enrolment_months BEGIN {TAKE_ONE} END",
    "enrolment_months_count_update": ("AFTER UPDATE OF month, line_of_business ON enrolment_months "
                                      f"BEGIN {TAKE_ONE} {ADD_ONE} END"),
}
PG_ADD = """
    INSERT INTO enrolment_month_counts (month, line_of_business, members)
    SELECT month, line_of_business, count(*) FROM added GROUP BY month, line_of_business
    ON CONFLICT (month, line_of_business) DO UPDATE
    SET members = enrolment_month_counts.members + excluded.members;"""
PG_TAKE = """
    UPDATE enrolment_month_counts c SET members = c.members - t.n
    FROM (SELECT month, line_of_business, count(*) AS n FROM taken GROUP BY month, line_of_business) t
    WHERE c.month = t.month AND c.line_of_business = t.line_of_business;"""
PG_FUNCTION = f"""
CREATE FUNCTION enrolment_months_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN {PG_TAKE}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {PG_ADD}
    END IF;
    RETURN NULL;
END $$"""
PG_TRIGGERS = {
    "enrolment_months_count_insert": "AFTER INSERT ON enrolment_months REFERENCING NEW TABLE AS added",
    "enrolment_months_count_delete": "AFTER DELETE ON enrolment_months REFERENCING OLD TABLE AS taken",
    "enrolment_months_count_update": ("AFTER UPDATE ON enrolment_months REFERENCING OLD TABLE AS taken "
                                      "NEW TABLE AS added"),
}


def upgrade() -> None:
    op.create_table(
        "enrolment_month_counts",
        sa.Column("month", sa.Date(), nullable=False, comment="the first day of the month"),
        sa.Column("line_of_business", sa.String(length=16), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False, comment="enrolment months of that month and line"),
        sa.PrimaryKeyConstraint("month", "line_of_business"),
    )
    op.execute("INSERT INTO enrolment_month_counts (month, line_of_business, members) "
               "SELECT month, line_of_business, count(*) FROM enrolment_months GROUP BY month, line_of_business")
    if op.get_bind().dialect.name == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute(PG_FUNCTION)
        for name, timing in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {timing} FOR EACH STATEMENT EXECUTE FUNCTION enrolment_months_count()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON enrolment_months")
        op.execute("DROP FUNCTION IF EXISTS enrolment_months_count()")
    op.drop_table("enrolment_month_counts")
