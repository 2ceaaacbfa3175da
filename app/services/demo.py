"""Synthetic demo data (issue 3, scope 5): users of every role, members, providers and cases of every kind.

Never real member data: everything comes from Faker and the code lists in resources/demo/codes.json. Rows go in by
bulk insert, a batch per transaction, so 2,000 cases take seconds and 100,000 a few minutes; a cancelled run keeps
the whole batches it finished and nothing half-made. Each case gets its `received` event, and held cases their
`claimed` event, like cases made through the services.
"""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from faker import Faker
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.domain.identifiers import npi_check_digit
from app.domain.vocabulary import team_for_category
from app.services import demo_letters, demo_p2p, demo_stays
from app.services.auth import set_demo_passwords
from app.services.cases import NewLine, decision_due, service_summary
from app.store.engine import Store
from app.store.models import (
    Appeal, Case, CaseEvent, ClinicalNote, Diagnosis, EnrolmentMonth, Member, P2PBooking, P2PRequest, Provider,
    RequestLine, Stay, StayDay, User,
)
from app.store.stay_figures import refresh_stay_months

CODES = json.loads((Path(__file__).resolve().parents[2] / "resources" / "demo" / "codes.json").read_text())

# (username, full name, role, team, credential, specialty)
DEMO_USERS = [
    ("nurse.garcia", "Maria Garcia, RN", "um-nurse", "inpatient", "RN", None),
    ("nurse.nguyen", "Linh Nguyen, RN", "um-nurse", "outpatient", "RN", None),
    ("nurse.okafor", "Ada Okafor, LVN", "um-nurse", "ltss", "LVN", None),
    ("nurse.chen", "Wei Chen, RN", "um-nurse", "bh-sud", "RN", None),
    ("lead.patel", "Priya Patel, RN", "nurse-supervisor", None, "RN", None),
    ("tech.rivera", "Luis Rivera, CPhT", "pharmacy-technician", "pharmacy", "CPhT", None),
    ("pharmd.kim", "Grace Kim, PharmD", "clinical-pharmacist", "pharmacy", "PharmD", "Pharmacotherapy"),
    ("dr.shah", "Arun Shah, MD", "medical-director", None, "MD", "Internal Medicine"),
    ("dr.morales", "Elena Morales, DO", "medical-director", None, "DO", "Orthopaedic Surgery"),
    ("dr.lee", "Daniel Lee, MD", "bh-clinical-director", "bh-sud", "MD", "Psychiatry"),
    # Appeal reviewers (issue 13): physicians who take no part in first decisions.
    ("dr.ito", "Kenji Ito, MD", "medical-director", None, "MD", "Orthopaedic Surgery"),
    ("dr.nakamura", "Ana Nakamura, MD", "medical-director", None, "MD", "Family Medicine"),
    ("dr.brooks", "Jordan Brooks, DO", "medical-director", None, "DO", "Physical Medicine and Rehabilitation"),
    ("coord.jones", "Tasha Jones", "um-coordinator", None, None, None),
    ("auditor.brown", "Sam Brown, RN", "auditor", None, "RN", None),
    ("admin", "Workstation Administrator", "administrator", None, None, None),
]

DEMO_PHONES = {"dr.shah": "1-707-555-0141", "dr.morales": "1-707-555-0142", "dr.lee": "1-707-555-0143",
               "pharmd.kim": "1-707-555-0144", "lead.patel": "1-707-555-0145", "dr.ito": "1-707-555-0146",
               "dr.nakamura": "1-707-555-0147", "dr.brooks": "1-707-555-0148"}
# Who reports to whom (issue 13: an appeal is never decided by a subordinate of the first decider). dr.shah is the
# Chief Medical Officer.
DEMO_SUPERVISORS = {"dr.morales": "dr.shah", "dr.lee": "dr.shah", "dr.ito": "dr.shah", "dr.nakamura": "dr.shah",
                    "dr.brooks": "dr.morales"}

# Preferred written languages, weighted roughly like a California Medi-Cal membership.
LANGUAGES = [("en", 55), ("es", 28), ("zh", 4), ("vi", 4), ("tl", 2), ("ko", 1), ("hy", 1), ("ru", 1), ("fa", 1),
             ("ar", 1), ("hmn", 1), ("km", 1)]
CATEGORY_WEIGHTS = [("inpatient", 18), ("outpatient", 30), ("ltc-snf", 8), ("dme", 10), ("home-health", 7),
                    ("bh-sud", 8), ("medication", 14), ("community-supports", 5)]
STATUS_WEIGHTS = [("received", 30), ("in-review", 22), ("pended", 9), ("referred", 9), ("determined", 5),
                  ("notified", 5), ("closed", 20)]
COUNTIES = ["Solano", "Napa", "Yolo", "Sonoma", "Marin", "Mendocino", "Lake", "Humboldt", "Del Norte", "Shasta"]

BATCH = 2000
FACILITY_WORDS = ("Medical Center", "Community Hospital", "Health Clinic")
CLOSED_REACH_DAYS = 365  # closed cases reach back a year: the IRR sample and the committee's year (issue 14)
DECIDED = ("determined", "notified", "closed")
# Outcomes of decided demo cases; denials are about 4% of authorizations (seeds/003, MSO white paper).
OUTCOMES = [("approved", 84), ("partially-approved", 5), ("denied", 4), ("withdrawn", 4),
            ("administratively-closed", 3)]


@dataclass
class DemoResult:
    users: int
    members: int
    providers: int
    cases: int
    cancelled: bool = False


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    values, weights = zip(*weighted)
    return rng.choices(values, weights)[0]


def _ensure_users(session: Session) -> dict[str, User]:
    existing = {u.username: u for u in session.scalars(select(User))}
    for username, full_name, role, team, credential, specialty in DEMO_USERS:
        if username not in existing:
            user = User(id=uuid.uuid4(), username=username, full_name=full_name, role=role, team=team,
                        credential=credential, specialty=specialty, active=True)
            session.add(user)
            existing[username] = user
    for username, phone in DEMO_PHONES.items():  # direct lines printed on provider letters (issue 7)
        if existing[username].phone is None:
            existing[username].phone = phone
    session.flush()
    for username, boss in DEMO_SUPERVISORS.items():
        if existing[username].supervisor_id is None:
            existing[username].supervisor_id = existing[boss].id
    set_demo_passwords(session, [existing[username] for username, *_ in DEMO_USERS])
    session.flush()
    return existing


COLLEAGUES_PER_TEAM = 5


def _ensure_colleagues(session: Session, fake: Faker) -> list[User]:
    """Synthetic reviewers (no sign-in use) that hold most of the demo's assigned cases."""
    existing = session.scalars(select(User).where(User.username.like("staff.%"))).all()
    if existing:
        return list(existing)
    made = []
    for team, role, credential in (("inpatient", "um-nurse", "RN"), ("outpatient", "um-nurse", "RN"),
                                   ("ltss", "um-nurse", "LVN"), ("bh-sud", "um-nurse", "RN"),
                                   ("pharmacy", "pharmacy-technician", "CPhT")):
        for n in range(COLLEAGUES_PER_TEAM):
            first, last = fake.first_name(), fake.last_name()
            user = User(id=uuid.uuid4(), username=f"staff.{team}.{n + 1}", full_name=f"{first} {last}, {credential}",
                        role=role, team=team, credential=credential, specialty=None, active=True)
            session.add(user)
            made.append(user)
    session.flush()
    return made


def _members(fake: Faker, fake_es: Faker, rng: random.Random, count: int, cin_start: int) -> list[dict]:
    rows = []
    for n in range(count):
        language = _pick(rng, LANGUAGES)
        names = fake_es if language == "es" else fake
        sex = rng.choice("FFFMMMX")
        first = names.first_name_female() if sex == "F" else names.first_name_male() if sex == "M" else names.first_name()
        age_days = rng.randint(0, 95 * 365)
        rows.append({
            "id": uuid.uuid4(),
            "cin": f"9{cin_start + n:07d}{rng.choice('ABCDEFGHJK')}",
            "first_name": first,
            "last_name": names.last_name(),
            "birth_date": date(2026, 11, 1) - timedelta(days=age_days),
            "sex": sex,
            "language": language,
            "alternative_format": rng.choices([None, "large-print", "audio", "braille", "electronic"],
                                              [92, 4, 1, 1, 2])[0],
            "address_line": fake.street_address(),
            "city": fake.city(),
            "state": "CA",
            "postal_code": f"9{rng.randint(4000, 5999):04d}",
            "county": rng.choice(COUNTIES),
            "phone": f"({rng.randint(530, 760)}) 555-{rng.randint(0, 9999):04d}",
        })
    return rows


def _providers(fake: Faker, rng: random.Random, count: int, npi_start: int) -> list[dict]:
    rows = []
    for n in range(count):
        stem = f"1{npi_start + n:08d}"
        specialty = rng.choice(CODES["specialties"])
        is_facility = rng.random() < 0.2
        name = (f"{fake.city()} {rng.choice(FACILITY_WORDS)}"
                if is_facility else f"{fake.first_name()} {fake.last_name()}, {rng.choice(['MD', 'MD', 'DO', 'NP'])}")
        rows.append({
            "id": uuid.uuid4(), "npi": stem + npi_check_digit(stem), "name": name, "specialty": specialty,
            "phone": f"({rng.randint(530, 760)}) 555-{rng.randint(0, 9999):04d}",
            "fax": f"({rng.randint(530, 760)}) 555-{rng.randint(0, 9999):04d}",
            "address_line": fake.street_address(), "city": fake.city(), "state": "CA",
            "postal_code": f"9{rng.randint(4000, 5999):04d}",
        })
    return rows


def _next_number(session: Session, column, width: int, default: int) -> int:
    """The next free number in a demo numbering (TAR, CIN, NPI), so repeated runs never collide."""
    highest = session.scalar(select(func.max(column)))
    return default if highest is None else int(highest[1:width + 1]) + 1


def generate(store: Store, cases: int = 2000, *, seed: int | None = None, now: datetime | None = None,
             progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> DemoResult:
    """Add `cases` synthetic cases (with members, providers and demo users) to the store."""
    rng = random.Random(seed)
    stay_rng = random.Random(f"stays-{seed}" if seed is not None else None)  # its own stream: cases stay as they were
    fake, fake_es = Faker("en_US"), Faker("es_MX")
    fake.seed_instance(rng.random())
    fake_es.seed_instance(rng.random())
    now = now or datetime.now(timezone.utc)
    with store.session() as session, session.begin():
        users = _ensure_users(session)
        demo_p2p.ensure_availability(session, users, now)  # issue 8: reviewers' hours for the coming 4 weeks
        member_rows = _members(fake, fake_es, rng, max(50, cases // 3),
                               _next_number(session, Member.cin, 7, 1_000_000))
        provider_rows = _providers(fake, rng, max(20, min(2000, cases // 20)),
                                   _next_number(session, Provider.npi, 8, 10_000_000))
        session.execute(insert(Member), member_rows)
        session.execute(insert(Provider), provider_rows)
        session.execute(insert(EnrolmentMonth.__table__), demo_stays.enrolment_rows(stay_rng, member_rows, now))
        first_tar = _next_number(session, Case.tar, 10, 0)
    reviewers = {
        team: [u for u in users.values() if u.team == team and u.role in ("um-nurse", "pharmacy-technician",
                                                                          "clinical-pharmacist")]
        for team in ("inpatient", "outpatient", "ltss", "bh-sud", "pharmacy")
    }
    # The demo reviewers share their team's cases with colleagues, so a demo nurse's own list stays readable.
    with store.session() as session, session.begin():
        colleagues = _ensure_colleagues(session, fake)
    for user in colleagues:
        reviewers[user.team].append(user)
    physicians = [u for u in users.values() if u.role in ("medical-director", "bh-clinical-director")]
    stays = demo_stays.DemoStays(facilities=[p for p in provider_rows if p["name"].endswith(FACILITY_WORDS)]
                                 or provider_rows)
    made = 0
    while made < cases:
        if cancelled and cancelled():
            return DemoResult(len(users), len(member_rows), len(provider_rows), made, cancelled=True)
        size = min(BATCH, cases - made)
        batch = [_case(rng, fake, first_tar + made + i, member_rows, provider_rows, reviewers, physicians, now)
                 for i in range(size)]
        for item in batch:
            if demo_stays.is_stay_case(item):
                demo_stays.make_stay(stay_rng, item, member_rows, stays, now, physicians)
        with store.session() as session, session.begin():
            for table, key in ((Case, "case"), (RequestLine, "lines"), (Diagnosis, "diagnoses"),
                               (ClinicalNote, "notes"), (CaseEvent, "events"), (Stay, "stays"),
                               (StayDay, "stay_days"), (P2PRequest, "p2p_requests"), (P2PBooking, "p2p_bookings"),
                               (Appeal, "appeals")):
                rows = [row for item in batch for row in (item.get(key, ()) if key != "case" else [item[key]])]
                if rows:  # Core executemany: one statement per table (the ORM splits rows by their None columns)
                    session.execute(insert(table.__table__), rows)
            refresh_stay_months(session, [row["id"] for item in batch for row in item.get("stays", ())])
        made += size
        if progress:
            progress(made, cases)
    if made:
        demo_p2p.add_requests(store, now)  # issue 8: a few peer-to-peer requests and calls on recent denials
        demo_letters.add_letters(store, now)  # issue 7: letters drafted, issued and mailed on a few of them
    return DemoResult(len(users), len(member_rows), len(provider_rows), made)


def _decision(rng: random.Random, received: datetime, due: datetime, now: datetime, assignee: User | None,
              physicians: list[User]) -> tuple[datetime, str, User]:
    """When and how a demo case was decided: nearly always inside its clock, sometimes late."""
    window = due - received
    if rng.random() < 0.95:
        decided = received + window * rng.uniform(0.05, 0.95)
    else:
        decided = due + timedelta(minutes=rng.randint(30, 48 * 60))
    decided = min(decided, now - timedelta(minutes=1))
    outcome = _pick(rng, OUTCOMES)
    decider = rng.choice(physicians) if outcome in ("denied", "partially-approved") or assignee is None else assignee
    return max(decided, received), outcome, decider


def _medication_facts(case_id: uuid.UUID, tar: str, received: datetime, now: datetime, lines: list[NewLine],
                      member: dict) -> list[dict]:
    """Facts a requester's form carries for a drug (weight, dose, interval, prior therapies: issue 5), recorded as
    `fact-recorded` events a minute after receipt, so the drug criteria's machine rules have something to read."""
    from app.domain.criteria.demo_facts import medication_facts

    at = min(now, received + timedelta(minutes=1))
    facts = medication_facts(lines[0].code, member["birth_date"], received.date(), seed=tar)
    return [{"id": uuid.uuid4(), "case_id": case_id, "occurred_at": at, "actor_id": None, "kind": "fact-recorded",
             "payload": {"name": name, "value": value, "note": None, "source": "requester", "demo": True}}
            for name, value in facts.items()]


_REFERRAL_FINDINGS = {
    "not-met": ["The plan's criteria are not met as documented: {gap}.",
                "Criteria not met: {gap}; the requester was called and has nothing more to send."],
    "no-criteria": ["No criteria set applies to this service; it needs a reviewer of the same or similar specialty."],
    "incomplete": ["Criteria review is incomplete: {gap}; the requester says the records are on their way, but "
                   "the clock is close."],
}
_REFERRAL_GAPS = ["no documented trial of conservative therapy", "no recent imaging or test results in the record",
                  "the notes do not show a change in function", "the requested frequency exceeds the usual course",
                  "no documentation of failed lower-cost alternatives"]
_REFERRAL_QUESTIONS = ["Is the requested service medically necessary as asked, or should a shorter course be "
                       "approved?", "Would you approve in part, and how many units?",
                       "Does the member's history support the requested level of care?",
                       "Is a peer-to-peer with the requesting provider advisable before a decision?"]


def _referral(case_id: uuid.UUID, tar: str, received: datetime, now: datetime, events: list[dict],
              lines: list[NewLine], diagnoses: list[list[str]], member: dict, team: list[User]) -> dict:
    """A `referred` event as `refer_case` writes it, with a synthetic nurse summary (its own random stream, so the
    rest of the demo data stays what the seed made it)."""
    rng = random.Random(tar)
    referrers = [u for u in team if u.role in ("um-nurse", "clinical-pharmacist")]
    referrer = rng.choice([u for u in referrers if u.role == "clinical-pharmacist"] or referrers)
    result = rng.choices(["not-met", "no-criteria", "incomplete"], [70, 20, 10])[0]
    age = (received.date() - member["birth_date"]).days // 365
    line = lines[0]
    summary = (f"{age}-year-old member; {line.code} {line.description} × {line.units} requested for "
               f"{diagnoses[0][1]} ({diagnoses[0][0]}). "
               + rng.choice(_REFERRAL_FINDINGS[result]).format(gap=rng.choice(_REFERRAL_GAPS)))
    claimed = next((e["occurred_at"] for e in events if e["kind"] == "claimed"), now)
    at = min(now, claimed, received + timedelta(minutes=rng.randint(20, 240)))
    at = max(at, received)
    return {"id": uuid.uuid4(), "case_id": case_id, "occurred_at": at, "actor_id": referrer.id, "kind": "referred",
            "payload": {"to": "physician", "specialty": None, "summary": summary,
                        "question": rng.choice(_REFERRAL_QUESTIONS), "from_user": referrer.username,
                        "assignee": None, "criteria_result": result,
                        "demo": True}}


def _diagnoses(rng: random.Random, category_codes: list[list[str]], first_code: str) -> list[list[str]]:
    """One to three diagnoses of the category; most requests for a code with usual indications lead with one."""
    chosen = rng.sample(category_codes, k=min(len(category_codes), rng.randint(1, 3)))
    indicated = [pair for pair in category_codes if pair[0] in CODES["indications"].get(first_code, ())]
    if indicated and rng.random() < 0.85:
        primary = rng.choice(indicated)
        chosen = [primary] + [pair for pair in chosen if pair != primary][:2]
    return chosen


def _closed_reach_minutes(now: datetime) -> int:
    """How far back closed demo cases go: a year, but never before every rule set of the clock engine is in force
    (a request the clocks cannot count could not be received)."""
    from app.domain.clocks import default_rule_book
    from app.domain.plantime import PLAN_TZ

    starts = [rs.effective_from for rs in default_rule_book().rule_sets if rs.effective_from is not None]
    reach = CLOSED_REACH_DAYS * 24 * 60
    if starts:
        covered_from = datetime.combine(max(starts), datetime.min.time(), tzinfo=PLAN_TZ)
        reach = min(reach, int((now - covered_from).total_seconds() // 60) - 1)
    return max(reach, 3 * 24 * 60 + 1)


def _case(rng: random.Random, fake: Faker, number: int, members: list[dict], providers: list[dict],
          reviewers: dict[str, list[User]], physicians: list[User], now: datetime) -> dict:
    category = _pick(rng, CATEGORY_WEIGHTS)
    codes = CODES["categories"][category]
    status = _pick(rng, STATUS_WEIGHTS)
    if category == "inpatient":
        timing = rng.choices(["concurrent", "pre-service", "post-service", "post-stabilization"], [55, 25, 15, 5])[0]
    else:
        timing = rng.choices(["pre-service", "concurrent", "post-service"], [75, 10, 15])[0]
    urgency = "urgent" if timing == "post-stabilization" else rng.choices(["urgent", "routine"], [22, 78])[0]
    lob = rng.choices(["medi-cal", "medicare"], [88, 12])[0]
    # Open cases are recent and mostly inside their clocks (a few at risk or overdue, as on a real desk); closed ones
    # reach back months. A post-stabilization request (30 minutes) is only rarely still open.
    if status == "closed" or (timing == "post-stabilization" and rng.random() < 0.9):
        status = "closed"
        received = now - timedelta(minutes=rng.randint(3 * 24 * 60, _closed_reach_minutes(now)))
    elif timing == "post-stabilization":
        received = now - timedelta(minutes=rng.randint(1, 40))
    elif urgency == "urgent":
        received = now - timedelta(minutes=rng.randint(5, 76 * 60))
    else:
        received = now - timedelta(minutes=rng.randint(5, 6 * 24 * 60))
    member = rng.choice(members)
    requester = rng.choice(providers)
    servicing = rng.choice(providers)
    case_id = uuid.uuid4()
    team = team_for_category(category)
    lines = []
    start = (received + timedelta(days=rng.randint(0, 20))).date()
    for _ in range(rng.choices([1, 2, 3], [70, 22, 8])[0]):
        code, description = rng.choice(codes["procedures"])
        lines.append(NewLine(code, description, rng.randint(1, 12), start, start + timedelta(days=rng.randint(0, 60))))
    diagnoses = _diagnoses(rng, codes["diagnoses"], lines[0].code)
    assignee = None
    if status in ("in-review", "pended", "determined", "notified", "closed"):
        assignee = rng.choice(reviewers[team])
    elif status == "referred":
        assignee = rng.choice([None, None, rng.choice(physicians)])
    if status == "received" and rng.random() < 0.15:
        assignee = rng.choice(reviewers[team])
        status = "in-review"
    tar = f"9{number:010d}"
    events = [{"id": uuid.uuid4(), "case_id": case_id, "occurred_at": received, "actor_id": None,
               "kind": "received", "payload": {"channel": rng.choice(["fax", "portal", "form", "phone"]),
                                               "tar": tar, "demo": True}}]
    if assignee is not None:
        events.append({"id": uuid.uuid4(), "case_id": case_id,
                       "occurred_at": min(now, received + timedelta(minutes=rng.randint(5, 600))),
                       "actor_id": assignee.id, "kind": "claimed",
                       "payload": {"assignee": assignee.username, "status": status, "demo": True}})
    if status == "referred":  # the referrer's summary and question (issue 6): what the physician reads first
        events.append(_referral(case_id, tar, received, now, events, lines, diagnoses, member, reviewers[team]))
    if category == "medication":
        events += _medication_facts(case_id, tar, received, now, lines, member)
    extensions = 0
    if (status in DECIDED and urgency == "routine" and timing in ("pre-service", "concurrent")
            and lob == "medi-cal" and category != "medication" and rng.random() < 0.04):
        extensions = 1
    due = decision_due(lob, timing, urgency, category, received, extensions)
    decided_at = outcome = None
    challenges: dict[str, list[dict]] = {}  # issue 14: peer-to-peer calls and appeals on demo denials
    if status in DECIDED:
        decided_at, outcome, decider = _decision(rng, received, due, now, assignee, physicians)
        events.append({"id": uuid.uuid4(), "case_id": case_id, "occurred_at": decided_at, "actor_id": decider.id,
                       "kind": "determined", "payload": {"outcome": outcome, "demo": True}})
        from app.services.demo_oversight import decision_events  # issue 14: criteria work, reopenings

        more, outcome, decided_at = decision_events(
            tar, case_id, code=lines[0].code, category=category, lob=lob, timing=timing, received=received,
            decided_at=decided_at, outcome=outcome, decider=decider, physicians=physicians, now=now,
            determination_id=events[-1]["id"], records=challenges)
        events += more
    return {
        "case": {
            "id": case_id, "tar": tar, "line_of_business": lob, "service_category": category,
            "review_timing": timing, "urgency": urgency, "received_at": received, "status": status, "team": team,
            "assignee_id": assignee.id if assignee else None,
            "assignee_username": assignee.username if assignee else None, "member_id": member["id"],
            "requesting_provider_id": requester["id"], "servicing_provider_id": servicing["id"],
            "place_of_service": rng.choice(codes["place_of_service"]),
            "requested_los_days": rng.randint(1, 14) if category in ("inpatient", "bh-sud", "ltc-snf") else None,
            "proposed_date": start if timing == "pre-service" else None,
            "member_name": f"{member['last_name']}, {member['first_name']}",
            "service_summary": service_summary(lines, category),
            "decision_due_at": due, "decided_at": decided_at, "outcome": outcome, "extensions_taken": extensions,
            "updated_at": max(event["occurred_at"] for event in events), "version": len(events),
        },
        "lines": [{"id": uuid.uuid4(), "case_id": case_id, "line_number": i, "code": line.code,
                   "description": line.description, "units": line.units, "from_date": line.from_date,
                   "to_date": line.to_date} for i, line in enumerate(lines, start=1)],
        "diagnoses": [{"id": uuid.uuid4(), "case_id": case_id, "rank": i, "code": code, "description": text}
                      for i, (code, text) in enumerate(diagnoses, start=1)],
        "notes": [{"id": uuid.uuid4(), "case_id": case_id, "written_at": received,
                   "author": requester["name"], "text": fake.paragraph(nb_sentences=4),
                   "attachment_ref": None}],
        "events": events,
        "member": member,
        **challenges,
    }
