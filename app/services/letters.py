"""Letter use cases (issue 7): draft on determination / extension / pend / missed decision, preview, translate,
issue (exact PDF bytes + SHA-256), reprint, the coordinators' queue, batch print, mark mailed, provider notice.

* Drafting is derived data: `draft_letters` (called by app.services.cases when a determination, an extension or a
  pend is recorded, and by app.services.clock_watch for a missed decision) adds `letters` rows in the same
  transaction, with the mail-by due from the clock engine, and supersedes the unissued letters the new event
  replaces. It writes no event of its own: the event that caused it is the record.
* A member whose language has no template, or whose reason (or the information asked for) is not translated yet,
  gets no English letter in its place: the letter is `translation-needed` until `add_translation`.
* `issue_letter` (a user with authority to record notices) composes the letter, runs the linter (blocked:
  `LetterBlocked`, exit 3), warns on the reading level (`ReadingLevelTooHigh` unless acknowledged), renders it,
  stores the bytes with their SHA-256 in the append-only `issued_letters`, and records `letter-issued`.
* `mark_mailed` records `letter-mailed`; for a determination's letter it also records the notice
  (`cases.record_notification`), which completes the member notice clock (or the provider's written notice).
  `notify_provider` records the provider notification with its method and time (phone, fax, portal, letter).

Sync (issue 9, docs/sync.md "Letters"): every write here is an intent. A letter's id is derived from what
identifies it on every device -- its source event (a determination, an extension, a pend, a missed decision),
kind and recipient -- and the source event's id is the same on the laptop and on the central store (the event
ids of a change are derived from its mutation id), so "the member letter of determination X" is one id everywhere,
and so is the letter number printed on it (`letter_ref`). An issue made offline goes up with the notice date and
the SHA-256 of the bytes the laptop printed (and the bytes themselves, kept with a conflict): the central store
renders the letter again from its own copy of the case on that notice date and records it only when it is the very
same document; otherwise the issue is a conflict, never a different record of what was sent.
"""
from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import authority
from app.domain.clocks import ClockError, compute_clocks
from app.domain.letters import kinds as letter_kinds
from app.domain.letters.content import LetterContent
from app.domain.letters.facts import CriteriaFact, LetterFacts, LineFact, UnmetCriterion, translation_gaps
from app.domain.letters.linter import LintResult, lint
from app.domain.plantime import PLAN_TZ, to_plan
from app.services import audit
from app.services.cases import (ActionRefused, InvalidInput, NotFound, case_by_tar, iso_utc, record_event,
                                record_notification, user_by_name)
from app.services.intents import (Call, always, decode, derived_id, encode, intent, letter_untouched_since,
                                  provider_not_notified_since, stable_id)
from app.store.case_details import clock_request_of
from app.store.models import Case, CaseEvent, CaseWorkflow, IssuedLetter, Letter, Member, User, utcnow

OPEN_STATUSES = ("draft", "translation-needed", "issued")  # the queue: letters still to go out
PROVIDER_METHODS = {"phone": "Phone", "fax": "Fax", "portal": "Portal (electronic)", "letter": "Letter (mail)"}
EFFECTIVE_DAYS_DEFAULT = 12  # a proposed termination date: 10 days' notice + 2 days to mail (the linter checks 10)


class LetterBlocked(ActionRefused):
    """The linter found required elements missing: nothing was issued. `.problems` lists them."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message, kind="letter")
        self.problems = problems


class TranslationNeeded(ActionRefused):
    """The letter waits for a template or a translation in the member's language."""

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message, kind="letter")
        self.missing = missing


class ReadingLevelTooHigh(ActionRefused):
    """The member's reason reads above grade 6: the reviewer must acknowledge it (or rewrite it) to issue."""

    def __init__(self, message: str, lint_result: LintResult):
        super().__init__(message, kind="reading-level")
        self.lint = lint_result


# ----- facts ---------------------------------------------------------------------------------------------------
def letter_ref(letter: Letter) -> str:
    return "L-" + letter.id.hex[:6].upper()


def _member_address(member: Member) -> list[str]:
    if not member.address_line:
        return []
    city = ", ".join(part for part in (member.city, " ".join(p for p in (member.state, member.postal_code) if p))
                     if part)
    return [member.address_line] + ([city] if city else [])


def _provider_address(provider) -> list[str]:
    if provider is None or not provider.address_line:
        return []
    city = ", ".join(part for part in (provider.city, " ".join(p for p in (provider.state, provider.postal_code)
                                                                 if p)) if part)
    return [provider.address_line] + ([city] if city else [])


def _event(session: Session, event_id: uuid.UUID | None) -> CaseEvent | None:
    return session.get(CaseEvent, event_id) if event_id else None


def _criteria_facts(session: Session, citations: list[dict]) -> list[CriteriaFact]:
    from app.store.criteria_library import library

    lib = library(session)
    out = []
    for cited in citations:
        cset = lib.get(cited.get("set_id"), cited.get("version")) if cited.get("version") else None
        out.append(CriteriaFact(cited.get("set_id"), cited.get("version"), cset.title if cset else None,
                                cset.source.citation if cset else None, cset.member_title if cset else None))
    return out


def _unmet(session: Session, case: Case, citations: list[dict]) -> list[UnmetCriterion]:
    """The criteria the checklist answered 'not met', when the checklist's set is one the determination cites."""
    from app.store.criteria_answers import checklist

    try:
        sheet = checklist(session, case)
    except LookupError:
        return []
    if sheet.set is None or not any(c.get("set_id") == sheet.set.id for c in citations):
        return []
    return [UnmetCriterion(row.node.text, row.node.member_text) for row in sheet.rows
            if not row.is_group and row.answer == "not-met"]


def letter_facts(session: Session, letter: Letter) -> LetterFacts:
    """Everything the letter says, read from the store (the case, its member and provider, the event it
    notifies, the criteria cited and unmet, the decision maker)."""
    case = letter.case
    member = case.member
    provider = case.requesting_provider
    source = _event(session, letter.source_event_id)
    payload = source.payload if source is not None else {}
    facts = LetterFacts(
        tar=case.tar, letter_ref=letter_ref(letter), line_of_business=case.line_of_business,
        review_timing=case.review_timing, received_at=case.received_at,
        member_name=f"{member.first_name} {member.last_name}".strip() or None, member_id=member.cin,
        member_address=_member_address(member), member_language=member.language or "en",
        large_print=member.alternative_format == "large-print",
        provider_name=provider.name if provider else None, provider_address=_provider_address(provider),
        decision_due=case.decision_due_at, effective_date=letter.effective_date,
        translations=dict(letter.translations or {}),
    )
    approved = {line["line_number"]: line.get("approved_units") for line in payload.get("lines", [])}
    facts.lines = [LineFact(line.code, line.description, line.units,
                            approved.get(line.line_number) if source is not None and source.kind == "determined"
                            else None, line.from_date, line.to_date) for line in case.lines]
    if source is not None and source.kind == "determined":
        citations = payload.get("criteria") or []
        decider = payload.get("decided_by") or {}
        user = session.scalar(select(User).where(User.username == decider.get("username"))) if decider else None
        facts.outcome = payload.get("outcome")
        facts.basis = payload.get("basis")
        facts.decided_at = datetime.fromisoformat(payload["decided_at"]) if payload.get("decided_at") else None
        facts.rationale = payload.get("rationale")
        facts.member_reason = payload.get("member_reason") or None
        facts.criteria = _criteria_facts(session, citations)
        facts.unmet = _unmet(session, case, citations) if facts.outcome in ("denied", "partially-approved") else []
        name = decider.get("full_name")
        facts.decision_maker = name
        facts.decision_maker_phone = user.phone if user else None
    elif source is not None and source.kind == "extended":
        facts.extension_reason = payload.get("reason")
        facts.information_needed = [payload["note"]] if payload.get("note") else []
        facts.decision_due = datetime.fromisoformat(payload["new_due"]) if payload.get("new_due") else None
    elif source is not None and source.kind == "pended":
        facts.information_needed = list(payload.get("missing") or [])
    elif source is not None and source.kind.startswith("appeal-"):
        from app.services.appeal_letters import fill_letter_facts  # issue 13: the appeal letters

        fill_letter_facts(session, letter, source, facts)
    return facts


def build_content(session: Session, letter: Letter, *, notice_date: date | None = None,
                  language: str | None = None) -> tuple[LetterFacts, LetterContent]:
    from app.letters.compose import build

    facts = letter_facts(session, letter)
    day = notice_date or to_plan(utcnow()).date()
    return facts, build(facts, kind=letter.kind, recipient=letter.recipient, language=language or letter.language,
                        notice_date=day)


# ----- drafting ------------------------------------------------------------------------------------------------
def _mail_by(case: Case, kind: str, recipient: str, source: CaseEvent | None, at: datetime) -> datetime | None:
    """The member-notice (member) or provider-notification (provider) due from the clock engine."""
    if kind == "request-for-information":
        return None
    if kind in letter_kinds.APPEAL_KINDS:
        from sqlalchemy.orm import object_session

        from app.services.appeal_letters import letter_mail_by  # issue 13: the appeal's own clocks

        return letter_mail_by(object_session(case), kind, source, at)
    if kind == "extension" and source is not None and source.payload.get("notice_due"):
        return datetime.fromisoformat(source.payload["notice_due"])
    try:
        clocks = compute_clocks(clock_request_of(case), decided=case.decided_at if kind != "untimely-decision"
                                else None, extensions=case.extensions_taken or 0, now=at)
    except ClockError:
        return None
    return clocks.member_notice_due if recipient == "member" else clocks.notification_due


def _status(facts: LetterFacts, kind: str, recipient: str, language: str, structure: str) -> str:
    from app.letters.templates import has_template

    if not has_template(kind, recipient, language, structure):
        return "translation-needed"
    return "translation-needed" if translation_gaps(facts, kind, recipient, language) else "draft"


def draft_letters(session: Session, case: Case, *, kind: str, source_event_id: uuid.UUID | None,
                  at: datetime | None = None) -> list[Letter]:
    """Draft the member's and the provider's letter of `kind` for the event `source_event_id` (in the caller's
    transaction), superseding letters of the case that it replaces and that have not gone out."""
    at = at or utcnow()
    session.flush()
    families = {"extension": ("extension",), "request-for-information": ("request-for-information",),
                **{appeal_kind: (appeal_kind,) for appeal_kind in letter_kinds.APPEAL_KINDS}}
    replaces = families.get(kind, letter_kinds.DETERMINATION_KINDS + ("untimely-decision",))
    for old in session.scalars(select(Letter).where(Letter.case_id == case.id, Letter.kind.in_(replaces),
                                                    Letter.status.in_(OPEN_STATUSES))):
        old.status = "superseded"
        old.updated_at = at
    source = _event(session, source_event_id)
    made = []
    for recipient in letter_kinds.recipients_for(kind):
        language = (case.member.language or "en") if recipient == "member" else "en"
        letter = Letter(id=letter_id_for(source_event_id, kind, recipient), case_id=case.id, kind=kind,
                        recipient=recipient, language=language,
                        status="draft", source_event_id=source_event_id, created_at=at, updated_at=at,
                        mail_by_at=_mail_by(case, kind, recipient, source, at), translations={})
        if kind == "termination":
            decided = to_plan(case.decided_at or at).date()
            letter.effective_date = decided + timedelta(days=EFFECTIVE_DAYS_DEFAULT)
        letter.case = case
        session.add(letter)
        session.flush()
        facts = letter_facts(session, letter)
        structure = letter_kinds.structure_for(kind, recipient, case.line_of_business)
        letter.status = _status(facts, kind, recipient, language, structure)
        made.append(letter)
    return made


def letter_id_for(source_event_id: uuid.UUID | None, kind: str, recipient: str) -> uuid.UUID:
    """The id of the `kind` letter to `recipient` for the event `source_event_id`: the same on every device that
    holds that event (see the module docstring)."""
    if source_event_id is None:
        return derived_id("letter")
    return stable_id("letter", source_event_id, kind, recipient)


def draft_for_determination(session: Session, case: Case, event_id: uuid.UUID, at: datetime) -> list[Letter]:
    """Called by cases.decide_case: the letters of a determination (none for withdrawn / closed)."""
    from app.store.models import CaseEvent as _Event

    event = session.get(_Event, event_id)
    payload = event.payload if event is not None else {}
    kind = letter_kinds.kind_for_determination(payload.get("outcome"), payload.get("basis"), case.review_timing)
    if kind is None:
        return []
    return draft_letters(session, case, kind=kind, source_event_id=event_id, at=at)


# ----- acting on letters -----------------------------------------------------------------------------------
def _actor(session: Session, username: str) -> User:
    actor = user_by_name(session, username)
    if not actor.active:
        raise ActionRefused(f"The account '{username}' is not active.", who=("administrator",))
    return actor


def _letter(session: Session, letter_id: uuid.UUID | str) -> Letter:
    try:
        key = letter_id if isinstance(letter_id, uuid.UUID) else uuid.UUID(str(letter_id))
    except ValueError:
        key = None
    letter = session.get(Letter, key) if key else None
    if letter is None:
        raise NotFound(f"No letter {letter_id} in this store; 'umws letter list TAR' shows a case's letters.")
    return letter


def _may_send(actor: User, case: Case) -> None:
    refusal = authority.may(actor.role, "notify", case.service_category)
    if refusal:
        raise ActionRefused(refusal.reason.replace("record a notification sent", "issue or mail letters"),
                            who=refusal.who)


def find_letter(session: Session, tar: str, recipient: str, *, include_closed: bool = True) -> Letter | None:
    """The case's current letter for the recipient: the newest that is not superseded."""
    case = case_by_tar(session, tar)
    statuses = OPEN_STATUSES + (("mailed", "sent") if include_closed else ())
    return session.scalars(select(Letter).where(Letter.case_id == case.id, Letter.recipient == recipient,
                                                Letter.status.in_(statuses))
                           .order_by(Letter.created_at.desc()).limit(1)).first()


def case_letters(session: Session, tar: str) -> list[Letter]:
    case = case_by_tar(session, tar)
    return list(session.scalars(select(Letter).where(Letter.case_id == case.id)
                                .order_by(Letter.created_at.desc(), Letter.recipient)))


@dataclass
class Preview:
    letter: Letter
    content: LetterContent | None
    lint: LintResult | None
    pdf: bytes | None
    missing_translation: list[str]
    issued: bool = False

    @property
    def blocked(self) -> bool:
        return bool(self.missing_translation) or (self.lint is not None and self.lint.blocked)


def preview_letter(session: Session, letter_id, username: str | None = None, *, draft_mark: bool = True,
                   language: str | None = None) -> Preview:
    """The letter as it would be issued today (with a DRAFT mark), with the linter's result; an issued letter's
    stored bytes. Missing template or translation: no PDF, and what is missing."""
    from app.letters.render import render
    from app.letters.templates import TemplateMissing, plan_profile

    letter = _letter(session, letter_id)
    if username:
        audit.record_view(session, actor=username, what="letter", case_id=letter.case_id, tar=letter.case.tar,
                          details={"letter_id": str(letter.id)})
    if letter.issued_letter_id and language in (None, letter.language):
        issued = session.get(IssuedLetter, letter.issued_letter_id)
        return Preview(letter, None, None, issued.pdf, [], issued=True)
    lang = language or letter.language
    facts = letter_facts(session, letter)
    gaps = translation_gaps(facts, letter.kind, letter.recipient, lang)
    try:
        _, content = build_content(session, letter, language=lang)
    except TemplateMissing as error:
        return Preview(letter, None, None, None, [f"a {lang} template ({error})"] + gaps)
    if gaps:
        return Preview(letter, content, lint(content), None, gaps)
    result = lint(content)
    return Preview(letter, content, result, render(content, plan_profile(), draft=draft_mark), [])


def translation_sources(session: Session, letter_id) -> dict[str, str | list[str]]:
    """The reviewer's English texts a letter in another language needs translated (key -> text or list), with
    the translations already recorded under `translations`."""
    letter = _letter(session, letter_id)
    facts = letter_facts(session, letter)
    english = {"member_reason": facts.member_reason, "information_needed": facts.information_needed,
               "covered_alternatives": facts.covered_alternatives,
               "services": [line.description for line in facts.lines],
               "criteria_not_met": [u.member_text for u in facts.unmet]}
    needed = translation_gaps(LetterFacts(**{**facts.__dict__, "translations": {}}), letter.kind, letter.recipient,
                              letter.language)
    return {key: english[key] for key in needed}


# ----- letter writes as intents (issue 9): the letter travels by its id, which every device shares ------------
def letter_key(letter: Letter) -> dict:
    """How an intent names a letter: its id (the same on every device), with what a person needs to recognise it
    in a conflict."""
    return {"id": str(letter.id), "ref": letter_ref(letter), "kind": letter.kind, "recipient": letter.recipient,
            "source_event_id": str(letter.source_event_id) if letter.source_event_id else None}


_PRINTED = ("notice_date", "sha256", "pdf", "issued_letter_id")  # what `issue_letter` adds once it has issued


def _letter_to_call(bound) -> Call:
    arguments = bound.arguments
    letter = _letter(arguments["session"], arguments["letter_id"])
    payload = {key: encode(value) for key, value in arguments.items()
               if key not in ("session", "letter_id", "username", "at", "expected_sha256")}
    payload["letter"] = letter_key(letter)
    return Call(letter.case.tar, arguments["username"], payload, arguments.get("at"))


def _letter_from_call(session: Session, call: Call) -> tuple[tuple, dict]:
    """The letter named by the change, on the case the server found for it (the letter's id is not enough: it
    must be a letter of that case)."""
    key = call.payload["letter"]
    case = case_by_tar(session, call.tar)
    letter = session.get(Letter, uuid.UUID(key["id"]))
    if letter is None or letter.case_id != case.id:
        raise NotFound(f"Letter {key.get('ref')} ({key.get('kind')}, to the {key.get('recipient')}) of TAR "
                       f"{call.tar} is not on the central store: the event it notifies was not recorded there "
                       "(its change became a conflict, or the case changed).")
    kwargs = {name: decode(value) for name, value in call.payload.items() if name not in ("letter", *_PRINTED)}
    if "sha256" in call.payload:
        kwargs["expected_sha256"] = call.payload["sha256"]
        kwargs["notice_date"] = decode(call.payload["notice_date"])
    return (letter.id, call.actor), kwargs


def _issued_call(call: Call, issued: "IssuedLetter") -> Call:
    """The issue as the laptop printed it: the notice date, the SHA-256 and the bytes."""
    import base64

    payload = {**call.payload, "notice_date": encode(issued.notice_date), "sha256": issued.sha256,
               "issued_letter_id": str(issued.id), "pdf": base64.b64encode(issued.pdf).decode("ascii")}
    return Call(call.tar, call.actor, payload, call.at)


def _phone_from_call(session: Session, call: Call) -> tuple[tuple, dict]:
    return (call.actor,), {key: decode(value) for key, value in call.payload.items()}


@intent("translate-letter", commutes=letter_untouched_since, to_call=_letter_to_call, from_call=_letter_from_call)
def add_translation(session: Session, letter_id, username: str, texts: dict[str, str | list[str]], *,
                    at: datetime | None = None) -> Letter:
    """Record the translation of the reviewer's free texts for a letter in the member's language."""
    from app.domain.letters.facts import TRANSLATABLE

    actor = _actor(session, username)
    letter = _letter(session, letter_id)
    _may_send(actor, letter.case)
    if letter.status not in ("draft", "translation-needed"):
        raise ActionRefused(f"Letter {letter_ref(letter)} is {letter.status}; only a letter not yet issued takes a "
                            "translation.", kind="state")
    unknown = [key for key in texts if key not in TRANSLATABLE]
    if unknown:
        raise InvalidInput(f"cannot translate {', '.join(unknown)}: one of {', '.join(TRANSLATABLE)}")
    cleaned = {k: v.strip() if isinstance(v, str) else [i.strip() for i in v if i.strip()] for k, v in texts.items()}
    if not any(cleaned.values()):
        raise InvalidInput("give the translated text")
    at = at or utcnow()
    letter.translations = {**(letter.translations or {}), **cleaned}
    facts = letter_facts(session, letter)
    structure = letter_kinds.structure_for(letter.kind, letter.recipient, letter.case.line_of_business)
    before = letter.status
    letter.status = _status(facts, letter.kind, letter.recipient, letter.language, structure)
    letter.updated_at = at
    record_event(session, letter.case, actor, "letter-translated", {
        "letter_id": str(letter.id), "language": letter.language, "keys": sorted(cleaned), "status": letter.status,
    }, at, before={"letter_status": before}, after={"letter_status": letter.status})
    return letter


@intent("set-letter-effective-date", commutes=letter_untouched_since, to_call=_letter_to_call,
        from_call=_letter_from_call)
def set_effective_date(session: Session, letter_id, username: str, day: date, *,
                       at: datetime | None = None) -> Letter:
    """Set the date a termination or reduction takes effect (the linter checks the 10 days' notice)."""
    actor = _actor(session, username)
    letter = _letter(session, letter_id)
    _may_send(actor, letter.case)
    if letter.kind != "termination":
        raise InvalidInput("only a termination or reduction notice has an effective date")
    if letter.status not in ("draft", "translation-needed"):
        raise ActionRefused(f"Letter {letter_ref(letter)} is {letter.status}; its effective date is fixed.",
                            kind="state")
    at = at or utcnow()
    previous = letter.effective_date
    letter.effective_date = day
    letter.updated_at = at
    record_event(session, letter.case, actor, "letter-effective-date-set",
                 {"letter_id": str(letter.id), "from": previous.isoformat() if previous else None,
                  "to": day.isoformat()}, at)
    return letter


@intent("issue-letter", commutes=letter_untouched_since, to_call=_letter_to_call, from_call=_letter_from_call,
        complete=_issued_call)
def issue_letter(session: Session, letter_id, username: str, *, acknowledge_reading_level: bool = False,
                 at: datetime | None = None, notice_date: date | None = None,
                 expected_sha256: str | None = None) -> IssuedLetter:
    """Issue a drafted letter: lint, render, store the exact bytes with their SHA-256, record `letter-issued`.

    `notice_date` (default: the plan's date of `at`) and `expected_sha256` are the letter as a laptop printed it
    offline: the central store renders it on that date from its own copy of the case, and refuses to record a
    document that is not the very one printed (module docstring)."""
    from pypdf import PdfReader

    from app.letters.render import render
    from app.letters.templates import TemplateMissing, plan_profile

    actor = _actor(session, username)
    letter = _letter(session, letter_id)
    case = letter.case
    _may_send(actor, case)
    if letter.status == "translation-needed":
        facts = letter_facts(session, letter)
        gaps = translation_gaps(facts, letter.kind, letter.recipient, letter.language) or [
            f"a {letter.language} template for '{letter.kind}'"]
        raise TranslationNeeded(f"Letter {letter_ref(letter)} of TAR {case.tar} waits for a translation into "
                                f"{letter.language}: {', '.join(gaps)}. No English letter is sent in its place.",
                                gaps)
    if letter.status != "draft":
        raise ActionRefused(f"Letter {letter_ref(letter)} of TAR {case.tar} is {letter.status}; "
                            + ("reprint it instead." if letter.status in ("issued", "mailed", "sent")
                               else "a newer letter replaced it."), kind="state")
    at = at or utcnow()
    day = notice_date or to_plan(at).date()
    if day > to_plan(at).date():
        raise InvalidInput(f"the notice date {day.isoformat()} is after the day the letter is issued")
    try:
        facts, content = build_content(session, letter, notice_date=day)
    except TemplateMissing as error:
        raise TranslationNeeded(str(error), [str(error)]) from error
    result = lint(content)
    if result.blocked:
        problems = [p.message for p in result.problems]
        raise LetterBlocked(f"Letter {letter_ref(letter)} of TAR {case.tar} cannot be issued; missing:\n- "
                            + "\n- ".join(problems), problems)
    if result.reading and result.reading.too_hard and not acknowledge_reading_level:
        raise ReadingLevelTooHigh(
            f"The member's reason reads at grade {result.reading.grade:.1f} (aim: {result.reading.max_grade:.0f} or "
            "lower). Hard sentences:\n- " + "\n- ".join(s.text for s in result.reading.hard)
            + "\nRewrite the reason, or issue anyway after review.", result)
    pdf = render(content, plan_profile())
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    digest = hashlib.sha256(pdf).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise ActionRefused(
            f"Letter {letter_ref(letter)} of TAR {case.tar} as it was printed (SHA-256 {expected_sha256[:12]}…) is "
            f"not the letter the central store's copy of the case gives (SHA-256 {digest[:12]}…): the facts it "
            "states changed meanwhile. The printed letter is kept with this conflict; if it went out, issue a "
            "corrective letter.", kind="letter")
    corrects = _corrected(session, letter)
    issued = IssuedLetter(id=stable_id("issued-letter", letter.id), letter_id=letter.id, case_id=case.id,
                          issued_at=at, issued_by_id=actor.id, notice_date=content.notice_date, pdf=pdf,
                          sha256=digest, pages=pages, content=content.to_json(),
                          criteria=[{"set_id": c.set_id, "version": c.version} for c in facts.criteria],
                          corrects_id=corrects)
    session.add(issued)
    letter.status = "issued"
    letter.issued_at = at
    letter.issued_letter_id = issued.id
    letter.updated_at = at
    record_event(session, case, actor, "letter-issued", {
        "letter_id": str(letter.id), "issued_letter_id": str(issued.id), "kind": letter.kind,
        "recipient": letter.recipient, "language": letter.language, "notice_date": content.notice_date.isoformat(),
        "sha256": digest, "pages": pages, "criteria": issued.criteria,
        "corrects": str(corrects) if corrects else None,
        "reading_grade": round(result.reading.grade, 1) if result.reading else None,
    }, at, before={"letter_status": "draft"}, after={"letter_status": "issued"})
    return issued


def _corrected(session: Session, letter: Letter) -> uuid.UUID | None:
    """The letter already issued to the same recipient for an earlier event of the same family (e.g. a
    superseded determination): this one is a second, corrective notification and says so (letters.md, Records)."""
    family = (letter_kinds.DETERMINATION_KINDS if letter.kind in letter_kinds.DETERMINATION_KINDS
              else (letter.kind,))
    return session.scalar(select(Letter.issued_letter_id).where(
        Letter.case_id == letter.case_id, Letter.recipient == letter.recipient, Letter.id != letter.id,
        Letter.issued_letter_id.is_not(None), Letter.kind.in_(family),
        Letter.status.in_(("superseded", "mailed", "sent")))
        .order_by(Letter.issued_at.desc()).limit(1))


def reprint(session: Session, letter_id, username: str) -> IssuedLetter:
    """The stored bytes of an issued letter (never a new rendering); the read is audited."""
    letter = _letter(session, letter_id)
    if letter.issued_letter_id is None:
        raise ActionRefused(f"Letter {letter_ref(letter)} has not been issued; preview it instead.", kind="state")
    audit.record_view(session, actor=username, what="letter-reprint", case_id=letter.case_id, tar=letter.case.tar,
                      details={"letter_id": str(letter.id)})
    return session.get(IssuedLetter, letter.issued_letter_id)


def _sent_instant(on: date | datetime | None, at: datetime, earliest: datetime | None) -> datetime:
    if on is None:
        sent = at
    elif isinstance(on, datetime):
        if on.tzinfo is None:
            raise InvalidInput("the mailing time has no time zone")
        sent = on.astimezone(timezone.utc)
    else:
        sent = min(at, datetime.combine(on, time(17, 0), PLAN_TZ).astimezone(timezone.utc))
        if on == to_plan(at).date():
            sent = at
    if sent > at:
        raise InvalidInput("the mailing date is in the future")
    if earliest is not None and sent < earliest:
        raise InvalidInput("a letter cannot be mailed before it was issued")
    return sent


def _current_determination(session: Session, case: Case) -> uuid.UUID | None:
    workflow = session.get(CaseWorkflow, case.id)
    return workflow.determination_event_id if workflow else None


@intent("mark-letter-mailed", commutes=always, to_call=_letter_to_call, from_call=_letter_from_call)
def mark_mailed(session: Session, letter_id, username: str, *, mailed_on: date | datetime | None = None,
                at: datetime | None = None) -> Letter:
    """Record that an issued letter went in the mail; a determination's letter also records the notice, which
    completes the member notice clock (member) or the written provider notice (provider)."""
    actor = _actor(session, username)
    letter = _letter(session, letter_id)
    case = letter.case
    _may_send(actor, case)
    if letter.status != "issued":
        raise ActionRefused(f"Letter {letter_ref(letter)} of TAR {case.tar} is {letter.status}: only an issued "
                            "letter can be marked mailed.", kind="state")
    at = (at or utcnow()).astimezone(timezone.utc)
    sent = _sent_instant(mailed_on, at, letter.issued_at)
    letter.status = "mailed"
    letter.mailed_at = sent
    letter.sent_method = "mail"
    letter.updated_at = at
    record_event(session, case, actor, "letter-mailed", {
        "letter_id": str(letter.id), "recipient": letter.recipient, "kind": letter.kind, "mailed_at": iso_utc(sent),
    }, at, before={"letter_status": "issued"}, after={"letter_status": "mailed"})
    _record_notice(session, case, letter, username, method="mail", sent=sent, at=at)
    return letter


def _record_notice(session: Session, case: Case, letter: Letter, username: str, *, method: str, sent: datetime,
                   at: datetime) -> None:
    if letter.kind in letter_kinds.APPEAL_KINDS:
        from app.services.appeal_letters import record_appeal_notice  # issue 13: the appeal's notice clocks

        record_appeal_notice(session, letter, username, sent=sent, at=at)
        return
    if letter.kind not in letter_kinds.DETERMINATION_KINDS:
        return
    if letter.source_event_id != _current_determination(session, case):
        return
    workflow = session.get(CaseWorkflow, case.id)
    if letter.recipient == "provider" and workflow is not None and workflow.provider_notified_at is not None:
        return  # the provider was notified first by phone, fax or portal; this is the written follow-up
    session.flush()
    record_notification(session, case.tar, username, recipient=letter.recipient, method=method, sent_at=sent, at=at)


@intent("notify-provider", commutes=provider_not_notified_since)
def notify_provider(session: Session, tar: str, username: str, *, method: str, sent_at: datetime | None = None,
                    at: datetime | None = None) -> Case:
    """Record the provider notification with its method and time (H&SC 1367.01(h)(4): denials, delays and
    modifications by phone, fax or electronically first, then in writing); completes the provider notification
    clock. A fax or portal transmission of the issued provider letter marks that letter sent."""
    if method not in PROVIDER_METHODS:
        raise InvalidInput(f"method is one of: {', '.join(PROVIDER_METHODS)} (not '{method}')")
    case = case_by_tar(session, tar)
    letter = find_letter(session, tar, "provider", include_closed=False)
    if method == "letter":
        if letter is None or letter.status != "issued":
            raise ActionRefused(f"TAR {tar} has no issued provider letter to mail; issue it first.", kind="state")
        mark_mailed(session, letter.id, username, mailed_on=sent_at, at=at)
        return case
    case = record_notification(session, tar, username, recipient="provider", method=method, sent_at=sent_at, at=at)
    if letter is not None and letter.status == "issued" and method in ("fax", "portal"):
        now = (at or utcnow()).astimezone(timezone.utc)
        sent = sent_at.astimezone(timezone.utc) if sent_at else now
        letter.status = "sent"
        letter.mailed_at = sent
        letter.sent_method = method
        letter.updated_at = now
        actor = _actor(session, username)
        record_event(session, case, actor, "letter-sent", {"letter_id": str(letter.id), "method": method,
                                                           "sent_at": iso_utc(sent)}, now,
                     before={"letter_status": "issued"}, after={"letter_status": "sent"})
    return case


@intent("set-user-phone", from_call=_phone_from_call)
def set_user_phone(session: Session, username: str, target: str, phone: str) -> User:
    """An administrator records a reviewer's direct phone number (printed on provider letters)."""
    actor = _actor(session, username)
    if actor.role != "administrator":
        raise ActionRefused("Only an administrator may change a user's phone number.", who=("administrator",))
    user = user_by_name(session, target)
    phone = (phone or "").strip()
    if not phone or not any(ch.isdigit() for ch in phone):
        raise InvalidInput("give a phone number, e.g. 1-707-555-0142")
    user.phone = phone
    audit.append(session, actor=actor.username, actor_kind="user", action="change", what="user-phone",
                 case_id=None, tar=None, body={"user": target, "phone": phone, "os_user": audit.os_user()})
    return user


# ----- the queue and batch printing ------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueRow:
    letter_id: uuid.UUID
    tar: str
    member_name: str
    kind: str
    recipient: str
    language: str
    status: str
    mail_by_at: datetime | None
    issued_at: datetime | None
    sha256: str | None = None

    def to_json(self) -> dict:
        from app.domain.plantime import iso_plan

        return {"letter_id": str(self.letter_id), "tar": self.tar, "member": self.member_name, "kind": self.kind,
                "recipient": self.recipient, "language": self.language, "status": self.status,
                "mail_by": iso_plan(self.mail_by_at), "issued_at": iso_plan(self.issued_at)}


def letter_queue(session: Session, *, statuses: Iterable[str] = OPEN_STATUSES, limit: int | None = None,
                 recipient: str | None = None) -> list[QueueRow]:
    """Letters still to go out, sorted in SQL by the mail-by due (the clock engine's member-notice or
    provider-notification due), earliest first, letters without one last."""
    query = (select(Letter.id, Case.tar, Case.member_name, Letter.kind, Letter.recipient, Letter.language,
                    Letter.status, Letter.mail_by_at, Letter.issued_at)
             .join(Case, Case.id == Letter.case_id)
             .where(Letter.status.in_(tuple(statuses)))
             .order_by(Letter.mail_by_at.is_(None), Letter.mail_by_at, Case.tar, Letter.recipient))
    if recipient:
        query = query.where(Letter.recipient == recipient)
    if limit:
        query = query.limit(limit)
    return [QueueRow(*row) for row in session.execute(query)]


def batch_pdf(store, letter_ids: list, progress: Callable[[int, int], None] = lambda d, t: None,
              cancelled: Callable[[], bool] = lambda: False) -> bytes | None:
    """The stored PDFs of the issued letters, in the order given, as one PDF to print; None when cancelled.
    Reads one letter at a time, so memory holds the output and one letter. Run it off the GUI thread."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    total = len(letter_ids)
    progress(0, total)
    for done, letter_id in enumerate(letter_ids, start=1):
        if cancelled():
            return None
        with store.session() as session:
            letter = _letter(session, letter_id)
            if letter.issued_letter_id is None:
                raise ActionRefused(f"Letter {letter_ref(letter)} of TAR {letter.case.tar} is not issued yet; "
                                    "issue it before printing.", kind="state")
            pdf = session.get(IssuedLetter, letter.issued_letter_id).pdf
        writer.append(io.BytesIO(pdf))
        progress(done, total)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
