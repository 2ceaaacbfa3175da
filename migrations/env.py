"""Alembic environment: always given a connection by app.store.migrate (no URL in any file)."""
import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from app.store.models import Base

# SQLite's batch mode rebuilds a table by reflecting it and the tables its foreign keys name; SQLAlchemy cannot
# reflect the expression indexes of `cases` and says so. They are not lost: batch mode never rebuilds `cases` after
# they are made, and tests/store/test_schema_both_engines.py checks they survive the whole chain.
warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index", category=SAWarning)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
