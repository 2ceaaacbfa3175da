"""The appeal queues of the worklist (issue 13, scope 6): "Appeals due" and "Appeals to review", counted, sorted,
filtered and paged in SQL like every queue (app.store.worklist delegates here for queues whose source is
"appeals"). One row per open appeal with its case's TAR, member and service; the Due column is the appeal's
resolution due from the clock engine (`appeals.resolution_due_at`), the Received column the appeal's receipt, the
Status column the appeal's status in words, the Assignee column its reviewer, the urgency its track (expedited
reads as urgent)."""
from __future__ import annotations

from sqlalchemy import Select, and_, case, false, func, select

from app.domain.appeals import STATUSES
from app.domain.queues import QUEUES
from app.store.models import Appeal, Case, User

_REVIEWER = select(User.username).where(User.id == Appeal.reviewer_id).scalar_subquery()
_URGENCY = case((Appeal.expedited.is_(True), "urgent"), else_="routine")
_STATUS = case(*((Appeal.status == status, f"Appeal: {label[0].lower()}{label[1:]}")
                 for status, label in STATUSES.items()), else_=Appeal.status)
_SORT_KEYS = {
    "tar": (),
    "member": ((Case.member_name, False),),
    "service": ((Case.service_summary, False),),
    "timing": ((Appeal.expedited, True), (Case.review_timing, False)),  # expedited first when ascending
    "received": ((Appeal.received_at, False),),
    "due": ((Appeal.resolution_due_at, False),),
    "status": ((Appeal.status, False),),
    "assignee": ((_REVIEWER, False),),
}


def _where(query, dialect: str):
    from app.store.worklist import _filter_condition

    queue = QUEUES[query.queue_id]
    if query.viewer.role not in queue.roles:
        return false()
    conditions = [Appeal.status.in_(queue.states)]
    if queue.assignee == "me":
        conditions.append(Appeal.reviewer_id == query.viewer.user_id)
    text = _filter_condition(query.filter_text, dialect)
    if text is not None:
        conditions.append(text)
    return and_(*conditions)


def count_statement(query, dialect: str) -> Select:
    counted = select(func.count()).select_from(Appeal)
    if query.filter_text.strip():  # the filter reads the case's columns; the count alone needs no join
        counted = counted.join(Case, Case.id == Appeal.case_id)
    return counted.where(_where(query, dialect))


def rows_statement(query, dialect: str) -> Select:
    keys = []
    for expression, reverse in (*_SORT_KEYS[query.sort_column], (Case.tar, False), (Appeal.received_at, False)):
        keys.append(expression.desc() if reverse != query.descending else expression.asc())
    return (
        select(Case.id, Case.tar, Case.member_name, Case.service_summary, Case.service_category, Case.review_timing,
               _URGENCY, Appeal.received_at, Appeal.resolution_due_at, _STATUS, _REVIEWER)
        .select_from(Appeal).join(Case, Case.id == Appeal.case_id)
        .where(_where(query, dialect))
        .order_by(*keys)
    )
