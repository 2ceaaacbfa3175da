"""Render the workstation offscreen with demo data into docs/screenshots/*.png (for the README and docs).

Shots: main-window (a nurse's cases with their clock bands), case-view and case-timeline (every clock of a
case), case-criteria and case-criteria-epsdt (the criteria checklist tab), supervisor-at-risk ("At risk today"),
supervisor-all-open-filtered, clock-warning (the in-window notice when one of my cases falls under 4 hours;
offscreen there is no system tray); for the review workflow (issue 6): sign-in (with a wrong password's message),
screen-locked, case-workspace (a nurse's case with the actions her role allows), case-menu (every action with its
shortcut), refer-dialog, physician-queue (the referral summary and criteria result first), decision-dialog (a
medical director's partial approval) and decided-timeline (every event of the case in words); stays-reviews-due (a nurse's
"Reviews due today"), stay-tab and stay-review (a stay's ledger, and its concurrent review dialog); appeals-due (a coordinator's
"Appeals due" queue) and appeal-tab (the Appeal tab of a case, as the reviewing physician sees it); letters-to-mail
(the coordinator's "Letters to mail" window over the demo's letters).

    python tools/screenshots.py [--out docs/screenshots] [--cases 2000]

Uses a throwaway encrypted store in a temporary directory with an in-memory keyring (so nothing touches the
user's store or keyring) and synthetic data only (Faker, fixed seed). The offscreen platform may have few fonts.
"""
from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta, timezone
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _prepare_environment(home: str) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["UMWS_HOME"] = home
    os.environ["UMWS_ALLOW_INSECURE_KEYRING"] = "1"  # throwaway demo store, synthetic data only
    os.environ.pop("UMWS_DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))

    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        """Forgets the throwaway store's key when the tool exits."""

        priority = 1

        def __init__(self):
            super().__init__()
            self.secrets = {}

        def get_password(self, service, username):
            return self.secrets.get((service, username))

        def set_password(self, service, username, password):
            self.secrets[(service, username)] = password

        def delete_password(self, service, username):
            self.secrets.pop((service, username), None)

    keyring.set_keyring(MemoryKeyring())


def _settle(app, rounds: int = 30) -> None:
    import time

    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.01)


def _wait(app, done, seconds: float = 20) -> None:
    import time

    started = time.monotonic()
    while not done() and time.monotonic() - started < seconds:
        app.processEvents()
        time.sleep(0.01)


def shoot_checklist(app, store, shoot) -> None:
    """case-criteria: a pharmacy technician's infliximab TAR half-way through its checklist, with an override;
    case-criteria-epsdt: a lumbar spine MRI for a member under 21 (adult-only set: the EPSDT standard shows)."""
    from sqlalchemy import select

    from app.services.cases import claim_case
    from app.services.criteria import answer_criterion, choose_set
    from app.store.case_details import load_case
    from app.store.criteria_answers import proposals
    from app.store.models import Case
    from app.store.worklist import viewer_for
    from app.ui.case_view import CaseView

    def first_case(set_id: str, minor: bool = False) -> str | None:
        with store.session() as session:
            for case in session.scalars(select(Case).where(Case.status == "received", Case.line_of_business == "medi-cal")
                                        .order_by(Case.tar)):
                matches = proposals(session, case)
                if matches and matches[0].set.id == set_id:
                    if minor and not (matches[0].set.adult_only and _age(session, case) < 21):
                        continue
                    return case.tar
        return None

    def open_view(tar: str, username: str):
        with store.session() as session:
            viewer = viewer_for(session, username)
            details = load_case(session, tar, full=True)
        view = CaseView(details, lambda: datetime.now(timezone.utc), store=store, viewer=viewer)
        view.resize(1100, 820)
        view.show()
        view.tabs.setCurrentWidget(view.criteria)
        _wait(app, lambda: view.criteria.data is not None)
        view.criteria.tree.setFocus()
        return view

    tar = first_case("med-infliximab")
    if tar is not None:
        with store.session() as session, session.begin():
            claim_case(session, tar, "tech.rivera")
        with store.session() as session, session.begin():
            state = choose_set(session, tar, "tech.rivera", "med-infliximab")
            answer_criterion(session, tar, "tech.rivera", "prescriber", "met",
                             "Gastroenterology consult note in the request's attachments")
            answer_criterion(session, tar, "tech.rivera", "tb", "met", "IGRA negative, chest X-ray clear")
            row = state.row("dx")
            if row is not None and row.machine is not None and row.machine.answer == "met":
                answer_criterion(session, tar, "tech.rivera", "dx", "not-met", None,
                                 "The diagnosis on the request is not supported by the chart notes")
        view = open_view(tar, "tech.rivera")
        view.criteria._select("tb")
        shoot(view, "case-criteria")
        view.reject()
    minor = first_case("outpatient-lumbar-spine-mri", minor=True)
    if minor is not None:
        with store.session() as session:
            holder = session.scalar(select(Case).where(Case.tar == minor)).assignee
        view = open_view(minor, holder.username if holder else "lead.patel")
        shoot(view, "case-criteria-epsdt")
        view.reject()


def shoot_oversight(app, store, shoot, out: Path) -> None:
    """committee-dashboard, committee-dashboard-irr (the UM committee's dashboard for the year), irr-blind-review
    (an auditor re-reviewing a sampled case blind), irr-results (agreement per reviewer, a corrective action plan),
    committee-packet (the packet's first pages, from its PDF with pdftoppm when it is installed)."""
    import shutil
    import subprocess
    from datetime import date

    from app.domain.committee import Filters
    from app.domain.plantime import to_plan
    from app.letters.committee_packet import render_packet
    from app.services.demo_oversight import work_demo_audit
    from app.store.committee import build
    from app.store.irr_queries import annual_sample, items_of
    from app.store.worklist import viewer_for
    from app.ui.committee_dashboard import CommitteeDashboard
    from app.ui.irr_window import IrrWindow

    year = to_plan(datetime.now(timezone.utc)).year
    with store.session() as session:
        lead, auditor = viewer_for(session, "lead.patel"), viewer_for(session, "auditor.brown")
    work_demo_audit(store, year, limit=0)  # the sample only, to count it
    with store.session() as session:
        total = len(items_of(session, annual_sample(session, year).id))
    work_demo_audit(store, year, limit=max(0, total - 6))  # six cases left for the auditor
    dashboard = CommitteeDashboard(store, today=date(year + 1, 1, 5))
    dashboard.resize(1366, 860)
    dashboard.show()
    _wait(app, lambda: not dashboard.busy)
    dashboard.first.setDate(date(year, 1, 1))
    dashboard.refresh()
    _wait(app, lambda: not dashboard.busy and dashboard.dashboard is not None
          and dashboard.dashboard.filters.first == date(year, 1, 1))
    shoot(dashboard, "committee-dashboard")
    dashboard.section_list.setCurrentRow(len(dashboard.sections) - 1)
    shoot(dashboard, "committee-dashboard-irr")
    dashboard.close()
    window = IrrWindow(store, auditor)
    window.resize(1366, 800)
    window.show()
    window.tabs.setCurrentIndex(1)
    tab = window.review_tab
    _wait(app, lambda: not window.busy and tab.items.count() > 0)
    row = next((i for i in range(tab.items.count()) if tab.items.item(i).text().endswith("to re-review")), 0)
    tab.items.setCurrentRow(row)
    _wait(app, lambda: not window.busy and tab.model is not None)
    tab.tree.setFocus()
    shoot(window, "irr-blind-review")
    window.close()
    results = IrrWindow(store, lead)
    results.resize(1366, 800)
    results.show()
    results.tabs.setCurrentIndex(2)
    _wait(app, lambda: not results.busy and results.results_tab.report is not None)
    shoot(results, "irr-results")
    results.close()
    if shutil.which("pdftoppm"):
        with store.session() as session:
            built = build(session, Filters(date(year, 1, 1), date(year, 12, 31)))
        pdf = out / "committee-packet.pdf.tmp"
        pdf.write_bytes(render_packet(built.views, built.filters, built.prepared_at))
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(out / "committee-packet")], check=True)
        pdf.unlink()


def _age(session, case) -> int:
    from app.store.criteria_answers import case_facts

    age = case_facts(session, case).age()
    return 99 if age is None else age


def _workflow_shots(store, nurse_window, shoot, wait) -> None:
    """Sign-in, the lock, the case workspace, the refer and decision dialogs, the physician's queue (issue 6)."""
    from pathlib import Path as _Path

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMenuBar
    from sqlalchemy import select

    from app.store.models import Case, User
    from app.store.worklist import viewer_for
    from app.ui.main_window import MainWindow
    from app.ui.sign_in import DEMO_HINT, SignInDialog
    from app.ui.tasks import TaskQueue

    queue = TaskQueue("screenshots sign-in")
    try:
        dialog = SignInDialog(store, queue, username="nurse.garcia", hint=DEMO_HINT)
        dialog.show()
        dialog.password.setText("not her password")
        attempts = dialog.attempts
        dialog.submit()
        wait(lambda: dialog.attempts > attempts)
        shoot(dialog, "sign-in")
        dialog.close()
        with store.session() as session:
            user = session.scalar(select(User).where(User.username == "nurse.garcia"))
        from app.services.auth import SignedIn

        locked = SignedIn(user.username, user.full_name, user.role, user.team, user.credential, user.specialty,
                          datetime.now(timezone.utc), 15)
        lock = SignInDialog(store, queue, locked=locked)
        lock.show()
        shoot(lock, "screen-locked")
        lock.close()
    finally:
        queue.stop()

    # The nurse's own case, in review: claim is done, pend / refer / decide are hers; reassigning is not.
    with store.session() as session:
        tar = session.scalar(select(Case.tar).join(User, Case.assignee_id == User.id)
                             .where(User.username == "nurse.garcia", Case.status == "in-review")
                             .order_by(Case.decision_due_at).limit(1))
    view = nurse_window.open_case(tar)
    view.resize(1000, 760)
    wait(lambda: view.actions.ready)
    shoot(view, "case-workspace")
    case_menu = view.findChild(QMenuBar).actions()[0].menu()
    case_menu.popup(view.mapToGlobal(view.rect().topLeft()))
    shoot(case_menu, "case-menu")
    case_menu.hide()
    refer = view.actions.trigger("refer")
    refer.widgets["summary"].setPlainText(
        "Concurrent review day 3: vitals stable, ambulating with PT, on oral antibiotics since yesterday. The "
        "continued-stay criteria for acute level of care are not met as documented; the attending asks for 2 more "
        "days for IV-to-oral transition.")
    refer.widgets["question"].setPlainText("Are 2 more acute days medically necessary, or is a step-down to SNF "
                                           "appropriate?")
    refer.resize(640, refer.sizeHint().height())
    shoot(refer, "refer-dialog")
    refer.reject()
    view.reject()

    home = _Path(nurse_window.settings.fileName()).parent
    with store.session() as session:
        doctor = viewer_for(session, "dr.morales")
    physician = MainWindow(store, doctor, QSettings(str(home / "doctor.ini"), QSettings.Format.IniFormat))
    physician.resize(1366, 768)
    physician.show()
    wait(lambda: bool(physician.queue_counts) and physician.clock_checks > 0 and physician.clock_watch_idle())
    physician.show_queue("referred")
    physician.splitter.setSizes([200, 700, 466])
    row = next((r for r in range(physician.model.rowCount())
                if len(physician.model.row_at(r).service) < 60 and physician.model.row_at(r).assignee is None), 0)
    physician.select_row(row)
    shoot(physician, "physician-queue")
    referred = physician.current_tar()
    view = physician.open_case(referred)
    view.resize(1000, 760)
    wait(lambda: view.actions.ready)
    decide = view.actions.trigger("decide")
    lines = view.actions.workspace.facts.lines
    if any(line.units > 1 for line in lines):
        decide.choose("partial", "medical-necessity")
        for line in lines:
            decide.spins[line.line_number].setValue(max(1, line.units // 2) if line.units > 1 else line.units)
    else:
        decide.choose("deny", "medical-necessity")
    decide.rationale.setPlainText("Records show improvement with the current course; the full request exceeds the "
                                  "usual duration for this condition. Half the units allow reassessment.")
    decide.member_reason.setPlainText("Your doctor asked for more than your records show you need now. We approved "
                                      "part of it so that your progress can be checked first.")
    decide.resize(820, decide.sizeHint().height())
    shoot(decide, "decision-dialog")
    decide.ask_confirmation()
    wait(lambda: decide.confirmation is not None and decide.confirmation.isVisible())
    decide.confirmation.record_button.click()
    wait(lambda: view.actions.workspace is not None and view.actions.workspace.facts.status == "determined")
    wait(lambda: view.actions.ready)
    view.tabs.setCurrentWidget(view.timeline)
    shoot(view, "decided-timeline")
    view.reject()
    physician.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args(argv)
    home = tempfile.mkdtemp(prefix="umws-screenshots-")
    _prepare_environment(home)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from sqlalchemy import select

    from app.services import demo
    from app.store.engine import open_store
    from app.store.models import Stay
    from app.store.worklist import running_clocks_of, viewer_for
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["screenshots"])
    app.setApplicationDisplayName("UM Reviewer Workstation")
    store = open_store()
    demo.generate(store, args.cases, seed=7)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat)
    written = []

    def shoot(widget, name: str) -> None:
        _settle(app)
        path = args.out / f"{name}.png"
        widget.grab().save(str(path))
        written.append(path)

    def wait(condition, limit: float = 20) -> None:
        import time

        started = time.monotonic()
        while not condition() and time.monotonic() - started < limit:
            app.processEvents()
            time.sleep(0.01)

    def settle_watch(window) -> None:
        """Wait for the counts and the first clock watch (its warning shows in the notice bar offscreen)."""
        import time

        started = time.monotonic()
        while (not window.queue_counts or not window.clock_checks or not window.clock_watch_idle()) \
                and time.monotonic() - started < 20:
            app.processEvents()
            time.sleep(0.01)

    try:
        with store.session() as session:
            nurse = viewer_for(session, "nurse.garcia")
            lead = viewer_for(session, "lead.patel")

        window = MainWindow(store, nurse, settings)
        window.resize(1366, 768)  # a 14-inch laptop
        window.show()
        settle_watch(window)
        window.select_row(1)
        shoot(window, "main-window")

        view = window.open_case()
        view.resize(960, 720)
        wait(lambda: view.actions.ready)
        shoot(view, "case-view")
        view.tabs.setCurrentWidget(view.timeline)
        shoot(view, "case-timeline")
        view.reject()
        _workflow_shots(store, window, shoot, wait)

        # Inpatient stays (issue 12): the nurse's "Reviews due today", a stay's ledger and its review dialog.
        window.show_queue("reviews-due")
        window.select_row(0)
        shoot(window, "stays-reviews-due")
        with store.session() as session:  # the longest open stay with approved days: a ledger worth showing
            busy = session.scalar(select(Stay.tar).where(Stay.status == "open", Stay.approved_through.is_not(None))
                                  .order_by(Stay.admit_date, Stay.tar).limit(1))
        if busy:
            stay_view = window.open_case(busy)
            stay_view.resize(1000, 760)
            stay_view.tabs.setCurrentWidget(stay_view.stay_tab)
            shoot(stay_view, "stay-tab")
            dialog = stay_view.stay_tab.review()
            dialog.resize(720, 820)
            shoot(dialog, "stay-review")
            dialog.reject()
            stay_view.reject()
        window.close()

        shoot_checklist(app, store, shoot)
        shoot_oversight(app, store, shoot, args.out)  # issue 14

        supervisor = MainWindow(store, lead, QSettings(str(Path(home) / "lead.ini"), QSettings.Format.IniFormat))
        supervisor.resize(1366, 768)
        supervisor.show()
        settle_watch(supervisor)
        supervisor.show_queue("at-risk")
        supervisor.select_row(0)
        shoot(supervisor, "supervisor-at-risk")
        supervisor.show_queue("all-open")
        surname = supervisor.model.index(0, 1).data().split(",")[0]
        supervisor.filter_edit.setText(surname[:3])
        supervisor.apply_filter()
        shoot(supervisor, "supervisor-all-open-filtered")
        supervisor.close()

        # The warning where the desktop has no tray (offscreen): the nurse's window a little later in the day,
        # when her next case falls under 4 hours.
        with store.session() as session:
            running = running_clocks_of(session, nurse.user_id)
        later = [c for c in running if c.due_at > datetime.now(timezone.utc) + timedelta(hours=4)]
        if later:
            then = min(c.due_at for c in later) - timedelta(hours=3, minutes=25)
            warned = MainWindow(store, nurse, QSettings(str(Path(home) / "warn.ini"), QSettings.Format.IniFormat),
                                clock=lambda: then)
            warned.resize(1366, 768)
            warned.show()
            settle_watch(warned)
            warned.tick()
            soonest = min(later, key=lambda c: c.due_at).tar
            row = next((r for r in range(warned.model.rowCount()) if warned.model.tar_at(r) == soonest), 0)
            warned.select_row(row)
            shoot(warned, "clock-warning")
            warned.close()

        from tools.intake_screenshots import shoot_intake  # issue 11: the intake window

        shoot_intake(store, home, shoot)

        _p2p_shots(app, store, home, shoot)
        shoot_letters_to_mail(store, home, shoot)  # issue 7: the demo's letters in the coordinator's queue

        # Appeals (issue 13): a few denials appealed through the services, then the coordinator's queue and a
        # physician's Appeal tab.
        appealed = _make_appeals(store)
        coordinator_viewer = None
        with store.session() as session:
            coordinator_viewer = viewer_for(session, "coord.jones")
            reviewer = viewer_for(session, "dr.ito")
        coordinator = MainWindow(store, coordinator_viewer,
                                 QSettings(str(Path(home) / "coord.ini"), QSettings.Format.IniFormat))
        coordinator.resize(1366, 768)
        coordinator.show()
        settle_watch(coordinator)
        coordinator.show_queue("appeals-due")
        coordinator.select_row(0)
        shoot(coordinator, "appeals-due")
        coordinator.close()
        physician = MainWindow(store, reviewer, QSettings(str(Path(home) / "ito.ini"), QSettings.Format.IniFormat))
        physician.show()
        view = physician.open_case(appealed)
        view.resize(960, 760)
        view.tabs.setCurrentWidget(view.appeal_tab)
        shoot(view, "appeal-tab")
        view.reject()
        physician.close()
    finally:
        store.close()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


def shoot_letters_to_mail(store, home: str, shoot) -> None:
    """letters-to-mail: the coordinator's "Letters to mail" window (Case > Letters to mail..., Ctrl+Shift+M) over the
    demo's letters (app.services.demo_letters): issued ones waiting to be mailed, nearest mail-by first, drafts
    and one waiting for its translation."""
    from PySide6.QtCore import QSettings

    from app.store.worklist import viewer_for
    from app.ui.main_window import MainWindow

    with store.session() as session:
        coordinator = viewer_for(session, "coord.jones")
    window = MainWindow(store, coordinator, QSettings(str(Path(home) / "letters.ini"), QSettings.Format.IniFormat))
    window.resize(1366, 768)
    window.show()
    queue = window.show_letter_queue()
    queue.resize(1000, 520)
    queue.table.selectRow(0)
    shoot(queue, "letters-to-mail")
    queue.close()
    window.close()


def _p2p_shots(app, store, home: str, shoot) -> None:
    """Peer-to-peer (issue 8): a coordinator's P2P tab on a request to schedule, and a reviewer's week."""
    from PySide6.QtCore import QSettings
    from sqlalchemy import select

    from app.store.models import Case, P2PRequest
    from app.store.worklist import viewer_for
    from app.ui.main_window import MainWindow

    with store.session() as session:
        coordinator = viewer_for(session, "coord.jones")
        tar = session.scalar(select(Case.tar).join(P2PRequest, P2PRequest.case_id == Case.id)
                             .where(P2PRequest.status == "requested").order_by(Case.tar).limit(1))
    window = MainWindow(store, coordinator, QSettings(str(Path(home) / "coord.ini"), QSettings.Format.IniFormat))
    window.resize(1366, 768)
    window.show()
    if tar:
        view = window.open_case(tar)
        view.resize(1100, 860)
        view.tabs.setCurrentWidget(view.p2p_tab)
        tab = view.p2p_tab
        tab.candidates.selectRow(0)
        if tab.candidates.rowCount() > 1:
            from PySide6.QtCore import QItemSelectionModel

            tab.candidates.selectionModel().select(
                tab.candidates.model().index(1, 0),
                QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        shoot(view, "p2p-tab")
        view.reject()
    calendar = window.p2p.show_calendar()
    calendar.reviewer.setCurrentIndex(max(0, calendar.reviewer.findData("dr.shah")))
    calendar.resize(1180, 800)
    calendar.view.setFocus()
    shoot(calendar, "p2p-calendar")
    calendar.reject()
    window.close()

def _make_appeals(store) -> str:
    """Deny five demo requests (dr.morales, not a covered benefit) and appeal them: standard, expedited by the
    provider, by a representative keeping an ongoing service, one decided; the TAR of the one to show."""
    from app.services import appeals, cases
    from app.store.models import Case
    from app.store.worklist import WorklistQuery, viewer_for
    from sqlalchemy import select

    now = datetime.now(timezone.utc)
    with store.session() as session:
        rows = WorklistQuery("unassigned", viewer_for(session, "nurse.nguyen")).page(session, 0, 60)
    pre = [r.tar for r in rows if r.timing == "pre-service"][:4]
    ongoing = next(r.tar for r in rows if r.timing == "concurrent")
    plans = [(pre[0], dict(filed_by="member", channel="phone")),
             (pre[1], dict(filed_by="provider", channel="portal", expedited=True)),
             (ongoing, dict(filed_by="representative", channel="writing", representative="Ana Ruiz",
                            authorization="AOR form scanned today", continue_service=True)),
             (pre[2], dict(filed_by="member", channel="writing")),
             (pre[3], dict(filed_by="member", channel="portal"))]
    for hours, (tar, how) in zip((70, 50, 30, 20, 6), plans):
        decided = now - timedelta(hours=hours + 48)
        with store.session() as session, session.begin():
            case = session.scalar(select(Case).where(Case.tar == tar))
            cases.claim_case(session, tar, "dr.morales", at=max(decided - timedelta(hours=1), case.received_at))
            cases.decide_case(session, tar, "dr.morales", outcome="deny", basis="benefit",
                              rationale="Not a covered benefit under the plan's rules.",
                              member_reason="Medi-Cal does not cover this care. Your doctor can ask for other care.",
                              at=max(decided, case.received_at + timedelta(minutes=5)))
            appeals.file_appeal(session, tar, "coord.jones", received_at=now - timedelta(hours=hours),
                                note="The member's daughter called: new notes from the surgeon are on their way.",
                                specialty="Orthopaedic Surgery", **how)
    with store.session() as session, session.begin():
        appeals.decide_appeal(session, pre[3], "dr.ito", result="upheld",
                              reason="The item is still not a Medi-Cal benefit. Your doctor can ask for therapy.")
    return ongoing


if __name__ == "__main__":
    sys.exit(main())
