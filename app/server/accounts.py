"""Sign-in on the server, devices and short-lived tokens (issue 9, design 2).

* `login`: the user's password is checked by the central store (app.services.auth.sign_in: the same accounts,
  lockout and audit records); the laptop is registered as a device (its store's device id and a name) the first
  time; the answer is a random token valid for `token_hours` (default 8: a shift). Only the token's SHA-256 is
  stored, so the table leaks no usable token.
* `authenticate`: every other request carries the token; an unknown or expired token, or a revoked device, is
  refused with words saying what to do.
* `revoke_device`: an administrator refuses a lost laptop from then on (its tokens are deleted).
* Intake numbers: at its first sign-in each laptop gets a block of its own (`tar_block`, unique), and numbers the
  requests it receives offline in it (app.services.intake.next_tars), so two laptops' TARs never collide.
* Clock skew: each request says the device's time; a device more than 5 minutes off the server's clock is flagged
  on the device row and in the audit trail, and told so.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.services import audit
from app.services.auth import SignInRefused, sign_in
from app.store.models import SyncDevice, SyncToken, User, utcnow

DEFAULT_TOKEN_HOURS = 8
SKEW_LIMIT = timedelta(minutes=5)


class AccessRefused(Exception):
    """A request the server refuses: `status` is the HTTP status, `code` a stable id, the message is for people."""

    def __init__(self, message: str, status: int = 401, code: str = "sign-in"):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the signed-in user on a registered device."""

    user: User
    device: SyncDevice

    @property
    def username(self) -> str:
        return self.user.username


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _revoked_message(device: SyncDevice) -> str:
    when = device.revoked_at.strftime("%Y-%m-%d %H:%M UTC") if device.revoked_at else "earlier"
    return (f"This laptop (device {str(device.device_id)[:8]}, '{device.name}') was revoked by "
            f"{device.revoked_by or 'an administrator'} on {when}; the server accepts nothing from it. Its unsent "
            "changes stay on it. Ask the administrator.")


def login(store, username: str, password: str, device_id: uuid.UUID, device_name: str, *,
          token_hours: int = DEFAULT_TOKEN_HOURS, now: datetime | None = None) -> dict:
    """Check the password, register the device if new, and issue a token (AccessRefused when refused)."""
    now = now or utcnow()
    with store.session() as session:
        device = session.get(SyncDevice, device_id)
        if device is not None and device.revoked_at is not None:
            raise AccessRefused(_revoked_message(device), 403, "revoked")
    try:
        signed = sign_in(store, username, password, now=now)
    except SignInRefused as error:
        raise AccessRefused(str(error), 401, "sign-in-refused") from error
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=token_hours)
    with store.session() as session, session.begin():
        device = session.get(SyncDevice, device_id, with_for_update=True)
        if device is None:
            device = SyncDevice(device_id=device_id, name=(device_name or "laptop")[:120],
                                registered_by=signed.username, registered_at=now, last_seq=0, audit_seq=0)
            session.add(device)
            session.flush()
            audit.append(session, actor=signed.username, actor_kind="user", action="access", what="device-registered",
                         body={"details": {"device_id": str(device_id), "name": device.name}})
        if device.tar_block is None:
            device.tar_block = _next_tar_block(session)
        device.last_seen_at = now
        session.execute(delete(SyncToken).where(SyncToken.device_id == device_id, SyncToken.expires_at < now))
        session.add(SyncToken(token_hash=token_hash(token), device_id=device_id, username=signed.username,
                              issued_at=now, expires_at=expires))
        user = session.scalar(select(User).where(User.username == signed.username))
        result = {"token": token, "expires_at": expires.isoformat(), "username": user.username,
                  "full_name": user.full_name, "role": user.role, "team": user.team,
                  "password_hash": user.password_hash, "device_id": str(device_id),
                  "last_seq": device.last_seq, "audit_seq": device.audit_seq, "tar_block": device.tar_block}
    return result


def _next_tar_block(session: Session) -> int:
    """The next block of intake TAR numbers (1, 2, 3 ...; block 0 is the central store's own intake), under the
    central store's chain lock so that two laptops signing in at once never get the same one."""
    from sqlalchemy import func

    from app.server.push import lock_server_chain

    lock_server_chain(session)
    highest = session.scalar(select(func.max(SyncDevice.tar_block))) or 0
    if highest >= 9999:
        raise AccessRefused("Every block of intake numbers is given out (9,999 laptops); ask the administrator.",
                            409, "tar-blocks")
    return highest + 1


def authenticate(session: Session, token: str | None, device_id: str | None, now: datetime | None = None) -> Caller:
    """The caller of a request (in the request's transaction), or AccessRefused."""
    now = now or utcnow()
    if device_id is not None:
        try:
            named = session.get(SyncDevice, uuid.UUID(str(device_id)))
        except ValueError:
            named = None
        if named is not None and named.revoked_at is not None:
            raise AccessRefused(_revoked_message(named), 403, "revoked")
    if not token:
        raise AccessRefused("Sign in to the sync server first (umws login, or Sync > Sign in).", 401, "sign-in")
    row = session.get(SyncToken, token_hash(token))
    if row is None:
        raise AccessRefused("The sign-in is not known to the server (it was replaced or the device was revoked): "
                            "sign in again.", 401, "sign-in")
    if device_id is not None and str(row.device_id) != str(device_id):
        raise AccessRefused("The sign-in belongs to another device: sign in again on this one.", 401, "sign-in")
    device = session.get(SyncDevice, row.device_id, with_for_update=True)
    if device is None or device.revoked_at is not None:
        raise AccessRefused(_revoked_message(device) if device else "This device is not registered.", 403, "revoked")
    if row.expires_at <= now:
        raise AccessRefused("The sign-in has expired (sign-ins last a shift): sign in again. Nothing was lost; your "
                            "changes wait on this laptop.", 401, "expired")
    user = session.scalar(select(User).where(User.username == row.username))
    if user is None or not user.active:
        raise AccessRefused(f"The account '{row.username}' is not active on the central store.", 403, "inactive")
    device.last_seen_at = now
    return Caller(user, device)


def check_clock(session: Session, caller: Caller, device_time: datetime | None,
                now: datetime | None = None) -> dict | None:
    """Measure the device's clock against the server's; flag it (device row and audit) when more than 5 minutes
    off. Returns what the client should show, or None when the clock is right."""
    if device_time is None:
        return None
    now = now or utcnow()
    offset = now - device_time
    device = caller.device
    device.clock_offset_seconds = int(offset.total_seconds())
    if abs(offset) <= SKEW_LIMIT:
        if device.skew_flagged_at is not None:
            device.skew_flagged_at = None
        return None
    if device.skew_flagged_at is None:
        device.skew_flagged_at = now
        audit.append(session, actor=caller.username, actor_kind="user", action="access", what="clock-skew",
                     body={"details": {"device_id": str(device.device_id), "offset_seconds": device.clock_offset_seconds,
                                       "device_time": device_time.isoformat(), "server_time": now.isoformat()}})
    minutes = round(abs(offset).total_seconds() / 60)
    direction = "behind" if offset.total_seconds() > 0 else "ahead of"
    return {"offset_seconds": device.clock_offset_seconds, "flagged": True,
            "message": f"This laptop's clock is about {minutes} minutes {direction} the server's. Set the clock "
                       "right: changes from this laptop are timed by the server's clock until then, and the audit "
                       "trail shows both times."}


def revoke_device(session: Session, device_id: uuid.UUID, *, by: str, reason: str = "") -> SyncDevice:
    """An administrator revokes a device (a lost laptop): its tokens go, and the server refuses it from now on."""
    actor = session.scalar(select(User).where(User.username == by))
    if actor is None or actor.role != "administrator":
        raise AccessRefused("Only an Administrator may revoke a device.", 403, "authority")
    device = session.get(SyncDevice, device_id)
    if device is None:
        raise LookupError(f"No device {device_id} is registered; 'umws server devices' lists them.")
    device.revoked_at = utcnow()
    device.revoked_by = by
    device.revoke_reason = (reason or "")[:200] or None
    session.execute(delete(SyncToken).where(SyncToken.device_id == device_id))
    audit.append(session, actor=by, actor_kind="user", action="access", what="device-revoked",
                 body={"details": {"device_id": str(device_id), "name": device.name, "reason": reason}})
    return device


def devices(session: Session) -> list[dict]:
    rows = session.scalars(select(SyncDevice).order_by(SyncDevice.registered_at)).all()
    return [{"device_id": str(d.device_id), "name": d.name, "registered_by": d.registered_by,
             "registered_at": d.registered_at.isoformat(), "last_seen_at": d.last_seen_at.isoformat()
             if d.last_seen_at else None, "last_seq": d.last_seq, "audit_seq": d.audit_seq,
             "clock_offset_seconds": d.clock_offset_seconds, "clock_flagged": d.skew_flagged_at is not None,
             "revoked": d.revoked_at is not None, "revoked_by": d.revoked_by} for d in rows]
