"""The intake window (issue 11, scopes 1-3): the fax inbox and the document on the left, the intake form on the right.

A UM coordinator picks a faxed request in the inbox (its arrival is the receipt time), reads it beside the form,
types the member (or finds them: Ctrl+M), the providers (NPIs checked by their check digit as she types), the
request lines and diagnoses (ICD-10-CM format checked), and saves (Ctrl+S). The panel under the form says, as she
types, what the plan still needs (the case is then saved pended for those items), whether the service needs prior
authorization, is carved out or is late. Saving goes to `app.services.inbox.save_with_documents` (with the
document: moved to the processed folder and attached) or `app.services.intake.save_request`; an open case of the
member for an overlapping service asks first: add to it, link a new case to it, or save a new case (Cancel is the
default). PAS bundles and CSV batches dropped into the inbox folder are imported on their own (off the GUI
thread); File > Import (Ctrl+I) imports one by hand.

Documents: PDFs show in Qt's own PDF viewer (QtPdf, from the PySide6-Pdf wheel: PySide6-Essentials has no QtPdf),
TIFF faxes page by page as images. The inbox is watched with QFileSystemWatcher and looked at again every few
seconds (network shares do not always report changes).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QDateTime, QFileSystemWatcher, QSettings, Qt, QTimer, QTimeZone
from PySide6.QtGui import QAction, QImageReader, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDateTimeEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
    QGridLayout,
    QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMessageBox,
    QPlainTextEdit, QPushButton, QScrollArea, QSpinBox, QSplitter, QStackedWidget, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from app.domain.intake import codes
from app.domain.intake.assessment import Assessment, assess
from app.domain.intake.authority import may_enter_request
from app.domain.intake.draft import (
    NETWORK_STATUSES, DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart,
)
from app.domain.plantime import format_instant
from app.domain.vocabulary import LINES_OF_BUSINESS, REVIEW_TIMINGS, SERVICE_CATEGORIES, SEXES, URGENCIES
from app.services import inbox, intake
from app.services.cases import ActionRefused, InvalidInput, NotFound
from app.store.engine import Store
from app.store.worklist import Viewer
from app.ui.tasks import Task

log = logging.getLogger(__name__)

SETTINGS_INBOX = "intake/inbox_folder"
SETTINGS_GEOMETRY = "intake/geometry"
POLL_MS = 5_000
ASSESS_DELAY_MS = 250
LINE_COLUMNS = ("Code", "Description", "Units", "From", "To")


def parse_day(text: str) -> date | None:
    """'11/23/2026' or '2026-11-23' (None for empty); ValueError for anything else."""
    value = text.strip()
    if not value:
        return None
    if "/" in value:
        month, day, year = value.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(value)


def _day_text(day: date | None) -> str:
    return day.strftime("%m/%d/%Y") if day else ""


class DateField(QLineEdit):
    """An optional date typed as MM/DD/YYYY (or YYYY-MM-DD); `day()` raises ValueError when it is not a date."""

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.setPlaceholderText("MM/DD/YYYY")
        self.setAccessibleName(name)
        self.setMaxLength(10)

    def day(self) -> date | None:
        return parse_day(self.text())

    def set_day(self, day: date | None) -> None:
        self.setText(_day_text(day))


class DocumentViewer(QStackedWidget):
    """The inbox document beside the form: QtPdf for PDFs, page images for TIFFs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Document")
        self.empty = QLabel("Pick a document in the inbox to see it here.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.addWidget(self.empty)
        self.pdf_view = None
        self.pdf_document = None
        self.image_area = QScrollArea()
        self.image_area.setWidgetResizable(True)
        self.image_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.image_pages = QWidget()
        self.image_layout = QVBoxLayout(self.image_pages)
        self.image_layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.image_area.setWidget(self.image_pages)
        self.image_area.setAccessibleName("Document pages")
        self.addWidget(self.image_area)
        self.pages: list[QPixmap] = []
        self.page_labels: list[QLabel] = []
        self.shown: Path | None = None

    def _pdf(self):
        if self.pdf_view is None:
            from PySide6.QtPdf import QPdfDocument
            from PySide6.QtPdfWidgets import QPdfView

            self.pdf_document = QPdfDocument(self)
            self.pdf_view = QPdfView(self)
            self.pdf_view.setAccessibleName("PDF document")
            self.pdf_view.setDocument(self.pdf_document)
            self.pdf_view.setPageMode(QPdfView.PageMode.MultiPage)
            self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
            self.addWidget(self.pdf_view)
        return self.pdf_view, self.pdf_document

    def show_file(self, item: inbox.InboxItem | None) -> str | None:
        """Show `item`; returns a message in the user's words when it cannot be shown."""
        self.shown = item.path if item else None
        if item is None:
            self.setCurrentWidget(self.empty)
            return None
        if item.media_type == "application/pdf":
            from PySide6.QtPdf import QPdfDocument

            view, document = self._pdf()
            document.close()
            if document.load(str(item.path)) != QPdfDocument.Error.None_:
                self.setCurrentWidget(self.empty)
                return f"{item.name} cannot be opened as a PDF; ask the sender to fax it again."
            self.setCurrentWidget(view)
            return None
        reader = QImageReader(str(item.path))
        self.pages = []
        while True:
            image = reader.read()
            if image.isNull():
                break
            self.pages.append(QPixmap.fromImage(image))
            if not reader.jumpToNextImage():
                break
        if not self.pages:
            self.setCurrentWidget(self.empty)
            return f"{item.name} cannot be opened as a TIFF image; ask the sender to fax it again."
        for label in self.page_labels:
            label.deleteLater()
        self.page_labels = []
        for number, _ in enumerate(self.pages, start=1):
            label = QLabel()
            label.setAccessibleName(f"Page {number} of {len(self.pages)}")
            self.image_layout.addWidget(label)
            self.page_labels.append(label)
        self.setCurrentWidget(self.image_area)
        self.scale_pages()
        return None

    def scale_pages(self) -> None:
        width = max(300, self.image_area.viewport().width() - 24)
        for pixmap, label in zip(self.pages, self.page_labels):
            label.setPixmap(pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.page_labels:
            self.scale_pages()


class DuplicateDialog(QDialog):
    """An open case of the member for an overlapping service: add to it, link a new case to it, or save anew.
    Cancel (saves nothing) is the default button."""

    def __init__(self, candidates: list[intake.DuplicateCandidate], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Possible duplicate")
        self.setAccessibleName("Possible duplicate")
        self.choice: tuple[str, str | None] | None = None
        layout = QVBoxLayout(self)
        text = QLabel("This member already has an open case for an overlapping service. Nothing is saved until "
                      "you choose.")
        text.setWordWrap(True)
        layout.addWidget(text)
        self.list = QListWidget()
        self.list.setAccessibleName("Open cases that overlap")
        self.list.setWordWrap(True)
        for candidate in candidates:
            item = QListWidgetItem(candidate.describe())
            item.setData(Qt.ItemDataRole.UserRole, candidate.tar)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        layout.addWidget(self.list)
        buttons = QDialogButtonBox()
        self.merge_button = buttons.addButton("&Add to that case", QDialogButtonBox.ButtonRole.AcceptRole)
        self.link_button = buttons.addButton("&Link a new case to it", QDialogButtonBox.ButtonRole.AcceptRole)
        self.new_button = buttons.addButton("Save as a &new case", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        for button, resolution in ((self.merge_button, "merge"), (self.link_button, "link"),
                                   (self.new_button, "new")):
            button.setAutoDefault(False)
            button.clicked.connect(lambda checked=False, r=resolution: self._choose(r))
        self.cancel_button.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setTabOrder(self.list, self.merge_button)

    def _choose(self, resolution: str) -> None:
        item = self.list.currentItem()
        self.choice = (resolution, item.data(Qt.ItemDataRole.UserRole) if item else None)
        self.accept()


class IntakeForm(QWidget):
    """The fields of a request, in the order a coordinator reads a faxed TAR."""

    def __init__(self, store: Store, parent=None):
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Intake form")
        grid = QGridLayout(self)

        # --- member
        member_box = QGroupBox("&Member")
        member = QFormLayout(member_box)
        self.member_search = QLineEdit()
        self.member_search.setPlaceholderText("Find: CIN, member id or name, then Enter")
        self.member_search.setAccessibleName("Find member")
        self.member_results = QListWidget()
        self.member_results.setAccessibleName("Members found")
        self.member_results.setMaximumHeight(90)
        self.member_results.hide()
        self.cin = QLineEdit(); self.cin.setAccessibleName("Medi-Cal number (CIN)"); self.cin.setMaxLength(16)
        self.plan_member_id = QLineEdit(); self.plan_member_id.setAccessibleName("Plan member id")
        self.first_name = QLineEdit(); self.first_name.setAccessibleName("Member first name")
        self.last_name = QLineEdit(); self.last_name.setAccessibleName("Member last name")
        self.birth_date = DateField("Member birth date")
        self.sex = QComboBox(); self.sex.setAccessibleName("Member sex")
        for key, label in SEXES.items():
            self.sex.addItem(label, key)
        self.sex.setCurrentIndex(list(SEXES).index("U"))
        member.addRow("Find:", self.member_search)
        member.addRow("", self.member_results)
        member.addRow("&CIN:", self.cin)
        member.addRow("Plan member id:", self.plan_member_id)
        member.addRow("First name:", self.first_name)
        member.addRow("&Last name:", self.last_name)
        member.addRow("&Birth date:", self.birth_date)
        member.addRow("Sex:", self.sex)
        _buddies(member)

        # --- providers
        provider_box = QGroupBox("&Providers")
        providers = QFormLayout(provider_box)
        self.requesting_npi = QLineEdit(); self.requesting_npi.setAccessibleName("Requesting provider NPI")
        self.requesting_npi.setMaxLength(10)
        self.requesting_check = QLabel(); self.requesting_check.setAccessibleName("Requesting NPI check")
        self.requesting_check.hide()
        self.requesting_name = QLineEdit(); self.requesting_name.setAccessibleName("Requesting provider name")
        self.servicing_npi = QLineEdit(); self.servicing_npi.setAccessibleName("Servicing provider NPI")
        self.servicing_npi.setMaxLength(10)
        self.servicing_check = QLabel(); self.servicing_check.setAccessibleName("Servicing NPI check")
        self.servicing_check.hide()
        self.servicing_name = QLineEdit(); self.servicing_name.setAccessibleName("Servicing provider name")
        self.network = QComboBox(); self.network.setAccessibleName("Network status")
        for key, label in NETWORK_STATUSES.items():
            self.network.addItem(label, key)
        providers.addRow("&Requesting NPI:", self.requesting_npi)
        providers.addRow("", self.requesting_check)
        providers.addRow("Requesting name:", self.requesting_name)
        providers.addRow("Ser&vicing NPI:", self.servicing_npi)
        providers.addRow("", self.servicing_check)
        providers.addRow("Servicing name:", self.servicing_name)
        providers.addRow("Network:", self.network)
        _buddies(providers)

        # --- the request
        request_box = QGroupBox("Re&quest")
        request = QFormLayout(request_box)
        self.lob = _combo("Line of business", LINES_OF_BUSINESS)
        self.category = _combo("Service category", SERVICE_CATEGORIES, "outpatient")
        self.timing = _combo("Review timing", {k: v for k, v in REVIEW_TIMINGS.items()})
        self.urgency = _combo("Urgency", URGENCIES, "routine")
        self.received = QDateTimeEdit(); self.received.setAccessibleName("Received at")
        self.received.setDisplayFormat("MM/dd/yyyy h:mm AP 'PT'")
        self.received.setTimeZone(QTimeZone(b"America/Los_Angeles"))
        self.received.setCalendarPopup(True)
        self.place = QComboBox(); self.place.setEditable(True); self.place.setAccessibleName("Place of service")
        for code, label in codes.PLACES_OF_SERVICE.items():
            self.place.addItem(f"{code} {label}", code)
        self.place.setCurrentIndex(-1)
        self.place.lineEdit().setPlaceholderText("2-digit code, e.g. 11")
        self.los = QSpinBox(); self.los.setAccessibleName("Requested length of stay, days"); self.los.setRange(0, 365)
        self.los.setSpecialValueText("not given")
        self.proposed = DateField("Proposed date of procedure")
        request.addRow("Line of business:", self.lob)
        request.addRow("Ca&tegory:", self.category)
        request.addRow("Timing:", self.timing)
        request.addRow("&Urgency:", self.urgency)
        request.addRow("Rec&eived:", self.received)
        request.addRow("Place of service:", self.place)
        request.addRow("Length of stay (days):", self.los)
        request.addRow("Proposed date:", self.proposed)
        _buddies(request)

        # --- lines and diagnoses
        lines_box = QGroupBox("Requested services (CPT/HCPCS)")
        lines_layout = QVBoxLayout(lines_box)
        self.lines = QTableWidget(0, len(LINE_COLUMNS))
        self.lines.setAccessibleName("Request lines")
        self.lines.setHorizontalHeaderLabels(LINE_COLUMNS)
        self.lines.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.lines.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.lines.setMinimumHeight(110)
        self.lines.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        row_buttons = QHBoxLayout()
        self.add_line_button = QPushButton("Add li&ne")
        self.remove_line_button = QPushButton("Remove line")
        self.add_line_button.clicked.connect(lambda: self.add_line())
        self.remove_line_button.clicked.connect(self.remove_line)
        row_buttons.addWidget(self.add_line_button)
        row_buttons.addWidget(self.remove_line_button)
        row_buttons.addStretch(1)
        lines_layout.addWidget(self.lines)
        lines_layout.addLayout(row_buttons)
        self.diagnoses = QLineEdit(); self.diagnoses.setAccessibleName("Diagnoses (ICD-10-CM)")
        self.diagnoses.setPlaceholderText("M54.50 Low back pain; M51.26")
        self.diagnoses_check = QLabel(); self.diagnoses_check.setAccessibleName("Diagnosis check")
        self.diagnoses_check.setWordWrap(True)
        dx = QFormLayout()
        dx.addRow("&Diagnoses:", self.diagnoses)
        dx.addRow("", self.diagnoses_check)
        _buddies(dx)
        lines_layout.addLayout(dx)

        # --- clinical and post-service dates
        clinical_box = QGroupBox("Clinical information")
        clinical = QFormLayout(clinical_box)
        self.notes = QPlainTextEdit(); self.notes.setAccessibleName("Clinical notes")
        self.notes.setPlaceholderText("Clinical indications, pertinent history, treatment tried")
        self.notes.setTabChangesFocus(True)
        self.notes.setMaximumHeight(70)
        self.attach = QCheckBox("Attach the document shown"); self.attach.setChecked(True)
        self.attach.setAccessibleName("Attach the document shown")
        self.denial_date = DateField("Primary insurer denial date")
        self.retro_date = DateField("Retroactive eligibility date")
        clinical.addRow("N&otes:", self.notes)
        clinical.addRow("", self.attach)
        clinical.addRow("Primary insurer denial:", self.denial_date)
        clinical.addRow("Retro eligibility:", self.retro_date)
        _buddies(clinical)
        # Two columns, so that a 14-inch screen shows the whole request beside the document.
        left = QVBoxLayout()
        left.addWidget(member_box)
        left.addWidget(provider_box)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(request_box)
        right.addWidget(clinical_box)
        right.addStretch(1)
        grid.addLayout(left, 0, 0)
        grid.addLayout(right, 0, 1)
        grid.addWidget(lines_box, 1, 0, 1, 2)
        grid.setRowStretch(2, 1)

        self.member_search.returnPressed.connect(self.find_members)
        self.member_results.itemActivated.connect(self.pick_member)
        self.requesting_npi.textChanged.connect(lambda text: self._npi_changed(text, self.requesting_check,
                                                                               self.requesting_name))
        self.servicing_npi.textChanged.connect(lambda text: self._npi_changed(text, self.servicing_check,
                                                                              self.servicing_name))
        self.diagnoses.textChanged.connect(self._diagnoses_changed)
        self._tab_order()
        self.clear()

    def _tab_order(self) -> None:
        order = [self.member_search, self.member_results, self.cin, self.plan_member_id, self.first_name,
                 self.last_name, self.birth_date, self.sex, self.requesting_npi, self.requesting_name,
                 self.servicing_npi, self.servicing_name, self.network, self.lob, self.category, self.timing,
                 self.urgency, self.received, self.place, self.los, self.proposed, self.lines, self.add_line_button,
                 self.remove_line_button, self.diagnoses, self.notes, self.attach, self.denial_date, self.retro_date]
        for first, second in zip(order, order[1:]):
            self.setTabOrder(first, second)

    # --- filling in ---------------------------------------------------------------------------------------
    def clear(self, received: datetime | None = None) -> None:
        for field in (self.member_search, self.cin, self.plan_member_id, self.first_name, self.last_name,
                      self.birth_date, self.requesting_npi, self.requesting_name, self.servicing_npi,
                      self.servicing_name, self.proposed, self.diagnoses, self.denial_date, self.retro_date):
            field.clear()
        self.notes.clear()
        self.member_results.clear()
        self.member_results.hide()
        self.sex.setCurrentIndex(list(SEXES).index("U"))
        self.place.setCurrentIndex(-1)
        self.place.setEditText("")
        self.los.setValue(0)
        self.lines.setRowCount(0)
        self.add_line()
        self.set_received(received or datetime.now(timezone.utc))

    def set_received(self, instant: datetime) -> None:
        self.received.setDateTime(QDateTime.fromSecsSinceEpoch(int(instant.timestamp()),
                                                               QTimeZone(b"America/Los_Angeles")))

    def add_line(self, code: str = "", description: str = "", units: int = 1, start: date | None = None,
                 end: date | None = None) -> None:
        row = self.lines.rowCount()
        self.lines.insertRow(row)
        for column, value in enumerate((code, description, str(units), _day_text(start), _day_text(end))):
            self.lines.setItem(row, column, QTableWidgetItem(value))
        self.lines.setCurrentCell(row, 0)

    def remove_line(self) -> None:
        row = self.lines.currentRow()
        if row >= 0:
            self.lines.removeRow(row)
        if self.lines.rowCount() == 0:
            self.add_line()

    def find_members(self) -> None:
        with self.store.session() as session:
            found = intake.search_members(session, self.member_search.text())
            rows = [(m.cin or "", m.plan_member_id or "", m.first_name, m.last_name, m.birth_date, m.sex)
                    for m in found]
        self.member_results.clear()
        for row in rows:
            cin, plan_id, first, last, birth, sex = row
            text = f"{last}, {first} · CIN {cin or '—'} · member id {plan_id or '—'} · born {_day_text(birth) or '?'}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, row)
            self.member_results.addItem(item)
        if not rows:
            self.member_results.addItem("No member found: type the member's details below.")
        self.member_results.show()
        self.member_results.setCurrentRow(0)
        self.member_results.setFocus()

    def pick_member(self, item: QListWidgetItem) -> None:
        row = item.data(Qt.ItemDataRole.UserRole)
        if not row:
            self.cin.setFocus()
            return
        cin, plan_id, first, last, birth, sex = row
        self.cin.setText(cin)
        self.plan_member_id.setText(plan_id)
        self.first_name.setText(first)
        self.last_name.setText(last)
        self.birth_date.set_day(birth)
        self.sex.setCurrentIndex(max(0, self.sex.findData(sex)))
        self.member_results.hide()
        self.requesting_npi.setFocus()

    def _npi_changed(self, text: str, label: QLabel, name: QLineEdit) -> None:
        text = text.strip()
        label.setVisible(bool(text))
        if not text:
            label.setText("")
            return
        problem = codes.npi_problem(text, "the")
        if problem:
            label.setText("✗ " + ("not 10 digits yet" if len(text) < 10 else "fails its check digit: mistyped?"))
        else:
            label.setText("✓ check digit OK")
            with self.store.session() as session:
                provider = intake.find_provider(session, text)
                known = provider.name if provider else None
            if known and not name.text().strip():
                name.setText(known)
        label.setAccessibleName(f"NPI check: {label.text()}")

    def _diagnoses_changed(self) -> None:
        problems = [codes.icd10cm_problem(d.code) for d in self.diagnosis_parts()]
        problems = [p for p in problems if p]
        self.diagnoses_check.setText("✗ " + "; ".join(problems) if problems else "")

    # --- reading ----------------------------------------------------------------------------------------------
    def diagnosis_parts(self) -> list[DiagnosisPart]:
        parts = []
        for chunk in self.diagnoses.text().replace(",", ";").split(";"):
            chunk = chunk.strip()
            if chunk:
                code, _, description = chunk.partition(" ")
                parts.append(DiagnosisPart(code, description.strip()))
        return parts

    def line_parts(self) -> list[LinePart]:
        parts = []
        for row in range(self.lines.rowCount()):
            cell = lambda column: (self.lines.item(row, column).text().strip() if self.lines.item(row, column) else "")
            code = cell(0).upper()
            if not code:
                continue
            units_text = cell(2) or "1"
            if not units_text.isdigit():
                raise ValueError(f"line {row + 1}: units '{units_text}' is not a whole number")
            try:
                start, end = parse_day(cell(3)), parse_day(cell(4))
            except ValueError:
                raise ValueError(f"line {row + 1}: a date is not MM/DD/YYYY") from None
            parts.append(LinePart(code, cell(1), int(units_text), start, end))
        return parts

    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.received.dateTime().toSecsSinceEpoch(), timezone.utc)

    def draft(self, channel: str, attachments: list[str]) -> IntakeDraft:
        """The request as typed; ValueError (in the user's words) for a field that cannot be read."""
        dates = {}
        for field in (self.birth_date, self.proposed, self.denial_date, self.retro_date):
            try:
                dates[field] = field.day()
            except ValueError:
                raise ValueError(f"{field.accessibleName()}: '{field.text()}' is not a date (MM/DD/YYYY)") from None
        place = self.place.currentData() if self.place.currentIndex() >= 0 and \
            self.place.currentText() == self.place.itemText(self.place.currentIndex()) else \
            self.place.currentText().strip().split(" ")[0]
        servicing = ProviderPart(self.servicing_npi.text().strip(), self.servicing_name.text().strip()) \
            if self.servicing_npi.text().strip() or self.servicing_name.text().strip() else None
        return IntakeDraft(
            channel=channel, received_at=self.received_at(),
            member=MemberPart(cin=self.cin.text().strip().upper(), plan_member_id=self.plan_member_id.text().strip(),
                              first_name=self.first_name.text().strip(), last_name=self.last_name.text().strip(),
                              birth_date=dates[self.birth_date], sex=self.sex.currentData()),
            requesting=ProviderPart(self.requesting_npi.text().strip(), self.requesting_name.text().strip()),
            servicing=servicing, line_of_business=self.lob.currentData(), service_category=self.category.currentData(),
            review_timing=self.timing.currentData(), urgency=self.urgency.currentData(),
            place_of_service=place or "", network_status=self.network.currentData(), lines=self.line_parts(),
            diagnoses=self.diagnosis_parts(), requested_los_days=self.los.value() or None,
            proposed_date=dates[self.proposed], clinical_note=self.notes.toPlainText().strip(),
            attachments=attachments, primary_denial_date=dates[self.denial_date],
            retro_eligibility_date=dates[self.retro_date])


def _combo(name: str, choices: dict[str, str], current: str | None = None) -> QComboBox:
    combo = QComboBox()
    combo.setAccessibleName(name)
    for key, label in choices.items():
        combo.addItem(label, key)
    if current:
        combo.setCurrentIndex(list(choices).index(current))
    return combo


def _buddies(form: QFormLayout) -> None:
    """Each row's label is the buddy of its field, so its &-mnemonic (Alt+letter) moves there."""
    for row in range(form.rowCount()):
        label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        if label and field and isinstance(label.widget(), QLabel) and field.widget():
            label.widget().setBuddy(field.widget())


class IntakeWindow(QDialog):
    """Inbox and document on the left, the form and what intake says about it on the right."""

    def __init__(self, store: Store, viewer: Viewer, settings: QSettings | None = None, parent=None, *,
                 folder: Path | None = None, poll_ms: int = POLL_MS,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        super().__init__(parent)
        self.store = store
        self.viewer = viewer
        self.settings = settings if settings is not None else QSettings()
        self._clock = clock
        self.setWindowTitle("Intake — fax inbox and new request")
        self.setAccessibleName("Intake")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        saved_folder = self.settings.value(SETTINGS_INBOX, "", str)
        self.folder = folder or (Path(saved_folder) if saved_folder else inbox.inbox_folder())
        self.items: list[inbox.InboxItem] = []
        self.current: inbox.InboxItem | None = None
        self.refused_files: dict[tuple[str, float, int], str] = {}
        self.import_task: Task | None = None
        self.last_saved: intake.Saved | None = None
        self.refusal = may_enter_request(viewer.role)

        self.inbox_list = QListWidget()
        self.inbox_list.setAccessibleName("Fax inbox")
        self.inbox_label = QLabel()
        self.inbox_label.setWordWrap(True)
        self.folder_button = QPushButton("Inbox &folder…")
        self.folder_button.clicked.connect(self.choose_folder)
        self.viewer_widget = DocumentViewer()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.inbox_label)
        left_layout.addWidget(self.inbox_list, 1)
        left_layout.addWidget(self.folder_button)
        left_splitter = QSplitter(Qt.Orientation.Vertical)
        left_splitter.addWidget(left)
        left_splitter.addWidget(self.viewer_widget)
        left_splitter.setSizes([160, 560])

        self.form = IntakeForm(store)
        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setWidget(self.form)
        form_scroll.setAccessibleName("Intake form")
        self.assessment_label = QLabel()
        self.assessment_label.setAccessibleName("What intake found")
        self.assessment_label.setWordWrap(True)
        self.assessment_label.setTextFormat(Qt.TextFormat.RichText)
        self.assessment_label.setFrameShape(QLabel.Shape.StyledPanel)
        self.assessment_label.setMargin(6)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("&Save request")
        self.save_button.setToolTip("Save the request as a case (Ctrl+S)")
        self.clear_button = QPushButton("Cle&ar form")
        self.import_button = QPushButton("&Import file…")
        self.close_button = QPushButton("Close")
        for button in (self.save_button, self.clear_button, self.import_button):
            button.setAutoDefault(False)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(form_scroll, 1)
        right_layout.addWidget(self.assessment_label)
        right_layout.addLayout(buttons)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left_splitter)
        self.splitter.addWidget(right)
        self.splitter.setSizes([470, 890])
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

        self.action_save = self._shortcut(QKeySequence.StandardKey.Save, self.save)
        self.action_find = self._shortcut("Ctrl+M", lambda: self.form.member_search.setFocus())
        self.action_inbox = self._shortcut("Ctrl+1", lambda: self.inbox_list.setFocus())
        self.action_form = self._shortcut("Ctrl+2", lambda: self.form.cin.setFocus())
        self.action_add_line = self._shortcut("Ctrl+Shift+L", lambda: self._add_line())
        self.action_import = self._shortcut("Ctrl+I", self.import_prompt)
        self.action_refresh = self._shortcut("F5", self.refresh_inbox)
        self.save_button.clicked.connect(self.save)
        self.clear_button.clicked.connect(lambda: self.clear_form())
        self.import_button.clicked.connect(self.import_prompt)
        self.close_button.clicked.connect(self.close)
        self.inbox_list.currentRowChanged.connect(self._inbox_row)
        form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTabOrder(self.inbox_list, self.folder_button)
        self.setTabOrder(self.folder_button, self.form.member_search)
        self.form._tab_order()  # moving the form's first field moved the rest: lay the chain again
        chain = [self.form.retro_date, self.save_button, self.clear_button, self.import_button, self.close_button]
        for first, second in zip(chain, chain[1:]):
            self.setTabOrder(first, second)

        self._assess_timer = QTimer(self)
        self._assess_timer.setSingleShot(True)
        self._assess_timer.setInterval(ASSESS_DELAY_MS)
        self._assess_timer.timeout.connect(self.update_assessment)
        for signal in _change_signals(self.form):
            signal.connect(lambda *_: self._assess_timer.start())
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _: self.refresh_inbox())
        self.poll = QTimer(self)
        self.poll.setInterval(poll_ms)
        self.poll.timeout.connect(self.refresh_inbox)
        if poll_ms > 0:
            self.poll.start()
        if self.refusal:
            for widget in (self.save_button, self.import_button):
                widget.setEnabled(False)
                widget.setToolTip(self.refusal.reason)
        geometry = self.settings.value(SETTINGS_GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        self._watch_folder()
        self.refresh_inbox()
        self.update_assessment()
        self.form.member_search.setFocus()

    def _shortcut(self, key, slot) -> QAction:
        action = QAction(self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        return action

    def _add_line(self) -> None:
        self.form.add_line()
        self.form.lines.setFocus()

    # --- the inbox ----------------------------------------------------------------------------------------------
    @property
    def processed(self) -> Path:
        return inbox.processed_folder(self.folder)

    def _watch_folder(self) -> None:
        for path in self.watcher.directories():
            self.watcher.removePath(path)
        if self.folder.is_dir():
            self.watcher.addPath(str(self.folder))

    def choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Fax inbox folder", str(self.folder))
        if chosen:
            self.set_folder(Path(chosen))

    def set_folder(self, folder: Path) -> None:
        self.folder = folder
        self.settings.setValue(SETTINGS_INBOX, str(folder))
        self._watch_folder()
        self.refresh_inbox()

    def refresh_inbox(self) -> None:
        """Look at the folder again (a directory listing: no file is opened here)."""
        if not self.folder.is_dir():
            self.items = []
            self.inbox_list.clear()
            self.inbox_label.setText(f"Inbox folder {self.folder} does not exist yet; choose one with "
                                     "“Inbox folder…”.")
            return
        if not self.watcher.directories():
            self._watch_folder()
        found = inbox.scan(self.folder)
        requests = [i for i in found if i.kind != "document"
                    and (i.name, i.received_at.timestamp(), i.size) not in self.refused_files]
        if requests and self.import_task is None and self.refusal is None:
            self._import_dropped(requests)
        documents = [i for i in found if i.kind == "document"]
        if [i.path for i in documents] == [i.path for i in self.items] and self.inbox_list.count() == len(documents):
            return
        current = self.current.path if self.current else None
        self.items = documents
        self.inbox_list.blockSignals(True)
        self.inbox_list.clear()
        for item in documents:
            entry = QListWidgetItem(f"{item.name} · received {format_instant(item.received_at)}")
            entry.setToolTip(str(item.path))
            self.inbox_list.addItem(entry)
        self.inbox_list.blockSignals(False)
        self.inbox_label.setText(f"Fax inbox ({len(documents)}): {self.folder}" if documents
                                 else f"Fax inbox: no documents waiting in {self.folder}")
        keep = next((n for n, i in enumerate(documents) if i.path == current), None)
        if keep is not None:
            self.inbox_list.setCurrentRow(keep)
        elif current is not None:
            self.show_item(None)

    def _inbox_row(self, row: int) -> None:
        self.show_item(self.items[row] if 0 <= row < len(self.items) else None)

    def show_item(self, item: inbox.InboxItem | None) -> None:
        """Show the document and take its arrival as the receipt time (the user may still correct it)."""
        self.current = item
        message = self.viewer_widget.show_file(item)
        if message:
            self.tell(QMessageBox.Icon.Warning, "Cannot show the document", message)
        if item is not None:
            self.form.set_received(item.received_at)
        self.update_assessment()

    def _import_dropped(self, items: list[inbox.InboxItem]) -> None:
        store, username, processed = self.store, self.viewer.username, self.processed

        def work(progress, cancelled):
            return inbox.import_request_files(store, items, username, processed)

        task = Task(work, "inbox import", self)
        self.import_task = task
        task.succeeded.connect(self._dropped_imported)
        task.failed.connect(lambda error: self.tell(QMessageBox.Icon.Critical, "Inbox import stopped",
                                                    "Importing a file from the inbox stopped with an error; nothing "
                                                    "of that file was saved. Details are in the log file."))
        task.finished.connect(self._import_finished)
        task.start()

    def _import_finished(self) -> None:
        self.import_task = None

    def _dropped_imported(self, outcomes: list[inbox.FileOutcome]) -> None:
        lines = []
        for outcome in outcomes:
            if outcome.error is not None:
                key = (outcome.item.name, outcome.item.received_at.timestamp(), outcome.item.size)
                self.refused_files[key] = str(outcome.error)
                lines.append(f"{outcome.item.name} was not imported and stays in the inbox: {outcome.error}")
            elif outcome.report is not None:
                report = outcome.report
                lines.append(f"{outcome.item.name}: {len(report.created)} case(s) created"
                             + (f" (TAR {', '.join(report.created)})" if report.created else "")
                             + (f", {len(report.duplicates)} duplicate(s)" if report.duplicates else ""))
        if lines:
            self.inbox_label.setText("\n".join(lines))

    # --- the form -------------------------------------------------------------------------------------------------
    def clear_form(self) -> None:
        self.form.clear(self.current.received_at if self.current else self._clock())
        self.update_assessment()
        self.form.member_search.setFocus()

    def _draft(self) -> IntakeDraft:
        attach = self.current is not None and self.form.attach.isChecked()
        return self.form.draft("fax" if attach else "form", [self.current.name] if attach else [])

    def update_assessment(self) -> Assessment | None:
        self._assess_timer.stop()
        try:
            found = assess(self._draft())
        except ValueError as error:
            self.assessment_label.setText(f"<b>Check:</b> {_escape(str(error))}")
            return None
        parts = []
        if found.missing:
            parts.append("<b>Missing — the case will be saved pended for information:</b><br>• "
                         + "<br>• ".join(_escape(item) for item in found.missing))
        else:
            parts.append("<b>Complete:</b> the request carries everything the plan needs.")
        required = [need for need in found.auth if need.required]
        if found.no_authorization_required:
            parts.append("<b>No prior authorization needed</b> (" + _escape(found.auth[0].reason)
                         + "): the case may be closed administratively with a notice to the provider.")
        elif required:
            parts.append("<b>Prior authorization needed:</b> " + "; ".join(
                f"line {need.line_number} {_escape(need.code)}" for need in required))
        for redirection in found.redirections:
            parts.append(f"<b>Redirect:</b> {_escape(redirection.label)} — {_escape(redirection.redirect_to)} "
                         f"({_escape(redirection.because)}).")
        if found.late is not None:
            parts.append(("<b>Late:</b> " if found.late.late else "") + _escape(found.late.reason)
                         + (" It is still reviewed." if found.late.late else ""))
        if self.refusal:
            parts.append(f"<b>You cannot save requests:</b> {_escape(self.refusal.reason)}")
        self.assessment_label.setText("<br>".join(parts))
        return found

    def save(self, resolution: str | None = None, target: str | None = None) -> intake.Saved | None:
        """Save the request (with the document shown, when attached); on an overlapping open case, ask first."""
        if self.refusal:
            self.tell(QMessageBox.Icon.Warning, "Cannot save the request", self.refusal.reason)
            return None
        try:
            draft = self._draft()
        except ValueError as error:
            self.tell(QMessageBox.Icon.Warning, "Check the form", str(error))
            return None
        documents = [self.current] if self.current is not None and self.form.attach.isChecked() else []
        try:
            if documents:
                saved = inbox.save_with_documents(self.store, draft, self.viewer.username, documents,
                                                  processed=self.processed, resolution=resolution, target=target)
            else:
                with self.store.session() as session, session.begin():
                    saved = intake.save_request(session, draft, self.viewer.username, resolution=resolution,
                                                target=target)
        except intake.DuplicatesFound as found:
            dialog = DuplicateDialog(found.candidates, self)
            self.duplicate_dialog = dialog
            if dialog.exec() == QDialog.DialogCode.Accepted and dialog.choice:
                return self.save(*dialog.choice)
            return None
        except (ActionRefused, InvalidInput, NotFound) as error:
            self.tell(QMessageBox.Icon.Warning, "Cannot save the request", str(error))
            return None
        except inbox.UnreadableRequest as error:
            self.tell(QMessageBox.Icon.Warning, "Cannot attach the document", str(error))
            return None
        except Exception:  # noqa: BLE001 - the user gets words, the log the traceback
            log.exception("saving a request failed")
            self.tell(QMessageBox.Icon.Critical, "Cannot save the request",
                      "The request could not be saved, so nothing was changed (the document is still in the inbox). "
                      "Try again; details are in the log file.")
            return None
        self.last_saved = saved
        self.tell(QMessageBox.Icon.Information, "Request saved", self.saved_text(saved))
        self.current = None
        self.viewer_widget.show_file(None)
        self.refresh_inbox()
        self.clear_form()
        return saved

    @staticmethod
    def saved_text(saved: intake.Saved) -> str:
        if not saved.created:
            return f"Added to TAR {saved.tar}: the request's lines, notes and documents are on that case's timeline."
        text = f"TAR {saved.tar} saved"
        if saved.missing:
            text += " and pended for information. The requester is asked for: " + "; ".join(saved.missing) + "."
        else:
            text += "; its clocks run from the receipt and it is in its team's queue."
        if saved.linked_to:
            text += f" Linked to TAR {saved.linked_to}."
        if "no-auth-required" in saved.flags:
            text += " No prior authorization is needed: it may be closed administratively with a provider notice."
        redirects = [flag.split(":", 1)[1] for flag in saved.flags if flag.startswith("redirect:")]
        if redirects:
            text += " Flagged for redirection: " + ", ".join(redirects) + "."
        if "late" in saved.flags:
            text += " Flagged late (post-service); it is still reviewed."
        return text

    def import_prompt(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import requests", str(Path.home()),
                                              "Requests (*.json *.csv);;FHIR PAS bundle (*.json);;CSV batch (*.csv)")
        if name:
            self.import_path(Path(name))

    def import_path(self, path: Path) -> Task:
        """Import a bundle or CSV batch off the GUI thread and say what it made."""
        store, username = self.store, self.viewer.username

        def work(progress, cancelled):
            return intake.import_file(store, path, username, progress=progress)

        task = Task(work, "import", self)
        self.file_task = task
        task.succeeded.connect(lambda report: self.tell(QMessageBox.Icon.Information, "Imported", _report_text(report)))
        task.failed.connect(lambda error: self.tell(QMessageBox.Icon.Warning, "Nothing was imported",
                                                    _error_text(error)))
        task.start()
        return task

    def tell(self, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAccessibleName(title)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message = text
        return box

    def closeEvent(self, event) -> None:
        self.settings.setValue(SETTINGS_GEOMETRY, self.saveGeometry())
        self.poll.stop()
        for task in (self.import_task, getattr(self, "file_task", None)):
            if task is not None:
                task.wait()
        super().closeEvent(event)


def _report_text(report: intake.ImportReport) -> str:
    lines = [f"{report.file}: {len(report.created)} case(s) created, {len(report.duplicates)} duplicate(s)."]
    lines += [f"Pended {p['tar']}: {'; '.join(p['missing'])}" for p in report.problems[:10]]
    if len(report.problems) > 10:
        lines.append(f"… and {len(report.problems) - 10} more pended")
    return "\n".join(lines)


def _error_text(error: BaseException) -> str:
    if isinstance(error, inbox.UnreadableRequest):
        shown = error.lines()[:12]
        more = len(error.problems) - len(shown)
        return "\n".join(shown + ([f"… and {more} more"] if more > 0 else [])) + "\n\nCorrect the file and import it again."
    if isinstance(error, (ActionRefused, InvalidInput, NotFound)):
        return str(error)
    return "The import stopped with an error; nothing was imported. Details are in the log file."


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _change_signals(form: IntakeForm):
    for widget in form.findChildren(QLineEdit):
        yield widget.textChanged
    for widget in form.findChildren(QComboBox):
        yield widget.currentIndexChanged
    yield form.notes.textChanged
    yield form.los.valueChanged
    yield form.lines.itemChanged
    yield form.lines.model().rowsInserted
    yield form.lines.model().rowsRemoved
    yield form.attach.toggled
    yield form.received.dateTimeChanged


# ----- the main window's Intake menu ---------------------------------------------------------------------------
def install_intake_menu(window) -> None:
    """Intake > New request (Ctrl+N), Fax inbox (Ctrl+Shift+I), Import file (Ctrl+I) on the main window; disabled,
    with the reason as the tip, for roles that do not enter requests."""
    refusal = may_enter_request(window.viewer.role)
    menu = window.menuBar().addMenu("&Intake")
    window.intake_windows = []

    def open_window(then: Callable[[IntakeWindow], None] | None = None) -> IntakeWindow:
        existing = [w for w in window.intake_windows if w.isVisible()]
        intake_window = existing[0] if existing else IntakeWindow(window.store, window.viewer, window.settings, window)
        if not existing:
            window.intake_windows.append(intake_window)
            intake_window.finished.connect(lambda *_: window.refresh())
        intake_window.show()
        intake_window.raise_()
        intake_window.activateWindow()
        if then:
            then(intake_window)
        return intake_window

    actions = [
        ("&New request…", QKeySequence.StandardKey.New, "Type a request into the intake form",
         lambda: open_window(lambda w: w.clear_form())),
        ("Fax &inbox…", "Ctrl+Shift+I", "See the faxed and scanned requests waiting in the inbox",
         lambda: open_window(lambda w: w.inbox_list.setFocus())),
        ("&Import file…", "Ctrl+I", "Import a FHIR PAS bundle or a CSV batch",
         lambda: open_window(lambda w: w.import_prompt())),
    ]
    window.intake_actions = []
    for text, key, tip, slot in actions:
        action = QAction(text, window)
        action.setShortcut(QKeySequence(key))
        action.setStatusTip(refusal.reason if refusal else tip)
        action.setToolTip(refusal.reason if refusal else tip)
        action.setEnabled(refusal is None)
        action.triggered.connect(lambda checked=False, run=slot: run())
        window.addAction(action)
        menu.addAction(action)
        window.intake_actions.append(action)
    window.open_intake = open_window
