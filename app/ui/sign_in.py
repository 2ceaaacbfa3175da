""""Work as": choose who is working, from the users in the store (until the workflow issue adds passwords).

The last choice is remembered in QSettings and preselected next time. `--user USERNAME` skips this dialog.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout
from sqlalchemy import select

from app.domain.roles import ROLES
from app.domain.vocabulary import TEAMS
from app.store.engine import Store
from app.store.models import User

LAST_USER_KEY = "sign_in/last_user"


@dataclass(frozen=True)
class UserChoice:
    username: str
    full_name: str
    role: str
    team: str | None

    def label(self) -> str:
        team = f", {TEAMS.get(self.team, self.team)}" if self.team else ""
        return f"{self.full_name} — {ROLES.get(self.role, self.role)}{team} ({self.username})"


def store_users(store: Store) -> list[UserChoice]:
    with store.session() as session:
        rows = session.execute(
            select(User.username, User.full_name, User.role, User.team)
            .where(User.active.is_(True))
            .order_by(User.full_name)
        ).all()
    return [UserChoice(*row) for row in rows]


class SignInDialog(QDialog):
    def __init__(self, users: list[UserChoice], last_username: str | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Work as")
        self.setAccessibleName("Work as")
        layout = QVBoxLayout(self)
        intro = QLabel("Choose who is working at this workstation. Sign-in with a password comes in a later version.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.users = QListWidget()
        self.users.setAccessibleName("Users")
        self.users.setAccessibleDescription("Each user's name, role and team")
        for user in users:
            item = QListWidgetItem(user.label())
            item.setData(Qt.ItemDataRole.UserRole, user.username)
            self.users.addItem(item)
            if user.username == last_username:
                self.users.setCurrentItem(item)
        if self.users.currentRow() < 0 and self.users.count():
            self.users.setCurrentRow(0)
        label = QLabel("&User:")
        label.setBuddy(self.users)
        layout.addWidget(label)
        layout.addWidget(self.users)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Work as")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("&Quit")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.users.itemActivated.connect(lambda _: self.accept())
        layout.addWidget(self.buttons)
        self.users.setFocus()
        self.resize(560, 420)

    def selected_username(self) -> str | None:
        item = self.users.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None


def choose_user(store: Store, settings: QSettings, parent=None) -> str | None:
    """Ask who is working; None if the user quits. Remembers the answer for next time."""
    dialog = SignInDialog(store_users(store), settings.value(LAST_USER_KEY, "", str), parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    username = dialog.selected_username()
    if username:
        settings.setValue(LAST_USER_KEY, username)
        settings.sync()
    return username
