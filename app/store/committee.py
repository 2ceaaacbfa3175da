"""The UM committee's figures, aggregated in SQL, and the list of the dashboard's and packet's sections (issue 14).

`SECTIONS` is the one place a section is added: its id, its title, its figures function (session, filters, now)
-> JSON-ready dict computed with GROUP BY in the database, and its presenter (app.domain.committee) that makes the
charts and tables. `build` runs them all; the dashboard, the packet and `umws report dashboard --json` use it.

Readings (docs/oversight.md): periods are plan-local days; team and line of business filter the case; every count
comes from the case rows and events (no figure is typed in). Timeliness follows app.domain.timeliness_report (in
time: determined at or before the decision due; open past due: undecided open cases whose due fell in the period
and has passed), aggregated here in SQL, and names the rule sets of each group with the clock engine's rule book.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from sqlalchemy import and_, case, func, literal, literal_column, or_, select, text
from sqlalchemy.orm import Session, aliased

from app.domain import committee as views
from app.domain.committee import Filters, SectionView
from app.domain.irr_sampling import REVIEW_TYPES, TARGET_PERCENT
from app.domain.plantime import PLAN_TZ, to_plan
from app.domain.timeliness_report import request_type
from app.store.models import (
    OPEN_CASE_SQL, PENDED_CASE_SQL, Appeal, Case, CaseEvent, CaseWorkflow, Letter, P2PRequest,
)

ADVERSE = ("denied", "partially-approved")


def _not_indexed(session: Session, column):
    """`column` in a WHERE term that SQLite must not pick an index for (its planner, without table statistics,
    prefers a narrow index on that term and then reads every matching wide row, where the range term would have read
    a covering index of migration 0012): SQLite's unary + (https://sqlite.org/optoverview.html, "Disqualifying
    WHERE clause terms using unary-+"). Other engines get the column as it is."""
    if session.get_bind().dialect.name != "sqlite":
        return column
    return literal_column(f"+{column.table.name}.{column.name}", type_=column.type)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=PLAN_TZ).astimezone(timezone.utc)


def period(filters: Filters) -> tuple[datetime, datetime]:
    return _day_start(filters.first), _day_start(filters.last + timedelta(days=1))


def _filtered(query, filters: Filters, table=Case):
    if filters.team:
        query = query.where(table.team == filters.team)
    if filters.line_of_business:
        query = query.where(table.line_of_business == filters.line_of_business)
    return query


def _hours(session: Session, later, earlier):
    """(later - earlier) in hours, in SQL, on either engine."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


# ----- volumes and decisions --------------------------------------------------------------------------------------
def volumes(session: Session, filters: Filters, now: datetime) -> dict:
    start, end = period(filters)
    query = _filtered(select(Case.service_category, Case.line_of_business, func.count())
                      .where(Case.received_at >= start, Case.received_at < end)
                      .group_by(Case.service_category, Case.line_of_business), filters)
    rows = [{"service_category": c, "line_of_business": lob, "received": n} for c, lob, n in session.execute(query)]
    return {"from": filters.first.isoformat(), "to": filters.last.isoformat(), "rows": rows,
            "total": sum(r["received"] for r in rows)}


def decisions(session: Session, filters: Filters, now: datetime) -> dict:
    start, end = period(filters)
    decided_at = _not_indexed(session, Case.decided_at)  # read ix_cases_decided_figures in group order
    query = _filtered(select(Case.outcome, Case.line_of_business, func.count())
                      .where(decided_at >= start, decided_at < end, Case.outcome.is_not(None))
                      .group_by(Case.outcome, Case.line_of_business), filters)
    rows = [{"outcome": o, "line_of_business": lob, "decided": n} for o, lob, n in session.execute(query)]
    return {"rows": rows, "total": sum(r["decided"] for r in rows)}


# ----- timeliness ---------------------------------------------------------------------------------------------------
def _epoch_boundaries() -> list[date]:
    """The days a rule set comes into or goes out of force: between two of them the same rule sets apply."""
    from app.domain.clocks import default_rule_book

    days = set()
    for rule_set in default_rule_book().rule_sets:
        for day in (rule_set.effective_from, rule_set.effective_until):
            if day is not None:
                days.add(day)
    return sorted(days)


def _epoch_column(boundaries: list[date]):
    if not boundaries:
        return literal(0)
    return sum((case((Case.received_at >= _day_start(day), 1), else_=0) for day in boundaries), literal(0))


def _rule_sets(lob: str, timing: str, urgency: str, medication: bool, epoch: int, boundaries: list[date]):
    from app.domain.clocks import default_rule_book

    if boundaries:
        day = boundaries[epoch - 1] if epoch > 0 else boundaries[0] - timedelta(days=1)
    else:
        day = date.today()
    coverage = default_rule_book().coverage(lob, timing, urgency, "medication" if medication else "other", day)
    return tuple(coverage.ids)


def _epochs(boundaries: list[date], end: datetime) -> list[tuple[int, datetime | None, datetime | None]]:
    """(epoch number, first received instant, end) of each stretch between rule set boundaries that starts before
    `end`: requests received in one stretch have the same rule sets."""
    edges = [_day_start(day) for day in boundaries]
    out = []
    for n in range(len(edges) + 1):
        first = edges[n - 1] if n > 0 else None
        last = edges[n] if n < len(edges) else None
        if first is None or first < end:
            out.append((n, first, last))
    return out


def timeliness(session: Session, filters: Filters, now: datetime) -> dict:
    """Per clock, rule sets and request type: counted, in time, late, open past due, mean hours."""
    start, end = period(filters)
    boundaries = _epoch_boundaries()
    keys = (Case.line_of_business, Case.review_timing, Case.urgency, Case.service_category)
    in_time = case((or_(Case.decision_due_at.is_(None), Case.decided_at <= Case.decision_due_at), 1), else_=0)
    groups: dict[tuple, dict] = {}

    def group(clock: str, lob, timing, urgency, category, ep) -> dict:
        rule_sets = _rule_sets(lob, timing, urgency, category == "medication", int(ep), boundaries)
        key = (clock, rule_sets, request_type(urgency, timing))
        return groups.setdefault(key, {"clock": clock, "rule_sets": list(rule_sets),
                                       "request_type": request_type(urgency, timing), "counted": 0, "in_time": 0,
                                       "late": 0, "open_past_due": 0, "_hours": 0.0})

    def received_in(query, first, last):
        if first is not None:
            query = query.where(Case.received_at >= first)
        if last is not None:
            query = query.where(Case.received_at < last)
        return query

    # One query per stretch of received days with the same rule sets, each a range of the covering index
    # ix_cases_timeliness_period (decided_at first, migration 0019): only the period's decisions are read, then
    # grouped in a temp B-tree. For a quarter that reads a fraction of the pages a scan of the whole index in group
    # order did, which is what a fresh process (a cold page cache) pays for; for a year about the same.
    decided_at = Case.decided_at
    for ep, first, last in _epochs(boundaries, end):
        decided = _filtered(received_in(
            select(*keys, func.count(), func.sum(in_time),
                   func.avg(_hours(session, Case.decided_at, Case.received_at)))
            .where(decided_at >= start, decided_at < end), first, last).group_by(*keys), filters)
        for lob, timing, urgency, category, n, ok, hours in session.execute(decided):
            g = group("decision", lob, timing, urgency, category, ep)
            g["counted"] += n
            g["in_time"] += int(ok or 0)
            g["late"] += n - int(ok or 0)
            g["_hours"] += float(hours or 0) * n
    boundary_epoch = _epoch_column(boundaries).label("epoch")
    breach_end = min(end, now)
    # The same index: its undecided entries (decided_at NULL) in order of their due, with the status, so that no
    # case row is read (through ix_cases_open_due each of them was).
    open_past_due = _filtered(select(*keys, boundary_epoch, func.count())
                              .where(literal_column(OPEN_CASE_SQL), Case.decided_at.is_(None),
                                     Case.decision_due_at >= start, Case.decision_due_at < breach_end)
                              .group_by(*keys, boundary_epoch), filters)
    for lob, timing, urgency, category, ep, n in session.execute(open_past_due):
        group("decision", lob, timing, urgency, category, ep)["open_past_due"] += n
    # Notification clocks: the current determination's letters carry the due (mail_by_at) from the clock engine.
    # Read from the letters (a letter notifies an event of its own case), each with its case's workflow and case
    # row: a few per determination, where reading every case decided in the period for its letters took 0.3 s.
    notified = case((Letter.recipient == "provider", CaseWorkflow.provider_notified_at),
                    else_=CaseWorkflow.member_notified_at)
    notice_in_time = case((and_(notified.is_not(None), notified <= Letter.mail_by_at), 1), else_=0)
    notice_open_late = case((and_(notified.is_(None), Letter.mail_by_at < now), 1), else_=0)
    decided_at = _not_indexed(session, Case.decided_at)  # the letters lead: not a range of the cases
    notices = _filtered(
        select(Letter.recipient, *keys, boundary_epoch, func.count(), func.sum(notice_in_time),
               func.sum(notice_open_late), func.sum(case((notified.is_not(None), 1), else_=0)))
        .select_from(Letter)
        .join(CaseWorkflow, and_(CaseWorkflow.case_id == Letter.case_id,
                                 CaseWorkflow.determination_event_id == Letter.source_event_id))
        .join(Case, Case.id == Letter.case_id)
        .where(Letter.status != "superseded", Letter.mail_by_at.is_not(None), decided_at >= start, decided_at < end)
        .group_by(Letter.recipient, *keys, boundary_epoch), filters)
    for recipient, lob, timing, urgency, category, ep, n, ok, open_late, sent in session.execute(notices):
        g = group("notification" if recipient == "provider" else "member_notice", lob, timing, urgency, category, ep)
        g["counted"] += int(sent or 0)
        g["in_time"] += int(ok or 0)
        g["late"] += int(sent or 0) - int(ok or 0)
        g["open_past_due"] += int(open_late or 0)
    order = {clock: i for i, clock in enumerate(views.CLOCK_LABELS)}
    rows = []
    for key in sorted(groups, key=lambda k: (order[k[0]], k[1], k[2])):
        g = groups[key]
        hours = g.pop("_hours")
        g["percent_in_time"] = round(100 * g["in_time"] / g["counted"], 1) if g["counted"] else None
        g["average_turnaround_hours"] = round(hours / g["counted"], 1) if g["clock"] == "decision" and g["counted"] \
            else None
        rows.append(g)
    return {"rows": rows}


# ----- pended ageing -----------------------------------------------------------------------------------------------
def pended(session: Session, filters: Filters, now: datetime) -> dict:
    """Open requests pended for information now, by how long since the request for information (the pend event;
    the receipt for a case pended without one, e.g. demo data)."""
    pend = aliased(CaseEvent)
    since = func.coalesce(pend.occurred_at, Case.received_at)
    bucket = case((since >= now - timedelta(days=1), "0-1"), (since >= now - timedelta(days=3), "1-3"),
                  (since >= now - timedelta(days=7), "3-7"), (since >= now - timedelta(days=14), "7-14"),
                  else_="14+").label("bucket")
    past_due = case((Case.decision_due_at < now, 1), else_=0)
    query = _filtered(select(bucket, func.count(), func.sum(past_due))
                      .select_from(Case)
                      .outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id)
                      .outerjoin(pend, pend.id == CaseWorkflow.pend_event_id)
                      .where(literal_column(PENDED_CASE_SQL)).group_by(bucket), filters)
    rows = [{"bucket": b, "pended": n, "past_due": int(p or 0)} for b, n, p in session.execute(query)]
    return {"as_of": to_plan(now).strftime("%m/%d/%Y %I:%M %p PT"), "rows": rows,
            "total": sum(r["pended"] for r in rows), "past_due": sum(r["past_due"] for r in rows)}


# ----- overturns ------------------------------------------------------------------------------------------------
# A call's or an appeal's result, in the committee's words: the denial stood, was overturned (approved), or was
# partly overturned (approved in part). P2P results are app.domain.p2p.RESULTS, appeal results
# app.domain.appeals.RESULTS.
CHANNEL_RESULTS = {"upheld": "upheld", "overturned": "overturned", "modified": "partly_overturned",
                   "partially-overturned": "partly_overturned"}


def overturns(session: Session, filters: Filters, now: datetime) -> dict:
    """Peer-to-peer calls held in the period and appeals resolved in it, by what came of the denial (upheld,
    overturned, partly overturned); the P2P requests and appeals received in the period still undecided; the calls
    that ended without one and the appeals dismissed (not decided on the merits); and, for context, every denial and
    modification determined in the period. Team and line of business filter through the case."""
    from app.domain.appeals import UNRESOLVED_STATUSES
    from app.domain.p2p import OPEN_REQUEST_STATUSES

    start, end = period(filters)
    adverse = _adverse_determinations(session, filters, start, end)
    rows: dict[tuple[str, str], dict] = {}

    def row(channel: str, group: str) -> dict:
        return rows.setdefault((channel, group), {
            "channel": channel, "group": group, "decided": 0, "upheld": 0, "overturned": 0, "partly_overturned": 0,
            "undecided": 0, "closed_undecided": 0})

    def count(query, channel: str, key: str) -> None:
        """Add the query's (group value, [result,] n) rows to `key` (key 'decided': by result too)."""
        for *values, n in session.execute(_filtered(query, filters)):
            target = row(channel, _group(channel, values[0]))
            target[key] += n
            if key == "decided":
                target[CHANNEL_RESULTS.get(values[1], "upheld")] += n

    # peer-to-peer: calls held in the period with their result (a held call always has one)
    count(select(P2PRequest.kind, P2PRequest.result, func.count()).join(Case, Case.id == P2PRequest.case_id)
         .where(P2PRequest.held_at >= start, P2PRequest.held_at < end, P2PRequest.result.is_not(None))
         .group_by(P2PRequest.kind, P2PRequest.result), "p2p", "decided")
    count(select(P2PRequest.kind, func.count()).join(Case, Case.id == P2PRequest.case_id)
         .where(P2PRequest.requested_at >= start, P2PRequest.requested_at < end,
                P2PRequest.status.in_(OPEN_REQUEST_STATUSES)).group_by(P2PRequest.kind), "p2p", "undecided")
    count(select(P2PRequest.kind, func.count()).join(Case, Case.id == P2PRequest.case_id)
         .where(P2PRequest.closed_at >= start, P2PRequest.closed_at < end,
                P2PRequest.status.in_(("closed-attempted", "cancelled"))).group_by(P2PRequest.kind),
         "p2p", "closed_undecided")
    # appeals: resolved in the period on the merits; received in it and not yet resolved; dismissed in it (the
    # dismissal is the appeal's last change: its updated_at)
    count(select(Appeal.expedited, Appeal.result, func.count()).join(Case, Case.id == Appeal.case_id)
         .where(Appeal.resolved_at >= start, Appeal.resolved_at < end, Appeal.result.is_not(None))
         .group_by(Appeal.expedited, Appeal.result), "appeal", "decided")
    count(select(Appeal.expedited, func.count()).join(Case, Case.id == Appeal.case_id)
         .where(Appeal.received_at >= start, Appeal.received_at < end, Appeal.status.in_(UNRESOLVED_STATUSES))
         .group_by(Appeal.expedited), "appeal", "undecided")
    count(select(Appeal.expedited, func.count()).join(Case, Case.id == Appeal.case_id)
         .where(Appeal.status == "dismissed", Appeal.updated_at >= start, Appeal.updated_at < end)
         .group_by(Appeal.expedited), "appeal", "closed_undecided")
    order = {group: i for i, group in enumerate(views.CHANNEL_GROUPS)}
    out = []
    for key in sorted(rows, key=lambda k: order.get(k[1], 99)):
        r = rows[key]
        r["overturn_rate"] = _overturn_rate(r)
        out.append(r)
    channels = []
    for channel in views.CHANNEL_LABELS:
        total = {"channel": channel, **{k: sum(r[k] for r in out if r["channel"] == channel) for k in (
            "decided", "upheld", "overturned", "partly_overturned", "undecided", "closed_undecided")}}
        total["overturn_rate"] = _overturn_rate(total)
        channels.append(total)
    return {"adverse": adverse, "channels": channels, "rows": out}


def _adverse_determinations(session: Session, filters: Filters, start: datetime, end: datetime) -> int:
    """Every denial and modification determined in the period, superseded ones included: the cases whose current
    determination is adverse and was made in the period (the covering index ix_cases_decided_figures), and each
    reopening since decided again (at or after it) whose previous determination was adverse and made in the period (a reopening
    keeps the case's outcome until the new determination: counted there until then)."""
    decided_at = _not_indexed(session, Case.decided_at)  # read ix_cases_decided_figures
    current = session.scalar(_filtered(
        select(func.count()).select_from(Case)
        .where(Case.outcome.in_(ADVERSE), decided_at >= start, decided_at < end), filters)) or 0
    reopened, earlier = aliased(CaseEvent), aliased(CaseEvent)
    previous_at = (select(func.max(earlier.occurred_at))
                   .where(earlier.case_id == reopened.case_id, earlier.kind == literal_column("'determined'"),
                          earlier.occurred_at < reopened.occurred_at)
                   .correlate(reopened).scalar_subquery())
    superseded = session.scalar(_filtered(
        select(func.count()).select_from(reopened).join(Case, Case.id == reopened.case_id)
        .where(reopened.kind == literal_column("'reopened'"),
               reopened.payload["previous_outcome"].as_string().in_(ADVERSE),
               Case.decided_at >= reopened.occurred_at, previous_at >= start, previous_at < end), filters)) or 0
    return current + superseded


def _group(channel: str, value) -> str:
    if channel == "p2p":
        return "p2p-" + str(value)  # p2p-denial, p2p-potential-denial
    return "appeal-expedited" if value else "appeal-standard"


def _overturn_rate(row: dict) -> float | None:
    """(overturned + partly overturned) / decided on the merits, in percent."""
    return round(100 * (row["overturned"] + row["partly_overturned"]) / row["decided"], 1) if row["decided"] \
        else None


# ----- utilization --------------------------------------------------------------------------------------------
def utilization(session: Session, filters: Filters, now: datetime) -> dict:
    """The stays' figures (app.store.stay_figures, issue 12) by line of business and by admitting level of care:
    admits and bed days per 1,000 member-months (the enrolment months of the line), average length of stay, SNF
    days, days denied, readmissions. Team and line of business filter the stay through its case; member-months are
    the plan's enrolment of the line (not filtered by team)."""
    from app.store.stay_figures import stay_figures_by_line

    figures = stay_figures_by_line(session, filters.first, filters.last, to_plan(now).date(), team=filters.team,
                                   line_of_business=filters.line_of_business)
    figures["lines"].sort(key=lambda r: list(views.LINES_OF_BUSINESS).index(r["line_of_business"])
                          if r["line_of_business"] in views.LINES_OF_BUSINESS else 99)
    return {**figures, "team_filtered": filters.team is not None}


# ----- inter-rater reliability ------------------------------------------------------------------------------------
def inter_rater(session: Session, filters: Filters, now: datetime) -> dict:
    """The IRR results of each year the period touches (the annual program: not filtered by team or line)."""
    from app.store.irr_queries import irr_report

    years = []
    for year in range(filters.first.year, filters.last.year + 1):
        report = irr_report(session, year, today=to_plan(now).date(), case_loads=False)
        years.append(_irr_year(report))
    return {"target_percent": TARGET_PERCENT, "years": years}


def _irr_year(report: dict) -> dict:
    rows = [{"review_type": t["review_type"], "label": t["label"], "sampled": t["sampled"],
             "reviewed": t["reviewed"], "percent_agreement": t["determination_agreement"]["percent_agreement"],
             "kappa": t["determination_agreement"]["kappa"],
             "criteria_percent": t["criteria_agreement"]["percent_agreement"], "below_target": t["below_target"]}
            for t in report["review_types"]]
    overall = report["overall"]
    return {
        "year": report["year"], "sample_drawn": report["sample_drawn"], "target_percent": report["target_percent"],
        "by_review_type": rows,
        "overall": {"label": "All review types", "sampled": overall["sampled"], "reviewed": overall["reviewed"],
                    "percent_agreement": overall["determination_agreement"]["percent_agreement"],
                    "kappa": overall["determination_agreement"]["kappa"],
                    "criteria_percent": overall["criteria_agreement"]["percent_agreement"],
                    "below_target": overall["reviewers_below_target"]},
        "by_criteria_set": [{"title": s["title"], "version": s["version"], "reviewed": s["reviewed"],
                             "percent_agreement": s["determination_agreement"]["percent_agreement"],
                             "criteria_percent": s["criteria_agreement"]["percent_agreement"],
                             "kappa": s["criteria_agreement"]["kappa"]} for s in report["criteria_sets"]],
        "open_plans": [{"reviewer": p["reviewer"], "agreement_at_open": p["agreement_at_open"],
                        "state": p["state_label"], "owner": p["owner"], "due_date": p["due_date"],
                        "overdue": p["overdue"], "actions": f"{p['actions_done']} of {p['actions_total']}"}
                       for p in report["corrective_action_plans"] if p["state"] != "closed"],
    }


# ----- the sections -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    id: str
    title: str
    figures: Callable[[Session, Filters, datetime], dict]
    present: Callable[[dict], SectionView]


SECTIONS: tuple[Section, ...] = (
    Section("volumes", "Volumes", volumes, views.volumes_view),
    Section("decisions", "Decisions", decisions, views.decisions_view),
    Section("timeliness", "Timeliness", timeliness, views.timeliness_view),
    Section("pended", "Pended for information", pended, views.pended_view),
    Section("overturns", "Overturns (P2P and appeals)", overturns, views.overturns_view),
    Section("utilization", "Utilization", utilization, views.utilization_view),
    Section("irr", "Inter-rater reliability", inter_rater, views.irr_view),
)


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    prepared_at: datetime
    figures: dict[str, dict]
    views: tuple[SectionView, ...]

    def to_json(self) -> dict:
        return {"filters": self.filters.to_json(), "prepared_at": self.prepared_at.isoformat(),
                "sections": [{"id": s.id, "title": s.title, "figures": self.figures[s.id]} for s in SECTIONS
                             if s.id in self.figures]}


def build(session: Session, filters: Filters, now: datetime | None = None,
          only: tuple[str, ...] | None = None) -> Dashboard:
    """Every section's figures (SQL) and views, in SECTIONS order."""
    now = now or datetime.now(timezone.utc)
    figures, shown = {}, []
    for section in SECTIONS:
        if only is not None and section.id not in only:
            continue
        figures[section.id] = section.figures(session, filters, now)
        shown.append(section.present(figures[section.id]))
    return Dashboard(filters, now, figures, tuple(shown))
