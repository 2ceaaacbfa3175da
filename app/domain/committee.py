"""The UM committee's dashboard and packet as data (issue 14, scopes 4-5). Pure: figures in, charts and tables out.

A section is a figures function (SQL aggregation, app.store.committee) and a presenter here that turns its figures
into what a committee reads: charts (`Chart`), each with the table behind it (`Table`), and notes that say where the
figures come from. The workstation's dashboard (app.ui.committee_dashboard, drawn with QPainter) and the PDF packet
(app.letters.committee_packet, ReportLab graphics) draw the same `SectionView`s, so they always say the same.

Nothing here is about one reviewer's decisions: the committee's figures are the program's (by service category,
line of business, clock, rule set, review type); per-reviewer figures exist only in the IRR section and are
agreement (app.domain.reviewer_figures).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.domain.vocabulary import LINES_OF_BUSINESS, SERVICE_CATEGORIES, TEAMS

OUTCOME_LABELS = {
    "approved": "Approved",
    "partially-approved": "Modified (approved in part)",
    "denied": "Denied",
    "withdrawn": "Withdrawn",
    "administratively-closed": "Closed administratively",
}
CLOCK_LABELS = {"decision": "Decision", "notification": "Provider notification", "member_notice": "Member notice"}
RULE_SET_LABELS = {"dhcs-medi-cal": "DHCS Medi-Cal", "federal-medicaid-2026": "Federal Medicaid 2026",
                   "medicare-2026": "Medicare 2026"}
AGE_BUCKETS = (("0-1", "Under 1 day"), ("1-3", "1 to 3 days"), ("3-7", "3 to 7 days"), ("7-14", "7 to 14 days"),
               ("14+", "14 days or more"))
REOPEN_LABELS = {"peer-to-peer": "Peer-to-peer", "appeal": "Appeal"}
RESULT_LABELS = {"overturned": "Overturned (approved)", "partly-overturned": "Partly overturned (modified)",
                 "upheld": "Upheld", "pending": "Not decided again yet"}


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    team: str | None = None
    line_of_business: str | None = None

    def to_json(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "team": self.team,
                "line_of_business": self.line_of_business}

    def describe(self) -> str:
        team = TEAMS.get(self.team, self.team) + " team" if self.team else "all teams"
        lob = LINES_OF_BUSINESS.get(self.line_of_business, self.line_of_business) if self.line_of_business \
            else "all lines of business"
        return f"{self.first:%m/%d/%Y} to {self.last:%m/%d/%Y} · {team} · {lob}"


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A bar chart: one bar per category and series (side by side, or stacked), values labelled on the bars."""

    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str  # "cases", "%", "per 1,000 member-months", ...
    stacked: bool = False
    target: float | None = None  # a reference line (e.g. the 90% agreement target)
    maximum: float | None = None  # the value axis' end (100 for percentages)

    @property
    def empty(self) -> bool:
        return not self.categories or all(v in (None, 0) for s in self.series for v in s.values)

    def describe(self) -> str:
        """The chart in words (its accessible description)."""
        parts = []
        for i, category in enumerate(self.categories):
            values = ", ".join(f"{s.name} {_fmt(s.values[i])}" for s in self.series)
            parts.append(f"{category}: {values}")
        return f"{self.title} ({self.unit}). " + "; ".join(parts)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[tuple[str, str], ...]  # (key, label)
    rows: tuple[dict, ...]
    total: dict | None = None  # a totals row, shown last

    def cell(self, row: dict, key: str) -> str:
        return _fmt(row.get(key))


@dataclass(frozen=True)
class Panel:
    """A chart and the table behind it (a table alone when `chart` is None)."""

    table: Table
    chart: Chart | None = None


@dataclass(frozen=True)
class SectionView:
    id: str
    title: str
    panels: tuple[Panel, ...]
    notes: tuple[str, ...] = field(default=())


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _category(value: str) -> str:
    return SERVICE_CATEGORIES.get(value, value)


def _lob(value: str) -> str:
    return LINES_OF_BUSINESS.get(value, value)


# ----- presenters: one per section --------------------------------------------------------------------------------
def volumes_view(figures: dict) -> SectionView:
    lobs = [lob for lob in LINES_OF_BUSINESS if any(r["line_of_business"] == lob for r in figures["rows"])]
    categories = [c for c in SERVICE_CATEGORIES if any(r["service_category"] == c for r in figures["rows"])]
    count = {(r["service_category"], r["line_of_business"]): r["received"] for r in figures["rows"]}
    rows = []
    for category in categories:
        row = {"category": _category(category)}
        for lob in lobs:
            row[lob] = count.get((category, lob), 0)
        row["total"] = sum(count.get((category, lob), 0) for lob in lobs)
        rows.append(row)
    total = {"category": "Total", **{lob: sum(count.get((c, lob), 0) for c in categories) for lob in lobs},
             "total": figures["total"]}
    chart = Chart("Requests received by service category", tuple(_category(c) for c in categories),
                  tuple(Series(_lob(lob), tuple(float(count.get((c, lob), 0)) for c in categories)) for lob in lobs),
                  "requests", stacked=True)
    table = Table("Requests received", (("category", "Service category"), *((lob, _lob(lob)) for lob in lobs),
                                        ("total", "Total")), tuple(rows), total)
    return SectionView("volumes", "Volumes", (Panel(table, chart),),
                       (f"Requests received from {figures['from']} to {figures['to']} (plan time), by the day "
                        "the plan received them.",))


def decisions_view(figures: dict) -> SectionView:
    outcomes = [o for o in OUTCOME_LABELS if any(r["outcome"] == o for r in figures["rows"])]
    lobs = [lob for lob in LINES_OF_BUSINESS if any(r["line_of_business"] == lob for r in figures["rows"])]
    count = {(r["outcome"], r["line_of_business"]): r["decided"] for r in figures["rows"]}
    total = figures["total"]
    rows = []
    for outcome in outcomes:
        n = sum(count.get((outcome, lob), 0) for lob in lobs)
        rows.append({"outcome": OUTCOME_LABELS[outcome], **{lob: count.get((outcome, lob), 0) for lob in lobs},
                     "total": n, "percent": round(100 * n / total, 1) if total else None})
    chart = Chart("Determinations by outcome", tuple(OUTCOME_LABELS[o] for o in outcomes),
                  tuple(Series(_lob(lob), tuple(float(count.get((o, lob), 0)) for o in outcomes)) for lob in lobs),
                  "determinations", stacked=True)
    table = Table("Determinations", (("outcome", "Outcome"), *((lob, _lob(lob)) for lob in lobs),
                                     ("total", "Total"), ("percent", "% of all")), tuple(rows),
                  {"outcome": "Total", **{lob: sum(count.get((o, lob), 0) for o in outcomes) for lob in lobs},
                   "total": total, "percent": 100.0 if total else None})
    return SectionView("decisions", "Decisions", (Panel(table, chart),),
                       ("Each request counted once, by its current determination made in the period (a "
                        "determination made again after a peer-to-peer call or an appeal replaces the first).",))


def timeliness_view(figures: dict) -> SectionView:
    rows = []
    labels = []
    values = []
    for row in figures["rows"]:
        rule_sets = " + ".join(RULE_SET_LABELS.get(r, r) for r in row["rule_sets"])
        rows.append({"clock": CLOCK_LABELS[row["clock"]], "rule_sets": rule_sets,
                     "request_type": row["request_type"], "counted": row["counted"], "in_time": row["in_time"],
                     "percent_in_time": row["percent_in_time"], "late": row["late"],
                     "open_past_due": row["open_past_due"],
                     "average_hours": row.get("average_turnaround_hours")})
    for clock in CLOCK_LABELS:
        for rule_sets, group in _by_rule_sets(figures["rows"], clock).items():
            counted = sum(r["counted"] for r in group)
            in_time = sum(r["in_time"] for r in group)
            labels.append(f"{CLOCK_LABELS[clock]} · {' + '.join(RULE_SET_LABELS.get(r, r) for r in rule_sets)}")
            values.append(round(100 * in_time / counted, 1) if counted else None)
    chart = Chart("In time, by clock and rule sets", tuple(labels), (Series("% in time", tuple(values)),), "%",
                  maximum=100.0)
    table = Table("Clocks met and missed", (
        ("clock", "Clock"), ("rule_sets", "Rule sets (earliest due governs)"), ("request_type", "Request type"),
        ("counted", "Counted"), ("in_time", "In time"), ("percent_in_time", "% in time"), ("late", "Late"),
        ("open_past_due", "Open past due"), ("average_hours", "Mean hours")), tuple(rows))
    notes = ["Decision: current determinations made in the period, in time when made at or before the decision due "
             "(extensions included); open past due: undecided requests whose decision due fell in the period and "
             "has passed. A clock is due at the earliest due of the rule sets that apply to the request.",
             "Provider notification and member notice: the determination's letters (their mail-by is the clock's "
             "due) against the notice recorded on the case."]
    if not any(r["clock"] != "decision" for r in figures["rows"]):
        notes.append("No provider notification or member notice with a due was recorded for the period's "
                     "determinations.")
    return SectionView("timeliness", "Timeliness", (Panel(table, chart),), tuple(notes))


def _by_rule_sets(rows: list[dict], clock: str) -> dict[tuple[str, ...], list[dict]]:
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        if row["clock"] == clock:
            groups.setdefault(tuple(row["rule_sets"]), []).append(row)
    return groups


def pended_view(figures: dict) -> SectionView:
    buckets = {r["bucket"]: r for r in figures["rows"]}
    rows = [{"age": label, "pended": buckets.get(key, {}).get("pended", 0),
             "past_due": buckets.get(key, {}).get("past_due", 0)} for key, label in AGE_BUCKETS]
    chart = Chart("Requests pended for information, by days waiting", tuple(label for _, label in AGE_BUCKETS),
                  (Series("Within the decision clock", tuple(float(r["pended"] - r["past_due"]) for r in rows)),
                   Series("Past the decision due", tuple(float(r["past_due"]) for r in rows))),
                  "requests", stacked=True)
    table = Table("Requests waiting for information", (("age", "Waiting since the request for information"),
                                             ("pended", "Pended"), ("past_due", "Past the decision due")),
                  tuple(rows), {"age": "Total", "pended": figures["total"], "past_due": figures["past_due"]})
    return SectionView("pended", "Pended for information", (Panel(table, chart),),
                       (f"Open requests pended for information as of {figures['as_of']}; the clock keeps running "
                        "while information is awaited.",))


def overturns_view(figures: dict) -> SectionView:
    reasons = list(REOPEN_LABELS)
    results = list(RESULT_LABELS)
    count = {(r["reason"], r["result"]): r["cases"] for r in figures["rows"]}
    rows = []
    for reason in reasons:
        reopened = sum(count.get((reason, res), 0) for res in results)
        overturned = count.get((reason, "overturned"), 0) + count.get((reason, "partly-overturned"), 0)
        decided_again = reopened - count.get((reason, "pending"), 0)
        rows.append({"reason": REOPEN_LABELS[reason], "reopened": reopened,
                     **{res: count.get((reason, res), 0) for res in results},
                     "overturn_rate": round(100 * overturned / decided_again, 1) if decided_again else None})
    chart = Chart("Denials and modifications reopened, by what followed", tuple(REOPEN_LABELS.values()),
                  tuple(Series(RESULT_LABELS[res], tuple(float(count.get((reason, res), 0)) for reason in reasons))
                        for res in results), "requests", stacked=True)
    table = Table("Overturns", (("reason", "Reopened on"), ("reopened", "Reopened"),
                                *((res, RESULT_LABELS[res]) for res in results),
                                ("overturn_rate", "% overturned of decided again")), tuple(rows),
                  {"reason": "Denials and modifications of the period", "reopened": figures["adverse"]})
    return SectionView("overturns", "Overturns (P2P and appeals)", (Panel(table, chart),), (
        "From what the case workflow records today: a physician reopens a denial or a modification on a "
        "peer-to-peer or appeal outcome and decides again; the new determination supersedes the first.",
        "Not yet connected: peer-to-peer call outcomes (issue 8) and appeal resolutions (issue 13); when they are "
        "merged this section reads their records (including appeals resolved without reopening the case)."))


def utilization_view(figures: dict) -> SectionView:
    rows = []
    for row in figures["rows"]:
        rows.append({"line_of_business": _lob(row["line_of_business"]), "admits": row["admits"],
                     "days": row["days"], "alos": row["alos"], "admits_per_1000": row["admits_per_1000"],
                     "days_per_1000": row["days_per_1000"], "snf_authorizations": row["snf_authorizations"],
                     "snf_days": row["snf_days"]})
    chart = Chart("Inpatient use per 1,000 member-months", tuple(r["line_of_business"] for r in rows),
                  (Series("Admits", tuple(r["admits_per_1000"] for r in rows)),
                   Series("Bed days", tuple(r["days_per_1000"] for r in rows))), "per 1,000 member-months")
    table = Table("Inpatient and SNF use", (
        ("line_of_business", "Line of business"), ("admits", "Inpatient admits authorized"),
        ("days", "Days (requested, authorized stays)"), ("alos", "Average length of stay (days)"),
        ("admits_per_1000", "Admits / 1,000 MM"), ("days_per_1000", "Bed days / 1,000 MM"),
        ("snf_authorizations", "SNF stays authorized"), ("snf_days", "SNF days (requested)")), tuple(rows))
    return SectionView("utilization", "Utilization", (Panel(table, chart),), (
        "From authorizations, not stays: admits are approved or modified inpatient requests decided in the period, "
        "days are their requested lengths of stay, SNF days those of long-term care / SNF requests.",
        f"Member-months: the {figures['members']:,} members on file in this store times the "
        f"{figures['months']:.2f} months of the period (no enrolment feed yet).",
        "Not yet connected: inpatient stays (issue 12: admissions, discharges, actual bed days, SNF days); when "
        "merged this section reads the stays and the plan's enrolment."))


def irr_view(figures: dict) -> SectionView:
    panels = []
    for year in figures["years"]:
        by_type = year["by_review_type"]
        chart = Chart(f"{year['year']} determination agreement by review type",
                      tuple(r["label"] for r in by_type),
                      (Series("% agreement", tuple(r["percent_agreement"] for r in by_type)),), "%",
                      target=year["target_percent"], maximum=100.0)
        panels.append(Panel(Table(f"{year['year']} agreement by review type", (
            ("label", "Review type"), ("sampled", "Sampled"), ("reviewed", "Re-reviewed"),
            ("percent_agreement", "% agreement"), ("kappa", "Kappa"), ("criteria_percent", "Criteria % agreement"),
            ("below_target", "Reviewers below target")), tuple(by_type), year["overall"]), chart))
        panels.append(Panel(Table(f"{year['year']} agreement by criteria set", (
            ("title", "Criteria set"), ("version", "Version"), ("reviewed", "Re-reviewed"),
            ("percent_agreement", "% agreement (determination)"), ("criteria_percent", "% agreement (criteria)"),
            ("kappa", "Kappa (criteria)")), tuple(year["by_criteria_set"]))))
        panels.append(Panel(Table(f"{year['year']} corrective action plans open", (
            ("reviewer", "Reviewer"), ("agreement_at_open", "Agreement at opening %"), ("state", "State"),
            ("owner", "Owner"), ("due_date", "Due"), ("overdue", "Overdue"), ("actions", "Actions done")),
            tuple(year["open_plans"]))))
    notes = [f"Target: {figures['target_percent']:g}% agreement on the determination; below it, a corrective "
             "action plan. Per-reviewer figures are agreement and timeliness only (never denials).",
             "The annual program is not filtered by team or line of business."]
    for year in figures["years"]:
        if not year["sample_drawn"]:
            notes.append(f"No {year['year']} sample has been drawn yet.")
    return SectionView("irr", "Inter-rater reliability", tuple(panels), tuple(notes))
