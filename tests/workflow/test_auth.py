"""Sign-in: argon2id hashes, demo passwords, the lock after repeated failures, the idle-lock setting, audit."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.services import audit, auth, demo
from app.store.models import AuditRecord, Setting, User

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)


@pytest.fixture
def users_store(local_store):
    demo.generate(local_store, 0, seed=2)
    return local_store


def user(store, username) -> User:
    with store.session() as session:
        return session.scalar(select(User).where(User.username == username))


def access_records(store) -> list[tuple[str, str]]:
    with store.session() as session:
        return [(r.actor, r.what) for r in session.scalars(
            select(AuditRecord).where(AuditRecord.action == "access").order_by(AuditRecord.seq))]


def test_demo_users_get_demo_passwords_hashed_with_argon2id(users_store):
    for username, *_ in demo.DEMO_USERS:
        stored = user(users_store, username).password_hash
        assert stored.startswith("$argon2id$") and "demo-" not in stored
    assert user(users_store, "staff.inpatient.1").password_hash is None
    signed = auth.sign_in(users_store, "nurse.garcia", "demo-um-nurse", now=NOW)
    assert (signed.username, signed.role, signed.credential, signed.idle_lock_minutes) == \
        ("nurse.garcia", "um-nurse", "RN", 15)
    for username, _, role, *_ in demo.DEMO_USERS:  # each hash holds its own parameters: a cheap check
        assert auth.HASHER.verify(user(users_store, username).password_hash, f"demo-{role}")


def test_demo_password_from_the_environment(local_store, monkeypatch):
    monkeypatch.setenv("UMWS_DEMO_PASSWORD", "workshop-2026")
    demo.generate(local_store, 0, seed=3)
    assert auth.sign_in(local_store, "dr.shah", "workshop-2026", now=NOW).role == "medical-director"
    with pytest.raises(auth.SignInRefused):
        auth.sign_in(local_store, "dr.shah", "demo-medical-director", now=NOW)


def test_the_cheap_demo_hash_is_remade_at_first_sign_in(users_store):
    assert auth.HASHER.check_needs_rehash(user(users_store, "lead.patel").password_hash)
    auth.sign_in(users_store, "lead.patel", "demo-nurse-supervisor", now=NOW)
    remade = user(users_store, "lead.patel").password_hash
    assert not auth.HASHER.check_needs_rehash(remade)
    assert auth.sign_in(users_store, "lead.patel", "demo-nurse-supervisor", now=NOW).username == "lead.patel"


def test_wrong_unknown_and_passwordless_get_the_same_answer(users_store):
    messages = set()
    for username, password in (("nurse.garcia", "wrong-password"), ("nobody", "x"),
                               ("staff.inpatient.1", "anything")):
        with pytest.raises(auth.SignInRefused) as refused:
            auth.sign_in(users_store, username, password, now=NOW)
        messages.add(str(refused.value))
    assert messages == {auth.WRONG}


def test_five_failures_lock_for_fifteen_minutes(users_store):
    for attempt in range(4):
        with pytest.raises(auth.SignInRefused, match="not right"):
            auth.sign_in(users_store, "nurse.chen", "guess", now=NOW + timedelta(seconds=attempt))
    with pytest.raises(auth.SignInRefused, match="Too many failed sign-ins") as locked:
        auth.sign_in(users_store, "nurse.chen", "guess", now=NOW + timedelta(seconds=5))
    assert locked.value.locked_until == NOW + timedelta(seconds=5, minutes=15)
    # Locked: even the right password is refused, and the lock does not move.
    with pytest.raises(auth.SignInRefused, match="is locked until"):
        auth.sign_in(users_store, "nurse.chen", "demo-um-nurse", now=NOW + timedelta(minutes=10))
    assert user(users_store, "nurse.chen").locked_until == NOW + timedelta(seconds=5, minutes=15)
    signed = auth.sign_in(users_store, "nurse.chen", "demo-um-nurse", now=NOW + timedelta(minutes=16))
    assert signed.username == "nurse.chen"
    after = user(users_store, "nurse.chen")
    assert after.failed_sign_ins == 0 and after.locked_until is None
    whats = [what for actor, what in access_records(users_store) if actor == "nurse.chen"]
    assert whats.count("sign-in-failed") == 5 and whats.count("account-locked") == 1
    assert "sign-in-refused" in whats and whats[-1] == "sign-in"


def test_a_success_resets_the_count(users_store):
    for _ in range(4):
        with pytest.raises(auth.SignInRefused):
            auth.sign_in(users_store, "nurse.okafor", "guess", now=NOW)
    auth.sign_in(users_store, "nurse.okafor", "demo-um-nurse", now=NOW)
    for _ in range(4):
        with pytest.raises(auth.SignInRefused, match="not right"):
            auth.sign_in(users_store, "nurse.okafor", "guess", now=NOW)


def test_settings_change_the_lock_and_the_idle_time(users_store):
    with users_store.session() as session:
        assert auth.auth_settings(session) == auth.AuthSettings(5, 15, 15)
        assert session.get(Setting, "auth.idle_lock_minutes").value == "15"
    with users_store.session() as session, session.begin():
        with pytest.raises(auth.AuthRefused):
            auth.set_auth_setting(session, "lead.patel", "max_failed_sign_ins", 3)
        auth.set_auth_setting(session, "admin", "max_failed_sign_ins", 3)
        auth.set_auth_setting(session, "admin", "idle_lock_minutes", 5)
        with pytest.raises(ValueError):
            auth.set_auth_setting(session, "admin", "lockout_minutes", 0)
    with users_store.session() as session:
        assert auth.idle_lock_minutes(session) == 5
    for attempt in range(2):
        with pytest.raises(auth.SignInRefused, match="not right"):
            auth.sign_in(users_store, "dr.lee", "guess", now=NOW)
    with pytest.raises(auth.SignInRefused, match="locked"):
        auth.sign_in(users_store, "dr.lee", "guess", now=NOW)
    assert auth.sign_in(users_store, "tech.rivera", "demo-pharmacy-technician", now=NOW).idle_lock_minutes == 5


def test_administrator_unlocks_and_sets_passwords(users_store):
    for _ in range(5):
        with pytest.raises(auth.SignInRefused):
            auth.sign_in(users_store, "pharmd.kim", "guess", now=NOW)
    with users_store.session() as session, session.begin():
        with pytest.raises(auth.AuthRefused):
            auth.unlock_account(session, "pharmd.kim", by="lead.patel")
        auth.unlock_account(session, "pharmd.kim", by="admin")
    assert auth.sign_in(users_store, "pharmd.kim", "demo-clinical-pharmacist", now=NOW).username == "pharmd.kim"
    with users_store.session() as session, session.begin():
        with pytest.raises(auth.BadPassword):
            auth.set_password(session, "pharmd.kim", "short", by="admin")
        with pytest.raises(auth.BadPassword):
            auth.set_password(session, "pharmd.kim", "pharmd.kim", by="admin")
        auth.set_password(session, "pharmd.kim", "a new long passphrase", by="admin")
    with pytest.raises(auth.SignInRefused):
        auth.sign_in(users_store, "pharmd.kim", "demo-clinical-pharmacist", now=NOW)
    auth.change_password(users_store, "pharmd.kim", "a new long passphrase", "another passphrase", now=NOW)
    assert auth.sign_in(users_store, "pharmd.kim", "another passphrase", now=NOW).role == "clinical-pharmacist"


def test_screen_lock_unlock_and_sign_out_are_audited(users_store):
    auth.sign_in(users_store, "coord.jones", "demo-um-coordinator", now=NOW)
    auth.record_screen_lock(users_store, "coord.jones")
    with pytest.raises(auth.SignInRefused):
        auth.unlock_screen(users_store, "coord.jones", "wrong", now=NOW)
    auth.unlock_screen(users_store, "coord.jones", "demo-um-coordinator", now=NOW)
    auth.sign_out(users_store, "coord.jones")
    assert [what for actor, what in access_records(users_store) if actor == "coord.jones"] == [
        "sign-in", "screen-locked", "screen-unlock-failed", "screen-unlock", "sign-out"]
    assert user(users_store, "coord.jones").failed_sign_ins == 0
    assert audit.verify(users_store).ok


def test_a_typed_username_with_control_characters_is_audited_safely(users_store):
    with pytest.raises(auth.SignInRefused):
        auth.sign_in(users_store, "evil\x1fname\n" + "x" * 200, "pw", now=NOW)
    actor, what = access_records(users_store)[-1]
    assert "\x1f" not in actor and len(actor) == 80 and what == "sign-in-failed"
    assert audit.verify(users_store).ok


def test_lock_rules_are_pure():
    settings = auth.AuthSettings(max_failed_sign_ins=2, lockout_minutes=1)
    assert auth.after_failure(0, NOW, settings) == (1, None)
    assert auth.after_failure(1, NOW, settings) == (2, NOW + timedelta(minutes=1))
    assert auth.is_locked(NOW + timedelta(seconds=1), NOW) and not auth.is_locked(NOW, NOW)
