"""Build the workstation bundle and, on Linux, its packages (issue 10, scopes 1 and 2).

    python installer/build.py [--no-packages] [--clean] [--dist DIR] [--work DIR]

1. PyInstaller with installer/umws.spec -> DIST/umws/ (one folder: `umws` command line, `umws-gui` window).
2. Checks of the result: both executables are there, and keyrings.alt is not (neither its modules in the archive
   nor its metadata): the store key must never fall back to a plaintext file.
3. DIST/umws/_internal/umws-manifest.json: every file of the bundle with its size (and the SHA-256 of the data
   files), which `umws selfcheck` compares against, so a damaged or partial install says what is missing.
4. On Linux, unless --no-packages: DIST/umws-VERSION-linux-ARCH.tar.gz and DIST/umws_VERSION_ARCH.deb (dpkg-deb),
   with the desktop entry and the SVG icon. Windows (Inno Setup) and macOS (.app/.dmg) are built on those systems
   with the scripts in installer/windows and installer/macos (installer/README.md).

The version is pyproject.toml's. PyInstaller's work folder (default build/pyinstaller) is kept between runs, so a
rebuild after a change in app/ reuses the analysis of the libraries; --clean starts afresh.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "installer" / "umws.spec"
LINUX = ROOT / "installer" / "linux"
MANIFEST = "umws-manifest.json"
HASHED = ("_internal/resources/", "_internal/migrations/", "_internal/pyproject.toml")

# What the bundled Qt needs from a Debian/Ubuntu desktop (xcb platform plugin, OpenGL, fonts, D-Bus for the keyring).
DEB_DEPENDS = ("libc6 (>= 2.31), libegl1, libgl1, libfontconfig1, libfreetype6, libxkbcommon0, libxkbcommon-x11-0, "
               "libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, "
               "libxcb-render-util0, libxcb-shape0, libxcb-xfixes0, libxcb-xkb1, libdbus-1-3, "
               "libglib2.0-0t64 | libglib2.0-0")
DEB_RECOMMENDS = "gnome-keyring | kwalletmanager | keepassxc"


class BuildError(Exception):
    pass


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def say(message: str) -> None:
    print(f"build: {message}", file=sys.stderr, flush=True)


def run_pyinstaller(dist: Path, work: Path, clean: bool) -> Path:
    try:
        import PyInstaller  # noqa: F401
    except ImportError as error:
        raise BuildError("PyInstaller is not installed in this Python. Install the build tools with "
                         "`pip install -e '.[installer]'` and run again.") from error
    command = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work)]
    if clean:
        command.append("--clean")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    say(f"PyInstaller {SPEC.relative_to(ROOT)} -> {dist / 'umws'}")
    subprocess.run(command, check=True, cwd=ROOT, env=env)
    return dist / "umws"


def executable(bundle: Path, name: str) -> Path:
    return bundle / (f"{name}.exe" if sys.platform == "win32" else name)


def archived_modules(work: Path) -> list[str]:
    """The module names in the bundle's Python archive (PYZ)."""
    from PyInstaller.archive.readers import ZlibArchiveReader

    names: list[str] = []
    for archive in work.rglob("PYZ-*.pyz"):
        names.extend(ZlibArchiveReader(str(archive)).toc.keys())
    return names


def check_bundle(bundle: Path, work: Path) -> None:
    for name in ("umws", "umws-gui"):
        if not executable(bundle, name).is_file():
            raise BuildError(f"{executable(bundle, name)} was not built")
    shipped = [str(path.relative_to(bundle)) for path in bundle.rglob("*")
               if "keyrings" in path.name.lower() or path.name.lower().startswith("keyrings.alt")]
    shipped += [f"module {name}" for name in archived_modules(work) if name == "keyrings" or name.startswith("keyrings.")]
    if shipped:
        raise BuildError("the bundle holds keyrings.alt, whose backends keep secrets in plaintext files: "
                         + ", ".join(shipped[:5]) + ". Check the excludes in installer/umws.spec.")
    for folder in ("_internal/migrations/versions", "_internal/resources/criteria"):
        if not (bundle / folder).is_dir():
            raise BuildError(f"{bundle / folder} is missing from the bundle")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(bundle: Path, version: str, target: Path | None = None) -> Path:
    """The list of the bundle's files for `umws selfcheck`, at `target` (default _internal/umws-manifest.json),
    with paths relative to `bundle` (a one-folder bundle, or a macOS .app's Contents)."""
    target = target or bundle / "_internal" / MANIFEST
    files = []
    for path in sorted(bundle.rglob("*")):
        if path == target or path.is_dir() or path.is_symlink():
            continue
        relative = path.relative_to(bundle).as_posix()
        entry = {"path": relative, "size": path.stat().st_size}
        if relative.startswith(HASHED):
            entry["sha256"] = _sha256(path)
        files.append(entry)
    root = os.path.relpath(bundle, target.parent)
    target.write_text(json.dumps({"version": version, "root": Path(root).as_posix(), "files": files}, indent=1),
                      encoding="utf-8")
    return target


def dir_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def _debian_arch() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def make_tarball(bundle: Path, dist: Path, version: str) -> Path:
    """umws-VERSION-linux-ARCH.tar.gz: the bundle folder `umws/`, with share/ holding the desktop entry and icon."""
    target = dist / f"umws-{version}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as archive:
        archive.add(bundle, arcname="umws", filter=_normalise)
        archive.add(LINUX / "umws.desktop", arcname="umws/share/applications/umws.desktop", filter=_normalise)
        archive.add(ROOT / "resources" / "icons" / "umws.svg",
                    arcname="umws/share/icons/hicolor/scalable/apps/umws.svg", filter=_normalise)
    return target


def _place(source: Path, target: Path) -> None:
    """Copy a file into the package tree (a hard link where the file system allows: the bundle is large)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def make_deb(bundle: Path, dist: Path, work: Path, version: str) -> Path:
    """umws_VERSION_ARCH.deb: /opt/umws (the bundle), /usr/bin/umws and umws-gui, the desktop entry and icon."""
    if shutil.which("dpkg-deb") is None:
        raise BuildError("dpkg-deb is not installed (Debian's dpkg package); build with --no-packages or install it")
    arch = _debian_arch()
    root = work / "deb" / f"umws_{version}_{arch}"
    if root.exists():
        shutil.rmtree(root)
    for path in bundle.rglob("*"):
        target = root / "opt" / "umws" / path.relative_to(bundle)
        if path.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.readlink(path))
        elif path.is_file():
            _place(path, target)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("umws", "umws-gui"):
        (bin_dir / name).symlink_to(f"/opt/umws/{name}")
    _place(LINUX / "umws.desktop", root / "usr" / "share" / "applications" / "umws.desktop")
    _place(ROOT / "resources" / "icons" / "umws.svg",
           root / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "umws.svg")
    doc = root / "usr" / "share" / "doc" / "umws"
    _place(ROOT / "installer" / "README.md", doc / "README.md")
    _place(LINUX / "umws.toml.example", doc / "umws.toml.example")
    _place(LINUX / "copyright", doc / "copyright")
    control = root / "DEBIAN"
    control.mkdir()
    installed_kb = dir_size(root) // 1024
    (control / "control").write_text(
        f"Package: umws\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: UM Reviewer Workstation maintainers <umws-maintainers@plan.example>\n"
        f"Installed-Size: {installed_kb}\nSection: misc\nPriority: optional\nDepends: {DEB_DEPENDS}\n"
        f"Recommends: {DEB_RECOMMENDS}\nHomepage: https://plan.example/umws\n"
        "Description: UM reviewer workstation for a Medi-Cal managed care plan\n"
        " Worklists, regulatory clocks, criteria checklists and Notices of Action over an encrypted local case\n"
        " store. Self-contained: brings its own Python and Qt. Machine-wide settings: /etc/xdg/umws/umws.toml\n"
        " (see /usr/share/doc/umws/umws.toml.example). Check an installation with `umws selfcheck`.\n",
        encoding="utf-8")
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        wanted = 0o755 if path.is_dir() or mode & stat.S_IXUSR else 0o644
        if stat.S_IMODE(mode) != wanted:
            if path.stat().st_nlink > 1 and path.is_file():  # a hard link shares its mode with dist/: copy instead
                path.unlink()
                shutil.copy2(bundle / path.relative_to(root / "opt" / "umws"), path)
            path.chmod(wanted)
    target = dist / f"umws_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root), str(target)],
                   check=True, stdout=subprocess.DEVNULL)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python installer/build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle goes (default dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller's work folder, kept between runs (default build/pyinstaller)")
    parser.add_argument("--no-packages", action="store_true", help="only the bundle, no .tar.gz or .deb")
    parser.add_argument("--clean", action="store_true", help="start PyInstaller's analysis afresh")
    args = parser.parse_args(argv)
    version = project_version()
    started = time.monotonic()
    try:
        bundle = run_pyinstaller(args.dist.resolve(), args.work.resolve(), args.clean)
        check_bundle(bundle, args.work.resolve())
        write_manifest(bundle, version)
        app = args.dist.resolve() / "UM Reviewer Workstation.app"
        if sys.platform == "darwin" and app.is_dir():  # before installer/macos/build_dmg.sh signs it
            write_manifest(app / "Contents", version, app / "Contents" / "Resources" / MANIFEST)
        say(f"bundle {bundle} ({dir_size(bundle) / 1e6:.0f} MB on disk), version {version}, "
            f"{time.monotonic() - started:.0f} s")
        if not args.no_packages and sys.platform.startswith("linux"):
            for make in (lambda: make_tarball(bundle, args.dist, version),
                         lambda: make_deb(bundle, args.dist, args.work.resolve(), version)):
                began = time.monotonic()
                package = make()
                say(f"{package} ({package.stat().st_size / 1e6:.0f} MB, {time.monotonic() - began:.0f} s)")
    except BuildError as error:
        say(f"failed: {error}")
        return 2
    except subprocess.CalledProcessError as error:
        say(f"failed: {' '.join(map(str, error.cmd[:4]))} … exited with {error.returncode}")
        return 1
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
