"""The laptop's sign-in token for a sync server, kept in the operating system's keyring (never in the store or a
file). The token is short-lived (the server's sign-ins last a shift); an expired one is forgotten and the user is
asked to sign in again."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import keyring
from keyring.errors import KeyringError, PasswordDeleteError

SERVICE = "umws-sync"


def _key(server: str, username: str) -> str:
    return f"{server.rstrip('/')}|{username}"


def save(server: str, username: str, token: str, expires_at: str) -> None:
    keyring.set_password(SERVICE, _key(server, username), json.dumps({"token": token, "expires_at": expires_at}))


def load(server: str, username: str, now: datetime | None = None) -> str | None:
    """The token, or None when there is none or it has expired."""
    try:
        stored = keyring.get_password(SERVICE, _key(server, username))
    except KeyringError:
        return None
    if not stored:
        return None
    try:
        data = json.loads(stored)
        expires = datetime.fromisoformat(data["expires_at"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= (now or datetime.now(timezone.utc)):
        return None
    return data["token"]


def forget(server: str, username: str) -> None:
    try:
        keyring.delete_password(SERVICE, _key(server, username))
    except (PasswordDeleteError, KeyringError):
        pass
