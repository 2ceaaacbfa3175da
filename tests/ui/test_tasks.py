"""TaskQueue: short store work one job after another on one long-lived thread, results back on the GUI thread."""
from __future__ import annotations

import threading

from app.ui.tasks import TaskQueue


def test_jobs_run_in_order_on_one_worker_thread_and_report_on_the_gui_thread(qtbot):
    queue = TaskQueue("test")
    ran, reported = [], []
    try:
        jobs = [queue.submit(lambda p, c, n=n: (ran.append((n, threading.get_ident())), n * 10)[1], f"job {n}")
                for n in range(5)]
        for job in jobs:
            job.succeeded.connect(lambda result: reported.append((result, threading.get_ident())))
        boom = queue.submit(lambda p, c: 1 / 0, "boom")
        failures, finished = [], []
        boom.failed.connect(failures.append)
        boom.finished.connect(lambda: finished.append(True))
        qtbot.waitUntil(lambda: queue.pending() == 0)
    finally:
        queue.stop()
    assert [n for n, _ in ran] == [0, 1, 2, 3, 4]
    workers = {thread for _, thread in ran}
    assert len(workers) == 1 and threading.get_ident() not in workers
    assert reported == [(n * 10, threading.get_ident()) for n in range(5)]
    assert all(job.done for job in jobs)
    assert isinstance(failures[0], ZeroDivisionError) and finished == [True]


def test_a_stopped_queue_starts_again_and_cancelled_jobs_do_not_run(qtbot):
    queue = TaskQueue("test")
    try:
        gate = threading.Event()
        first = queue.submit(lambda p, c: gate.wait(5), "blocks")
        second = queue.submit(lambda p, c: "ran", "cancelled")
        second.cancel()
        outcomes = []
        second.succeeded.connect(outcomes.append)
        gate.set()
        qtbot.waitUntil(lambda: first.done and second.done)
        assert outcomes == [] and second.result is None
        queue.stop()
        again = queue.submit(lambda p, c: "again", "after stop")
        qtbot.waitUntil(lambda: again.done)
        assert again.result == "again"
    finally:
        queue.stop()


def test_store_work_on_the_queue_reuses_connections_and_leaves_the_gui_threads_alone(qtbot, local_store):
    """A Qt worker thread is not a Python thread: a pool of one connection per thread made a new connection per
    job and, at the sixth, closed an arbitrary one (possibly the GUI thread's). The store pools them instead."""
    from sqlalchemy import event, text

    opened = []
    event.listen(local_store.engine, "connect", lambda connection, record: opened.append(threading.get_ident()))
    with local_store.session() as session:
        session.execute(text("SELECT 1"))

    def work(progress, cancelled):
        with local_store.session() as session:
            return session.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()

    queue = TaskQueue("store")
    try:
        jobs = [queue.submit(work, f"read {n}") for n in range(12)]
        qtbot.waitUntil(lambda: queue.pending() == 0)
    finally:
        queue.stop()
    assert all(job.error is None for job in jobs), [job.error for job in jobs]
    assert len(opened) <= 2  # the GUI thread's and at most one more, whatever the number of jobs
    with local_store.session() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_queue_dropped_without_being_stopped_does_not_abort_the_process():
    """A window dropped without closing leaves its queue's thread running; when the garbage collector takes it, Qt 6
    aborts the process ("QThread: Destroyed while thread is still running"), which once ended a whole CI run in
    an unrelated test. Run in a child process, since the failure is the process dying."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import gc, time
        from PySide6.QtWidgets import QApplication, QWidget
        from app.ui.tasks import TaskQueue, stop_all
        app = QApplication(["t", "-platform", "offscreen"])
        window = QWidget()
        window.queue = TaskQueue("dropped", window)
        window.queue.submit(lambda progress, cancelled: time.sleep(0.2), "slow")
        del window
        gc.collect()
        app.processEvents()
        stop_all()
        print("survived")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "survived" in done.stdout


def test_stop_all_lets_go_of_a_task_deleted_with_its_window(qtbot):
    """A task that ran to its end in a window deleted before its `finished` came back: stopping everything (at
    quit, after each test) lets it go instead of failing on the deleted object."""
    import shiboken6
    from PySide6.QtWidgets import QWidget

    from app.ui.tasks import Task, stop_all

    window = QWidget()
    task = Task(lambda progress, cancelled: 42, "short", window)
    task.start()
    assert task.wait(10_000)  # ended on its thread; its finished signal not yet delivered here
    shiboken6.delete(window)
    assert task in Task._running and not shiboken6.isValid(task)
    stop_all()
    assert task not in Task._running
