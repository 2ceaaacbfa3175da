"""The local store's encryption key, kept in the operating system's keyring (issue 3, scope 3).

The key is 32 random bytes made on first start and never written to a file. A keyring backend that would keep it
in plaintext (keyrings.alt's file backends, the null backend, an in-memory test backend) is refused unless
UMWS_ALLOW_INSECURE_KEYRING=1 is set, for CI and headless demos, and then a warning goes to stderr on every start.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import sys
from pathlib import Path

import keyring
import keyring.backend
from keyring.errors import KeyringError

from app.store.errors import KeyringUnavailable

SERVICE = "umws"
INSECURE_ENV = "UMWS_ALLOW_INSECURE_KEYRING"

# Backends that keep secrets in the operating system's protected store.
_SECURE_MODULES = (
    "keyring.backends.macOS",
    "keyring.backends.Windows",
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
)


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _is_secure(backend: keyring.backend.KeyringBackend) -> bool:
    children = getattr(backend, "backends", None)
    if children is not None:  # keyring.backends.chainer: secure only if the first, writing backend is
        return bool(children) and _is_secure(children[0])
    return type(backend).__module__.startswith(_SECURE_MODULES)


def describe_backend() -> str:
    return _backend_name(keyring.get_keyring())


def checked_backend() -> keyring.backend.KeyringBackend:
    """The keyring backend to keep the store key in, or KeyringUnavailable saying what to do."""
    backend = keyring.get_keyring()
    name = _backend_name(backend)
    if name.startswith("keyring.backends.fail"):
        raise KeyringUnavailable(
            "No keyring is available to keep the store's encryption key. Sign in to a desktop session with a "
            "keyring (Windows Credential Manager, macOS Keychain, GNOME Keyring or KWallet) and start again."
        )
    if _is_secure(backend):
        return backend
    if os.environ.get(INSECURE_ENV) == "1":
        print(
            f"umws: warning: the store key is kept in an insecure keyring ({name}) because {INSECURE_ENV}=1; "
            "use this only for CI and demos, never with member data.",
            file=sys.stderr,
        )
        return backend
    raise KeyringUnavailable(
        f"The keyring in use ({name}) would keep the store's encryption key in plaintext, so the workstation "
        "will not use it. Use the system keyring, or for a demo on a headless machine set "
        f"{INSECURE_ENV}=1."
    )


def _account(path: Path) -> str:
    """One key per store file, named by a hash of the file's path (no member data in the keyring)."""
    return "store-key-" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def load_key(path: Path) -> str | None:
    """The hex key of the store at `path`, or None when the keyring has none."""
    try:
        return checked_backend().get_password(SERVICE, _account(path))
    except KeyringError as error:
        raise KeyringUnavailable(f"The keyring could not be read ({error}). Unlock it and start again.") from error


def create_key(path: Path) -> str:
    """Make and keep a new random key for a store that does not exist yet."""
    key = secrets.token_hex(32)
    try:
        checked_backend().set_password(SERVICE, _account(path), key)
    except KeyringError as error:
        raise KeyringUnavailable(f"The keyring could not be written ({error}). Unlock it and start again.") from error
    return key
