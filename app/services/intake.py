"""Intake use cases (issue 11): a request becomes a case, whatever its channel (form, fax inbox, CSV batch, FHIR PAS
bundle), and a decided case's answer goes back out as a PAS ClaimResponse.

`save_request` is the one path for a single request (the form, and each request of an import):
1. who: the acting user, and their authority to enter requests (app.domain.intake.authority) -- ActionRefused;
2. the draft's own input (InvalidInput): choices that are not choices, a receipt without a time zone or in the
   future;
3. a submission imported before (same content hash) -- AlreadyImported, nothing written;
4. the member (by Medi-Cal number, then plan member id; made from the request's demographics when new) and the
   providers (by NPI; made when new);
5. the duplicate check: an open case of the member with an overlapping code and date range raises DuplicatesFound
   unless the caller said what to do: "new" (confirm a new case), "link" (a new case linked to the other) or
   "merge" (no new case: the request's lines, notes and documents go onto the other case as an event);
6. `cases.receive_case` (the `received` event: channel and who; the clocks run from `received_at`), the intake
   record, an `intake-assessed` event (missing items, prior-authorization answers, redirections, late flag) and
   the documents moved from the inbox; then, when items are missing, `cases.pend_case(at_intake=True)` pends it
   for them (the requester's notice lists them; the case stays unheld in its team's queue).
Everything happens in the caller's transaction: a refusal or bad input raises before anything is written.

`import_file` reads a whole file (PAS bundle JSON or CSV), refuses it whole when it is unreadable
(UnreadableRequest: every place named), then saves each request in one transaction; a duplicate of an open case
is merged into it (a batch has nobody to ask), an exact re-import is reported and writes nothing.

Sync (issue 9, docs/sync.md "Intake"): `save_request` is the intent `intake`, one change per request (the batch
path writes the same change for each case it makes, app.services.intake_batch). The central store saves the request
again with the same rules on its own data: a submission it imported before makes nothing again (the change is
answered `merged`, naming the central case); a request that duplicates an open central case the laptop did not
know is saved as its own case linked to it (the form and the inbox: `when_duplicate="link"`, for a person to look
at) or added to it (a batch: "merge", as a batch does here). A laptop numbers its requests in a block the central
store gave it at sign-in (`next_tars`), so two laptops' numbers never collide; a number taken centrally anyway is
replaced by a central one (app.server.push).
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from app.domain.intake import codes
from app.domain.intake.assessment import Assessment, assess
from app.domain.intake.authority import may_enter_request
from app.domain.intake.draft import CHANNELS, NETWORK_STATUSES, IntakeDraft
from app.domain.intake.duplicates import Span, overlapping
from app.domain.intake.errors import Problem, UnreadableRequest
from app.domain.plantime import format_instant
from app.domain.vocabulary import LINES_OF_BUSINESS, REVIEW_TIMINGS, SERVICE_CATEGORIES, URGENCIES
from app.domain.intake.draft import DiagnosisPart, LinePart, MemberPart, ProviderPart
from app.services import audit
from app.services.cases import (
    ActionRefused, InvalidInput, NewCase, NewLine, NotFound, iso_utc, pend_case, receive_case, record_event,
    user_by_name,
)
from app.services.intents import Call, always, codec_type, decode, derived_id, encode, intent
from app.store.models import (
    OPEN_CASE_SQL, Case, ClinicalNote, IntakeDocument, IntakeRecord, IntakeSource, Member, Provider, RequestLine,
    Setting, User, utcnow,
)

for _part in (IntakeDraft, MemberPart, ProviderPart, LinePart, DiagnosisPart):  # a draft travels in `intake`
    codec_type(_part)

RESOLUTIONS = {"new": "Confirm a new case", "link": "New case, linked to the other",
               "merge": "Add to the other case (no new case)"}
TAR_PREFIX = "2"  # intake TARs: 2, two digits of this store's device id, an 8-digit sequence (11 digits in all)


class DuplicatesFound(Exception):
    """Open cases of the same member with an overlapping code and date range: the user links, merges or confirms."""

    def __init__(self, candidates: list["DuplicateCandidate"]):
        self.candidates = candidates
        super().__init__("Possible duplicate of " + ", ".join(f"TAR {c.tar}" for c in candidates))


class AlreadyImported(Exception):
    """This very submission (same content) was imported before: nothing is written again."""

    def __init__(self, tar: str, disposition: str):
        self.tar = tar
        self.disposition = disposition
        super().__init__(f"already imported ({disposition} TAR {tar})")


@dataclass(frozen=True)
class DuplicateCandidate:
    tar: str
    member_name: str
    status: str
    service_summary: str
    received_at: datetime
    overlaps: tuple[str, ...]  # 'line 1 97110 overlaps 97110 11/02–11/30'

    def describe(self) -> str:
        from app.domain.case_states import state_label

        return (f"TAR {self.tar} · {state_label(self.status)} · received "
                f"{format_instant(self.received_at, year=True)}\n{self.service_summary}\n"
                + "; ".join(self.overlaps))


@dataclass
class DocumentToFile:
    """A document from the inbox to attach: moved to `processed_dir` (never deleted) when the case is saved.
    `stored_as`: where it went, when that is known already (the central store recording a laptop's document)."""

    path: Path
    received_at: datetime
    media_type: str
    pages: int
    sha256: str
    stored_as: Path | None = None


@dataclass
class Saved:
    tar: str
    created: bool  # False: merged into an existing case
    status: str
    missing: list[str]
    flags: list[str]
    assessment: Assessment
    linked_to: str | None = None
    documents: list[str] = field(default_factory=list)  # where each attached document now is
    note: str | None = None  # what the central store did differently from the laptop (sync), in words

    def to_json(self) -> dict:
        return {"tar": self.tar, "created": self.created, "status": self.status, "missing": self.missing,
                "flags": self.flags, "linked_to": self.linked_to, "documents": self.documents}


# ----- the acting user ---------------------------------------------------------------------------------------
def intake_user(session: Session, username: str, category: str | None = None) -> User:
    actor = user_by_name(session, username)
    if not actor.active:
        raise ActionRefused(f"The account '{username}' is not active; an administrator may reactivate it.",
                            who=("administrator",))
    refusal = may_enter_request(actor.role, category)
    if refusal:
        raise ActionRefused(refusal.reason, who=refusal.who)
    return actor


# ----- input checks --------------------------------------------------------------------------------------------
def check_draft(draft: IntakeDraft, now: datetime | None = None) -> None:
    """The draft's choices are choices and its receipt is a real instant (InvalidInput otherwise)."""
    for value, allowed, what in ((draft.line_of_business, LINES_OF_BUSINESS, "line of business"),
                                 (draft.service_category, SERVICE_CATEGORIES, "service category"),
                                 (draft.review_timing, REVIEW_TIMINGS, "review timing"),
                                 (draft.urgency, URGENCIES, "urgency"),
                                 (draft.network_status, NETWORK_STATUSES, "network status"),
                                 (draft.channel, CHANNELS, "channel")):
        if value not in allowed:
            raise InvalidInput(f"{what} '{value}' is not one of: {', '.join(allowed)}")
    received = draft.received_at
    if received.tzinfo is None or received.utcoffset() is None:
        raise InvalidInput("the received date-time has no time zone")
    if received.astimezone(timezone.utc) > (now or utcnow()):
        raise InvalidInput(f"the received date-time {format_instant(received, year=True)} is in the future")
    if not draft.member.identified and not draft.member.last_name.strip():
        raise InvalidInput("name the member: a Medi-Cal number (CIN) or plan member id, or at least a last name")
    if not (draft.requesting.npi.strip() or draft.requesting.name.strip()):
        raise InvalidInput("name the requesting provider: an NPI or a name")


# ----- member and providers --------------------------------------------------------------------------------------
def find_member(session: Session, cin: str, plan_member_id: str) -> Member | None:
    if cin.strip():
        member = session.scalar(select(Member).where(Member.cin == cin.strip().upper()))
        if member is not None:
            return member
    if plan_member_id.strip():
        return session.scalar(select(Member).where(Member.plan_member_id == plan_member_id.strip()))
    return None


def search_members(session: Session, text: str, limit: int = 20) -> list[Member]:
    """Members whose CIN, plan member id or name contains every word of `text` (the intake form's search)."""
    words = [w for w in text.replace(",", " ").split() if w]
    if not words:
        return []
    query = select(Member)
    for word in words:
        pattern = f"%{word.lower()}%"
        query = query.where(func.lower(Member.cin).like(pattern) | func.lower(Member.plan_member_id).like(pattern)
                            | func.lower(Member.last_name).like(pattern) | func.lower(Member.first_name).like(pattern))
    return list(session.scalars(query.order_by(Member.last_name, Member.first_name).limit(limit)))


def _member(session: Session, draft: IntakeDraft) -> Member:
    part = draft.member
    member = find_member(session, part.cin, part.plan_member_id)
    if member is not None:
        if part.plan_member_id.strip() and not member.plan_member_id and not _plan_id_taken(session, part):
            member.plan_member_id = part.plan_member_id.strip()
        return member
    member = Member(**member_values(part))
    session.add(member)
    return member


def member_values(part) -> dict:
    """A new member's row from the request's demographics."""
    return {"id": derived_id("member"), "cin": part.cin.strip().upper() or None,
            "plan_member_id": part.plan_member_id.strip() or None, "first_name": part.first_name.strip()[:80],
            "last_name": part.last_name.strip()[:80] or "(not given)", "birth_date": part.birth_date,
            "sex": part.sex if part.sex in ("F", "M", "X", "U") else "U", "language": "en"}


def _plan_id_taken(session: Session, part) -> bool:
    return session.scalar(select(Member.id).where(Member.plan_member_id == part.plan_member_id.strip())) is not None


def find_provider(session: Session, npi: str) -> Provider | None:
    text = npi.strip()
    return session.scalar(select(Provider).where(Provider.npi == text)) if text else None


def _storable_npi(npi: str) -> str | None:
    """An NPI as received when it is up to 10 digits (a failing check digit is kept: the case is pended for it)."""
    text = npi.strip()
    return text if text.isdigit() and len(text) <= 10 else None


def _provider(session: Session, npi: str, name: str) -> Provider:
    stored = _storable_npi(npi)
    provider = find_provider(session, stored) if stored else None
    if provider is None and not stored and name.strip():
        provider = session.scalar(select(Provider).where(Provider.npi.is_(None), Provider.name == name.strip()[:120]))
    if provider is None:
        provider = Provider(id=derived_id("provider"), npi=stored, name=name.strip()[:120] or f"NPI {npi.strip()}")
        session.add(provider)
    return provider


# ----- duplicates ------------------------------------------------------------------------------------------------
def _spans(draft: IntakeDraft) -> list[Span]:
    return [Span.of(line.code, line.from_date, line.to_date) for line in draft.lines if line.code.strip()]


def duplicate_candidates(session: Session, member_id: uuid.UUID | None, draft: IntakeDraft,
                         exclude: Iterable[uuid.UUID] = ()) -> list[DuplicateCandidate]:
    """Open cases of the member with a line overlapping one of the draft's (same code, overlapping dates)."""
    if member_id is None:
        return []
    new = _spans(draft)
    if not new:
        return []
    rows = session.execute(
        select(Case.id, Case.tar, Case.member_name, Case.status, Case.service_summary, Case.received_at,
               RequestLine.code, RequestLine.from_date, RequestLine.to_date)
        .join(RequestLine, RequestLine.case_id == Case.id)
        .where(Case.member_id == member_id, literal_column(OPEN_CASE_SQL),
               RequestLine.code.in_({span.code for span in new}))
        .order_by(Case.received_at)
    ).all()
    skip = set(exclude)
    found: dict[str, DuplicateCandidate] = {}
    for case_id, tar, name, status, summary, received, code, start, end in rows:
        if case_id in skip:
            continue
        pairs = overlapping(new, [Span.of(code, start, end)])
        if not pairs:
            continue
        words = tuple(f"{a.code} overlaps its line {b.code}" + (f" {_range(b)}" if b.start else "")
                      for a, b in pairs)
        previous = found.get(tar)
        found[tar] = DuplicateCandidate(tar, name, status, summary, received,
                                        (previous.overlaps if previous else ()) + words)
    return list(found.values())


def _range(span: Span) -> str:
    if span.start is None:
        return ""
    return f"{span.start:%m/%d/%Y}" + (f"–{span.end:%m/%d/%Y}" if span.end and span.end != span.start else "")


# ----- TAR numbers -------------------------------------------------------------------------------------------------
TAR_BLOCK_KEY = "sync.tar_block"  # the block the central store gave this laptop at sign-in (app.sync.client)


def _tar_prefix(session: Session) -> str:
    """'2' + the laptop's block in four digits (given by the central store at sign-in, unique: laptops never
    collide), or on the central store block 0; a store that never signed in to one: two digits of its device id."""
    block = session.get(Setting, TAR_BLOCK_KEY)
    if block is not None:
        return f"{TAR_PREFIX}{int(block.value):04d}"
    if session.get_bind().dialect.name != "sqlite":
        return f"{TAR_PREFIX}0000"
    return f"{TAR_PREFIX}{audit.device_id(session).int % 100:02d}"


def next_tars(session: Session, count: int = 1) -> list[str]:
    """`count` unused TAR numbers of this store, 11 digits: the prefix (`_tar_prefix`) and a sequence. The
    sequence is kept in the store's settings as well, so a number whose case has left the laptop (synced, then out
    of its queues) is never given again."""
    prefix = _tar_prefix(session)
    digits = 11 - len(prefix)
    key = f"intake.tar_seq.{prefix}"
    highest = session.scalar(select(func.max(Case.tar)).where(Case.tar.like(f"{prefix}%"),
                                                              func.length(Case.tar) == 11))
    kept = session.get(Setting, key)
    start = max(int(highest[len(prefix):]) if highest else 0, int(kept.value) if kept else 0) + 1
    if start + count - 1 >= 10 ** digits:
        raise ActionRefused(f"This store has used every intake number of its block ({prefix}…); ask the "
                            "administrator for a new block (sign in to the sync server again).", kind="state")
    if kept is None:
        session.add(Setting(key=key, value=str(start + count - 1)))
    else:
        kept.value = str(start + count - 1)
    return [f"{prefix}{number:0{digits}d}" for number in range(start, start + count)]


# ----- saving -----------------------------------------------------------------------------------------------------
def already_imported(session: Session, key: str) -> AlreadyImported | None:
    if not key:
        return None
    row = session.execute(select(Case.tar, IntakeSource.disposition).join(Case, Case.id == IntakeSource.case_id)
                          .where(IntakeSource.source_key == key)).first()
    return AlreadyImported(row[0], row[1]) if row else None


# ----- the `intake` intent (issue 9): one change per request, done again by the central store ---------------
def _intake_to_call(bound) -> Call:
    arguments = bound.arguments
    session, draft, resolution = arguments["session"], arguments["draft"], arguments.get("resolution")
    target = arguments.get("target")
    target_id = session.scalar(select(Case.id).where(Case.tar == target)) if target else None
    documents = [{"file": document.path.name, "received_at": encode(document.received_at),
                  "media_type": document.media_type, "pages": document.pages, "sha256": document.sha256}
                 for document in arguments.get("documents") or ()]
    payload = {"draft": encode(draft), "resolution": resolution, "target": target,
               "target_case_id": str(target_id) if target_id else None, "documents": documents,
               # a duplicate the laptop did not know of: the form and the inbox link, a batch merges (as here)
               "when_duplicate": arguments.get("when_duplicate") or "link", "tar": arguments.get("tar")}
    return Call(target if resolution == "merge" else None, arguments["username"], payload, arguments.get("at"))


def _intake_complete(call: Call, saved: Saved) -> Call:
    documents = [{**document, "stored_as": stored} for document, stored in zip(call.payload["documents"],
                                                                               saved.documents)]
    payload = {**call.payload, "tar": saved.tar if saved.created else None, "documents": documents}
    return Call(saved.tar, call.actor, payload, call.at)


def _intake_from_call(session: Session, call: Call) -> tuple[tuple, dict]:
    payload = call.payload
    documents = [DocumentToFile(Path(d["file"]), decode(d["received_at"]), d["media_type"], d["pages"], d["sha256"],
                                stored_as=Path(d["stored_as"])) for d in payload.get("documents") or ()]
    target = payload.get("target")
    if payload.get("target_case_id"):  # the other case by its id: its central number may differ
        target = session.scalar(select(Case.tar).where(Case.id == uuid.UUID(payload["target_case_id"]))) or target
    return (decode(payload["draft"]), call.actor), {
        "resolution": payload.get("resolution"), "target": target, "documents": documents,
        "processed_dir": documents[0].stored_as.parent if documents else None, "tar": payload.get("tar"),
        "when_duplicate": payload.get("when_duplicate") or "link"}


def _intake_answer(payload: dict, saved: Saved) -> dict | None:
    """What the central store did differently: the request is (in) another case, or linked to one."""
    if payload.get("resolution") == "merge" or not saved.note:
        return None
    if not saved.created:
        return {"outcome": "merged", "central_tar": saved.tar, "message": saved.note}
    return {"message": saved.note}


@intent("intake", commutes=always, to_call=_intake_to_call, from_call=_intake_from_call, complete=_intake_complete,
        answer=_intake_answer, makes_case=True)
def save_request(session: Session, draft: IntakeDraft, username: str, *, resolution: str | None = None,
                 target: str | None = None, documents: Sequence[DocumentToFile] = (),
                 processed_dir: Path | None = None, at: datetime | None = None, tar: str | None = None,
                 actor: User | None = None, when_duplicate: str | None = None) -> Saved:
    """Save one request (see the module docstring). `resolution` answers a DuplicatesFound: 'new', 'link' or
    'merge', with `target` the TAR of the other case for link and merge.

    `when_duplicate` ('link' or 'merge': the central store saving a laptop's request, app.server.push) answers
    the duplicates no one was asked about, and a submission imported before is reported in the answer (`note`)
    instead of raised."""
    at = at or utcnow()
    actor = actor or intake_user(session, username, draft.service_category)
    if actor.username != username:
        raise InvalidInput("the acting user does not match")
    refusal = may_enter_request(actor.role, draft.service_category)
    if refusal:
        raise ActionRefused(refusal.reason, who=refusal.who)
    check_draft(draft, at)
    if resolution is not None and resolution not in RESOLUTIONS:
        raise InvalidInput(f"resolution '{resolution}' is not one of: {', '.join(RESOLUTIONS)}")
    if documents and processed_dir is None:
        raise InvalidInput("documents are attached from the inbox: give the processed folder")
    if when_duplicate not in (None, "link", "merge"):
        raise InvalidInput(f"when_duplicate is 'link' or 'merge' (not '{when_duplicate}')")
    previous = already_imported(session, draft.source_key)
    if previous is not None:
        if when_duplicate is None:
            raise previous
        held = session.scalar(select(Case).where(Case.tar == previous.tar))
        return Saved(previous.tar, False, held.status, [], [], assess(draft),
                     note=f"This very submission was imported on the central store before ({previous.disposition} "
                          f"TAR {previous.tar}): nothing was made again.")
    existing = find_member(session, draft.member.cin, draft.member.plan_member_id)
    candidates = duplicate_candidates(session, existing.id if existing else None, draft)
    target_case = None
    note = None
    if candidates and resolution is None and when_duplicate is not None:
        resolution, target = when_duplicate, candidates[0].tar
        words = ", ".join(f"TAR {c.tar}" for c in candidates)
        note = (f"The central store holds an open case of the same member for an overlapping service ({words}): "
                + ("the request was added to it." if resolution == "merge" else
                   f"the request was saved as its own case, linked to TAR {target}; close one of them if they are "
                   "the same request."))
    if resolution in ("link", "merge"):
        target_case = session.scalar(select(Case).where(Case.tar == (target or "")))
        if target_case is None:
            raise NotFound(f"No case with TAR number {target} in this store to {resolution} with.")
        if existing is None or target_case.member_id != existing.id:
            raise InvalidInput(f"TAR {target} is another member's case; link or merge only the same member's")
    elif candidates and resolution is None:
        raise DuplicatesFound(candidates)
    assessment = assess(draft)
    if resolution == "merge":
        merged = _merge(session, draft, actor, target_case, assessment, documents, processed_dir, at)
        merged.note = note
        return merged
    member = _member(session, draft)
    requesting = _provider(session, draft.requesting.npi, draft.requesting.name)
    servicing = None
    if draft.servicing is not None and (draft.servicing.npi.strip() or draft.servicing.name.strip()):
        servicing = _provider(session, draft.servicing.npi, draft.servicing.name)
    tar = tar or next_tars(session)[0]
    session.flush()
    case = receive_case(session, NewCase(
        tar=tar, line_of_business=draft.line_of_business, service_category=draft.service_category,
        review_timing=draft.review_timing, urgency=draft.urgency, received_at=draft.received_at.astimezone(timezone.utc),
        member=member, requesting_provider_id=requesting.id, servicing_provider_id=servicing.id if servicing else None,
        place_of_service=draft.place_of_service.strip() or None, requested_los_days=draft.requested_los_days,
        proposed_date=draft.proposed_date,
        lines=[NewLine(line.code.strip().upper(), (line.description or _describe(line.code)).strip()[:200],
                       line.units, line.from_date, line.to_date) for line in draft.lines],
        diagnoses=[(codes.normalize_icd10cm(d.code)[:8], d.description.strip()[:200]) for d in draft.diagnoses],
        clinical_note=draft.clinical_note.strip() or None, channel=draft.channel), actor)
    flags = assessment.flags
    session.add(IntakeRecord(case_id=case.id, channel=draft.channel, received_by=actor.username,
                             network_status=draft.network_status, external_id=draft.external_id[:80] or None,
                             source=draft.source[:300] or None, primary_denial_date=draft.primary_denial_date,
                             retro_eligibility_date=draft.retro_eligibility_date, assessment=assessment.to_json(),
                             flags=" ".join(flags)[:200], recorded_at=at))
    if draft.source_key:
        session.add(IntakeSource(source_key=draft.source_key, case_id=case.id, channel=draft.channel,
                                 disposition="created", recorded_at=at))
    relation = {}
    if candidates:
        relation["possible_duplicates"] = [c.tar for c in candidates]
        relation["resolution"] = resolution
    if resolution == "link":
        relation["linked_to"] = target_case.tar
    record_event(session, case, actor, "intake-assessed", {
        "channel": draft.channel, "by": actor.username, "source": draft.source or None,
        "external_id": draft.external_id or None, "network_status": draft.network_status,
        "attachments": list(draft.attachments), **assessment.to_json(), **relation}, at=max(at, case.received_at))
    if resolution == "link":
        record_event(session, target_case, actor, "intake-linked",
                     {"tar": case.tar, "channel": draft.channel, "note": "a new request for an overlapping service "
                                                                         "was saved as its own case"}, at=at)
    stored = _attach(session, case, actor, documents, processed_dir, at)
    if assessment.missing:
        pend_case(session, case.tar, actor.username, missing=assessment.missing,
                  note="Pended at intake: the request lacks the items listed.", at=max(at, case.received_at),
                  at_intake=True)
    return Saved(case.tar, True, case.status, assessment.missing, flags, assessment,
                 linked_to=target_case.tar if resolution == "link" else None, documents=stored, note=note)


def _describe(code: str) -> str:
    if codes.is_service_type(code):
        return codes.SERVICE_TYPES[code[len(codes.SERVICE_TYPE_PREFIX):]]
    return ""


def _merge(session: Session, draft: IntakeDraft, actor: User, case: Case, assessment: Assessment,
           documents: Sequence[DocumentToFile], processed_dir: Path | None, at: datetime) -> Saved:
    """The request is the same as `case`'s: its lines, note and documents are recorded on that case."""
    if case.status == "closed":
        raise ActionRefused(f"TAR {case.tar} is closed; save the request as a new case instead.", kind="state")
    if draft.clinical_note.strip():
        session.add(ClinicalNote(case_id=case.id, written_at=draft.received_at.astimezone(timezone.utc),
                                 author=f"requesting provider ({CHANNELS[draft.channel].lower()})",
                                 text=draft.clinical_note.strip()))
    if draft.source_key:
        session.add(IntakeSource(source_key=draft.source_key, case_id=case.id, channel=draft.channel,
                                 disposition="merged", recorded_at=at))
    record_event(session, case, actor, "intake-merged", {
        "channel": draft.channel, "by": actor.username, "received_at": iso_utc(draft.received_at),
        "source": draft.source or None, "external_id": draft.external_id or None,
        "lines": [{"code": l.code, "units": l.units, "from": l.from_date.isoformat() if l.from_date else None,
                   "to": l.to_date.isoformat() if l.to_date else None} for l in draft.lines],
        "diagnoses": [d.code for d in draft.diagnoses], "attachments": list(draft.attachments),
        "missing": assessment.missing}, at=at)
    stored = _attach(session, case, actor, documents, processed_dir, at)
    return Saved(case.tar, False, case.status, [], assessment.flags, assessment, documents=stored)


# ----- documents ---------------------------------------------------------------------------------------------------
def _keep_centrally(session: Session, document: DocumentToFile, at: datetime) -> bool:
    """A document attached on the central store itself (a coordinator working there): its file goes into
    `document_files` in the same transaction, as a laptop's upload would (issue 9), so every laptop can open it.
    Not for a laptop's document replayed by the push (`stored_as`: the file is on the laptop, which uploads it)."""
    from app.store.models import DocumentFile

    if session.get_bind().dialect.name != "postgresql" or document.stored_as is not None:
        return False
    if session.get(DocumentFile, document.sha256) is not None:
        return True
    content = document.path.read_bytes()
    if hashlib.sha256(content).hexdigest() != document.sha256:
        return False  # changed since it was read: the central copy waits (never a file that is not the one seen)
    session.add(DocumentFile(sha256=document.sha256, media_type=document.media_type, size_bytes=len(content),
                             content=content, stored_at=at, from_device=None))
    return True


def _attach(session: Session, case: Case, actor: User, documents: Sequence[DocumentToFile],
            processed_dir: Path | None, at: datetime) -> list[str]:
    """Record each document on the case; the files are moved by `move_documents` once this commits."""
    stored = []
    for document in documents:
        destination = document.stored_as or processed_destination(processed_dir, case.tar, document.path.name)
        kept = _keep_centrally(session, document, at)
        session.add(IntakeDocument(id=derived_id("document"), case_id=case.id, file_name=document.path.name,
                                   stored_path=str(destination), sha256=document.sha256,
                                   media_type=document.media_type, pages=document.pages,
                                   received_at=document.received_at.astimezone(timezone.utc), attached_at=at,
                                   attached_by=actor.username, stored_centrally_at=at if kept else None))
        record_event(session, case, actor, "document-attached", {
            "file": document.path.name, "pages": document.pages, "media_type": document.media_type,
            "sha256": document.sha256, "received_at": iso_utc(document.received_at), "stored_as": destination.name,
        }, at=at)
        stored.append(str(destination))
    return stored


def processed_destination(processed_dir: Path, tar: str, name: str) -> Path:
    """Where a processed document goes: the processed folder, named after its case (never over another file)."""
    base = processed_dir / f"{tar}_{name}"
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.stem}_{number}{base.suffix}")
    return candidate


# ----- importing files ------------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    file: str
    created: list[str] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"file": self.file, "created": self.created, "duplicates": self.duplicates,
                "problems": self.problems, "flags": self.flags}


def read_requests(path: Path, received_at: datetime | None = None) -> list[IntakeDraft]:
    """The requests in a file: a PAS bundle (.json) or a CSV batch (.csv); UnreadableRequest when it cannot be read
    as requests. A bundle's receipt is `received_at` (default: now)."""
    from app.domain.intake.csvfile import read_csv
    from app.domain.intake.pas import read_bundle

    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UnreadableRequest(name, [Problem("the file", f"cannot be read ({error.strerror or error})")]) from error
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(raw, name)
    if suffix == ".json" or raw.lstrip()[:1] == b"{":
        return [read_bundle(raw, name, received_at or utcnow())]
    raise UnreadableRequest(name, [Problem("the file", "is neither a FHIR PAS bundle (.json) nor a CSV batch "
                                                       "(.csv)")])


def import_requests(session: Session, drafts: Sequence[IntakeDraft], username: str, *, file: str,
                    at: datetime | None = None,
                    progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Save every request of a file in the caller's one transaction (see the module docstring)."""
    at = at or utcnow()
    report = ImportReport(file)
    categories = {d.service_category for d in drafts}
    actor = intake_user(session, username, categories.pop() if len(categories) == 1 else None)
    problems: list[Problem] = []
    for draft in drafts:  # every request's own input first: nothing is written if one is refused
        try:
            check_draft(draft, at)
        except InvalidInput as error:
            problems.append(Problem(draft.source or file, str(error)))
        refusal = may_enter_request(actor.role, draft.service_category)
        if refusal:
            raise ActionRefused(refusal.reason, who=refusal.who)
    if problems:
        raise UnreadableRequest(file, problems)
    seen: set[str] = set()
    fresh = []
    imported = _imported_keys(session, [d.source_key for d in drafts if d.source_key])
    for draft in drafts:
        if draft.source_key in seen:
            report.duplicates.append({"tar": None, "source": draft.source, "request_id": draft.external_id or None,
                                      "why": "the same request appears earlier in the file"})
        elif draft.source_key in imported:
            tar, disposition = imported[draft.source_key]
            report.duplicates.append({"tar": tar, "source": draft.source, "request_id": draft.external_id or None,
                                      "why": f"imported before ({disposition} TAR {tar})"})
        else:
            fresh.append(draft)
        seen.add(draft.source_key)
    _create_or_merge(session, fresh, actor, report, at, progress)
    return report


def _chunks(values: list, size: int = 400):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _imported_keys(session: Session, keys: list[str]) -> dict[str, tuple[str, str]]:
    found = {}
    for chunk in _chunks(sorted(set(keys))):
        for key, tar, disposition in session.execute(
                select(IntakeSource.source_key, Case.tar, IntakeSource.disposition)
                .join(Case, Case.id == IntakeSource.case_id).where(IntakeSource.source_key.in_(chunk))):
            found[key] = (tar, disposition)
    return found


def _identity(part) -> str:
    return f"cin:{part.cin.strip().upper()}" if part.cin.strip() else f"pid:{part.plan_member_id.strip()}"


def _create_or_merge(session: Session, drafts: Sequence[IntakeDraft], actor: User, report: ImportReport,
                     at: datetime, progress: Callable[[int, int], None] | None) -> None:
    """The batch path: members, providers and open cases read once for the whole file; new cases written by
    app.services.intake_batch in multi-row inserts; a request overlapping an open case of its member (in the store
    or earlier in the file) is merged into it through `save_request`."""
    from app.services.intake_batch import Prepared, create_cases
    from app.services.intents import new_mutation_id, seeded

    if not drafts:
        return
    with session.no_autoflush:
        cins = sorted({d.member.cin.strip().upper() for d in drafts if d.member.cin.strip()})
        plan_ids = sorted({d.member.plan_member_id.strip() for d in drafts if d.member.plan_member_id.strip()})
        members: dict[str, Member] = {}
        for chunk in _chunks(cins):
            members.update((f"cin:{m.cin}", m) for m in session.scalars(select(Member).where(Member.cin.in_(chunk))))
        for chunk in _chunks(plan_ids):
            members.update((f"pid:{m.plan_member_id}", m)
                           for m in session.scalars(select(Member).where(Member.plan_member_id.in_(chunk))))
        npis = sorted({n for d in drafts for n in (_storable_npi(d.requesting.npi),
                                                   _storable_npi(d.servicing.npi) if d.servicing else None) if n})
        providers: dict[str, Provider] = {}
        for chunk in _chunks(npis):
            providers.update((p.npi, p) for p in session.scalars(select(Provider).where(Provider.npi.in_(chunk))))
        spans: dict[uuid.UUID, list[tuple[str, Span]]] = {}
        member_ids = sorted({m.id for m in members.values()}, key=str)
        for chunk in _chunks(member_ids):
            for member_id, tar, code, start, end in session.execute(
                    select(Case.member_id, Case.tar, RequestLine.code, RequestLine.from_date, RequestLine.to_date)
                    .join(RequestLine, RequestLine.case_id == Case.id)
                    .where(Case.member_id.in_(chunk), literal_column(OPEN_CASE_SQL))):
                spans.setdefault(member_id, []).append((tar, Span.of(code, start, end)))
    tars = iter(next_tars(session, len(drafts)))
    pending: list[Prepared] = []
    pending_tars: set[str] = set()
    new_members: list[dict] = []
    new_providers: list[dict] = []

    def provider_for(npi: str, name: str):
        stored = _storable_npi(npi)
        key = stored or f"name:{name.strip()[:120]}"
        if key not in providers:
            if stored:  # not in the store (all NPIs of the file were looked up at once): a new one
                row = {"id": derived_id("provider"), "npi": stored, "name": name.strip()[:120] or f"NPI {stored}"}
                new_providers.append(row)
                providers[key] = _Ref(row["id"], row["name"])
            else:
                providers[key] = _provider(session, npi, name)
        return providers[key]

    def write_pending() -> None:
        """New members and providers first, then the cases that refer to them."""
        from app.services.intake_batch import _insert

        _insert(session, Member, new_members)
        _insert(session, Provider, new_providers)
        create_cases(session, actor, pending, at=at)
        new_members.clear()
        new_providers.clear()
        pending.clear()
        pending_tars.clear()

    for number, draft in enumerate(drafts, start=1):
        identity = _identity(draft.member)
        member = members.get(identity)
        overlap = None
        if member is not None:
            new = _spans(draft)
            overlap = next((tar for tar, span in spans.get(member.id, []) if any(a.overlaps(span) for a in new)),
                           None)
        if overlap is not None:
            if overlap in pending_tars:  # a case made earlier in this file: write the batch so far first
                write_pending()
            save_request(session, draft, actor.username, resolution="merge", target=overlap, at=at, actor=actor)
            report.duplicates.append({"tar": overlap, "source": draft.source, "request_id": draft.external_id or None,
                                      "why": "an open case of the same member for an overlapping service: the "
                                             "request was added to it"})
        else:
            # Each new case is its own change (the `intake` intent): the rows made for it take the ids the central
            # store gives them when it saves the request again (app.services.intents.derived_id).
            change = new_mutation_id()
            with seeded(change):
                if member is None:  # not in the store (every member of the file was looked up at once)
                    row = member_values(draft.member)
                    new_members.append(row)
                    member = _Ref(row["id"], f"{row['last_name']}, {row['first_name']}", row["plan_member_id"])
                    members[identity] = member
                elif draft.member.plan_member_id.strip() and not member.plan_member_id \
                        and not _plan_id_taken(session, draft.member):
                    member.plan_member_id = draft.member.plan_member_id.strip()
                requesting = provider_for(draft.requesting.npi, draft.requesting.name)
                servicing = None
                if draft.servicing is not None and (draft.servicing.npi.strip() or draft.servicing.name.strip()):
                    servicing = provider_for(draft.servicing.npi, draft.servicing.name)
            assessment = assess(draft)
            tar = next(tars)
            pending.append(Prepared(draft, assessment, tar, member.id, member.display_name, requesting.id,
                                    servicing.id if servicing else None, change))
            pending_tars.add(tar)
            spans.setdefault(member.id, []).extend((tar, span) for span in _spans(draft))
            report.created.append(tar)
            if assessment.missing:
                report.problems.append({"tar": tar, "source": draft.source, "request_id": draft.external_id or None,
                                        "missing": assessment.missing})
            if assessment.flags:
                report.flags.append({"tar": tar, "flags": assessment.flags})
        if progress:
            progress(number, len(drafts))
    write_pending()


@dataclass
class _Ref:
    """A member or provider made in this batch, before its row is written."""

    id: uuid.UUID
    display_name: str
    plan_member_id: str | None = None


def import_file(store, path: Path, username: str, *, received_at: datetime | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Read `path` whole, then import it in one transaction (nothing is written when anything is refused)."""
    drafts = read_requests(path, received_at)
    with store.session() as session, session.begin():
        return import_requests(session, drafts, username, file=path.name, progress=progress)


# ----- answers out ------------------------------------------------------------------------------------------------
def plan_identity() -> dict:
    from app.domain.intake.authlist import RESOURCES

    return json.loads((RESOURCES / "plan.json").read_text("utf-8"))


def export_claim_response(session: Session, tar: str, *, now: datetime | None = None) -> dict:
    """The PAS response bundle (ClaimResponse first) for TAR `tar`, from its determination events."""
    from app.domain.intake.claimresponse import claim_response_bundle
    from app.store.case_queries import case_json, current_determination
    from app.store.models import CaseEvent, CaseWorkflow

    case = session.scalar(select(Case).where(Case.tar == tar))
    if case is None:
        raise NotFound(f"No case with TAR number {tar} in this store.")
    data = case_json(session, case)
    data["member"]["plan_member_id"] = case.member.plan_member_id
    workflow = session.get(CaseWorkflow, case.id)
    determination = current_determination(session, case, workflow)
    pended_for = None
    if determination is None:
        payload = session.scalar(select(CaseEvent.payload).where(CaseEvent.case_id == case.id,
                                                                 CaseEvent.kind == "pended")
                                 .order_by(CaseEvent.occurred_at.desc()).limit(1))
        if payload and case.status == "pended":
            pended_for = list(payload.get("missing", []))
    record = session.get(IntakeRecord, case.id)
    return claim_response_bundle(data, determination, pended_for=pended_for,
                                 request_id=record.external_id if record else None, plan=plan_identity(),
                                 created=(case.decided_at or now or utcnow()))


def document_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()



# ----- a request that needs no authorization ------------------------------------------------------------------
@intent("close-no-auth")
def close_no_auth_required(session: Session, tar: str, username: str, *, method: str = "fax",
                           at: datetime | None = None) -> Case:
    """Close a request flagged at intake as needing no prior authorization: administratively, with the list's
    answer as the reason, and the notice to the provider recorded (`cases.close_administratively` and
    `cases.record_notification`, with their authority: a nurse, pharmacist or physician closes)."""
    from app.services.cases import case_by_tar, close_administratively, record_notification

    case = case_by_tar(session, tar)
    record = session.get(IntakeRecord, case.id)
    if record is None or "no-auth-required" not in (record.flags or "").split():
        raise ActionRefused(f"TAR {tar} was not flagged at intake as needing no prior authorization; decide it "
                            "or close it with 'umws case close-admin' and a reason.", kind="state")
    answers = "; ".join(f"line {a['line_number']} {a['code']}: {a['reason']}"
                        for a in record.assessment.get("authorization", []))
    close_administratively(session, tar, username, reason=f"No prior authorization required ({answers})", at=at)
    return record_notification(session, tar, username, recipient="provider", method=method, at=at)
