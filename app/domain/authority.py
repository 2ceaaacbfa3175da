"""Who may do what (../shared/reference/roles-and-authority.md). The service layer enforces it; the UI reflects it.

Pure Python, no database: the services pass in what the rules depend on (the actor's role, the case's service
category and holder, the member's age, the criteria result, whether the actor is recorded as involved in the
member's care). Every refusal is a `Refusal` whose reason says why and names who may do it (`who` lists those
roles, for a GUI tooltip); the names are worked out from the same rules, so they are right by construction.

The rules, in the reference's words and our readings (docs/workflow.md has the whole table):
* Only a physician may deny or modify (approve in part) a request for lack of medical necessity: a medical director,
  or the behavioral health clinical director for BH/SUD services (H&SC 1367.01(e); SB 1120: software never does).
* UM nurses and nurse supervisors approve when the criteria are met, and decide coverage questions that are not
  about medical necessity ("benefit" basis, e.g. not a covered benefit) -- except for a member under 21, where
  every denial, "not a covered benefit" too, is a physician's (EPSDT).
* A pharmacy technician approves a medication TAR only when the criteria are met, else escalates to a clinical
  pharmacist; a clinical pharmacist approves medication TARs and refers denials to a physician. Pharmacy staff do
  not decide coverage questions.
* No criteria, unmet or incomplete criteria: a non-physician may not approve; the case goes to a physician
  (no criteria: one of the same or similar specialty).
* Anyone recorded as involved in the member's care may not decide the case (conflict of interest).
* An extension is recorded by a nurse or a physician, with a reason of the allowed kinds.
* UM coordinators never decide (they enter requests, schedule peer-to-peer calls, mail letters); auditors only read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.case_states import REFERRAL_TARGETS, REOPEN_REASONS, is_open
from app.domain.roles import (
    CATEGORY_SCOPE, CLINICAL_ROLES, NURSE_ROLES, PHARMACY_ROLES, PHYSICIAN_ROLES, ROLES, SUPERVISOR_ROLES,
    is_supervisor, role_label, works_category,
)
from app.domain.vocabulary import SERVICE_CATEGORIES

CLAIMING_ROLES = frozenset(
    {"um-nurse", "nurse-supervisor", "pharmacy-technician", "clinical-pharmacist", "medical-director",
     "bh-clinical-director", "administrator"}
)
ALL_ROLES = frozenset(ROLES)

ACTIONS = {
    "view": "view a case",
    "claim": "claim a case",
    "assign": "assign or reassign a case",
    "pend": "pend a case for information",
    "resume": "record that the information asked for arrived",
    "refer": "refer a case",
    "approve": "approve a request",
    "partial": "approve a request in part (modify it)",
    "deny": "deny a request",
    "withdraw": "record that the request was withdrawn",
    "close-admin": "close a request administratively",
    "extend": "extend the decision clock",
    "correct-received-date": "correct a case's received date",
    "declare-involvement": "declare involvement in a member's care",
    "notify": "record a notification as sent",
    "close": "close a case",
    "reopen": "reopen a case with a peer-to-peer or appeal outcome",
}
DECISION_ACTIONS = ("approve", "partial", "deny")
OUTCOME_ACTIONS = {"approved": "approve", "partially-approved": "partial", "denied": "deny"}

BASES = {
    "medical-necessity": "Medical necessity",
    "benefit": "Coverage not relating to medical necessity (e.g. not a covered benefit)",
}
CRITERIA_RESULTS = {
    "criteria-met": "Criteria met",
    "not-met": "Criteria not met",
    "incomplete": "Criteria review incomplete",
    "no-criteria": "No criteria apply",
}
EXTENSION_REASONS = {
    "member-request": "The member asked for it",
    "provider-request": "The provider asked for it",
    "information-needed": "The plan needs information and the delay is in the member's interest",
}

# The role x action matrix, before the service-category scope and the decision rules.
ACTION_ROLES: dict[str, frozenset[str]] = {
    "view": ALL_ROLES,
    "claim": CLAIMING_ROLES,
    "assign": SUPERVISOR_ROLES,
    "pend": CLINICAL_ROLES,
    "resume": CLINICAL_ROLES | {"um-coordinator"},
    "refer": CLINICAL_ROLES,
    "approve": CLINICAL_ROLES,
    "partial": CLINICAL_ROLES,
    "deny": CLINICAL_ROLES,
    "withdraw": CLINICAL_ROLES,
    "close-admin": NURSE_ROLES | {"clinical-pharmacist"} | PHYSICIAN_ROLES,
    "extend": NURSE_ROLES | PHYSICIAN_ROLES,
    "correct-received-date": frozenset({"nurse-supervisor"}),
    "declare-involvement": ALL_ROLES - {"auditor"},
    "notify": CLINICAL_ROLES | {"um-coordinator"},
    "close": CLINICAL_ROLES | {"um-coordinator"},
    "reopen": PHYSICIAN_ROLES,
}
assert set(ACTION_ROLES) == set(ACTIONS)
# Actions limited to the service categories a role works (roles.CATEGORY_SCOPE). Viewing, declaring one's own
# involvement, assigning and correcting the received date are not (the last two are supervisors' acts).
UNSCOPED_ACTIONS = frozenset({"view", "declare-involvement", "assign", "correct-received-date"})
# Actions on a case that only its holder takes (anyone, when nobody holds it: the actor then holds it).
HOLDER_ACTIONS = frozenset({"pend", "refer", "approve", "partial", "deny", "withdraw", "close-admin", "extend"})
# While a case is referred, the referral's target decides it (and a physician always may).
REFERRAL_ROLES = {
    "physician": PHYSICIAN_ROLES,
    "same-specialty": PHYSICIAN_ROLES,
    "pharmacist": frozenset({"clinical-pharmacist"}) | PHYSICIAN_ROLES,
}
REFERRAL_BOUND_ACTIONS = frozenset({"pend", "refer", "approve", "partial", "deny", "withdraw", "close-admin"})


@dataclass(frozen=True)
class Refusal:
    reason: str
    who: tuple[str, ...] = ()  # role ids that may do it (empty: nobody in that situation, or a named holder)


# ----- wording ----------------------------------------------------------------------------------------------
def _a(label: str) -> str:
    """'a UM nurse', 'an Administrator' (by sound: 'UM' is read 'you-em')."""
    vowel = label[:1].lower() in "aeiou" and not label.startswith(("UM", "U.", "Us", "Un"))
    return ("an " if vowel else "a ") + label


def _A(label: str) -> str:
    """Sentence start: 'A UM nurse', 'An Auditor'."""
    text = _a(label)
    return text[0].upper() + text[1:]


def _names(roles) -> str:
    return ", ".join(ROLES[r] for r in sorted(roles))


def _either(roles) -> str:
    """'a Medical director or a Behavioral health clinical director' (in the order of ROLES)."""
    ordered = [r for r in ROLES if r in roles]
    labels = [_a(ROLES[r]) for r in ordered]
    if not labels:
        return "nobody"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _who_sentence(roles) -> str:
    return "Nobody may do that in this situation." if not roles else f"Who may: {_either(roles)}."


def _scope_text(role: str) -> str:
    return " and ".join(SERVICE_CATEGORIES.get(c, c) for c in sorted(CATEGORY_SCOPE[role]))


def _category_text(category: str | None) -> str:
    return SERVICE_CATEGORIES.get(category, category or "unknown")


# ----- the matrix -------------------------------------------------------------------------------------------
def _matrix_reason(role: str, action: str, category: str | None) -> str | None:
    if action not in ACTIONS:
        raise ValueError(f"unknown action '{action}'; one of: {', '.join(ACTIONS)}")
    if role not in ACTION_ROLES[action]:
        if role == "auditor":
            return "An Auditor only reads cases."
        if role == "um-coordinator" and action in DECISION_ACTIONS:
            return "A UM coordinator never decides a request."
        return f"{_A(role_label(role))} may not {ACTIONS[action]}."
    if category is not None and action not in UNSCOPED_ACTIONS and not works_category(role, category):
        return (f"{_A(role_label(role))} works {_scope_text(role)} cases only; this case's category is "
                f"{_category_text(category)}.")
    return None


def may(role: str, action: str, category: str | None = None) -> Refusal | None:
    """The role x action x service-category matrix. Decisions also depend on the basis, the criteria result, the
    member's age and involvement: `may_decide` checks those."""
    reason = _matrix_reason(role, action, category)
    if reason is None:
        return None
    who = tuple(r for r in ROLES if _matrix_reason(r, action, category) is None)
    return Refusal(f"{reason} {_who_sentence(who)}", who)


def allowed_actions(role: str, category: str | None = None) -> tuple[str, ...]:
    """The actions the matrix allows `role` on a case of `category` (for enabling a GUI's actions)."""
    return tuple(action for action in ACTIONS if _matrix_reason(role, action, category) is None)


# ----- case-specific checks ----------------------------------------------------------------------------------
def may_act(role: str, action: str, category: str | None, *, username: str | None = None,
            holder: str | None = None, state: str | None = None, referred_to: str | None = None) -> Refusal | None:
    """The matrix, then what the case itself says: who holds it, and to whom it is referred."""
    refusal = may(role, action, category)
    if refusal:
        return refusal
    if action in HOLDER_ACTIONS and holder is not None and holder != username:
        return Refusal(f"The case is held by {holder}: only they may {ACTIONS[action]} on it; a Nurse lead / "
                       "supervisor or an Administrator may reassign it.", ("nurse-supervisor", "administrator"))
    if state == "referred" and referred_to in REFERRAL_ROLES and action in REFERRAL_BOUND_ACTIONS:
        targets = REFERRAL_ROLES[referred_to]
        if role not in targets:
            who = tuple(r for r in ROLES if r in targets and _matrix_reason(r, action, category) is None)
            return Refusal(f"The case is referred to {_a(REFERRAL_TARGETS[referred_to].lower())}, who takes it "
                           f"from here. {_who_sentence(who)}", who)
    return None


def may_claim(role: str, state: str, assignee: str | None, username: str, *, category: str | None = None,
              referred_to: str | None = None) -> Refusal | None:
    """A reviewer may take an open case that nobody holds; a case someone holds is reassigned by a supervisor.
    With `category`, pharmacy staff claim medication TARs and the BH clinical director BH/SUD cases; a case referred
    to a physician (or pharmacist) is claimed by one."""
    if role not in CLAIMING_ROLES:
        return Refusal(f"{_A(role_label(role))} does not review cases; claiming is for: {_names(CLAIMING_ROLES)}.",
                       tuple(r for r in ROLES if r in CLAIMING_ROLES))
    if not is_open(state):
        return Refusal("The case is closed; a closed case cannot be claimed.")
    if assignee == username:
        return Refusal("You already hold this case.")
    if assignee is not None:
        return Refusal(f"The case is held by {assignee}; a nurse supervisor or administrator may reassign it.",
                       ("nurse-supervisor", "administrator"))
    if category is not None and not works_category(role, category):
        refusal = may(role, "claim", category)
        return refusal
    if state == "referred" and referred_to in REFERRAL_ROLES and role not in REFERRAL_ROLES[referred_to]:
        who = tuple(r for r in ROLES if r in REFERRAL_ROLES[referred_to] and r in CLAIMING_ROLES
                    and (category is None or works_category(r, category)))
        return Refusal(f"The case is referred to {_a(REFERRAL_TARGETS[referred_to].lower())}. "
                       f"{_who_sentence(who)}", who)
    return None


def may_assign(role: str, state: str, assignee_role: str, *, category: str | None = None) -> Refusal | None:
    """Assigning a case to someone else is a supervisor's act (roles-and-authority.md: nurse lead / supervisor)."""
    if not is_supervisor(role):
        return Refusal("Only a nurse supervisor or an administrator may assign a case to someone else.",
                       tuple(r for r in ROLES if r in SUPERVISOR_ROLES))
    if not is_open(state):
        return Refusal("The case is closed; a closed case cannot be assigned.")
    if assignee_role not in CLAIMING_ROLES:
        return Refusal(f"{_A(role_label(assignee_role))} does not review cases; assign to: "
                       f"{_names(CLAIMING_ROLES)}.", tuple(r for r in ROLES if r in CLAIMING_ROLES))
    if category is not None and not works_category(assignee_role, category):
        who = tuple(r for r in ROLES if r in CLAIMING_ROLES and works_category(r, category))
        return Refusal(f"{_A(role_label(assignee_role))} works {_scope_text(assignee_role)} cases "
                       f"only; assign a case of category {_category_text(category)} to {_either(who)}.", who)
    return None


# ----- decisions --------------------------------------------------------------------------------------------
def member_under_21(birth_date: date | None, on: date) -> bool:
    """EPSDT applies to members under 21 on the day of the decision. An unknown birth date counts as under 21
    (the stricter reading: a physician decides any denial)."""
    if birth_date is None:
        return True
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return age < 21


def _escalation(role: str) -> str:
    return "a Clinical pharmacist" if role == "pharmacy-technician" else "a physician"


def _decision_reason(role: str, action: str, category: str, basis: str, criteria: str | None,
                     under_21: bool) -> str | None:
    reason = _matrix_reason(role, action, category)
    if reason:
        return reason
    if role in PHYSICIAN_ROLES:
        return None
    if action in ("partial", "deny"):
        verb = "deny" if action == "deny" else "modify (approve in part)"
        if basis == "medical-necessity":
            return (f"Only a physician may {verb} a request for lack of medical necessity (H&SC 1367.01(e)); "
                    f"refer the case to {_escalation(role)}.")
        if role in PHARMACY_ROLES:
            return (f"{_A(role_label(role))} does not decide coverage questions that are not about "
                    "medical necessity.")
        if under_21:
            return ("The member is under 21 (EPSDT): every denial or modification, also 'not a covered benefit', "
                    "is a physician's.")
        return None
    if role in NURSE_ROLES and category == "medication":
        return "Medication TARs are approved by pharmacy staff or a physician."
    if criteria == "criteria-met":
        return None
    if criteria is None:
        return (f"{_A(role_label(role))} approves only when the criteria are met: record the criteria "
                f"result, or refer the case to {_escalation(role)}.")
    if criteria == "not-met":
        return f"The criteria are not met: refer the case to {_escalation(role)}."
    if criteria == "incomplete":
        return (f"The criteria review is incomplete: pend the case for the missing information, or refer it to "
                f"{_escalation(role)}.")
    return (f"No criteria apply: refer the case to {_escalation(role)}"
            + (" (a reviewer of the same or similar specialty)." if role != "pharmacy-technician" else "."))


def decision_action(outcome: str) -> str:
    """'approve' | 'partial' | 'deny' from an outcome id (approved, partially-approved, denied) or an action."""
    if outcome in DECISION_ACTIONS:
        return outcome
    if outcome in OUTCOME_ACTIONS:
        return OUTCOME_ACTIONS[outcome]
    raise ValueError(f"outcome '{outcome}' is not one of: {', '.join(OUTCOME_ACTIONS)}")


def may_decide(role: str, outcome: str, category: str, *, basis: str = "medical-necessity",
               criteria: str | None = None, member_under_21: bool = False, involved: bool = False) -> Refusal | None:
    """May `role` approve, modify or deny (`outcome`) a request of `category` on `basis`?

    `criteria`: the criteria result for the request ('criteria-met', 'not-met', 'incomplete', 'no-criteria', or
    None when unknown). `member_under_21`: EPSDT. `involved`: the actor is recorded as involved in the member's care.
    """
    action = decision_action(outcome)
    if basis not in BASES:
        raise ValueError(f"basis '{basis}' is not one of: {', '.join(BASES)}")
    if criteria is not None and criteria not in CRITERIA_RESULTS:
        raise ValueError(f"criteria result '{criteria}' is not one of: {', '.join(CRITERIA_RESULTS)}")
    reason = _decision_reason(role, action, category, basis, criteria, member_under_21)
    who = tuple(r for r in ROLES
                if _decision_reason(r, action, category, basis, criteria, member_under_21) is None)
    if reason:
        return Refusal(f"{reason} {_who_sentence(who)}", who)
    if involved:
        return Refusal("You are recorded as involved in this member's care, so you may not decide this case "
                       f"(conflict of interest). Another reviewer may: {_either(who)}.", who)
    return None


# ----- the other actions with rules of their own -------------------------------------------------------------
def may_refer(role: str, category: str, target: str) -> Refusal | None:
    """Referral targets: a clinical pharmacist (medication TARs; a pharmacy technician's escalation), a physician
    (a clinical pharmacist's or nurse's referral), a reviewer of the same or similar specialty (no criteria apply)."""
    if target not in REFERRAL_TARGETS:
        raise ValueError(f"referral target '{target}' is not one of: {', '.join(REFERRAL_TARGETS)}")

    def reason(r: str) -> str | None:
        base = _matrix_reason(r, "refer", category)
        if base:
            return base
        if target == "pharmacist":
            if category != "medication":
                return "A referral to a Clinical pharmacist is for medication TARs."
            if r == "clinical-pharmacist":
                return "A Clinical pharmacist refers to a physician, not to another pharmacist."
        elif r == "pharmacy-technician":
            return "A Pharmacy technician escalates to a Clinical pharmacist, who refers to a physician."
        return None

    why = reason(role)
    if why is None:
        return None
    who = tuple(r for r in ROLES if reason(r) is None)
    return Refusal(f"{why} {_who_sentence(who)}", who)


def may_extend(role: str, category: str, reason: str) -> Refusal | None:
    """An extension is recorded by a nurse or a physician (never by the software on its own), for a reason of the
    allowed kinds (42 CFR 438.210(d)(1)(ii); H&SC 1367.01(h)(5)). Whether the clocks allow it is the clock engine's."""
    if reason not in EXTENSION_REASONS:
        raise ValueError(f"extension reason '{reason}' is not one of: {', '.join(EXTENSION_REASONS)}")
    return may(role, "extend", category)


def may_reopen(role: str, category: str, reason: str) -> Refusal | None:
    if reason not in REOPEN_REASONS:
        raise ValueError(f"reopen reason '{reason}' is not one of: {', '.join(REOPEN_REASONS)}")
    return may(role, "reopen", category)


def may_declare_involvement(role: str, *, for_someone_else: bool) -> Refusal | None:
    """Anyone but an auditor (who only reads) may declare their own involvement in a member's care; recording
    someone else's is a supervisor's."""
    refusal = may(role, "declare-involvement")
    if refusal or not for_someone_else or is_supervisor(role):
        return refusal
    who = tuple(r for r in ROLES if r in SUPERVISOR_ROLES)
    return Refusal("You may declare only your own involvement; recording someone else's is for "
                   f"{_either(who)}.", who)


# ----- appeals (issue 13) ------------------------------------------------------------------------------------
# Any UM staff member may log an appeal; routing it, and its tasks, are the coordinators' and supervisors' work;
# a physician decides it (42 CFR 438.406(b)(2); the "Independence"). Not scoped by service category: the
# category matters for who may decide, which `may_review_appeal` checks.
APPEAL_ACTIONS = {
    "file-appeal": "log an appeal",
    "route-appeal": "route an appeal to a reviewer",
    "deny-expedited-appeal": "move an expedited appeal to the standard track",
    "extend-appeal": "extend an appeal's clock",
    "decide-appeal": "decide an appeal",
    "accept-late-appeal": "accept a late appeal for good cause",
    "dismiss-appeal": "dismiss an appeal",
    "appeal-task": "complete an appeal task",
}
_APPEAL_STAFF = frozenset({"um-coordinator"}) | SUPERVISOR_ROLES
APPEAL_ACTION_ROLES: dict[str, frozenset[str]] = {
    "file-appeal": ALL_ROLES - {"auditor"},
    "route-appeal": _APPEAL_STAFF | PHYSICIAN_ROLES,  # a physician routes an appeal only to themself
    "deny-expedited-appeal": NURSE_ROLES | PHYSICIAN_ROLES,
    "extend-appeal": NURSE_ROLES | PHYSICIAN_ROLES | {"um-coordinator"},
    "decide-appeal": PHYSICIAN_ROLES,
    "accept-late-appeal": SUPERVISOR_ROLES,
    "dismiss-appeal": SUPERVISOR_ROLES,
    "appeal-task": _APPEAL_STAFF | {"um-nurse"},
}
assert set(APPEAL_ACTION_ROLES) == set(APPEAL_ACTIONS)


def may_appeal(role: str, action: str) -> Refusal | None:
    """The role x appeal-action matrix (APPEAL_ACTION_ROLES)."""
    if action not in APPEAL_ACTIONS:
        raise ValueError(f"unknown appeal action '{action}'; one of: {', '.join(APPEAL_ACTIONS)}")
    if role in APPEAL_ACTION_ROLES[action]:
        return None
    who = tuple(r for r in ROLES if r in APPEAL_ACTION_ROLES[action])
    lead = "An Auditor only reads cases." if role == "auditor" else (
        f"{_A(role_label(role))} may not {APPEAL_ACTIONS[action]}.")
    return Refusal(f"{lead} {_who_sentence(who)}", who)


def _review_reason(role: str, category: str, *, name: str | None, made_it: bool, boss: str | None,
                   specialty: str | None, wanted_specialty: str | None, similar: bool, involved: bool) -> str | None:
    """Why `role` (the user `name`; None: the actor, spoken to as "you") may not decide this appeal, or None."""
    subject = "You" if name is None else name
    whose = "Your" if name is None else f"{name}'s"
    if role not in PHYSICIAN_ROLES:
        return (f"{_A(role_label(role))} may not decide an appeal: an appeal is decided by a physician who took no "
                "part in the determination (42 CFR 438.406(b)(2)).")
    if not works_category(role, category):
        return (f"{_A(role_label(role))} works {_scope_text(role)} cases only; this case's category is "
                f"{_category_text(category)}.")
    if made_it:
        return (f"{subject} made the determination under appeal; an appeal is decided by a physician who took no "
                "part in it (42 CFR 438.406(b)(2)(i)).")
    if boss is not None:
        return (f"{subject} {'report' if name is None else 'reports'} to {boss}, who made the determination under "
                "appeal; a subordinate of the first decider may not decide the appeal (42 CFR 438.406(b)(2)(i)).")
    if not wanted_specialty:
        return "The appeal names no specialty to match; record the specialty that manages the member's condition."
    if not specialty:
        return (f"{whose} specialty is not recorded; an appeal is decided by a physician of the same or a similar "
                f"specialty as {wanted_specialty}.")
    if not similar:
        return (f"{whose} specialty, {specialty}, is not the same as or similar to {wanted_specialty}, the specialty "
                "this appeal needs (42 CFR 438.406(b)(2)(iii)).")
    if involved:
        return (f"{subject} {'are' if name is None else 'is'} recorded as involved in this member's care (conflict "
                "of interest).")
    return None


def may_review_appeal(role: str, category: str, *, username: str, deciders: frozenset[str] | set[str],
                      reports_to: tuple[str, ...] = (), specialty: str | None = None,
                      wanted_specialty: str | None = None, similar: bool = False, involved: bool = False,
                      as_actor: bool = True) -> Refusal | None:
    """May `username` (role `role`, specialty `specialty`) decide an appeal of a `category` case?

    The issue's "Independence" and 42 CFR 438.406(b)(2): a physician (for BH/SUD services also the behavioral
    health clinical director) who neither made the determination under appeal (`deciders`: everyone who recorded
    a determination of the case up to it) nor is a subordinate of whoever did (`reports_to`: the user's
    supervisors, nearest first), of the same or a similar specialty (`similar`, worked out by the caller from the
    plan's groups: app.domain.appeals.similar_specialty), and not involved in the member's care. `as_actor`: the
    refusal speaks to the user ("You made ..."), else names them (a coordinator routing the appeal)."""
    deciders = frozenset(deciders)
    reason = _review_reason(role, category, name=None if as_actor else username, made_it=username in deciders,
                            boss=next((up for up in reports_to if up in deciders), None), specialty=specialty,
                            wanted_specialty=wanted_specialty, similar=similar, involved=involved)
    if reason is None:
        return None
    who = tuple(r for r in ROLES if r in PHYSICIAN_ROLES and works_category(r, category))
    return Refusal(f"{reason} Who may: an independent {' or '.join(ROLES[r] for r in who)} of the same or a "
                   "similar specialty who took no part in the determination.", who)
