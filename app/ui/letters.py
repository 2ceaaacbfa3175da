"""Letters in the workstation (issue 7): the case view's Letters tab and the coordinators' "Letters to mail" window.

* `LettersTab`: the case's letters (kind, recipient, language, status, mail by). Preview (Alt+Shift+P) renders
  the letter off the GUI thread and shows its pages with what the linter found missing and the reading level of
  the member's reason; Issue (Alt+Shift+I) confirms naming the case (Cancel is the default button; a reason
  above grade 6 is shown with its hard sentences in the same confirmation) and stores the exact PDF; Save PDF
  writes the issued bytes (a reprint) or the preview.
* `LettersQueueWindow`: letters still to go out, sorted in SQL by the mail-by due the clock engine computed, with
  the time left in words. Print batch (Ctrl+P) joins the issued letters into one PDF off the GUI thread with a
  cancellable progress dialog; Mark mailed (Ctrl+M) asks for the day and confirms naming the cases.
Every action goes to one call in app.services.letters; refusals are shown in the service's words.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QDateEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView,
    QLabel, QMessageBox, QPushButton, QScrollArea, QSplitter, QTableView, QTableWidget, QTableWidgetItem,
    QTextBrowser, QVBoxLayout, QWidget,
)

from app.domain.letters.kinds import KINDS, RECIPIENTS
from app.domain.plantime import format_duration, format_instant
from app.domain.vocabulary import LANGUAGES
from app.services import letters as svc
from app.services.cases import ActionRefused, InvalidInput, NotFound
from app.ui.tasks import Task, track_with_progress_dialog

log = logging.getLogger(__name__)

STATUS_WORDS = {"draft": "Ready to issue", "translation-needed": "Translation needed", "issued": "Issued: to mail",
                "mailed": "Mailed", "sent": "Sent", "superseded": "Superseded"}


def mail_by_text(due: datetime | None, now: datetime) -> str:
    """'Wed 12/02/2026 11:59 PM PT · 1 d 4 h left' or '… · overdue 3 h'; words, never colour alone."""
    if due is None:
        return "No mail-by due"
    left = due - now
    words = f"{format_duration(left)} left" if left.total_seconds() >= 0 else f"OVERDUE {format_duration(-left)}"
    return f"{format_instant(due, year=True)} · {words}"


def pdf_pages(pdf: bytes, scale: float = 1.2) -> list[QImage]:
    """The pages of a PDF as images (pypdfium2), for the preview."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        images = []
        for page in document:
            bitmap = page.render(scale=scale)
            image = bitmap.to_pil().convert("RGB")
            data = image.tobytes()
            qimage = QImage(data, image.width, image.height, image.width * 3, QImage.Format.Format_RGB888).copy()
            images.append(qimage)
        return images
    finally:
        document.close()


def _error_text(error: Exception) -> str:
    return str(error) if isinstance(error, (ActionRefused, NotFound, InvalidInput)) else (
        "The letter could not be made. Nothing was changed; details are in the log file.")


class LettersTab(QWidget):
    """The Letters tab of a case view. `changed` is emitted after it wrote to the case (issued, translated), so the
    case's actions read the case again (its version moved)."""

    changed = Signal()

    def __init__(self, store, viewer, tar: str, member_name: str, *, now: Callable[[], datetime], parent=None):
        super().__init__(parent)
        self.store, self.viewer, self.tar, self.member_name, self._now = store, viewer, tar, member_name, now
        self.setAccessibleName("Letters")
        self.rows: list = []
        self.preview: svc.Preview | None = None
        self.preview_task: Task | None = None
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 5)
        self.table.setAccessibleName("Letters of this case")
        self.table.setHorizontalHeaderLabels(["Letter", "To", "Language", "Status", "Mail by (PT)"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.currentCellChanged.connect(lambda *_: self._selection_changed())
        buttons = QHBoxLayout()
        self.preview_button = QPushButton("&Preview")
        self.issue_button = QPushButton("&Issue…")
        self.save_button = QPushButton("Sa&ve PDF…")
        self.translate_button = QPushButton("T&ranslate…")
        for button, tip in ((self.preview_button, "Show the letter as it would be issued today (Alt+Shift+P)"),
                            (self.issue_button, "Issue the letter: it is stored exactly as sent (Alt+Shift+I)"),
                            (self.save_button, "Save the issued letter (or the preview) as a PDF file"),
                            (self.translate_button, "Enter the translation of the reviewer's texts for the member's "
                                                    "language")):
            button.setToolTip(tip)
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.preview_button.clicked.connect(self.show_preview)
        self.issue_button.clicked.connect(self.confirm_issue)
        self.save_button.clicked.connect(self.save_pdf_prompt)
        self.translate_button.clicked.connect(self.translate_prompt)
        self.action_preview = QAction("Preview letter", self)
        self.action_preview.setShortcut(QKeySequence("Alt+Shift+P"))
        self.action_preview.triggered.connect(self.show_preview)
        self.action_issue = QAction("Issue letter…", self)
        self.action_issue.setShortcut(QKeySequence("Alt+Shift+I"))
        self.action_issue.triggered.connect(self.confirm_issue)
        for action in (self.action_preview, self.action_issue):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        self.findings = QTextBrowser()
        self.findings.setAccessibleName("What the letter check found")
        self.findings.setMaximumHeight(130)
        self.pages = QWidget()
        self.pages_layout = QVBoxLayout(self.pages)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.pages)
        scroll.setAccessibleName("Letter preview pages")
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.findings)
        split.addWidget(top)
        split.addWidget(scroll)
        split.setSizes([260, 520])
        layout.addWidget(split)
        self.load()

    # --- reading ----------------------------------------------------------------------------------------
    def load(self) -> None:
        with self.store.session() as session:
            letters = svc.case_letters(session, self.tar)
            self.rows = [(letter.id, letter.kind, letter.recipient, letter.language, letter.status,
                          letter.mail_by_at) for letter in letters]
        self.table.setRowCount(len(self.rows))
        now = self._now()
        for r, (_, kind, recipient, language, status, due) in enumerate(self.rows):
            values = (KINDS.get(kind, kind), RECIPIENTS.get(recipient, recipient), LANGUAGES.get(language, language),
                      STATUS_WORDS.get(status, status),
                      mail_by_text(due, now) if status in svc.OPEN_STATUSES else "—")
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        if self.rows and self.table.currentRow() < 0:
            self.table.setCurrentCell(0, 0)
        self._selection_changed()

    def current(self):
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _selection_changed(self) -> None:
        current = self.current()
        status = current[4] if current else None
        self.preview_button.setEnabled(current is not None)
        self.issue_button.setEnabled(status == "draft")
        self.issue_button.setToolTip("Issue the letter: it is stored exactly as sent (Alt+Shift+I)"
                                     if status == "draft" else
                                     "Only a letter ready to issue can be issued" if current else "No letter")
        self.save_button.setEnabled(current is not None)
        self.translate_button.setEnabled(status in ("draft", "translation-needed") and current[3] != "en")
        if not self.rows:
            self.findings.setPlainText("No letters yet: they are drafted when a determination, an extension or a "
                                       "pend is recorded.")

    # --- preview ----------------------------------------------------------------------------------------
    def show_preview(self) -> Task | None:
        current = self.current()
        if current is None:
            return None
        letter_id = current[0]
        self.findings.setPlainText("Preparing the preview…")

        def work(progress, cancelled):
            with self.store.session() as session, session.begin():
                preview = svc.preview_letter(session, letter_id, self.viewer.username)
                images = pdf_pages(preview.pdf) if preview.pdf else []
                return preview, images

        task = Task(work, "letter preview", self)
        task.succeeded.connect(self._preview_ready)
        task.failed.connect(lambda error: self.findings.setPlainText(_error_text(error)))
        self.preview_task = task
        task.start()
        return task

    def _preview_ready(self, result) -> None:
        preview, images = result
        self.preview = preview
        while self.pages_layout.count():
            widget = self.pages_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for number, image in enumerate(images, start=1):
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(image))
            label.setAccessibleName(f"Page {number} of {len(images)}")
            self.pages_layout.addWidget(label)
        self.findings.setHtml(findings_html(preview))

    # --- issuing ----------------------------------------------------------------------------------------
    def confirm_issue(self) -> QMessageBox | None:
        current = self.current()
        if current is None or current[4] != "draft":
            return None
        letter_id, kind, recipient = current[0], current[1], current[2]
        with self.store.session() as session:
            _, content = svc.build_content(session, svc._letter(session, letter_id))
        from app.domain.letters import lint

        result = lint(content)
        if result.blocked:
            self.findings.setHtml(findings_html(svc.Preview(None, content, result, None, [])))
            box = QMessageBox(QMessageBox.Icon.Warning, "Cannot issue this letter",
                              f"The {RECIPIENTS[recipient].lower()} letter for TAR {self.tar} ({self.member_name}) "
                              "is missing:\n- " + "\n- ".join(p.message for p in result.problems),
                              QMessageBox.StandardButton.Ok, self)
            box.setAccessibleName("Cannot issue this letter")
            box.open()
            return box
        text = (f"Issue the {RECIPIENTS[recipient].lower()}'s letter \"{KINDS[kind]}\" for TAR {self.tar} "
                f"({self.member_name})?\n\nIt is stored exactly as issued and cannot be changed; a correction is a "
                "new letter.")
        hard = result.reading is not None and result.reading.too_hard
        if hard:
            text += (f"\n\nThe member's reason reads at grade {result.reading.grade:.1f} (aim: 6 or lower). Hard "
                     "sentences:\n- " + "\n- ".join(s.text for s in result.reading.hard))
        box = QMessageBox(QMessageBox.Icon.Question, f"Issue letter for TAR {self.tar}", text,
                          QMessageBox.StandardButton.Cancel, self)
        issue = box.addButton("Issue anyway" if hard else "Issue", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAccessibleName(f"Issue letter for TAR {self.tar}")
        box.buttonClicked.connect(lambda button: self.issue(letter_id, acknowledge=hard) if button is issue else None)
        box.open()
        self.confirmation = box
        return box

    def issue(self, letter_id, *, acknowledge: bool = False) -> bool:
        try:
            with self.store.session() as session, session.begin():
                issued = svc.issue_letter(session, letter_id, self.viewer.username,
                                          acknowledge_reading_level=acknowledge)
                digest = issued.sha256
        except Exception as error:  # noqa: BLE001 - shown in the user's words, logged when unexpected
            if not isinstance(error, (ActionRefused, NotFound, InvalidInput)):
                log.exception("issuing letter %s failed", letter_id)
            self.findings.setPlainText(_error_text(error))
            box = QMessageBox(QMessageBox.Icon.Warning, "Cannot issue this letter", _error_text(error),
                              QMessageBox.StandardButton.Ok, self)
            box.open()
            return False
        self.findings.setPlainText(f"Issued. Stored exactly as sent (SHA-256 {digest}).")
        self.load()
        self.changed.emit()
        return True

    # --- translating ------------------------------------------------------------------------------------
    def translate_prompt(self) -> "TranslationDialog | None":
        current = self.current()
        if current is None:
            return None
        with self.store.session() as session:
            sources = svc.translation_sources(session, current[0])
            existing = dict(svc._letter(session, current[0]).translations or {})
        if not sources:
            self.findings.setPlainText("Nothing in this letter needs a translation; if it still waits, its "
                                       "language has no template yet (resources/letters/).")
            return None
        dialog = TranslationDialog(self.tar, LANGUAGES.get(current[3], current[3]), sources, existing, self)
        dialog.accepted.connect(lambda: self.translate(current[0], dialog.texts()))
        dialog.open()
        self.translation_dialog = dialog
        return dialog

    def translate(self, letter_id, texts: dict) -> bool:
        try:
            with self.store.session() as session, session.begin():
                letter = svc.add_translation(session, letter_id, self.viewer.username, texts)
                status = letter.status
        except (ActionRefused, NotFound, InvalidInput) as error:
            self.findings.setPlainText(str(error))
            return False
        self.findings.setPlainText("Translation saved: " + STATUS_WORDS.get(status, status) + ".")
        self.load()
        self.changed.emit()
        return True

    # --- saving -----------------------------------------------------------------------------------------
    def save_pdf_prompt(self) -> None:
        current = self.current()
        if current is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save letter", f"{self.tar}-{current[1]}-{current[2]}.pdf",
                                              "PDF (*.pdf)")
        if path:
            self.save_pdf(path)

    def save_pdf(self, path: str) -> bool:
        current = self.current()
        try:
            with self.store.session() as session, session.begin():
                if current[4] in ("issued", "mailed", "sent"):
                    pdf = svc.reprint(session, current[0], self.viewer.username).pdf
                else:
                    pdf = svc.preview_letter(session, current[0], self.viewer.username).pdf
            if pdf is None:
                raise InvalidInput("This letter cannot be rendered yet: see what is missing above.")
            with open(path, "wb") as out:
                out.write(pdf)
        except (OSError, ActionRefused, NotFound, InvalidInput) as error:
            self.findings.setPlainText(str(error))
            return False
        self.findings.setPlainText(f"Saved {path}.")
        return True


TRANSLATION_LABELS = {"member_reason": "The member's reason", "information_needed": "Information needed (one a line)",
                      "covered_alternatives": "Covered alternatives", "services": "Services asked for (one a line)",
                      "criteria_not_met": "Criteria not met (one a line)"}


class TranslationDialog(QDialog):
    """The reviewer's English texts, each beside a box for its translation (lists: one item a line)."""

    def __init__(self, tar: str, language: str, sources: dict, existing: dict, parent=None):
        from PySide6.QtWidgets import QPlainTextEdit

        super().__init__(parent)
        self.setWindowTitle(f"Translate the letter for TAR {tar} into {language}")
        self.setAccessibleName(self.windowTitle())
        self.resize(760, 520)
        form = QFormLayout(self)
        self.edits: dict[str, tuple[QPlainTextEdit, bool]] = {}
        for key, english in sources.items():
            is_list = isinstance(english, list)
            shown = "\n".join(english) if is_list else (english or "")
            source = QLabel(shown)
            source.setWordWrap(True)
            source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            source.setAccessibleName(f"{TRANSLATION_LABELS.get(key, key)}, English")
            edit = QPlainTextEdit()
            current = existing.get(key)
            edit.setPlainText("\n".join(current) if isinstance(current, list) else (current or ""))
            edit.setAccessibleName(f"{TRANSLATION_LABELS.get(key, key)}, in {language}")
            form.addRow(QLabel(f"<b>{TRANSLATION_LABELS.get(key, key)}</b> (English):"), source)
            form.addRow(f"In {language}:", edit)
            self.edits[key] = (edit, is_list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def texts(self) -> dict:
        out = {}
        for key, (edit, is_list) in self.edits.items():
            text = edit.toPlainText().strip()
            if text:
                out[key] = [line.strip() for line in text.splitlines() if line.strip()] if is_list else text
        return out


def findings_html(preview: svc.Preview) -> str:
    import html

    parts = []
    if preview.issued:
        return "<p><b>Issued.</b> This is the stored document, exactly as sent.</p>"
    if preview.missing_translation:
        parts.append("<p><b>✗ Translation needed</b> (no English letter is sent in its place):</p><ul>"
                     + "".join(f"<li>{html.escape(m)}</li>" for m in preview.missing_translation) + "</ul>")
    if preview.lint is not None:
        if preview.lint.blocked:
            parts.append("<p><b>✗ Cannot be issued. Missing:</b></p><ul>"
                         + "".join(f"<li>{html.escape(p.message)}</li>" for p in preview.lint.problems) + "</ul>")
        elif not preview.missing_translation:
            parts.append("<p><b>✓ Every required element is present.</b></p>")
        reading = preview.lint.reading
        if reading is not None:
            if reading.too_hard:
                parts.append(f"<p><b>⚠ Reading level: grade {reading.grade:.1f}</b> (aim: 6 or lower). Hard "
                             "sentences:</p><ul>" + "".join(f"<li>{html.escape(s.text)} (grade {s.grade})</li>"
                                                            for s in reading.hard) + "</ul>")
            else:
                parts.append(f"<p>Reading level of the member's reason: grade {reading.grade:.1f}.</p>")
    return "".join(parts)


def add_letters_tab(view, store, viewer) -> LettersTab:
    """Add the Letters tab to an open case view (app.ui.case_view.CaseView)."""
    tab = LettersTab(store, viewer, view.details.tar, view.details.member_name, now=view._now, parent=view)
    view.letters_tab = tab
    view.tabs.addTab(tab, "Le&tters")
    return tab


# ----- the coordinators' queue ----------------------------------------------------------------------------------
class LetterQueueModel(QAbstractTableModel):
    """Letters still to go out, as `letter_queue` returns them (sorted in SQL by the mail-by due)."""

    HEADERS = ("Mail by (PT)", "TAR", "Member", "Letter", "To", "Language", "Status")

    def __init__(self, store, now: Callable[[], datetime], parent=None):
        super().__init__(parent)
        self.store, self._now = store, now
        self.rows: list[svc.QueueRow] = []

    def reload(self) -> None:
        self.beginResetModel()
        with self.store.session() as session:
            self.rows = svc.letter_queue(session, limit=5000)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return (mail_by_text(row.mail_by_at, self._now()), row.tar, row.member_name, KINDS.get(row.kind, row.kind),
                    RECIPIENTS.get(row.recipient, row.recipient), LANGUAGES.get(row.language, row.language),
                    STATUS_WORDS.get(row.status, row.status))[index.column()]
        return None

    def tick(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 0))


class MailedDialog(QDialog):
    """Which day the letters went in the mail (default today)."""

    def __init__(self, count: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Mark mailed")
        form = QFormLayout(self)
        form.addRow(QLabel(f"{count} letter(s) will be recorded as mailed."))
        self.day = QDateEdit(QDate.currentDate())
        self.day.setCalendarPopup(True)
        self.day.setMaximumDate(QDate.currentDate())
        self.day.setAccessibleName("Day mailed")
        form.addRow("Mailed on:", self.day)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> date:
        return self.day.date().toPython()


class LettersQueueWindow(QDialog):
    """"Letters to mail": the coordinators' queue, batch print and mark mailed."""

    def __init__(self, store, viewer, *, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 parent=None):
        super().__init__(parent)
        self.store, self.viewer, self._now = store, viewer, now
        self.setWindowTitle("Letters to mail")
        self.setAccessibleName("Letters to mail")
        self.resize(1000, 560)
        self.batch_task: Task | None = None
        self.last_batch: str | None = None
        layout = QVBoxLayout(self)
        self.model = LetterQueueModel(store, now, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Letters to mail, nearest mail-by first")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        layout.addWidget(self.table)
        self.summary = QLabel()
        self.summary.setAccessibleName("Queue summary")
        layout.addWidget(self.summary)
        buttons = QHBoxLayout()
        self.print_button = QPushButton("&Print batch…")
        self.print_button.setToolTip("Join the issued letters (the selected ones, or all) into one PDF (Ctrl+P)")
        self.mailed_button = QPushButton("&Mark mailed…")
        self.mailed_button.setToolTip("Record that the selected issued letters went in the mail (Ctrl+M)")
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Read the queue again (F5)")
        close = QPushButton("Close")
        for button in (self.print_button, self.mailed_button, self.refresh_button):
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.print_button.clicked.connect(self.print_prompt)
        self.mailed_button.clicked.connect(self.mark_mailed_prompt)
        self.refresh_button.clicked.connect(self.refresh)
        close.clicked.connect(self.close)
        for text, keys, slot in (("Print batch", "Ctrl+P", self.print_prompt),
                                 ("Mark mailed", "Ctrl+M", self.mark_mailed_prompt), ("Refresh", "F5", self.refresh)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            self.addAction(action)
        self.timer = QTimer(self)
        self.timer.setInterval(30_000)
        self.timer.timeout.connect(self.model.tick)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        self.model.reload()
        rows = self.model.rows
        waiting = sum(1 for r in rows if r.status == "translation-needed")
        to_mail = sum(1 for r in rows if r.status == "issued")
        self.summary.setText(f"{len(rows)} letters to go out: {to_mail} issued and waiting to be mailed, "
                             f"{waiting} waiting for a translation, {len(rows) - to_mail - waiting} to issue.")

    def selected_rows(self) -> list[svc.QueueRow]:
        return [self.model.rows[i.row()] for i in self.table.selectionModel().selectedRows()]

    def _issued(self, rows: list[svc.QueueRow] | None = None) -> list[svc.QueueRow]:
        rows = rows if rows is not None else (self.selected_rows() or self.model.rows)
        return [row for row in rows if row.status == "issued"]

    def print_prompt(self) -> None:
        rows = self._issued()
        if not rows:
            QMessageBox.information(self, "Print batch", "No issued letters are waiting to be printed.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save the batch to print", "letters-batch.pdf", "PDF (*.pdf)")
        if path:
            self.print_batch(path, rows)

    def print_batch(self, path: str, rows: list[svc.QueueRow] | None = None) -> Task | None:
        """Join the issued letters into one PDF at `path`, off the GUI thread, with progress and Cancel."""
        rows = self._issued(rows)
        if not rows:
            return None
        ids = [row.letter_id for row in rows]

        def work(progress, cancelled):
            pdf = svc.batch_pdf(self.store, ids, progress, cancelled)
            if pdf is None:
                return None
            with open(path, "wb") as out:
                out.write(pdf)
            return path

        task = Task(work, "batch print", self)
        task.succeeded.connect(self._batch_done)
        task.failed.connect(lambda error: QMessageBox.warning(self, "Print batch", _error_text(error)
                                                              if not isinstance(error, OSError)
                                                              else f"Cannot write {path}: {error.strerror}"))
        self.progress = track_with_progress_dialog(task, self, "Print batch", f"Joining {len(ids)} letters…")
        self.batch_task = task
        task.start()
        return task

    def _batch_done(self, result) -> None:
        self.last_batch = result
        if result:
            self.summary.setText(f"Saved the batch to {result}. Print it, then mark the letters mailed.")
        else:
            self.summary.setText("Batch print cancelled: nothing was saved.")

    def mark_mailed_prompt(self) -> MailedDialog | None:
        rows = self._issued(self.selected_rows())
        if not rows:
            QMessageBox.information(self, "Mark mailed", "Select the issued letters that went in the mail.")
            return None
        dialog = MailedDialog(len(rows), self)
        dialog.accepted.connect(lambda: self.confirm_mailed(rows, dialog.chosen()))
        dialog.open()
        return dialog

    def confirm_mailed(self, rows: list[svc.QueueRow], day: date) -> QMessageBox:
        names = ", ".join(f"TAR {r.tar} ({r.member_name}, {RECIPIENTS[r.recipient].lower()})" for r in rows[:6])
        more = f" and {len(rows) - 6} more" if len(rows) > 6 else ""
        box = QMessageBox(QMessageBox.Icon.Question, "Mark mailed",
                          f"Record {len(rows)} letter(s) as mailed on {day.strftime('%m/%d/%Y')}: {names}{more}?\n\n"
                          "This completes their notice clocks and cannot be undone.",
                          QMessageBox.StandardButton.Cancel, self)
        yes = box.addButton("Mark mailed", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: self.mark_mailed(rows, day) if button is yes else None)
        box.open()
        self.confirmation = box
        return box

    def mark_mailed(self, rows: list[svc.QueueRow], day: date) -> int:
        done, problems = 0, []
        for row in rows:
            try:
                with self.store.session() as session, session.begin():
                    svc.mark_mailed(session, row.letter_id, self.viewer.username, mailed_on=day)
                done += 1
            except (ActionRefused, NotFound, InvalidInput) as error:
                problems.append(f"TAR {row.tar}: {error}")
        self.refresh()
        if problems:
            QMessageBox.warning(self, "Mark mailed", "\n".join(problems))
        else:
            self.summary.setText(f"Recorded {done} letter(s) as mailed.")
        return done
