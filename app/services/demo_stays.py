"""Synthetic stays and enrolment for the demo data (issue 12, scope 6). Part of `app.services.demo`'s bulk
generator: rows as dicts for bulk inserts, a few microseconds each, so 100,000 demo cases stay within minutes.

Every concurrent inpatient, SNF and BH/SUD demo case is a stay, consistent with what the services would have
written (app.services.stays): a received case is an admission awaiting its 24-hour review; a case in review holds
approved days with a next review date (some due today, some overdue, most later); a referred case has days pending
before a physician; a decided case is a discharged stay whose ledger gives its outcome. About one stay in ten is a
readmission of a member discharged shortly before (most within 30 days), some admissions were notified late, and
no member is in two facilities at once. Enrolment: each member's months in the plan over the last year.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from app.domain import stay_clocks
from app.domain.plantime import PLAN_TZ
from app.domain.stays import LEVEL_LINE, LEVEL_PLACE_OF_SERVICE

STAY_CATEGORIES = {
    "inpatient": [("acute", 70), ("icu", 18), ("ltac", 12)],
    "ltc-snf": [("snf", 75), ("sub-acute", 25)],
    "bh-sud": [("acute-psych", 50), ("residential-sud", 50)],
}
# (shortest, longest) length of stay in days by level of care.
LENGTH = {"acute": (1, 9), "icu": (2, 12), "ltac": (10, 40), "snf": (5, 60), "sub-acute": (7, 45),
          "acute-psych": (3, 14), "residential-sud": (7, 30), "administrative": (2, 10)}
OPEN_STATES = ("received", "in-review", "pended", "referred")
DISCHARGED = ("determined", "notified", "closed")
DISPOSITIONS = [("home", 55), ("home-health", 15), ("snf", 10), ("acute-rehab", 6), ("another-acute", 4),
                ("ama", 5), ("expired", 5)]
READMIT_SHARE = 0.12


@dataclass
class DemoStays:
    """What the generator remembers between cases: each member's stays (no overlaps) and recent discharges."""

    intervals: dict[uuid.UUID, list[tuple[datetime, datetime | None, uuid.UUID, str]]] = field(default_factory=dict)
    discharges: list[tuple[datetime, dict]] = field(default_factory=list)  # (discharged_at, member row)
    facilities: list[dict] = field(default_factory=list)
    made: int = 0


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted)
    return rng.choices(values, weights)[0]


def enrolment_rows(rng: random.Random, members: list[dict], now: datetime) -> list[dict]:
    """Each member's enrolment months over the 12 months up to `now`'s month: most all year, some joined or left."""
    this_month = now.astimezone(PLAN_TZ).date().replace(day=1)
    months = []
    year, month = this_month.year, this_month.month
    for _ in range(12):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    rows = []
    for member in members:
        kind = rng.random()
        first, last = 0, 11
        if kind < 0.10:
            first = rng.randint(1, 11)
        elif kind < 0.15:
            last = rng.randint(0, 10)
        lob = "medicare" if rng.random() < 0.12 else "medi-cal"
        rows += [{"id": uuid.uuid4(), "member_id": member["id"], "month": months[n], "line_of_business": lob}
                 for n in range(first, last + 1)]
    return rows


def _overlaps(state: DemoStays, member_id: uuid.UUID, admitted: datetime, discharged: datetime | None) -> bool:
    for start, end, _, _ in state.intervals.get(member_id, ()):
        if (discharged is None or start < discharged) and (end is None or admitted < end):
            return True
    return False


def _member(rng, state: DemoStays, members: list[dict], current: dict, admitted: datetime,
            discharged: datetime | None) -> dict:
    """The stay's member: sometimes one discharged shortly before (a readmission), never one with an overlapping
    stay."""
    if rng.random() < READMIT_SHARE and state.discharges:
        for _ in range(12):
            out, member = state.discharges[rng.randrange(len(state.discharges))]
            if timedelta(0) < admitted - out <= timedelta(days=45) and not _overlaps(state, member["id"], admitted,
                                                                                     discharged):
                return member
    member = current
    for _ in range(50):
        if not _overlaps(state, member["id"], admitted, discharged):
            return member
        member = rng.choice(members)
    return member


def make_stay(rng: random.Random, item: dict, members: list[dict], state: DemoStays, now: datetime,
              physicians: list) -> None:
    """Turn a demo case (`item`, as app.services.demo makes it) of a stay category and concurrent timing into a
    stay: adds `stays` and `stay_days` rows and the stay events, and makes the case row agree with them."""
    case = item["case"]
    status = case["status"]
    level = _pick(rng, STAY_CATEGORIES[case["service_category"]])
    low, high = LENGTH[level]
    cal_today = now.astimezone(PLAN_TZ).date()
    admission_type = ("elective" if level == "residential-sud" or rng.random() < 0.12 else
                      rng.choices(["emergency", "urgent"], [80, 20])[0])
    discharged = None
    if status in DISCHARGED:
        los = rng.randint(low, high)
        back = rng.randint(2, 20) if status != "closed" else rng.randint(3, 170)
        discharged = now - timedelta(days=back, minutes=rng.randint(0, 600))
        admitted = discharged - timedelta(days=los, minutes=rng.randint(0, 720))
    elif status == "received":
        admitted = now  # set from the notification below
    else:
        admitted = now - timedelta(days=rng.randint(1, max(1, high - 1)), minutes=rng.randint(0, 1400))
    late = admission_type != "emergency" and rng.random() < 0.08
    notify_after = timedelta(hours=rng.randint(50, 100)) if late else timedelta(minutes=rng.randint(10, 18 * 60))
    if status == "received":  # awaiting the admission review: notified within the last day or so
        notified = now - timedelta(minutes=rng.randint(5, 26 * 60))
        admitted = notified - notify_after
    else:
        notified = min(admitted + notify_after, now - timedelta(minutes=5), discharged or now)
    if notified < admitted:
        notified = admitted
    case["urgency"] = "urgent" if rng.random() < 0.8 else "routine"
    member = _member(rng, state, members, item["member"], admitted, discharged)
    stay_id = uuid.uuid4()
    previous = [(end, sid, tar) for start, end, sid, tar in state.intervals.get(member["id"], ())
                if end is not None and end <= admitted]
    readmission_of = readmission_days = None
    if previous:
        end, sid, _ = max(previous, key=lambda p: p[0])
        if stay_clocks.is_readmission(end, admitted):
            readmission_of, readmission_days = sid, stay_clocks.days_between_stays(end, admitted)
    state.intervals.setdefault(member["id"], []).append((admitted, discharged, stay_id, case["tar"]))
    if discharged is not None:
        state.discharges.append((discharged, member))
        if len(state.discharges) > 4000:
            del state.discharges[:1000]
    admit_day = stay_clocks.plan_day(admitted)
    facility = rng.choice(state.facilities)
    # The ledger.
    days: list[dict] = []
    events: list[dict] = []
    first_decision = min(now, notified + timedelta(minutes=rng.randint(30, 20 * 60)))
    decider = case["assignee_id"]
    determination = uuid.uuid4()
    next_review = approved_through = None

    def day_row(day: date, status_: str, determined: bool, requested_at: datetime) -> dict:
        return {"id": uuid.uuid4(), "stay_id": stay_id, "day": day, "status": status_, "level_of_care": level,
                "requested_at": requested_at, "determination_id": determination if determined else None,
                "on_leave": False}

    if discharged is not None:
        discharge_day = stay_clocks.plan_day(discharged)
        last_used = max(admit_day, discharge_day - timedelta(days=1))
        count = (last_used - admit_day).days + 1
        outcome = case["outcome"] if case["outcome"] in ("denied", "partially-approved") else "approved"
        denied_from = count if outcome == "approved" else (0 if outcome == "denied" else rng.randint(1, count))
        if outcome == "partially-approved" and denied_from >= count:
            outcome = "approved"
        for n in range(count):
            days.append(day_row(admit_day + timedelta(days=n), "approved" if n < denied_from else "denied", True,
                                notified))
        if any(d["status"] == "denied" for d in days):
            outcome = "denied" if all(d["status"] == "denied" for d in days) else "partially-approved"
            decider = rng.choice(physicians).id
        case.update(outcome=outcome, decided_at=min(first_decision, discharged), status=status)
        approved_through = max((d["day"] for d in days if d["status"] == "approved"), default=None)
    elif status == "received":
        count = rng.randint(1, 3)
        for n in range(count):
            days.append(day_row(admit_day + timedelta(days=n), "requested", False, notified))
    else:
        # No review falls due before the plan knew of the stay: a late notice moves the first one to its day.
        known_from = max(admit_day, stay_clocks.plan_day(notified))
        offset = rng.choices([-2, -1, 0, 0, 1, 2, 3, 5], [4, 6, 14, 14, 20, 16, 14, 12])[0]
        next_review = max(known_from, cal_today + timedelta(days=offset))
        approved_through = max(known_from, next_review + timedelta(days=rng.choice([0, 0, 1, 2])))
        requested_through = approved_through + timedelta(days=rng.choice([0, 0, 1, 2, 3]))
        if status == "referred":
            approved_through = max(known_from, min(approved_through, cal_today - timedelta(days=1)))
            requested_through = max(requested_through, approved_through + timedelta(days=2))
        asked_again = max(notified, now - timedelta(minutes=rng.randint(60, 30 * 60)))
        day = admit_day
        while day <= requested_through:
            decided = day <= approved_through
            undecided = "pending" if status == "referred" else "requested"
            days.append(day_row(day, "approved" if decided else undecided, decided,
                                notified if decided else asked_again))
            day += timedelta(days=1)
        if not any(d["status"] == "approved" for d in days):
            days[0]["status"], days[0]["determination_id"] = "approved", determination
            approved_through = admit_day
    determined = any(d["determination_id"] for d in days)
    undecided = [d["requested_at"] for d in days if d["status"] in ("requested", "pending")]
    review_due = stay_clocks.review_due(
        notified_at=notified, determined=determined, next_review=next_review, approved_through=approved_through,
        oldest_undecided_request=min(undecided) if undecided else None, lob=case["line_of_business"],
        urgency=case["urgency"], category=case["service_category"], discharged=discharged is not None)
    expected = admit_day + timedelta(days=rng.randint(low, high))
    if discharged is None and expected < cal_today:
        expected = cal_today + timedelta(days=rng.randint(0, 6))
    # The case row agrees with the stay.
    code, description = LEVEL_LINE[level]
    requested_days = len(days)
    case.update(
        received_at=notified, place_of_service=LEVEL_PLACE_OF_SERVICE[level], requested_los_days=requested_days,
        proposed_date=None, member_id=member["id"], member_name=f"{member['last_name']}, {member['first_name']}",
        service_summary=f"{code} {description}",
        decision_due_at=review_due if discharged is None else stay_clocks.admission_review_due(notified))
    item["lines"] = [{"id": uuid.uuid4(), "case_id": case["id"], "line_number": 1, "code": code,
                      "description": description, "units": requested_days, "from_date": admit_day,
                      "to_date": admit_day + timedelta(days=requested_days - 1)}]
    kept = []
    for event in item["events"]:
        if event["kind"] == "received":
            event["occurred_at"] = notified
        elif event["kind"] == "claimed":
            event["occurred_at"] = min(now, notified + timedelta(minutes=rng.randint(5, 120)))
        elif event["kind"] == "determined":
            continue
        kept.append(event)
    for note in item["notes"]:
        note["written_at"] = notified
    stay_payload = {"stay_id": str(stay_id), "demo": True}
    kept.append({"id": uuid.uuid4(), "case_id": case["id"], "occurred_at": notified, "actor_id": None,
                 "kind": "stay-admitted",
                 "payload": {**stay_payload, "level_of_care": level, "admission_type": admission_type,
                             "admit_date": admit_day.isoformat(), "late_notice": {"late": late}}})
    if determined:
        approved = [d for d in days if d["status"] == "approved"]
        kept.append({"id": determination, "case_id": case["id"], "occurred_at": min(first_decision, discharged or now),
                     "actor_id": decider, "kind": "stay-determined",
                     "payload": {**stay_payload, "determination_id": str(determination), "kind": "review",
                                 "outcome": "approved" if approved else "denied",
                                 "approved": {"count": len(approved),
                                              "first": approved[0]["day"].isoformat() if approved else None,
                                              "last": approved[-1]["day"].isoformat() if approved else None},
                                 "next_review": next_review.isoformat() if next_review else None,
                                 "review_due": stay_clocks.admission_review_due(notified).isoformat()}})
    disposition = _pick(rng, DISPOSITIONS) if discharged is not None else None
    if discharged is not None:
        kept.append({"id": uuid.uuid4(), "case_id": case["id"], "occurred_at": discharged, "actor_id": decider,
                     "kind": "stay-discharged",
                     "payload": {**stay_payload, "discharged_at": discharged.isoformat(),
                                 "disposition": disposition, "outcome": case["outcome"]}})
    kept.sort(key=lambda e: e["occurred_at"])
    item["events"] = kept
    case["version"] = len(kept)
    case["updated_at"] = max(e["occurred_at"] for e in kept)
    item["stays"] = [{
        "id": stay_id, "case_id": case["id"], "tar": case["tar"], "team": case["team"],
        "line_of_business": case["line_of_business"], "member_id": member["id"],
        "facility_id": facility["id"], "admitting_physician_id": None,
        "attending_physician_id": case["requesting_provider_id"], "admitted_at": admitted, "admit_date": admit_day,
        "admission_type": admission_type, "admission_source": "admission", "notified_at": notified,
        "admit_level_of_care": level, "level_of_care": level, "status": "open" if discharged is None else "discharged",
        "late_notice": stay_clocks.late_notice(admitted, notified, admission_type).late,
        "readmission_of_id": readmission_of, "readmission_days": readmission_days, "transferred_from_id": None,
        "next_review_date": next_review, "approved_through": approved_through, "review_due_at": review_due,
        "expected_discharge_date": expected if discharged is None else None, "care_plan_pending": False,
        "discharged_at": discharged, "discharge_date": stay_clocks.plan_day(discharged) if discharged else None,
        "disposition": disposition,
        "updated_at": case["updated_at"],
    }]
    item["stay_days"] = days
    case["servicing_provider_id"] = facility["id"]
    state.made += 1


def is_stay_case(item: dict) -> bool:
    case = item["case"]
    return case["review_timing"] == "concurrent" and case["service_category"] in STAY_CATEGORIES
