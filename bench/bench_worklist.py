"""Worklist at scale (issue 3): 100,000 cases in the encrypted local store.

Measures, in one run on one store file:
- the SQL the worklist runs (count + first page, re-sort by each column, quick filter, last page) through
  WorklistQuery (SQLAlchemy) and the same SQL through the raw DB-API driver (sqlcipher3): the ratio is our overhead;
- what a user sees: the Qt model and an offscreen QTableView painting the first page, a re-sort, a filter and a
  scroll to the end;
- the process's peak RSS.
Targets (issue 3): first page on screen < 150 ms, re-sort and filter < 50 ms, scrolling to the end smooth, < 300 MB.

    python bench/bench_worklist.py [--cases 100000]

The demo data is made by a child process first, so the peak RSS printed is the viewing process's alone. Both
processes use the same throwaway key through an in-memory keyring (UMWS_ALLOW_INSECURE_KEYRING=1).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("UMWS_HOME", tempfile.mkdtemp(prefix="umws-bench-"))
os.environ.setdefault("UMWS_BENCH_KEY", os.urandom(32).hex())
os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"

import keyring  # noqa: E402
import sqlcipher3  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

keyring.set_keyring(MemoryKeyring())

from app.domain.queues import COLUMNS  # noqa: E402
from app.services import demo  # noqa: E402
from app.store import keys  # noqa: E402
from app.store.engine import default_store_path, open_local_store  # noqa: E402

keyring.get_keyring().set_password(keys.SERVICE, keys._account(default_store_path()), os.environ["UMWS_BENCH_KEY"])
from app.store.worklist import WorklistQuery, viewer_for  # noqa: E402

PAGE = 200


def timed(function, repeat: int = 7) -> float:
    """Median wall time in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def raw_runner(store, key: str):
    connection = sqlcipher3.connect(store.location)
    connection.execute(f"PRAGMA key = \"x'{key}'\"")
    connection.execute("PRAGMA cache_size=-65536")
    dialect = store.engine.dialect

    def run(statement):
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        params = [compiled.params[name] for name in compiled.positiontup]
        params = [p.hex if isinstance(p, uuid.UUID) else p for p in params]
        return connection.execute(str(compiled), params).fetchall()

    return run


def sql_figures(store, raw, query: WorklistQuery, offset: int = 0) -> tuple[float, float]:
    def ours():
        with store.session() as session:
            count = query.count(session)
            query.page(session, offset if offset >= 0 else max(0, count + offset), PAGE)

    def baseline():
        count = raw(query.count_statement("sqlite"))[0][0]
        statement = query.rows_statement("sqlite").offset(offset if offset >= 0 else max(0, count + offset)).limit(PAGE)
        raw(statement)

    return timed(ours), timed(baseline)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate_only:
        store = open_local_store()
        demo.generate(store, args.cases, seed=1)
        store.close()
        return
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--cases", str(args.cases), "--generate-only"], check=True)
    print(f"demo data: {args.cases:,} cases in {time.perf_counter() - started:.1f} s (child process)")
    store = open_local_store()
    key = os.environ["UMWS_BENCH_KEY"]
    raw = raw_runner(store, key)
    with store.session() as session:
        supervisor = viewer_for(session, "lead.patel")
        nurse = viewer_for(session, "nurse.nguyen")

    print(f"\n{'SQL (count + 200-row page)':<46}{'ours ms':>9}{'raw ms':>9}{'ratio':>7}")
    rows = [("all-open, default sort (due)", WorklistQuery("all-open", supervisor), 0),
            ("unassigned (team), default sort", WorklistQuery("unassigned", nurse), 0),
            ("mine, default sort", WorklistQuery("mine", nurse), 0)]
    for column in COLUMNS:
        rows.append((f"all-open, sort by {column}", WorklistQuery("all-open", supervisor, sort_column=column), 0))
    rows.append(("all-open, sort by member desc",
                 WorklistQuery("all-open", supervisor, sort_column="member", descending=True), 0))
    rows.append(("all-open, filter 'gar'", WorklistQuery("all-open", supervisor, filter_text="gar"), 0))
    rows.append(("all-open, filter 'mri lumbar'", WorklistQuery("all-open", supervisor, filter_text="mri lumbar"), 0))
    rows.append(("all-open, last page", WorklistQuery("all-open", supervisor), -PAGE))
    for label, query, offset in rows:
        ours, base = sql_figures(store, raw, query, offset)
        print(f"{label:<46}{ours:>9.1f}{base:>9.1f}{ours / base:>7.2f}")

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QTableView

    from app.ui.worklist_model import WorklistModel

    app = QApplication.instance() or QApplication([])
    view = QTableView()
    view.resize(1200, 700)
    view.setSortingEnabled(False)
    view.show()

    def on_screen(action):
        start = time.perf_counter()
        action()
        view.viewport().grab()  # forces the paint of the visible rows
        app.processEvents()
        return (time.perf_counter() - start) * 1000

    def median_on_screen(action, undo, repeat: int = 7):
        """Median of `repeat` timings of `action` (each followed by an untimed `undo`): one shot is noise on a
        shared machine."""
        samples = []
        for _ in range(repeat):
            samples.append(on_screen(action))
            undo()
            app.processEvents()
        return statistics.median(samples)

    figures = {}
    model = WorklistModel(store, supervisor, "all-open")
    figures["open queue: model + first page painted"] = on_screen(lambda: view.setModel(model))
    figures["paint only (the same page again)"] = median_on_screen(lambda: None, lambda: None)
    default_sort = lambda: model.sort(list(COLUMNS).index("due"), Qt.SortOrder.AscendingOrder)  # noqa: E731
    figures["re-sort by member (header click)"] = median_on_screen(
        lambda: model.sort(1, Qt.SortOrder.AscendingOrder), default_sort)
    figures["re-sort by received desc"] = median_on_screen(
        lambda: model.sort(4, Qt.SortOrder.DescendingOrder), default_sort)
    figures["re-sort by assignee"] = median_on_screen(
        lambda: model.sort(list(COLUMNS).index("assignee"), Qt.SortOrder.AscendingOrder), default_sort)
    figures["filter 'gar'"] = median_on_screen(lambda: model.set_filter("gar"), lambda: model.set_filter(""))
    figures["clear filter"] = median_on_screen(lambda: model.set_filter(""), lambda: model.set_filter("gar"))
    model.set_filter("")
    figures["scroll to the end"] = median_on_screen(view.scrollToBottom, view.scrollToTop)
    steps = []
    scrollbar = view.verticalScrollBar()
    for value in range(0, scrollbar.maximum(), max(1, scrollbar.maximum() // 50)):
        steps.append(on_screen(lambda v=value: scrollbar.setValue(v)))
    figures["scroll step (median of 50 jumps)"] = statistics.median(steps)
    figures["scroll step (worst of 50 jumps)"] = max(steps)
    figures["countdown tick (no query)"] = on_screen(model.tick)
    print(f"\n{'What a user sees (offscreen Qt)':<46}{'ms':>9}")
    for label, value in figures.items():
        print(f"{label:<46}{value:>9.1f}")
    print(f"rows in all-open: {model.rowCount():,}; page queries run: {model.page_fetches}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (store open, worklist shown and scrolled): {rss:.0f} MB")
    store.close()


if __name__ == "__main__":
    main()
