"""What one central-store push looks up again for every change of its batch, looked up once (issue 9, "Push,
profiled" in docs/benchmarks.md).

A push (app.server.push) replays each change through the service layer, and every replay asks for its actor and
other users by username, and for its case by TAR right after the push has read and locked that very case row.
While a batch is applied (`batch_lookups(session)`, one push's transaction), `user_by_name` and `case_by_tar`
(app.services.cases) answer from here:

* users by username: the first lookup reads the row; later ones get the same object (the session's own, so a
  change a replayed intent makes to it is seen at once). A username not found is asked again every time.
* cases by TAR: only rows the push locked FOR UPDATE in this transaction (`remember_locked_case`), which nobody
  else can change until it commits; a case whose TAR changed meanwhile is read again.
* cases by id: the same locked rows (`locked_case`), for a push that locks a chunk of its cases in one statement.
* a case's workflow and lease rows, read together with the locked case (`prefetch`), taken once by the first
  `session.get` they spare (`take_prefetched`: found, row-or-None), and forgotten as soon as a statement other
  than this session's own flush writes to their table (a bulk UPDATE or DELETE): a row changed that way is read
  again, never answered from here. The session's own flushes write only the objects it holds, which are what
  `take_prefetched` answers (a row the session deleted since is None; one it holds now under that key is itself).

Both are the objects a fresh SELECT in this session would have returned (the identity map's; a SELECT does not
overwrite what the session already holds), so no rule sees anything else than before. Nothing outlives the batch:
the next push (a new request and session) reads every user again, so a role changed between two pushes is seen by
the second.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app.store.models import Case, User

_KEY = "umws.batch_lookups"


@dataclass
class BatchLookups:
    users: dict[str, User] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    locked: dict[Any, Case] = field(default_factory=dict)  # case id -> the row locked FOR UPDATE
    prefetched: dict[tuple[str, Any], Any] = field(default_factory=dict)  # (table, key) -> row or None
    flushing: bool = False

    def forget_written(self, conn, cursor, statement: str, parameters, context, executemany) -> None:
        """Before every statement of the batch's connection: a write to a prefetched table, other than the session's
        own flush, voids what was read."""
        if not self.prefetched or self.flushing or statement.lstrip()[:6].upper() in ("SELECT", "SAVEPO", "RELEAS"):
            return
        tables = {table for table, _ in self.prefetched if table in statement}
        if tables:
            self.prefetched = {k: v for k, v in self.prefetched.items() if k[0] not in tables}


@contextlib.contextmanager
def batch_lookups(session: Session) -> Iterator[BatchLookups]:
    """Look users and locked cases up once while this block applies a batch (nested blocks share the outer one)."""
    held = session.info.get(_KEY)
    if held is not None:
        yield held
        return
    lookups = session.info[_KEY] = BatchLookups()
    connection = session.connection()

    def flush_begins(*_):
        lookups.flushing = True

    def flush_ends(*_):
        lookups.flushing = False

    def rolled_back(*_):  # even a savepoint's: what was read or locked since may be gone with it
        lookups.flushing = False
        lookups.prefetched.clear()
        lookups.locked.clear()

    listeners = [(connection, "before_cursor_execute", lookups.forget_written), (session, "before_flush", flush_begins),
                 (session, "after_flush_postexec", flush_ends), (session, "after_soft_rollback", rolled_back)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield lookups
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
        session.info.pop(_KEY, None)


def current(session: Session) -> BatchLookups | None:
    return session.info.get(_KEY)


def known_user(session: Session, username: str) -> User | None:
    lookups = current(session)
    if lookups is None:
        return None
    user = lookups.users.get(username)
    return user if user is not None and user.username == username else None


def remember_user(session: Session, user: User) -> None:
    lookups = current(session)
    if lookups is not None:
        lookups.users[user.username] = user


def known_case(session: Session, tar: str) -> Case | None:
    lookups = current(session)
    if lookups is None:
        return None
    case = lookups.cases.get(tar)
    return case if case is not None and case.tar == tar else None


def remember_locked_case(session: Session, case: Case) -> None:
    """`case` was just read FOR UPDATE in this transaction."""
    lookups = current(session)
    if lookups is not None:
        lookups.cases[case.tar] = case
        lookups.locked[case.id] = case


def locked_case(session: Session, case_id) -> Case | None:
    """The case of that id this batch locked, while the session still holds it."""
    lookups = current(session)
    case = lookups.locked.get(case_id) if lookups is not None else None
    return case if case is not None and case in session else None


def prefetch(session: Session, model, key, row) -> None:
    """`row` (None: there is none) is what `session.get(model, key)` would give now."""
    lookups = current(session)
    if lookups is not None:
        lookups.prefetched[(model.__tablename__, key)] = row


def take_prefetched(session: Session, model, key) -> tuple[bool, Any]:
    """(True, the row or None) when it was prefetched and its table not written since; else (False, None)."""
    lookups = current(session)
    if lookups is None:
        return False, None
    marker = (model.__tablename__, key)
    if marker not in lookups.prefetched:
        return False, None
    row = lookups.prefetched.pop(marker)
    if row is None:
        held = session.identity_map.get(session.identity_key(model, key))
        if held is None or held in session.deleted or inspect(held).deleted:
            return True, None
        return False, None  # the session holds one now: ask it
    if row in session and row not in session.deleted and not inspect(row).deleted:
        return True, row
    return False, None

