"""An in-memory keyring backend for tests (selected in conftest.py, or by PYTHON_KEYRING_BACKEND=tests.memory_keyring.MemoryKeyring).

The workstation refuses it for a real store key unless UMWS_ALLOW_INSECURE_KEYRING=1, exactly as it refuses any
plaintext backend.
"""
from __future__ import annotations

from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.secrets.get((service, username))

    def set_password(self, service, username, password):
        self.secrets[(service, username)] = password

    def delete_password(self, service, username):
        self.secrets.pop((service, username), None)
