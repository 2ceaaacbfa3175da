"""Machine rules: each answers met / not-met / not-applicable / unknown from case facts, and says why.

A rule whose data is missing answers "unknown", never "met": the reviewer then answers from the record. A rule
never answers for a denial; "not-met" only means the machine could not find the criterion met, and leads to a
physician (H&SC 1367.01(e)).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from app.domain.criteria.codes import diagnosis_in, procedure_in
from app.domain.criteria.facts import DOSE_UNITS, SHORT_TRIAL_OUTCOMES, CaseFacts, mosteller_bsa
from app.domain.criteria.model import (AgeRule, DiagnosisRule, DoseRule, FrequencyRule, LengthOfStayRule,
                                       PlaceOfServiceRule, Rule, SexRule, StepTherapyRule, UnitsRule,
                                       describe_rule)

MET, NOT_MET, NOT_APPLICABLE, UNKNOWN = "met", "not-met", "not-applicable", "unknown"
# Doses are compared with a relative tolerance so that 750 mg for 50 kg is exactly 15 mg/kg, not 15.000000001.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class RuleOutcome:
    answer: str
    explanation: str
    facts_used: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"answer": self.answer, "explanation": self.explanation, "facts_used": self.facts_used}


def num(value: float) -> str:
    """12, 12.5, 0.33: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def _at_most(value: float, limit: float) -> bool:
    return value <= limit * (1 + TOLERANCE) + 1e-12


def _verdict(ok: bool) -> str:
    return MET if ok else NOT_MET


def age(rule: AgeRule, facts: CaseFacts) -> RuleOutcome:
    value = facts.age(rule.unit)
    if value is None:
        return RuleOutcome(UNKNOWN, "No birth date is recorded for the member, so the age is unknown.")
    ok = (rule.min is None or value >= rule.min) and (rule.max is None or value <= rule.max)
    return RuleOutcome(_verdict(ok), f"Age {value} {rule.unit} on {facts.received_on.isoformat()} (the day the "
                                     f"request was received); the rule asks {describe_rule(rule)}.",
                       {"age": value, "unit": rule.unit, "received_on": facts.received_on.isoformat()})


SEX_WORDS = {"F": "female", "M": "male", "X": "non-binary / other", "U": "unknown"}


def sex(rule: SexRule, facts: CaseFacts) -> RuleOutcome:
    wanted = " or ".join(SEX_WORDS[s] for s in rule.sexes)
    if facts.sex not in ("F", "M"):
        recorded = SEX_WORDS.get(facts.sex or "U", facts.sex)
        return RuleOutcome(UNKNOWN, f"The member's recorded sex is {recorded}; the rule asks {wanted}. Answer from "
                                    "the clinical record.", {"sex": facts.sex})
    return RuleOutcome(_verdict(facts.sex in rule.sexes),
                       f"The member's recorded sex is {SEX_WORDS[facts.sex]}; the rule asks {wanted}.",
                       {"sex": facts.sex})


def diagnosis(rule: DiagnosisRule, facts: CaseFacts) -> RuleOutcome:
    if not facts.diagnoses:
        return RuleOutcome(UNKNOWN, "The request carries no diagnosis code.")
    codes = facts.diagnoses[:1] if rule.primary_only else facts.diagnoses
    listed = ", ".join(spec.text for spec in rule.codes)
    for code in codes:
        for spec in rule.codes:
            if diagnosis_in(code, spec):
                where = "The primary diagnosis" if rule.primary_only else "Diagnosis"
                return RuleOutcome(MET, f"{where} {code} is in {spec.text} (the rule lists {listed}).",
                                   {"diagnoses": list(codes), "matched": code})
    which = "The primary diagnosis" if rule.primary_only else "None of the request's diagnoses"
    return RuleOutcome(NOT_MET, f"{which} ({', '.join(codes)}) is {'not ' if rule.primary_only else ''}in the "
                                f"rule's list: {listed}.", {"diagnoses": list(codes)})


def place_of_service(rule: PlaceOfServiceRule, facts: CaseFacts) -> RuleOutcome:
    if not facts.place_of_service:
        return RuleOutcome(UNKNOWN, "The request does not say where the service is given (no place of service).")
    ok = facts.place_of_service in rule.codes
    return RuleOutcome(_verdict(ok), f"Place of service {facts.place_of_service}; the rule allows "
                                     f"{', '.join(rule.codes)}.", {"place_of_service": facts.place_of_service})


def units(rule: UnitsRule, facts: CaseFacts) -> RuleOutcome:
    if not facts.lines:
        return RuleOutcome(UNKNOWN, "The request has no service lines, so the units are unknown.")
    lines = [line for line in facts.lines
             if not rule.codes or any(procedure_in(line.code, spec) for spec in rule.codes)]
    if not lines:
        listed = ", ".join(spec.text for spec in rule.codes)
        return RuleOutcome(NOT_APPLICABLE, f"No line of the request has a code this rule counts ({listed}).")
    used = {"lines": [{"code": line.code, "units": line.units} for line in lines]}
    if rule.per == "request":
        total = sum(line.units for line in lines)
        return RuleOutcome(_verdict(total <= rule.max), f"{total} units requested in all (limit {rule.max}).",
                           used | {"total": total})
    worst = max(lines, key=lambda line: line.units)
    return RuleOutcome(_verdict(worst.units <= rule.max),
                       f"Most units on one line: {worst.units} ({worst.code}); the limit is {rule.max} per line.",
                       used)


def length_of_stay(rule: LengthOfStayRule, facts: CaseFacts) -> RuleOutcome:
    if facts.requested_los_days is None:
        return RuleOutcome(UNKNOWN, "The request does not give a length of stay.")
    return RuleOutcome(_verdict(facts.requested_los_days <= rule.max),
                       f"{facts.requested_los_days} days requested; the limit is {rule.max} days.",
                       {"requested_los_days": facts.requested_los_days})


def dose(rule: DoseRule, facts: CaseFacts) -> RuleOutcome:
    recorded = facts.fact("dose")
    if recorded is None:
        return RuleOutcome(UNKNOWN, "No dose is recorded for this request.")
    family, factor = DOSE_UNITS[recorded["unit"]]
    rule_family, rule_factor = DOSE_UNITS[rule.unit]
    if family != rule_family:
        return RuleOutcome(UNKNOWN, f"The dose is recorded in {recorded['unit']} and the rule counts {rule.unit}: "
                                    "they cannot be compared.", {"dose": recorded})
    amount = recorded["value"] * factor / rule_factor  # in the rule's unit
    used: dict[str, Any] = {"dose": recorded}
    said = f"{num(recorded['value'])} {recorded['unit']}"
    if recorded["unit"] != rule.unit:
        said += f" (= {num(amount)} {rule.unit})"
    what = "per administration"
    if rule.per == "day":
        per_day = facts.fact("doses_per_day")
        if per_day is None:
            return RuleOutcome(UNKNOWN, f"Dose {said} per administration, but the number of administrations per "
                                        "day is not recorded.", used)
        amount *= per_day
        used["doses_per_day"] = per_day
        said = f"{said} x {per_day} a day = {num(amount)} {rule.unit}"
        what = "per day"
    if rule.basis == "absolute":
        return RuleOutcome(_verdict(_at_most(amount, rule.max)),
                           f"Dose {said} {what}; the limit is {num(rule.max)} {rule.unit} {what}.", used)
    weight = facts.fact("weight_kg")
    if weight is None:
        return RuleOutcome(UNKNOWN, f"Dose {said}, but no weight is recorded, so the dose per "
                                    f"{'kg' if rule.basis == 'per-kg' else 'm²'} cannot be worked out.", used)
    used["weight_kg"] = weight
    if rule.basis == "per-kg":
        per = amount / weight
        return RuleOutcome(_verdict(_at_most(per, rule.max)),
                           f"Dose {said} for {num(weight)} kg = {num(per)} {rule.unit}/kg {what}; the limit is "
                           f"{num(rule.max)} {rule.unit}/kg {what}.", used | {"per_kg": round(per, 4)})
    height = facts.fact("height_cm")
    if height is None:
        return RuleOutcome(UNKNOWN, f"Dose {said}, but no height is recorded, so the body surface area cannot be "
                                    "worked out.", used)
    bsa = mosteller_bsa(height, weight)
    per = amount / bsa
    used |= {"height_cm": height, "bsa_m2": round(bsa, 4), "per_m2": round(per, 4)}
    return RuleOutcome(_verdict(_at_most(per, rule.max)),
                       f"Dose {said}; body surface area {num(bsa)} m² ({num(height)} cm, {num(weight)} kg, "
                       f"Mosteller) = {num(per)} {rule.unit}/m² {what}; the limit is {num(rule.max)} "
                       f"{rule.unit}/m² {what}.", used)


def next_dose_date(facts: CaseFacts) -> date | None:
    """The day the requested dose is to be given: the proposed date, else the earliest line start."""
    if facts.proposed_date:
        return facts.proposed_date
    starts = [line.from_date for line in facts.lines if line.from_date]
    return min(starts) if starts else None


def frequency(rule: FrequencyRule, facts: CaseFacts) -> RuleOutcome:
    if facts.fact("first_dose") is True:
        return RuleOutcome(NOT_APPLICABLE, "This request starts the drug: there is no earlier dose to count from.",
                           {"first_dose": True})
    interval = facts.fact("dosing_interval_days")
    if interval is not None:
        return RuleOutcome(_verdict(interval >= rule.min_interval_days),
                           f"Doses every {interval} days as requested; the rule asks at least "
                           f"{rule.min_interval_days} days apart.", {"dosing_interval_days": interval})
    last = facts.fact("last_dose_date")
    upcoming = next_dose_date(facts)
    if last is None or upcoming is None:
        missing = "the days between doses" if last is None else "the date of the requested dose"
        return RuleOutcome(UNKNOWN, f"Neither the days between doses nor the last dose date with the next dose "
                                    f"date are recorded ({missing} is missing).")
    days = (upcoming - date.fromisoformat(last)).days
    return RuleOutcome(_verdict(days >= rule.min_interval_days),
                       f"Last dose {last}, requested dose {upcoming.isoformat()}: {days} days apart; the rule asks "
                       f"at least {rule.min_interval_days}.",
                       {"last_dose_date": last, "next_dose_date": upcoming.isoformat(), "days": days})


def _mentions(recorded: str, preferred: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(preferred)}(?![a-z0-9])", recorded) is not None


def step_therapy(rule: StepTherapyRule, facts: CaseFacts) -> RuleOutcome:
    therapies = facts.fact("prior_therapies")
    listed = ", ".join(rule.preferred)
    if therapies is None:
        return RuleOutcome(UNKNOWN, f"No record of alternatives tried; the rule asks for a trial of "
                                    f"{rule.min_trials} of: {listed}.")
    counted: dict[str, dict] = {}
    uncertain: dict[str, dict] = {}
    for therapy in therapies:
        for preferred in rule.preferred:
            if not _mentions(therapy["drug"], preferred) or preferred in counted:
                continue
            if (therapy["outcome"] in SHORT_TRIAL_OUTCOMES or rule.min_days is None
                    or (therapy["days"] is not None and therapy["days"] >= rule.min_days)):
                counted[preferred] = therapy
                uncertain.pop(preferred, None)
            elif therapy["days"] is None:
                uncertain.setdefault(preferred, therapy)
    used = {"prior_therapies": therapies, "counted": sorted(counted)}
    length = f" of at least {rule.min_days} days (or stopped for side effects or a contraindication)" \
        if rule.min_days else ""
    tried = ", ".join(f"{name} ({counted[name]['outcome']})" for name in sorted(counted)) or "none"
    asked = f"the rule asks for {rule.min_trials} of: {listed}{length}"
    if len(counted) >= rule.min_trials:
        return RuleOutcome(MET, f"Trials recorded: {tried}; {asked}.", used)
    if len(counted) + len(uncertain) >= rule.min_trials:
        return RuleOutcome(UNKNOWN, f"Trials recorded: {tried}; the length of the trial of "
                                    f"{', '.join(sorted(uncertain))} is not recorded; {asked}.", used)
    if not therapies:
        return RuleOutcome(NOT_MET, f"The record says no alternatives were tried; {asked}.", used)
    return RuleOutcome(NOT_MET, f"Trials that count: {tried}; {asked}.", used)


EVALUATORS: dict[str, Callable[[Any, CaseFacts], RuleOutcome]] = {
    "age": age, "sex": sex, "diagnosis": diagnosis, "place-of-service": place_of_service, "units": units,
    "length-of-stay": length_of_stay, "dose": dose, "frequency": frequency, "step-therapy": step_therapy,
}


def evaluate_rule(rule: Rule, facts: CaseFacts) -> RuleOutcome:
    return EVALUATORS[rule.kind](rule, facts)
