"""Small forms for the case actions that need a few words from the user (pend, information received, extend,
withdraw, close administratively, correct the received date, declare involvement, record a notice, close, reopen).

One dialog class, `ActionForm`, laid out from a list of `Field`s: labels with mnemonics, a deliberate tab order
(the fields' order), required fields named in a hint line while they are empty (the OK button waits for them), and
choices a rule does not allow disabled with the reason as their tooltip. The dialog only collects the values; the
case workspace (`app.ui.case_actions`) calls the service with them and keeps the dialog, so a refused or rejected
input is shown again as typed (GUIDE: bad input loses nothing).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox, QDateTimeEdit, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit,
    QVBoxLayout, QWidget,
)

from app.domain.plantime import PLAN_TZ, to_plan


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # with a mnemonic: "&Missing information"
    kind: str = "line"  # line | text | lines (one item per line) | choice | datetime
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for a choice
    disabled: dict[str, str] = field(default_factory=dict)  # choice value -> why it cannot be chosen
    default: Any = None
    placeholder: str = ""
    help: str = ""  # a line under the field


def _plain(label: str) -> str:
    return label.replace("&", "")


class ActionForm(QDialog):
    """A titled form with an intro, fields and OK / Cancel (window-modal: open() it)."""

    def __init__(self, title: str, intro: str, fields: list[Field], ok_text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.fields = fields
        self.widgets: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.intro)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for spec in fields:
            widget = self._widget(spec)
            widget.setAccessibleName(_plain(spec.label) + (" (required)" if spec.required else ""))
            if isinstance(widget, QDateTimeEdit):
                widget.findChild(QLineEdit).setAccessibleName(widget.accessibleName())
            label = QLabel(spec.label + ":")
            label.setBuddy(widget)
            form.addRow(label, widget)
            if spec.help:
                hint = QLabel(spec.help)
                hint.setWordWrap(True)
                hint.setAccessibleName(f"{_plain(spec.label)}: {spec.help}")
                form.addRow("", hint)
            self.widgets[spec.key] = widget
        layout.addLayout(form)
        self.missing = QLabel()
        self.missing.setWordWrap(True)
        self.missing.setAccessibleName("What is still needed")
        layout.addWidget(self.missing)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        order = [self.widgets[spec.key] for spec in fields] + [self.buttons]
        for first, second in zip(order, order[1:]):  # the fields' order, then the buttons
            self.setTabOrder(first, second)
        self.resize(560, self.sizeHint().height())
        self.check()
        if fields:
            self.widgets[fields[0].key].setFocus()

    def _widget(self, spec: Field) -> QWidget:
        if spec.kind in ("text", "lines"):
            widget = QPlainTextEdit()
            widget.setTabChangesFocus(True)
            widget.setPlaceholderText(spec.placeholder)
            widget.setMinimumHeight(72)
            if spec.default:
                widget.setPlainText(spec.default if spec.kind == "text" else "\n".join(spec.default))
            widget.textChanged.connect(self.check)
            return widget
        if spec.kind == "choice":
            widget = QComboBox()
            for value, text in spec.choices:
                widget.addItem(text, value)
            model = widget.model()
            for row, (value, _) in enumerate(spec.choices):
                why = spec.disabled.get(value)
                if why and isinstance(model, QStandardItemModel):
                    item = model.item(row)
                    item.setEnabled(False)
                    item.setToolTip(why)
            enabled = [i for i, (value, _) in enumerate(spec.choices) if value not in spec.disabled]
            start = next((i for i, (value, _) in enumerate(spec.choices) if value == spec.default), None)
            widget.setCurrentIndex(start if start is not None and start in enabled else (enabled[0] if enabled else 0))
            widget.currentIndexChanged.connect(self.check)
            return widget
        if spec.kind == "datetime":
            widget = QDateTimeEdit()
            widget.setCalendarPopup(True)
            widget.setDisplayFormat("MM/dd/yyyy h:mm AP")
            start = to_plan(spec.default) if isinstance(spec.default, datetime) else to_plan(datetime.now(PLAN_TZ))
            widget.setDateTime(QDateTime(start.year, start.month, start.day, start.hour, start.minute, 0))
            return widget
        widget = QLineEdit()
        widget.setPlaceholderText(spec.placeholder)
        if spec.default:
            widget.setText(str(spec.default))
        widget.textChanged.connect(self.check)
        return widget

    def value(self, key: str) -> Any:
        spec = next(f for f in self.fields if f.key == key)
        widget = self.widgets[key]
        if spec.kind == "text":
            return widget.toPlainText().strip()
        if spec.kind == "lines":
            return [line.strip() for line in widget.toPlainText().splitlines() if line.strip()]
        if spec.kind == "choice":
            return widget.currentData()
        if spec.kind == "datetime":
            local = widget.dateTime().toPython()
            return local.replace(tzinfo=PLAN_TZ)  # plan time (PT), as the label says
        return widget.text().strip()

    def values(self) -> dict[str, Any]:
        return {spec.key: self.value(spec.key) for spec in self.fields}

    def set_value(self, key: str, value: Any) -> None:
        """Fill a field as a user would (tests and prefills)."""
        spec = next(f for f in self.fields if f.key == key)
        widget = self.widgets[key]
        if spec.kind in ("text", "lines"):
            widget.setPlainText(value if isinstance(value, str) else "\n".join(value))
        elif spec.kind == "choice":
            widget.setCurrentIndex(widget.findData(value))
        elif spec.kind == "datetime":
            local = to_plan(value)
            widget.setDateTime(QDateTime(local.year, local.month, local.day, local.hour, local.minute, 0))
        else:
            widget.setText(str(value))

    def check(self) -> list[str]:
        """The required fields still empty (or a choice that is not allowed); OK waits for them."""
        needed = []
        for spec in self.fields:
            if spec.key not in self.widgets:
                continue  # still being built
            value = self.value(spec.key)
            if spec.kind == "choice" and value in spec.disabled:
                needed.append(f"{_plain(spec.label)}: {spec.disabled[value]}")
            elif spec.required and not value:
                needed.append(_plain(spec.label))
        if hasattr(self, "ok_button"):
            self.ok_button.setEnabled(not needed)
            text = ("Still needed: " + "; ".join(needed)) if needed else ""
            self.missing.setText(text)
            self.missing.setAccessibleName(text or "Nothing more is needed")
        return needed
