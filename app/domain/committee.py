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
CHANNEL_LABELS = {"p2p": "Peer-to-peer calls", "appeal": "Appeals"}
CHANNEL_GROUPS = {"p2p-denial": "after a denial or modification", "p2p-potential-denial": "before the determination",
                  "appeal-standard": "standard", "appeal-expedited": "expedited"}
RESULT_LABELS = {"upheld": "Upheld", "overturned": "Overturned (approved)",
                 "partly_overturned": "Partly overturned (modified)"}
LEVEL_LABELS = {"icu": "ICU", "acute": "Acute", "acute-psych": "Acute psychiatric", "ltac": "Long-term acute care",
                "sub-acute": "Sub-acute", "snf": "Skilled nursing facility", "residential-sud": "Residential SUD",
                "administrative": "Administrative days"}  # app.domain.stays.LEVELS_OF_CARE, shortened


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
    """Per channel (then per kind of call / appeal track): decided on the merits, by result, the overturn rate
    ((overturned + partly overturned) / decided on the merits), still undecided, closed without a decision."""
    rows = []
    for channel in figures["channels"]:
        rows.append(_channel_row(CHANNEL_LABELS[channel["channel"]], channel))
        for group in figures["rows"]:
            if group["channel"] == channel["channel"]:
                rows.append(_channel_row(f"of which: {CHANNEL_GROUPS.get(group['group'], group['group'])}", group))
    channels = figures["channels"]
    chart = Chart("Decided on the merits, by what came of the denial",
                  tuple(CHANNEL_LABELS[c["channel"]] for c in channels),
                  tuple(Series(RESULT_LABELS[res], tuple(float(c[res]) for c in channels)) for res in RESULT_LABELS),
                  "decisions", stacked=True)
    table = Table("Peer-to-peer and appeal outcomes", (
        ("channel", "Channel"), ("decided", "Held / resolved"), *((res, RESULT_LABELS[res]) for res in RESULT_LABELS),
        ("overturn_rate", "% overturned"), ("undecided", "Not yet decided"),
        ("closed_undecided", "Closed, no decision")), tuple(rows),
        {"channel": "Denials and modifications of the period", "decided": figures["adverse"]})
    return SectionView("overturns", "Overturns (P2P and appeals)", (Panel(table, chart),), (
        "Peer-to-peer: calls held in the period (p2p_requests: the result the physician who held the call recorded; "
        "overturned or modified is a new determination). Not yet decided: requests made in the period still to "
        "schedule or booked; closed, no decision: requests closed in the period as attempted (practitioner "
        "no-shows) or cancelled. Calls before the determination (on a potential denial) are counted apart within "
        "the channel.",
        "Appeals: appeals resolved in the period on the merits (the independent reviewer's result: upheld, "
        "overturned, partially overturned), by the track at resolution. Not yet decided: appeals received in the "
        "period still open before a decision; closed, no decision: appeals dismissed in the period (withdrawn "
        "by the member, filed in error, late without good cause), which are not decided on the merits and are left "
        "out of the rate.",
        "% overturned: (overturned + partly overturned) / held or resolved on the merits. Denials and "
        "modifications of the period: every adverse determination recorded in the period, including those since "
        "overturned (context, not the rate's denominator: a call or an appeal may follow a determination of an "
        "earlier period)."))


def _channel_row(label: str, figures: dict) -> dict:
    return {"channel": label, **{key: figures[key] for key in (
        "decided", *RESULT_LABELS, "overturn_rate", "undecided", "closed_undecided")}}


def _stay_row(row: dict, label: str) -> dict:
    rate = row["readmission_rate"]
    readmitted = f"{row['readmissions']:,}" + (f" ({rate:.1f}%)" if rate is not None else "")
    return {**row, "line_of_business": label, "readmitted": readmitted}


def utilization_view(figures: dict) -> SectionView:
    rows = [_stay_row(row, _lob(row["line_of_business"])) for row in figures["lines"]]
    total = _stay_row(figures["total"], "Total")
    chart = Chart("Facility use per 1,000 member-months", tuple(r["line_of_business"] for r in rows),
                  (Series("Admits", tuple(r["admits_per_1000"] for r in rows)),
                   Series("Bed days", tuple(r["bed_days_per_1000"] for r in rows)),
                   Series("SNF days", tuple(r["snf_days_per_1000"] for r in rows))), "per 1,000 member-months")
    table = Table("Stays by line of business", (
        ("line_of_business", "Line of business"), ("member_months", "Member months"), ("admits", "Admits"),
        ("admits_per_1000", "Admits per 1,000 MM"), ("bed_days", "Bed days"),
        ("bed_days_per_1000", "Bed days per 1,000 MM"), ("alos", "ALOS (days)"), ("snf_days", "SNF days"),
        ("days_denied", "Days denied"), ("readmitted", "Readmitted in 30 days (% of discharges)")), tuple(rows), total)
    levels = [{**r, "level_of_care": LEVEL_LABELS.get(r["level_of_care"], r["level_of_care"])}
              for r in figures["levels"]]
    by_level = Chart("Average length of stay by level of care at admission",
                     tuple(r["level_of_care"] for r in levels), (Series("Days", tuple(r["alos"] for r in levels)),),
                     "days")
    level_table = Table("Stays by level of care at admission", (
        ("level_of_care", "Level of care at admission"), ("admits", "Admits"), ("bed_days", "Bed days"),
        ("discharges", "Discharges"), ("alos", "Average length of stay (days)")), tuple(levels))
    notes = [
        "From the stays (concurrent review's day ledger, issue 12), the readings of umws stay figures: admits are "
        "stays admitted in the period (transfers from another facility continue a stay and are left out); bed days "
        "are ledger days in the period up to today spent in the bed (not on leave, not after the discharge), "
        "decided or not; average length of stay is over the stays discharged in the period; days denied are "
        "ledger days in the period a physician denied; readmissions are stays admitted in the period within 30 "
        "days of a discharge, as a share of the period's discharges.",
        "SNF days: bed days whose ledger level of care is skilled nursing facility (a stay admitted at another level "
        "and stepped down counts its SNF days). A stay's line of business and team are its case's.",
        f"Member-months (MM): the enrolment months of each line from the month of {figures['from']} to the month "
        f"of {figures['to']} (whole months). ALOS: average length of stay.",
    ]
    if figures.get("team_filtered"):
        notes.append("Filtered by team: the stays are the team's, the member-months the whole plan's (enrolment has "
                     "no team), so the rates per 1,000 are the team's share of the plan's use.")
    return SectionView("utilization", "Utilization", (Panel(table, chart), Panel(level_table, by_level)),
                       tuple(notes))


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
