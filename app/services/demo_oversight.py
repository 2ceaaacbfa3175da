"""Demo data for program oversight (issue 14): the criteria work behind demo decisions, peer-to-peer and appeal
reopenings, and (for screenshots and benchmarks) a year's audit worked through the real IRR services.

`decision_events` is called by app.services.demo for each decided demo case, so that a year of decided cases has
what an inter-rater reliability audit reads: the criteria set the reviewer applied (the best match of the
library, as the checklist proposes it) and the reviewer's answer to each criterion, a few minutes before the
determination. Some denials and modifications are reopened on a peer-to-peer call or an appeal and decided
again. Each case draws from its own generator (seeded from its TAR), so the rest of the demo data is the same with
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

EVIDENCE = ("H&P in the request's attachments", "Progress note of the requesting provider", "Imaging report attached",
            "Lab values in the clinical summary", "Therapy notes faxed with the request", "Discharge planning note")
REOPEN_SHARE = 0.25  # of demo denials and modifications, reopened on a peer-to-peer call or an appeal


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
                    now: datetime) -> tuple[list[dict], str, datetime]:
    """Criteria events before a demo determination, and a reopening with its new determination after some
    adverse ones. Returns (events, the case's current outcome, its current decision instant)."""
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
    if outcome in ("denied", "partially-approved") and rng.random() < REOPEN_SHARE:
        reopened_at = decided_at + timedelta(hours=rng.randint(6, 10 * 24))
        redecided_at = reopened_at + timedelta(hours=rng.randint(1, 72))
        if redecided_at < now and physicians:
            physician = rng.choice(physicians)
            reason = rng.choices(["peer-to-peer", "appeal"], [60, 40])[0]
            new = rng.choices(["approved", "partially-approved", "denied"], [50, 15, 35])[0]
            first_id = uuid.uuid4()
            events.append(_event(case_id, reopened_at, physician.id, "reopened", {
                "reason": reason, "note": f"{reason.replace('-', ' ')} outcome (demo)", "previous_outcome": outcome,
                "determination_id": None}))
            events.append({**_event(case_id, redecided_at, physician.id, "determined", {
                "outcome": new, "supersedes": None, "reopen_reason": reason}), "id": first_id})
            current_outcome, current_at = new, redecided_at
    return events, current_outcome, current_at


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
