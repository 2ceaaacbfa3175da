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
* an `at=None` keyword, when the function has one, receives the instant the change was made on the laptop.
The server imports every module of `app.services` (`load_all`) so that each registered intent is known.
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
STATE_NEUTRAL_KINDS = frozenset({
    "criteria-set-chosen", "criterion-answered", "no-criteria-apply", "fact-recorded", "involvement-declared",
    "clock-breached", "conflict-resolved",
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

    def replay(self, session: Session, call: Call, at: datetime | None = None):
        """Do the change again on this store (the server): the same function, the same rules, no outbox row."""
        args, kwargs = self.from_call(session, call)
        if self.takes_at and at is not None:
            kwargs["at"] = at
        token = _capturing.set(True)
        action = _action_time.set(at)
        try:
            return self.function(session, *args, **kwargs)
        finally:
            _action_time.reset(action)
            _capturing.reset(token)


INTENTS: dict[str, IntentSpec] = {}
_SKIPPED = ("session", "tar", "username", "expected_version")
_capturing: contextvars.ContextVar[bool] = contextvars.ContextVar("umws_intent_capturing", default=False)
_action_time: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("umws_action_time", default=None)


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
           from_call: Callable[[Session, Call], tuple[tuple, dict]] | None = None):
    """Register a service function as the intent `name` (see the module docstring)."""

    def register(function: Callable) -> Callable:
        if name in INTENTS and INTENTS[name].function is not function:
            raise ValueError(f"intent '{name}' is registered twice ({INTENTS[name].function.__qualname__} and "
                             f"{function.__qualname__})")
        signature = inspect.signature(function)
        spec = IntentSpec(name, function, commutes, "at" in signature.parameters, to_call or _default_to_call,
                          from_call or _default_from_call)
        INTENTS[name] = spec

        @functools.wraps(function)
        def write_with_intent(session: Session, *args, **kwargs):
            if _capturing.get() or not outbox_enabled(session):
                return function(session, *args, **kwargs)
            bound = signature.bind(session, *args, **kwargs)
            call = spec.to_call(bound)
            base = _version_of(session, call.tar)
            token = _capturing.set(True)
            try:
                result = function(session, *args, **kwargs)
            finally:
                _capturing.reset(token)
            _write_outbox(session, name, call, base)
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


def _write_outbox(session: Session, name: str, call: Call, base: int | None) -> SyncOutbox:
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
        mutation_id=new_mutation_id(), device_id=device, seq=seq, case_id=row.id if row is not None else None,
        tar=call.tar, base_version=base, base_mutation_id=unconfirmed if base is not None else None,
        after_version=row.version if row is not None else None, intent=name, payload=call.payload,
        actor=call.actor, created_at=call.at or utcnow(), mine=mine, state="pending")
    session.add(outbox)
    return outbox


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SyncOutbox).where(SyncOutbox.state == "pending")) or 0


def pending(session: Session, limit: int | None = None) -> list[SyncOutbox]:
    statement = select(SyncOutbox).where(SyncOutbox.state == "pending").order_by(SyncOutbox.seq)
    if limit:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def names() -> Iterable[str]:
    return sorted(INTENTS)
