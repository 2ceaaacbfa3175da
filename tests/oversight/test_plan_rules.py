"""The corrective action plan's life cycle and who runs the IRR program (issue 14)."""
from __future__ import annotations

from datetime import date

import pytest

from app.domain.irr_rules import (CapFlow, IllegalCapStep, is_overdue, may_re_review, may_read_reports,
                                  may_run_program, opened)


def test_life_cycle_to_closure():
    flow = opened(2)
    assert flow.state == "open"
    flow = flow.apply("cap-action-done")
    assert flow.state == "open"
    flow = flow.apply("cap-action-done")
    assert flow.state == "awaiting-re-audit"
    failed = flow.apply("cap-re-audit-recorded", passed=False)
    assert failed.state == "open"
    with pytest.raises(IllegalCapStep, match="already done"):
        failed.apply("cap-action-done")
    again = failed.apply("cap-action-added").apply("cap-action-done")
    assert again.state == "awaiting-re-audit"
    passed = again.apply("cap-re-audit-recorded", passed=True)
    assert passed.state == "re-audit-passed"
    closed = passed.apply("cap-closed")
    assert closed.state == "closed"
    for step in ("cap-action-added", "cap-action-done", "cap-re-audit-recorded", "cap-closed"):
        with pytest.raises(IllegalCapStep, match="closed"):
            closed.apply(step, passed=True)


def test_closing_needs_a_passing_re_audit_and_a_re_audit_needs_every_action_done():
    with pytest.raises(IllegalCapStep, match="only after a re-audit"):
        opened(1).apply("cap-closed")
    with pytest.raises(IllegalCapStep, match="after every action"):
        opened(1).apply("cap-re-audit-recorded", passed=True)
    with pytest.raises(IllegalCapStep, match="at least one action"):
        opened(0)
    assert CapFlow("re-audit-passed", 1, 1).refusal("cap-action-added") is not None


def test_overdue_is_derived():
    assert is_overdue("open", date(2026, 3, 1), date(2026, 3, 2))
    assert not is_overdue("open", date(2026, 3, 1), date(2026, 3, 1))
    assert not is_overdue("closed", date(2026, 3, 1), date(2027, 1, 1))


def test_who_runs_the_program():
    assert may_run_program("nurse-supervisor", "x") is None and may_run_program("medical-director", "x") is None
    refusal = may_run_program("um-nurse", "draw the sample")
    assert refusal and "nurse lead / supervisor" in refusal.reason and "medical director" in refusal.reason
    assert may_run_program("administrator", "x") is not None
    assert may_read_reports("auditor") is None and may_read_reports("um-nurse") is not None
    assert may_re_review("auditor", "nurse-inpatient", auditor="a", decider="b") is None
    assert may_re_review("medical-director", "physician", auditor="dr.a", decider="dr.b") is None
    assert may_re_review("medical-director", "nurse-inpatient", auditor="dr.a", decider="n") is not None
    assert "another auditor" in may_re_review("medical-director", "physician", auditor="dr.a",
                                              decider="dr.a").reason
