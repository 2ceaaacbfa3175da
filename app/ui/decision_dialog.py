"""The decision dialog (issue 6, scopes 4 and 5): a determination per request line, with its basis, the clinical
rationale, the member's reason in plain language and the criteria cited from the case's checklist.

Path of the action: Case > Decide… (Ctrl+D) in the case workspace (`app.ui.case_actions`) opens this dialog; its
Decide… button asks for a confirmation naming the case (the safe button, Go back, is the default: a determination
is irreversible, workstation-ux.md "Clear and safe"); then the workspace calls `app.services.cases.decide_case` off
the GUI thread, which checks authority again and appends the `determined` event.

While the user fills it in, the dialog checks the decision rules the pure way (`app.domain.authority.may_decide`:
role, outcome, basis, criteria result, member under 21, involvement), so a UM nurse who picks Deny on medical
necessity sees at once that only a physician may, and to whom to refer; the Decide… button waits. The services
refuse the same on their own.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox,
    QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QRadioButton, QSpinBox, QStyle, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.domain import authority
from app.domain.roles import PHYSICIAN_ROLES
from app.services.cases import CriteriaCitation
from app.store.case_workspace import WorkspaceFacts
from app.ui.referral_panel import criteria_words

OUTCOME_CHOICES = (("approve", "&Approve"), ("partial", "Approve in &part (modify)"), ("deny", "De&ny"))
OUTCOME_WORDS = {"approve": "Approve", "partial": "Approve in part", "deny": "Deny"}


class DecisionDialog(QDialog):
    """Outcome, basis, per-line units, criteria cited, rationale, the member's reason; confirmed before it is sent."""

    confirmed = Signal()  # the user confirmed: the workspace records the determination

    def __init__(self, facts: WorkspaceFacts, role: str, refusals: dict, parent: QWidget | None = None):
        """`refusals`: app.services.cases.available_actions for approve / partial / deny (None = may)."""
        super().__init__(parent)
        self.facts = facts
        self.role = role
        self.refusals = {action: refusals.get(action) for action in authority.DECISION_ACTIONS}
        self.confirmation: QMessageBox | None = None
        title = f"Decide TAR {facts.tar}"
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        layout = QVBoxLayout(self)
        intro = QLabel(f"Determination on TAR {facts.tar} ({facts.member_name})."
                       + (" The member is under 21 (EPSDT)." if facts.under_21 else ""))
        intro.setWordWrap(True)
        layout.addWidget(intro)

        outcome_box = QGroupBox("Outcome")
        outcome_box.setAccessibleName("Outcome")
        outcome_layout = QHBoxLayout(outcome_box)
        self.outcomes = QButtonGroup(self)
        self.outcome_buttons: dict[str, QRadioButton] = {}
        for action, text in OUTCOME_CHOICES:
            button = QRadioButton(text)
            refusal = self.refusals[action]
            if refusal is not None:
                button.setEnabled(False)
                button.setToolTip(refusal.reason)
                button.setAccessibleDescription(refusal.reason)
            self.outcomes.addButton(button)
            self.outcome_buttons[action] = button
            outcome_layout.addWidget(button)
        layout.addWidget(outcome_box)

        form = QFormLayout()
        self.basis = QComboBox()
        self.basis.setAccessibleName("Basis of a denial or modification")
        for value, text in authority.BASES.items():
            self.basis.addItem(text, value)
        basis_label = QLabel("&Basis:")
        basis_label.setBuddy(self.basis)
        form.addRow(basis_label, self.basis)
        layout.addLayout(form)

        self.lines = QTableWidget(len(facts.lines), 5)
        self.lines.setAccessibleName("Request lines: units or days approved")
        self.lines.setHorizontalHeaderLabels(["Line", "Code", "Service", "Requested", "Approved (units / days)"])
        self.lines.verticalHeader().hide()
        self.lines.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.lines.setTabKeyNavigation(False)
        self.spins: dict[int, QSpinBox] = {}
        for row, line in enumerate(facts.lines):
            for column, value in enumerate((str(line.line_number), line.code, line.description, str(line.units))):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.lines.setItem(row, column, item)
            spin = QSpinBox()
            spin.setRange(0, line.units)
            spin.setValue(line.units)
            spin.setAccessibleName(f"Line {line.line_number} {line.code}: approved units, of {line.units}")
            spin.lineEdit().setAccessibleName(spin.accessibleName())
            spin.valueChanged.connect(self.check)
            self.lines.setCellWidget(row, 4, spin)
            self.spins[line.line_number] = spin
        self.lines.resizeColumnsToContents()
        self.lines.horizontalHeader().setStretchLastSection(True)
        self.lines.setMaximumHeight(self.lines.verticalHeader().length() + self.lines.horizontalHeader().height()
                                    + 2 * self.lines.frameWidth() + 4)
        lines_label = QLabel("Request &lines:")
        lines_label.setBuddy(self.lines)
        layout.addWidget(lines_label)
        layout.addWidget(self.lines)

        criteria_box = QGroupBox("Criteria")
        criteria_box.setAccessibleName("Criteria")
        criteria_layout = QVBoxLayout(criteria_box)
        self.criteria_text = QLabel(criteria_words(facts.criteria))
        self.criteria_text.setWordWrap(True)
        self.criteria_text.setTextFormat(Qt.TextFormat.PlainText)
        self.criteria_text.setAccessibleName(f"Criteria result: {self.criteria_text.text()}")
        criteria_layout.addWidget(self.criteria_text)
        self.cite = QCheckBox()
        if facts.criteria.set_id:
            self.cite.setText(f"&Cite {facts.criteria.title} ({facts.criteria.set_id} {facts.criteria.version})")
            self.cite.setChecked(True)
        else:
            self.cite.setText("&Cite criteria (no criteria set is applied to this case)")
            self.cite.setEnabled(False)
        self.cite.toggled.connect(self.check)
        criteria_layout.addWidget(self.cite)
        layout.addWidget(criteria_box)

        texts = QFormLayout()
        self.rationale = QPlainTextEdit()
        self.rationale.setTabChangesFocus(True)
        self.rationale.setAccessibleName("Clinical rationale (required)")
        self.rationale.setPlaceholderText("The clinical reasons for the decision, for the record and the provider")
        self.member_reason = QPlainTextEdit()
        self.member_reason.setTabChangesFocus(True)
        self.member_reason.setAccessibleName("Reason for the member, in plain language")
        self.member_reason.setPlaceholderText("In plain words the member understands: what was asked, what was "
                                              "decided and why, specific to the member's condition")
        for widget in (self.rationale, self.member_reason):
            widget.setMinimumHeight(70)
            widget.textChanged.connect(self.check)
        rationale_label = QLabel("Clinical &rationale:")
        rationale_label.setBuddy(self.rationale)
        member_label = QLabel("Reason for the &member:")
        member_label.setBuddy(self.member_reason)
        texts.addRow(rationale_label, self.rationale)
        texts.addRow(member_label, self.member_reason)
        layout.addLayout(texts)

        self.verdict = QWidget()
        verdict_layout = QHBoxLayout(self.verdict)
        verdict_layout.setContentsMargins(0, 0, 0, 0)
        self.verdict_icon = QLabel()
        self.verdict_text = QLabel()
        self.verdict_text.setWordWrap(True)
        self.verdict_text.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict_text.setAccessibleName("Whether you may record this determination")
        verdict_layout.addWidget(self.verdict_icon, 0, Qt.AlignmentFlag.AlignTop)
        verdict_layout.addWidget(self.verdict_text, 1)
        layout.addWidget(self.verdict)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAutoDefault(False)  # Enter in a field must not throw the entries away
        cancel.setDefault(False)
        self.decide_button = self.buttons.addButton("&Decide…", QDialogButtonBox.ButtonRole.ActionRole)
        self.decide_button.setAutoDefault(False)
        self.decide_button.clicked.connect(self.ask_confirmation)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        for first, second in ((self.outcome_buttons["approve"], self.outcome_buttons["partial"]),
                              (self.outcome_buttons["partial"], self.outcome_buttons["deny"]),
                              (self.outcome_buttons["deny"], self.basis), (self.basis, self.lines),
                              (self.lines, self.cite), (self.cite, self.rationale),
                              (self.rationale, self.member_reason), (self.member_reason, self.decide_button)):
            self.setTabOrder(first, second)
        self.outcomes.buttonToggled.connect(lambda *_: self._outcome_changed())
        self.basis.currentIndexChanged.connect(self.check)
        start = next((a for a in ("approve", "partial", "deny") if self.refusals[a] is None), None)
        if start:
            self.outcome_buttons[start].setChecked(True)
        self._outcome_changed()
        self.resize(760, self.sizeHint().height())

    # --- state -------------------------------------------------------------------------------------------------

    def outcome(self) -> str | None:
        return next((a for a, b in self.outcome_buttons.items() if b.isChecked()), None)

    def choose(self, outcome: str, basis: str | None = None) -> None:
        """Pick an outcome (and a basis) as a user would."""
        self.outcome_buttons[outcome].setChecked(True)
        if basis is not None:
            self.basis.setCurrentIndex(self.basis.findData(basis))

    def _outcome_changed(self) -> None:
        outcome = self.outcome()
        self.basis.setEnabled(outcome in ("partial", "deny"))
        for number, spin in self.spins.items():
            line = next(line for line in self.facts.lines if line.line_number == number)
            spin.blockSignals(True)
            if outcome == "approve":
                spin.setValue(line.units)
            elif outcome == "deny":
                spin.setValue(0)
            spin.setEnabled(outcome == "partial")
            spin.blockSignals(False)
        self.member_reason.setAccessibleName("Reason for the member, in plain language"
                                             + (" (required)" if outcome in ("partial", "deny") else ""))
        self.check()

    def refusal(self) -> str | None:
        """Why this determination may not be recorded as filled in (None: it may)."""
        outcome = self.outcome()
        if outcome is None:
            reasons = [r.reason for r in self.refusals.values() if r is not None]
            return reasons[0] if reasons else "Choose an outcome."
        basis = self.basis.currentData() if outcome != "approve" else "medical-necessity"
        refusal = authority.may_decide(self.role, outcome, self.facts.category, basis=basis,
                                       criteria=self.facts.criteria.result, member_under_21=self.facts.under_21,
                                       involved=self.facts.involved)
        if refusal:
            return refusal.reason
        if outcome == "approve" and self.role not in PHYSICIAN_ROLES and not self.cite.isChecked():
            return "Cite the criteria set that is met (criteria are optional only for a physician)."
        return None

    def needed(self) -> list[str]:
        outcome = self.outcome()
        needed = []
        if not self.rationale.toPlainText().strip():
            needed.append("the clinical rationale")
        if outcome in ("partial", "deny") and not self.member_reason.toPlainText().strip():
            needed.append("the reason for the member")
        if outcome == "partial":
            approved = [spin.value() for spin in self.spins.values()]
            requested = [line.units for line in self.facts.lines]
            if approved == requested:
                needed.append("fewer units on at least one line (every unit approved is an approval)")
            elif not any(approved):
                needed.append("some units approved (no unit approved is a denial)")
        return needed

    def check(self) -> None:
        refusal = self.refusal()
        needed = self.needed()
        style = self.style()
        if refusal:
            icon, text = QStyle.StandardPixmap.SP_MessageBoxWarning, f"Not allowed: {refusal}"
        elif needed:
            icon, text = QStyle.StandardPixmap.SP_MessageBoxInformation, "Still needed: " + "; ".join(needed) + "."
        else:
            icon, text = QStyle.StandardPixmap.SP_DialogApplyButton, "Ready: Decide… asks you to confirm."
        size = self.fontMetrics().height()
        self.verdict_icon.setPixmap(style.standardIcon(icon).pixmap(size, size))
        self.verdict_text.setText(text)
        self.verdict_text.setAccessibleName(text)
        self.decide_button.setEnabled(refusal is None and not needed)
        self.decide_button.setToolTip(refusal or ("Still needed: " + "; ".join(needed) if needed else
                                                  "Record the determination (asks to confirm)"))

    # --- the request -------------------------------------------------------------------------------------------

    def request(self) -> dict:
        """The keyword arguments of `decide_case` from what the user entered."""
        outcome = self.outcome()
        citations = []
        if self.cite.isChecked() and self.facts.criteria.set_id:
            citations = [CriteriaCitation(self.facts.criteria.set_id, self.facts.criteria.version)]
        return {
            "outcome": outcome,
            "basis": self.basis.currentData() if outcome != "approve" else "medical-necessity",
            "rationale": self.rationale.toPlainText().strip(),
            "member_reason": self.member_reason.toPlainText().strip(),
            "lines": {n: spin.value() for n, spin in self.spins.items()} if outcome == "partial" else None,
            "criteria": citations,
            "criteria_result": self.facts.criteria.result,
        }

    def summary(self) -> str:
        """What will be recorded, in words (the confirmation says it)."""
        request = self.request()
        outcome = request["outcome"]
        text = OUTCOME_WORDS[outcome]
        if outcome != "approve":
            text += f" — {authority.BASES[request['basis']].split(' (')[0].lower()}"
        lines = "; ".join(f"line {line.line_number} {line.code}: {self.spins[line.line_number].value()} of "
                          f"{line.units}" for line in self.facts.lines)
        return f"{text}. Approved: {lines or 'no lines'}."

    def ask_confirmation(self) -> QMessageBox | None:
        """Confirm naming the case; Go back is the default (and Escape)."""
        self.check()
        if not self.decide_button.isEnabled():
            return None
        box = QMessageBox(QMessageBox.Icon.Question, f"Record the determination on TAR {self.facts.tar}?",
                          f"Record this determination on TAR {self.facts.tar} ({self.facts.member_name})?\n\n"
                          f"{self.summary()}\n\nOnce recorded it cannot be edited: a change is a new determination "
                          "that supersedes it, and the notices follow from it.", parent=self)
        box.setAccessibleName(box.windowTitle())
        record = box.addButton("&Record determination", QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton("&Go back", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.record_button, box.back_button = record, back

        def answered(button) -> None:
            self.confirmation = None
            if button is record:
                self.accept()
                self.confirmed.emit()

        box.buttonClicked.connect(answered)
        self.confirmation = box
        box.open()
        return box
