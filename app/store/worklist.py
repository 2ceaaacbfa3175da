"""Worklist queries: one queue, one viewer, a quick filter and a sort, counted and paged in SQL (issue 3, scope 6).

Nothing here loads a case as an ORM object: the GUI model and `umws worklist` ask for a count and for pages of
plain rows, so 100,000 cases cost what one screenful costs. A query carries the instant it is asked at (`now`,
default: the current time) for the queues that depend on it ("At risk today", issue 4, scope 3); that queue is
still one range of the partial due index (`ix_cases_open_due`), paged in SQL.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Select, and_, false, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from app.domain.plantime import iso_plan
from app.domain.case_states import OPEN_STATES
from app.domain.queues import (
    COLUMNS, DECIDED_STATES, DEFAULT_SORT, QUEUES, UNDECIDED_STATES, Queue, end_of_plan_day,
)
from app.store import search
from app.store.models import DECIDED_OPEN_CASE_SQL, OPEN_CASE_SQL, Case, CaseWorkflow, User


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    username: str
    role: str
    team: str | None


@dataclass(frozen=True)
class WorklistRow:
    id: uuid.UUID
    tar: str
    member: str
    service: str
    service_category: str
    timing: str
    urgency: str
    received_at: datetime
    due_at: datetime | None
    status: str
    assignee: str | None

    def to_json(self) -> dict:
        return {
            "tar": self.tar,
            "member": self.member,
            "service": self.service,
            "service_category": self.service_category,
            "timing": self.timing,
            "urgency": self.urgency,
            "received": iso_plan(self.received_at),
            "due": iso_plan(self.due_at),
            "status": self.status,
            "assignee": self.assignee,
        }


def viewer_for(session: Session, username: str) -> Viewer | None:
    user = session.execute(
        select(User.id, User.username, User.role, User.team).where(User.username == username)
    ).one_or_none()
    return Viewer(*user) if user else None


# The assignee's username as a scalar subquery rather than a join: it is looked up only for the rows a page returns,
# so skipping to a far page walks an index and nothing else.
_ASSIGNEE = select(User.username).where(User.id == Case.assignee_id).scalar_subquery()

# Each column's sort keys as (expression, descending when the column sorts ascending).
_SORT_KEYS = {
    "tar": (),
    "member": ((Case.member_name, False),),
    "service": ((Case.service_summary, False),),
    "timing": ((Case.urgency, True), (Case.review_timing, False)),  # urgent first when ascending
    "received": ((Case.received_at, False),),
    "due": ((Case.decision_due_at, False),),
    "status": ((Case.status, False),),
    "assignee": ((Case.assignee_username, False),),  # the projection, so the sort walks ix_cases_open_assignee
}
assert set(_SORT_KEYS) == set(COLUMNS)

# Decided cases (their decision clock stopped) after every running clock, in a queue that holds both: "sorted by
# nearest breach" (issue 4). Queues of undecided cases only keep the plain due order their own indexes serve.
_DECIDED_LAST = literal_column(f"({DECIDED_OPEN_CASE_SQL})")


def _sort_keys(queue: Queue, column: str) -> tuple:
    keys = _SORT_KEYS[column]
    if column == "due" and set(queue.states) & DECIDED_STATES:
        return ((_DECIDED_LAST, False), *keys)
    return keys


def _queue_condition(queue: Queue, viewer: Viewer, now: datetime):
    if queue.p2p:  # peer-to-peer queues (issue 8): chosen by their calls and requests, in any case state
        from app.store.p2p_queries import queue_condition

        return queue_condition(queue.p2p, viewer.user_id, now)
    # Every queue holds open cases only; the literal term lets the database use the partial ix_cases_open_* indexes.
    conditions = [literal_column(OPEN_CASE_SQL)]
    if set(queue.states) != set(OPEN_STATES):
        if queue.due_today:
            # Said as the states left out, so that the due index leads (a short range: due by tonight, in order);
            # a list of states to keep makes SQLite walk the status index and sort every undecided case.
            conditions.append(Case.status.not_in([s for s in OPEN_STATES if s not in queue.states]))
        else:
            conditions.append(Case.status.in_(queue.states))
    if queue.due_today:
        conditions.append(Case.decision_due_at < end_of_plan_day(now))
    if queue.assignee == "me" or viewer.role in queue.own_only_for:
        conditions.append(Case.assignee_id == viewer.user_id)
    elif queue.assignee == "none":
        conditions.append(Case.assignee_id.is_(None))
    if queue.category:
        conditions.append(Case.service_category == queue.category)
    if queue.excluded_category:
        conditions.append(Case.service_category != queue.excluded_category)
    if queue.team_scoped and viewer.team:
        conditions.append(Case.team == viewer.team)
    if queue.referral_targets is not None:
        conditions.append(_referred_to(queue.referral_targets))
    return and_(*conditions)


def _referred_to(targets: tuple[str, ...]):
    """Cases referred to one of `targets` (case_workflow.referred_to); a case without a recorded target (made
    before the workflow, e.g. demo data) counts as referred to a physician (app.domain.case_states.flow_of)."""
    if "physician" in targets:
        return Case.id.not_in(select(CaseWorkflow.case_id).where(CaseWorkflow.referred_to.is_not(None),
                                                                 CaseWorkflow.referred_to.not_in(targets)))
    return Case.id.in_(select(CaseWorkflow.case_id).where(CaseWorkflow.referred_to.in_(targets)))


def _filter_condition(text: str, dialect: str):
    """The quick filter: every word must appear, in any case, in the TAR number, the member's name or the service.

    On SQLite a word of three characters or more is looked up in the trigram index (app.store.search); a shorter
    one is matched with LIKE, which ignores case for ASCII. PostgreSQL matches with ILIKE.
    """
    words = text.split()
    if not words:
        return None
    clauses = []
    for word in words:
        if dialect == "sqlite" and len(word) >= search.MIN_WORD:
            clauses.append(literal_column("cases.rowid").in_(
                select(literal_column("rowid")).select_from(table(search.TABLE))
                .where(literal_column(search.TABLE).op("MATCH")(search.match_phrase(word)))))
            continue
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        columns = (Case.tar, Case.member_name, Case.service_summary)
        if dialect == "sqlite":
            clauses.append(or_(*(column.like(pattern, escape="\\") for column in columns)))
        else:
            clauses.append(or_(*(column.ilike(pattern, escape="\\") for column in columns)))
    return and_(*clauses)


@dataclass(frozen=True)
class WorklistQuery:
    """What a worklist shows: a queue as a viewer sees it, narrowed by a quick filter, in an order."""

    queue_id: str
    viewer: Viewer
    filter_text: str = ""
    sort_column: str = DEFAULT_SORT[0]
    descending: bool = DEFAULT_SORT[1] == "desc"
    now: datetime | None = None  # the instant "today" is judged at; None: the current time when the query runs

    def _where(self, dialect: str):
        queue = QUEUES[self.queue_id]
        if self.viewer.role not in queue.roles:
            return false()
        condition = _queue_condition(queue, self.viewer, self.now or datetime.now(timezone.utc))
        text_condition = _filter_condition(self.filter_text, dialect)
        return condition if text_condition is None else and_(condition, text_condition)

    def count_statement(self, dialect: str) -> Select:
        if QUEUES[self.queue_id].source == "appeals":  # issue 13
            from app.store import appeal_queues

            return appeal_queues.count_statement(self, dialect)
        if QUEUES[self.queue_id].stays:  # a stay queue (issue 12): app.store.stay_worklist
            from app.store import stay_worklist
            return stay_worklist.count_statement(self, dialect)
        return select(func.count()).select_from(Case).where(self._where(dialect))

    def rows_statement(self, dialect: str) -> Select:
        if QUEUES[self.queue_id].source == "appeals":  # issue 13
            from app.store import appeal_queues

            return appeal_queues.rows_statement(self, dialect)
        if QUEUES[self.queue_id].stays:
            from app.store import stay_worklist
            return stay_worklist.rows_statement(self, dialect)
        keys = []
        sort_keys = (*_sort_keys(QUEUES[self.queue_id], self.sort_column), (Case.tar, False))  # TAR last: total order
        for expression, reverse in sort_keys:
            keys.append(expression.desc() if reverse != self.descending else expression.asc())
        return (
            select(Case.id, Case.tar, Case.member_name, Case.service_summary, Case.service_category,
                   Case.review_timing, Case.urgency, Case.received_at, Case.decision_due_at, Case.status,
                   _ASSIGNEE)
            .where(self._where(dialect))
            .order_by(*keys)
        )

    def count(self, session: Session) -> int:
        return session.execute(self.count_statement(_dialect(session))).scalar_one()

    def page(self, session: Session, offset: int, limit: int) -> list[WorklistRow]:
        result = session.execute(self.rows_statement(_dialect(session)).offset(offset).limit(limit))
        return [WorklistRow(*row) for row in result]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def queue_counts(session: Session, viewer: Viewer, now: datetime | None = None) -> dict[str, int]:
    """Open cases in each queue the viewer sees (for the queue chooser), judged at `now` (default: the current time)."""
    return {
        queue.id: WorklistQuery(queue.id, viewer, now=now).count(session)
        for queue in QUEUES.values()
        if viewer.role in queue.roles
    }


@dataclass(frozen=True)
class RunningClock:
    """A case whose decision clock runs, for the clock warnings (no member data: the TAR number identifies it)."""

    tar: str
    received_at: datetime
    due_at: datetime


def running_clocks_of(session: Session, user_id: uuid.UUID) -> list[RunningClock]:
    """The open, undecided cases assigned to `user_id` that have a decision due, soonest first (one short query:
    a reviewer holds tens of cases)."""
    rows = session.execute(
        select(Case.tar, Case.received_at, Case.decision_due_at)
        .where(literal_column(OPEN_CASE_SQL), Case.status.in_(UNDECIDED_STATES), Case.assignee_id == user_id,
               Case.decision_due_at.is_not(None))
        .order_by(Case.decision_due_at, Case.tar)
    )
    return [RunningClock(*row) for row in rows]
