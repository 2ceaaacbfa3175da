"""Worklist queues: which cases each queue holds and which roles see it (issue 3, scope 6).

Queue ids are stable (the CLI's `--queue`); a queue is described here as plain data and the store turns the
description into SQL, so that sorting, filtering and paging all happen in the database.

"At risk today" (issue 4, scope 3): open, undecided cases (status received, in review, pended or referred) whose
decision is due before the end of the current plan day (America/Los_Angeles), overdue ones included. Supervisors,
administrators and auditors see every such case; a UM nurse or a pharmacy technician sees only their own (assigned
to them): the queue is the supervisor's view of the day, and the reviewer's own short list of it. Other roles
(physicians, pharmacists, coordinators) work from their due-sorted queues. Which instant "today" is measured from
is the query's `now` (docs/clocks.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from app.domain.appeals import OPEN_STATUSES as APPEAL_OPEN_STATUSES
from app.domain.case_states import OPEN_STATES
from app.domain.plantime import PLAN_TZ


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
    due_today: bool = False  # only cases whose decision is due before the end of the plan day of `now`
    own_only_for: frozenset[str] = frozenset()  # these roles see only the cases assigned to them
    # Only cases referred to one of these targets (app.domain.case_states.REFERRAL_TARGETS); None: any. A referred
    # case with no recorded target (demo data) was referred to a physician.
    referral_targets: tuple[str, ...] | None = None
    stays: str | None = None  # a stay queue (issue 12): STAY_QUEUES says which stays it holds
    own_or_unheld_for: frozenset[str] = frozenset()  # these roles see the cases they hold and those nobody holds
    p2p: str | None = None  # peer-to-peer queues (issue 8): "today" (the viewer's calls), "to-schedule"
    source: str = "cases"  # "appeals": one row per open appeal, sorted by its clock (app.store.appeal_queues)


_ALL_ROLES = frozenset(
    {"um-nurse", "nurse-supervisor", "pharmacy-technician", "clinical-pharmacist", "medical-director",
     "bh-clinical-director", "um-coordinator", "auditor", "administrator"}
)
_REVIEWERS = _ALL_ROLES - {"um-coordinator", "auditor"}
UNDECIDED_STATES = ("received", "in-review", "pended", "referred")  # open, and the decision clock still runs
DECIDED_STATES = frozenset({"determined", "notified", "closed"})  # the decision clock has stopped

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
            states=("referred",), referral_targets=("physician", "same-specialty"),
        ),
        Queue(  # a pharmacy technician's escalation (issue 6): the clinical pharmacist's queue
            "pharmacist-referred", "Referred to pharmacist",
            frozenset({"clinical-pharmacist", "nurse-supervisor", "administrator"}),
            states=("referred",), referral_targets=("pharmacist",),
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
        Queue(
            "at-risk", "At risk today",
            frozenset({"nurse-supervisor", "administrator", "auditor", "um-nurse", "pharmacy-technician"}),
            states=UNDECIDED_STATES, due_today=True, own_only_for=frozenset({"um-nurse", "pharmacy-technician"}),
        ),
        # Stay queues (issue 12, scope 3; app.store.stay_worklist): open stays, the Due column being the review due.
        Queue("reviews-due", "Reviews due today", frozenset({"um-nurse", "nurse-supervisor", "administrator"}),
              stays="reviews-due", team_scoped=True, own_or_unheld_for=frozenset({"um-nurse"})),
        Queue("overdue-reviews", "Overdue reviews", frozenset({"um-nurse", "nurse-supervisor", "administrator"}),
              stays="overdue-reviews", team_scoped=True, own_or_unheld_for=frozenset({"um-nurse"})),
        Queue("stays-referred", "Stays referred",
              frozenset({"medical-director", "bh-clinical-director", "nurse-supervisor", "administrator"}),
              stays="stays-referred"),
        Queue("expected-discharges", "Expected discharges",
              frozenset({"um-nurse", "nurse-supervisor", "um-coordinator", "administrator"}),
              stays="expected-discharges", team_scoped=True, own_or_unheld_for=frozenset({"um-nurse"})),
        # Peer-to-peer (issue 8, scope 6): cases in any state (a denied case may be closed), chosen by their calls
        # and requests (app.store.p2p_queries.queue_condition).
        Queue("p2p-today", "P2P today",
              frozenset({"medical-director", "bh-clinical-director", "clinical-pharmacist"}), p2p="today"),
        Queue("p2p-to-schedule", "P2P requests to schedule",
              frozenset({"um-coordinator", "nurse-supervisor", "administrator"}), p2p="to-schedule"),
        # Appeals (issue 13): `states` are appeal statuses (app.domain.appeals), `assignee` "me" the appeal's reviewer;
        # the Due column is the appeal's resolution due. "Appeals due" holds every open appeal (its notice still to
        # send included); "Appeals to review" a physician's appeals waiting for their decision.
        Queue(
            "appeals-due", "Appeals due",
            frozenset({"um-coordinator", "nurse-supervisor", "administrator", "auditor", "medical-director",
                       "bh-clinical-director"}),
            states=APPEAL_OPEN_STATUSES, source="appeals",
        ),
        Queue("appeals-to-review", "Appeals to review", frozenset({"medical-director", "bh-clinical-director"}),
              states=("in-review",), assignee="me", source="appeals"),
    )
}

# Which open stays each stay queue holds (issue 12, scope 3), judged at the query's `now`:
# reviews-due: the review is due later today (not yet overdue); overdue-reviews: the review due has passed;
# stays-referred: the stay's case is referred to a physician; expected-discharges: the expected discharge is on or
# before the 6th plan day after today ("for the week"; an earlier one not yet recorded is still listed).
# Ordered by the review due (the earliest of the next review date and the last approved day, app.domain.stay_clocks),
# expected discharges by the expected day first.
STAY_QUEUES = ("reviews-due", "overdue-reviews", "stays-referred", "expected-discharges")
EXPECTED_DISCHARGE_DAYS = 6


def end_of_plan_day(now: datetime) -> datetime:
    """The first instant of the plan day after the one `now` falls on (midnight America/Los_Angeles), in UTC.

    "Due before the end of today" is `due < end_of_plan_day(now)`: a day-based due (23:59:59 plan time) of today is
    in, one of tomorrow is out. Midnight exists on every plan day (the daylight-saving changes happen at 2 a.m.).
    """
    tomorrow = now.astimezone(PLAN_TZ).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=PLAN_TZ).astimezone(timezone.utc)


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
