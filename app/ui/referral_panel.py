"""The referral at the top of a referred case: the criteria result and the referrer's summary and question first.

workstation-ux.md: "A medical director fits reviews between other duties and wants the nurse's summary first";
issue 6, scope 5: "The physician queue shows the nurse summary and criteria result first". Shown above the clocks
in the worklist's summary panel and in the case workspace, for a case that is referred (or pended while referred).
The data is `app.store.case_workspace.Referral` and `CriteriaState`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QVBoxLayout

from app.domain.plantime import format_instant
from app.store.case_workspace import CriteriaState, Referral


def criteria_words(criteria: CriteriaState) -> str:
    """'Criteria not met — Outpatient physical therapy (pt-outpatient 2026.1)' and what is not met or open."""
    text = criteria.label
    if criteria.title:
        text += f" — {criteria.title} ({criteria.set_id} {criteria.version})"
    if criteria.not_met:
        text += "\nNot met: " + "; ".join(criteria.not_met)
    if criteria.open:
        text += "\nStill unknown: " + "; ".join(criteria.open)
    if criteria.source != "checklist" and criteria.message:
        text += f"\n{criteria.message}"
    return text


class ReferralPanel(QFrame):
    """Referral: to whom, by whom and when; the criteria result; the summary; the question."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Referral")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        self.form = QFormLayout()
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.values: dict[str, QLabel] = {}
        for name in ("Criteria", "Summary", "Question"):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
            heading = QLabel(f"{name}:")
            heading.setBuddy(value)
            font = heading.font()
            font.setBold(True)
            heading.setFont(font)
            self.form.addRow(heading, value)
            self.values[name] = value
        layout.addLayout(self.form)
        self.hide()

    def show_referral(self, referral: Referral | None, criteria: CriteriaState | None) -> None:
        if referral is None:
            self.hide()
            return
        by = referral.by_name or referral.by_username or "a reviewer"
        target = referral.target_label[0].lower() + referral.target_label[1:]
        title = f"Referred to a {target} by {by} · {format_instant(referral.at)}"
        if referral.assignee:
            title += f" · for {referral.assignee}"
        self.title.setText(title)
        self.title.setAccessibleName(title)
        texts = {"Criteria": criteria_words(criteria) if criteria else "No criteria result recorded",
                 "Summary": referral.summary or "(no summary)", "Question": referral.question or "(no question asked)"}
        for name, text in texts.items():
            self.values[name].setText(text)
            self.values[name].setAccessibleName(f"Referral {name.lower()}: {text}")
        self.setAccessibleDescription(f"{title}. Criteria: {texts['Criteria']}. Summary: {texts['Summary']}")
        self.show()

    def text(self) -> str:
        """Everything the panel says, in reading order (for tests and screen readers)."""
        return "\n".join([self.title.text()] + [f"{n}: {v.text()}" for n, v in self.values.items()])
