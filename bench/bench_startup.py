"""Cold start to a visible worklist: the frozen bundle against `python main.py`, in the same run (issue 10).

    python bench/bench_startup.py [--bundle dist/umws] [--cases 2000] [--rounds 3] [--platform offscreen]

Both start on the same encrypted store (demo data, made once) with the same real keyring: a GNOME Keyring in a
private D-Bus session that this script starts for itself (Debian's gnome-keyring and dbus; the bundle carries no
plaintext keyring, so it cannot start without one). Each start runs with $UMWS_STARTUP_PROBE, so the GUI writes the
instant its worklist first painted with cases and quits (app/ui/startup_probe.py); the time is from launching the
process to that paint.

"cold": before the start, the page cache of every file the program reads from (the bundle folder; or the venv's
site-packages, the Python standard library and the source tree) is dropped for those files only
(posix_fadvise DONTNEED: other users of the machine keep theirs), so the program comes from disk. "warm": the
same start again at once. Each is the median of --rounds. Also printed: the bundle's size on disk and compressed
(the .tar.gz and .deb that installer/build.py made, if they are in the bundle's dist folder).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SESSION_ENV = "UMWS_BENCH_SESSION"
KEYRING_PASSWORD = "bench-only"


def in_keyring_session(argv: list[str]) -> None:
    """Re-run this script inside `dbus-run-session` with an unlocked GNOME Keyring (once)."""
    if os.environ.get(SESSION_ENV) == "1":
        return
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"bench_startup: needs {', '.join(missing)} (apt-get install dbus gnome-keyring): the bundle "
                 "keeps its store key only in a real keyring.")
    home = tempfile.mkdtemp(prefix="umws-bench-home-")
    env = dict(os.environ, **{SESSION_ENV: "1", "HOME": home, "XDG_CONFIG_HOME": f"{home}/.config",
                              "XDG_DATA_HOME": f"{home}/.local/share", "XDG_CACHE_HOME": f"{home}/.cache"})
    for name in ("PYTHON_KEYRING_BACKEND", "UMWS_ALLOW_INSECURE_KEYRING", "UMWS_DATABASE_URL", "PYTHONPATH"):
        env.pop(name, None)
    result = subprocess.run(["dbus-run-session", "--", sys.executable, __file__, *argv], env=env)
    shutil.rmtree(home, ignore_errors=True)
    sys.exit(result.returncode)


def start_keyring() -> None:
    unlocked = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"], input=KEYRING_PASSWORD,
                              capture_output=True, text=True, check=True)
    for line in unlocked.stdout.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            os.environ[key] = value
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"


def evict(folders: list[Path]) -> int:
    """Drop the page cache of every file under `folders` (for those files only); returns the bytes evicted."""
    total = 0
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else [folder]:
            if path.is_file() and not path.is_symlink():
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    total += os.fstat(fd).st_size
                finally:
                    os.close(fd)
    return total


def start_once(command: list[str], env: dict, probe: Path, timeout: float = 120) -> tuple[float, dict]:
    probe.unlink(missing_ok=True)
    launched = time.time()
    process = subprocess.run(command, env={**env, "UMWS_STARTUP_PROBE": str(probe)}, capture_output=True,
                             text=True, timeout=timeout, cwd=REPO)
    if not probe.exists():
        raise SystemExit(f"bench_startup: {' '.join(command)} exited {process.returncode} without showing its "
                         f"worklist:\n{process.stderr[-2000:]}")
    seen = json.loads(probe.read_text())
    return seen["visible_at"] - launched, seen


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "dist" / "umws")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--platform", default="offscreen", help="Qt platform (offscreen, or xcb under xvfb-run)")
    parser.add_argument("--user", default="nurse.garcia")
    args = parser.parse_args(argv)
    bundle = args.bundle.resolve()
    gui = bundle / ("umws-gui.exe" if sys.platform == "win32" else "umws-gui")
    if not gui.exists():
        sys.exit(f"bench_startup: no bundle at {bundle}; build it with `python installer/build.py`.")
    in_keyring_session(argv)
    start_keyring()

    store_home = Path(tempfile.mkdtemp(prefix="umws-bench-store-"))
    role_of = {"nurse.garcia": "um-nurse", "lead.patel": "nurse-supervisor", "dr.shah": "medical-director"}
    env = {**os.environ, "UMWS_HOME": str(store_home), "QT_QPA_PLATFORM": args.platform,
           # the probe signs in with the demo user's password (demo passwords: app.services.auth.demo_password)
           "UMWS_PASSWORD": os.environ.get("UMWS_DEMO_PASSWORD") or f"demo-{role_of.get(args.user, 'um-nurse')}"}
    source_env = {**env, "PYTHONPATH": str(REPO)}
    made = subprocess.run([str(bundle / "umws"), "demo", "--cases", str(args.cases)], env=env, capture_output=True,
                          text=True)
    if made.returncode != 0:
        sys.exit(f"bench_startup: demo data not made: {made.stderr}")
    probe = store_home / "probe.json"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    purelib = Path(sysconfig.get_paths()["purelib"])
    programs = {
        "python main.py": ([sys.executable, str(REPO / "main.py"), "--user", args.user], source_env,
                           [purelib, stdlib, REPO / "app", REPO / "resources", REPO / "migrations",
                            Path(sys.executable).resolve()]),
        "bundle umws-gui": ([str(gui), "--user", args.user], env, [bundle]),
    }
    times: dict[str, dict[str, list[float]]] = {name: {"cold": [], "warm": []} for name in programs}
    rows = None
    for _ in range(args.rounds):
        for name, (command, program_env, files) in programs.items():
            evict(files)
            cold, seen = start_once(command, program_env, probe)
            warm, _ = start_once(command, program_env, probe)
            times[name]["cold"].append(cold)
            times[name]["warm"].append(warm)
            rows = seen["rows"]
    shutil.rmtree(store_home, ignore_errors=True)

    print(f"# Startup to a visible worklist ({args.cases:,} demo cases, {rows} rows in the first queue of "
          f"{args.user}; Qt platform {args.platform}; median of {args.rounds})")
    print()
    print("| program | cold start (s) | warm start (s) |")
    print("|---|---:|---:|")
    medians = {}
    for name, measured in times.items():
        medians[name] = (statistics.median(measured["cold"]), statistics.median(measured["warm"]))
        print(f"| {name} | {medians[name][0]:.2f} | {medians[name][1]:.2f} |")
    source, frozen = medians["python main.py"], medians["bundle umws-gui"]
    print(f"| ratio bundle / python main.py | {frozen[0] / source[0]:.2f} | {frozen[1] / source[1]:.2f} |")
    print()
    print(f"all runs (s): {json.dumps({k: {m: [round(x, 2) for x in v] for m, v in d.items()} for k, d in times.items()})}")
    print()
    print("| bundle size | MB |")
    print("|---|---:|")
    print(f"| {bundle.name}/ on disk | {du(bundle) / 1e6:.0f} |")
    for package in sorted(bundle.parent.glob("umws*.tar.gz")) + sorted(bundle.parent.glob("umws*.deb")):
        print(f"| {package.name} | {package.stat().st_size / 1e6:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
