"""Timeliness and CMS-0057-F figures from decided requests (issue 4, scope 5). Pure: rows in, figures out.

Sources: ../shared/reference/timeliness.md ("A missed deadline counts as a denial"; CMS-0057-F public metrics:
items requiring prior authorization; % of standard requests approved, denied, approved after appeal, approved after
an extension; % of expedited approved and denied; average and median decision time, standard and expedited).

Readings we chose (docs/clocks.md, "Reports"):
- A request is "in time" when its determination instant is at or before its decision due (extensions included).
- The CMS metrics count prior-authorization requests: pre-service, concurrent and post-stabilization, never
  post-service (retrospective payment review) and never drugs (CMS-0057-F excludes drugs). "Standard" is routine,
  "expedited" is urgent. Percentages are of requests with an approve, partial or deny determination; withdrawn and
  administratively closed requests are counted but not in those percentages. A partial approval (modification) is
  shown on its own line and counts in neither "approved" nor "denied".
- "Approved after appeal" (issue 13): requests whose current determination is an approval that an appeal's
  overturn recorded (a partial overturn is a partial approval, counted in neither). The request counts in the year
  of that determination, like every other figure here: an overturn in January of a December denial counts then.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

APPROVED, PARTIAL, DENIED = "approved", "partially-approved", "denied"
PRIOR_AUTH_TIMINGS = frozenset({"pre-service", "concurrent", "post-stabilization"})


@dataclass(frozen=True)
class Decision:
    tar: str
    line_of_business: str
    review_timing: str
    urgency: str
    service_category: str
    received_at: datetime
    decided_at: datetime
    decision_due_at: datetime | None
    outcome: str
    extensions_taken: int
    approved_after_appeal: bool = False  # the current approval is an appeal's overturn (issue 13)

    @property
    def in_time(self) -> bool:
        return self.decision_due_at is None or self.decided_at <= self.decision_due_at

    @property
    def turnaround_hours(self) -> float:
        return (self.decided_at - self.received_at).total_seconds() / 3600


@dataclass(frozen=True)
class OpenBreach:
    tar: str
    line_of_business: str
    review_timing: str
    urgency: str
    decision_due_at: datetime


def request_type(urgency: str, timing: str) -> str:
    return f"{urgency} {timing}"


def _hours(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(statistics.median(values), 1), round(statistics.fmean(values), 1)


def timeliness_rows(decisions: list[Decision], open_breaches: list[OpenBreach]) -> list[dict]:
    """One row per line of business and request type: decided, decided in time, %, median and mean turnaround,
    and breaches (decided late, or still undecided past due)."""
    groups: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    late_open: dict[tuple[str, str], int] = defaultdict(int)
    for decision in decisions:
        groups[(decision.line_of_business, request_type(decision.urgency, decision.review_timing))].append(decision)
    for breach in open_breaches:
        late_open[(breach.line_of_business, request_type(breach.urgency, breach.review_timing))] += 1
    rows = []
    for key in sorted(set(groups) | set(late_open)):
        group = groups.get(key, [])
        in_time = sum(1 for d in group if d.in_time)
        median, mean = _hours([d.turnaround_hours for d in group])
        rows.append({
            "line_of_business": key[0],
            "request_type": key[1],
            "decided": len(group),
            "decided_in_time": in_time,
            "percent_in_time": round(100 * in_time / len(group), 1) if group else None,
            "median_turnaround_hours": median,
            "average_turnaround_hours": mean,
            "decided_late": len(group) - in_time,
            "open_past_due": late_open.get(key, 0),
            "breaches": len(group) - in_time + late_open.get(key, 0),
        })
    return rows


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def cms_metrics(decisions: list[Decision], codes_requiring_authorization: list[str]) -> dict:
    """The CMS-0057-F public metrics for one year's decided prior-authorization requests (drugs excluded)."""
    counted = [d for d in decisions if d.service_category != "medication" and d.review_timing in PRIOR_AUTH_TIMINGS]
    result: dict = {"items_requiring_prior_authorization": sorted(set(codes_requiring_authorization))}
    for label, urgency in (("standard", "routine"), ("expedited", "urgent")):
        group = [d for d in counted if d.urgency == urgency]
        decided = [d for d in group if d.outcome in (APPROVED, PARTIAL, DENIED)]
        approved = [d for d in decided if d.outcome == APPROVED]
        median, mean = _hours([d.turnaround_hours for d in group])
        figures = {
            "requests": len(group),
            "determinations": len(decided),
            "percent_approved": _percent(len(approved), len(decided)),
            "percent_partially_approved": _percent(sum(1 for d in decided if d.outcome == PARTIAL), len(decided)),
            "percent_denied": _percent(sum(1 for d in decided if d.outcome == DENIED), len(decided)),
            "average_decision_hours": mean,
            "median_decision_hours": median,
        }
        if label == "standard":
            figures["percent_approved_after_extension"] = _percent(
                sum(1 for d in approved if d.extensions_taken > 0), len(decided))
            figures["percent_approved_after_appeal"] = _percent(
                sum(1 for d in approved if d.approved_after_appeal), len(decided))
        result[label] = figures
    result["notes"] = ["percent_approved_after_appeal: approvals that an appeal's overturn recorded, of the standard "
                       "determinations decided in the year (docs/appeals.md)."]
    return result
