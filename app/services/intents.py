"""Named intents (issue 9, design 3): what a service-layer write meant, kept so the central store can do it again.

Every write of the service layer is one call of a function decorated with `@intent(NAME)`. On a laptop store
enrolled in sync (`enroll`), the decorator writes, in the same transaction as the write itself, one `sync_outbox`
row: a UUIDv7 mutation id, this device's id and next sequence number, the case, the case version the change was
made on, the intent's NAME and its payload (the call's own arguments, JSON). Never a row diff: the server calls
the same function with the same arguments (`replay`), so the same rules (authority, the state machine, the clocks)
decide again on the central store's data.

Registering a new intent (letters, peer-to-peer, intake, stays, appeals ...) is the decorator on its service
function, in one place, and nothing else:

    @intent("issue-letter", commutes=changes_state)
    def issue_letter(session, tar, username, *, kind, ..., at=None): ...

* the function takes `(session, tar, username, ...)` and keyword arguments made of JSON values, datetimes,
  dates, `CODEC_TYPES` dataclasses and mappings (or gives `encode`/`decode` for anything else, as `receive` does);
* `commutes(payload, since)` says whether the change still stands when the case changed on the server after the
  version it was made on (`since`: the server's events after that version, as (kind, payload) pairs). True:
  it is applied (and the rules checked again) as a merge; False: it becomes a conflict for a person to resolve.
  `changes_state` (the default), `always`, `criterion_not_answered_since`, `fact_not_recorded_since` and
  `no_set_chosen_since` are the ready-made rules;
* an `at=None` keyword, when the function has one, receives the instant the change was made on the laptop;
* `complete(call, result)` (optional) finishes the payload with what only the write itself knows (the TAR intake
  gave a new request, the notice date and SHA-256 of the letter it issued);
* `makes_case=True` for an intent that makes a new case (its TAR may be taken on the central store: the server
  gives the request a central number, app.server.push); `answer(payload, result)` (optional) adds words to the
  server's answer (a request the central store added to a case it already held: outcome 'merged'; a case the change
  made besides its own, numbered anew centrally: `renumbered`).
The server imports every module of `app.services` (`load_all`) so that each registered intent is known.

Ids that agree across devices: while an intent is written on the laptop, and while the server replays it, the rows
the write makes take ids from `derived_id(name)`: derived from the change's mutation id, so the laptop's own rows
(the case a request became, its events, a determination, the letters drafted for it) carry the ids the central
store gives them when it does the change again. `stable_id(...)` derives an id from what identifies a row on
every device (the member letter of determination X). Outside an intent (a supervisor on the central store, the
clock watch) ids are random, as before.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import importlib
import inspect
import pkgutil
import uuid
import weakref
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.store.models import Case, Setting, SyncOutbox, utcnow

ENROLLED_KEY = "sync.server"

Since = list[tuple[str, dict]]


# ----- commute rules: does a change made on version v still stand after the events `since`? --------------------
# Letter events (app.services.letters): a letter of the case going out changes no workflow state.
LETTER_EVENT_KINDS = frozenset({
    "letter-issued", "letter-mailed", "letter-sent", "letter-translated", "letter-effective-date-set",
})
# Stay events (app.services.stays) that touch neither the workflow nor the day ledger.
STAY_NEUTRAL_KINDS = frozenset({"stay-expected-discharge-set", "stay-care-plan-agreed"})
# Appeal events (app.services.appeals) that change no workflow state of the case; filing and deciding do (a
# workflow step made offline while an appeal was filed or decided centrally is a conflict).
APPEAL_EVENT_KINDS = frozenset({
    "appeal-filed", "appeal-reviewer-assigned", "appeal-expedited-denied", "appeal-extended", "appeal-late-accepted",
    "appeal-dismissed", "appeal-task-done", "appeal-decided", "appeal-notice-sent",
})
APPEAL_NEUTRAL_KINDS = APPEAL_EVENT_KINDS - {"appeal-filed", "appeal-decided"}
# Peer-to-peer events (app.services.p2p): requests, offers, bookings and calls change no workflow state (an
# overturn after a call is a reopening and a determination, which do).
P2P_EVENT_KINDS = frozenset({
    "p2p-requested", "p2p-offered", "p2p-booked", "p2p-rescheduled", "p2p-cancelled", "p2p-request-cancelled",
    "p2p-call", "p2p-closed-attempted", "p2p-invitation-sent",
})
STATE_NEUTRAL_KINDS = frozenset({
    "criteria-set-chosen", "criterion-answered", "no-criteria-apply", "fact-recorded", "involvement-declared",
    "clock-breached", "conflict-resolved", "document-attached", "intake-linked", "intake-merged",
    "appeal-clock-breached", *LETTER_EVENT_KINDS, *APPEAL_NEUTRAL_KINDS, *P2P_EVENT_KINDS, *STAY_NEUTRAL_KINDS,
})


def changes_state(payload: dict, since: Since) -> bool:
    """A workflow step (claim, pend, refer, decide ...) stands only if nothing but notes, criteria work or clock
    observations happened since: two claims, two determinations, a claim against an assignment are conflicts."""
    return all(kind in STATE_NEUTRAL_KINDS for kind, _ in since)


def always(payload: dict, since: Since) -> bool:
    """Adding to the case (an involvement declaration, a conflict's resolution) commutes with anything."""
    return True


def no_set_chosen_since(payload: dict, since: Since) -> bool:
    return not any(kind in ("criteria-set-chosen", "no-criteria-apply") for kind, _ in since)


def criterion_not_answered_since(payload: dict, since: Since) -> bool:
    """An answer commutes with answers to other criteria; another reviewer's answer to the same criterion, or a
    different set chosen meanwhile, is a conflict."""
    return no_set_chosen_since(payload, since) and not any(
        kind == "criterion-answered" and p.get("source") == "reviewer"
        and p.get("criterion_id") == payload.get("criterion_id") for kind, p in since)


def fact_not_recorded_since(payload: dict, since: Since) -> bool:
    return not any(kind == "fact-recorded" and p.get("name") == payload.get("name") for kind, p in since)


def never(payload: dict, since: Since) -> bool:
    return False


def _same_letter(payload: dict, kind: str, event: dict) -> bool:
    return kind in LETTER_EVENT_KINDS and event.get("letter_id") == (payload.get("letter") or {}).get("id")


def letter_untouched_since(payload: dict, since: Since) -> bool:
    """Issuing a letter (or translating it, or setting its effective date) stands when nothing but state-neutral
    work and notices happened since, none of it to the same letter: a second issue of the same letter, or a new
    determination, extension, pend or reopening (which supersede it) is a conflict."""
    return all((kind in STATE_NEUTRAL_KINDS or kind == "notified") and not _same_letter(payload, kind, event)
               for kind, event in since)


def appeal_untouched_since(payload: dict, since: Since) -> bool:
    """An appeal step (file, route, extend, decide ...) stands when nothing but state-neutral work happened since,
    none of it to the case's appeals: two filings, two routings, a decision over a routing are conflicts."""
    return all(kind in STATE_NEUTRAL_KINDS and kind not in APPEAL_EVENT_KINDS for kind, _ in since)


def p2p_untouched_since(payload: dict, since: Since) -> bool:
    """A peer-to-peer step (request, offer, book, reschedule, cancel, outcome) stands when nothing but state-neutral
    work happened since, none of it to the case's peer-to-peer (an invitation sent aside): two bookings of one
    request, an outcome over a rescheduling are conflicts. Slots taken on other cases are the replay's to refuse."""
    return all(kind in STATE_NEUTRAL_KINDS and (kind not in P2P_EVENT_KINDS or kind == "p2p-invitation-sent")
               for kind, _ in since)


def provider_not_notified_since(payload: dict, since: Since) -> bool:
    """A provider notification stands unless the workflow moved or the provider was notified meanwhile."""
    return all(kind in STATE_NEUTRAL_KINDS or (kind == "notified" and event.get("recipient") != "provider")
               for kind, event in since)


# ----- the codec of payload values ------------------------------------------------------------------------------
CODEC_TYPES: dict[str, type] = {}


def codec_type(cls: type) -> type:
    """Let a (frozen) dataclass travel in payloads as {"$type": name, field: value ...}."""
    CODEC_TYPES[cls.__name__] = cls
    return cls


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in an intent payload")
        return {"$datetime": value.astimezone(timezone.utc).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if dataclasses.is_dataclass(value) and type(value).__name__ in CODEC_TYPES:
        return {"$type": type(value).__name__,
                **{f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, Mapping):
        if all(isinstance(key, str) for key in value):
            return {key: encode(item) for key, item in value.items()}
        return {"$map": [[encode(key), encode(item)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    raise TypeError(f"{type(value).__name__} cannot go into an intent payload; give the intent encode/decode")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$uuid" in value:
        return uuid.UUID(value["$uuid"])
    if "$map" in value:
        return {decode(key): decode(item) for key, item in value["$map"]}
    if "$type" in value:
        cls = CODEC_TYPES[value["$type"]]
        return cls(**{key: decode(item) for key, item in value.items() if key != "$type"})
    return {key: decode(item) for key, item in value.items()}


# ----- the registry ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One intent call as the outbox keeps it: who, on which case, with what."""

    tar: str | None
    actor: str
    payload: dict
    at: datetime | None = None  # the instant the caller gave the write, if any


@dataclass(frozen=True)
class IntentSpec:
    name: str
    function: Callable  # the undecorated service function
    commutes: Callable[[dict, Since], bool]
    takes_at: bool
    to_call: Callable[[inspect.BoundArguments], Call]
    from_call: Callable[[Session, Call], tuple[tuple, dict]]  # (positional after session, keywords)
    complete: Callable[[Call, Any], Call] | None = None  # the payload finished with the write's result
    answer: Callable[[dict, Any], dict | None] | None = None  # (payload, result): words the server adds
    makes_case: bool = False  # a new case: its TAR may be renumbered centrally

    def replay(self, session: Session, call: Call, at: datetime | None = None,
               mutation_id: uuid.UUID | None = None):
        """Do the change again on this store (the server): the same function, the same rules, no outbox row.
        With `mutation_id` (the change as the laptop made it), the rows it makes take the ids the laptop gave them;
        without, a replay inside another intent (a conflict kept) draws from that intent's ids."""
        args, kwargs = self.from_call(session, call)
        if self.takes_at and at is not None:
            kwargs["at"] = at
        token = _capturing.set(True)
        action = _action_time.set(at)
        seed = _seed.set(_Seed(mutation_id)) if mutation_id is not None else None
        try:
            return self.function(session, *args, **kwargs)
        finally:
            if seed is not None:
                _seed.reset(seed)
            _action_time.reset(action)
            _capturing.reset(token)


INTENTS: dict[str, IntentSpec] = {}
_SKIPPED = ("session", "tar", "username", "expected_version")
_capturing: contextvars.ContextVar[bool] = contextvars.ContextVar("umws_intent_capturing", default=False)
_action_time: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("umws_action_time", default=None)


# ----- ids that agree across devices -----------------------------------------------------------------------------
ID_NAMESPACE = uuid.UUID("5b0e7c52-8a43-4f1e-9a0d-6f2f3c1e9d47")  # of stable_id: fixed forever


@dataclass
class _Seed:
    mutation_id: uuid.UUID
    drawn: dict[str, int] = dataclasses.field(default_factory=dict)


_seed: contextvars.ContextVar[_Seed | None] = contextvars.ContextVar("umws_intent_seed", default=None)


def derived_id(name: str) -> uuid.UUID:
    """The id of a new row named `name` ('case', 'event:determined' ...): random outside an intent; while an
    intent is written or replayed, derived from the change's mutation id, the name and how many ids of that name
    the change drew before, so the laptop's write and the central store's replay give the same row the same id."""
    seed = _seed.get()
    if seed is None:
        return uuid.uuid4()
    number = seed.drawn.get(name, 0)
    seed.drawn[name] = number + 1
    return uuid.uuid5(seed.mutation_id, f"{name}#{number}")


def stable_id(*parts: Any) -> uuid.UUID:
    """An id derived from what identifies a row on every device (e.g. 'letter', its source event, kind and
    recipient): the same on the laptop and on the central store whenever those parts are."""
    return uuid.uuid5(ID_NAMESPACE, "/".join(str(part) for part in parts))


@contextlib.contextmanager
def seeded(mutation_id: uuid.UUID):
    """Draw `derived_id`s of the change `mutation_id` (a write that goes up without the decorator: intake's batch
    path writes many cases at once, each its own change)."""
    token = _seed.set(_Seed(mutation_id))
    try:
        yield
    finally:
        _seed.reset(token)


def action_time() -> datetime | None:
    """While an intent is replayed: the instant the change was made on the laptop (for writes that take no `at`)."""
    return _action_time.get()


@contextlib.contextmanager
def acting_at(at: datetime):
    """Writes inside the block that take no `at` (criteria work) are made at `at`, as in a replay: the demo data
    (app.services.demo_letters) works a case in its own past."""
    token = _action_time.set(at)
    try:
        yield
    finally:
        _action_time.reset(token)


def _default_to_call(bound: inspect.BoundArguments) -> Call:
    arguments = bound.arguments
    payload = {key: encode(value) for key, value in arguments.items() if key not in _SKIPPED and key != "at"}
    return Call(arguments.get("tar"), arguments["username"], payload, arguments.get("at"))


def _default_from_call(session: Session, call: Call) -> tuple[tuple, dict]:
    return (call.tar, call.actor), {key: decode(value) for key, value in call.payload.items()}


def intent(name: str, *, commutes: Callable[[dict, Since], bool] = changes_state,
           to_call: Callable[[inspect.BoundArguments], Call] | None = None,
           from_call: Callable[[Session, Call], tuple[tuple, dict]] | None = None,
           complete: Callable[[Call, Any], Call] | None = None,
           answer: Callable[[dict, Any], dict | None] | None = None,
           makes_case: bool = False):
    """Register a service function as the intent `name` (see the module docstring)."""

    def register(function: Callable) -> Callable:
        if name in INTENTS and INTENTS[name].function is not function:
            raise ValueError(f"intent '{name}' is registered twice ({INTENTS[name].function.__qualname__} and "
                             f"{function.__qualname__})")
        signature = inspect.signature(function)
        spec = IntentSpec(name, function, commutes, "at" in signature.parameters, to_call or _default_to_call,
                          from_call or _default_from_call, complete, answer, makes_case)
        INTENTS[name] = spec

        @functools.wraps(function)
        def write_with_intent(session: Session, *args, **kwargs):
            if _capturing.get() or not outbox_enabled(session):
                return function(session, *args, **kwargs)
            bound = signature.bind(session, *args, **kwargs)
            # One instant for the write and its change: the central store replays it at the very same instant
            # (events keep device time), so what it records -- down to a letter's dates -- is what the laptop did.
            now = utcnow()
            if spec.takes_at and bound.arguments.get("at") is None:
                bound.arguments["at"] = now
            call = spec.to_call(bound)
            if call.at is None:
                call = Call(call.tar, call.actor, call.payload, now)
            base = _version_of(session, call.tar)
            mutation_id = new_mutation_id()
            token = _capturing.set(True)
            seed = _seed.set(_Seed(mutation_id))
            instant = _action_time.set(now)
            try:
                result = function(*bound.args, **bound.kwargs)
            finally:
                _action_time.reset(instant)
                _seed.reset(seed)
                _capturing.reset(token)
            if spec.complete is not None:
                call = spec.complete(call, result)
            _write_outbox(session, name, call, base, mutation_id)
            return result

        write_with_intent.intent = spec
        return write_with_intent

    return register


def load_all() -> dict[str, IntentSpec]:
    """Import every module of app.services, so that every intent any of them registers is known."""
    import app.services as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"app.services.{module.name}")
    return INTENTS


# ----- the outbox ------------------------------------------------------------------------------------------------
_ENROLLED: "weakref.WeakKeyDictionary[Engine, bool]" = weakref.WeakKeyDictionary()


def outbox_enabled(session: Session) -> bool:
    """Whether writes on this store go up to a central store: a laptop store (SQLite) enrolled by `umws login`."""
    engine = session.get_bind()
    if engine.dialect.name != "sqlite":
        return False
    known = _ENROLLED.get(engine)
    if known is None:
        known = session.get(Setting, ENROLLED_KEY) is not None
        _ENROLLED[engine] = known
    return known


def enroll(session: Session, server_url: str) -> None:
    """From now on, this store keeps an outbox of its writes for `server_url`."""
    setting = session.get(Setting, ENROLLED_KEY)
    if setting is None:
        session.add(Setting(key=ENROLLED_KEY, value=server_url[:200]))
    else:
        setting.value = server_url[:200]
    session.flush()
    _ENROLLED[session.get_bind()] = True


def forget_enrollment(engine: Engine) -> None:
    _ENROLLED.pop(engine, None)


def _version_of(session: Session, tar: str | None) -> int | None:
    if tar is None:
        return None
    return session.scalar(select(Case.version).where(Case.tar == tar))


def new_mutation_id() -> uuid.UUID:
    import uuid6

    return uuid.UUID(int=uuid6.uuid7().int)


def record_outbox(session: Session, name: str, call: Call, *, mutation_id: uuid.UUID,
                  base: int | None = None) -> SyncOutbox | None:
    """The outbox row of a write done without the decorator (intake's batch path), when this store keeps one:
    `call` as the intent's `to_call` would make it, `mutation_id` the one its rows' ids were derived from."""
    if not outbox_enabled(session):
        return None
    if name not in INTENTS:
        raise ValueError(f"no intent '{name}' is registered")
    return _write_outbox(session, name, call, base, mutation_id)


@dataclass(frozen=True)
class NewCaseChange:
    """One new case of a batch written at once (intake's CSV path): its change, as `record_outbox_batch` keeps it."""

    call: Call
    mutation_id: uuid.UUID
    case_id: uuid.UUID
    version: int
    status: str


def record_outbox_batch(session: Session, name: str, changes: list[NewCaseChange]) -> int:
    """The outbox rows of many new cases written in one go, in one multi-row insert (the batch path's speed): each
    row as `_write_outbox` makes it for a case made by the change. Returns how many were written (0 when this store
    keeps no outbox)."""
    from sqlalchemy import insert

    from app.services import audit

    if not changes or not outbox_enabled(session):
        return 0
    if name not in INTENTS:
        raise ValueError(f"no intent '{name}' is registered")
    device = audit.device_id(session)
    seq = session.scalar(select(func.max(SyncOutbox.seq)).where(SyncOutbox.device_id == device)) or 0
    rows = []
    for change in changes:
        seq += 1
        rows.append({
            "mutation_id": change.mutation_id, "device_id": device, "seq": seq, "case_id": change.case_id,
            "tar": change.call.tar, "base_version": None, "base_mutation_id": None, "after_version": change.version,
            "intent": name, "payload": change.call.payload, "actor": change.call.actor,
            "created_at": change.call.at or utcnow(),
            "mine": {"version": change.version, "status": change.status, "outcome": None, "decided_at": None,
                     "assignee": None},
            "state": "pending"})
    connection = session.connection()
    for start in range(0, len(rows), 400):
        connection.execute(insert(SyncOutbox.__table__), rows[start:start + 400])
    return len(rows)


def _write_outbox(session: Session, name: str, call: Call, base: int | None,
                  mutation_id: uuid.UUID | None = None) -> SyncOutbox:
    from app.services import audit

    device = audit.device_id(session)
    row = session.execute(select(Case.id, Case.version, Case.status, Case.outcome, Case.decided_at,
                                 Case.assignee_id).where(Case.tar == call.tar)).one_or_none() if call.tar else None
    unconfirmed = None
    if row is not None:
        unconfirmed = session.scalar(
            select(SyncOutbox.mutation_id).where(SyncOutbox.case_id == row.id, SyncOutbox.state != "done")
            .order_by(SyncOutbox.seq.desc()).limit(1))
    seq = (session.scalar(select(func.max(SyncOutbox.seq)).where(SyncOutbox.device_id == device)) or 0) + 1
    mine = None
    if row is not None:
        from app.store.models import User

        mine = {"version": row.version, "status": row.status, "outcome": row.outcome,
                "decided_at": row.decided_at.astimezone(timezone.utc).isoformat() if row.decided_at else None,
                "assignee": session.scalar(select(User.username).where(User.id == row.assignee_id))
                if row.assignee_id else None}
    outbox = SyncOutbox(
        mutation_id=mutation_id or new_mutation_id(), device_id=device, seq=seq,
        case_id=row.id if row is not None else None,
        tar=call.tar, base_version=base, base_mutation_id=unconfirmed if base is not None else None,
        after_version=row.version if row is not None else None, intent=name, payload=call.payload,
        actor=call.actor, created_at=call.at or utcnow(), mine=mine, state="pending")
    session.add(outbox)
    return outbox


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SyncOutbox).where(SyncOutbox.state == "pending")) or 0


def pending(session: Session, limit: int | None = None, *, after_seq: int = 0) -> list[SyncOutbox]:
    """The changes still to push, oldest first (those after `after_seq`: a batch already on its way is skipped)."""
    statement = (select(SyncOutbox).where(SyncOutbox.state == "pending", SyncOutbox.seq > after_seq)
                 .order_by(SyncOutbox.seq))
    if limit:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def names() -> Iterable[str]:
    return sorted(INTENTS)
