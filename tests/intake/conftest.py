from __future__ import annotations

import pytest

from app.services import demo


@pytest.fixture
def intake_store(any_store):
    """A store (SQLCipher or PostgreSQL) with the demo users and a few members and providers."""
    demo.generate(any_store, 0, seed=7)
    return any_store


@pytest.fixture
def local_intake_store(local_store):
    demo.generate(local_store, 0, seed=7)
    return local_store
