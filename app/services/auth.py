"""Sign-in (issue 6, scope 1): local accounts, argon2id password hashes, a lock after repeated failures, the idle
screen lock's setting, sign-out. Every attempt, success or not, is an audit record (action 'access').

* Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory profile: 3 passes, 64 MiB, 4 lanes); the
  hash is all the store keeps. A hash made with weaker parameters is re-made at the next successful sign-in.
* After `auth.max_failed_sign_ins` (5) failures in a row the account is locked for `auth.lockout_minutes` (15);
  while locked, sign-in is refused without checking the password, and an administrator may unlock it. The count
  starts again after a success or once the lock has run out.
* `auth.idle_lock_minutes` (15) is how long the GUI waits, idle, before it locks the screen; unlocking asks for the
  password again (`unlock_screen`, which counts failures the same way).
* Unknown usernames, inactive accounts and accounts with no password get the same answer as a wrong password, and
  take as long.
The settings live in `store_settings` (written by migration 0004, changed by `set_auth_setting`).

`sign_in`, `unlock_screen` and `change_password` take the Store and commit on their own, so that a failed attempt is
counted even though the call raises SignInRefused. The rest take a session, like app.services.cases.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.plantime import format_instant
from app.services import audit
from app.store.models import Setting, User, utcnow

HASHER = PasswordHasher()
# Demo passwords are published in the README: their hashes are made cheaply (so making demo data stays fast) and
# re-made with HASHER's parameters at the first sign-in, like any outdated hash.
DEMO_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
MIN_PASSWORD_LENGTH = 8
DEMO_PASSWORD_ENV = "UMWS_DEMO_PASSWORD"

SETTINGS = {
    "max_failed_sign_ins": ("auth.max_failed_sign_ins", 5, 1, 100),
    "lockout_minutes": ("auth.lockout_minutes", 15, 1, 24 * 60),
    "idle_lock_minutes": ("auth.idle_lock_minutes", 15, 1, 8 * 60),
}
WRONG = "The username or password is not right."


class SignInRefused(Exception):
    """Sign-in (or screen unlock) refused; the message is for the user. `locked_until` when the account is locked."""

    def __init__(self, message: str, locked_until: datetime | None = None):
        super().__init__(message)
        self.locked_until = locked_until


class AuthRefused(Exception):
    """A user-management action the actor may not take (the message says who may)."""


class BadPassword(ValueError):
    """A new password that does not meet the rules (the message says which)."""


@dataclass(frozen=True)
class AuthSettings:
    max_failed_sign_ins: int = 5
    lockout_minutes: int = 15
    idle_lock_minutes: int = 15


@dataclass(frozen=True)
class SignedIn:
    """Who is working now, for the GUI: their identity, role and credential, and when the screen should lock."""

    username: str
    full_name: str
    role: str
    team: str | None
    credential: str | None
    specialty: str | None
    signed_in_at: datetime
    idle_lock_minutes: int


# ----- settings ---------------------------------------------------------------------------------------------
def auth_settings(session: Session) -> AuthSettings:
    """The sign-in settings of this store (defaults for any missing or unreadable value)."""
    values = {}
    stored = {row.key: row.value for row in session.scalars(
        select(Setting).where(Setting.key.in_([key for key, *_ in SETTINGS.values()])))}
    for name, (key, default, low, high) in SETTINGS.items():
        try:
            value = int(stored.get(key, default))
        except ValueError:
            value = default
        values[name] = value if low <= value <= high else default
    return AuthSettings(**values)


def idle_lock_minutes(session: Session) -> int:
    """How many idle minutes before the GUI locks the screen (store_settings 'auth.idle_lock_minutes', default 15)."""
    return auth_settings(session).idle_lock_minutes


def set_auth_setting(session: Session, username: str, name: str, value: int) -> AuthSettings:
    """An administrator changes a sign-in setting (max_failed_sign_ins, lockout_minutes, idle_lock_minutes)."""
    actor = _user(session, username)
    if actor.role != "administrator":
        raise AuthRefused("Only an Administrator may change the sign-in settings.")
    if name not in SETTINGS:
        raise ValueError(f"setting '{name}' is not one of: {', '.join(SETTINGS)}")
    key, _, low, high = SETTINGS[name]
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    before = auth_settings(session)
    setting = session.get(Setting, key)
    if setting is None:
        session.add(Setting(key=key, value=str(value)))
    else:
        setting.value = str(value)
    session.flush()
    _audit(session, actor.username, "setting-changed",
           {"setting": name, "before": getattr(before, name), "after": value})
    return auth_settings(session)


# ----- passwords --------------------------------------------------------------------------------------------
def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadPassword(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip().lower() == username.lower():
        raise BadPassword("A password may not be the username.")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _matches(stored: str | None, password: str) -> bool:
    if not stored:
        _burn(password)
        return False
    try:
        return HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _burn(password: str) -> None:
    """Spend the time a real check takes, so an unknown user is not told apart by timing."""
    try:
        HASHER.verify(_dummy_hash(), password)
    except VerificationError:
        pass


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return HASHER.hash("a password nobody has")


def demo_password(role: str) -> str:
    """The demo password of a demo user: "demo-" + the role id, or $UMWS_DEMO_PASSWORD when set."""
    return os.environ.get(DEMO_PASSWORD_ENV) or f"demo-{role}"


def set_demo_passwords(session: Session, users: Iterable[User]) -> int:
    """Give each of `users` that has no password its demo password; returns how many were set."""
    count = 0
    for user in users:
        if user.password_hash is None:
            user.password_hash = DEMO_HASHER.hash(demo_password(user.role))
            count += 1
    return count


# ----- lock rules (pure) ------------------------------------------------------------------------------------
def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(failed: int, now: datetime, settings: AuthSettings) -> tuple[int, datetime | None]:
    """(failures in a row, locked until) after one more failure."""
    failed += 1
    if failed >= settings.max_failed_sign_ins:
        return failed, now + timedelta(minutes=settings.lockout_minutes)
    return failed, None


# ----- sign-in ----------------------------------------------------------------------------------------------
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def _safe_name(username: str) -> str:
    """A typed username as it may appear in the audit trail (no control characters, at most 80 characters)."""
    return _UNSAFE.sub("?", username)[:80] or "?"


def _audit(session: Session, username: str, what: str, details: dict | None = None) -> None:
    audit.append(session, actor=_safe_name(username), actor_kind="user", action="access", what=what,
                 body={"details": details or {}, "os_user": audit.os_user()})


def _attempt(store, username: str, password: str, now: datetime | None, what: str) -> SignedIn:
    now = now or utcnow()
    refused: SignInRefused | None = None
    with store.session() as session, session.begin():
        settings = auth_settings(session)
        user = session.scalars(select(User).where(User.username == username).with_for_update()).one_or_none()
        if user is None or not user.active or user.password_hash is None:
            _burn(password)
            _audit(session, username, f"{what}-failed", {"why": "unknown, inactive or without a password"})
            refused = SignInRefused(WRONG)
        elif is_locked(user.locked_until, now):
            _audit(session, username, f"{what}-refused", {"why": "locked", "locked_until": _iso(user.locked_until)})
            refused = _locked(user.locked_until)
        else:
            if user.locked_until is not None:  # the lock ran out: count afresh
                user.failed_sign_ins, user.locked_until = 0, None
            if _matches(user.password_hash, password):
                user.failed_sign_ins, user.locked_until, user.last_sign_in_at = 0, None, now
                if HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = HASHER.hash(password)
                _audit(session, username, what)
                result = SignedIn(user.username, user.full_name, user.role, user.team, user.credential,
                                  user.specialty, now, settings.idle_lock_minutes)
            else:
                user.failed_sign_ins, user.locked_until = after_failure(user.failed_sign_ins, now, settings)
                _audit(session, username, f"{what}-failed", {"why": "wrong password",
                                                              "failures": user.failed_sign_ins})
                if user.locked_until is not None:
                    _audit(session, username, "account-locked", {"until": _iso(user.locked_until),
                                                                 "failures": user.failed_sign_ins})
                    refused = _locked(user.locked_until, just_now=True)
                else:
                    refused = SignInRefused(WRONG)
    if refused is not None:
        raise refused
    return result


def _iso(instant: datetime | None) -> str | None:
    return instant.astimezone(timezone.utc).isoformat() if instant else None


def _locked(until: datetime, just_now: bool = False) -> SignInRefused:
    start = "Too many failed sign-ins: the account is locked" if just_now else "The account is locked"
    return SignInRefused(f"{start} until {format_instant(until)}. Try again then, or ask an administrator to "
                         "unlock it.", locked_until=until)


def sign_in(store, username: str, password: str, *, now: datetime | None = None) -> SignedIn:
    """Check a username and password; SignInRefused (with the user's message) when they do not match or the
    account is locked. Commits the attempt (and its audit record) on its own."""
    return _attempt(store, username, password, now, "sign-in")


def unlock_screen(store, username: str, password: str, *, now: datetime | None = None) -> SignedIn:
    """Unlock the idle-locked screen of `username` (the same checks and failure count as signing in)."""
    return _attempt(store, username, password, now, "screen-unlock")


def record_screen_lock(store, username: str) -> None:
    """The GUI locked the screen after the idle time (an audit record)."""
    with store.session() as session, session.begin():
        _audit(session, username, "screen-locked")


def sign_out(store, username: str) -> None:
    with store.session() as session, session.begin():
        _audit(session, username, "sign-out")


def change_password(store, username: str, current: str, new: str, *, now: datetime | None = None) -> None:
    """A user changes their own password (the current one is checked like a sign-in)."""
    check_new_password(new, username)
    _attempt(store, username, current, now, "password-check")
    with store.session() as session, session.begin():
        user = _user(session, username)
        user.password_hash = HASHER.hash(new)
        _audit(session, username, "password-changed")


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise LookupError(f"No user '{username}' in this store; 'umws users list' shows who there is.")
    return user


def set_password(session: Session, username: str, new: str, *, by: str) -> None:
    """An administrator sets a user's password (e.g. a new account, a forgotten password); it also unlocks."""
    actor = _user(session, by)
    if actor.role != "administrator":
        raise AuthRefused("Only an Administrator may set another user's password; users change their own by "
                          "signing in.")
    user = _user(session, username)
    check_new_password(new, username)
    user.password_hash = HASHER.hash(new)
    user.failed_sign_ins, user.locked_until = 0, None
    _audit(session, actor.username, "password-set", {"user": username})


def unlock_account(session: Session, username: str, *, by: str) -> None:
    """An administrator lifts a lock before it runs out."""
    actor = _user(session, by)
    if actor.role != "administrator":
        raise AuthRefused("Only an Administrator may unlock an account.")
    user = _user(session, username)
    user.failed_sign_ins, user.locked_until = 0, None
    _audit(session, actor.username, "account-unlocked", {"user": username})


def account_state(user: User, now: datetime | None = None) -> str:
    """'locked', 'no-password', 'inactive' or 'ok' (for `umws users list`)."""
    now = now or utcnow()
    if not user.active:
        return "inactive"
    if user.password_hash is None:
        return "no-password"
    if is_locked(user.locked_until, now):
        return "locked"
    return "ok"
