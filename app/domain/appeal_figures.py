"""Appeal figures for the CMS metrics and the UM committee packet (issue 13, scope 6). Pure: rows in, figures out.

Readings we chose (docs/appeals.md, "Figures"):
- Appeals *filed* in a period are those the plan received on a plan-local day of it; appeals *resolved* in a period
  are those decided on a day of it (an appeal filed in March and decided in April counts in both months' packets,
  once each as what it was then).
- The overturn rate is overturned plus partially overturned, of the appeals resolved; the full-overturn rate counts
  overturned only. Dismissed appeals are counted apart and are in neither.
- In time: decided at or before the resolution due (extension included). Resolution time: receipt to decision, in
  hours. Open past due: unresolved open appeals whose due has passed at `now`.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AppealRow:
    tar: str
    service_category: str
    filed_by: str
    expedited: bool
    expedited_denied: bool
    timely: bool
    aid_paid_pending: bool
    status: str
    result: str | None
    received_at: datetime
    resolution_due_at: datetime
    resolved_at: datetime | None

    @property
    def in_time(self) -> bool:
        return self.resolved_at is not None and self.resolved_at <= self.resolution_due_at

    @property
    def hours(self) -> float | None:
        return None if self.resolved_at is None else (self.resolved_at - self.received_at).total_seconds() / 3600


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _hours(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(statistics.median(values), 1), round(statistics.fmean(values), 1)


def appeal_figures(filed: list[AppealRow], resolved: list[AppealRow], open_past_due: list[AppealRow]) -> dict:
    """Counts of appeals filed (by who filed, track, late, aid paid pending), of appeals resolved (by result, in
    time, resolution hours per track), overturn rates overall and per service category, and the breaches."""
    results = Counter(r.result for r in resolved)
    overturned = results["overturned"] + results["partially-overturned"]
    by_track = {}
    for track, expedited in (("expedited", True), ("standard", False)):
        group = [r for r in resolved if r.expedited == expedited]
        median, mean = _hours([r.hours for r in group])
        by_track[track] = {"resolved": len(group), "resolved_in_time": sum(1 for r in group if r.in_time),
                           "percent_in_time": _percent(sum(1 for r in group if r.in_time), len(group)),
                           "median_resolution_hours": median, "average_resolution_hours": mean}
    categories: dict[str, list[AppealRow]] = defaultdict(list)
    for row in resolved:
        categories[row.service_category].append(row)
    return {
        "filed": {
            "appeals": len(filed),
            "by_filer": dict(sorted(Counter(r.filed_by for r in filed).items())),
            "expedited_requested": sum(1 for r in filed if r.expedited or r.expedited_denied),
            "expedited_denied": sum(1 for r in filed if r.expedited_denied),
            "late": sum(1 for r in filed if not r.timely),
            "aid_paid_pending": sum(1 for r in filed if r.aid_paid_pending),
            "dismissed": sum(1 for r in filed if r.status == "dismissed"),
        },
        "resolved": {
            "appeals": len(resolved),
            "upheld": results["upheld"], "overturned": results["overturned"],
            "partially_overturned": results["partially-overturned"],
            "overturn_rate": _percent(overturned, len(resolved)),
            "full_overturn_rate": _percent(results["overturned"], len(resolved)),
            "resolved_late": sum(1 for r in resolved if not r.in_time),
            "expedited": by_track["expedited"], "standard": by_track["standard"],
        },
        "by_service_category": [
            {"service_category": category, "resolved": len(rows),
             "overturned": sum(1 for r in rows if r.result in ("overturned", "partially-overturned")),
             "overturn_rate": _percent(sum(1 for r in rows if r.result in ("overturned", "partially-overturned")),
                                       len(rows))}
            for category, rows in sorted(categories.items())],
        "open_past_due": len(open_past_due),
        "breached_tars": sorted({r.tar for r in resolved if not r.in_time} | {r.tar for r in open_past_due}),
    }
