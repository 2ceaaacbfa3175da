"""Case states (issue 6 makes the transitions an explicit state machine; issue 3 needs the names).

"Open" means any state before closed (issue 6, scope 3).
"""
from __future__ import annotations

STATES = {
    "received": "Received",
    "in-review": "In review",
    "pended": "Pended for information",
    "referred": "Referred",
    "determined": "Determined",
    "notified": "Notified",
    "closed": "Closed",
}

OPEN_STATES = tuple(state for state in STATES if state != "closed")


def is_open(state: str) -> bool:
    return state in OPEN_STATES
