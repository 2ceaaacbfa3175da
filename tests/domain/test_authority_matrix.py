"""The authority matrix, exhaustively: every role x action x service category, and every decision situation.

The expectations are written here a second time, from ../shared/reference/roles-and-authority.md and issue 6 (and
the readings docs/workflow.md records), independently of app/domain/authority.py: a change to either that is not
made to both fails.
"""
from __future__ import annotations

import itertools
from datetime import date

import pytest

from app.domain import authority
from app.domain.roles import ROLES
from app.domain.vocabulary import SERVICE_CATEGORIES

ALL = set(ROLES)
NURSES = {"um-nurse", "nurse-supervisor"}
PHARMACY = {"pharmacy-technician", "clinical-pharmacist"}
PHYSICIANS = {"medical-director", "bh-clinical-director"}
CLINICAL = NURSES | PHARMACY | PHYSICIANS
CATEGORIES = list(SERVICE_CATEGORIES)
CRITERIA = [None, "criteria-met", "not-met", "incomplete", "no-criteria"]

EXPECTED_ROLES = {
    "view": ALL,
    "claim": CLINICAL | {"administrator"},
    "assign": {"nurse-supervisor", "administrator"},
    "pend": CLINICAL,
    "resume": CLINICAL | {"um-coordinator"},
    "refer": CLINICAL,
    "approve": CLINICAL,
    "partial": CLINICAL,
    "deny": CLINICAL,
    "withdraw": CLINICAL,
    "close-admin": NURSES | {"clinical-pharmacist"} | PHYSICIANS,
    "extend": NURSES | PHYSICIANS,
    "correct-received-date": {"nurse-supervisor"},
    "declare-involvement": ALL - {"auditor"},
    "notify": CLINICAL | {"um-coordinator"},
    "close": CLINICAL | {"um-coordinator"},
    "reopen": PHYSICIANS,
}
UNSCOPED = {"view", "declare-involvement", "assign", "correct-received-date"}


def works(role: str, category: str) -> bool:
    if role in PHARMACY:
        return category == "medication"
    if role == "bh-clinical-director":
        return category == "bh-sud"
    return True


def expected(role: str, action: str, category: str) -> bool:
    return role in EXPECTED_ROLES[action] and (action in UNSCOPED or works(role, category))


def expected_decision(role: str, action: str, category: str, basis: str, criteria: str | None,
                      under_21: bool) -> bool:
    if role not in CLINICAL or not works(role, category):
        return False
    if role in PHYSICIANS:
        return True
    if action in ("partial", "deny"):
        return basis == "benefit" and role in NURSES and not under_21
    if role in NURSES and category == "medication":
        return False
    return criteria == "criteria-met"


def _names_everyone(reason: str, who: tuple[str, ...]) -> bool:
    return all(ROLES[r] in reason for r in who)


def test_every_action_is_in_the_matrix():
    assert set(authority.ACTIONS) == set(EXPECTED_ROLES)


@pytest.mark.parametrize("action", list(EXPECTED_ROLES))
def test_role_action_category_matrix(action):
    wrong = []
    for role, category in itertools.product(ROLES, CATEGORIES):
        refusal = authority.may(role, action, category)
        allowed = expected(role, action, category)
        who = tuple(r for r in ROLES if expected(r, action, category))
        if (refusal is None) != allowed:
            wrong.append((role, category, refusal))
        elif refusal is not None and (refusal.who != who or not _names_everyone(refusal.reason, who)):
            wrong.append((role, category, "who", refusal))
    assert wrong == []


def test_allowed_actions_lists_what_the_matrix_allows():
    for role, category in itertools.product(ROLES, CATEGORIES):
        assert set(authority.allowed_actions(role, category)) == {
            a for a in EXPECTED_ROLES if expected(role, a, category)}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_decision_situation(role):
    """role x outcome x category x basis x criteria result x under 21: allowed exactly when the rules say."""
    wrong = []
    for action, category, basis, criteria, under_21 in itertools.product(
            ("approve", "partial", "deny"), CATEGORIES, ("medical-necessity", "benefit"), CRITERIA, (False, True)):
        refusal = authority.may_decide(role, action, category, basis=basis, criteria=criteria,
                                       member_under_21=under_21)
        allowed = expected_decision(role, action, category, basis, criteria, under_21)
        who = tuple(r for r in ROLES if expected_decision(r, action, category, basis, criteria, under_21))
        if (refusal is None) != allowed:
            wrong.append((action, category, basis, criteria, under_21, refusal))
        elif refusal is not None:
            if refusal.who != who or not refusal.reason or not _names_everyone(refusal.reason, who):
                wrong.append((action, category, basis, criteria, under_21, "who", refusal))
        involved = authority.may_decide(role, action, category, basis=basis, criteria=criteria,
                                        member_under_21=under_21, involved=True)
        if involved is None:
            wrong.append((action, category, basis, criteria, under_21, "involved but allowed"))
        elif allowed and "involved in this member's care" not in involved.reason:
            wrong.append((action, category, basis, criteria, under_21, "conflict not named", involved))
    assert wrong == []


def test_outcome_ids_and_action_words_are_the_same_decision():
    for outcome, action in (("approved", "approve"), ("partially-approved", "partial"), ("denied", "deny")):
        for role, category in itertools.product(ROLES, CATEGORIES):
            assert authority.may_decide(role, outcome, category, criteria="criteria-met") == \
                authority.may_decide(role, action, category, criteria="criteria-met")


# The reference's sentences, each checked over every situation (a second, rule-by-rule reading of the same table).
def _situations():
    return itertools.product(ROLES, ("approve", "partial", "deny"), CATEGORIES, ("medical-necessity", "benefit"),
                             CRITERIA, (False, True))


def _allowed(role, action, category, basis, criteria, under_21):
    return authority.may_decide(role, action, category, basis=basis, criteria=criteria,
                                member_under_21=under_21) is None


def test_only_a_physician_denies_or_modifies_for_medical_necessity():
    for role, action, category, basis, criteria, under_21 in _situations():
        if action != "approve" and basis == "medical-necessity" and _allowed(role, action, category, basis,
                                                                             criteria, under_21):
            assert role in PHYSICIANS
            assert role == "medical-director" or category == "bh-sud"


def test_the_bh_clinical_director_decides_bh_sud_services_only():
    for role, action, category, basis, criteria, under_21 in _situations():
        if role == "bh-clinical-director":
            assert _allowed(role, action, category, basis, criteria, under_21) == (category == "bh-sud")


def test_epsdt_every_denial_of_a_member_under_21_is_a_physicians():
    for role, action, category, basis, criteria, _ in _situations():
        if action != "approve" and _allowed(role, action, category, basis, criteria, True):
            assert role in PHYSICIANS
    refusal = authority.may_decide("um-nurse", "deny", "dme", basis="benefit", member_under_21=True)
    assert "under 21" in refusal.reason and "not a covered benefit" in refusal.reason


def test_nurses_decide_non_medical_necessity_coverage_for_adults():
    for role in NURSES:
        for category in CATEGORIES:
            assert _allowed(role, "deny", category, "benefit", None, False)
            assert _allowed(role, "partial", category, "benefit", "not-met", False)


def test_a_non_physician_approves_only_when_criteria_are_met():
    for role, action, category, basis, criteria, under_21 in _situations():
        if action == "approve" and role not in PHYSICIANS and _allowed(role, action, category, basis, criteria,
                                                                        under_21):
            assert criteria == "criteria-met"


def test_pharmacy_staff_approve_medication_tars_and_never_deny():
    for role in PHARMACY:
        for category, basis, criteria, under_21 in itertools.product(CATEGORIES, ("medical-necessity", "benefit"),
                                                                     CRITERIA, (False, True)):
            assert _allowed(role, "approve", category, basis, criteria, under_21) == (
                category == "medication" and criteria == "criteria-met")
            assert not _allowed(role, "deny", category, basis, criteria, under_21)
            assert not _allowed(role, "partial", category, basis, criteria, under_21)


def test_technician_refusal_escalates_to_a_clinical_pharmacist():
    refusal = authority.may_decide("pharmacy-technician", "approve", "medication", criteria="not-met")
    assert "Clinical pharmacist" in refusal.reason and refusal.who == ("medical-director",)


def test_coordinators_never_decide_and_auditors_only_read():
    for action, category in itertools.product(authority.ACTIONS, CATEGORIES):
        if action != "view":
            assert authority.may("auditor", action, category) is not None
    for _, action, category, basis, criteria, under_21 in _situations():
        assert not _allowed("um-coordinator", action, category, basis, criteria, under_21)
        assert not _allowed("auditor", action, category, basis, criteria, under_21)
        assert not _allowed("administrator", action, category, basis, criteria, under_21)
    assert "never decides" in authority.may_decide("um-coordinator", "approve", "dme").reason


def test_no_criteria_points_to_a_same_specialty_physician():
    refusal = authority.may_decide("um-nurse", "approve", "outpatient", criteria="no-criteria")
    assert "same or similar specialty" in refusal.reason and refusal.who == ("medical-director",)


def test_unknown_basis_criteria_or_outcome_is_an_error():
    with pytest.raises(ValueError):
        authority.may_decide("um-nurse", "approve", "dme", basis="cost")
    with pytest.raises(ValueError):
        authority.may_decide("um-nurse", "approve", "dme", criteria="probably")
    with pytest.raises(ValueError):
        authority.may_decide("um-nurse", "postpone", "dme")
    with pytest.raises(ValueError):
        authority.may("um-nurse", "delete", "dme")


# ----- referrals ------------------------------------------------------------------------------------------------
def expected_referral(role: str, category: str, target: str) -> bool:
    if not expected(role, "refer", category):
        return False
    if target == "pharmacist":
        return category == "medication" and role != "clinical-pharmacist"
    return role != "pharmacy-technician"


@pytest.mark.parametrize("target", ["physician", "pharmacist", "same-specialty"])
def test_referral_matrix(target):
    for role, category in itertools.product(ROLES, CATEGORIES):
        refusal = authority.may_refer(role, category, target)
        assert (refusal is None) == expected_referral(role, category, target), (role, category)
        if refusal:
            assert refusal.who == tuple(r for r in ROLES if expected_referral(r, category, target))


def test_technician_escalates_to_pharmacist_who_refers_to_physician():
    assert authority.may_refer("pharmacy-technician", "medication", "pharmacist") is None
    assert "escalates to a Clinical pharmacist" in authority.may_refer("pharmacy-technician", "medication",
                                                                       "physician").reason
    assert authority.may_refer("clinical-pharmacist", "medication", "physician") is None
    assert authority.may_refer("clinical-pharmacist", "medication", "pharmacist") is not None


# ----- claim, assign, holder, referral target -------------------------------------------------------------------
def test_claim_keeps_issue_3_behaviour_without_a_category():
    assert authority.may_claim("um-nurse", "received", None, "n") is None
    assert "does not review" in authority.may_claim("um-coordinator", "received", None, "c").reason
    assert "closed" in authority.may_claim("um-nurse", "closed", None, "n").reason
    assert "already hold" in authority.may_claim("um-nurse", "in-review", "n", "n").reason
    assert "held by x" in authority.may_claim("um-nurse", "in-review", "x", "n").reason


@pytest.mark.parametrize("referred_to", [None, "physician", "pharmacist", "same-specialty"])
def test_claim_matrix_by_category_and_referral(referred_to):
    targets = {None: None, "physician": PHYSICIANS, "same-specialty": PHYSICIANS,
               "pharmacist": {"clinical-pharmacist"} | PHYSICIANS}[referred_to]
    state = "referred" if referred_to else "in-review"
    for role, category in itertools.product(ROLES, CATEGORIES):
        allowed = expected(role, "claim", category) and (targets is None or role in targets)
        refusal = authority.may_claim(role, state, None, "me", category=category, referred_to=referred_to)
        assert (refusal is None) == allowed, (role, category, refusal)
        if refusal:
            assert refusal.who and all(ROLES[r] in refusal.reason or "claiming is for" in refusal.reason
                                       for r in refusal.who)


def test_assign_checks_the_assignee_works_the_category():
    assert authority.may_assign("nurse-supervisor", "in-review", "pharmacy-technician", category="medication") is None
    refusal = authority.may_assign("nurse-supervisor", "in-review", "pharmacy-technician", category="dme")
    assert refusal and "Medication" in refusal.reason
    assert authority.may_assign("um-nurse", "in-review", "um-nurse").reason.startswith("Only a nurse supervisor")
    assert authority.may_assign("nurse-supervisor", "closed", "um-nurse") is not None


@pytest.mark.parametrize("action", sorted(authority.HOLDER_ACTIONS))
def test_a_held_case_is_worked_by_its_holder(action):
    role = "medical-director"
    assert authority.may_act(role, action, "dme", username="dr.a", holder="dr.b") is not None
    assert "held by dr.b" in authority.may_act(role, action, "dme", username="dr.a", holder="dr.b").reason
    assert authority.may_act(role, action, "dme", username="dr.a", holder="dr.a") is None
    assert authority.may_act(role, action, "dme", username="dr.a", holder=None) is None


def test_a_case_referred_to_a_physician_is_decided_by_one():
    for action in ("approve", "pend", "refer", "withdraw"):
        refusal = authority.may_act("um-nurse", action, "dme", username="n", holder=None, state="referred",
                                    referred_to="physician")
        assert refusal is not None and refusal.who == ("medical-director",)
        assert authority.may_act("medical-director", action, "dme", username="d", holder=None, state="referred",
                                 referred_to="physician") is None
    assert authority.may_act("clinical-pharmacist", "approve", "medication", username="p", holder=None,
                             state="referred", referred_to="pharmacist") is None
    assert authority.may_act("pharmacy-technician", "approve", "medication", username="t", holder=None,
                             state="referred", referred_to="pharmacist") is not None
    # Extending is not bound to the referral: the referring nurse may still record a requested extension.
    assert authority.may_act("um-nurse", "extend", "dme", username="n", holder=None, state="referred",
                             referred_to="physician") is None


def test_extension_reopen_and_involvement_rules():
    for role, category in itertools.product(ROLES, CATEGORIES):
        assert (authority.may_extend(role, category, "member-request") is None) == expected(role, "extend", category)
        assert (authority.may_reopen(role, category, "appeal") is None) == expected(role, "reopen", category)
    with pytest.raises(ValueError):
        authority.may_extend("um-nurse", "dme", "software-decided")
    with pytest.raises(ValueError):
        authority.may_reopen("medical-director", "dme", "because")
    assert authority.may_declare_involvement("medical-director", for_someone_else=False) is None
    assert authority.may_declare_involvement("medical-director", for_someone_else=True) is not None
    assert authority.may_declare_involvement("nurse-supervisor", for_someone_else=True) is None
    assert authority.may_declare_involvement("auditor", for_someone_else=False) is not None


def test_under_21_is_counted_on_the_day_of_the_decision():
    born = date(2005, 11, 23)
    assert authority.member_under_21(born, date(2026, 11, 22))
    assert not authority.member_under_21(born, date(2026, 11, 23))
    assert authority.member_under_21(None, date(2026, 11, 23)), "an unknown birth date is read as under 21"
    assert authority.member_under_21(date(2008, 2, 29), date(2029, 2, 28))
    assert not authority.member_under_21(date(2008, 2, 29), date(2029, 3, 1))


def test_every_refusal_names_who_may():
    """Wherever someone may, a refusal names them (in the text and in `who`)."""
    for role, action, category in itertools.product(ROLES, authority.ACTIONS, CATEGORIES):
        refusal = authority.may(role, action, category)
        if refusal is not None:
            assert "Who may:" in refusal.reason or "Nobody may" in refusal.reason
