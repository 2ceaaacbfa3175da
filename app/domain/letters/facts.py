"""The facts of one letter as plain data, and the template values made from them (pure; issue 7, scope 2).

The letters service reads `LetterFacts` from the store (the case, member, provider, lines, the determination
event, the criteria it cites and the checklist's unmet criteria, the extension or pend event, the decision
maker); `umws letter samples` builds them from its synthetic cases. `letter_values()` turns them, the plan
profile and the language's common texts into the values the templates' placeholders take. Nothing is invented: a
fact that is missing stays None and the linter names it.

Dates in letters are plan-local calendar dates. Figures: appeal within 60 days of the notice (42 CFR
438.402(c)(2)(ii)), Medicare 65 days (42 CFR 422.582(b)); to keep a service during the appeal, within 10 days of
the notice or before the effective date, whichever is later (42 CFR 438.420(a)); a peer-to-peer discussion may be
asked for within the plan's number of business days (resources/plan.toml).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from app.domain.calendar import BusinessCalendar
from app.domain.letters.kinds import (ADVERSE_KINDS, HEARING_CONTINUATION_DAYS, STATE_HEARING_DAYS,
                                      TERMINATION_NOTICE_DAYS)
from app.domain.plantime import to_plan

ATTENDING = {"en": "To the Attention of the Attending/Treating Practitioner",
             "es": "A la atención del profesional tratante"}
# Free texts written by the reviewer (in English) that a letter in another language needs translated.
# `services`: the plain description of each request line, in line order (the code list's are English);
# `criteria_not_met`: the member wording of each unmet criterion, in order.
TRANSLATABLE = ("member_reason", "information_needed", "covered_alternatives", "services", "criteria_not_met")


@dataclass(frozen=True)
class LineFact:
    code: str
    description: str
    requested_units: int
    approved_units: int | None = None  # None: not decided
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class CriteriaFact:
    set_id: str
    version: str | None
    title: str | None  # None: the set is not in the store's library
    source: str | None
    member_title: str | None = None


@dataclass(frozen=True)
class UnmetCriterion:
    text: str  # the reviewer's wording
    member_text: str  # plain language for the member


@dataclass(frozen=True)
class AppealFact:
    """The appeal an appeal letter notifies (issue 13): who asked and when, the track, aid paid pending, the
    clock, and for the Notice of Appeal Resolution its result (upheld, overturned, partially-overturned)."""

    filed_by: str  # member | provider | representative
    received_at: datetime
    appealed_decided_at: datetime | None
    expedited: bool = False
    representative: str | None = None
    expedited_denied: bool = False
    aid_paid_pending: bool = False  # the service continues while the appeal runs
    ongoing_service: bool = False  # the determination appealed stops or reduces a service the member gets
    resolution_due: datetime | None = None
    extension_reason: str | None = None  # member-request | information-needed
    result: str | None = None
    resolved_at: datetime | None = None
    reviewer_specialty: str | None = None


@dataclass
class LetterFacts:
    tar: str
    letter_ref: str
    line_of_business: str
    review_timing: str
    received_at: datetime
    member_name: str | None
    member_id: str | None
    member_address: list[str]
    member_language: str = "en"
    large_print: bool = False
    provider_name: str | None = None
    provider_address: list[str] = field(default_factory=list)
    lines: list[LineFact] = field(default_factory=list)
    outcome: str | None = None
    basis: str | None = None
    decided_at: datetime | None = None
    decision_due: datetime | None = None
    rationale: str | None = None
    member_reason: str | None = None
    criteria: list[CriteriaFact] = field(default_factory=list)
    unmet: list[UnmetCriterion] = field(default_factory=list)
    decision_maker: str | None = None
    decision_maker_phone: str | None = None
    extension_reason: str | None = None  # member-request | provider-request | information-needed
    information_needed: list[str] = field(default_factory=list)
    effective_date: date | None = None
    terminal_illness: bool = False
    covered_alternatives: str | None = None
    translations: dict[str, Any] = field(default_factory=dict)  # TRANSLATABLE key -> text in the letter's language
    appeal: AppealFact | None = None  # appeal letters (issue 13)


def add_business_days(cal: BusinessCalendar, day: date, count: int) -> date:
    """`count` business days after `day` (weekends and the plan's holidays skipped)."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and not cal.is_holiday(day):
            count -= 1
    return day


def _local_date(instant: datetime | None) -> date | None:
    return to_plan(instant).date() if instant is not None else None


def _units(count: int, labels: Mapping[str, str]) -> str:
    word = labels.get("unit", "unit") if count == 1 else labels.get("units", "units")
    return f"{count} {word}"


def _line_text(line: LineFact, units: int, labels: Mapping[str, str], *, codes: bool) -> str:
    what = f"{line.code} {line.description}" if codes else line.description
    return f"{what}: {_units(units, labels)}"


def _services(facts: LetterFacts, labels: Mapping[str, str], *, codes: bool,
              descriptions: list[str] | None = None) -> dict[str, list[str]]:
    """Requested, approved and denied lines in words; `descriptions` replaces the lines' own (a translation)."""
    requested, approved, denied = [], [], []
    lines = facts.lines
    if descriptions is not None:
        lines = [LineFact(line.code, text, line.requested_units, line.approved_units, line.from_date, line.to_date)
                 for line, text in zip(facts.lines, descriptions)]
    for line in lines:
        requested.append(_line_text(line, line.requested_units, labels, codes=codes))
        if line.approved_units is None:
            if facts.outcome is None:  # undecided (extension, untimely, pend): all of it is pending
                denied.append(_line_text(line, line.requested_units, labels, codes=codes))
            continue
        if line.approved_units:
            approved.append(_line_text(line, line.approved_units, labels, codes=codes))
        if line.approved_units < line.requested_units:
            denied.append(_line_text(line, line.requested_units - line.approved_units, labels, codes=codes))
    return {"requested": requested, "approved": approved, "denied": denied}


def _translated(facts: LetterFacts, key: str, language: str, english: Any) -> Any:
    """The reviewer's free text in the letter's language: as written for English, else its translation (None
    while there is none: the letter waits in 'translation needed')."""
    if language == "en":
        return english
    return facts.translations.get(key)


def translation_gaps(facts: LetterFacts, kind: str, recipient: str, language: str) -> list[str]:
    """Which of the reviewer's free texts this letter needs and has no translation of yet."""
    if language == "en":
        return []
    needed = []
    adverse = kind in ADVERSE_KINDS and kind != "untimely-decision"
    if recipient == "member" and (adverse or kind == "appeal-resolution") and facts.member_reason:
        needed.append("member_reason")
    if kind in ("extension", "request-for-information") and facts.information_needed:
        needed.append("information_needed")
    if recipient == "member" and facts.terminal_illness and facts.covered_alternatives:
        needed.append("covered_alternatives")
    if recipient == "member" and facts.lines:
        needed.append("services")
    if recipient == "member" and facts.unmet and kind in ADVERSE_KINDS:
        needed.append("criteria_not_met")
    return [key for key in needed if not facts.translations.get(key)]


def _address_line(lines: list[str] | None) -> str | None:
    return ", ".join(lines) if lines else None


def letter_values(facts: LetterFacts, *, kind: str, recipient: str, language: str, notice_date: date,
                  plan: Mapping[str, Any], common: Mapping[str, Any], cal: BusinessCalendar) -> dict[str, Any]:
    """The placeholder values of one letter (dates as `date`, lists for bullets, booleans for `when`)."""
    labels = common.get("labels", {})
    profile, services = plan.get("plan", {}), plan.get("member_services", {})
    appeals, um, contacts = plan.get("appeals", {}), plan.get("utilization_management", {}), plan.get("contacts", {})
    hours = services.get("hours")
    hours = hours.get(language) if isinstance(hours, Mapping) else hours
    translated_services = _translated(facts, "services", language, None) if language != "en" else None
    if language != "en" and (not translated_services or len(translated_services) != len(facts.lines)):
        member_services = {"requested": [], "approved": [], "denied": []}  # missing: no English in their place
    else:
        member_services = _services(facts, labels, codes=False, descriptions=translated_services)
    provider_services = _services(facts, labels, codes=True)
    effective = facts.effective_date
    keep_by = notice_date + timedelta(days=TERMINATION_NOTICE_DAYS)
    if effective is not None and effective > keep_by:
        keep_by = effective
    decider = facts.decision_maker
    signatures = plan.get("signatures", {})
    which = recipient
    if recipient == "provider" and (kind == "untimely-decision" or (
            not decider and kind not in ADVERSE_KINDS + ("approval",))):
        which = "provider_unsigned"
    signature_spec = signatures.get(which, {})
    signature_spec = list(signature_spec.get(language, [])) if isinstance(signature_spec, Mapping) \
        else list(signature_spec)  # per language; none in the letter's language: the linter asks for it
    signature = [line.format(reviewer=decider or "") for line in signature_spec]
    if any("{reviewer}" in line for line in signature_spec) and not decider:
        signature = []
    member_reason = _translated(facts, "member_reason", language, facts.member_reason)
    information = _translated(facts, "information_needed", language, facts.information_needed)
    if isinstance(information, str):
        information = [information]
    delay_reason = (common.get("extension_reasons", {}).get(facts.extension_reason)
                    if facts.extension_reason else None)
    unmet = facts.unmet
    addressee = facts.provider_name if recipient == "provider" else facts.member_name
    if recipient == "provider" and not facts.provider_name:
        addressee = ATTENDING.get(language, ATTENDING["en"])
    values: dict[str, Any] = {
        # plan profile
        "plan_name": profile.get("name"), "plan_address": list(profile.get("address") or []),
        "plan_website": profile.get("website"), "knox_keene": bool(profile.get("knox_keene_licensed")),
        "member_services_phone": services.get("phone"), "tty": services.get("tty"), "hours": hours,
        "online": services.get("online"),
        "appeals_address_line": _address_line(appeals.get("address")), "appeals_fax": appeals.get("fax"),
        "um_phone": um.get("phone"), "um_fax": um.get("fax"), "portal": um.get("portal"),
        "ombudsman": contacts.get("ombudsman"), "state_hearing_phone": contacts.get("state_hearing_phone"),
        "state_hearing_tty": contacts.get("state_hearing_tty"),
        "state_hearing_address_line": _address_line(contacts.get("state_hearing_address")),
        "dmhc_phone": contacts.get("dmhc_phone"), "dmhc_tdd": contacts.get("dmhc_tdd"),
        "dmhc_website": contacts.get("dmhc_website"), "legal_aid_phone": contacts.get("legal_aid_phone"),
        "medicare_phone": contacts.get("medicare_phone"), "medicare_tty": contacts.get("medicare_tty"),
        "signature": signature,
        # the letter and its recipient
        "notice_date": notice_date, "tar": facts.tar, "letter_ref": facts.letter_ref,
        "member_name": facts.member_name, "member_id": facts.member_id,
        "member_address": list(facts.member_address), "addressee": addressee,
        "addressee_salutation": facts.provider_name or ATTENDING.get(language, ATTENDING["en"]).split(" ", 1)[-1],
        "address": list(facts.member_address) if recipient == "member" else list(facts.provider_address),
        "provider_name": facts.provider_name, "requester": facts.provider_name,
        "provider_address": list(facts.provider_address),
        # the request and the decision
        "received_date": _local_date(facts.received_at),
        "service": member_services["requested"] if recipient == "member" else provider_services["requested"],
        "service_codes": provider_services["requested"],
        "approved_services": (member_services if recipient == "member" else provider_services)["approved"],
        "denied_services": (member_services if recipient == "member" else provider_services)["denied"],
        "decided_date": _local_date(facts.decided_at),
        "decision_due": _local_date(facts.decision_due),
        "decision_by": _local_date(facts.decision_due),
        "member_reason": member_reason, "clinical_rationale": facts.rationale,
        "criteria_cited": [_criteria_line(c, labels) for c in facts.criteria],
        "criteria_not_met": ([u.member_text for u in unmet] if language == "en"
                             else list(facts.translations.get("criteria_not_met") or [])),
        "criteria_not_met_clinical": [u.text for u in unmet],
        "has_criteria_not_met": bool(unmet),
        "medical_necessity": facts.basis == "medical-necessity" and facts.outcome in ("denied", "partially-approved"),
        "decision_maker": decider, "decision_maker_phone": facts.decision_maker_phone,
        "p2p_by": add_business_days(cal, notice_date, int(um.get("peer_to_peer_business_days", 5))),
        "effective_date": effective,
        "appeal_by": notice_date + timedelta(days=60), "medicare_appeal_by": notice_date + timedelta(days=65),
        "aid_paid_pending_by": keep_by,
        "post_service": facts.review_timing == "post-service",
        "terminal_illness": facts.terminal_illness,
        "covered_alternatives": _translated(facts, "covered_alternatives", language, facts.covered_alternatives),
        # delays and requests for information
        "delay_reason": delay_reason, "information_needed": information,
        "respond_by": _respond_by(notice_date, facts.decision_due),
        # which CMS-10003 decision wording applies
        "kind_denial": kind in ("denial-medical-necessity", "denial-not-covered"),
        "kind_modification": kind == "modification", "kind_termination": kind == "termination",
        "kind_untimely": kind == "untimely-decision",
    }
    if facts.appeal is not None:
        values.update(_appeal_values(facts.appeal, facts, notice_date=notice_date, common=common,
                                     knox_keene=values["knox_keene"]))
        values["upheld_still_approved"] = values["result_upheld"] and not is_missing_list(values["approved_services"])
    months = common.get("months") or []
    if months:
        values["notice_date_text"] = common.get("date_format", "{month} {day}, {year}").format(
            month=months[notice_date.month - 1], day=notice_date.day, year=notice_date.year)
    return values


def is_missing_list(items: list[str] | None) -> bool:
    return not items or not any(item for item in items)


def _appeal_values(appeal: AppealFact, facts: LetterFacts, *, notice_date: date, common: Mapping[str, Any],
                   knox_keene: bool) -> dict[str, Any]:
    """The placeholders and flags of an appeal letter (issue 13). The denial stands when the appeal is upheld or
    only partly overturned: then the Notice of Appeal Resolution gives the State Hearing (120 days from this
    notice), IMR where the plan is Knox-Keene licensed, and, for a service being stopped or reduced, how to keep it
    through the hearing (ask within 10 days)."""
    result = appeal.result
    denial_stands = result in ("upheld", "partially-overturned")
    filer = (common.get("appeal_filers") or {}).get(appeal.filed_by)
    if filer is not None:
        filer = filer.format(representative=appeal.representative or "", requester=facts.provider_name or "")
    reason = appeal.extension_reason
    return {
        "appeal_received_date": _local_date(appeal.received_at),
        "appealed_decided_date": _local_date(appeal.appealed_decided_at),
        "appeal_filer": filer,
        "appeal_decided_date": _local_date(appeal.resolved_at),
        "appeal_decision_by": _local_date(appeal.resolution_due),
        "decision_by": _local_date(appeal.resolution_due),
        "result_upheld": result == "upheld", "result_overturned": result == "overturned",
        "result_partial": result == "partially-overturned",
        "denial_stands": denial_stands,
        "imr_applies": knox_keene and denial_stands,
        "hearing_continuation": appeal.ongoing_service and denial_stands,
        "hearing_by": notice_date + timedelta(days=STATE_HEARING_DAYS),
        "hearing_keep_by": notice_date + timedelta(days=HEARING_CONTINUATION_DAYS),
        "expedited_denied": appeal.expedited_denied,
        "aid_paid_pending": appeal.aid_paid_pending,
        "delay_reason": (common.get("extension_reasons") or {}).get(reason) if reason else None,
        "appeal_reviewer_specialty": appeal.reviewer_specialty,
    }


def _criteria_line(criteria: CriteriaFact, labels: Mapping[str, str]) -> str | None:
    """'Outpatient physical therapy visits (Title 22 CCR 51309 …), version 2026.1' — None when the set is
    unknown or has no version: the linter then asks for the criteria by name and version."""
    if not criteria.title or not criteria.version:
        return None
    source = f" ({criteria.source})" if criteria.source else ""
    return f"{criteria.title}{source}, {labels.get('version', 'version')} {criteria.version}"


def _respond_by(notice_date: date, decision_due: datetime | None) -> date | None:
    """The date a pended request's information is asked for by: the day before the decision is due (and not
    before the notice date), so that it can still be reviewed."""
    due = _local_date(decision_due)
    if due is None:
        return None
    return max(notice_date, due - timedelta(days=1))
