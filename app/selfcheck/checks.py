"""The self-check's steps, in the order they run (app/selfcheck/__init__.py explains the report).

Each step returns what it found in words, or raises StepFailed (or StepWarning) saying why. A step that needs the
store is skipped when the store step failed, so one missing file reads as one failure, not ten.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import pkgutil
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path

from app.selfcheck import Context, Step, StepFailed, StepWarning

DEMO_CASES = 40
MANIFEST = "umws-manifest.json"  # written into the bundle by installer/build.py


def _data_root() -> Path:
    """The folder holding resources/ and migrations/: the bundle's _internal folder, or the source tree."""
    return Path(__file__).resolve().parents[2]


# --- configuration ----------------------------------------------------------------------------------------------

def check_configuration(context: Context) -> str:
    from app import config

    try:
        settings = config.reload()
    except config.ConfigError as error:
        raise StepFailed(str(error)) from error
    described = settings.describe()
    parts = []
    if settings.machine_file in settings.files_read:
        parts.append(f"machine-wide file {settings.machine_file} read ({len(settings.locked)} setting"
                     f"{'s' if len(settings.locked) != 1 else ''} locked)")
    else:
        parts.append(f"no machine-wide file at {settings.machine_file}")
    parts.append(f"user file {settings.user_file} " + ("read" if settings.user_file in settings.files_read
                                                       else "not present"))
    for setting in described["settings"]:
        parts.append(f"{setting['key']} = {setting['value']}" + (" (locked)" if setting["locked"] else ""))
    detail = "; ".join(parts)
    if settings.ignored:
        raise StepWarning(detail + "; " + "; ".join(settings.ignored))
    return detail


# --- the files the app needs -----------------------------------------------------------------------------------

ESSENTIAL = (
    "migrations/env.py",
    "resources/rulesets.json",
    "resources/holidays.json",
    "resources/criteria/schema.json",
    "resources/demo/codes.json",
    "resources/icons/umws.svg",
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_files(context: Context) -> str:
    """The data files are there (and, in the bundle, every file the build put there, whole)."""
    from app.domain.criteria.validate import shipped_sets
    from app.store import migrate

    root = _data_root()
    missing = [name for name in ESSENTIAL if not (root / name).is_file()]
    versions = sorted((root / "migrations" / "versions").glob("*.py"))
    if not versions:
        missing.append("migrations/versions/*.py")
    if missing:
        raise StepFailed(f"missing from {root}: {', '.join(missing)}. Reinstall the workstation.")
    head = migrate.head_revision()
    criteria = shipped_sets()
    found = f"{len(versions)} migrations (head {head}), {len(criteria)} criteria sets"
    if not getattr(sys, "frozen", False):
        return found + f" in the source tree {root} (no bundle manifest to compare)"
    manifest = bundle_manifest()
    if not manifest.is_file():
        raise StepFailed(f"the bundle's list of files {manifest} is missing. Reinstall the workstation.")
    count, damaged = verify_manifest(manifest)
    if damaged:
        shown = ", ".join(damaged[:8]) + (f" and {len(damaged) - 8} more" if len(damaged) > 8 else "")
        raise StepFailed(f"{len(damaged)} of the bundle's {count} files are missing or damaged: {shown}. "
                         "Reinstall the workstation.")
    return found + f"; all {count} files of the bundle present and whole"


def bundle_manifest() -> Path:
    """The list of files installer/build.py wrote: in the bundle's _internal folder (Windows, Linux), or in the
    .app's Contents/Resources (macOS, where _internal is Contents/Frameworks)."""
    internal = Path(getattr(sys, "_MEIPASS", _data_root()))
    candidates = [internal / MANIFEST, internal.parent / "Resources" / MANIFEST]
    return next((path for path in candidates if path.is_file()), candidates[0])


def verify_manifest(manifest: Path) -> tuple[int, list[str]]:
    """Compare a bundle with the list of files its build wrote (installer/build.py): how many files the list
    holds, and each one missing, of another size, or (for the data files) of other content. Paths are relative to
    the bundle's root, which is the manifest's `root` relative to the manifest's folder."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    bundle = (manifest.parent / data.get("root", "..")).resolve()
    entries = data["files"]
    damaged: list[str] = []
    for entry in entries:
        path = bundle / entry["path"]
        if not path.is_file():
            damaged.append(f"{entry['path']} (missing)")
        elif path.stat().st_size != entry["size"]:
            damaged.append(f"{entry['path']} (size {path.stat().st_size}, built {entry['size']})")
        elif "sha256" in entry and _sha256(path) != entry["sha256"]:
            damaged.append(f"{entry['path']} (content changed)")
    return len(entries), damaged


# --- imports ----------------------------------------------------------------------------------------------------

SKIP_MODULES = {"app.__main__"}  # runs the command line when imported


def check_imports(context: Context) -> str:
    """Every module of the app imports (a hidden import the bundle missed shows here), and the database drivers."""
    import app

    failed: list[str] = []
    count = 0
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if module.name in SKIP_MODULES:
            continue
        count += 1
        try:
            importlib.import_module(module.name)
        except Exception as error:  # noqa: BLE001 - each import failure is reported
            failed.append(f"{module.name} ({type(error).__name__}: {error})")
    drivers = []
    for name in ("sqlcipher3.dbapi2", "psycopg"):
        try:
            importlib.import_module(name)
            drivers.append(name)
        except Exception as error:  # noqa: BLE001
            failed.append(f"{name} ({type(error).__name__}: {error})")
    if "psycopg" in drivers:
        import psycopg

        drivers[-1] = f"psycopg ({psycopg.pq.__impl__} libpq {psycopg.pq.version()})"
    if getattr(sys, "frozen", False) and _importable("keyrings.alt"):
        failed.append("keyrings.alt is in the bundle: it would keep the store key in a plaintext file; rebuild "
                      "without it (installer/build.py)")
    if failed:
        raise StepFailed(f"{len(failed)} module{'s' if len(failed) != 1 else ''} cannot be imported: "
                         + "; ".join(failed))
    return f"{count} app modules and the drivers {', '.join(drivers)}"


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # its parent package is not there either
        return False


# --- keyring ----------------------------------------------------------------------------------------------------

def check_keyring(context: Context) -> str:
    """The keyring backend keyring resolves, and whether it really keeps and returns a secret.

    No usable backend, or one that would keep the key in plaintext, is a failure; under UMWS_ALLOW_INSECURE_KEYRING=1
    (headless CI) only a warning. The test secret is removed again; the store key is never touched."""
    import keyring
    import keyring.backend

    from app.store import keys

    backend = keyring.get_keyring()
    name = keys.describe_backend()
    allowed = os.environ.get(keys.INSECURE_ENV) == "1"
    available = ", ".join(sorted(
        f"{type(b).__module__}.{type(b).__qualname__}" for b in keyring.backend.get_all_keyring())) or "none"

    def refuse(reason: str):
        if allowed:
            return StepWarning(f"{reason}; allowed only because {keys.INSECURE_ENV}=1 (CI and demos): this machine "
                               "could not keep a real store's key")
        return StepFailed(f"{reason}. Sign in to a desktop session with a keyring (Windows Credential Manager, "
                          "macOS Keychain, GNOME Keyring or KWallet) and run the self-check again")

    if name.startswith("keyring.backends.fail"):
        raise refuse(f"no usable keyring backend (resolved {name}; backends found: {available})")
    account = "selfcheck-" + secrets.token_hex(8)
    secret = secrets.token_hex(16)
    try:
        backend.set_password(keys.SERVICE, account, secret)
        back = backend.get_password(keys.SERVICE, account)
        backend.delete_password(keys.SERVICE, account)
    except Exception as error:  # noqa: BLE001 - keyring errors come in many kinds
        raise refuse(f"the keyring {name} cannot keep a secret ({type(error).__name__}: {error})") from error
    if back != secret:
        raise refuse(f"the keyring {name} did not return the test secret it was given")
    if not keys._is_secure(backend):
        raise refuse(f"the keyring {name} would keep the store key in plaintext")
    return f"{name} keeps and returns a secret"


# --- the throwaway store ----------------------------------------------------------------------------------------

def check_store(context: Context) -> str:
    """A fresh encrypted store with a random key (never written to the keyring), migrated to the head revision."""
    from app.store import migrate
    from app.store.engine import PLAIN_SQLITE_HEADER, open_encrypted_file
    from app.store.errors import WrongKey

    path = context.folder / "selfcheck.db"
    key = secrets.token_hex(32)
    store = open_encrypted_file(path, key)
    context.store = store
    revision, head = migrate.current_revision(store.engine), migrate.head_revision()
    if revision != head:
        raise StepFailed(f"the migrations stopped at {revision}, not at the head revision {head}")
    with path.open("rb") as handle:
        if handle.read(16) == PLAIN_SQLITE_HEADER:
            raise StepFailed(f"{path} was written unencrypted: the SQLCipher driver is not the one in use")
    try:
        open_encrypted_file(path, secrets.token_hex(32), upgrade=False).close()
    except WrongKey:
        pass
    else:
        raise StepFailed("the store opened with a wrong key: it is not encrypted")
    with store.engine.connect() as connection:
        cipher = connection.exec_driver_sql("PRAGMA cipher_version").scalar()
    return f"encrypted store (SQLCipher {cipher}) migrated to {head}; a wrong key is refused"


def check_demo(context: Context) -> str:
    from sqlalchemy import func, select

    from app.services import demo
    from app.store.models import Case, User

    result = demo.generate(context.store, DEMO_CASES, seed=20261120)
    with context.store.session() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        users = session.scalar(select(func.count()).select_from(User))
        # A supervisor sees every open case ("All open"), so the window step has a worklist to show.
        nurse = session.scalar(select(User.username).where(User.role == "nurse-supervisor").order_by(User.username))
    if cases != DEMO_CASES or not nurse:
        raise StepFailed(f"the demo data holds {cases} cases and no nurse supervisor" if not nurse
                         else f"the demo data holds {cases} cases, not {DEMO_CASES}")
    context.username = nurse
    return f"{result.cases} cases, {result.members} members, {users} users (working as {nurse})"


def _utc(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def check_clocks(context: Context) -> str:
    """Every demo case's clocks, and the stored decision due agrees with the clock engine's (same calendar)."""
    from sqlalchemy import select

    from app.domain.calendar import configured_calendar_file
    from app.domain.clocks import compute_clocks, default_rule_book
    from app.store.case_details import clock_request_of
    from app.store.models import Case
    from app.store.stays import is_stay

    disagree: list[str] = []
    rules: set[str] = set()
    with context.store.session() as session:
        cases = session.scalars(select(Case)).all()
        for case in cases:
            clocks = compute_clocks(clock_request_of(case), extensions=case.extensions_taken or 0)
            if is_stay(session, case.tar):
                continue  # a stay's case is due at its reviews (app.store.stays), not the admission request's clock
            rules.add(clocks.decision_rule)
            if clocks.decision_due <= _utc(case.received_at):
                disagree.append(f"TAR {case.tar}: due {clocks.decision_due} is not after receipt")
            elif case.decision_due_at is not None and _utc(case.decision_due_at) != clocks.decision_due:
                disagree.append(f"TAR {case.tar}: the engine gives {clocks.decision_due}, the case holds "
                                f"{_utc(case.decision_due_at)}")
    if disagree:
        raise StepFailed("; ".join(disagree[:5]))
    book = default_rule_book()
    titles = ", ".join(sorted(book.get(rule).title for rule in rules))
    return f"clocks of {len(cases)} cases under {titles}; calendar {configured_calendar_file()}"


def check_criteria(context: Context) -> str:
    """The best-matching shipped criteria set of a demo case, evaluated on the case's facts."""
    from sqlalchemy import select

    from app.domain.criteria import evaluate
    from app.domain.criteria.matching import MatchRequest
    from app.store.criteria_answers import case_facts
    from app.store.criteria_library import library
    from app.store.models import Case

    with context.store.session() as session:
        lib = library(session)
        for case in session.scalars(select(Case).order_by(Case.tar)):
            facts = case_facts(session, case)
            matches = lib.match(MatchRequest.from_facts(facts))
            if not matches:
                continue
            cset = matches[0].set
            result = evaluate(cset, facts)
            machine = len(result.machine)
            return (f"TAR {case.tar}: {cset.id} {cset.version} ({machine} machine answer"
                    f"{'s' if machine != 1 else ''}) -> {result.result.label}")
    raise StepFailed(f"none of the {DEMO_CASES} demo cases matched a shipped criteria set")


def check_letter(context: Context) -> str:
    from app.selfcheck import letter

    return letter.check(context)


def check_window(context: Context) -> str:
    from app.ui.selfcheck_window import open_main_window_offscreen

    return open_main_window_offscreen(context)


STEPS = [
    Step("configuration", check_configuration),
    Step("data files", check_files),
    Step("imports", check_imports),
    Step("keyring", check_keyring),
    Step("encrypted store", check_store),
    Step("demo data", check_demo, needs=("encrypted store",)),
    Step("clocks", check_clocks, needs=("demo data", "configuration")),
    Step("criteria", check_criteria, needs=("demo data",)),
    Step("letter", check_letter, needs=("demo data",)),
    Step("main window", check_window, needs=("demo data",)),
]
