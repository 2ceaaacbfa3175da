"""Letters demo data (issue 7): a handful of recent denials and modifications with their Notices of Action, so that
the coordinator's "Letters to mail" window and the cases' Letters tabs have something to show.

The bulk demo records a determination as an event with its outcome only (no decision maker, reason or criteria,
which a letter must state: app.domain.letters.checklist), so its decided cases get no letters. Instead, a few
recent cases referred to a physician are decided here through the real services, as a physician would:

1. the physician takes the case (`cases.claim_case`, when nobody holds it), applies the best proposed criteria set
   and answers one or two of its criteria "not met" with the evidence (`criteria.choose_set`,
   `criteria.answer_criterion`), and denies or approves in part on medical necessity (`cases.decide_case`) with the
   rationale and the member's reason in plain words; the member's and the provider's letters are drafted in the
   same transaction (`letters.draft_for_determination`) with their mail-by from the clock engine;
2. one member reads a threshold language other than English: that member letter stays in "translation needed"
   (its reason and criteria are not translated), as the real service leaves it;
3. the letters of the newest decisions stay drafted; the coordinator (coord.jones) issues the others
   (`letters.issue_letter`: linted, rendered, stored with their SHA-256), which wait in "Letters to mail" with
   mail-by dates a day or two away; the oldest case's are also marked mailed (`letters.mark_mailed`), which records
   its notices.

Every step writes its events and audit records as a user's would. The work happens in the demo's recent past
(within the day before its `now`, after the referral; criteria work, which takes no time argument, through
`intents.acting_at`), the cases are chosen in a fixed order and each draws from its own generator, so a seed and
`now` give the same letters. Rendering the issued letters is most of the cost, about a second (docs/benchmarks.md).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from app.store.models import Case, CaseEvent, Letter, Member

CASES = 8  # recent referred cases decided with their letters
# The newest DRAFTED stay drafted, the oldest MAILED are issued and mailed, the others are issued and wait to be
# mailed. Each issued letter is a rendering (~0.1 s): these few keep the letters a small part of `umws demo`.
DRAFTED, MAILED = 4, 1
PARTIAL_EVERY = 3  # every third decision approves in part (a modification notice), the others deny
COORDINATOR = "coord.jones"
# First-decision physicians (the appeal reviewers dr.ito, dr.nakamura and dr.brooks take no part in them).
DECIDERS = {"bh-sud": ("dr.lee",), None: ("dr.morales", "dr.shah")}
EARLIEST = timedelta(hours=4)  # a referral at least this old: the physician's review, issue and mailing fit before now
REVIEW_HOURS = 20  # the physician's reviews happen within this many hours before the demo's `now`
SERVICE_WORDS = {  # what the member is told was asked for, in plain words
    "inpatient": "a stay in the hospital", "outpatient": "this care at a clinic or office",
    "ltc-snf": "care in a nursing home", "dme": "this medical equipment", "home-health": "care in your home",
    "bh-sud": "this care for mental health or substance use", "medication": "this drug",
    "community-supports": "this community service",
}
MEMBER_REASON = {  # read at grade 6 or below (the linter's reading level)
    "deny": ("We looked at the notes your doctor sent us. They do not show that you need {service} now. We checked "
             "them with the rules listed below. Your doctor can send more notes and ask us again."),
    "partial": ("We looked at the notes your doctor sent us. They show that you need some of {service}, but not "
                "all of it. We approved part of what your doctor asked for. Your doctor can send more notes and ask "
                "for more."),
}
EVIDENCE = ("Progress note of the requesting provider", "Clinical summary in the request",
            "Therapy notes faxed with the request", "H&P in the request's attachments")


def add_letters(store, now: datetime, count: int = CASES) -> int:
    """Decide up to `count` recent referred cases with their letters; the cases decided."""
    from app.services.cases import ActionRefused, InvalidInput
    from app.services.criteria import InvalidInput as CriteriaInput

    decided, translated = [], False
    for tar, referred_at, language in _candidates(store, now):
        if len(decided) >= count:
            break
        if language != "en" and translated:
            continue
        try:
            with store.session() as session, session.begin():
                partial = len(decided) % PARTIAL_EVERY == PARTIAL_EVERY - 1
                decided_at = _decide(session, tar, referred_at, now, partial=partial)
            decided.append((tar, decided_at))
            translated = translated or language != "en"
        except (ActionRefused, InvalidInput, CriteriaInput, LookupError):
            continue  # e.g. no criteria set applies, or the physician may not decide it (EPSDT): the next one
    decided.sort(key=lambda item: (item[1], item[0]), reverse=True)  # the latest decision first
    for n, (tar, decided_at) in enumerate(decided):
        if n >= DRAFTED:
            _issue(store, tar, decided_at, now, mail=n >= max(DRAFTED, len(decided) - MAILED))
    return len(decided)


def _candidates(store, now: datetime) -> list[tuple[str, datetime, str]]:
    """Cases referred to a physician at least EARLIEST ago, the latest referral first: those of members whose
    threshold language is not English first (one of them is decided, so that a letter waits for its translation),
    then those of members who read English."""
    from app.letters.templates import plan_profile

    threshold = set(plan_profile().get("languages", {}).get("threshold", ())) - {"en"}
    with store.session() as session:
        rows = session.execute(
            select(Case.tar, CaseEvent.occurred_at, Member.language)
            .join(CaseEvent, (CaseEvent.case_id == Case.id) & (CaseEvent.kind == "referred"))
            .join(Member, Member.id == Case.member_id)
            .where(Case.status == "referred", CaseEvent.occurred_at <= now - EARLIEST,
                   CaseEvent.occurred_at >= now - timedelta(days=7), ~Case.id.in_(select(Letter.case_id)))
            .order_by(CaseEvent.occurred_at.desc(), Case.tar)).all()
    return ([(tar, at, language) for tar, at, language in rows if language in threshold]
            + [(tar, at, "en") for tar, at, language in rows if (language or "en") == "en"])


def _decide(session, tar: str, referred_at: datetime, now: datetime, *, partial: bool = False) -> datetime:
    """The physician's review of a referred case, ending in a denial or partial approval; its instant. Whether the
    best proposed set comes out 'not met' is worked out (read only) before anything is written."""
    from app.domain.criteria.evaluate import machine_answers, overall
    from app.services import cases, criteria
    from app.services.intents import acting_at
    from app.store.criteria_answers import case_facts, proposals

    rng = random.Random(f"demo-letters-{tar}")
    case = cases.case_by_tar(session, tar)
    # Within the last day (so the mail-by dates are near), never before the referral.
    review_at = max(referred_at + timedelta(minutes=30), now - timedelta(minutes=rng.randint(150, REVIEW_HOURS * 60)))
    decided_at = review_at + timedelta(minutes=rng.randint(8, 25))
    if decided_at >= case.decision_due_at:
        raise LookupError(f"TAR {tar}: the decision would be late")
    matches = proposals(session, case)
    if not matches:
        raise LookupError(f"TAR {tar}: no criteria set applies")
    cset, facts = matches[0].set, case_facts(session, case)
    answers = {cid: outcome.answer for cid, outcome in machine_answers(cset, facts).items()
               if outcome.answer != "unknown"}
    answerable = [c.id for c in cset.criteria() if c.id not in answers]
    if not answerable:
        raise LookupError(f"TAR {tar}: the machine answered every criterion")
    unmet = rng.sample(answerable, k=min(len(answerable), rng.randint(1, 2)))
    if overall(cset, answers | dict.fromkeys(unmet, "not-met"), facts.age()).result != "not-met":
        raise LookupError(f"TAR {tar}: {cset.id} would not be 'not met'")
    physician = case.assignee.username if case.assignee else rng.choice(
        DECIDERS.get(case.service_category, DECIDERS[None]))
    if case.assignee is None:
        cases.claim_case(session, tar, physician, at=review_at)
    with acting_at(review_at + timedelta(minutes=1)):
        criteria.choose_set(session, tar, physician, cset.id, cset.version)
    for n, criterion_id in enumerate(unmet, start=2):  # one unmet criterion settles an 'all of' set
        with acting_at(review_at + timedelta(minutes=n)):
            sheet = criteria.answer_criterion(session, tar, physician, criterion_id, "not-met",
                                              evidence=rng.choice(EVIDENCE))
    if sheet.result is None or sheet.result.result != "not-met":
        raise LookupError(f"TAR {tar}: the checklist is not 'not met'")
    # A concurrent review's adverse decision is a termination or reduction notice; a stop of everything cannot be
    # issued yet (its template lists what is still approved), so there the physician reduces.
    partial = partial or case.review_timing == "concurrent"
    lines = _partial_lines(case) if partial else None
    if lines is None and case.review_timing == "concurrent":
        raise LookupError(f"TAR {tar}: nothing to reduce")
    outcome = "partial" if lines else "deny"
    rationale = (f"{cset.title} ({cset.version}) not met: " + "; ".join(cset.node(cid).text for cid in unmet)
                 + ". The records sent do not support the request as asked.")
    service = SERVICE_WORDS.get(case.service_category, "this care")
    cases.decide_case(session, tar, physician, outcome=outcome, rationale=rationale,
                      member_reason=MEMBER_REASON[outcome].format(service=service), basis="medical-necessity",
                      lines=lines, at=decided_at)
    return decided_at


def _partial_lines(case) -> dict[int, int] | None:
    """Half the units of the first line with more than one (or, of several one-unit lines, the first only)."""
    for line in case.lines:
        if line.units > 1:
            return {line.line_number: line.units // 2}
    if len(case.lines) > 1:
        return {line.line_number: 0 for line in case.lines[1:]}
    return None


def _issue(store, tar: str, decided_at: datetime, now: datetime, *, mail: bool) -> None:
    """The coordinator issues the case's letters that are ready (and mails them), in the demo's past."""
    from app.services import letters
    from app.services.cases import ActionRefused

    rng = random.Random(f"demo-letters-issue-{tar}")
    issued_at = min(now - timedelta(minutes=2), decided_at + timedelta(minutes=rng.randint(20, 90)))
    mailed_at = min(now - timedelta(minutes=1), issued_at + timedelta(minutes=rng.randint(30, 120)))
    with store.session() as session, session.begin():
        case = session.scalar(select(Case).where(Case.tar == tar))
        ready = session.scalars(select(Letter.id).where(Letter.case_id == case.id, Letter.status == "draft")
                                .order_by(Letter.recipient)).all()
        for letter_id in ready:
            try:
                with session.begin_nested():
                    letters.issue_letter(session, letter_id, COORDINATOR, at=issued_at)
            except ActionRefused:
                continue  # the linter blocks it (a rule newer than this demo): it stays drafted, as it would
            if mail:
                letters.mark_mailed(session, letter_id, COORDINATOR, at=mailed_at)
