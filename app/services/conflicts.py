"""Resolving a sync conflict (issue 9): a person decides, and the decision is an event on the case.

A conflict (sync_conflicts, made by the server when a laptop's change could not stand: app.server.push) keeps
both versions. The resolutions:

* keep-theirs: the central store's version stands; the laptop's change is set aside (it stays in the conflict
  record and in the laptop's audit chain).
* keep-mine: the laptop's change is done now, on the case as it is (the same service function, so the same rules);
  for a determination it supersedes the other one.
* keep-both: for determinations: both stand as successive determinations, the laptop's one now the current one
  (the earlier stays in the history, superseded); for other changes the same as keep-mine.
* reassign: a supervisor gives the case to someone (app.services.cases.assign_case) and sets the change aside.

A change that makes a case (a request received or entered offline) is kept only when the central store never made
it (`request_not_made`, below); when the request is already there, keep-mine and keep-both are refused (they would
make it twice) and keep-theirs closes the conflict.

Who may: the user whose change it was (keep-theirs; keep-mine/keep-both when the rules let them do it now), or a
nurse supervisor / administrator (any; when the case is held by someone else, keeping the laptop's change first
gives the case back to that change's author). Each resolution is a `conflict-resolved` event on the case, and is
itself an intent: resolved on a laptop, it goes up like any change.

A request the central store never made (its `intake` or `receive` was refused there: `request_not_made`) has no
case to hold the event: keep-theirs leaves it unmade (the request stays in the conflict record) and says so in an
audit record; keep-mine makes it now, with the ids the laptop gave it (so the laptop's copy and the central case are
one), under a new number if another request took its TAR meanwhile; reassign needs a case, so it is refused.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.roles import SUPERVISOR_ROLES, role_label
from app.services import audit
from app.services.cases import ActionRefused, InvalidInput, NotFound, assign_case, case_by_tar, record_event, \
    user_by_name
from app.services.intake import AlreadyImported, DuplicatesFound
from app.services.intents import INTENTS, Call, always, intent, load_all
from app.store.models import Case, SyncConflict, utcnow

RESOLUTIONS = {
    "keep-theirs": "Keep the central store's version (set this change aside)",
    "keep-mine": "Keep this change (done now, on the case as it is)",
    "keep-both": "Keep both (successive determinations: this one becomes the current one)",
    "reassign": "Reassign the case (a supervisor) and set this change aside",
}


def conflict_by_id(session: Session, conflict_id: str | uuid.UUID) -> SyncConflict:
    try:
        key = conflict_id if isinstance(conflict_id, uuid.UUID) else uuid.UUID(str(conflict_id))
    except ValueError as error:
        raise InvalidInput(f"'{conflict_id}' is not a conflict id; 'umws conflicts list' shows them") from error
    conflict = session.get(SyncConflict, key)
    if conflict is None:
        raise NotFound(f"No conflict {conflict_id} in this store; 'umws conflicts list' shows them.")
    return conflict


@intent("resolve-conflict", commutes=always)
def resolve_conflict(session: Session, tar: str, username: str, *, conflict_id: str, resolution: str,
                     note: str = "", reassign_to: str | None = None, at: datetime | None = None):
    """Resolve the conflict `conflict_id` on TAR `tar` (see the module docstring)."""
    actor = user_by_name(session, username)
    conflict = conflict_by_id(session, conflict_id)
    supervisor = actor.role in SUPERVISOR_ROLES
    if not supervisor and actor.username != conflict.actor:
        raise ActionRefused(f"This conflict is {conflict.actor}'s change: they, a Nurse lead / supervisor or an "
                            f"Administrator may resolve it, not {_a(role_label(actor.role))}.",
                            who=("nurse-supervisor", "administrator"))
    if resolution not in RESOLUTIONS:
        raise InvalidInput(f"resolution is one of: {', '.join(RESOLUTIONS)} (not '{resolution}')")
    if resolution == "reassign" and not supervisor:
        raise ActionRefused("Reassigning a case is a Nurse lead / supervisor's or an Administrator's act.",
                            who=("nurse-supervisor", "administrator"))
    if conflict.resolved_at is not None:
        raise ActionRefused(f"This conflict was resolved by {conflict.resolved_by} ({conflict.resolution}).",
                            kind="state")
    if conflict.tar != tar:
        raise InvalidInput(f"conflict {conflict_id} is about TAR {conflict.tar}, not {tar}")
    if request_not_made(session, conflict):
        return _resolve_unmade(session, conflict, actor, resolution, note, at)
    if resolution in ("keep-mine", "keep-both") and _makes_case(conflict.intent):
        made = session.get(Case, conflict.case_id)
        raise ActionRefused(f"This request is already on the central store as TAR {made.tar}: keeping the laptop's "
                            "would make it twice. Keep theirs to close the conflict.", kind="state")
    case = case_by_tar(session, tar)
    applied = False
    if resolution == "reassign":
        if not reassign_to:
            raise InvalidInput("name the user the case goes to (--reassign-to)")
        assign_case(session, tar, username, reassign_to, note or "conflict resolved by reassignment", at=at)
    elif resolution in ("keep-mine", "keep-both"):
        load_all()
        spec = INTENTS.get(conflict.intent)
        if spec is None:
            raise ActionRefused(f"This workstation does not know the change '{conflict.intent}'; update it.")
        holder = case.assignee.username if case.assignee else None
        if supervisor and holder not in (None, conflict.actor) and conflict.intent != "assign":
            assign_case(session, tar, username, conflict.actor, "to keep their change (sync conflict)", at=at)
        try:
            spec.replay(session, Call(tar, conflict.actor, conflict.payload), at=at or utcnow())
        except ActionRefused as refused:
            raise ActionRefused(f"The change cannot be done now: {refused}", who=refused.who,
                                kind=refused.kind) from refused
        applied = True
    case = case_by_tar(session, tar)
    conflict.resolved_at = at or utcnow()
    conflict.resolved_by = actor.username
    conflict.resolution = resolution
    conflict.resolution_note = (note or "").strip() or None
    record_event(session, case, actor, "conflict-resolved", {
        "conflict_id": str(conflict.id), "resolution": resolution, "note": conflict.resolution_note,
        "intent": conflict.intent, "change_by": conflict.actor, "applied": applied, "reassigned_to": reassign_to,
    }, at=at)
    return case


def request_not_made(session: Session, conflict: SyncConflict) -> bool:
    """Whether the conflict is about a request this store never made: its change makes a case (a refused `intake`
    or `receive`) and no case here has the id that change gave it."""
    return _makes_case(conflict.intent) and (conflict.case_id is None or session.get(Case, conflict.case_id) is None)


def _resolve_unmade(session: Session, conflict: SyncConflict, actor, resolution: str, note: str,
                    at: datetime | None) -> Case | None:
    """Resolve a conflict about a request never made here (module docstring): the case keep-mine made, or None."""
    at = at or utcnow()
    if resolution == "reassign":
        raise ActionRefused(f"The request TAR {conflict.tar} was never made on this store, so there is no case to "
                            "reassign: keep it (keep mine) to make it now, or set it aside (keep theirs).",
                            kind="state")
    case = None
    if resolution in ("keep-mine", "keep-both"):
        payload = dict(conflict.payload)
        if payload.get("tar") and session.scalar(select(Case.id).where(Case.tar == payload["tar"])) is not None:
            from app.services.intake import next_tars

            payload["tar"] = next_tars(session)[0]  # another request took the number meanwhile
        try:  # the ids the laptop gave the request: its copy there and this case are one
            made = INTENTS[conflict.intent].replay(session, Call(None, conflict.actor, payload), at=at,
                                                   mutation_id=conflict.mutation_id)
        except ActionRefused as refused:
            raise ActionRefused(f"The request cannot be made now: {refused}", who=refused.who,
                                kind=refused.kind) from refused
        except (InvalidInput, NotFound, DuplicatesFound, AlreadyImported) as refused:
            raise ActionRefused(f"The request cannot be made now: {refused}", kind="state") from refused
        case = session.get(Case, conflict.case_id) if conflict.case_id else None
        case = case or session.scalar(select(Case).where(Case.tar == getattr(made, "tar", payload.get("tar"))))
    conflict.resolved_at = at
    conflict.resolved_by = actor.username
    conflict.resolution = resolution
    conflict.resolution_note = (note or "").strip() or None
    details = {"conflict_id": str(conflict.id), "resolution": resolution, "note": conflict.resolution_note,
               "intent": conflict.intent, "change_by": conflict.actor, "applied": case is not None,
               "reassigned_to": None}
    if case is not None:
        record_event(session, case, actor, "conflict-resolved", details, at=at)
    else:
        audit.append(session, actor=actor.username, actor_kind="user", action="change", what="sync-conflict",
                     case_id=conflict.case_id, tar=conflict.tar,
                     body={**details, "made": False, "why": "the request stays unmade; the conflict keeps it"},
                     at=at)
    return case


def _a(label: str) -> str:
    return ("an " if label[:1].lower() in "aeiou" and not label.startswith("UM") else "a ") + label


def open_conflicts(session: Session, *, include_resolved: bool = False) -> list[SyncConflict]:
    statement = select(SyncConflict).order_by(SyncConflict.detected_at)
    if not include_resolved:
        statement = statement.where(SyncConflict.resolved_at.is_(None))
    return list(session.scalars(statement))


def readable_payload(payload: dict | None, limit: int = 200) -> dict:
    """A change's payload for people: a long value (the bytes of a letter printed offline) is named, not shown."""
    from app.services.intents import decode

    load_all()
    out = {}
    for key, value in (payload or {}).items():
        if isinstance(value, dict) and value.get("$type") == "IntakeDraft":
            out[key] = decode(value).describe()
        elif key == "pdf" and isinstance(value, str):
            out[key] = f"(the letter as printed: {len(value) * 3 // 4:,} bytes, kept with the conflict)"
        elif key == "letter" and isinstance(value, dict):
            out[key] = f"{value.get('ref')} ({value.get('kind')}, to the {value.get('recipient')})"
        elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("$date", "$datetime", "$uuid"):
            out[key] = str(decode(value))
        elif isinstance(value, str) and len(value) > limit:
            out[key] = value[:limit] + "…"
        else:
            out[key] = value
    return out


def payload_lines(payload: dict | None, indent: str = "  ") -> list[str]:
    """`readable_payload` as indented lines of text: one per field, a list (a request in words) one per item."""
    lines = []
    for key, value in readable_payload(payload).items():
        if value is None or value == []:
            lines.append(f"{indent}{key}: —")
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            lines.append(f"{indent}{key}:")
            lines.extend(f"{indent}  {item}" for item in value)
        else:
            lines.append(f"{indent}{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}")
    return lines


def conflict_json(conflict: SyncConflict) -> dict:
    return {"id": str(conflict.id), "tar": conflict.tar, "intent": conflict.intent, "username": conflict.actor,
            "kind": conflict.kind, "reason": conflict.reason, "team": conflict.team,
            "detected_at": conflict.detected_at.isoformat(), "device_id": str(conflict.device_id),
            "resolved": conflict.resolved_at is not None, "resolution": conflict.resolution,
            "resolved_by": conflict.resolved_by, "mine": conflict.mine, "theirs": conflict.theirs,
            "request_not_made": _makes_case(conflict.intent) and not (conflict.theirs or {}).get("case")}


def _makes_case(intent_name: str) -> bool:
    load_all()
    spec = INTENTS.get(intent_name)
    return spec is not None and spec.makes_case
