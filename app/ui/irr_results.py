"""Inter-rater reliability ▸ Results and action plans: agreement per reviewer and the corrective action plans.

Per reviewer: re-reviewed of sampled, determination agreement and kappa, criteria agreement, decisions in time,
below target, their plan (never any count of their denials: app.domain.reviewer_figures). Under it, the plans
with their state, owner, due date (overdue in words, not colour alone) and actions. Buttons (program leads): open a
plan for the selected reviewer below target, record an action done, draw the re-audit, record it, close the plan.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QAbstractItemView, QDateEdit, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QInputDialog, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.domain import irr_rules

REVIEWER_COLUMNS = (("username", "Reviewer"), ("reviewed", "Re-reviewed"), ("agreement", "% agreement"),
                    ("kappa", "Kappa"), ("criteria", "Criteria % agreement"), ("in_time", "% decisions in time"),
                    ("flag", "Target"), ("plan", "Action plan"))
PLAN_COLUMNS = (("reviewer", "Reviewer"), ("state_label", "State"), ("owner", "Owner"), ("due", "Due"),
                ("actions", "Actions done"), ("agreement_at_open", "Agreement at opening %"),
                ("re_audit_percent", "Re-audit %"))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def reviewer_cells(row: dict) -> dict[str, str]:
    """A reviewer's row as shown: agreement and timeliness only."""
    d, c = row["determination_agreement"], row["criteria_agreement"]
    plan = row["corrective_action_plan"]
    return {
        "username": row["username"], "reviewed": f"{row['reviewed']} of {row['sample_size']}",
        "agreement": _text(d["percent_agreement"]), "kappa": _text(d["kappa"]),
        "criteria": _text(c["percent_agreement"]), "in_time": _text(row["percent_in_time"]),
        "flag": ("below target" if row["below_target"] else "at or above" if row["audit_complete"]
                 else "audit open"),
        "plan": "—" if plan is None else f"{plan['state']}, due {plan['due_date']}"
                                         f"{' (overdue)' if plan['overdue'] else ''}",
    }


class OpenPlanDialog(QDialog):
    def __init__(self, reviewer: str, owners: list[str], today: date, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Corrective action plan for {reviewer}")
        self.owner = QLineEdit(owners[0] if owners else "")
        self.owner.setAccessibleName("Owner (a nurse lead or medical director)")
        self.actions = QPlainTextEdit()
        self.actions.setAccessibleName("Actions, one a line")
        self.actions.setPlaceholderText("One action a line, e.g. Criteria refresher with the medical director")
        self.due = QDateEdit(QDate(today + timedelta(days=60)))
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("MM/dd/yyyy")
        self.due.setAccessibleName("Due date")
        form = QFormLayout(self)
        form.addRow("&Owner", self.owner)
        form.addRow("&Actions", self.actions)
        form.addRow("&Due", self.due)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open plan")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, list[str], date]:
        actions = [line.strip() for line in self.actions.toPlainText().splitlines() if line.strip()]
        return self.owner.text().strip(), actions, self.due.date().toPython()


class ResultsTab(QWidget):
    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window_ = window
        self.report: dict | None = None
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        self.year.setValue(window.today.year)
        self.year.setAccessibleName("Year")
        self.year.valueChanged.connect(lambda _: self.load())
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Results summary")
        self.reviewers = self._table(REVIEWER_COLUMNS, "Agreement per reviewer")
        self.plans = self._table(PLAN_COLUMNS, "Corrective action plans")
        lead = irr_rules.may_run_program(window.viewer.role, "run corrective action plans")
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for key, text, slot in (("open", "&Open plan…", self.open_plan_prompt),
                                ("done", "Action &done…", self.action_done_prompt),
                                ("re-audit", "Draw &re-audit", self.draw_re_audit),
                                ("record", "Re&cord re-audit", self.record_re_audit),
                                ("close", "C&lose plan…", self.close_plan_prompt)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            if lead:
                button.setEnabled(False)
                button.setToolTip(lead.reason)
            self.buttons[key] = button
            bar.addWidget(button)
        bar.addStretch()
        top = QHBoxLayout()
        label = QLabel("&Year")
        label.setBuddy(self.year)
        top.addWidget(label)
        top.addWidget(self.year)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(QLabel("Agreement per reviewer (agreement and timeliness only):"))
        layout.addWidget(self.reviewers, 3)
        layout.addWidget(QLabel("Corrective action plans:"))
        layout.addWidget(self.plans, 2)
        layout.addLayout(bar)

    def _table(self, columns, name: str) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels([label for _, label in columns])
        table.setAccessibleName(name)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def load(self) -> None:
        year, username = self.year.value(), self.window_.viewer.username

        def work(progress, cancelled):
            from app.services.irr import report

            with self.window_.store.session() as session:
                return report(session, username, year)

        self.window_.run(work, self.show_report, "irr report")

    def show_report(self, report: dict) -> None:
        self.report = report
        overall = report["overall"]
        if not report["sample_drawn"]:
            self.summary.setText(f"No {report['year']} sample is recorded yet (Sample tab).")
        else:
            d = overall["determination_agreement"]
            self.summary.setText(
                f"{overall['reviewed']} of {overall['sampled']} sampled cases re-reviewed; agreement on the "
                f"determination {_text(d['percent_agreement'])}% (kappa {_text(d['kappa'])}); "
                f"{_count(overall['reviewers_below_target'], 'reviewer')} below the "
                f"{report['target_percent']:g}% target.")
        rows = [reviewer_cells(r) for r in report["reviewers"]]
        self.reviewers.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _) in enumerate(REVIEWER_COLUMNS):
                self.reviewers.setItem(r, c, QTableWidgetItem(row[key]))
        plans = report["corrective_action_plans"]
        self.plans.setRowCount(len(plans))
        for r, plan in enumerate(plans):
            cells = {**plan, "due": plan["due_date"] + (" (overdue)" if plan["overdue"] else ""),
                     "actions": f"{plan['actions_done']} of {plan['actions_total']}"}
            for c, (key, _) in enumerate(PLAN_COLUMNS):
                item = QTableWidgetItem(_text(cells.get(key)))
                item.setData(Qt.ItemDataRole.UserRole, plan["plan_id"])
                self.plans.setItem(r, c, item)

    # --- plans --------------------------------------------------------------------------------------------------
    def _selected_reviewer(self) -> dict | None:
        row = self.reviewers.currentRow()
        return self.report["reviewers"][row] if self.report and 0 <= row < len(self.report["reviewers"]) else None

    def _selected_plan(self) -> dict | None:
        row = self.plans.currentRow()
        plans = self.report["corrective_action_plans"] if self.report else []
        return plans[row] if 0 <= row < len(plans) else None

    def _say(self, text: str) -> None:
        self.summary.setText(text)

    def open_plan_prompt(self) -> None:
        reviewer = self._selected_reviewer()
        if reviewer is None or not reviewer["below_target"]:
            self._say("Select a reviewer below target (complete audit) in the table first.")
            return
        dialog = OpenPlanDialog(reviewer["username"], [self.window_.viewer.username], self.window_.today, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            owner, actions, due = dialog.values()
            self._write("open", lambda s, u: _irr().open_plan(
                s, u, plan_id=uuid.uuid4(), year=self.year.value(), reviewer=reviewer["username"], owner=owner,
                actions=actions, due_date=due))

    def action_done_prompt(self) -> None:
        plan = self._selected_plan()
        if plan is None:
            self._say("Select a plan first.")
            return
        open_actions = [i for i, a in enumerate(plan["actions"], start=1) if not a.get("done_at")]
        if not open_actions:
            self._say("Every action of this plan is done.")
            return
        labels = [f"{i}. {plan['actions'][i - 1]['text']}" for i in open_actions]
        choice, ok = QInputDialog.getItem(self, "Action done", "Which action is done?", labels, 0, False)
        if not ok:
            return
        note, ok = QInputDialog.getText(self, "Action done", "How was it done?")
        if ok:
            number = open_actions[labels.index(choice)]
            self._write("done", lambda s, u: _irr().complete_action(s, u, plan_id=plan["plan_id"], number=number,
                                                                     note=note))

    def draw_re_audit(self) -> None:
        plan = self._selected_plan()
        if plan is None:
            self._say("Select a plan first.")
            return
        seed = _irr().new_seed()
        self._write("re-audit", lambda s, u: _irr().draw_re_audit(s, u, plan_id=plan["plan_id"], seed=seed))

    def record_re_audit(self) -> None:
        plan = self._selected_plan()
        if plan is None:
            self._say("Select a plan first.")
            return
        self._write("record", lambda s, u: _irr().record_re_audit(s, u, plan_id=plan["plan_id"]))

    def close_plan_prompt(self) -> None:
        plan = self._selected_plan()
        if plan is None:
            self._say("Select a plan first.")
            return
        note, ok = QInputDialog.getText(self, f"Close the plan for {plan['reviewer']}", "Closing note:")
        if ok:
            self._write("close", lambda s, u: _irr().close_plan(s, u, plan_id=plan["plan_id"], note=note))

    def _write(self, what: str, call) -> None:
        username = self.window_.viewer.username

        def work(progress, cancelled):
            with self.window_.store.session() as session, session.begin():
                call(session, username)

        self.window_.run(work, lambda _: self.load(), f"irr {what}", refresh=True)


def _irr():
    from app.services import irr

    return irr
