"""One workstation per store (app/ui/single_instance.py): a second start brings the first to the front, or says it
is running, and never opens the store; a lock left by a process that died is taken over."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from app.ui.single_instance import SingleInstance, bring_to_front, store_identity

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def instances(qapp):
    made: list[SingleInstance] = []

    def make(identity: str, folder: Path) -> SingleInstance:
        instance = SingleInstance(identity, folder)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.release()


def test_only_the_first_start_for_a_store_gets_it(instances, tmp_path):
    first = instances("/data/store.db", tmp_path)
    assert first.acquire()
    assert not instances("/data/store.db", tmp_path).acquire()
    assert instances("/data/other-store.db", tmp_path).acquire()  # another store is another workstation
    first.release()
    assert instances("/data/store.db", tmp_path).acquire()


def test_the_identity_is_the_store_file_or_the_database_url(isolated_home, monkeypatch):
    assert store_identity(None) == str((isolated_home / "store.db").resolve())
    assert store_identity("postgresql://central/umws") == "postgresql://central/umws"
    monkeypatch.setenv("UMWS_DATABASE_URL", "postgresql://env/umws")
    assert store_identity(None) == "postgresql://env/umws"


def _gui(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen", "UMWS_HOME": str(home),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_start_brings_the_first_to_the_front_without_opening_the_store(qtbot, isolated_home):
    first = SingleInstance.for_store(None)
    assert first.acquire()
    window = QWidget()
    window.setWindowTitle("first workstation")
    qtbot.addWidget(window)
    window.show()
    window.showMinimized()
    raised = []
    first.activation_requested.connect(lambda: raised.append(bring_to_front()))
    try:
        with qtbot.waitSignal(first.activation_requested, timeout=60_000):
            second = _gui(isolated_home, "--user", "nurse.garcia")
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=60_000)
        out, err = second.communicate()
    finally:
        first.release()
    assert second.returncode == 0, err
    assert "already running" in err and "brought to the front" in err
    assert raised == [window] and not window.isMinimized()
    assert not (isolated_home / "store.db").exists()  # the second start never opened (or created) the store


def test_a_running_start_that_does_not_answer_is_named_and_the_second_ends(qapp, isolated_home, monkeypatch):
    from app.ui import main

    first = SingleInstance.for_store(None)
    assert first.acquire()
    first._server.close()  # as if the first were hung while starting
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text, *a: shown.append((title, text)))
    second = SingleInstance.for_store(None)
    try:
        assert not second.acquire()
        assert main._already_running(second) == main.EXIT_CANNOT_START
    finally:
        first.release()
    assert len(shown) == 1 and shown[0][0] == "Already running"
    assert f"process {os.getpid()}" in shown[0][1] and "Switch to its window" in shown[0][1]


def test_a_lock_left_by_a_process_that_died_is_taken_over(qapp, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from PySide6.QtCore import QCoreApplication; "
         "from app.ui.single_instance import SingleInstance; app = QCoreApplication([]); "
         f"i = SingleInstance('/data/store.db', Path({str(tmp_path)!r})); print(i.acquire(), flush=True); "
         "time.sleep(120)"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        assert not SingleInstance("/data/store.db", tmp_path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        instance = SingleInstance("/data/store.db", tmp_path)
        deadline = time.monotonic() + 10
        while not instance.acquire():
            assert time.monotonic() < deadline, "the stale lock was not taken over"
            time.sleep(0.2)
        instance.release()
    finally:
        if holder.poll() is None:
            holder.kill()
