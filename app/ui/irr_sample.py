"""Inter-rater reliability ▸ Sample: draw the year's sample and record it for the auditors (issue 14, scope 1).

Preview (Alt+P) shows what the seed draws from the year's decided cases, nothing written; Record (Alt+R) keeps it,
after a confirmation naming the year and seed (Cancel is the default). Once a year's sample is recorded, the tab
shows it as recorded. The table lists per reviewer the decided cases and the sample size, per review type.
"""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.domain import irr_rules
from app.domain.roles import role_label

COLUMNS = ("Reviewer", "Role", "Decided", "Sample", "Review types (sampled of decided)")


class SampleTab(QWidget):
    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window_ = window
        self.sample: dict | None = None
        self.recorded = False
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        self.year.setValue(window.today.year)
        self.year.setAccessibleName("Year audited")
        self.seed = QLineEdit()
        self.seed.setValidator(QIntValidator(0, 999_999_999, self))
        self.seed.setPlaceholderText("random")
        self.seed.setAccessibleName("Seed of the draw (empty: a random one, recorded with the sample)")
        self.preview_button = QPushButton("&Preview")
        self.preview_button.clicked.connect(self.preview)
        self.record_button = QPushButton("&Record sample…")
        self.record_button.clicked.connect(self.record_prompt)
        refusal = irr_rules.may_run_program(window.viewer.role, "draw the inter-rater reliability sample")
        if refusal:
            self.record_button.setEnabled(False)
            self.record_button.setToolTip(refusal.reason)
        bar = QHBoxLayout()
        for text, widget in (("&Year", self.year), ("&Seed", self.seed)):
            label = QLabel(text)
            label.setBuddy(widget)
            bar.addWidget(label)
            bar.addWidget(widget)
        bar.addWidget(self.preview_button)
        bar.addWidget(self.record_button)
        bar.addStretch()
        self.status = QLabel("Preview the sample of a year, then record it for the auditors.")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Sample status")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Sample per reviewer")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    def _seed(self) -> int:
        from app.services.irr import new_seed

        text = self.seed.text().strip()
        if not text:
            seed = new_seed()
            self.seed.setText(str(seed))
            return seed
        return int(text)

    def load(self) -> None:
        """Show the year's recorded sample, if there is one."""
        year = self.year.value()

        def work(progress, cancelled):
            from app.store.irr_queries import annual_sample

            with self.window_.store.session() as session:
                sample = annual_sample(session, year)
                return None if sample is None else (sample.population, sample.drawn_by, sample.drawn_at)

        self.window_.run(work, self._loaded, "irr sample")

    def _loaded(self, found) -> None:
        if found is None:
            self.recorded = False
            self.status.setText(f"No {self.year.value()} sample is recorded yet: preview one, then record it.")
            self.show_sample(None)
            return
        population, by, at = found
        self.recorded = True
        self.seed.setText(str(population["seed"]))
        self.status.setText(f"The {population['year']} sample is recorded: seed {population['seed']}, drawn by {by} "
                            f"on {at.astimezone():%m/%d/%Y}; {population['total_cases']} cases for blind re-review.")
        self.show_sample(population)

    def preview(self) -> None:
        year, seed = self.year.value(), self._seed()

        def work(progress, cancelled):
            from app.services.irr import preview_sample

            with self.window_.store.session() as session:
                return preview_sample(session, year, seed)

        self.status.setText("Drawing…")
        self.window_.run(work, self._previewed, "irr preview")

    def _previewed(self, sample: dict) -> None:
        self.status.setText(f"Preview of {sample['year']} with seed {sample['seed']}: {sample['total_cases']} cases "
                            f"from {len(sample['reviewers'])} reviewers. Nothing is recorded yet.")
        self.show_sample(sample)

    def show_sample(self, sample: dict | None) -> None:
        self.sample = sample
        reviewers = sample["reviewers"] if sample else []
        self.table.setRowCount(len(reviewers))
        for r, reviewer in enumerate(reviewers):
            types = "; ".join(f"{s['label']} {s['sampled']} of {s['decided']}" for s in reviewer["strata"])
            for c, value in enumerate((reviewer["username"], role_label(reviewer["role"]), reviewer["decided"],
                                       reviewer["sample_size"], types)):
                item = QTableWidgetItem(str(value))
                if isinstance(value, int):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)

    def confirm_record(self, year: int, seed: int) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, "Record the sample",
                          f"Record the {year} inter-rater reliability sample drawn with seed {seed}? Its cases go to "
                          "the auditors for blind re-review, and a year has one sample.",
                          QMessageBox.StandardButton.Cancel, self)
        box.addButton("Record sample", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box

    def record_prompt(self) -> None:
        year, seed = self.year.value(), self._seed()
        box = self.confirm_record(year, seed)
        box.exec()
        if box.buttonRole(box.clickedButton()) == QMessageBox.ButtonRole.AcceptRole:
            self.record(year, seed)

    def record(self, year: int, seed: int) -> None:
        username = self.window_.viewer.username

        def work(progress, cancelled):
            from app.services.irr import draw_sample

            with self.window_.store.session() as session, session.begin():
                result = draw_sample(session, username, year=year, seed=seed)
            return result

        self.status.setText("Recording…")
        self.window_.run(work, lambda result: self.load(), "irr record", refresh=True)
