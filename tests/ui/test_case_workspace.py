"""The case workspace driven like a user would (issue 6, scope 5): actions enabled by role with the reason when not,
the refer and decision dialogs, confirmations, refusals in words, and the events the store holds afterwards."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from sqlalchemy import func, select

from app.services import cases, demo
from app.store.models import AuditRecord, Case, CaseEvent
from app.store.worklist import viewer_for
from app.ui.action_forms import ActionForm
from app.ui.decision_dialog import DecisionDialog
from app.ui.main_window import MainWindow
from app.ui.refer_dialog import ReferDialog
from app.ui.worklist_model import TAR_ROLE
from tests.workflow.conftest import CHILD, CaseMaker

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def store(local_store):
    demo.generate(local_store, 0, seed=11)  # the demo users, no demo cases
    return local_store


@pytest.fixture
def make_case(store):
    return CaseMaker(store)


@pytest.fixture
def window_for(qtbot, store, tmp_path):
    def make(username: str) -> MainWindow:
        with store.session() as session:
            viewer = viewer_for(session, username)
        window = MainWindow(store, viewer, QSettings(str(tmp_path / f"{username}.ini"), QSettings.Format.IniFormat),
                            watch_ms=0)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: bool(window.queue_counts))
        qtbot.waitUntil(lambda: window.clock_checks > 0 and window.clock_watch_idle())
        return window
    return make


def open_workspace(qtbot, window: MainWindow, tar: str):
    view = window.open_case(tar)
    qtbot.waitUntil(lambda: view.actions.ready)
    return view


def events(store, tar: str, kind: str | None = None) -> list[CaseEvent]:
    with store.session() as session:
        query = (select(CaseEvent).join(Case, CaseEvent.case_id == Case.id).where(Case.tar == tar)
                 .order_by(CaseEvent.occurred_at))
        if kind:
            query = query.where(CaseEvent.kind == kind)
        return list(session.scalars(query))


def case_row(store, tar: str) -> Case:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.tar == tar))
        case.assignee  # load
        return case


def type_into(qtbot, widget, text: str) -> None:
    widget.setFocus()
    qtbot.keyClicks(widget, text)


def test_opening_a_case_records_a_view_and_enables_what_the_role_may_do(qtbot, store, make_case, window_for):
    tar = make_case(category="outpatient")
    window = window_for("nurse.nguyen")
    with store.session() as session:
        views_before = session.scalar(select(func.count()).select_from(AuditRecord)
                                      .where(AuditRecord.action == "view", AuditRecord.what == "case",
                                             AuditRecord.tar == tar))
    view = open_workspace(qtbot, window, tar)
    actions = view.actions.qactions
    assert actions["claim"].isEnabled() and actions["pend"].isEnabled() and actions["refer"].isEnabled()
    assert actions["decide"].isEnabled()  # a nurse may decide some questions; the dialog says which
    for action_id in ("assign", "correct-received-date", "reopen", "notify", "close"):
        assert not actions[action_id].isEnabled(), action_id
        assert actions[action_id].toolTip().startswith("Not now: ")
    assert "Nurse lead / supervisor" in actions["correct-received-date"].toolTip()  # who may
    assert actions["pend"].shortcut().toString() == "Ctrl+P"
    assert actions["refer"].shortcut().toString() == "Ctrl+R"
    assert actions["decide"].shortcut().toString() == "Ctrl+D"
    with store.session() as session:
        views = session.scalar(select(func.count()).select_from(AuditRecord)
                               .where(AuditRecord.action == "view", AuditRecord.what == "case", AuditRecord.tar == tar))
    assert views == views_before + 1  # the case, once (its tabs may record their own views: a letter's preview)


def test_an_auditor_reads_the_case_with_every_action_disabled_and_saying_why(qtbot, store, make_case, window_for):
    tar = make_case()
    view = open_workspace(qtbot, window_for("auditor.brown"), tar)
    for action_id, action in view.actions.qactions.items():
        assert not action.isEnabled(), action_id
    assert "An Auditor" in view.actions.qactions["pend"].toolTip()
    assert "does not review cases" in view.actions.qactions["claim"].toolTip()
    before = len(events(store, tar))
    qtbot.keyClick(view, Qt.Key.Key_P, CTRL)  # a disabled action's shortcut does nothing
    assert view.actions.dialog is None and len(events(store, tar)) == before


def test_a_nurse_refers_with_a_summary_and_the_physician_reads_it_first(qtbot, store, make_case, window_for):
    tar = make_case(category="outpatient")
    nurse = window_for("nurse.nguyen")
    view = open_workspace(qtbot, nurse, tar)
    view.activateWindow()
    qtbot.keyClick(view, Qt.Key.Key_R, CTRL)
    dialog = view.actions.dialog
    assert isinstance(dialog, ReferDialog) and dialog.isVisible()
    assert dialog.target_box.currentData() == "physician"
    assert not dialog.ok_button.isEnabled()  # the summary is required
    assert "Summary" in dialog.missing.text()
    type_into(qtbot, dialog.widgets["summary"], "PT 6 visits for low back pain; no trial of home exercise.")
    type_into(qtbot, dialog.widgets["question"], "Medically necessary as asked?")
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: len(events(store, tar, "referred")) == 1)
    qtbot.waitUntil(lambda: view.actions.ready and view.actions.workspace.facts.status == "referred")
    referral = events(store, tar, "referred")[0]
    assert referral.payload["to"] == "physician"
    assert referral.payload["summary"] == "PT 6 visits for low back pain; no trial of home exercise."
    assert referral.payload["question"] == "Medically necessary as asked?"
    assert referral.payload["from_user"] == "nurse.nguyen"
    assert "criteria_result" not in referral.payload  # no checklist result to send with it
    case = case_row(store, tar)
    assert case.status == "referred" and case.assignee is None
    assert "Referred" in view.status.text()
    assert view.referral.isVisible() and "PT 6 visits" in view.referral.text()
    assert not view.actions.qactions["pend"].isEnabled()  # the physician takes it from here
    assert "referred to a physician reviewer" in view.actions.qactions["pend"].toolTip().lower()
    timeline = [view.timeline.item(r, 2).text() for r in range(view.timeline.rowCount())]
    assert len(timeline) == len(events(store, tar))  # every event
    assert any(text.startswith("Referred to a physician reviewer by nurse.nguyen") for text in timeline)

    doctor = window_for("dr.shah")
    doctor.show_queue("referred")
    row = next(r for r in range(doctor.model.rowCount()) if doctor.model.index(r, 0).data(TAR_ROLE) == tar)
    doctor.select_row(row)
    panel = doctor.summary.referral
    assert panel.isVisible()
    text = panel.text()
    assert text.index("Criteria:") < text.index("Summary:")  # the criteria result first, then the summary
    assert "No criteria result recorded" in text and "PT 6 visits for low back pain" in text
    assert "Medically necessary as asked?" in text and "Linh Nguyen" in text


def test_a_medical_director_denies_after_confirming_and_the_store_has_the_determination(qtbot, store, make_case,
                                                                                      window_for):
    tar = make_case(category="outpatient", lines=(("97110", 6), ("97140", 4)))
    with store.session() as session, session.begin():
        cases.refer_case(session, tar, "nurse.nguyen", to="physician", summary="Summary for the doctor")
    window = window_for("dr.morales")
    view = open_workspace(qtbot, window, tar)
    view.activateWindow()
    qtbot.keyClick(view, Qt.Key.Key_D, CTRL)
    dialog = view.actions.dialog
    assert isinstance(dialog, DecisionDialog) and dialog.isVisible()
    deny = dialog.outcome_buttons["deny"]
    qtbot.mouseClick(deny, Qt.MouseButton.LeftButton, pos=QPoint(6, deny.height() // 2))  # on its indicator
    assert dialog.outcome() == "deny"
    assert [spin.value() for spin in dialog.spins.values()] == [0, 0]
    assert not dialog.decide_button.isEnabled()
    type_into(qtbot, dialog.rationale, "No documented trial of home exercise; imaging normal.")
    assert not dialog.decide_button.isEnabled()  # a denial needs the member's reason too
    assert "reason for the member" in dialog.verdict_text.text()
    type_into(qtbot, dialog.member_reason, "Your records do not show that you tried home exercises first.")
    assert dialog.decide_button.isEnabled()
    qtbot.mouseClick(dialog.decide_button, Qt.MouseButton.LeftButton)
    box = dialog.confirmation
    assert box is not None and box.isVisible()
    assert tar in box.text() and "Deny" in box.text()
    assert box.defaultButton() is box.back_button  # the safe button is the default
    assert events(store, tar, "determined") == []  # nothing yet
    qtbot.mouseClick(box.record_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: len(events(store, tar, "determined")) == 1)
    qtbot.waitUntil(lambda: view.actions.ready and view.actions.workspace.facts.status == "determined")
    payload = events(store, tar, "determined")[0].payload
    assert payload["outcome"] == "denied" and payload["basis"] == "medical-necessity"
    assert payload["decided_by"]["username"] == "dr.morales" and payload["decided_by"]["credential"] == "DO"
    assert [line["approved_units"] for line in payload["lines"]] == [0, 0]
    assert payload["member_reason"].startswith("Your records do not show")
    case = case_row(store, tar)
    assert case.status == "determined" and case.outcome == "denied" and case.assignee.username == "dr.morales"
    assert view.actions.last_elapsed is not None and view.actions.last_elapsed < 1.0
    assert view.actions.qactions["notify"].isEnabled()
    assert any(view.timeline.item(r, 2).text().startswith("Determination: Denied (medical necessity) by Elena")
               for r in range(view.timeline.rowCount()))


def test_going_back_from_the_confirmation_records_nothing(qtbot, store, make_case, window_for):
    tar = make_case(category="outpatient")
    view = open_workspace(qtbot, window_for("dr.shah"), tar)
    dialog = view.actions.trigger("decide")
    dialog.choose("partial", "medical-necessity")
    dialog.spins[1].setValue(3)
    type_into(qtbot, dialog.rationale, "Three visits are enough to start a home program.")
    type_into(qtbot, dialog.member_reason, "We approved 3 of the 6 visits asked for.")
    box = dialog.ask_confirmation()
    assert "3 of 6" in box.text()
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert events(store, tar, "determined") == []
    assert dialog.isVisible()  # back to the dialog, entries kept
    assert dialog.rationale.toPlainText() == "Three visits are enough to start a home program."


def test_a_nurse_cannot_deny_for_medical_necessity_and_is_told_who_may(qtbot, store, make_case, window_for):
    tar = make_case(category="outpatient")
    view = open_workspace(qtbot, window_for("nurse.nguyen"), tar)
    dialog = view.actions.trigger("decide")
    dialog.choose("deny", "medical-necessity")
    type_into(qtbot, dialog.rationale, "Not necessary.")
    type_into(qtbot, dialog.member_reason, "Not necessary for you.")
    assert not dialog.decide_button.isEnabled()
    text = dialog.verdict_text.text()
    assert text.startswith("Not allowed: Only a physician may deny a request for lack of medical necessity")
    assert "refer the case to a physician" in text and "Medical director" in text
    assert dialog.decide_button.toolTip().startswith("Only a physician may deny")
    assert dialog.ask_confirmation() is None  # nothing to confirm

    dialog.choose("approve")  # approving needs criteria met and cited: none are recorded
    assert "approves only when the criteria are met" in dialog.verdict_text.text()
    assert not dialog.decide_button.isEnabled()
    assert events(store, tar, "determined") == []


def test_a_benefit_denial_for_a_child_is_a_physicians_even_when_the_service_is_asked(qtbot, store, make_case,
                                                                                     window_for):
    tar = make_case(category="outpatient", birth=CHILD)
    view = open_workspace(qtbot, window_for("nurse.nguyen"), tar)
    dialog = view.actions.trigger("decide")
    dialog.choose("deny", "benefit")
    assert "EPSDT" in dialog.verdict_text.text() and not dialog.decide_button.isEnabled()

    # The services refuse it on their own: a request sent anyway comes back as a refusal in words.
    request = dict(dialog.request(), rationale="Not a covered benefit.", member_reason="Not covered.")
    view.actions.submit(f"record the determination on TAR {tar}",
                        lambda s, t, u, v: cases.decide_case(s, t, u, expected_version=v, **request),
                        "done", dialog=dialog)
    qtbot.waitUntil(lambda: view.actions.message is not None and view.actions.message.isVisible())
    box = view.actions.message
    assert box.windowTitle() == f"Cannot record the determination on TAR {tar}"
    assert "under 21 (EPSDT)" in box.text() and "Who may:" in box.text() and "Medical director" in box.text()
    assert "Traceback" not in box.text()
    assert events(store, tar, "determined") == []


def test_a_nurse_involved_in_the_members_care_is_refused_by_the_service_with_who_may(qtbot, store, make_case,
                                                                                  window_for):
    tar = make_case(category="outpatient")
    view = open_workspace(qtbot, window_for("nurse.nguyen"), tar)
    with store.session() as session, session.begin():  # recorded after the nurse opened the case
        cases.declare_involvement(session, tar, "lead.patel", note="her neighbour", involved_username="nurse.nguyen")
    dialog = view.actions.trigger("decide")
    dialog.choose("deny", "benefit")
    type_into(qtbot, dialog.rationale, "Not a covered benefit of the plan.")
    type_into(qtbot, dialog.member_reason, "The plan does not cover this service.")
    assert dialog.decide_button.isEnabled()  # the view does not know yet
    box = dialog.ask_confirmation()
    qtbot.mouseClick(box.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.actions.message is not None and view.actions.message.isVisible())
    assert "involved in this member's care" in view.actions.message.text()
    assert "Another reviewer may" in view.actions.message.text()
    assert events(store, tar, "determined") == []
    qtbot.waitUntil(lambda: view.actions.ready and view.actions.workspace.facts.involved)


def test_a_pharmacy_technician_escalates_to_the_clinical_pharmacist(qtbot, store, make_case, window_for):
    tar = make_case(category="medication", lines=(("J1745", 3),))
    tech = window_for("tech.rivera")
    view = open_workspace(qtbot, tech, tar)
    dialog = view.actions.trigger("decide")  # a technician approves only when criteria are met; never denies
    dialog.choose("deny", "medical-necessity")
    assert "refer the case to a Clinical pharmacist" in dialog.verdict_text.text()
    dialog.reject()

    view.activateWindow()
    qtbot.keyClick(view, Qt.Key.Key_R, CTRL)
    refer = view.actions.dialog
    assert isinstance(refer, ReferDialog)
    assert refer.target_box.currentData() == "pharmacist"
    physician_row = refer.target_box.findData("physician")
    item = refer.target_box.model().item(physician_row)
    assert not item.isEnabled() and "escalates to a Clinical pharmacist" in item.toolTip()
    type_into(qtbot, refer.widgets["summary"], "Dose above the label maximum for weight; step therapy unclear.")
    qtbot.mouseClick(refer.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(events(store, tar, "referred")) == 1)
    assert events(store, tar, "referred")[0].payload["to"] == "pharmacist"

    pharmacist = window_for("pharmd.kim")
    pharmacist.show_queue("pharmacist-referred")
    assert pharmacist.model.queue_id == "pharmacist-referred"
    tars = [pharmacist.model.index(r, 0).data(TAR_ROLE) for r in range(pharmacist.model.rowCount())]
    assert tar in tars
    doctor = window_for("dr.shah")
    doctor.show_queue("referred")
    assert tar not in [doctor.model.index(r, 0).data(TAR_ROLE) for r in range(doctor.model.rowCount())]

    pharmacist_view = open_workspace(qtbot, pharmacist, tar)
    assert pharmacist_view.referral.isVisible() and "Dose above the label maximum" in pharmacist_view.referral.text()
    assert pharmacist_view.actions.qactions["claim"].isEnabled()
    qtbot.waitUntil(lambda: view.actions.ready and view.actions.workspace.facts.status == "referred")
    assert not view.actions.qactions["refer"].isEnabled()  # the technician's part is done


def test_pend_then_information_received_keeps_input_on_bad_input_and_the_worklist_follows(qtbot, store, make_case,
                                                                                        window_for):
    tar = make_case(category="outpatient")
    window = window_for("nurse.nguyen")
    view = open_workspace(qtbot, window, tar)
    view.activateWindow()
    qtbot.keyClick(view, Qt.Key.Key_P, CTRL)
    form = view.actions.dialog
    assert isinstance(form, ActionForm) and not form.ok_button.isEnabled()
    type_into(qtbot, form.widgets["missing"], "PT progress notes since 10/01")
    qtbot.mouseClick(form.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(events(store, tar, "pended")) == 1)
    assert events(store, tar, "pended")[0].payload["missing"] == ["PT progress notes since 10/01"]
    qtbot.waitUntil(lambda: view.actions.ready and view.actions.workspace.facts.status == "pended")
    qtbot.waitUntil(lambda: window.queue_counts.get("pended", 0) >= 1)
    assert case_row(store, tar).assignee.username == "nurse.nguyen"  # pending a case nobody held takes it

    form = view.actions.trigger("resume")
    assert "PT progress notes since 10/01" in form.intro.text()
    form.accept()
    qtbot.waitUntil(lambda: len(events(store, tar, "information-received")) == 1)
    qtbot.waitUntil(lambda: view.actions.ready and view.actions.workspace.facts.status == "in-review")


def test_a_supervisor_corrects_the_received_date_with_a_reason(qtbot, store, make_case, window_for):
    tar = make_case(category="outpatient")
    view = open_workspace(qtbot, window_for("lead.patel"), tar)
    received = view.actions.workspace.facts.received_at
    form = view.actions.trigger("correct-received-date")
    assert not form.ok_button.isEnabled()
    from datetime import timedelta

    form.set_value("received_at", received - timedelta(hours=2))
    type_into(qtbot, form.widgets["reason"], "Fax arrived two hours earlier than entered.")
    qtbot.mouseClick(form.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(events(store, tar, "received-date-corrected")) == 1)
    payload = events(store, tar, "received-date-corrected")[0].payload
    assert payload["reason"] == "Fax arrived two hours earlier than entered."
    qtbot.waitUntil(lambda: view.actions.ready and any(
        view.timeline.item(r, 2).text().startswith("Received date corrected") for r in range(view.timeline.rowCount())))


def test_a_stale_view_is_refused_and_read_again(qtbot, store, make_case, window_for):
    tar = make_case(category="outpatient")
    view = open_workspace(qtbot, window_for("nurse.nguyen"), tar)
    with store.session() as session, session.begin():
        cases.claim_case(session, tar, "nurse.garcia")  # someone else, meanwhile
    job = view.actions.trigger("claim")
    assert job is not None
    qtbot.waitUntil(lambda: view.actions.message is not None and view.actions.message.isVisible())
    assert "held by nurse.garcia" in view.actions.message.text() or "changed since" in view.actions.message.text()
    qtbot.waitUntil(lambda: view.actions.ready and view.actions.workspace.facts.holder == "nurse.garcia")
    assert not view.actions.qactions["claim"].isEnabled()
    assert "held by nurse.garcia" in view.actions.qactions["claim"].toolTip()


def test_a_nurse_approves_when_the_checklist_says_met_and_cites_its_set(qtbot, store, make_case, window_for):
    from app.services import criteria
    from app.store.criteria_answers import checklist

    tar = make_case(category="outpatient", lines=(("97110", 6),))
    with store.session() as session, session.begin():
        cases.claim_case(session, tar, "nurse.nguyen")
        state = criteria.choose_set(session, tar, "nurse.nguyen", "outpatient-physical-therapy")
        for row in state.rows:
            if not row.is_group:
                criteria.answer_criterion(session, tar, "nurse.nguyen", row.node.id, "met", "seen in the PT notes",
                                          override_reason="the notes show it")
        case = session.scalar(select(Case).where(Case.tar == tar))
        result = checklist(session, case)
        assert result.result.result == "criteria-met"
        cset = result.set
    view = open_workspace(qtbot, window_for("nurse.nguyen"), tar)
    dialog = view.actions.trigger("decide")
    assert dialog.outcome() == "approve"
    assert "Criteria met" in dialog.criteria_text.text() and cset.id in dialog.cite.text()
    assert dialog.cite.isChecked()
    type_into(qtbot, dialog.rationale, "All criteria met as documented.")
    dialog.cite.setChecked(False)  # a nurse's approval must cite the set
    assert not dialog.decide_button.isEnabled() and "Cite the criteria set" in dialog.verdict_text.text()
    dialog.cite.setChecked(True)
    box = dialog.ask_confirmation()
    qtbot.mouseClick(box.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(events(store, tar, "determined")) == 1)
    payload = events(store, tar, "determined")[0].payload
    assert payload["outcome"] == "approved" and payload["criteria_result"] == "criteria-met"
    assert payload["criteria"] == [{"set_id": cset.id, "version": cset.version}]
    assert payload["decided_by"]["username"] == "nurse.nguyen"


def test_every_widget_of_the_dialogs_has_a_name_for_screen_readers(qtbot, store, make_case, window_for):
    from PySide6.QtWidgets import QAbstractButton, QWidget

    tar = make_case(category="outpatient")
    view = open_workspace(qtbot, window_for("lead.patel"), tar)
    unnamed = []
    for action_id in ("decide", "refer", "pend", "correct-received-date", "extend"):
        dialog = view.actions.trigger(action_id)
        for widget in [dialog, *dialog.findChildren(QWidget)]:
            if widget.focusPolicy() == Qt.FocusPolicy.NoFocus or not widget.isVisibleTo(dialog):
                continue
            if isinstance(widget, QAbstractButton) and widget.text():
                continue
            if not widget.accessibleName():
                unnamed.append(f"{action_id}: {type(widget).__name__} in {type(widget.parentWidget()).__name__}")
        dialog.reject()
    assert unnamed == []
