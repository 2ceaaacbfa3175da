"""Machine-wide and user configuration (app/config.py): precedence, locks, and broken files named by file and line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from app import config
from app.config import ConfigError, SettingLocked

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path, monkeypatch, isolated_home):
    """The machine-wide file ($UMWS_SITE_CONFIG) and the user's ($UMWS_HOME/umws.toml), both absent at first."""
    machine = tmp_path / "etc" / "umws.toml"
    machine.parent.mkdir()
    monkeypatch.setenv("UMWS_SITE_CONFIG", str(machine))
    user = isolated_home / "umws.toml"
    yield machine, user
    from app.domain.clocks import reload_rule_book

    machine.unlink(missing_ok=True)
    user.unlink(missing_ok=True)
    config._current = None
    reload_rule_book()  # the plan calendar and rule book again from resources/


def test_no_files_means_no_settings_and_says_where_it_looked(files):
    machine, user = files
    settings = config.load()
    assert settings.values == {} and settings.files_read == ()
    assert settings.machine_file == machine and settings.user_file == user
    assert config.server_url() is None and config.holiday_calendar_path() is None


def test_the_default_machine_file_is_in_the_platform_site_config_dir(monkeypatch):
    import platformdirs

    monkeypatch.delenv("UMWS_SITE_CONFIG", raising=False)
    assert config.machine_config_path() == Path(platformdirs.site_config_dir("umws", appauthor=False)) / "umws.toml"


def test_machine_values_then_user_values_for_keys_it_did_not_lock(files):
    machine, user = files
    machine.write_text('[sync]\nserver_url = "https://um-sync.plan.example:8765/"\n')
    user.write_text('[sync]\nserver_url = "https://test-sync.plan.example"\n')
    settings = config.load()
    assert settings.get("sync.server_url") == "https://test-sync.plan.example"
    assert settings.origins["sync.server_url"].path == user and settings.origins["sync.server_url"].line == 2
    assert settings.files_read == (machine, user) and settings.ignored == ()


def test_a_locked_key_keeps_the_machine_value_and_the_user_is_told(files):
    machine, user = files
    machine.write_text('# pushed by IT\nlocked = ["sync.server_url"]\n\n[sync]\nserver_url = "https://um-sync.plan.example"\n')
    user.write_text('sync.server_url = "https://my-own.example"\n')
    settings = config.load()
    assert settings.get("sync.server_url") == "https://um-sync.plan.example"
    assert settings.is_locked("sync.server_url")
    assert len(settings.ignored) == 1
    message = settings.ignored[0]
    assert f"{user}, line 1" in message and f"{machine}, line 5" in message


def test_an_override_of_a_locked_key_is_refused_naming_where_it_was_locked(files):
    machine, _ = files
    machine.write_text('locked = ["sync.server_url"]\nsync.server_url = "https://um-sync.plan.example"\n')
    settings = config.load()
    assert settings.value("sync.server_url", "https://um-sync.plan.example/") == "https://um-sync.plan.example"
    with pytest.raises(SettingLocked) as refused:
        settings.value("sync.server_url", "https://elsewhere.example")
    assert f"{machine}, line 2" in str(refused.value) and "IT" in str(refused.value)


def test_an_override_of_an_unlocked_key_wins(files):
    machine, _ = files
    machine.write_text('sync.server_url = "https://um-sync.plan.example"\n')
    config.reload()
    assert config.server_url("https://elsewhere.example") == "https://elsewhere.example"
    assert config.server_url() == "https://um-sync.plan.example"


@pytest.mark.parametrize("text, line, words", [
    ('[sync]\nserver_url = "https://a.example"\nbroken = \n', 3, "invalid value"),
    ('[sync]\nserver_url = https://a.example\n', 2, "invalid value"),
    ('locked = ["sync.server_url"]\n[sync]\nserverurl = "https://a.example"\n', 3, "'sync.serverurl' is not a setting"),
    ('[sync]\nserver_url = "ftp://a.example"\n', 2, "not an http:// or https:// address"),
    ('[sync]\nserver_url = 8765\n', 2, "must be a text value"),
    ('\n[calendar]\nholidays = "missing-holidays.json"\n', 3, "does not exist"),
    ('locked = ["sync.serverurl"]\n', 1, "'locked' names sync.serverurl"),
    ('\n\nlocked = ["calendar.holidays"]\n', 3, "locks calendar.holidays but gives no value"),
    ('locked = "sync.server_url"\n', 1, "must be a list"),
])
def test_a_broken_machine_file_names_the_file_and_the_line(files, text, line, words):
    machine, _ = files
    machine.write_text(text)
    with pytest.raises(ConfigError) as broken:
        config.load()
    message = str(broken.value)
    assert f"{machine}, line {line}" in message
    assert words in message.lower() or words in message
    assert "IT" in message  # says who must fix it


def test_a_file_that_is_not_utf8_names_its_line(files):
    machine, _ = files
    machine.write_bytes(b'[plan]\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"umws.toml, line 2 is not UTF-8"):
        config.load()


def test_the_user_file_cannot_lock_and_its_errors_name_it(files):
    _, user = files
    user.write_text('locked = ["sync.server_url"]\n')
    with pytest.raises(ConfigError) as broken:
        config.load()
    assert f"{user}, line 1" in str(broken.value) and "only the machine-wide file" in str(broken.value)


def test_the_configured_holiday_calendar_is_the_one_the_clocks_count_with(files):
    from app.domain.calendar import default_calendar
    from app.domain.clocks import reload_rule_book

    machine, _ = files
    calendar = json.loads((REPO / "resources" / "holidays.json").read_text())
    calendar.setdefault("added", []).append({"date": "2026-12-01", "name": "Plan closure (IT test)"})
    (machine.parent / "plan-holidays.json").write_text(json.dumps(calendar))
    machine.write_text('locked = ["calendar.holidays"]\n[calendar]\nholidays = "plan-holidays.json"\n')
    config.reload()
    reload_rule_book()
    assert default_calendar().is_holiday(date(2026, 12, 1))
    assert not default_calendar().is_holiday(date(2026, 12, 2))


def _umws(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env}, timeout=120)


def test_every_command_refuses_to_run_on_a_broken_machine_file(tmp_path):
    machine = tmp_path / "umws.toml"
    machine.write_text('[sync]\nserver_url = "https://a.example"\n[calendar\n')
    home = tmp_path / "home"
    result = _umws("deadlines", "--lob", "medi-cal", "--timing", "pre-service", "--urgency", "routine",
                   "--received", "2026-11-20T16:30-08:00", env={"UMWS_SITE_CONFIG": str(machine), "UMWS_HOME": str(home)})
    assert result.returncode == 2, result.stderr
    assert f"{machine}, line 3" in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_config_show_and_check_from_the_command_line(tmp_path):
    machine = tmp_path / "umws.toml"
    (tmp_path / "holidays.json").write_text((REPO / "resources" / "holidays.json").read_text())
    machine.write_text('locked = ["sync.server_url"]\n[sync]\nserver_url = "https://um-sync.plan.example"\n'
                       '[calendar]\nholidays = "holidays.json"\n')
    env = {"UMWS_SITE_CONFIG": str(machine), "UMWS_HOME": str(tmp_path / "home")}
    shown = _umws("config", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert described["files_read"] == [str(machine)]
    assert {s["key"]: s["locked"] for s in described["settings"]} == {"sync.server_url": True,
                                                                     "calendar.holidays": False}
    checked = _umws("config", "check", str(machine), env=env)
    assert checked.returncode == 0 and "valid machine-wide configuration" in checked.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('\nsync.server_url = "nope"\n')
    refused = _umws("config", "check", str(bad), env=env)
    assert refused.returncode == 2 and f"{bad}, line 2" in refused.stderr
    assert not (tmp_path / "home" / "store.db").exists()


def test_the_gui_refuses_to_start_on_a_broken_machine_file_with_a_dialog_naming_it(qapp, files, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from app.ui.main import run

    machine, _ = files
    machine.write_text('[sync]\nserver_url = "https://a.example"\nlocked = [\n')
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: shown.append((title, text)))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    assert run(["--user", "nurse.garcia"]) == 2
    assert len(shown) == 1 and "configuration" in shown[0][0] and str(machine) in shown[0][1]
    assert not (Path(os.environ["UMWS_HOME"]) / "store.db").exists()
