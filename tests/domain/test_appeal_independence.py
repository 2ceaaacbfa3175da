"""Who may decide an appeal (app.domain.authority.may_review_appeal; 42 CFR 438.406(b)(2)) for every role, and the
other appeal rules that need no store: who may do each appeal action, the representative's authorization, the
expedited track, similar specialties and the lines of a partial overturn."""
from __future__ import annotations

import pytest

from app.domain import appeals
from app.domain.authority import APPEAL_ACTION_ROLES, APPEAL_ACTIONS, may_appeal, may_review_appeal
from app.domain.roles import PHYSICIAN_ROLES, ROLES

FIRST = frozenset({"dr.morales"})
GROUPS = [["Internal Medicine", "Family Medicine"], ["Orthopaedic Surgery", "Physical Medicine and Rehabilitation"]]


def review(role, *, category="outpatient", username="dr.ito", deciders=FIRST, reports_to=("dr.shah",),
           specialty="Orthopaedic Surgery", wanted="Orthopaedic Surgery", involved=False, as_actor=True):
    similar = appeals.similar_specialty(wanted, specialty, GROUPS)
    return may_review_appeal(role, category, username=username, deciders=deciders, reports_to=reports_to,
                             specialty=specialty, wanted_specialty=wanted, similar=similar, involved=involved,
                             as_actor=as_actor)


@pytest.mark.parametrize("role", list(ROLES))
def test_only_physicians_decide_appeals(role):
    refusal = review(role)
    if role == "medical-director":
        assert refusal is None
    elif role == "bh-clinical-director":  # a physician, for BH/SUD services only
        assert "works Behavioral health" in refusal.reason
        assert review(role, category="bh-sud") is None
    else:
        assert refusal is not None and "may not decide an appeal" in refusal.reason
        assert "42 CFR 438.406(b)(2)" in refusal.reason
        assert set(refusal.who) == {"medical-director"} and "Who may: an independent Medical director" in \
            refusal.reason


@pytest.mark.parametrize("role", sorted(PHYSICIAN_ROLES))
def test_the_first_decider_never_decides_the_appeal(role):
    refusal = review(role, category="bh-sud", username="dr.morales")
    assert refusal.reason.startswith("You made the determination under appeal")
    named = review(role, category="bh-sud", username="dr.morales", as_actor=False)
    assert named.reason.startswith("dr.morales made the determination under appeal")


@pytest.mark.parametrize("chain", [("dr.morales",), ("dr.ortiz", "dr.morales", "dr.shah")])
def test_a_subordinate_of_the_first_decider_never_decides_it(chain):
    refusal = review("medical-director", reports_to=chain)
    assert refusal.reason.startswith("You report to dr.morales, who made the determination under appeal")
    assert review("medical-director", reports_to=chain, as_actor=False).reason.startswith(
        "dr.ito reports to dr.morales")


def test_the_first_deciders_supervisor_may_decide_it():
    assert review("medical-director", username="dr.shah", reports_to=(), specialty="Orthopaedic Surgery") is None


def test_every_earlier_decider_counts():
    refusal = review("medical-director", deciders=frozenset({"dr.morales", "dr.ito"}))
    assert "made the determination under appeal" in refusal.reason


@pytest.mark.parametrize("specialty,wanted,ok", [
    ("Orthopaedic Surgery", "Orthopaedic Surgery", True),
    ("orthopaedic surgery ", "Orthopaedic Surgery", True),  # the same, whatever the case and spaces
    ("Physical Medicine and Rehabilitation", "Orthopaedic Surgery", True),  # similar (the plan's groups)
    ("Internal Medicine", "Orthopaedic Surgery", False),
    (None, "Orthopaedic Surgery", False),
    ("Orthopaedic Surgery", None, False),
])
def test_the_reviewer_matches_the_specialty(specialty, wanted, ok):
    refusal = review("medical-director", specialty=specialty, wanted=wanted)
    assert (refusal is None) is ok
    if not ok:
        assert "specialty" in refusal.reason


def test_an_involved_physician_is_refused_for_conflict_of_interest():
    assert "involved in this member's care" in review("medical-director", involved=True).reason


@pytest.mark.parametrize("action", list(APPEAL_ACTIONS))
@pytest.mark.parametrize("role", list(ROLES))
def test_the_appeal_action_matrix_names_who_may(action, role):
    refusal = may_appeal(role, action)
    if role in APPEAL_ACTION_ROLES[action]:
        assert refusal is None
    else:
        assert refusal is not None and "Who may:" in refusal.reason and role not in refusal.who
        assert set(refusal.who) == set(APPEAL_ACTION_ROLES[action])


def test_anyone_but_an_auditor_logs_an_appeal_and_only_physicians_decide():
    assert {r for r in ROLES if may_appeal(r, "file-appeal") is None} == set(ROLES) - {"auditor"}
    assert {r for r in ROLES if may_appeal(r, "decide-appeal") is None} == set(PHYSICIAN_ROLES)


def test_a_representative_needs_the_authorization_on_file():
    assert "written authorization" in appeals.representative_refusal("representative", None)
    assert "written authorization" in appeals.representative_refusal("representative", "  ")
    assert appeals.representative_refusal("representative", "AOR form 11/20") is None
    assert appeals.representative_refusal("member", None) is None


def test_a_providers_expedited_request_is_granted_a_members_may_be_denied():
    assert appeals.expedited_requested_by("provider", True) == "provider"
    assert appeals.expedited_requested_by("representative", True) == "member"
    assert appeals.expedited_requested_by("member", False) is None
    assert "438.410(a)" in appeals.expedited_denial_refusal(True, "provider")
    assert appeals.expedited_denial_refusal(True, "member") is None
    assert "already on the standard track" in appeals.expedited_denial_refusal(False, None)


APPEALED = {1: (6, 3), 2: (4, 0)}  # line -> (requested, approved by the appealed determination)


@pytest.mark.parametrize("result,approve,outcome,units", [
    ("upheld", None, None, None),
    ("overturned", None, "approved", {1: 6, 2: 4}),
    ("overturned", {1: 6, 2: 4}, "approved", {1: 6, 2: 4}),
    ("partially-overturned", {1: 5}, "partially-approved", {1: 5, 2: 0}),
    ("partially-overturned", {2: 4}, "partially-approved", {1: 3, 2: 4}),
])
def test_resolution_lines(result, approve, outcome, units):
    resolution = appeals.resolution_lines(result, APPEALED, approve)
    assert (resolution is None and outcome is None) or (resolution.outcome, resolution.units) == (outcome, units)


@pytest.mark.parametrize("result,approve,message", [
    ("upheld", {1: 5}, "changes no units"),
    ("overturned", {1: 5}, "approves every unit"),
    ("partially-overturned", None, "says how many units"),
    ("partially-overturned", {1: 2}, "approve 3 to 6"),  # never worse than the appealed determination
    ("partially-overturned", {1: 7}, "approve 3 to 6"),
    ("partially-overturned", {3: 1}, "no line 3"),
    ("partially-overturned", {1: 6, 2: 4}, "that is an overturn"),
    ("partially-overturned", {1: 3}, "that is an upheld appeal"),
])
def test_resolution_lines_refused(result, approve, message):
    with pytest.raises(ValueError, match=message):
        appeals.resolution_lines(result, APPEALED, approve)


def test_the_timeline_says_what_happened_in_words():
    text = appeals.appeal_event_text("appeal-filed", {"filed_by": "provider", "channel": "portal", "expedited": True,
                                                      "timely": False, "days_late": 3, "reviewer": "dr.ito",
                                                      "aid_paid_pending": {"applies": True}})
    assert text == ("Appeal filed (expedited) by a provider, for the member, online; LATE by 3 day(s); "
                    "the service continues during the appeal (aid paid pending); reviewer dr.ito")
    assert appeals.appeal_event_text("appeal-decided", {"result": "partially-overturned", "reason": "More visits."}) \
        == "Appeal partially overturned: More visits."
