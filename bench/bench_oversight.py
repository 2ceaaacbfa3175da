"""Program oversight at scale (issue 14): the committee dashboard and packet over a year of 200,000 cases.

Targets (issue 14): the dashboard for a year of 200,000 cases opens in under 1 s, with aggregation in SQL; the
packet renders in under 10 s. Measured on one encrypted store file, in one run:
- each section's figures function (SQL GROUP BY through SQLAlchemy, then Python) and, as the baseline, the very
  statements it sent, captured and run again on the raw DB-API driver (sqlcipher3); the ratio is our overhead;
- the whole dashboard (`app.store.committee.build`: every section's figures and views) and what a user sees: the
  dashboard window offscreen from Refresh to its sections painted;
- the packet: figures + ReportLab rendering of every section to PDF bytes.

    python bench/bench_oversight.py [--cases 200000] [--store DIR]
    python bench/bench_oversight.py --store DIR --fresh [--os-cold]   # the first opening in a fresh process

The demo data (a year of cases, their criteria work, the year's IRR sample re-reviewed by the demo auditor up to
--audited cases) is made by a child process first; --store keeps it in DIR for the next run (the key is kept in
DIR/key, a throwaway for synthetic data).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"


def _prepare(store_dir: str | None) -> None:
    home = store_dir or os.environ.get("UMWS_HOME") or tempfile.mkdtemp(prefix="umws-bench-")
    Path(home).mkdir(parents=True, exist_ok=True)
    os.environ["UMWS_HOME"] = home
    key_file = Path(home) / "key"
    if "UMWS_BENCH_KEY" not in os.environ:
        if not key_file.exists():
            key_file.write_text(os.urandom(32).hex())
        os.environ["UMWS_BENCH_KEY"] = key_file.read_text().strip()


def _keyring() -> None:
    import keyring

    from app.store import keys
    from app.store.engine import default_store_path
    from tests.memory_keyring import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    keyring.get_keyring().set_password(keys.SERVICE, keys._account(default_store_path()),
                                       os.environ["UMWS_BENCH_KEY"])


def timed(function, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def painted_in(app, window, started: float) -> tuple[float, float]:
    """Milliseconds from `started` to the dashboard's first section shown and to every section shown, painted."""
    first = None
    while window.busy:
        app.processEvents()
        if first is None and window.sections:
            window.grab()
            first = (time.perf_counter() - started) * 1000
        time.sleep(0.001)
    app.processEvents()
    window.grab()  # paints the visible sections
    done = (time.perf_counter() - started) * 1000
    return (first if first is not None else done), done


def fresh_child(warmed: bool) -> None:
    """A new process as the workstation starts one (its modules imported, the store opened), then the dashboard
    window opened from the menu: at once, or after the warm-up a lead's main window runs after sign-in
    (app.ui.committee_dashboard.WarmUp on the store worker). Prints one line of JSON."""
    import json

    started = time.perf_counter()
    import app.ui.main_window  # noqa: F401 - what the workstation has imported when its window shows
    from PySide6.QtWidgets import QApplication

    from app.store.engine import open_local_store
    from app.ui.tasks import TaskQueue

    from app.domain.plantime import to_plan

    qt = QApplication.instance() or QApplication([])
    store = open_local_store()
    # The demo's last quarter (most of its year's cases: the heaviest), as the in-process openings above
    today = date(to_plan(datetime.now(timezone.utc)).year + 1, 1, 5)
    worker = TaskQueue("store reads")
    ready = (time.perf_counter() - started) * 1000
    warm_up_ms = None
    if warmed:
        from app.ui.committee_dashboard import WarmUp

        begun = time.perf_counter()
        warm_up = WarmUp(store, worker, today=today)
        while not warm_up.done:
            qt.processEvents()
            time.sleep(0.001)
        warm_up_ms = (time.perf_counter() - begun) * 1000
    clicked = time.perf_counter()
    from app.ui.committee_dashboard import CommitteeDashboard

    window = CommitteeDashboard(store, worker=worker, today=today)
    window.resize(1280, 860)
    window.show()
    first, done = painted_in(qt, window, clicked)
    window.close()
    worker.stop()
    store.close()
    print(json.dumps({"started_ms": ready, "warm_up_ms": warm_up_ms, "first_ms": first, "all_ms": done}))


def fresh(args, runs: int = 3) -> None:
    """The window opened first thing in fresh processes, without and with the warm-up, alternating; with
    --os-cold the OS page cache is dropped before each (root only: the file is read from disk again)."""
    import json

    print(f"\n{'fresh process, window opened':<34}{'ready':>8}{'warm-up':>9}{'1st':>8}{'all ms':>8}")
    results = {False: [], True: []}
    for _ in range(runs):
        for warmed in (False, True):
            if args.os_cold:
                subprocess.run(["sync"], check=True)
                Path("/proc/sys/vm/drop_caches").write_text("3\n")
            line = subprocess.run([sys.executable, __file__, "--fresh-child", "warmed" if warmed else "cold"]
                                  + (["--store", args.store] if args.store else []),
                                  check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            result = json.loads(line)
            results[warmed].append(result)
            print(f"{'after the warm-up' if warmed else 'at once':<34}{result['started_ms']:>8.0f}"
                  f"{result['warm_up_ms'] or 0:>9.0f}{result['first_ms']:>8.0f}{result['all_ms']:>8.0f}")
    at_once = statistics.median(r["all_ms"] for r in results[False])
    warmed_up = statistics.median(r["all_ms"] for r in results[True])
    print(f"{'median, every section painted':<34}{at_once:>8.0f} at once, {warmed_up:.0f} after the warm-up "
          f"(ratio {at_once / warmed_up:.2f}){' OS-cold' if args.os_cold else ''}")


def generate(cases: int, audited: int) -> None:
    from app.domain.plantime import to_plan
    from app.services import demo
    from app.services.demo_oversight import work_demo_audit
    from app.store.engine import open_local_store

    store = open_local_store()
    demo.generate(store, cases, seed=1)
    work_demo_audit(store, to_plan(datetime.now(timezone.utc)).year, limit=audited)
    store.close()


def raw_runner(store, key: str):
    """Run the exact statements a section ran (captured from its engine) on the raw DB-API driver (sqlcipher3)."""
    import sqlcipher3

    connection = sqlcipher3.connect(store.location)
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    connection.execute("PRAGMA cache_size=-65536")
    connection.execute("PRAGMA temp_store=MEMORY")

    def run(statements):
        for sql, params in statements:
            connection.execute(sql, params).fetchall()

    return run


def captured(store, function) -> list[tuple[str, tuple]]:
    """The SELECT statements (and their parameters) `function` sends to the store."""
    from sqlalchemy import event

    statements = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, tuple(parameters)))

    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        function()
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    return statements


def cpu_timed(function, repeat: int = 5) -> tuple[float, float]:
    """(median wall ms, median CPU ms of this process)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--audited", type=int, default=400, help="IRR sample cases the demo auditor re-reviews")
    parser.add_argument("--store", default=None, help="keep the store in this folder and reuse it")
    parser.add_argument("--fresh", action="store_true",
                        help="only the window opened first thing in fresh processes, without and with the warm-up")
    parser.add_argument("--os-cold", action="store_true", help="with --fresh: drop the OS page cache first (root)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fresh-child", choices=["cold", "warmed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    _prepare(args.store)
    _keyring()
    if args.generate_only:
        generate(args.cases, args.audited)
        return
    if args.fresh_child:
        fresh_child(args.fresh_child == "warmed")
        return
    from app.store.engine import default_store_path

    if not default_store_path().exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--cases", str(args.cases), "--audited", str(args.audited),
                        "--generate-only"] + (["--store", args.store] if args.store else []), check=True)
        print(f"demo data: {args.cases:,} cases in {time.perf_counter() - started:.1f} s (child process)")
    if args.fresh:
        fresh(args)
        return

    from sqlalchemy import func, select

    from app.domain.committee import Filters
    from app.domain.plantime import to_plan
    from app.letters.committee_packet import render_packet
    from app.store.committee import SECTIONS, build
    from app.store.engine import open_local_store
    from app.store.models import Case, IrrReview

    store = open_local_store()
    now = datetime.now(timezone.utc)
    year = to_plan(now).year
    filters = Filters(date(year, 1, 1), date(year, 12, 31))
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(Case))
        in_year = session.scalar(select(func.count()).select_from(Case).where(
            Case.received_at >= datetime(year, 1, 1, 8, tzinfo=timezone.utc)))
        reviewed = session.scalar(select(func.count()).select_from(IrrReview).where(
            IrrReview.submitted_at.is_not(None)))
    print(f"store: {total:,} cases, {in_year:,} received in {year}; {reviewed} IRR re-reviews submitted")
    raw = raw_runner(store, os.environ["UMWS_BENCH_KEY"])
    print(f"\n{'section figures (SQL)':<34}{'ours ms':>9}{'cpu ms':>8}{'raw ms':>9}{'ratio':>7}")
    raw_total = 0.0
    for section in SECTIONS:
        def ours(section=section):
            with store.session() as session:
                section.figures(session, filters, now)
        statements = captured(store, ours)
        (ours_ms, ours_cpu), raw_ms = cpu_timed(ours), timed(lambda: raw(statements))
        raw_total += raw_ms
        print(f"{section.title:<34}{ours_ms:>9.1f}{ours_cpu:>8.1f}{raw_ms:>9.1f}{ours_ms / raw_ms:>7.2f}")

    def whole():
        with store.session() as session:
            return build(session, filters, now)

    dashboard_ms, dashboard_cpu = cpu_timed(whole)
    print(f"{'whole dashboard (build)':<34}{dashboard_ms:>9.1f}{dashboard_cpu:>8.1f}{raw_total:>9.1f}"
          f"{dashboard_ms / raw_total:>7.2f}")

    from PySide6.QtWidgets import QApplication

    from app.ui.committee_dashboard import CommitteeDashboard

    app = QApplication.instance() or QApplication([])

    def painted(window, started: float) -> tuple[float, float]:
        return painted_in(app, window, started)

    # Opening: a new window counts the last quarter of the year (its default period) on a connection of its own;
    # the first time in the process, then again (Qt's first charts and fonts, the statements' first compile).
    for time_opened in ("first", "again"):
        started = time.perf_counter()
        window = CommitteeDashboard(store, today=date(year + 1, 1, 5))
        window.resize(1280, 860)
        window.show()
        open_first, open_all = painted(window, started)
        print(f"{f'window opened ({time_opened}): 1st section':<34}{open_first:>9.1f}")
        print(f"{f'window opened ({time_opened}): all':<34}{open_all:>9.1f}")
        if time_opened == "first":
            window.close()
    window.first.setDate(filters.first)
    window.last.setDate(filters.last)
    firsts, samples, cpus = [], [], []
    for _ in range(5):
        started, cpu = time.perf_counter(), time.process_time()
        window.refresh()
        first, done = painted(window, started)
        firsts.append(first)
        samples.append(done)
        cpus.append((time.process_time() - cpu) * 1000)
    print(f"{'Refresh, the year: first section':<34}{statistics.median(firsts):>9.1f}   (samples "
          f"{', '.join(f'{v:.0f}' for v in firsts)})")
    print(f"{'Refresh, the year: all painted':<34}{statistics.median(samples):>9.1f}"
          f"{statistics.median(cpus):>8.1f}   (samples {', '.join(f'{v:.0f}' for v in samples)})")
    # What a store in use does between two Refreshes: another connection writes (a case viewed is an audit record),
    # and SQLite empties the window's page cache when it next reads.
    from app.store.models import Setting

    after_write = []
    for n in range(3):
        with store.session() as session, session.begin():
            session.merge(Setting(key="bench.touched", value=str(n)))
        started = time.perf_counter()
        window.refresh()
        after_write.append(painted(window, started)[1])
    print(f"{'Refresh after a write elsewhere':<34}{statistics.median(after_write):>9.1f}   (samples "
          f"{', '.join(f'{v:.0f}' for v in after_write)})")
    window.close()

    def packet():
        dashboard = whole()
        return render_packet(dashboard.views, filters, dashboard.prepared_at)

    pdf = packet()
    wall_ms, cpu_ms = cpu_timed(packet, 3)
    from pypdf import PdfReader
    import io

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(f"{'packet (figures + PDF)':<34}{wall_ms:>9.1f}{cpu_ms:>8.1f}  {pages} pages, {len(pdf):,} bytes")
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores, shared)")
    store.close()


if __name__ == "__main__":
    main()
