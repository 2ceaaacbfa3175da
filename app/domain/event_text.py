"""A case event in words, for the case's timeline (issue 6, scope 5: "a timeline of every event"): the review
workflow's events. The criteria checklist's events (set chosen, criterion answered, no criteria, fact recorded) are
worded by `app.store.criteria_answers.event_text`, which knows each criterion's wording.

Pure: takes an event's kind and payload (as `app.services.cases` writes them, docs/workflow.md) and says what
happened in the users' words (workstation-ux.md "Words": pend, refer, determination; no internal ids on screen).
`describe_event` returns None for kinds it does not know, so the caller can fall back to its own wording.
"""
from __future__ import annotations

from datetime import datetime

from app.domain.authority import BASES, CRITERIA_RESULTS, EXTENSION_REASONS
from app.domain.case_states import NOTICE_RECIPIENTS, OUTCOMES, REFERRAL_TARGETS, REOPEN_REASONS, STATES
from app.domain.plantime import format_instant


def _when(value) -> str:
    """An ISO instant of a payload in plan time ('Tue 11/24/2026 11:59 PM PT'); the text as it is if unreadable."""
    if not value:
        return "—"
    try:
        return format_instant(datetime.fromisoformat(value), year=True)
    except (TypeError, ValueError):
        return str(value)


def _note(payload: dict, key: str = "note") -> str:
    text = (payload.get(key) or "").strip()
    return f" Note: {text}" if text else ""


def _lines(lines: list[dict]) -> str:
    parts = []
    for line in lines or []:
        units, requested = line.get("approved_units"), line.get("requested_units")
        parts.append(f"line {line.get('line_number')} {line.get('code', '')}: {units} of {requested}")
    return "; ".join(parts)


def _determined(p: dict) -> str:
    outcome = OUTCOMES.get(p.get("outcome"), p.get("outcome") or "Decided")
    if p.get("outcome") == "withdrawn":
        return f"Withdrawn (by the {p.get('withdrawn_by', 'provider')}).{_note(p)}"
    if p.get("outcome") == "administratively-closed":
        return f"Closed administratively: {p.get('reason', '')}"
    if "rationale" not in p:  # a determination made before the workflow (demo data)
        return f"Determination: {outcome}"
    decider = p.get("decided_by") or {}
    who = decider.get("full_name") or decider.get("username") or "a reviewer"
    text = f"Determination: {outcome}"
    if p.get("outcome") != "approved" and p.get("basis"):
        text += f" ({BASES.get(p['basis'], p['basis']).split(' (')[0].lower()})"
    text += f" by {who}"
    if decider.get("role"):
        text += f" ({decider['role'].replace('-', ' ')})"
    text += "."
    lines = _lines(p.get("lines", []))
    if lines:
        text += f" Approved units: {lines}."
    if p.get("criteria"):
        cited = ", ".join(f"{c.get('set_id')}" + (f" {c['version']}" if c.get("version") else "")
                          for c in p["criteria"])
        text += f" Criteria cited: {cited}"
        if p.get("criteria_result"):
            text += f" ({CRITERIA_RESULTS.get(p['criteria_result'], p['criteria_result']).lower()})"
        text += "."
    text += f" Rationale: {p.get('rationale', '')}"
    if p.get("member_reason"):
        text += f" Reason for the member: {p['member_reason']}"
    if p.get("supersedes"):
        text += " (Supersedes the earlier determination.)"
    return text


def _referred(p: dict) -> str:
    if p.get("to") == "same-specialty":
        text = f"Referred to a reviewer of the same or similar specialty ({p.get('specialty') or 'unnamed'})"
    else:
        text = f"Referred to a {REFERRAL_TARGETS.get(p.get('to'), 'reviewer').lower()}"
    if p.get("from_user"):
        text += f" by {p['from_user']}"
    if p.get("assignee"):
        text += f", to {p['assignee']}"
    text += "."
    if p.get("criteria_result"):
        text += f" Criteria: {CRITERIA_RESULTS.get(p['criteria_result'], p['criteria_result'])}."
    text += f" Summary: {p.get('summary', '')}"
    if p.get("question"):
        text += f" Question: {p['question']}"
    return text


def _pended(p: dict) -> str:
    missing = p.get("missing") or []
    text = "Pended for information: " + ("; ".join(missing) if missing else "information")
    text += ". The requester is asked for it; the clock keeps running." if p.get("requester_asked") else "."
    return text + _note(p)


def _extended(p: dict) -> str:
    reason = EXTENSION_REASONS.get(p.get("reason"), p.get("reason") or "")
    return (f"Decision clock extended (extension {p.get('number', 1)}): {reason}. Due {_when(p.get('previous_due'))}"
            f" → {_when(p.get('new_due'))}; extension notice due {_when(p.get('notice_due'))}.{_note(p)}")


def _corrected(p: dict) -> str:
    return (f"Received date corrected: {_when(p.get('from'))} → {_when(p.get('to'))} (decision due "
            f"{_when(p.get('previous_due'))} → {_when(p.get('new_due'))}). Reason: {p.get('reason', '')}")


def _notified(p: dict) -> str:
    recipient = NOTICE_RECIPIENTS.get(p.get("recipient"), p.get("recipient") or "")
    return f"Notice sent to the {recipient.lower()} by {p.get('method', 'unspecified')}, {_when(p.get('sent_at'))}."


def _reopened(p: dict) -> str:
    reason = REOPEN_REASONS.get(p.get("reason"), p.get("reason") or "")
    previous = OUTCOMES.get(p.get("previous_outcome"), p.get("previous_outcome") or "")
    return f"Reopened: {reason.lower()} (was {previous.lower()}).{_note(p)}"


_DESCRIBE = {
    "determined": _determined,
    "referred": _referred,
    "pended": _pended,
    "information-received": lambda p: (f"Information received; back to {STATES.get(p.get('to'), 'review').lower()}."
                                       + _note(p)),
    "extended": _extended,
    "received-date-corrected": _corrected,
    "notified": _notified,
    "closed": lambda p: "Case closed." + _note(p),
    "reopened": _reopened,
    "involvement-declared": lambda p: (f"{p.get('user', 'A user')} declared involved in the member's care (by "
                                       f"{p.get('declared_by', p.get('user', ''))}): may not decide this member's "
                                       f"cases.{_note(p)}"),
}


def describe_event(kind: str, payload: dict | None) -> str | None:
    """The event in words, or None for a kind this module does not describe."""
    describe = _DESCRIBE.get(kind)
    return describe(payload or {}) if describe else None
