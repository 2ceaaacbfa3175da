"""The Assign dialog: a supervisor chooses the reviewer a case goes to (issue 3, scope 6).

Path of the action: `MainWindow.assign_selected` (Case > Assign…, Ctrl+Shift+A) opens this dialog; on Assign,
`MainWindow.assign` calls `app.services.cases.assign_case`, which checks authority and appends the `assigned`
event (`app.store.models.CaseEvent`).
"""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout


class AssignDialog(QDialog):
    """Choose the reviewer a case goes to (supervisors)."""

    def __init__(self, tar: str, member: str, reviewers: list[tuple[str, str]], current: str | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Assign TAR {tar}")
        self.setAccessibleName(f"Assign TAR {tar}")
        layout = QVBoxLayout(self)
        intro = QLabel(f"Give TAR {tar} ({member}) to a reviewer. It is recorded on the case's timeline.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.reviewer = QComboBox()
        self.reviewer.setAccessibleName("Reviewer")
        for username, label in reviewers:
            self.reviewer.addItem(label, username)
        if current:
            found = self.reviewer.findData(current)
            if found >= 0:
                self.reviewer.setCurrentIndex(found)
        self.note = QLineEdit()
        self.note.setAccessibleName("Note for the timeline")
        self.note.setPlaceholderText("Optional: why")
        reviewer_label = QLabel("&Reviewer:")
        reviewer_label.setBuddy(self.reviewer)
        note_label = QLabel("&Note:")
        note_label.setBuddy(self.note)
        form.addRow(reviewer_label, self.reviewer)
        form.addRow(note_label, self.note)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Assign")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setTabOrder(self.reviewer, self.note)

    def choice(self) -> tuple[str, str]:
        return self.reviewer.currentData(), self.note.text().strip()
