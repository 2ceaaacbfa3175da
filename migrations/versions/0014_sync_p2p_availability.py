"""sync knows peer-to-peer availability: a change to a reviewer's availability is a change of that reviewer in the
central store's change log, so every laptop receives it with the reviewer (issues 8 and 9)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

Availability (p2p_availability) is reference data: edited on the central store only (app.services.p2p refuses it on
a laptop enrolled in sync) and pulled by every laptop, which books offline from it. The central store's change log
(sync_changes, migration 0007) gets a row `('user', user_id)` whenever a reviewer's availability is added or
withdrawn, through the same commit-ordered constraint trigger as users; the pull then sends that reviewer's
availability. PostgreSQL only (laptops keep no change log).
"""
from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE CONSTRAINT TRIGGER p2p_availability_sync_log AFTER INSERT OR UPDATE OR DELETE ON p2p_availability "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sync_log_change('user', 'user_id')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS p2p_availability_sync_log ON p2p_availability")
