"""Store failures a user can act on. Each message says what happened and what to do; none deletes anything."""
from __future__ import annotations


class StoreError(Exception):
    """The store cannot be used as it is. The message is for the user; nothing on disk was changed."""


class KeyringUnavailable(StoreError):
    pass


class WrongKey(StoreError):
    pass


class ForeignDatabase(StoreError):
    pass


class SchemaTooNew(StoreError):
    pass
