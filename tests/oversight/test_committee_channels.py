"""The committee's Overturns section reads the peer-to-peer calls and the appeals as their services record them
(upheld ones included), on encrypted SQLite and PostgreSQL: exact figures per channel, kind of call and appeal track,
the overturn rate over what was decided on the merits, the period and the case filters (issue 14, scope 4)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.domain.committee import Filters
from app.domain.plantime import PLAN_TZ
from app.services import appeals, p2p
from app.services import cases as svc
from app.store.committee import build
from app.store.models import User
from tests.appeals.conftest import Denials, do
from tests.workflow.conftest import CaseMaker, workflow_store  # noqa: F401 - fixtures

UTC = timezone.utc
NOTE = "Discussed the imaging and the therapy notes."


def today():
    return datetime.now(UTC).astimezone(PLAN_TZ).date()


def free(store, username: str = "dr.morales") -> list[str]:
    with store.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        return [s.id for s in p2p.reviewer_free_slots(session, [user], today(), today() + timedelta(days=10))[username]]


def denied_now(store, make, **kwargs) -> str:
    tar = make(**kwargs)
    do(store, svc.claim_case, tar, "dr.morales")
    do(store, svc.decide_case, tar, "dr.morales", outcome="deny", basis="medical-necessity",
       rationale="Conservative therapy not tried.", member_reason="The records do not show therapy first.")
    return tar


def call(store, tar: str, slot: str, result: str | None, **kwargs) -> None:
    """Book the call in `slot`; with a result, hold it now."""
    do(store, p2p.book_call, tar, "coord.jones", slot)
    if result is not None:
        do(store, p2p.record_outcome, tar, "dr.morales", result=result, note=NOTE, **kwargs)


@pytest.fixture
def channels(workflow_store):
    """Peer-to-peer calls and appeals through their services. P2P (all today, by dr.morales): upheld, overturned,
    modified, one booked not yet held, one cancelled, one before the determination (potential denial, upheld) and a
    Medicare denial overturned. Appeals (on denials of 20 days ago, by dr.ito): upheld, overturned, partially
    overturned, one in review, one dismissed, and an expedited one overturned."""
    store = workflow_store
    make = CaseMaker(store)
    slots = iter(free(store))
    for result in ("upheld", "overturned"):
        call(store, denied_now(store, make), next(slots), result)
    call(store, denied_now(store, make), next(slots), "modified", lines={1: 3},
         member_reason="We approved 3 of the 6 therapy visits.")
    call(store, denied_now(store, make), next(slots), None)  # booked, not yet held
    cancelled = denied_now(store, make)
    do(store, p2p.request_p2p, cancelled, "coord.jones")
    do(store, p2p.cancel_request, cancelled, "coord.jones", reason="The practitioner withdrew the request")
    potential = make()
    do(store, svc.claim_case, potential, "nurse.nguyen")
    do(store, svc.refer_case, potential, "nurse.nguyen", to="physician", summary="Does not meet the criteria",
       to_user="dr.morales")
    call(store, potential, next(slots), "upheld")
    call(store, denied_now(store, make, lob="medicare"), next(slots), "overturned")

    denials = Denials(store)
    for result, outcome in (("upheld", "deny"), ("overturned", "deny"), ("partial", "partial")):
        tar = denials(outcome=outcome)
        do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=datetime.now(UTC),
           note="The member says the pain is worse.")
        do(store, appeals.decide_appeal, tar, "dr.ito", result=result, reason="Reviewed the new MRI.",
           approve={1: 5} if result == "partial" else None)
    for fate in ("open", "dismissed"):
        tar = denials()
        do(store, appeals.file_appeal, tar, "coord.jones", filed_by="member", received_at=datetime.now(UTC),
           note="The member asks again.")
        if fate == "dismissed":
            do(store, appeals.dismiss_appeal, tar, "lead.patel", reason="Withdrawn by the member by phone")
    tar = denials()
    do(store, appeals.file_appeal, tar, "coord.jones", filed_by="provider", expedited=True,
       received_at=datetime.now(UTC), note="Waiting could seriously harm the member.")
    do(store, appeals.decide_appeal, tar, "dr.ito", result="overturned", reason="Needed now.")
    return store


def figures(store, first, last, **kwargs) -> dict:
    with store.session() as session:
        dashboard = build(session, Filters(first, last, **kwargs), only=("overturns",))
    return dashboard.figures["overturns"], dashboard.views[0]


def counts(row: dict) -> tuple:
    return (row["decided"], row["upheld"], row["overturned"], row["partly_overturned"], row["overturn_rate"],
            row["undecided"], row["closed_undecided"])


def test_overturns_count_every_call_and_appeal_decided_in_the_period(channels):
    data, view = figures(channels, today() - timedelta(days=40), today())
    p2p_total, appeal_total = data["channels"]
    assert p2p_total["channel"] == "p2p" and appeal_total["channel"] == "appeal"
    # held 5: upheld 2 (one before the determination), overturned 2, modified 1; 1 booked; 1 cancelled
    assert counts(p2p_total) == (5, 2, 2, 1, 60.0, 1, 1)
    # resolved on the merits 4: upheld 1, overturned 2 (one expedited), partly 1; 1 in review; 1 dismissed
    assert counts(appeal_total) == (4, 1, 2, 1, 75.0, 1, 1)
    groups = {row["group"]: counts(row) for row in data["rows"]}
    assert groups == {"p2p-denial": (4, 1, 2, 1, 75.0, 1, 1), "p2p-potential-denial": (1, 1, 0, 0, 0.0, 0, 0),
                      "appeal-standard": (3, 1, 1, 1, 66.7, 1, 1), "appeal-expedited": (1, 0, 1, 0, 100.0, 0, 0)}
    # every denial and modification determined in the period: 6 P2P denials and the modification after a call;
    # 6 appealed determinations (one a modification) and the partial overturn's new modification
    assert data["adverse"] == 14
    # the view: each channel then its groups, and the context row; the chart stacks the results per channel
    table = view.panels[0].table
    assert [row["channel"] for row in table.rows] == [
        "Peer-to-peer calls", "of which: after a denial or modification", "of which: before the determination",
        "Appeals", "of which: standard", "of which: expedited"]
    assert table.rows[0]["overturn_rate"] == 60.0 and table.total["decided"] == 14
    chart = view.panels[0].chart
    assert chart.categories == ("Peer-to-peer calls", "Appeals")
    assert [s.values for s in chart.series] == [(2.0, 1.0), (2.0, 2.0), (1.0, 1.0)]
    assert not any("Not yet connected" in note for note in view.notes)


def test_overturns_follow_the_period_and_the_case_filters(channels):
    medi_cal, _ = figures(channels, today() - timedelta(days=40), today(), line_of_business="medi-cal")
    assert counts(medi_cal["channels"][0]) == (4, 2, 1, 1, 50.0, 1, 1)  # the Medicare call left out
    assert counts(medi_cal["channels"][1]) == (4, 1, 2, 1, 75.0, 1, 1)
    assert medi_cal["adverse"] == 13
    other_team, _ = figures(channels, today() - timedelta(days=40), today(), team="inpatient")
    assert [counts(c) for c in other_team["channels"]] == [(0, 0, 0, 0, None, 0, 0)] * 2
    assert other_team["rows"] == [] and other_team["adverse"] == 0
    # a period that ends yesterday: no call was held and no appeal decided in it, the appealed denials were made
    earlier, view = figures(channels, today() - timedelta(days=40), today() - timedelta(days=1))
    assert [c["decided"] for c in earlier["channels"]] == [0, 0]
    assert earlier["adverse"] == 6
    assert view.panels[0].table.rows[0]["overturn_rate"] is None


def test_overturns_agree_with_the_p2p_and_appeal_reports(channels):
    from app.store.appeal_reports import appeal_report
    from app.store.p2p_queries import p2p_report

    first, last = today() - timedelta(days=40), today()
    data, _ = figures(channels, first, last)
    with channels.session() as session:
        calls = p2p_report(session, first, last)
        resolved = appeal_report(session, first, last)["resolved"]
    p2p_total, appeal_total = data["channels"]
    assert (p2p_total["decided"], p2p_total["upheld"], p2p_total["overturned"], p2p_total["partly_overturned"]) == (
        calls["held"], calls["upheld"], calls["overturned"], calls["modified"])
    assert (appeal_total["decided"], appeal_total["upheld"], appeal_total["overturned"],
            appeal_total["partly_overturned"], appeal_total["overturn_rate"]) == (
        resolved["appeals"], resolved["upheld"], resolved["overturned"], resolved["partially_overturned"],
        resolved["overturn_rate"])
