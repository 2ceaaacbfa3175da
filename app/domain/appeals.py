"""Appeals of adverse determinations (issue 13): the words, the statuses and the rules that need no database.

Sources: 42 CFR 438.400-438.424 (Medicaid managed care appeals), 42 CFR 422.629-422.634 (integrated D-SNP appeals),
../shared/reference/letters.md (items 7 and 8), roles-and-authority.md. The clocks are the clock engine's
(`app.domain.clocks`, the `appeal_rule_sets` of resources/rulesets.json); who may decide an appeal is
`app.domain.authority.may_review_appeal`. The services (`app.services.appeals`) apply these rules and write.

An appeal's life:

    filed ─┬─> awaiting-reviewer ─> in-review ─> resolved (NAR to send) ─> closed (NAR mailed)
           └─> late-review (late, plan policy "supervisor-review") ─> awaiting-reviewer | dismissed

A supervisor may dismiss any appeal not yet resolved (withdrawn by the member, filed in error, late without good
cause), with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

FILED_BY = {
    "member": "The member",
    "provider": "A provider, for the member",
    "representative": "An authorized representative",
}
CHANNELS = {"phone": "Phone", "writing": "In writing (mail or fax)", "portal": "Online (portal)"}
STATUSES = {
    "late-review": "Late: a supervisor decides good cause",
    "awaiting-reviewer": "Awaiting an independent reviewer",
    "in-review": "In review",
    "resolved": "Resolved: notice to send",
    "closed": "Closed",
    "dismissed": "Dismissed",
}
OPEN_STATUSES = ("late-review", "awaiting-reviewer", "in-review", "resolved")
UNRESOLVED_STATUSES = ("late-review", "awaiting-reviewer", "in-review")
RESULTS = {"upheld": "Upheld", "overturned": "Overturned", "partially-overturned": "Partially overturned"}
RESULT_WORDS = {"upheld": "upheld", "overturned": "overturned", "partial": "partially-overturned",
                "partially-overturned": "partially-overturned"}
# What the plan does with an appeal received after the filing window (resources/plan.toml, [appeals] late_appeals).
LATE_POLICIES = {
    "review": "A late appeal is reviewed like a timely one; it is recorded as late (days late shown) and counted.",
    "supervisor-review": "A late appeal waits for a nurse supervisor, who accepts it for good cause (it is then "
                         "reviewed) or dismisses it with the reason.",
}
TASK_KINDS = {
    "continue-authorization": "Continue the authorization while the appeal runs (aid paid pending)",
    "assign-reviewer": "Route the appeal to an independent physician of the same or a similar specialty",
    "decide-late-appeal": "Decide whether a late appeal has good cause",
}
EXTENSION_REASONS = {
    "member-request": "The member asked for more time",
    "information-needed": "The plan needs information and the delay is in the member's interest",
}
APPEAL_EVENTS = ("appeal-filed", "appeal-reviewer-assigned", "appeal-expedited-denied", "appeal-extended",
                 "appeal-late-accepted", "appeal-decided", "appeal-dismissed", "appeal-notice-sent",
                 "appeal-task-done", "appeal-clock-breached")


def status_label(status: str) -> str:
    return STATUSES.get(status, status)


def result_of(word: str) -> str:
    """'upheld' | 'overturned' | 'partially-overturned' from a CLI or GUI word ('partial' included)."""
    if word not in RESULT_WORDS:
        raise ValueError(f"result '{word}' is not one of: upheld, overturned, partial")
    return RESULT_WORDS[word]


def representative_refusal(filed_by: str, authorization: str | None) -> str | None:
    """An authorized representative appeals only with the member's written authorization on file (42 CFR
    438.402(c)(1)(ii); the plan's "Process for a Provider to Appeal ... on Behalf of a Member")."""
    if filed_by == "representative" and not (authorization or "").strip():
        return ("An authorized representative may appeal only with the member's written authorization on file "
                "(42 CFR 438.402(c)(1)(ii)). Record where the authorization is (e.g. 'AOR form scanned 11/20'), or "
                "log the appeal as filed by the member.")
    return None


def expedited_requested_by(filed_by: str, expedited: bool) -> str | None:
    """Who asked for an expedited appeal: a provider's request (or one filed by a provider) is the provider's
    statement that waiting could seriously harm the member, which the plan must grant (42 CFR 438.410(a));
    the member's (or their representative's) request the plan decides."""
    if not expedited:
        return None
    return "provider" if filed_by == "provider" else "member"


def expedited_denial_refusal(expedited: bool, requested_by: str | None) -> str | None:
    """Why a request for an expedited appeal may not be denied now (None: it may)."""
    if not expedited:
        return "The appeal is already on the standard track."
    if requested_by == "provider":
        return ("A provider said that waiting could seriously harm the member's health: the plan must decide the "
                "appeal on the expedited track (42 CFR 438.410(a)).")
    return None


def similar_specialty(wanted: str | None, offered: str | None, groups: Iterable[Sequence[str]]) -> bool:
    """Whether `offered` is the same as `wanted` or in one of the plan's groups of similar specialties
    (resources/plan.toml, [appeals] similar_specialties); compared without case."""
    if not wanted or not offered:
        return False
    a, b = wanted.strip().casefold(), offered.strip().casefold()
    if a == b:
        return True
    return any(a in members and b in members for members in ({m.strip().casefold() for m in g} for g in groups))


@dataclass(frozen=True)
class Resolution:
    """The lines of a determination after an appeal decision, checked against the determination appealed."""

    outcome: str  # the new determination's outcome: approved | partially-approved (None: upheld, no new one)
    units: dict[int, int]


def resolution_lines(result: str, appealed: dict[int, tuple[int, int]],
                     approve: dict[int, int] | None) -> Resolution | None:
    """The new determination an appeal decision calls for, or None for 'upheld' (the determination stands).

    `appealed`: line number -> (requested units, units the appealed determination approved). An overturn approves
    every unit; a partial overturn approves more than the appealed determination on at least one line and not
    everything, and never fewer units on any line (an appeal does not make a decision worse). ValueError says what
    to change."""
    if result == "upheld":
        if approve:
            raise ValueError("an upheld appeal changes no units; give units only for a partial overturn")
        return None
    if result == "overturned":
        if approve and any(approve.get(n, req) != req for n, (req, _) in appealed.items()):
            raise ValueError("an overturn approves every unit of every line; approving fewer is a partial overturn")
        return Resolution("approved", {n: req for n, (req, _) in appealed.items()})
    if result != "partially-overturned":
        raise ValueError(f"result '{result}' is not one of: {', '.join(RESULTS)}")
    if not approve:
        raise ValueError("a partial overturn says how many units of which lines are now approved (e.g. line 1: 5)")
    unknown = sorted(set(approve) - set(appealed))
    if unknown:
        raise ValueError(f"no line {unknown[0]} on this request (lines: {', '.join(map(str, appealed))})")
    units = {}
    for number, (requested, before) in appealed.items():
        now = approve.get(number, before)
        if not isinstance(now, int) or now < before or now > requested:
            raise ValueError(f"line {number}: approve {before} to {requested} units (the appealed determination "
                             f"approved {before}), not {now}")
        units[number] = now
    if all(units[n] == req for n, (req, _) in appealed.items()):
        raise ValueError("every unit of every line is approved: that is an overturn, not a partial one")
    if all(units[n] == before for n, (_, before) in appealed.items()):
        raise ValueError("no line gets more units than the appealed determination: that is an upheld appeal")
    return Resolution("partially-approved", units)


def appeal_event_text(kind: str, payload: dict) -> str:
    """The case timeline's words for an appeal event."""
    who = FILED_BY.get(payload.get("filed_by"), "Someone")
    if kind == "appeal-filed":
        track = "expedited" if payload.get("expedited") else "standard"
        how = {"phone": "by phone", "writing": "in writing", "portal": "online"}.get(payload.get("channel"), "")
        text = f"Appeal filed ({track}) by {who.lower()}, {how}".rstrip(", ")
        if payload.get("timely") is False:
            text += f"; LATE by {payload.get('days_late')} day(s)"
        if (payload.get("aid_paid_pending") or {}).get("applies"):
            text += "; the service continues during the appeal (aid paid pending)"
        return text + (f"; reviewer {payload['reviewer']}" if payload.get("reviewer") else "")
    if kind == "appeal-reviewer-assigned":
        return f"Appeal routed to {payload.get('reviewer')}" + (f": {payload['note']}" if payload.get("note") else "")
    if kind == "appeal-expedited-denied":
        return f"Expedited appeal denied, moved to standard: {payload.get('reason', '')}"
    if kind == "appeal-extended":
        return f"Appeal extended by {payload.get('days')} day(s) ({payload.get('reason')}): {payload.get('note', '')}"
    if kind == "appeal-late-accepted":
        return f"Late appeal accepted for good cause: {payload.get('note', '')}"
    if kind == "appeal-decided":
        result = RESULTS.get(payload.get("result"), str(payload.get("result")))
        return f"Appeal {result.lower()}: {payload.get('reason', '')}"
    if kind == "appeal-dismissed":
        return f"Appeal dismissed: {payload.get('reason', '')}"
    if kind == "appeal-notice-sent":
        return f"Appeal notice mailed: {payload.get('letter', '')}"
    if kind == "appeal-task-done":
        return f"Appeal task done: {TASK_KINDS.get(payload.get('task'), payload.get('task'))}"
    if kind == "appeal-clock-breached":
        return f"Appeal {payload.get('clock')} clock breached (was due {payload.get('due')})"
    return kind.replace("-", " ").capitalize()

