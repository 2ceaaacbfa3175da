"""Benchmark: opening the criteria checklist tab of a case (issue 5: "the checklist opens in under 100 ms").

    python bench/bench_checklist.py [--cases 2000] [--repeat 15] [--json]

On a throwaway encrypted local store (SQLCipher, in-memory keyring) with demo data, Qt offscreen, it measures in
one run, for a case with a set applied and answered (the biggest shipped set, onabotulinumtoxinA: 29 rows) and for
a case with nothing applied yet (the tree previews the best proposal's machine answers):

  open            ChecklistPanel constructed -> the store's state read on the panel's worker thread, the chooser,
                  the tree and the result filled (the `loaded` signal) -> the tab painted once (`grab()`)
  store read      the same read (`read_checklist`: checklist, proposals, the other sets, authority) on the calling
                  thread: the baseline the open is compared with (ratio = open / read: what the GUI adds)
  timeline tab    building and painting the case view's existing Timeline table for the same case (a GUI baseline)
  answer saved    key 1 pressed -> the answer's event committed and the state shown again (the `saved` signal)

The first open in a process also parses the shipped library and builds its index (reported apart as "cold").
Figures are the median and the worst of --repeat opens after the cold one.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _environment(home: str) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["UMWS_HOME"] = home
    os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"  # throwaway store, synthetic data only
    os.environ.pop("UMWS_DATABASE_URL", None)
    import keyring

    from tests.memory_keyring import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    home = tempfile.mkdtemp(prefix="umws-bench-checklist-")
    _environment(home)

    from PySide6.QtCore import QEventLoop, QTimer, Qt
    from PySide6.QtWidgets import QApplication
    from sqlalchemy import select

    from app.services import demo
    from app.services.cases import claim_case
    from app.services.criteria import answer_criterion, choose_set
    from app.store.case_details import load_case
    from app.store.criteria_answers import proposals
    from app.store.engine import open_store
    from app.store.models import Case
    from app.store.worklist import viewer_for
    from app.ui.case_view import _read_only_table
    from app.ui.checklist import ChecklistPanel, read_checklist

    app = QApplication.instance() or QApplication(["bench"])
    store = open_store()
    demo.generate(store, args.cases, seed=11)

    def find_case(set_id: str | None, exclude: str = "") -> tuple[str, str]:
        with store.session() as session:
            for case in session.scalars(select(Case).where(Case.service_category == "medication",
                                                           Case.status == "received").order_by(Case.tar)):
                matches = proposals(session, case)
                if matches and case.tar != exclude and (set_id is None or matches[0].set.id == set_id):
                    return case.tar, matches[0].set.id
        raise SystemExit(f"no demo case proposes {set_id}; try more --cases")

    answered_tar, answered_set = find_case("med-onabotulinumtoxina")
    with store.session() as session, session.begin():
        claim_case(session, answered_tar, "tech.rivera")
        state = choose_set(session, answered_tar, "tech.rivera", answered_set)
    with store.session() as session, session.begin():
        for row in state.rows:
            if not row.is_group and row.machine is None:
                answer_criterion(session, answered_tar, "tech.rivera", row.node.id, "not-applicable", "bench note")
    preview_tar, preview_set = find_case("med-infliximab", exclude=answered_tar)
    with store.session() as session, session.begin():
        claim_case(session, preview_tar, "tech.rivera")
        viewer = viewer_for(session, "tech.rivera")

    def wait_for(signal, timeout_ms: int = 10_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()

    def open_once(tar: str) -> tuple[float, float, int]:
        start = time.perf_counter()
        panel = ChecklistPanel(store, viewer, tar)
        panel.resize(960, 520)
        wait_for(panel.loaded)
        loaded = time.perf_counter()
        panel.grab()
        painted = time.perf_counter()
        rows = panel.model.rowCount()
        panel.close_down()
        panel.deleteLater()
        app.processEvents()
        return (loaded - start) * 1000, (painted - start) * 1000, rows

    cold_loaded, cold_painted, _ = open_once(answered_tar)  # first in the process: library parsed and indexed

    results: dict = {"machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
                     "cases_in_store": args.cases, "cold_open_ms": cold_painted, "cold_loaded_ms": cold_loaded}
    for label, tar, set_id in (("answered", answered_tar, answered_set), ("preview", preview_tar, preview_set)):
        opens, loads, reads, tables = [], [], [], []
        for _ in range(args.repeat):
            loaded, painted, rows = open_once(tar)
            loads.append(loaded)
            opens.append(painted)
            start = time.perf_counter()
            data = read_checklist(store, tar, viewer)
            reads.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            with store.session() as session:
                details = load_case(session, tar, full=True)
            table = _read_only_table("Timeline", ["When (PT)", "Who", "What"], details.timeline)
            table.resize(960, 520)
            table.grab()
            tables.append((time.perf_counter() - start) * 1000)
            table.deleteLater()
        results[label] = {
            "tar_set": set_id, "tree_rows_top_level": rows, "criteria": len(data.state.rows) or None,
            "open_median_ms": statistics.median(opens), "open_worst_ms": max(opens),
            "loaded_median_ms": statistics.median(loads),
            "store_read_median_ms": statistics.median(reads),
            "timeline_tab_median_ms": statistics.median(tables),
            "ratio_open_to_read": statistics.median(opens) / statistics.median(reads),
            "ratio_open_to_timeline_tab": statistics.median(opens) / statistics.median(tables),
        }

    # Answer latency: key 1 on the first criterion -> committed and shown again.
    saves = []
    panel = ChecklistPanel(store, viewer, preview_tar)
    wait_for(panel.loaded)
    from PySide6.QtTest import QTest

    for i in range(args.repeat):
        panel._select(panel.model.criteria_in_order()[0])
        start = time.perf_counter()
        QTest.keyClick(panel.tree, Qt.Key.Key_4 if i % 2 else Qt.Key.Key_3)
        if panel.dialog is not None:  # an override: give the reason
            panel.dialog.edits["reason"].setPlainText("bench")
            panel.dialog.accept()
        wait_for(panel.saved)
        saves.append((time.perf_counter() - start) * 1000)
    panel.close_down()
    results["answer_saved_median_ms"] = statistics.median(saves)
    results["answer_saved_worst_ms"] = max(saves)
    store.close()

    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    print(f"checklist open, {args.cases}-case encrypted store, Qt offscreen; {results['machine']}")
    print(f"cold (first open in the process, library parsed): {results['cold_open_ms']:.1f} ms")
    print(f"{'ms, median of ' + str(args.repeat):<40}{'open':>8}{'worst':>8}{'shown':>8}{'read':>8}{'ratio':>8}"
          f"{'timeline':>10}")
    for label in ("answered", "preview"):
        r = results[label]
        print(f"{label + ' (' + r['tar_set'] + ')':<40}{r['open_median_ms']:>8.1f}{r['open_worst_ms']:>8.1f}"
              f"{r['loaded_median_ms']:>8.1f}{r['store_read_median_ms']:>8.1f}{r['ratio_open_to_read']:>7.1f}x"
              f"{r['timeline_tab_median_ms']:>10.1f}")
    print("open: constructed to painted; shown: to the state shown (before the first paint); read: the store read "
          "alone on this thread; ratio: open / read; timeline: the Timeline tab built and painted")
    print(f"answer saved (key -> committed -> shown): median {results['answer_saved_median_ms']:.1f} ms, "
          f"worst {results['answer_saved_worst_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
