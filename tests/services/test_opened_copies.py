"""The viewer's copies of member documents (`opened-documents` in the user's data directory) are removed again:
those not opened for 12 hours, or all of them; a copy that cannot be deleted stays, without an error. Real files
on disk, their ages set with os.utime."""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app.services import documents
from app.services.documents import COPIES_KEPT_FOR, DocumentInfo, Opened, keep_opened_copy, remove_opened_copies

HOUR = 3600.0


def copy_aged(folder: Path, name: str, hours: float, now: float) -> Path:
    path = folder / name
    path.write_bytes(b"%PDF-1.4 a member's document")
    stamp = now - hours * HOUR
    os.utime(path, (stamp, stamp))
    return path


@contextlib.contextmanager
def undeletable(path: Path):
    """`path` cannot be deleted while inside (as a viewer holding it open on Windows): immutable (chattr +i) when
    this runs as root, else its folder read-only."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)],
                                                            capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.parent.stat().st_mode
        os.chmod(path.parent, 0o500)
        try:
            yield
        finally:
            os.chmod(path.parent, stat.S_IMODE(mode))


def test_twelve_hours_is_the_age_and_the_folder_is_the_users_data_directory(isolated_home):
    assert COPIES_KEPT_FOR.total_seconds() == 12 * HOUR
    folder = documents.opened_folder()
    assert folder == isolated_home / "opened-documents" and folder.is_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_copies_older_than_twelve_hours_go_and_younger_ones_stay(isolated_home):
    folder = documents.opened_folder()
    now = time.time()
    old = copy_aged(folder, "20100000001_aaaa_fax.pdf", 30, now)
    just_old = copy_aged(folder, "20100000002_bbbb_scan.tif", 12.1, now)
    young = copy_aged(folder, "20100000003_cccc_notes.pdf", 11.9, now)
    fresh = copy_aged(folder, "20100000004_dddd_fax.pdf", 0, now)
    (folder / "someone's folder").mkdir()  # the workstation makes no folders here: not its to remove
    assert remove_opened_copies(now=now) == documents.CopiesRemoved(removed=2, left=0)
    assert not old.exists() and not just_old.exists()
    assert young.exists() and fresh.exists() and (folder / "someone's folder").is_dir()
    assert remove_opened_copies(older_than=None, now=now) == documents.CopiesRemoved(removed=2, left=0)
    assert sorted(p.name for p in folder.iterdir()) == ["someone's folder"]


def test_a_copy_that_cannot_be_deleted_is_left_for_next_time_without_an_error(isolated_home):
    folder = documents.opened_folder()
    now = time.time()
    held = copy_aged(folder, "20100000005_eeee_held-by-viewer.pdf", 20, now)
    other = copy_aged(folder, "20100000006_ffff_other.pdf", 20, now)
    with undeletable(held):
        result = remove_opened_copies(now=now)  # no exception
        assert held.exists() and result.left >= 1
        assert result.removed + result.left == 2
    assert remove_opened_copies(now=now).removed == result.left  # the next time they go
    assert not held.exists() and not other.exists()


def test_no_folder_yet_is_nothing_to_do(isolated_home):
    assert not (isolated_home / "opened-documents").exists()
    assert remove_opened_copies() == documents.CopiesRemoved(0, 0)
    assert not (isolated_home / "opened-documents").exists()  # not made just to be looked at


def test_opening_again_renews_a_copys_age_so_it_is_not_removed_under_the_viewer(isolated_home):
    info = DocumentInfo("7d1c", "fax: 1/2.pdf", 2, "application/pdf", datetime.now(timezone.utc),
                        datetime.now(timezone.utc), "coord.jones", "ab" * 32, here=True, central=False)
    opened = Opened(info, b"%PDF-1.4 the document", "this computer")
    path = keep_opened_copy("20100000007", opened)
    assert path.parent == documents.opened_folder() and path.name == "20100000007_abababababab_fax_ 1_2.pdf"
    assert path.read_bytes() == opened.content and stat.S_IMODE(path.stat().st_mode) == 0o600
    stamp = time.time() - 13 * HOUR
    os.utime(path, (stamp, stamp))
    assert keep_opened_copy("20100000007", opened) == path  # opened again 13 hours later
    assert remove_opened_copies().removed == 0 and path.read_bytes() == opened.content
