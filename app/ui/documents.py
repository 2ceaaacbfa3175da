"""The Documents tab of an open case: the faxed and scanned files attached at intake, and Open (issue 9).

The list says where each file is (this laptop, the central store, or only the laptop that received it). Open gets
the bytes off the GUI thread (the tab's own `TaskQueue`: app.services.documents.open_document, which reads the
local file, the store's copy, or downloads it from the sync server, each checked by SHA-256, and audits the view),
writes a copy in a private folder of this user's data directory (app.services.documents.keep_opened_copy; the
copies are removed again at start, quit and sign-out: app.ui.work_session) and opens it with the system's viewer
(QDesktopServices). A file on neither this laptop nor reachable says so plainly: sync when online to fetch it.

A download shows its progress beside Open, with Cancel download (Alt+W): the download stops at its next chunk
(app.sync.api.DOWNLOAD_CHUNK), nothing of it is kept, and the tab says it was cancelled. Closing the case cancels
it too.

Keyboard: Tab reaches the list, arrows move, Enter (or Alt+O) opens the selected document.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.domain.plantime import format_instant
from app.ui.tasks import Job, TaskQueue

log = logging.getLogger(__name__)

HEADERS = ("Document", "Pages", "Type", "Received (PT)", "Attached by", "File")
MEDIA_WORDS = {"application/pdf": "PDF", "image/tiff": "TIFF image", "image/png": "PNG image",
               "image/jpeg": "JPEG image"}


def where_text(info) -> str:
    """Where the file is, in the user's words."""
    if info.here:
        return "On this laptop"
    if info.central:
        return "On the central store (opens when online)"
    return ("Not on this laptop, not on the central store yet: it goes there when the laptop that received it "
            "syncs")


def size_text(count: int) -> str:
    """A number of bytes in words: "640 bytes", "64 KB", "12.5 MB"."""
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


class DocumentsPanel(QWidget):
    """The case's documents with an Open button. `opener(path)` shows a file (default: the system's viewer);
    `fetcher_for(store, progress=, cancelled=)` gives the download function (default:
    app.sync.client.document_fetcher)."""

    progressed = Signal(int, int)  # a download's bytes received and expected: emitted on the worker thread

    def __init__(self, store, viewer, tar: str, parent=None, *, opener: Callable[[Path], bool] | None = None,
                 fetcher_for: Callable | None = None):
        super().__init__(parent)
        self.store, self.viewer, self.tar = store, viewer, tar
        self.documents: list = []
        self.last_message = ""
        self.last_opened: Path | None = None
        self._opener = opener or (lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        if fetcher_for is None:
            from app.sync.client import document_fetcher as fetcher_for
        self._fetcher_for = fetcher_for
        self._queue = TaskQueue(f"documents {tar}", self)
        self._busy = False
        self._opening: tuple[Job, object] | None = None  # the open under way and its document
        self.cancelled_downloads = 0  # opens that ended cancelled (tests wait on it)
        self.progressed.connect(self._show_progress)
        self.setAccessibleName("Documents")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setAccessibleName("Documents attached to the case")
        self.table.setAccessibleDescription("Arrow keys move; Enter opens the selected document")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._enable)
        self.table.doubleClicked.connect(lambda *_: self.open_selected())
        layout.addWidget(self.table, 1)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.open_selected)
        row = QHBoxLayout()
        self.open_button = QPushButton("&Open document")
        self.open_button.setAccessibleName("Open document")
        self.open_button.setToolTip("Open the selected document in the system's viewer (Enter)")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_selected)
        row.addWidget(self.open_button)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Download progress")
        self.progress.setMinimumWidth(220)
        self.progress.setMaximumWidth(320)
        self.progress.setTextVisible(True)
        self.progress.hide()
        row.addWidget(self.progress)
        self.cancel_button = QPushButton("Cancel do&wnload")
        self.cancel_button.setAccessibleName("Cancel download")
        self.cancel_button.setToolTip("Stop fetching the document from the central store; nothing of it is kept")
        self.cancel_button.clicked.connect(self.cancel_download)
        self.cancel_button.hide()
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.message = QLabel("Reading the documents…")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName("Documents: Reading the documents…")
        layout.addWidget(self.message)
        self.setTabOrder(self.table, self.open_button)
        self.setTabOrder(self.open_button, self.cancel_button)
        if isinstance(parent, QDialog):
            parent.finished.connect(self.close_down)
        self.reload()

    # --- reading ------------------------------------------------------------------------------------------
    def reload(self, *, keep_message: bool = False) -> Job:
        """Read the list again (off the GUI thread); `keep_message`: the last open's words stay."""
        store, tar = self.store, self.tar

        def work(progress, cancelled):
            from app.services.documents import list_documents

            with store.session() as session:
                return list_documents(session, tar)

        job = self._queue.submit(work, "case documents")
        job.succeeded.connect(lambda documents: self._show(documents, keep_message=keep_message))
        job.failed.connect(lambda error: self._say("The documents could not be read. Details are in the log file."))
        return job

    def _show(self, documents, *, keep_message: bool = False) -> None:
        self.documents = list(documents)
        self.table.setRowCount(len(self.documents))
        for r, info in enumerate(self.documents):
            values = (info.file_name, str(info.pages), MEDIA_WORDS.get(info.media_type, info.media_type),
                      format_instant(info.received_at), info.attached_by_name or info.attached_by or "",
                      where_text(info))
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        for column in range(len(HEADERS) - 1):
            header.resizeSection(column, min(header.sectionSize(column), 280))
        header.setStretchLastSection(False)  # set again after the resize, so the last column takes the rest
        header.setStretchLastSection(True)
        if self.documents and not self.table.selectedItems():
            self.table.selectRow(0)
        if not keep_message:
            count = len(self.documents)
            self._say(f"{count} document{'' if count == 1 else 's'}. Select one and press Enter or Open to view it."
                      if self.documents else "No documents were attached to this case at intake.")
        self._enable()

    def _enable(self) -> None:
        self.open_button.setEnabled(bool(self.documents) and self.selected() is not None and not self._busy)

    def selected(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.documents[rows[0].row()] if rows and rows[0].row() < len(self.documents) else None

    def _say(self, text: str) -> None:
        self.last_message = text
        self.message.setText(text)
        self.message.setAccessibleName(f"Documents: {text}")

    # --- opening ------------------------------------------------------------------------------------------
    def open_selected(self) -> Job | None:
        info = self.selected()
        if info is None or self._busy:
            return None
        store, tar, username, fetcher_for = self.store, self.tar, self.viewer.username, self._fetcher_for
        progressed = self.progressed
        self._busy = True
        self._enable()
        self._say(f"Opening '{info.file_name}'…" if info.here
                  else f"Fetching '{info.file_name}' from the central store…")

        def work(progress, cancelled):
            from app.services.documents import keep_opened_copy, open_document

            fetch = fetcher_for(store, progress=progressed.emit, cancelled=cancelled)
            opened = open_document(store, tar, info.id, username, fetch=fetch, via="workstation")
            return opened, keep_opened_copy(tar, opened)

        job = self._queue.submit(work, "open document")
        self._opening = (job, info)
        if not info.here:  # a download: its progress and Cancel show at once (a local read takes no time)
            self._show_download(0, 0)
        job.succeeded.connect(self._opened)
        job.failed.connect(lambda error, info=info: self._refused(info, error))
        job.finished.connect(lambda job=job, info=info: self._idle(job, info))
        return job

    def downloading(self) -> bool:
        """A download's progress and Cancel are showing."""
        return not self.cancel_button.isHidden()

    def cancel_download(self) -> None:
        """Stop the open under way at the download's next chunk; nothing of it is kept."""
        if self._opening is None:
            return
        job, info = self._opening
        job.cancel()
        self.cancel_button.setEnabled(False)
        self._say(f"Cancelling the download of '{info.file_name}'…")

    def _show_download(self, received: int, total: int) -> None:
        if self.cancel_button.isHidden():
            self.progress.show()
            self.cancel_button.setEnabled(True)
            self.cancel_button.show()
        if total > 0:
            self.progress.setRange(0, 1000)  # per mille: bytes may not fit a progress bar's int
            self.progress.setValue(min(1000, received * 1000 // total))
            self.progress.setFormat(f"{size_text(received)} of {size_text(total)}")
        else:
            self.progress.setRange(0, 0)  # busy until the server says how much comes
        self.progress.setAccessibleDescription(self.progress.format() if total > 0 else "Starting the download")

    def _show_progress(self, received: int, total: int) -> None:
        if self._opening is not None and not self._opening[0].is_cancelled():
            self._show_download(received, total)

    def _idle(self, job: Job, info) -> None:
        if self._opening is not None and self._opening[0] is job:
            self._opening = None
        self.progress.hide()
        self.cancel_button.hide()
        if job.is_cancelled() and job.error is None:  # cancelled after the download had come whole
            self.cancelled_downloads += 1
            self._say(f"Cancelled: '{info.file_name}' was not opened.")
            self.reload(keep_message=True)  # a download that had come whole is kept (checked, and audited)
        self._busy = False
        self._enable()

    def _opened(self, result) -> None:
        opened, path = result
        self.last_opened = path
        if self._opener(path):
            self._say(f"Opened '{opened.document.file_name}' ({opened.document.pages} page(s), from "
                      f"{opened.source}).")
        else:
            self._say(f"'{opened.document.file_name}' is ready but no viewer opened it. A copy is at {path}.")
        self.reload(keep_message=True)  # a downloaded copy is now on this laptop

    def _refused(self, info, error) -> None:
        from app.services.cases import ActionRefused, NotFound
        from app.services.documents import Cancelled, Unavailable, Unreachable

        if isinstance(error, Cancelled):
            self.cancelled_downloads += 1
            self._say(f"Download cancelled: '{info.file_name}' was not opened, and nothing of it was kept on this "
                      "laptop. Open it again to fetch it.")
        elif isinstance(error, Unreachable):
            self._say(f"'{info.file_name}' is not on this laptop and the central store cannot be reached: sync "
                      "when online to fetch it.")
        elif isinstance(error, (Unavailable, ActionRefused, NotFound)):
            self._say(str(error))
        else:
            self._say(f"'{info.file_name}' could not be opened. Details are in the log file.")

    def close_down(self, *_args) -> None:
        self._queue.stop()


def add_documents_tab(view, store, viewer, **kwargs) -> DocumentsPanel:
    """Add the Documents tab to an open case view (app.ui.case_view.CaseView), after its clinical notes."""
    panel = DocumentsPanel(store, viewer, view.details.tar, parent=view, **kwargs)
    view.documents_tab = panel
    view.tabs.insertTab(view.tabs.indexOf(view.notes) + 1, panel, "Doc&uments")
    return panel
