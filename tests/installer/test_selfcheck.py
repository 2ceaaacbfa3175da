"""`umws selfcheck`: every step on the real parts (SQLCipher, Alembic, demo data, clocks, criteria, ReportLab, the
main window offscreen, the keyring), in-process and through the command line, and the failures it must report."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app import selfcheck
from app.selfcheck import FAILED, PASSED, SKIPPED, WARNING, Context, Step, StepFailed, checks, letter

REPO = Path(__file__).resolve().parents[2]
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
STEP_NAMES = ["configuration", "data files", "imports", "keyring", "encrypted store", "demo data", "clocks",
              "criteria", "letter", "main window"]


def statuses(report) -> dict[str, str]:
    return {result.step: result.status for result in report.results}


def test_the_whole_check_passes_here_with_the_test_keyring_as_a_warning(qapp, isolated_home, tmp_path):
    keep = tmp_path / "kept"
    report = selfcheck.run(keep=keep)
    assert [r.step for r in report.results] == STEP_NAMES
    found = statuses(report)
    assert found.pop("keyring") == WARNING  # the in-memory test keyring is plaintext, allowed by the CI variable
    assert set(found.values()) == {PASSED}, [r for r in report.results if r.status != PASSED]
    assert report.passed and "1 warning" in report.summary()
    details = {r.step: r.detail for r in report.results}
    assert "migrated to" in details["encrypted store"] and "wrong key is refused" in details["encrypted store"]
    assert "cases in" in details["main window"]
    # what it made is kept for a person to look at, and the user's own store was never created
    assert (keep / "selfcheck-letter.pdf").read_bytes().startswith(b"%PDF-")
    assert (keep / "selfcheck-window.png").stat().st_size > 10_000
    assert not (isolated_home / "store.db").exists()
    assert keyring.get_keyring().secrets == {}  # the throwaway store key never went to the keyring


def test_no_usable_keyring_fails_and_is_only_a_warning_under_the_ci_variable(isolated_home, monkeypatch):
    keyring.set_keyring(fail.Keyring())
    step = [Step("keyring", checks.check_keyring)]
    allowed = selfcheck.run(step).results[0]
    assert allowed.status == WARNING and "no usable keyring backend" in allowed.detail
    monkeypatch.delenv("UMWS_ALLOW_INSECURE_KEYRING")
    refused = selfcheck.run(step)
    assert refused.results[0].status == FAILED and not refused.passed
    assert "Sign in to a desktop session with a keyring" in refused.results[0].detail


def test_a_plaintext_keyring_fails_without_the_ci_variable(isolated_home, monkeypatch):
    monkeypatch.delenv("UMWS_ALLOW_INSECURE_KEYRING")
    result = selfcheck.run([Step("keyring", checks.check_keyring)]).results[0]
    assert result.status == FAILED and "plaintext" in result.detail


def test_a_failed_step_skips_the_steps_that_need_it_and_the_report_fails(isolated_home):
    def broken(context):
        raise StepFailed("the store could not be made")

    def crashes(context):
        raise RuntimeError("boom")

    report = selfcheck.run([Step("encrypted store", broken), Step("demo data", checks.check_demo,
                                                                  needs=("encrypted store",)),
                            Step("odd", crashes)])
    assert statuses(report) == {"encrypted store": FAILED, "demo data": SKIPPED, "odd": FAILED}
    assert "needs the encrypted store step" in report.results[1].detail
    assert "RuntimeError: boom" in report.results[2].detail and "traceback is in" in report.results[2].detail
    assert not report.passed and "2 of 3 steps failed, 1 skipped" in report.summary()


def test_a_broken_machine_configuration_fails_its_step_and_the_clocks(isolated_home, tmp_path, monkeypatch):
    machine = tmp_path / "site" / "umws.toml"
    machine.parent.mkdir()
    machine.write_text('[calendar]\nholidays = "gone.json"\n')
    monkeypatch.setenv("UMWS_SITE_CONFIG", str(machine))
    report = selfcheck.run([step for step in checks.STEPS if step.name in
                            ("configuration", "encrypted store", "demo data", "clocks")])
    found = statuses(report)
    assert found["configuration"] == FAILED and found["clocks"] == SKIPPED
    assert f"{machine}, line 2" in report.results[0].detail


def test_the_letter_embeds_every_bundled_font(tmp_path):
    fonts_dir = tmp_path / "fonts"
    (fonts_dir / "sans").mkdir(parents=True)
    shutil.copy(DEJAVU / "DejaVuSans.ttf", fonts_dir / "sans" / "DejaVuSans.ttf")
    shutil.copy(DEJAVU / "DejaVuSerif.ttf", fonts_dir / "DejaVuSerif.ttf")
    (fonts_dir / "OFL.txt").write_text("licence")
    fonts = letter.bundled_fonts(fonts_dir)
    assert [f.name for f in fonts] == ["DejaVuSerif.ttf", "DejaVuSans.ttf"]
    context = Context(tmp_path)
    detail = letter.check(context, renderer=letter.render_font_sample, fonts=fonts)
    assert "2 bundled fonts" in detail and "2 fonts embedded" in detail
    from pypdf import PdfReader

    page = PdfReader(context.output("selfcheck-letter.pdf")).pages[0]
    embedded = {name.split("+")[-1] for name in _embedded_names(page)}
    assert {"DejaVuSans", "DejaVuSerif"} <= embedded


def _embedded_names(page) -> set[str]:
    """The base names of the TrueType fonts a page embeds (Type0/CID or simple fonts, ReportLab writes both)."""
    names = set()
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        for candidate in [font, *[d.get_object() for d in font.get("/DescendantFonts", [])]]:
            descriptor = candidate.get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                names.add(str(candidate["/BaseFont"]).lstrip("/"))
    return names


def test_a_font_reportlab_cannot_embed_fails_the_letter_naming_it(tmp_path):
    bad = tmp_path / "fonts" / "NotAFont.ttf"
    bad.parent.mkdir()
    bad.write_bytes(b"OTTO" + b"\0" * 200)
    with pytest.raises(StepFailed, match="NotAFont.ttf cannot be used"):
        letter.check(Context(tmp_path), renderer=letter.render_font_sample, fonts=[bad])


def test_the_letter_hook_takes_another_renderer_and_checks_its_pdf(tmp_path):
    def real_letter(context, out):
        return letter.render_font_sample(context, out, [DEJAVU / "DejaVuSans.ttf"]).replace("font sample", "letter")

    detail = letter.check(Context(tmp_path), renderer=real_letter, fonts=[DEJAVU / "DejaVuSans.ttf"])
    assert detail.startswith("letter with 1 bundled font") and "1 font embedded" in detail

    def truncated(context, out):
        out.write_bytes(b"%PDF-1.4 nothing")
        return "half a letter"

    with pytest.raises(StepFailed, match="not a complete PDF"):
        letter.check(Context(tmp_path), renderer=truncated, fonts=[])


def test_the_manifest_finds_missing_resized_and_changed_files(tmp_path):
    sys.path.insert(0, str(REPO / "installer"))
    try:
        import build
    finally:
        sys.path.pop(0)
    bundle = tmp_path / "umws"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    (bundle / "umws").write_bytes(b"\x7fELF" + b"x" * 100)
    (bundle / "_internal" / "resources" / "rulesets.json").write_text('{"rule_sets": []}')
    (bundle / "_internal" / "resources" / "holidays.json").write_text('{"rules": []}')
    manifest = build.write_manifest(bundle, "9.9")
    assert checks.verify_manifest(manifest) == (3, [])
    (bundle / "_internal" / "resources" / "rulesets.json").unlink()
    (bundle / "_internal" / "resources" / "holidays.json").write_text('{"rules": [9]}')  # one byte longer
    (bundle / "umws").write_bytes(b"\x7fELF")
    count, damaged = checks.verify_manifest(manifest)
    assert count == 3
    assert sorted(damaged) == ["_internal/resources/holidays.json (size 14, built 13)",
                               "_internal/resources/rulesets.json (missing)", "umws (size 4, built 104)"]
    (bundle / "_internal" / "resources" / "holidays.json").write_text('{"rules": {}}')  # same size, other content
    assert "_internal/resources/holidays.json (content changed)" in checks.verify_manifest(manifest)[1]


def test_the_build_refuses_a_bundle_holding_keyrings_alt(tmp_path):
    sys.path.insert(0, str(REPO / "installer"))
    try:
        import build
    finally:
        sys.path.pop(0)
    bundle = tmp_path / "umws"
    for name in ("umws", "umws-gui"):
        (bundle / name).parent.mkdir(parents=True, exist_ok=True)
        (bundle / name).write_bytes(b"\x7fELF")
    for folder in ("_internal/migrations/versions", "_internal/resources/criteria"):
        (bundle / folder).mkdir(parents=True)
    build.check_bundle(bundle, tmp_path / "work")
    (bundle / "_internal" / "keyrings.alt-5.0.2.dist-info").mkdir()
    with pytest.raises(build.BuildError, match="keyrings.alt"):
        build.check_bundle(bundle, tmp_path / "work")


def _selfcheck_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "UMWS_ALLOW_INSECURE_KEYRING"}
    environment.update({"PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen", **env})
    return subprocess.run([sys.executable, "-m", "app", "selfcheck", *args], capture_output=True, text=True,
                          cwd=REPO, env=environment, timeout=300)


def test_the_command_line_prints_one_json_report_and_exits_0(tmp_path):
    home = tmp_path / "home"
    result = _selfcheck_cli("--json", env={"UMWS_HOME": str(home), "UMWS_ALLOW_INSECURE_KEYRING": "1",
                                           "UMWS_SITE_CONFIG": str(tmp_path / "none.toml"),
                                           "PYTHON_KEYRING_BACKEND": "tests.memory_keyring.MemoryKeyring"})
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    from app.version import version

    assert report["passed"] is True and report["frozen"] is False and report["version"] == version()
    assert [s["step"] for s in report["steps"]] == STEP_NAMES
    assert all(set(s) == {"step", "status", "detail", "seconds"} for s in report["steps"])
    assert "Self-check passed with 1 warning" in result.stderr
    assert not (home / "store.db").exists()


def test_the_command_line_exits_1_naming_the_step_when_there_is_no_keyring(tmp_path):
    result = _selfcheck_cli(env={"UMWS_HOME": str(tmp_path / "home"), "UMWS_SITE_CONFIG": str(tmp_path / "none.toml"),
                                 "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.returncode == 1
    lines = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}
    assert lines["keyring"] == "FAIL" and lines["configuration"] == "PASS"
    assert "Self-check FAILED: 1 of 10 steps failed" in result.stderr
