"""The criteria library a store sees: the sets shipped in resources/criteria/ plus the versions held in its
`criteria_sets` table (imported, or shipped versions kept because a case applied them). Read only.

The shipped library needs no store at all (a fresh install proposes sets before any data exists). A stored row
with the same set id and version as a shipped file and the same content is one set; with different content
(a release changed a file without a new version), the stored row wins, because cases cite its SHA-256, and the
difference is reported in `Library.conflicts`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.criteria import CriteriaIndex, CriteriaSet, Match, MatchRequest, parse_set, shipped_sets, version_key
from app.store.models import CriteriaSetRecord

log = logging.getLogger("umws.criteria")


@dataclass
class Library:
    sets: tuple[CriteriaSet, ...]
    conflicts: tuple[str, ...] = ()
    index: CriteriaIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = CriteriaIndex(self.sets)
        self._by_key = {cset.key: cset for cset in self.sets}

    def get(self, set_id: str, version: str | None = None) -> CriteriaSet | None:
        """One version, or (version None) the highest version of the set."""
        if version is not None:
            return self._by_key.get((set_id, version))
        versions = self.versions(set_id)
        return versions[-1] if versions else None

    def versions(self, set_id: str) -> list[CriteriaSet]:
        return sorted((s for s in self.sets if s.id == set_id), key=lambda s: version_key(s.version))

    def effective(self, set_id: str, day) -> CriteriaSet | None:
        """The highest version of the set in effect on `day`."""
        in_effect = [s for s in self.versions(set_id) if s.effective_on(day)]
        return in_effect[-1] if in_effect else None

    def match(self, request: MatchRequest) -> list[Match]:
        return self.index.match(request)


def stored_sets(session: Session) -> list[tuple[CriteriaSetRecord, CriteriaSet | None]]:
    """Every stored version with its parsed set (None for content this release cannot read)."""
    rows = session.scalars(select(CriteriaSetRecord).order_by(CriteriaSetRecord.set_id,
                                                              CriteriaSetRecord.imported_at)).all()
    out = []
    for row in rows:
        try:
            out.append((row, parse_set(row.content, origin=row.origin)))
        except (KeyError, TypeError, ValueError) as error:  # a newer format, or damaged content
            log.warning("criteria set %s %s in the store cannot be read: %s", row.set_id, row.version, error)
            out.append((row, None))
    return out


def build_library(shipped: tuple[CriteriaSet, ...], stored: list[CriteriaSet]) -> Library:
    merged: dict[tuple[str, str], CriteriaSet] = {cset.key: cset for cset in shipped}
    conflicts = []
    for cset in stored:
        held = merged.get(cset.key)
        if held is not None and held.sha256 == cset.sha256:
            continue  # the shipped set, kept in the store because a case applied it
        if held is not None and held.origin == "shipped":
            conflicts.append(f"{cset.id} {cset.version}: the shipped file differs from the version held in the store "
                             "(the stored one is used; a changed set needs a new version)")
        merged[cset.key] = cset
    return Library(tuple(merged.values()), tuple(conflicts))


_cache: dict[str, tuple[tuple, Library]] = {}
_lock = Lock()


def library(session: Session | None = None) -> Library:
    """The library for this store (shipped only without a session); rebuilt only when the table changed."""
    shipped = shipped_sets()
    if session is None:
        return Library(shipped)
    count, latest = session.execute(select(func.count(CriteriaSetRecord.id),
                                           func.max(CriteriaSetRecord.imported_at))).one()
    if isinstance(latest, datetime):
        latest = latest.isoformat()
    key = (id(shipped), count, latest)
    where = str(session.get_bind().engine.url)  # a session may be bound to a connection (engine.Reader)
    with _lock:
        held = _cache.get(where)
        if held is not None and held[0] == key:
            return held[1]
    built = build_library(shipped, [cset for _, cset in stored_sets(session) if cset is not None])
    with _lock:
        _cache[where] = (key, built)
    return built


def stored_record(session: Session, set_id: str, version: str) -> CriteriaSetRecord | None:
    return session.scalar(select(CriteriaSetRecord).where(CriteriaSetRecord.set_id == set_id,
                                                          CriteriaSetRecord.version == version))
