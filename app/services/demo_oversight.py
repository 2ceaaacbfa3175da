"""Demo data for program oversight (issue 14): the criteria work behind demo decisions, peer-to-peer and appeal
reopenings, and (for screenshots and benchmarks) a year's audit worked through the real IRR services.

`decision_events` is called by app.services.demo for each decided demo case, so that a year of decided cases has
what an inter-rater reliability audit reads: the criteria set the reviewer applied (the best match of the
library, as the checklist proposes it) and the reviewer's answer to each criterion, a few minutes before the
determination. Some denials and modifications get a peer-to-peer call or an appeal (rows of p2p_requests,
p2p_bookings and appeals, as the services write them): upheld, or overturned in full or part, which reopens the
case and decides it again; a few appeals dismissed, the latest still undecided. Each case draws from its own generator (seeded from its TAR), so the rest of the demo data is the same with
or without this. Synthetic only.

`work_demo_audit` draws the year's sample through `app.services.irr` and has the demo auditor answer every sampled
case: mostly as the reviewer did, with a few disagreements (more for two reviewers, who fall under the target).
"""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from functools import lru_cache

from app.domain.criteria import MatchRequest
from app.domain.plantime import to_plan
from app.services.demo_stays import STAY_CATEGORIES

EVIDENCE = ("H&P in the request's attachments", "Progress note of the requesting provider", "Imaging report attached",
            "Lab values in the clinical summary", "Therapy notes faxed with the request", "Discharge planning note")
CHALLENGE_SHARE = 0.5  # of demo denials and modifications: a peer-to-peer call or an appeal
P2P_SHARE = 0.55  # of those challenged, first a peer-to-peer call (the others go straight to an appeal)
APPEAL_AFTER_UPHELD_P2P = 0.5  # of calls that upheld the denial, followed by an appeal
P2P_RESULTS = {"upheld": 45, "overturned": 40, "modified": 15}  # weights (app.domain.p2p.RESULTS)
APPEAL_RESULTS = {"upheld": 55, "overturned": 35, "partially-overturned": 10}  # weights (app.domain.appeals.RESULTS)
APPEAL_REVIEWERS = ("dr.ito", "dr.nakamura", "dr.brooks")  # app.services.demo: independent of first decisions
REQUESTERS = ("Alvarez", "Bennett", "Castillo", "Dang", "Ellis", "Farah", "Gomez", "Hughes", "Iyer", "Jensen")


@lru_cache(maxsize=4096)
def _set_for(code: str, category: str, lob: str, timing: str, received_on: date):
    from app.store.criteria_library import library

    matches = library().match(MatchRequest((code,), category, lob, received_on, timing, ()))
    return matches[0] if matches else None


def _event(case_id: uuid.UUID, at: datetime, actor_id, kind: str, payload: dict) -> dict:
    return {"id": uuid.uuid4(), "case_id": case_id, "occurred_at": at, "actor_id": actor_id, "kind": kind,
            "payload": {**payload, "demo": True}}


def decision_events(tar: str, case_id: uuid.UUID, *, code: str, category: str, lob: str, timing: str,
                    received: datetime, decided_at: datetime, outcome: str, decider, physicians: list,
                    now: datetime, determination_id: uuid.UUID | None = None,
                    records: dict | None = None) -> tuple[list[dict], str, datetime]:
    """Criteria events before a demo determination, and for some adverse ones a peer-to-peer call or an appeal
    (their rows added to `records` under "p2p_requests", "p2p_bookings", "appeals"), with the reopening and the new
    determination an overturn makes. Returns (events, the case's current outcome, its current decision instant)."""
    rng = random.Random(f"demo-oversight-{tar}")
    events: list[dict] = []
    if outcome not in ("approved", "partially-approved", "denied"):
        return events, outcome, decided_at
    match = _set_for(code, category, lob, timing, to_plan(received).date())
    if match is not None:
        cset = match.set
        start = max(received, decided_at - timedelta(minutes=rng.randint(10, 90)))
        seq = 100  # after the received / claimed events' versions
        events.append(_event(case_id, start, decider.id, "criteria-set-chosen", {
            "set_id": cset.id, "version": cset.version, "sha256": cset.sha256, "title": cset.title,
            "source_kind": cset.source.kind, "citation": cset.source.citation, "origin": cset.origin,
            "basis": match.basis, "score": match.score, "seq": seq}))
        criteria = cset.criteria()
        unmet = set()
        if outcome != "approved" and criteria:
            unmet = {c.id for c in rng.sample(criteria, k=min(len(criteria), rng.randint(1, 2)))}
        span = max(timedelta(seconds=len(criteria) + 1), (decided_at - start) * 0.9)
        for n, criterion in enumerate(criteria, start=1):
            answer = "not-met" if criterion.id in unmet else "met"
            if answer == "met" and rng.random() < 0.06:
                answer = "not-applicable"
            at = start + span * n / (len(criteria) + 1)
            events.append(_event(case_id, at, decider.id, "criterion-answered", {
                "set_id": cset.id, "version": cset.version, "sha256": cset.sha256, "criterion_id": criterion.id,
                "answer": answer, "source": "reviewer", "evidence": rng.choice(EVIDENCE),
                "override_reason": None, "machine_answer": None, "explanation": None, "facts_used": {},
                "seq": seq + n}))
    current_outcome, current_at = outcome, decided_at
    stay = timing == "concurrent" and category in STAY_CATEGORIES  # a stay's days are decided by its reviews
    if outcome in ("denied", "partially-approved") and rng.random() < CHALLENGE_SHARE and physicians and not stay:
        common = dict(lob=lob, decided_at=decided_at, outcome=outcome, decider=decider, physicians=physicians,
                      now=now, determination_id=determination_id, events=events,
                      records=records if records is not None else {})
        if rng.random() < P2P_SHARE:
            new, upheld_at = _peer_to_peer(rng, case_id, **common)
            if upheld_at is not None and rng.random() < APPEAL_AFTER_UPHELD_P2P:
                new = _appeal(rng, case_id, after=upheld_at, **common)
        else:
            new = _appeal(rng, case_id, after=decided_at, **common)
        if new is not None:
            current_outcome, current_at = new
    return events, current_outcome, current_at


def _redecided(case_id: uuid.UUID, at: datetime, physician, reason: str, previous: str, result: str,
               events: list[dict]) -> tuple[str, datetime, uuid.UUID]:
    """The reopening and the new determination an overturn (in full or part) makes, as the services write them."""
    new = "approved" if result == "overturned" else "partially-approved"
    first_id = uuid.uuid4()
    events.append(_event(case_id, at, physician.id, "reopened", {
        "reason": reason, "note": f"{reason.replace('-', ' ')} outcome (demo)", "previous_outcome": previous,
        "determination_id": None}))
    events.append({**_event(case_id, at + timedelta(microseconds=1), physician.id, "determined", {
        "outcome": new, "supersedes": None, "reopen_reason": reason}), "id": first_id})
    return new, at + timedelta(microseconds=1), first_id


def _peer_to_peer(rng: random.Random, case_id: uuid.UUID, *, lob: str, decided_at: datetime, outcome: str,
                  decider, physicians: list, now: datetime, determination_id, events: list[dict],
                  records: dict) -> tuple[tuple[str, datetime] | None, datetime | None]:
    """A peer-to-peer request on the denial, and its call with the deciding physician a few days later: upheld,
    overturned or modified (the last two reopen the case and decide it again); a call still ahead is a request to
    schedule. Rows of p2p_requests and p2p_bookings, as app.services.p2p writes them. Returns (the new outcome and
    its instant, or None; when the call ended, if it upheld the denial)."""
    requested_at = decided_at + timedelta(hours=rng.randint(2, 72))
    held_at = requested_at + timedelta(hours=rng.randint(20, 5 * 24))
    result = rng.choices(list(P2P_RESULTS), list(P2P_RESULTS.values()))[0]
    if requested_at >= now:
        return None, None
    request_id, booking_id = uuid.uuid4(), uuid.uuid4()
    requester = f"Dr. {rng.choice(REQUESTERS)}"
    phone = f"1-707-555-{rng.randint(200, 999):04d}"
    held = held_at < now - timedelta(minutes=30)
    events.append(_event(case_id, requested_at, decider.id, "p2p-requested", {
        "request_id": str(request_id), "kind": "denial", "requester_name": requester, "requester_phone": phone,
        "reason": "The treating physician asks to discuss the determination."}))
    request = {"id": request_id, "case_id": case_id, "kind": "denial", "status": "requested",
               "requester_name": requester, "requester_phone": phone, "reason": "Discuss the determination (demo)",
               "preferred_windows": [], "requested_at": requested_at, "requested_by_id": decider.id,
               "physician_id": decider.id, "determination_event_id": determination_id,
               "window_closes_at": requested_at + timedelta(days=7), "missed_windows": 0, "offered": None,
               "result": None, "held_at": None, "new_information": False, "new_determination_event_id": None,
               "closed_at": None, "updated_at": requested_at}
    records.setdefault("p2p_requests", []).append(request)
    if not held:
        return None, None
    ends_at = held_at + timedelta(minutes=30)
    request.update(status="completed", result=result, held_at=held_at, closed_at=ends_at, updated_at=ends_at)
    records.setdefault("p2p_bookings", []).append({
        "id": booking_id, "request_id": request_id, "case_id": case_id, "reviewer_id": decider.id,
        "starts_at": held_at, "ends_at": ends_at, "status": "held", "availability_id": None, "match": "deciding",
        "booked_at": requested_at + timedelta(minutes=40), "booked_by_id": decider.id, "closed_at": ends_at,
        "close_reason": None, "sequence": 0})
    events.append(_event(case_id, ends_at, decider.id, "p2p-call", {
        "request_id": str(request_id), "booking_id": str(booking_id), "call": "held", "result": result,
        "note": f"Call held with {requester} (demo)", "held_at": held_at.isoformat(), "reviewer": decider.username,
        "reviewer_name": decider.full_name, "new_determination": result != "upheld"}))
    if result == "upheld":
        return None, ends_at
    new, at, new_id = _redecided(case_id, ends_at + timedelta(microseconds=1), decider, "peer-to-peer", outcome,
                                 result, events)
    request["new_determination_event_id"] = new_id
    return (new, at), None


def _appeal(rng: random.Random, case_id: uuid.UUID, *, after: datetime, lob: str, decided_at: datetime, outcome: str,
            decider, physicians: list, now: datetime, determination_id, events: list[dict],
            records: dict) -> tuple[str, datetime] | None:
    """An appeal filed by the member days or weeks `after` the denial or an upheld call (a few expedited), decided by an independent physician
    (upheld, overturned, partially overturned: the last two reopen the case and decide it again), a few dismissed
    (withdrawn by the member), the latest still in review. Rows of `appeals`, as app.services.appeals writes them."""
    from app.domain.clocks import AppealRequest, ClockError, compute_appeal_clocks

    expedited = rng.random() < 0.15
    received = after + timedelta(hours=rng.randint(24, 21 * 24))
    if received >= now:
        return None
    try:
        clocks = compute_appeal_clocks(AppealRequest(lob, expedited, received), now=received)
    except ClockError:
        return None
    window = clocks.resolution_due - received
    resolved = received + window * rng.uniform(0.2, 0.95)
    dismissed = rng.random() < 0.1
    result = rng.choices(list(APPEAL_RESULTS), list(APPEAL_RESULTS.values()))[0]
    reviewers = [p for p in physicians if p.username in APPEAL_REVIEWERS] or \
        [p for p in physicians if p.id != decider.id]
    if not reviewers:
        return None
    reviewer = rng.choice(reviewers)
    appeal_id = uuid.uuid4()
    events.append(_event(case_id, received, None, "appeal-filed", {
        "appeal_id": str(appeal_id), "filed_by": "member", "channel": "phone", "expedited": expedited,
        "timely": True, "reviewer": reviewer.username}))
    appeal = {"id": appeal_id, "case_id": case_id, "determination_event_id": determination_id,
              "appealed_outcome": outcome, "status": "in-review", "filed_by": "member", "representative": None,
              "authorization": None, "channel": "phone", "received_at": received, "expedited": expedited,
              "expedited_requested_by": "member" if expedited else None, "expedited_denied_at": None,
              "notice_date": to_plan(decided_at).date(), "notice_source": "notified-event", "filing_deadline": None,
              "timely": True, "days_late": 0, "aid_paid_pending": False, "continuation_requested": False,
              "continuation_deadline": None, "effective_date": None, "specialty": reviewer.specialty,
              "reviewer_id": reviewer.id, "rule_set": clocks.rule_set, "resolution_due_at": clocks.resolution_due,
              "acknowledgement_due_at": clocks.acknowledgement_due,
              "acknowledged_at": received + timedelta(hours=2) if clocks.acknowledgement_due else None,
              "extension_days": 0, "result": None, "resolution_reason": None, "resolved_at": None,
              "resolved_by_id": None, "resolution_event_id": None, "new_determination_event_id": None,
              "notice_sent_at": None, "resolution_breached_at": None, "acknowledgement_breached_at": None,
              "new_information": "The member says the service is still needed (demo).", "created_at": received,
              "updated_at": received}
    records.setdefault("appeals", []).append(appeal)
    if resolved >= now:
        return None
    if dismissed:
        appeal.update(status="dismissed", updated_at=resolved)
        events.append(_event(case_id, resolved, None, "appeal-dismissed", {
            "appeal_id": str(appeal_id), "reason": "Withdrawn by the member by phone (demo)", "tasks_closed": 0}))
        return None
    new = None
    if result != "upheld":
        new = _redecided(case_id, resolved, reviewer, "appeal", outcome, result, events)
        appeal["new_determination_event_id"] = new[2]
    decided_id = uuid.uuid4()
    events.append({**_event(case_id, resolved + timedelta(microseconds=2), reviewer.id, "appeal-decided", {
        "appeal_id": str(appeal_id), "result": result, "reason": "Reviewed by an independent physician (demo)",
        "resolved_at": resolved.isoformat(), "in_time": True}), "id": decided_id})
    notice = min(now, resolved + timedelta(hours=rng.randint(2, 20)))
    appeal.update(status="closed", result=result, resolution_reason="Reviewed by an independent physician (demo)",
                  resolved_at=resolved, resolved_by_id=reviewer.id, resolution_event_id=decided_id,
                  notice_sent_at=notice, updated_at=notice)
    return (new[0], new[1]) if new is not None else None


def work_demo_audit(store, year: int, *, seed: int = 2026, lead: str = "lead.patel", auditor: str = "auditor.brown",
                    weak_reviewers: int = 2, at: datetime | None = None, limit: int | None = None) -> dict:
    """Draw the year's sample and re-review it as the demo auditor, through app.services.irr (the first `limit`
    sampled cases only, when given)."""
    from sqlalchemy import select

    from app.services import irr
    from app.store.irr_queries import annual_sample, blind_case, items_of
    from app.store.models import IrrItem, IrrReview

    with store.session() as session, session.begin():
        irr.draw_sample(session, lead, year=year, seed=seed, at=at)
    with store.session() as session:
        sample = annual_sample(session, year)
        items = items_of(session, sample.id)
        reviewers = sorted({item.reviewer_username for item in items})
    rng = random.Random(f"demo-audit-{year}-{seed}")
    weak = set(rng.sample([r for r in reviewers if r.startswith("staff.")] or reviewers,
                          k=min(weak_reviewers, len(reviewers))))
    done = 0
    for item_id in [item.id for item in items][:limit]:
        with store.session() as session, session.begin():
            item = session.get(IrrItem, item_id)
            if session.scalar(select(IrrReview.id).where(IrrReview.item_id == item.id,
                                                         IrrReview.submitted_at.is_not(None))) is not None:
                continue  # re-reviewed already (a second run)
            who = auditor
            from app.services.irr import _original

            outcome, original = _original(session, item)
            view = blind_case(session, item)
            disagree = rng.random() < (0.22 if item.reviewer_username in weak else 0.03)
            for cid in view.answerable:
                answer = original.get(cid, "met")
                if disagree and rng.random() < 0.5:
                    answer = "not-met" if answer == "met" else "met"
                irr.record_answer(session, who, item_id=item.id, criterion_id=cid, answer=answer, at=at)
            determination = outcome
            if disagree:
                determination = {"approved": "referred", "denied": "approved",
                                 "partially-approved": "approved"}.get(outcome, "referred")
            irr.submit_review(session, who, item_id=item.id, determination=determination, at=at)
            done += 1
    plans = _open_demo_plans(store, year, lead, at)
    return {"year": year, "seed": seed, "reviewed": done, "reviewers": len(reviewers), "plans": plans}


def _open_demo_plans(store, year: int, lead: str, at: datetime | None) -> int:
    """A corrective action plan for each reviewer the demo audit left below target, one action already done."""
    from app.domain.plantime import to_plan as _plan_time
    from app.services import irr
    from app.store.irr_queries import irr_report

    with store.session() as session:
        below = [r["username"] for r in irr_report(session, year)["reviewers"]
                 if r["below_target"] and r["corrective_action_plan"] is None]
    today = _plan_time(at or datetime.now().astimezone()).date()
    for n, reviewer in enumerate(below):
        plan_id = uuid.uuid5(uuid.NAMESPACE_URL, f"umws-demo-plan/{year}/{reviewer}")
        with store.session() as session, session.begin():
            from app.store.models import CorrectivePlan

            if session.get(CorrectivePlan, plan_id) is not None:
                continue
            irr.open_plan(session, lead, plan_id=plan_id, year=year, reviewer=reviewer, owner=lead,
                          actions=["Criteria refresher with the medical director",
                                   "Co-review ten cases with the nurse lead"],
                          due_date=today + timedelta(days=30 + 15 * n), at=at)
            irr.complete_action(session, lead, plan_id=plan_id, number=1, note="Refresher held (demo)", at=at)
    return len(below)
