"""Worklist queues: which cases each queue holds and which roles see it (issue 3, scope 6).

Queue ids are stable (the CLI's `--queue`); a queue is described here as plain data and the store turns the
description into SQL, so that sorting, filtering and paging all happen in the database.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.domain.case_states import OPEN_STATES


@dataclass(frozen=True)
class Queue:
    id: str
    label: str
    roles: frozenset[str]
    states: tuple[str, ...] = OPEN_STATES
    assignee: str | None = None  # "me": assigned to the viewer; "none": unassigned; None: anyone
    category: str | None = None  # only this service category
    excluded_category: str | None = None
    team_scoped: bool = False  # only the viewer's team (when the viewer has one)


_ALL_ROLES = frozenset(
    {"um-nurse", "nurse-supervisor", "pharmacy-technician", "clinical-pharmacist", "medical-director",
     "bh-clinical-director", "um-coordinator", "auditor", "administrator"}
)
_REVIEWERS = _ALL_ROLES - {"um-coordinator", "auditor"}

QUEUES: dict[str, Queue] = {
    q.id: q
    for q in (
        Queue("mine", "My cases", _REVIEWERS, assignee="me"),
        Queue(
            "unassigned", "Unassigned team queue",
            frozenset({"um-nurse", "nurse-supervisor", "um-coordinator", "administrator"}),
            states=("received", "in-review", "pended"), assignee="none", excluded_category="medication",
            team_scoped=True,
        ),
        Queue(
            "referred", "Referred to physician",
            frozenset({"medical-director", "bh-clinical-director", "nurse-supervisor", "administrator"}),
            states=("referred",),
        ),
        Queue(
            "pharmacy", "Pharmacy TARs",
            frozenset({"pharmacy-technician", "clinical-pharmacist", "nurse-supervisor", "administrator"}),
            states=("received", "in-review", "pended"), category="medication",
        ),
        Queue(
            "pended", "Pended for information",
            frozenset({"um-nurse", "nurse-supervisor", "pharmacy-technician", "clinical-pharmacist",
                       "um-coordinator", "administrator"}),
            states=("pended",), team_scoped=True,
        ),
        Queue("all-open", "All open", frozenset({"nurse-supervisor", "auditor", "administrator"})),
    )
}


def queues_for_role(role: str) -> list[Queue]:
    """The queues a role sees, in the order the queue chooser lists them."""
    return [queue for queue in QUEUES.values() if role in queue.roles]


# Worklist columns: id -> header. The store maps each to a sortable SQL expression.
COLUMNS = {
    "tar": "TAR",
    "member": "Member",
    "service": "Service",
    "timing": "Timing / urgency",
    "received": "Received",
    "due": "Due",
    "status": "Status",
    "assignee": "Assignee",
}

DEFAULT_SORT = ("due", "asc")
