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

Both are the objects a fresh SELECT in this session would have returned (the identity map's; a SELECT does not
overwrite what the session already holds), so no rule sees anything else than before. Nothing outlives the batch:
the next push (a new request and session) reads every user again, so a role changed between two pushes is seen by
the second.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy.orm import Session

from app.store.models import Case, User

_KEY = "umws.batch_lookups"


@dataclass
class BatchLookups:
    users: dict[str, User] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)


@contextlib.contextmanager
def batch_lookups(session: Session) -> Iterator[BatchLookups]:
    """Look users and locked cases up once while this block applies a batch (nested blocks share the outer one)."""
    held = session.info.get(_KEY)
    if held is not None:
        yield held
        return
    lookups = session.info[_KEY] = BatchLookups()
    try:
        yield lookups
    finally:
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
