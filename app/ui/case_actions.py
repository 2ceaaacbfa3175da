"""The case workspace's actions (issue 6, scope 5): claim, pend, information received, refer, decide, extend,
reassign, withdraw, close administratively, record a notice, close, reopen, correct the received date, declare
involvement — each a menu entry with a shortcut and, for the frequent ones, a toolbar button.

What the signed-in user may do on the case now comes from `app.services.cases.available_actions` (authority first,
then the case's state): an action it refuses is disabled and says why, and who may, in its tooltip and status tip.
The services check everything again when asked (and refuse with `ActionRefused`, shown in words).

Every read and write runs off the GUI thread on the main window's `TaskQueue` (the one that counts queues and
watches the clocks: writes to the store happen one after another): loading the workspace (and recording the view
in the audit trail), then each action as one transaction with the case's version as `expected_version`, so a case
someone changed meanwhile is refused rather than overwritten. After an action the view is read again and `changed`
tells the main window to refresh the worklist. A refusal or bad input keeps the dialog and what was typed in it.

Shortcuts (workstation-ux.md "Keyboard first"): Ctrl+Shift+C claim, Ctrl+P pend, Ctrl+I information received,
Ctrl+R refer, Ctrl+D decide, Ctrl+E extend, Ctrl+Shift+A reassign, Ctrl+Shift+W withdrawn, Ctrl+Shift+X close
administratively, Ctrl+Shift+N notice sent, Ctrl+Shift+E close, Ctrl+Shift+O reopen, Ctrl+Shift+R correct the
received date, Ctrl+Shift+I declare involvement, F5 read the case again.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar, QMessageBox, QToolBar, QWidget
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.domain import authority
from app.domain.authority import EXTENSION_REASONS, Refusal
from app.domain.case_states import NOTICE_RECIPIENTS, OUTCOMES, REFERRAL_TARGETS, REOPEN_REASONS
from app.domain.roles import ROLES
from app.domain.vocabulary import TEAMS
from app.services import cases
from app.services.audit import AuditChainError
from app.store.case_details import CaseDetails, load_case
from app.store.case_workspace import WorkspaceFacts, workspace_facts
from app.store.engine import Store
from app.store.errors import StoreError
from app.store.models import User
from app.store.worklist import Viewer
from app.ui.action_forms import ActionForm, Field
from app.ui.assign_dialog import AssignDialog
from app.ui.decision_dialog import DecisionDialog
from app.ui.refer_dialog import ReferDialog
from app.ui.tasks import Job, TaskQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    shortcut: str
    tip: str
    needs: tuple[str, ...]  # available_actions keys: enabled when any of them is allowed
    toolbar: bool = False


ACTIONS = (
    ActionSpec("claim", "&Claim", "Ctrl+Shift+C", "Take this case into My cases", ("claim",), True),
    ActionSpec("pend", "&Pend for information…", "Ctrl+P",
               "Ask the requester for what is missing (the clock keeps running)", ("pend",), True),
    ActionSpec("resume", "&Information received…", "Ctrl+I", "The information asked for arrived", ("resume",),
               True),
    ActionSpec("refer", "&Refer…", "Ctrl+R", "Refer to a physician, a clinical pharmacist or a same-specialty "
               "reviewer, with a summary and a question", ("refer",), True),
    ActionSpec("decide", "&Decide…", "Ctrl+D", "Approve, approve in part or deny, line by line",
               authority.DECISION_ACTIONS, True),
    ActionSpec("extend", "&Extend the clock…", "Ctrl+E", "Extend the decision clock, with its reason", ("extend",),
               True),
    ActionSpec("assign", "Re&assign…", "Ctrl+Shift+A", "Give the case to another reviewer (supervisors)",
               ("assign",), True),
    ActionSpec("withdraw", "&Withdrawn by the requester…", "Ctrl+Shift+W",
               "Record that the provider or the member withdrew the request", ("withdraw",)),
    ActionSpec("close-admin", "Close ad&ministratively…", "Ctrl+Shift+X",
               "Close the request without a decision on its merits (e.g. a duplicate)", ("close-admin",)),
    ActionSpec("notify", "Record a &notice sent…", "Ctrl+Shift+N",
               "Record that the determination's notice went to the provider or the member", ("notify",)),
    ActionSpec("close", "Cl&ose the case…", "Ctrl+Shift+E", "Close the determined case once its notices are sent",
               ("close",)),
    ActionSpec("reopen", "Re&open…", "Ctrl+Shift+O", "Record a peer-to-peer or appeal outcome that reopens a "
               "denial or modification (physicians)", ("reopen",)),
    ActionSpec("correct-received-date", "Correct the received &date…", "Ctrl+Shift+R",
               "Correct when the plan received the request, with a reason (supervisors)",
               ("correct-received-date",)),
    ActionSpec("declare-involvement", "Declare my in&volvement…", "Ctrl+Shift+I",
               "Record that you are involved in this member's care: you may then not decide the member's cases",
               ("declare-involvement",)),
)
NOTICE_METHODS = (("fax", "Fax"), ("mail", "Mail"), ("portal", "Provider portal"), ("phone", "Phone"),
                  ("electronic", "Electronic (member's choice)"))


@dataclass(frozen=True)
class Workspace:
    """What a load reads off the GUI thread."""

    details: CaseDetails
    facts: WorkspaceFacts
    available: dict[str, Refusal | None]
    reviewers: list[tuple[str, str, str]]  # username, label, role of users who review cases


def load_workspace(store: Store, tar: str, username: str, *, record_view: bool) -> Workspace | None:
    """The case's details, workspace facts and available actions for `username`; the view is audited once."""
    with store.session() as session, session.begin():
        details = load_case(session, tar, full=True)
        if details is None:
            return None
        if record_view:
            cases.record_case_view(session, tar, username)
        facts = workspace_facts(session, tar, username)
        available = cases.available_actions(session, tar, username)
        users = session.execute(
            select(User.username, User.full_name, User.role, User.team)
            .where(User.active.is_(True), User.role.in_(authority.CLAIMING_ROLES))
            .order_by(User.full_name)).all()
    reviewers = [(u.username, f"{u.full_name} — {ROLES.get(u.role, u.role)}"
                  + (f", {TEAMS.get(u.team, u.team)}" if u.team else ""), u.role) for u in users]
    return Workspace(details, facts, available, reviewers)


def refusal_of(available: dict[str, Refusal | None], needs: tuple[str, ...]) -> Refusal | None:
    """None when any of `needs` is allowed, else the first refusal (its reason names who may)."""
    refusals = [available.get(key, Refusal("Not available.")) for key in needs]
    if any(refusal is None for refusal in refusals):
        return None
    return refusals[0]


class CaseActions(QObject):
    """The actions of one open case for the signed-in user. `attach(view)` makes the menu bar and toolbar."""

    changed = Signal(str)  # an action was recorded on this TAR: the worklist refreshes
    loaded = Signal()  # the workspace was read (again)

    def __init__(self, store: Store, viewer: Viewer, queue: TaskQueue, tar: str):
        super().__init__()  # no parent: outlives its view while a job it started is still running
        self.store = store
        self.viewer = viewer
        self.queue = queue
        self.tar = tar
        self.view = None
        self.workspace: Workspace | None = None
        self.busy = False
        self.qactions: dict[str, QAction] = {}
        self.dialog: QWidget | None = None  # the action dialog open now (kept for a retry)
        self.message: QMessageBox | None = None  # the last refusal or error shown
        self.last_elapsed: float | None = None  # seconds the last write took on the worker thread
        self._viewed = False

    # --- building ------------------------------------------------------------------------------------------

    def attach(self, view) -> tuple[QMenuBar, QToolBar]:
        self.view = view
        view.finished.connect(self._detach)
        menu_bar = QMenuBar(view)
        menu_bar.setAccessibleName("Case menu bar")
        case_menu = menu_bar.addMenu("&Case")
        case_menu.setToolTipsVisible(True)  # a disabled action says why
        toolbar = QToolBar("Case actions", view)
        toolbar.setAccessibleName("Case actions")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for spec in ACTIONS:
            action = QAction(spec.text, view)
            action.setShortcut(QKeySequence(spec.shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setEnabled(False)
            action.setToolTip(f"{spec.tip} (loading…)")
            action.triggered.connect(lambda checked=False, action_id=spec.id: self.trigger(action_id))
            view.addAction(action)
            self.qactions[spec.id] = action
            case_menu.addAction(action)
            if spec.id in ("extend", "reopen"):
                case_menu.addSeparator()
            if spec.toolbar:
                toolbar.addAction(action)
                button = toolbar.widgetForAction(action)
                button.setAutoRaise(False)  # looks like a button, enabled or not
                button.setAccessibleName(spec.text.replace("&", "").rstrip("…"))
        view_menu = menu_bar.addMenu("&View")
        self.action_refresh = QAction("&Read the case again", view)
        self.action_refresh.setShortcut(QKeySequence("F5"))
        self.action_refresh.triggered.connect(lambda checked=False: self.reload())
        view.addAction(self.action_refresh)
        view_menu.addAction(self.action_refresh)
        self.reload(record_view=True)
        return menu_bar, toolbar

    def _detach(self, *args) -> None:
        self.view = None
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None

    # --- loading -------------------------------------------------------------------------------------------

    def reload(self, *, record_view: bool = False) -> Job:
        """Read the case, its workspace facts and the available actions again (off the GUI thread)."""
        store, tar, username = self.store, self.tar, self.viewer.username
        record = record_view and not self._viewed
        self._viewed = self._viewed or record

        def work(progress, cancelled):
            return load_workspace(store, tar, username, record_view=record)

        job = self.queue.submit(work, "case workspace")
        job.succeeded.connect(self._loaded)
        job.failed.connect(lambda error: self._show_error("Cannot read this case", error))
        return job

    def _loaded(self, workspace: Workspace | None) -> None:
        if workspace is None:
            self._tell(QMessageBox.Icon.Information, "No such case",
                       f"TAR {self.tar} is no longer in this store.")
            return
        self.workspace = workspace
        if self.view is not None:
            self.view.show_details(workspace.details)
            facts = workspace.facts
            self.view.referral.show_referral(facts.referral if facts.is_referred else None, facts.criteria)
        self._enable()
        self.loaded.emit()

    @property
    def ready(self) -> bool:
        return self.workspace is not None and not self.busy

    def refusal(self, action_id: str) -> Refusal | None:
        """Why `action_id` is not available now (None: it is)."""
        if self.workspace is None:
            return Refusal("The case is still being read.")
        spec = next(s for s in ACTIONS if s.id == action_id)
        return refusal_of(self.workspace.available, spec.needs)

    def _enable(self) -> None:
        for spec in ACTIONS:
            action = self.qactions[spec.id]
            refusal = None if self.workspace is None else self.refusal(spec.id)
            busy = self.busy or self.workspace is None
            action.setEnabled(not busy and refusal is None)
            tip = spec.tip if refusal is None else f"Not now: {refusal.reason}"
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.setWhatsThis(tip)
            for widget in action.associatedObjects():
                if isinstance(widget, QWidget) and widget is not self.view:
                    widget.setAccessibleDescription(tip)  # the toolbar button

    # --- messages ------------------------------------------------------------------------------------------

    def _parent(self) -> QWidget | None:
        return self.view

    def _tell(self, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self._parent())
        box.setAccessibleName(title)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.message = box
        return box

    def _show_error(self, title: str, error: BaseException, dialog: QWidget | None = None) -> None:
        if isinstance(error, cases.ActionRefused):
            text = str(error)
        elif isinstance(error, cases.InvalidInput):
            message = str(error)
            text = (f"{message[:1].upper()}{message[1:]}. Nothing was recorded; what you entered is kept: "
                    "correct it and try again.")
        elif isinstance(error, cases.NotFound):
            text = str(error)
        elif isinstance(error, AuditChainError):
            text = (f"{error} Nothing was recorded. An administrator can run 'umws audit verify' to see what "
                    "happened to this workstation's audit trail.")
        elif isinstance(error, (SQLAlchemyError, StoreError)):
            log.warning("%s: store error", title, exc_info=error)
            text = ("The local store could not save this change, so nothing was changed. Try again; if it keeps "
                    "happening, close the workstation and start it again. Details are in the log file.")
        else:
            log.error("%s: unexpected error", title, exc_info=error)
            text = ("The action did not finish because of an unexpected error; nothing was changed. Details are in "
                    "the log file.")
        self._tell(QMessageBox.Icon.Warning, title, text)
        keep = isinstance(error, cases.InvalidInput) and dialog is not None
        if keep and self.view is not None:
            self.dialog = dialog
            dialog.open()  # the same dialog, with what was typed

    # --- running -------------------------------------------------------------------------------------------

    def submit(self, label: str, call: Callable[..., Any], done: str, *, dialog: QWidget | None = None) -> Job:
        """Run `call(session, tar, username, expected_version)` in one transaction off the GUI thread; then read
        the case again and tell the worklist. `label`: 'refer TAR …' for messages; `done`: the status text."""
        store, tar, username = self.store, self.tar, self.viewer.username
        version = self.workspace.facts.version if self.workspace else None

        def work(progress, cancelled):
            started = time.perf_counter()
            with store.session() as session, session.begin():
                call(session, tar, username, version)
            return time.perf_counter() - started

        self.busy = True
        self._enable()
        job = self.queue.submit(work, label)
        job.succeeded.connect(lambda elapsed: self._succeeded(done, elapsed))
        job.failed.connect(lambda error: self._show_error(f"Cannot {label}", error, dialog))
        job.finished.connect(self._finished)
        return job

    def _succeeded(self, done: str, elapsed: float) -> None:
        self.last_elapsed = elapsed
        log.info("TAR %s: %s (%.1f ms)", self.tar, done, elapsed * 1000)
        self.dialog = None
        if self.view is not None:
            self.view.show_status(done)
        self.changed.emit(self.tar)

    def _finished(self) -> None:
        self.busy = False
        if self.view is not None:
            self.reload()  # whatever happened, show the case as it is now

    def trigger(self, action_id: str) -> QWidget | Job | None:
        """Start an action as its menu entry would: a dialog, or (claim) the write itself."""
        refusal = self.refusal(action_id)
        if refusal is not None or self.busy:
            if refusal is not None:
                self._tell(QMessageBox.Icon.Information, "Not available", refusal.reason)
            return None
        return getattr(self, "_start_" + action_id.replace("-", "_"))()

    def _open(self, dialog: QWidget, on_accept: Callable[[], None]) -> QWidget:
        self.dialog = dialog
        dialog.accepted.connect(on_accept)
        dialog.open()
        return dialog

    def _form(self, title: str, intro: str, fields: list[Field], ok: str,
              run: Callable[[dict], Job], confirm: str | None = None) -> ActionForm:
        form = ActionForm(title, intro, fields, ok, self._parent())

        def accepted() -> None:
            values = form.values()
            if confirm is None:
                run(values)
            else:
                self.confirm(confirm, lambda: run(values))

        return self._open(form, accepted)

    def confirm(self, text: str, then: Callable[[], None]) -> QMessageBox:
        """An irreversible step: say what will happen, naming the case; Go back is the default."""
        facts = self.workspace.facts
        title = f"Record this on TAR {facts.tar}?"
        box = QMessageBox(QMessageBox.Icon.Question, title, f"TAR {facts.tar} ({facts.member_name}): {text}",
                          parent=self._parent())
        box.setAccessibleName(title)
        record = box.addButton("&Record", QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton("&Go back", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.record_button, box.back_button = record, back
        box.buttonClicked.connect(lambda button: then() if button is record else None)
        self.message = box
        box.open()
        return box

    # --- the actions ---------------------------------------------------------------------------------------

    def _start_claim(self) -> Job:
        return self.submit(f"claim TAR {self.tar}",
                           lambda s, tar, user, v: cases.claim_case(s, tar, user, expected_version=v),
                           f"Claimed TAR {self.tar}: it is in My cases.")

    def _start_pend(self) -> ActionForm:
        form: ActionForm | None = None

        def run(values: dict) -> Job:
            return self.submit(f"pend TAR {self.tar}", lambda s, tar, user, v: cases.pend_case(
                s, tar, user, missing=values["missing"], note=values["note"], expected_version=v),
                f"Pended TAR {self.tar} for information; the requester is asked for it and the clock keeps "
                "running.", dialog=form)

        form = self._form(f"Pend TAR {self.tar}", "Say what is missing: the requester is asked for it. Pending "
                          "stops no clock.", [
                              Field("missing", "&Missing information", "lines", required=True,
                                    placeholder="One item per line, e.g. PT progress notes since 10/01"),
                              Field("note", "&Note", "text", placeholder="Optional: for the timeline")],
                          "&Pend", run)
        return form

    def _start_resume(self) -> ActionForm:
        form: ActionForm | None = None
        pend = self.workspace.facts.pend
        asked = f" Asked for: {'; '.join(pend.missing)}." if pend and pend.missing else ""

        def run(values: dict) -> Job:
            return self.submit(f"record the information received on TAR {self.tar}",
                               lambda s, tar, user, v: cases.record_information_received(
                                   s, tar, user, note=values["note"], expected_version=v),
                               f"Recorded the information received on TAR {self.tar}.", dialog=form)

        form = self._form(f"Information received on TAR {self.tar}", f"The case goes back to review (or to the "
                          f"referral it was pended from).{asked}",
                          [Field("note", "&What arrived", "text", placeholder="e.g. progress notes, 4 pages")],
                          "&Record", run)
        return form

    def _start_refer(self) -> ReferDialog:
        workspace = self.workspace
        dialog = ReferDialog(workspace.facts, self.viewer.role, workspace.reviewers, self._parent())

        def accepted() -> None:
            request = dialog.request()
            target = REFERRAL_TARGETS[request["to"]].lower()
            self.submit(f"refer TAR {self.tar}",
                        lambda s, tar, user, v: cases.refer_case(s, tar, user, expected_version=v, **request),
                        f"Referred TAR {self.tar} to a {target}" + (f" ({request['to_user']})" if request["to_user"]
                                                                   else "") + ".", dialog=dialog)

        return self._open(dialog, accepted)

    def _start_decide(self) -> DecisionDialog:
        workspace = self.workspace
        dialog = DecisionDialog(workspace.facts, self.viewer.role, workspace.available, self._parent())
        self.dialog = dialog

        def confirmed() -> None:
            request = dialog.request()
            outcome = OUTCOMES[{"approve": "approved", "partial": "partially-approved", "deny": "denied"}[
                request["outcome"]]]
            self.submit(f"record the determination on TAR {self.tar}",
                        lambda s, tar, user, v: cases.decide_case(s, tar, user, expected_version=v, **request),
                        f"Recorded the determination on TAR {self.tar}: {outcome.lower()}.", dialog=dialog)

        dialog.confirmed.connect(confirmed)
        dialog.open()
        return dialog

    def _start_extend(self) -> ActionForm:
        form: ActionForm | None = None

        def run(values: dict) -> Job:
            return self.submit(f"extend the clock of TAR {self.tar}", lambda s, tar, user, v: cases.extend_case(
                s, tar, user, reason=values["reason"], note=values["note"], expected_version=v),
                f"Extended the decision clock of TAR {self.tar}; the extension notice is due to the member.",
                dialog=form)

        form = self._form(f"Extend the clock of TAR {self.tar}", "An extension is allowed only before the decision "
                          "is due and as often as the request's rule sets allow; the member gets a notice.", [
                              Field("reason", "&Reason", "choice", choices=tuple(EXTENSION_REASONS.items())),
                              Field("note", "&Note", "text", required=True,
                                    placeholder="Why the extension is in the member's interest")],
                          "&Extend", run)
        return form

    def _start_assign(self) -> AssignDialog:
        workspace = self.workspace
        dialog = AssignDialog(self.tar, workspace.facts.member_name,
                              [(username, label) for username, label, _ in workspace.reviewers],
                              workspace.facts.holder, self._parent())

        def accepted() -> None:
            assignee, note = dialog.choice()
            self.submit(f"reassign TAR {self.tar}", lambda s, tar, user, v: cases.assign_case(
                s, tar, user, assignee, note, expected_version=v), f"Reassigned TAR {self.tar} to {assignee}.",
                dialog=dialog)

        return self._open(dialog, accepted)

    def _start_withdraw(self) -> ActionForm:
        form: ActionForm | None = None

        def run(values: dict) -> Job:
            return self.submit(f"record the withdrawal of TAR {self.tar}", lambda s, tar, user, v: cases.withdraw_case(
                s, tar, user, note=values["note"], withdrawn_by=values["by"], expected_version=v),
                f"Recorded TAR {self.tar} as withdrawn.", dialog=form)

        form = self._form(f"Withdrawn: TAR {self.tar}", "The requester (or the member) withdrew the request.", [
            Field("by", "Withdrawn &by", "choice", choices=(("provider", "The provider"), ("member", "The member"))),
            Field("note", "&How it came", "text", required=True, placeholder="e.g. provider called 11/23")],
            "&Continue…", run, confirm="record the request as withdrawn. This is a determination; it cannot be "
                                       "edited.")
        return form

    def _start_close_admin(self) -> ActionForm:
        form: ActionForm | None = None

        def run(values: dict) -> Job:
            return self.submit(f"close TAR {self.tar} administratively",
                               lambda s, tar, user, v: cases.close_administratively(
                                   s, tar, user, reason=values["reason"], expected_version=v),
                               f"Closed TAR {self.tar} administratively.", dialog=form)

        form = self._form(f"Close TAR {self.tar} administratively", "Close the request without a decision on its "
                          "merits (e.g. a duplicate, or not a request for authorization).",
                          [Field("reason", "&Reason", "text", required=True,
                                 placeholder="e.g. duplicate of TAR 90000000041")],
                          "&Continue…", run, confirm="close the request administratively. This is a "
                                                     "determination; it cannot be edited.")
        return form

    def _start_notify(self) -> ActionForm:
        form: ActionForm | None = None
        recorded = self.workspace.facts.notices_recorded

        def run(values: dict) -> Job:
            who = NOTICE_RECIPIENTS[values["recipient"]].lower()
            def call(s, tar, user, v):
                return cases.record_notification(s, tar, user, recipient=values["recipient"], method=values["method"],
                                                 sent_at=values["sent_at"], expected_version=v)

            return self.submit(f"record the notice on TAR {self.tar}", call,
                               f"Recorded the notice to the {who} on TAR {self.tar}.", dialog=form)

        form = self._form(f"Notice sent: TAR {self.tar}", "Record that the determination's notice went out.", [
            Field("recipient", "&To", "choice", choices=tuple(NOTICE_RECIPIENTS.items()),
                  disabled={r: "already recorded for this determination" for r in recorded}),
            Field("method", "&By", "choice", choices=NOTICE_METHODS),
            Field("sent_at", "&Sent (PT)", "datetime")], "&Record", run)
        return form

    def _start_close(self) -> ActionForm:
        form: ActionForm | None = None

        def run(values: dict) -> Job:
            return self.submit(f"close TAR {self.tar}", lambda s, tar, user, v: cases.close_case(
                s, tar, user, note=values["note"], expected_version=v), f"Closed TAR {self.tar}.", dialog=form)

        form = self._form(f"Close TAR {self.tar}", "Close the determined case: its notices are recorded.",
                          [Field("note", "&Note", "text", placeholder="Optional")], "&Close the case", run)
        return form

    def _start_reopen(self) -> ActionForm:
        form: ActionForm | None = None

        def run(values: dict) -> Job:
            return self.submit(f"reopen TAR {self.tar}", lambda s, tar, user, v: cases.reopen_case(
                s, tar, user, reason=values["reason"], note=values["note"], expected_version=v),
                f"Reopened TAR {self.tar}: it is in your cases for a new determination.", dialog=form)

        form = self._form(f"Reopen TAR {self.tar}", "A peer-to-peer or appeal outcome reopens a denial or "
                          "modification; your new determination then supersedes the current one.", [
                              Field("reason", "&Outcome of", "choice", choices=tuple(REOPEN_REASONS.items())),
                              Field("note", "&What was agreed", "text", required=True)], "&Reopen", run)
        return form

    def _start_correct_received_date(self) -> ActionForm:
        form: ActionForm | None = None
        received: datetime = self.workspace.facts.received_at

        def run(values: dict) -> Job:
            return self.submit(f"correct the received date of TAR {self.tar}",
                               lambda s, tar, user, v: cases.correct_received_date(
                                   s, tar, user, received_at=values["received_at"], reason=values["reason"],
                                   expected_version=v),
                               f"Corrected the received date of TAR {self.tar}; the clocks count from it now.",
                               dialog=form)

        form = self._form(f"Correct the received date of TAR {self.tar}", "The correction shows on the timeline "
                          "with the old and new dates and your reason (NCQA UM system controls); the decision due "
                          "is counted again from the corrected receipt.", [
                              Field("received_at", "&Received (PT)", "datetime", default=received),
                              Field("reason", "&Reason", "text", required=True,
                                    placeholder="e.g. the fax arrived 11/20 4:10 PM; entered the next morning")],
                          "&Correct", run)
        return form

    def _start_declare_involvement(self) -> ActionForm:
        form: ActionForm | None = None

        def run(values: dict) -> Job:
            return self.submit(f"declare involvement on TAR {self.tar}",
                               lambda s, tar, user, v: cases.declare_involvement(s, tar, user, note=values["note"]),
                               "Recorded your involvement in this member's care: another reviewer decides the "
                               "member's cases.", dialog=form)

        form = self._form("Declare my involvement", "If you are involved in this member's care, you may not decide "
                          "the member's cases (conflict of interest). A declaration is never removed.",
                          [Field("note", "&How you are involved", "text", required=True)], "&Declare", run)
        return form
