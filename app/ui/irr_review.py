"""Inter-rater reliability ▸ Blind review: the auditor re-reviews a sampled case without the original review.

Left, the sampled cases the auditor may re-review (never their own decisions) with their state; right, the case as
it stood at decision time and the criteria set version the reviewer had applied, with the auditor's own answers
only. The screen is built from `app.store.irr_queries.BlindCase` (`BlindReviewModel` holds nothing else), which has
no field for the original answers, the outcome or the decider.

Keys: Ctrl+1 the list, Ctrl+2 the criteria; in the criteria 1 / 2 / 3 / 4 answer met / not met / not applicable /
unknown and move to the next criterion; Alt+D the determination, Alt+N the note; Ctrl+Return submits after a
confirmation naming the TAR (Cancel is the default).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QMessageBox, QPlainTextEdit, QPushButton, QSplitter,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from app.domain.criteria.model import ANSWER_LABELS
from app.domain.irr_rules import AUDIT_DETERMINATIONS
from app.domain.irr_sampling import REVIEW_TYPES
from app.domain.vocabulary import LINES_OF_BUSINESS, REVIEW_TIMINGS, SERVICE_CATEGORIES, URGENCIES
from app.store.irr_queries import BlindCase

KEY_ANSWERS = {Qt.Key.Key_1: "met", Qt.Key.Key_2: "not-met", Qt.Key.Key_3: "not-applicable",
               Qt.Key.Key_4: "unknown"}
STATE_WORDS = {"to-review": "to re-review", "in-progress": "in progress", "submitted": "submitted"}


class BlindReviewModel:
    """What the blind review screen shows: the `BlindCase`, and nothing of the original review."""

    def __init__(self, view: BlindCase):
        self.view = view

    def case_text(self) -> str:
        v = self.view
        lines = [f"TAR {v.tar} · {v.review_type} · the case as it stood on {v.as_of}",
                 f"{LINES_OF_BUSINESS.get(v.line_of_business, v.line_of_business)} · "
                 f"{SERVICE_CATEGORIES.get(v.service_category, v.service_category)} · "
                 f"{URGENCIES.get(v.urgency, v.urgency)} {REVIEW_TIMINGS.get(v.review_timing, v.review_timing)}",
                 f"Received {v.received_at} PT · member aged {v.member_age if v.member_age is not None else '?'}"
                 f", sex {v.member_sex or '?'} · place of service {v.place_of_service or '—'}"]
        if v.requested_los_days:
            lines.append(f"Requested length of stay: {v.requested_los_days} days")
        if v.proposed_date:
            lines.append(f"Proposed date: {v.proposed_date}")
        lines.append("")
        lines += [f"Line {code} {description}: {units} unit(s) {start or ''} – {end or ''}"
                  for code, description, units, start, end in v.lines]
        lines += [f"Diagnosis {code} {description}" for code, description in v.diagnoses]
        if v.facts:
            lines.append("")
            lines.append("Facts recorded by decision time:")
            lines += [f"  {name}: {value}" for name, value in v.facts]
        if v.notes:
            lines.append("")
            lines += [f"Note {at} ({author}): {text}" for at, author, text in v.notes]
        return "\n".join(lines)

    def rows(self) -> list[tuple[str, str, str, int, bool]]:
        """(criterion id, text, the auditor's answer label, depth, is group)."""
        out = []
        for criterion in self.view.criteria:
            mine = self.view.my_answers.get(criterion.id)
            answer = "" if criterion.is_group else ANSWER_LABELS.get(mine[0], "") if mine else "—"
            text = f"{criterion.text} ({criterion.combine})" if criterion.is_group else criterion.text
            out.append((criterion.id, text, answer, criterion.depth, criterion.is_group))
        return out


class BlindReviewTab(QWidget):
    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window_ = window
        self.model: BlindReviewModel | None = None
        self.items = QListWidget()
        self.items.setAccessibleName("Sampled cases to re-review")
        self.items.currentItemChanged.connect(lambda current, _: self.open_item(current))
        self.case = QPlainTextEdit()
        self.case.setReadOnly(True)
        self.case.setAccessibleName("The case as it stood at decision time")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Criterion", "Your answer"])
        self.tree.setAccessibleName("Criteria: 1 met, 2 not met, 3 not applicable, 4 unknown")
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setColumnWidth(0, 560)
        self.tree.installEventFilter(self)
        self.determination = QComboBox()
        self.determination.setAccessibleName("Your determination")
        self.determination.addItem("Choose…", None)
        for key, label in AUDIT_DETERMINATIONS.items():
            self.determination.addItem(label, key)
        self.note = QLineEdit()
        self.note.setAccessibleName("Note on the re-review")
        self.submit_button = QPushButton("&Submit re-review…")
        self.submit_button.clicked.connect(self.submit_prompt)
        self.status = QLabel("Choose a sampled case on the left.")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Blind review status")
        form = QFormLayout()
        determination_label = QLabel("&Determination")
        determination_label.setBuddy(self.determination)
        note_label = QLabel("&Note")
        note_label.setBuddy(self.note)
        form.addRow(determination_label, self.determination)
        form.addRow(note_label, self.note)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.case, 2)
        right_layout.addWidget(QLabel("Criteria of the set the reviewer applied (their answers are not shown):"))
        right_layout.addWidget(self.tree, 3)
        right_layout.addLayout(form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.submit_button)
        right_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.items)
        splitter.addWidget(right)
        splitter.setSizes([380, 800])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        for keys, slot in ((["Ctrl+1"], self.items.setFocus), (["Ctrl+2"], self.tree.setFocus),
                           (["Ctrl+Return", "Ctrl+Enter"], self.submit_prompt)):
            for key in keys:
                QShortcut(QKeySequence(key), self, activated=slot)

    # --- the list ---------------------------------------------------------------------------------------------
    def load(self) -> None:
        viewer = self.window_.viewer

        def work(progress, cancelled):
            from app.store.irr_queries import work_list

            with self.window_.store.session() as session:
                rows = work_list(session)
            return [r for r in rows if r["decider_id"] != str(viewer.user_id)]

        self.window_.run(work, self.show_items, "irr work list")

    def show_items(self, rows: list[dict]) -> None:
        current = self.items.currentItem().data(Qt.ItemDataRole.UserRole) if self.items.currentItem() else None
        self.items.blockSignals(True)
        self.items.clear()
        for row in rows:
            text = (f"{row['tar']} · {row['year']}{' re-audit' if row['purpose'] == 're-audit' else ''} · "
                    f"{REVIEW_TYPES.get(row['review_type'], row['review_type'])} · {STATE_WORDS[row['state']]}")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, row["item_id"])
            self.items.addItem(item)
            if row["item_id"] == current:
                self.items.setCurrentItem(item)
        self.items.blockSignals(False)
        self.status.setText(f"{sum(1 for r in rows if r['state'] != 'submitted')} sampled cases to re-review.")

    def open_item(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        self.load_view(item.data(Qt.ItemDataRole.UserRole))

    def load_view(self, item_id: str) -> None:
        username = self.window_.viewer.username

        def work(progress, cancelled):
            from app.services.irr import blind_view

            with self.window_.store.session() as session, session.begin():
                return blind_view(session, username, item_id)

        self.window_.run(work, self.show_view, "irr blind view")

    # --- the case ---------------------------------------------------------------------------------------------
    def show_view(self, view: BlindCase) -> None:
        row_id = self.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) if self.tree.currentItem() else None
        self.model = BlindReviewModel(view)
        self.case.setPlainText(self.model.case_text())
        self.tree.clear()
        parents: list[QTreeWidgetItem] = []
        select = None
        for criterion_id, text, answer, depth, is_group in self.model.rows():
            node = QTreeWidgetItem([text, answer])
            node.setData(0, Qt.ItemDataRole.UserRole, criterion_id)
            node.setData(0, Qt.ItemDataRole.UserRole + 1, is_group)
            node.setToolTip(0, text)
            parents = parents[:depth]
            (parents[-1].addChild(node) if parents else self.tree.addTopLevelItem(node))
            if is_group:
                parents.append(node)
            if criterion_id == row_id:
                select = node
        self.tree.expandAll()
        if view.criteria_set is None:
            self.status.setText("No criteria set was applied by decision time: judge the determination only.")
        elif view.submitted:
            self.status.setText("This re-review is submitted; it no longer changes.")
        else:
            left = [c for c in view.answerable if c not in view.my_answers]
            self.status.setText(f"{view.criteria_set['title']} {view.criteria_set['version']}: "
                                f"{len(left)} criteria left to answer.")
        if view.my_determination:
            self.determination.setCurrentIndex(self.determination.findData(view.my_determination))
        self.submit_button.setEnabled(not view.submitted)
        self.tree.setCurrentItem(select or self._next_criterion(None))

    def _criteria_items(self) -> list[QTreeWidgetItem]:
        out = []

        def visit(node: QTreeWidgetItem):
            if not node.data(0, Qt.ItemDataRole.UserRole + 1):
                out.append(node)
            for i in range(node.childCount()):
                visit(node.child(i))

        for i in range(self.tree.topLevelItemCount()):
            visit(self.tree.topLevelItem(i))
        return out

    def _next_criterion(self, after: QTreeWidgetItem | None) -> QTreeWidgetItem | None:
        items = self._criteria_items()
        if not items:
            return None
        if after is None or after not in items:
            return items[0]
        index = items.index(after)
        return items[min(index + 1, len(items) - 1)]

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        from PySide6.QtCore import QEvent

        if obj is self.tree and event.type() == QEvent.Type.KeyPress and event.key() in KEY_ANSWERS \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.answer_current(KEY_ANSWERS[event.key()])
            return True
        return super().eventFilter(obj, event)

    def answer_current(self, answer: str) -> None:
        node = self.tree.currentItem()
        if self.model is None or node is None or node.data(0, Qt.ItemDataRole.UserRole + 1):
            return
        criterion_id = node.data(0, Qt.ItemDataRole.UserRole)
        item_id, username = self.model.view.item_id, self.window_.viewer.username
        node.setText(1, ANSWER_LABELS[answer] + " …")  # saving
        following = self._next_criterion(node)
        if following is not None:
            self.tree.setCurrentItem(following)

        def work(progress, cancelled):
            from app.services.irr import record_answer

            with self.window_.store.session() as session, session.begin():
                return record_answer(session, username, item_id=item_id, criterion_id=criterion_id, answer=answer)

        self.window_.run(work, self.show_view, "irr answer", on_error=lambda: self.load_view(item_id))

    # --- submitting -------------------------------------------------------------------------------------------
    def confirm_submit(self, tar: str, determination: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, "Submit the re-review",
                          f"Submit your re-review of TAR {tar} with the determination "
                          f"“{AUDIT_DETERMINATIONS[determination]}”? Its answers no longer change afterwards.",
                          QMessageBox.StandardButton.Cancel, self)
        box.addButton("Submit", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box

    def submit_prompt(self) -> None:
        if self.model is None:
            return
        determination = self.determination.currentData()
        if determination is None:
            self.status.setText("Choose your determination first (Alt+D).")
            self.determination.setFocus()
            return
        box = self.confirm_submit(self.model.view.tar, determination)
        box.exec()
        if box.buttonRole(box.clickedButton()) == QMessageBox.ButtonRole.AcceptRole:
            self.submit(determination)

    def submit(self, determination: str) -> None:
        item_id, username, note = self.model.view.item_id, self.window_.viewer.username, self.note.text()

        def work(progress, cancelled):
            from app.services.irr import submit_review

            with self.window_.store.session() as session, session.begin():
                submit_review(session, username, item_id=item_id, determination=determination, note=note)

        def done(_):
            self.note.clear()
            self.load()
            self.load_view(item_id)

        self.window_.run(work, done, "irr submit", refresh=True)
