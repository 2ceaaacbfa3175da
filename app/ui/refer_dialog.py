"""The Refer dialog (issue 6, scope 5): a summary, a question, and the target role or specialty.

Path of the action: Case > Refer… (Ctrl+R) in the case workspace (`app.ui.case_actions`) opens this dialog; on
Refer, the workspace calls `app.services.cases.refer_case` off the GUI thread, which checks authority and appends
the `referred` event. Targets the user's role may not refer to (`app.domain.authority.may_refer`: a pharmacy
technician escalates to a clinical pharmacist; a pharmacist refers to a physician) are disabled with the reason.
The criteria result from the case's checklist goes with the referral, so the reviewer reads it first.
"""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from app.domain import authority
from app.domain.case_states import REFERRAL_TARGETS
from app.domain.roles import works_category
from app.store.case_workspace import WorkspaceFacts
from app.ui.action_forms import ActionForm, Field
from app.ui.referral_panel import criteria_words

ANYONE = ""


class ReferDialog(ActionForm):
    def __init__(self, facts: WorkspaceFacts, role: str, reviewers: list[tuple[str, str, str]],
                 parent: QWidget | None = None):
        """`reviewers`: (username, label, role) of the users a referral may go to directly."""
        self.facts = facts
        self.reviewers = reviewers
        refusals = {target: authority.may_refer(role, facts.category, target) for target in REFERRAL_TARGETS}
        disabled = {target: refusal.reason for target, refusal in refusals.items() if refusal}
        default = "pharmacist" if role == "pharmacy-technician" else \
            "same-specialty" if facts.criteria.result == "no-criteria" else "physician"
        fields = [
            Field("to", "Refer &to", "choice", choices=tuple(REFERRAL_TARGETS.items()), disabled=disabled,
                  default=default),
            Field("specialty", "S&pecialty", placeholder="e.g. Orthopaedic Surgery",
                  default=facts.requesting_specialty or "",
                  help="For a same-specialty reviewer: the specialty of the service (the requester's is filled in)."),
            Field("to_user", "&Give it to", "choice", choices=((ANYONE, "Anyone who takes the referral (queue)"),)),
            Field("summary", "&Summary", "text", required=True,
                  placeholder="What was asked, the member's condition, what the records show, which criteria are "
                              "not met and why"),
            Field("question", "&Question", "text", placeholder="What should the reviewer answer?"),
        ]
        super().__init__(f"Refer TAR {facts.tar}",
                         f"Refer TAR {facts.tar} ({facts.member_name}). The reviewer reads the criteria result, "
                         f"your summary and your question first.\nCriteria: {criteria_words(facts.criteria)}",
                         fields, "&Refer", parent)
        self.target_box: QComboBox = self.widgets["to"]
        self.specialty_edit: QLineEdit = self.widgets["specialty"]
        self.user_box: QComboBox = self.widgets["to_user"]
        self.target_box.currentIndexChanged.connect(self._target_changed)
        self._target_changed()

    def _target_changed(self) -> None:
        target = self.target_box.currentData()
        self.specialty_edit.setEnabled(target == "same-specialty")
        roles = authority.REFERRAL_ROLES.get(target, frozenset())
        current = self.user_box.currentData()
        self.user_box.blockSignals(True)
        self.user_box.clear()
        self.user_box.addItem("Anyone who takes the referral (queue)", ANYONE)
        for username, label, role in self.reviewers:
            if role in roles and works_category(role, self.facts.category) \
                    and (target != "pharmacist" or role == "clinical-pharmacist"):
                self.user_box.addItem(label, username)
        found = self.user_box.findData(current)
        self.user_box.setCurrentIndex(max(found, 0))
        self.user_box.blockSignals(False)
        self.check()

    def check(self) -> list[str]:
        needed = super().check()
        if hasattr(self, "specialty_edit") and self.target_box.currentData() == "same-specialty" \
                and not self.specialty_edit.text().strip():
            needed.append("Specialty (for a same-specialty reviewer)")
            self.ok_button.setEnabled(False)
            self.missing.setText("Still needed: " + "; ".join(needed))
            self.missing.setAccessibleName(self.missing.text())
        return needed

    def request(self) -> dict:
        """The keyword arguments of `refer_case` from what the user entered."""
        values = self.values()
        return {"to": values["to"], "summary": values["summary"], "question": values["question"],
                "specialty": values["specialty"] if values["to"] == "same-specialty" else None,
                "to_user": values["to_user"] or None, "criteria_result": self.facts.criteria.result}
