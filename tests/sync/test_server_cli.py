"""`umws server init|seed|devices|revoke` on a real PostgreSQL."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from app.cli import main
from app.store.engine import open_database_url
from app.store.models import Case, SyncDevice, User


def test_init_seed_devices_and_revoke(postgres_url, monkeypatch, capsys):
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    assert main(["server", "init", "--database-url", "sqlite:///x.db", "--admin", "root"]) == 2
    monkeypatch.setenv("UMWS_PASSWORD", "short")
    assert main(["server", "init", "--database-url", url, "--admin", "chief"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    monkeypatch.setenv("UMWS_PASSWORD", "a long enough password")
    assert main(["server", "init", "--database-url", url, "--admin", "chief"]) == 0
    assert main(["server", "init", "--database-url", url, "--admin", "chief"]) == 0
    assert "already its administrator" in capsys.readouterr().err
    monkeypatch.setenv("UMWS_DEMO_PASSWORD", "demo password 1")
    assert main(["server", "seed", "--database-url", url, "--cases", "12", "--seed", "4"]) == 0
    store = open_database_url(url)
    try:
        with store.session() as session:
            chief = session.scalar(select(User).where(User.username == "chief"))
            assert chief.role == "administrator" and chief.password_hash.startswith("$argon2id$")
            assert session.scalar(select(func.count()).select_from(Case)) == 12
            device = uuid.uuid4()
            session.add(SyncDevice(device_id=device, name="ward laptop", registered_by="nurse.nguyen"))
            session.commit()
        from app.services.auth import sign_in

        assert sign_in(store, "nurse.nguyen", "demo password 1").role == "um-nurse"
    finally:
        store.close()
    capsys.readouterr()
    assert main(["server", "devices", "--database-url", url, "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in devices] == ["ward laptop"] and not devices[0]["revoked"]
    assert main(["server", "revoke", str(device), "--database-url", url, "--as", "nurse.nguyen"]) == 3
    assert main(["server", "revoke", "not-a-device", "--database-url", url, "--as", "chief"]) == 2
    assert main(["server", "revoke", str(device), "--database-url", url, "--as", "chief", "--reason", "lost"]) == 0
    capsys.readouterr()
    assert main(["server", "devices", "--database-url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["revoked"]
