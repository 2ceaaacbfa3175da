"""The criteria checklist tab (app/ui/checklist.py) on a real encrypted store: keyboard, events, authority, EPSDT."""
from __future__ import annotations

import copy
import json
import uuid
from datetime import date, datetime, timezone

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from sqlalchemy import select

from app.domain.criteria import validate as criteria_validate
from app.services import demo
from app.services.cases import NewCase, NewLine, assign_case, claim_case, receive_case
from app.services.criteria import import_set, record_fact
from app.store.case_details import load_case
from app.store.criteria_answers import checklist
from app.store.models import Case, CaseEvent, Member, Provider
from app.store.worklist import viewer_for
from app.ui.case_view import CaseView
from app.ui.checklist import ChecklistPanel
from app.ui.checklist_model import ChecklistModel, RowState

RECEIVED = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)  # Fri 11/20 9:00 PT
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(local_store):
    demo.generate(local_store, 0, seed=2)  # users, members and providers; no cases
    return local_store


def new_case(store, tar: str, code: str, birth: date | None, diagnoses, *, category="medication",
             holder: str | None = "tech.rivera", lob="medi-cal") -> str:
    with store.session() as session, session.begin():
        member = Member(id=uuid.uuid4(), cin=f"8{tar[-7:]}Z", first_name="Test", last_name=f"Member{tar[-3:]}",
                        birth_date=birth, sex="F")
        session.add(member)
        provider = session.scalars(select(Provider)).first()
        receive_case(session, NewCase(
            tar=tar, line_of_business=lob, service_category=category, review_timing="pre-service",
            urgency="routine", received_at=RECEIVED, member=member, requesting_provider_id=provider.id,
            place_of_service="11", proposed_date=date(2026, 12, 1),
            lines=[NewLine(code, "test line", 50, date(2026, 12, 1), date(2026, 12, 1))],
            diagnoses=[(d, "test diagnosis") for d in diagnoses]), None)
    if holder:
        with store.session() as session, session.begin():
            claim_case(session, tar, holder)
    return tar


def infliximab_case(store, tar="92000000001") -> str:
    """Crohn's disease, adult, 70 kg, 500 mg (7.1 mg/kg), every 56 days, methotrexate tried for 120 days."""
    new_case(store, tar, "J1745", date(1980, 1, 1), ["K50.90"])
    with store.session() as session, session.begin():
        for name, value in (("weight_kg", 70), ("dose", {"value": 500, "unit": "mg"}), ("dosing_interval_days", 56),
                            ("prior_therapies", [{"drug": "methotrexate", "days": 120,
                                                  "outcome": "inadequate-response"}])):
            record_fact(session, tar, "tech.rivera", name, value)
    return tar


@pytest.fixture
def open_view(qtbot, store):
    views = []

    def make(tar: str, username: str = "tech.rivera") -> CaseView:
        with store.session() as session:
            viewer = viewer_for(session, username)
            details = load_case(session, tar, full=True)
        view = CaseView(details, lambda: NOW, store=store, viewer=viewer)
        qtbot.addWidget(view)
        view.resize(1000, 760)
        view.show()
        view.tabs.setCurrentWidget(view.criteria)
        qtbot.waitUntil(lambda: view.criteria.data is not None, timeout=10_000)
        views.append(view)
        return view

    yield make
    for view in views:
        view.criteria.close_down()


def events(store, tar, kind):
    with store.session() as session:
        rows = session.scalars(select(CaseEvent).join(Case, CaseEvent.case_id == Case.id)
                               .where(Case.tar == tar, CaseEvent.kind == kind)).all()
        return sorted(rows, key=lambda e: (e.occurred_at, e.payload.get("seq", 0)))


def stored_checklist(store, tar):
    with store.session() as session:
        return checklist(session, session.scalar(select(Case).where(Case.tar == tar)))


def current(panel: ChecklistPanel) -> str:
    return panel.current_criterion()


def press(qtbot, panel: ChecklistPanel, key) -> None:
    qtbot.keyClick(panel.tree, key)


def answer_shown(panel: ChecklistPanel, node_id: str) -> str:
    return panel.model.index_of(node_id, 1).data()


def type_note(qtbot, panel: ChecklistPanel, field: str, text: str) -> None:
    assert panel.dialog is not None and panel.dialog.isVisible()
    edit = panel.dialog.edits[field]
    qtbot.keyClicks(edit, text)


def submit(qtbot, panel: ChecklistPanel, field: str) -> None:
    qtbot.keyClick(panel.dialog.edits[field], Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_a_checklist_completed_entirely_by_keyboard_is_in_the_store_answer_by_answer(qtbot, store, open_view):
    tar = infliximab_case(store)
    view = open_view(tar)
    panel = view.criteria
    # Nothing applied yet: the best proposal is previewed with the machine's answers, nothing written.
    assert "Preview" in panel.set_label.text() and "Infliximab" in panel.set_label.text()
    assert panel.chosen_set().id == "med-infliximab"
    assert events(store, tar, "criteria-set-chosen") == []
    assert panel.model.rows["age"].machine == "met" and "46 years" in panel.model.rows["age"].explanation
    assert panel.read_only_label.isHidden()
    panel.tree.setFocus()
    assert current(panel) == "age"

    press(qtbot, panel, Qt.Key.Key_1)  # age: confirm the machine's met (applies the set first)
    assert current(panel) == "dx"
    press(qtbot, panel, Qt.Key.Key_1)  # dx: met, as the machine said
    assert current(panel) == "prescriber"
    press(qtbot, panel, Qt.Key.Key_N)  # prescriber: note the evidence first, then answer
    type_note(qtbot, panel, "evidence", "Gastroenterology consult 10/02/2026 in the attachments")
    submit(qtbot, panel, "evidence")
    assert panel.dialog is None
    press(qtbot, panel, Qt.Key.Key_1)
    assert current(panel) == "tb"
    press(qtbot, panel, Qt.Key.Key_1)  # tb: met, then the evidence
    assert current(panel) == "tried"
    press(qtbot, panel, Qt.Key.Key_Up)  # back to tb with the arrow key
    assert current(panel) == "step"  # the group above "tried"
    press(qtbot, panel, Qt.Key.Key_Up)
    assert current(panel) == "tb"
    press(qtbot, panel, Qt.Key.Key_N)
    type_note(qtbot, panel, "evidence", "IGRA negative 10/01/2026")
    submit(qtbot, panel, "evidence")
    press(qtbot, panel, Qt.Key.Key_Down)
    press(qtbot, panel, Qt.Key.Key_Down)
    assert current(panel) == "tried"

    # The machine found the methotrexate trial met; "not met" is an override and asks for a reason.
    press(qtbot, panel, Qt.Key.Key_2)
    dialog = panel.dialog
    assert dialog is not None and "methotrexate" in dialog.findChild(type(panel.result_label)).text().lower()
    assert not dialog.save_button.isEnabled()
    submit(qtbot, panel, "reason")  # Ctrl+Enter with no reason: nothing happens
    assert panel.dialog is dialog and dialog.isVisible()
    type_note(qtbot, panel, "reason", "Pharmacy claims show 30 days of methotrexate, not 120")
    assert dialog.save_button.isEnabled()
    submit(qtbot, panel, "reason")
    assert panel.dialog is None
    assert answer_shown(panel, "tried") == "Not met"
    assert panel.result.result == "incomplete"  # ANY group: "severe" still unknown; live, before the write ends
    assert current(panel) == "severe"
    press(qtbot, panel, Qt.Key.Key_3)  # severe: not applicable -> the group is not met, so is the set
    assert panel.result.result == "not-met" and "refer to a physician" in panel.result_label.text().lower()
    assert "never denies" in panel.result_message.text()
    # Back to "tried": met again, as the machine says, needs no reason.
    for _ in range(2):
        press(qtbot, panel, Qt.Key.Key_Up)
    assert current(panel) == "tried"
    press(qtbot, panel, Qt.Key.Key_1)
    assert panel.dialog is None
    assert panel.result.result == "criteria-met" and "you may approve" in panel.result_label.text().lower()

    # The machine answered dose and interval; walk to the last and confirm it.
    while current(panel) != "interval":
        press(qtbot, panel, Qt.Key.Key_Down)
    assert panel.model.rows["interval"].machine == "met"
    press(qtbot, panel, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    assert panel.result.result == "criteria-met" and "you may approve" in panel.result_label.text().lower()

    # Every answer is a case event, as made: the exact set version, who, the evidence and the override reason.
    chosen = events(store, tar, "criteria-set-chosen")
    assert len(chosen) == 1 and chosen[0].payload["set_id"] == "med-infliximab"
    assert chosen[0].payload["version"] == "2026.1" and chosen[0].payload["basis"] == "exact-code"
    reviewer = [e.payload for e in events(store, tar, "criterion-answered") if e.payload["source"] == "reviewer"]
    assert [(p["criterion_id"], p["answer"]) for p in reviewer] == [
        ("age", "met"), ("dx", "met"), ("prescriber", "unknown"), ("prescriber", "met"), ("tb", "met"),
        ("tb", "met"), ("tried", "not-met"), ("severe", "not-applicable"), ("tried", "met"), ("interval", "met")]
    assert all(p["version"] == "2026.1" and p["set_id"] == "med-infliximab" for p in reviewer)
    assert reviewer[3]["evidence"] == "Gastroenterology consult 10/02/2026 in the attachments"
    assert reviewer[5]["evidence"] == "IGRA negative 10/01/2026"
    assert reviewer[6]["override_reason"] == "Pharmacy claims show 30 days of methotrexate, not 120"
    assert reviewer[6]["machine_answer"] == "met"
    assert reviewer[8]["override_reason"] is None
    state = stored_checklist(store, tar)
    assert state.result.result == "criteria-met"
    assert state.row("tb").reviewer.by == "tech.rivera"
    assert "Saved" in panel.status_label.text()


def test_reopening_the_case_shows_the_saved_answers_and_the_exact_set_version(qtbot, store, open_view):
    tar = infliximab_case(store, "92000000002")
    view = open_view(tar)
    panel = view.criteria
    panel.tree.setFocus()
    panel._select("tb")
    press(qtbot, panel, Qt.Key.Key_1)
    press(qtbot, panel, Qt.Key.Key_Up)  # the group "step"
    press(qtbot, panel, Qt.Key.Key_Up)
    assert current(panel) == "tb"
    press(qtbot, panel, Qt.Key.Key_N)
    type_note(qtbot, panel, "evidence", "IGRA negative")
    submit(qtbot, panel, "evidence")
    # Closing at once: the queued writes are finished first (nothing lost).
    view.reject()
    assert panel.writes_pending == 0
    assert [e.payload["evidence"] for e in events(store, tar, "criterion-answered")
            if e.payload["source"] == "reviewer"] == [None, "IGRA negative"]

    # A later version of the set, in effect at the same receipt day, is imported.
    content = copy.deepcopy(json.loads((criteria_validate.CRITERIA_DIR / "med-infliximab.json").read_text()))
    content["version"] = "2026.2"
    content["criteria"][0]["text"] = "Age 6 or older (revised wording)."
    with store.session() as session, session.begin():
        import_set(session, content, "med-infliximab 2026.2", "admin")

    again = open_view(tar).criteria
    assert "Applied: Infliximab" in again.set_label.text() and "version 2026.1" in again.set_label.text()
    assert again.model.cset.version == "2026.1"
    assert again.chosen_set().version == "2026.1"
    assert again.model.index_of("age", 0).data().startswith("Age 6 or older (Crohn")
    assert answer_shown(again, "tb") == "Met"
    assert again.model.rows["tb"].evidence == "IGRA negative"
    assert again.model.index_of("tb", 3).data() == "IGRA negative"
    assert again.model.index_of("tb", 2).data() == "Reviewer"
    # The newer version is offered in the chooser (proposed), not applied.
    versions = [again.chooser.itemData(i).version for i in range(again.chooser.count()) if again.chooser.itemData(i)]
    assert "2026.2" in versions and "2026.1" in versions


def test_an_override_needs_a_reason_and_cancelling_writes_nothing(qtbot, store, open_view):
    tar = infliximab_case(store, "92000000003")
    panel = open_view(tar).criteria
    panel.tree.setFocus()
    assert current(panel) == "age"
    press(qtbot, panel, Qt.Key.Key_2)  # the machine said met
    dialog = panel.dialog
    assert dialog.windowTitle() == "Override the machine's answer"
    assert not dialog.save_button.isEnabled()
    type_note(qtbot, panel, "evidence", "only evidence, no reason")
    assert not dialog.save_button.isEnabled()
    type_note(qtbot, panel, "reason", "   ")
    assert not dialog.save_button.isEnabled()  # blanks are no reason
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert panel.dialog is None
    assert answer_shown(panel, "age") == "Met" and current(panel) == "age"
    assert events(store, tar, "criteria-set-chosen") == [] and events(store, tar, "criterion-answered") == []
    # An unknown machine answer is simply answered (no dialog): the step-therapy rule with no interval recorded.
    panel._select("prescriber")  # no machine rule at all
    press(qtbot, panel, Qt.Key.Key_2)
    assert panel.dialog is None
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    assert [e.payload["answer"] for e in events(store, tar, "criterion-answered")
            if e.payload["source"] == "reviewer"] == ["not-met"]


def test_the_result_moves_live_and_groups_combine(qtbot, store, open_view):
    tar = infliximab_case(store, "92000000004")
    panel = open_view(tar).criteria
    panel.tree.setFocus()
    assert panel.result.result == "incomplete" and panel.result_label.text().startswith("Preview")
    step = panel.model.index_of("step", 1)
    assert step.data() == "Met"  # ANY: the machine found the trial met
    assert panel.model.index_of("step", 2).data() == "Any of 2"
    for criterion in ("prescriber", "tb"):
        panel._select(criterion)
        press(qtbot, panel, Qt.Key.Key_1)
        assert panel.result.result in ("incomplete", "criteria-met")
    panel._select("interval")
    press(qtbot, panel, Qt.Key.Key_1)
    assert panel.result.result == "criteria-met"  # at once, before the store answers
    assert panel.result_icon.accessibleName() == "Result: Criteria met"
    panel._select("prescriber")
    press(qtbot, panel, Qt.Key.Key_2)
    assert panel.result.result == "not-met"
    assert current(panel) == "tb"  # moved on
    press(qtbot, panel, Qt.Key.Key_Up)
    press(qtbot, panel, Qt.Key.Key_Up)
    assert current(panel) == "dx"
    press(qtbot, panel, Qt.Key.Key_1)  # dx again: no change to the result
    assert panel.result.result == "not-met"
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    assert stored_checklist(store, tar).result.result == "not-met" == panel.result.result
    # The cursor stays where the reviewer moved it while an answer is being written, even on a group.
    panel._select("tb")
    press(qtbot, panel, Qt.Key.Key_2)
    press(qtbot, panel, Qt.Key.Key_Up)
    assert current(panel) == "step"
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    assert current(panel) == "step" and answer_shown(panel, "tb") == "Not met"


def test_epsdt_standard_for_a_member_under_21_with_an_adult_only_set(qtbot, store, open_view):
    minor = new_case(store, "92000000005", "72148", date(2011, 3, 1), ["M54.50"], category="outpatient",
                     holder="nurse.nguyen")
    panel = open_view(minor, "nurse.nguyen").criteria
    assert panel.chosen_set().id == "outpatient-lumbar-spine-mri" and panel.chosen_set().adult_only
    assert panel.epsdt_label.isVisible()
    assert "EPSDT" in panel.epsdt_label.text() and "14059.5(b)" in panel.epsdt_label.text()
    assert "under 21" in panel.epsdt_label.text()
    panel.tree.setFocus()
    panel._select("no-repeat")
    press(qtbot, panel, Qt.Key.Key_2)  # an adult criterion not met
    assert panel.result.result == "epsdt-review"
    assert "EPSDT" in panel.result_label.text() and "refer to a physician" in panel.result_label.text().lower()
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    assert panel.epsdt_label.isVisible()

    adult = new_case(store, "92000000006", "72148", date(1970, 3, 1), ["M54.50"], category="outpatient",
                     holder="nurse.nguyen")
    grown = open_view(adult, "nurse.nguyen").criteria
    assert grown.chosen_set().id == "outpatient-lumbar-spine-mri"
    assert grown.epsdt_label.isHidden()


def test_no_criteria_apply_is_recorded_and_forces_a_referral(qtbot, store, open_view):
    tar = new_case(store, "92000000007", "J9312", date(1975, 5, 5), ["C83.30"])  # rituximab: no set ships
    panel = open_view(tar).criteria
    assert panel.chosen_set() is None and panel.model.rowCount() == 0  # nothing proposed, nothing previewed
    assert panel.chooser.itemText(0) == "Other sets in effect at receipt" and panel.chooser.count() > 5
    assert "No criteria set proposed" in panel.set_label.text()
    assert panel.no_criteria_button.isEnabled()
    panel.no_criteria_button.click()
    dialog = panel.dialog
    assert tar in dialog.findChild(type(panel.result_label)).text()
    type_note(qtbot, panel, "note", "No P&T criteria for rituximab yet")
    submit(qtbot, panel, "note")
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    recorded = events(store, tar, "no-criteria-apply")
    assert len(recorded) == 1 and recorded[0].payload["note"] == "No P&T criteria for rituximab yet"
    assert panel.result.result == "no-criteria" and "refer to a physician" in panel.result_label.text().lower()
    assert "board-certified" in panel.result_message.text()
    assert panel.model.rowCount() == 0
    assert not panel.answer_buttons["met"].isEnabled() and not panel.no_criteria_button.isEnabled()
    assert "No criteria apply: recorded by tech.rivera" in panel.set_label.text()
    # A set may still be applied after all, explicitly.
    assert not panel.apply_button.isEnabled()  # none chosen
    panel.chooser.setCurrentIndex(1)
    assert panel.apply_button.isEnabled() and panel.model.rowCount() == 0  # no preview over a recorded choice
    press(qtbot, panel, Qt.Key.Key_1)  # keys do nothing until a set is applied
    assert len(events(store, tar, "criterion-answered")) == 0 and "Apply a criteria set" in panel.status_label.text()


@pytest.mark.parametrize("username, reason", [
    ("coord.jones", "does not review criteria"), ("auditor.brown", "does not review criteria"),
    ("nurse.garcia", "held by tech.rivera")])
def test_roles_that_may_not_answer_see_it_read_only(qtbot, store, open_view, username, reason):
    tar = infliximab_case(store, "92000000008")
    panel = open_view(tar, username).criteria
    assert panel.read_only_label.isVisible() and reason in panel.read_only_label.text()
    assert not any(button.isEnabled() for button in panel.answer_buttons.values())
    assert not panel.apply_button.isEnabled() and not panel.no_criteria_button.isEnabled()
    panel.tree.setFocus()
    press(qtbot, panel, Qt.Key.Key_1)
    press(qtbot, panel, Qt.Key.Key_N)
    assert panel.dialog is None and panel.writes_pending == 0
    assert "Read only" in panel.status_label.text()
    assert events(store, tar, "criterion-answered") == [] and events(store, tar, "criteria-set-chosen") == []
    assert panel.model.rowCount() > 0  # they still see the criteria and the machine's reading


def test_a_refused_write_says_why_and_shows_what_the_store_holds(qtbot, store, open_view):
    tar = infliximab_case(store, "92000000009")
    panel = open_view(tar).criteria
    with store.session() as session, session.begin():  # meanwhile, the lead gives the case to someone else
        assign_case(session, tar, "lead.patel", "pharmd.kim")
    panel.tree.setFocus()
    press(qtbot, panel, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: panel.writes_pending == 0 and panel.read_only_reason is not None
                    and "pharmd.kim" in panel.read_only_reason, timeout=10_000)
    assert "Not saved" in panel.status_label.text() and "pharmd.kim" in panel.status_label.text()
    assert "Traceback" not in panel.status_label.text()
    assert panel.error_box.isVisible() and "held by pharmd.kim" in panel.error_box.text()
    assert events(store, tar, "criterion-answered") == []
    assert answer_shown(panel, "age") == "Met" and panel.set_label.text().startswith("Preview")


def test_apply_another_set_from_the_chooser(qtbot, store, open_view):
    tar = infliximab_case(store, "92000000010")
    panel = open_view(tar).criteria
    row = next(i for i in range(panel.chooser.count())
               if panel.chooser.itemData(i) is not None and panel.chooser.itemData(i).id == "med-denosumab")
    heading = next(i for i in range(panel.chooser.count()) if panel.chooser.itemData(i) is None and i > 0)
    assert panel.chooser.itemText(heading) == "Other sets in effect at receipt" and row > heading
    panel.chooser.setCurrentIndex(row)
    assert panel.model.cset.id == "med-denosumab"  # previewed
    panel.apply_button.click()
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    chosen = events(store, tar, "criteria-set-chosen")
    assert [e.payload["set_id"] for e in chosen] == ["med-denosumab"]
    assert chosen[0].payload["basis"] == "reviewer-choice"
    assert panel.set_label.text().startswith("Applied: Denosumab") and "chosen by the reviewer" in \
        panel.set_label.text()
    assert not panel.apply_button.isEnabled()


def test_the_model_passes_qtmodeltester(qtmodeltester, qtbot, store, open_view):
    tar = infliximab_case(store, "92000000011")
    panel = open_view(tar).criteria
    qtmodeltester.check(panel.model, force_py=True)
    assert panel.model.rowCount() == 7 and panel.model.rowCount(panel.model.index_of("step")) == 2
    assert panel.model.parent(panel.model.index_of("tried")) == panel.model.index_of("step")
    assert panel.model.index_of("tried", 1).data(Qt.ItemDataRole.AccessibleTextRole) == "Answer: Met"
    assert panel.model.index_of("tried", 1).data(Qt.ItemDataRole.DecorationRole) is not None
    rows = dict(panel.model.rows)
    rows["tried"] = RowState("not-met", "met", "x", "not-met", override_reason="r")
    panel.model.update_rows(rows)
    qtmodeltester.check(panel.model, force_py=True)
    assert panel.model.index_of("step", 1).data() == "Unknown"  # severe still unknown
    assert panel.model.index_of("tried", 2).data() == "Override"

    empty = ChecklistModel()
    qtmodeltester.check(empty, force_py=True)
    assert empty.rowCount() == 0


def test_the_main_window_opens_the_criteria_tab(qtbot, store, tmp_path):
    from PySide6.QtCore import QSettings

    from app.ui.main_window import MainWindow

    tar = infliximab_case(store, "92000000012")
    with store.session() as session:
        viewer = viewer_for(session, "tech.rivera")
    window = MainWindow(store, viewer, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), watch_ms=0)
    qtbot.addWidget(window)
    view = window.open_case(tar)
    names = [view.tabs.tabText(i).replace("&", "") for i in range(view.tabs.count())]
    assert names[:8] == ["Summary", "Request lines", "Diagnoses", "Clinical notes", "Documents", "Criteria",
                         "Timeline", "Letters"]
    qtbot.waitUntil(lambda: view.criteria.data is not None, timeout=10_000)
    assert view.criteria.chosen_set().id == "med-infliximab"
    view.tabs.setCurrentWidget(view.criteria)
    view.criteria.tree.setFocus()
    qtbot.keyClick(view.criteria.tree, Qt.Key.Key_1)
    window.close()  # closing the window closes the case, after the answer is written
    assert [e.payload["criterion_id"] for e in events(store, tar, "criterion-answered")
            if e.payload["source"] == "reviewer"] == ["age"]
    assert view.result() == QDialog.DialogCode.Rejected


def test_the_timeline_tells_criteria_events_in_words(qtbot, store, open_view):
    tar = infliximab_case(store, "92000000013")
    panel = open_view(tar).criteria
    panel.tree.setFocus()
    press(qtbot, panel, Qt.Key.Key_2)  # age: override of the machine's met
    type_note(qtbot, panel, "reason", "Birth date on the request is wrong")
    submit(qtbot, panel, "reason")
    qtbot.waitUntil(lambda: panel.writes_pending == 0, timeout=10_000)
    with store.session() as session:
        timeline = [what for _, _, what in load_case(session, tar, full=True).timeline]
    assert "Fact recorded (reviewer): Weight (kg): 70" in timeline
    assert "Fact recorded (reviewer): Dose per administration: 500 mg" in timeline
    assert any(t.startswith("Criteria set applied: Infliximab") and "version 2026.1" in t for t in timeline)
    assert any(t.startswith("Machine answered “Age 6 or older") and ": Met (" in t for t in timeline)
    assert any(t.startswith("Reviewer answered “Age 6 or older") and
               t.endswith("Not met, overriding the machine's Met: Birth date on the request is wrong")
               for t in timeline)
    assert not any("sha256" in t or "criterion_id" in t for t in timeline)


def test_for_a_medicare_member_the_coverage_determination_is_proposed_first(qtbot, store, open_view):
    tar = new_case(store, "92000000014", "K0823", date(1950, 2, 2), ["G35"], category="dme", holder="nurse.okafor",
                   lob="medicare")
    panel = open_view(tar, "nurse.okafor").criteria
    proposed = [m.set.id for m in panel.data.proposals]
    assert proposed == ["medicare-ncd-280-3-mobility", "dme-power-wheelchair"]  # 42 CFR 422.101(b)(6)
    assert panel.chooser.itemText(0) == "Proposed for this case, best match first"
    assert panel.chooser.itemText(1).startswith("1. ") and "Medicare National Coverage Determination" in \
        panel.chooser.itemText(1)
    assert panel.chosen_set().id == "medicare-ncd-280-3-mobility" and panel.model.cset.id == proposed[0]
    assert "422.101(b)(6)" in panel.chooser.itemData(1, Qt.ItemDataRole.ToolTipRole)


@pytest.mark.parametrize("key, modifier", [(Qt.Key.Key_Menu, Qt.KeyboardModifier.NoModifier),
                                           (Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)])
def test_the_menu_key_opens_the_checklist_actions(qtbot, store, open_view, key, modifier):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    tar = infliximab_case(store, "92000000015")
    panel = open_view(tar).criteria
    menu = panel.build_menu()
    texts = [(a.text(), a.shortcut().toString()) for a in menu.actions() if not a.isSeparator()]
    assert texts[:5] == [("Answer met", "1"), ("Answer not met", "2"), ("Answer not applicable", "3"),
                         ("Answer unknown", "4"), ("Evidence note…", "N")]
    assert [t for t, _ in texts[5:]] == ["Apply the chosen set", "No criteria apply…", "Read again from the store"]
    shown = []

    def close_popup():
        popup = QApplication.activePopupWidget()
        shown.append(popup)
        if popup is not None:
            popup.close()

    panel.tree.setFocus()
    QTimer.singleShot(200, close_popup)
    with qtbot.waitSignal(panel.tree.customContextMenuRequested, timeout=3000):
        qtbot.keyClick(panel.tree, key, modifier)
    qtbot.waitUntil(lambda: bool(shown), timeout=3000)
    assert shown[0] is not None and shown[0].accessibleName() == "Checklist actions"
