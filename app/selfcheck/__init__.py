"""`umws selfcheck`: does this installation work? (issue 10, scope 4)

Runs the workstation's main paths end to end on a throwaway store, one step at a time, and reports each as passed,
warning, failed or skipped (a step whose prerequisite failed), with the reason. In the frozen bundle it is the test
that catches a missing data file or a hidden import; on a laptop it is what IT runs when something is wrong.

Nothing of the user's is touched: the store is a fresh encrypted file in a temporary folder with a random key that
is never written to the keyring, the main window keeps its settings in that folder, and the folder is removed at
the end (unless `keep` names a folder for the letter PDF and the window's screenshot).

The steps are in `app.selfcheck.checks`; the letter step's renderer is the hook in `app.selfcheck.letter`.
"""
from __future__ import annotations

import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.version import version

log = logging.getLogger("umws.selfcheck")

PASSED, WARNING, FAILED, SKIPPED = "passed", "warning", "failed", "skipped"


class StepWarning(Exception):
    """The step worked, with a reservation the report must show (e.g. an insecure keyring allowed for CI)."""


class StepFailed(Exception):
    """The step failed; the message says why and, where it can, what to do."""


@dataclass
class Context:
    """What the steps share: the temporary folder, the throwaway store and the demo user to work as."""
    folder: Path
    keep: Path | None = None
    store: object | None = None  # app.store.engine.Store once the store step passed
    username: str | None = None
    facts: dict = field(default_factory=dict)

    def output(self, name: str) -> Path:
        """Where a step writes a file to look at: the `keep` folder when given, else the temporary folder."""
        return (self.keep or self.folder) / name


@dataclass
class Step:
    name: str
    run: Callable[[Context], str]
    needs: tuple[str, ...] = ()  # names of steps that must have passed (or warned) first


@dataclass
class StepResult:
    step: str
    status: str
    detail: str
    seconds: float

    def to_json(self) -> dict:
        return {"step": self.step, "status": self.status, "detail": self.detail, "seconds": round(self.seconds, 3)}


@dataclass
class Report:
    version: str
    frozen: bool
    install_dir: str
    results: list[StepResult]

    @property
    def passed(self) -> bool:
        return all(result.status in (PASSED, WARNING) for result in self.results)

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    def to_json(self) -> dict:
        return {"version": self.version, "frozen": self.frozen, "install_dir": self.install_dir,
                "passed": self.passed, "steps": [result.to_json() for result in self.results]}

    def summary(self) -> str:
        warnings = self.count(WARNING)
        warned = f" with {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        if self.passed:
            return f"Self-check passed{warned}: {len(self.results)} steps."
        failed, skipped = self.count(FAILED), self.count(SKIPPED)
        return (f"Self-check FAILED: {failed} of {len(self.results)} steps failed"
                + (f", {skipped} skipped because of them" if skipped else "") + f"{warned}. See the reasons above.")


def install_dir() -> Path:
    """The folder the workstation runs from: the bundle's folder when frozen, else the source tree."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parents[2]


def run_step(step: Step, context: Context, done: dict[str, str]) -> StepResult:
    missing = [need for need in step.needs if done.get(need) not in (PASSED, WARNING)]
    if missing:
        return StepResult(step.name, SKIPPED, f"not run: needs the {', '.join(missing)} step", 0.0)
    started = time.perf_counter()
    try:
        status, detail = PASSED, step.run(context)
    except StepWarning as warning:
        status, detail = WARNING, str(warning)
    except StepFailed as failure:
        status, detail = FAILED, str(failure)
    except Exception as error:  # noqa: BLE001 - any failure of a step is its result, never a crash of the check
        from app import logs

        path = logs.configure()
        log.exception("self-check step %s failed", step.name)
        status, detail = FAILED, f"{type(error).__name__}: {error} (the traceback is in {path})"
    return StepResult(step.name, status, detail, time.perf_counter() - started)


def run(steps: list[Step] | None = None, *, keep: Path | None = None,
        progress: Callable[[StepResult], None] | None = None) -> Report:
    """Run the steps (default: all of `checks.STEPS`) and return the report; never raises for a failed step."""
    from app.selfcheck import checks

    steps = checks.STEPS if steps is None else steps
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    results: list[StepResult] = []
    done: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="umws-selfcheck-", ignore_cleanup_errors=True) as folder:
        context = Context(Path(folder), keep)
        try:
            for step in steps:
                result = run_step(step, context, done)
                done[step.name] = result.status
                results.append(result)
                if progress:
                    progress(result)
        finally:
            if context.store is not None:
                context.store.close()
    return Report(version(), bool(getattr(sys, "frozen", False)), str(install_dir()), results)
