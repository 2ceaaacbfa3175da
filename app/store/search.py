"""The worklist's quick-filter index on SQLite: an FTS5 trigram index of each case's TAR, member name and service.

With it, "every word appears somewhere in the TAR, member or service" is an index lookup instead of a scan of
every case (issue 3: filter within 50 ms at 100,000 cases). It is derived data, outside the Alembic chain: made and
kept current by triggers on `cases`, and rebuilt from `cases` whenever the schema was migrated (a migration that
rebuilds the `cases` table drops its triggers and renumbers its rows). PostgreSQL matches with ILIKE instead.
Trigram matching ignores case and needs words of three characters or more; shorter words fall back to LIKE.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

TABLE = "case_search"
COLUMNS = ("tar", "member_name", "service_summary")
MIN_WORD = 3  # trigram: shorter words cannot use the index

_TRIGGERS = {
    f"{TABLE}_after_insert": f"""
        CREATE TRIGGER {TABLE}_after_insert AFTER INSERT ON cases BEGIN
            INSERT INTO {TABLE}(rowid, {', '.join(COLUMNS)})
            VALUES (new.rowid, {', '.join('new.' + c for c in COLUMNS)});
        END""",
    f"{TABLE}_after_delete": f"""
        CREATE TRIGGER {TABLE}_after_delete AFTER DELETE ON cases BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, {', '.join(COLUMNS)})
            VALUES ('delete', old.rowid, {', '.join('old.' + c for c in COLUMNS)});
        END""",
    f"{TABLE}_after_update": f"""
        CREATE TRIGGER {TABLE}_after_update AFTER UPDATE OF {', '.join(COLUMNS)} ON cases BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, {', '.join(COLUMNS)})
            VALUES ('delete', old.rowid, {', '.join('old.' + c for c in COLUMNS)});
            INSERT INTO {TABLE}(rowid, {', '.join(COLUMNS)})
            VALUES (new.rowid, {', '.join('new.' + c for c in COLUMNS)});
        END""",
}


def ensure(connection: Connection, *, rebuild: bool) -> None:
    """Create the index and its triggers where missing; rebuild the index from `cases` when asked (or when new)."""
    if connection.dialect.name != "sqlite":
        return
    existing = {name for (name,) in connection.execute(
        text("SELECT name FROM sqlite_master WHERE name LIKE :prefix"), {"prefix": f"{TABLE}%"})}
    if TABLE not in existing:
        connection.execute(text(
            f"CREATE VIRTUAL TABLE {TABLE} USING fts5({', '.join(COLUMNS)}, content='cases', "
            "content_rowid='rowid', tokenize='trigram')"))
        rebuild = True
    for name, ddl in _TRIGGERS.items():
        if name not in existing:
            connection.execute(text(ddl))
    if rebuild:
        connection.execute(text(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')"))


def match_phrase(word: str) -> str:
    """An FTS5 string that matches `word` as a substring (trigram), quotes doubled."""
    return '"' + word.replace('"', '""') + '"'
