"""Case facts: what machine rules read about a case.

Most facts come from the case as received (member birth date and sex, diagnoses, place of service, request lines,
requested length of stay). Medication specifics are not part of a TAR's data model; a reviewer (or the requester's
form) records them as `fact-recorded` events on the case, and the latest value of each name wins. The names and
forms of recorded facts are fixed here so a rule never guesses:

| name | value |
|---|---|
| weight_kg | number, kilograms (0 < w <= 400) |
| height_cm | number, centimetres (20 <= h <= 272) |
| dose | {"value": number > 0, "unit": "mg" / "mcg" / "g" / "units"}: the dose per administration |
| doses_per_day | whole number >= 1: administrations on one day |
| dosing_interval_days | whole number >= 1: days between doses as requested |
| last_dose_date | "YYYY-MM-DD": the last dose given, to count the interval to the requested date |
| first_dose | true / false: this request starts the drug (no interval to check) |
| prior_therapies | list of {"drug": text, "days": whole number or null, "outcome": one of THERAPY_OUTCOMES} |

A fact that is not recorded is missing, and a rule that needs it answers "unknown", never "met". An empty
`prior_therapies` list is a recorded fact: "no alternatives were tried".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

DOSE_UNITS = {"mg": ("mass", 1.0), "mcg": ("mass", 0.001), "g": ("mass", 1000.0), "units": ("units", 1.0)}
THERAPY_OUTCOMES = {
    "inadequate-response": "tried, did not work well enough",
    "intolerance": "stopped because of side effects",
    "contraindicated": "cannot be used (contraindication)",
    "adverse-event": "stopped because of a serious reaction",
    "ongoing": "still taking it",
}
# A trial that ended for one of these reasons counts whatever its length.
SHORT_TRIAL_OUTCOMES = frozenset({"intolerance", "contraindicated", "adverse-event"})

FACT_NAMES = {
    "weight_kg": "Weight (kg)",
    "height_cm": "Height (cm)",
    "dose": "Dose per administration",
    "doses_per_day": "Administrations per day",
    "dosing_interval_days": "Days between doses",
    "last_dose_date": "Date of the last dose",
    "first_dose": "First dose of this drug",
    "prior_therapies": "Alternatives tried",
}


class FactError(ValueError):
    """A recorded fact with an unknown name or a value of the wrong form; the message says what is expected."""


def _number(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FactError(f"{name} must be a number (found {value!r})")
    if (value <= low if low_open else value < low) or value > high:
        raise FactError(f"{name} must be {'more than' if low_open else 'at least'} {low:g} and at most {high:g} "
                        f"(found {value:g})")
    return float(value)


def _whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise FactError(f"{name} must be a whole number of at least {low} (found {value!r})")
    return value


def normalize_fact(name: str, value: Any) -> Any:
    """The recorded value in its canonical JSON form; raises FactError saying what is expected."""
    if name == "weight_kg":
        return _number(name, value, 0, 400, low_open=True)
    if name == "height_cm":
        return _number(name, value, 20, 272)
    if name == "dose":
        if not isinstance(value, dict) or set(value) != {"value", "unit"}:
            raise FactError('dose must be {"value": number, "unit": "mg" | "mcg" | "g" | "units"}')
        if value["unit"] not in DOSE_UNITS:
            raise FactError(f"dose unit must be one of {', '.join(DOSE_UNITS)} (found {value['unit']!r})")
        return {"value": _number("dose value", value["value"], 0, 1e7, low_open=True), "unit": value["unit"]}
    if name in ("doses_per_day", "dosing_interval_days"):
        return _whole(name, value, 1)
    if name == "last_dose_date":
        try:
            if not (isinstance(value, str) and len(value) == 10):
                raise ValueError
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise FactError(f"last_dose_date must be a date written YYYY-MM-DD (found {value!r})") from None
    if name == "first_dose":
        if not isinstance(value, bool):
            raise FactError(f"first_dose must be true or false (found {value!r})")
        return value
    if name == "prior_therapies":
        if not isinstance(value, list):
            raise FactError("prior_therapies must be a list of {drug, days, outcome} (an empty list: none tried)")
        therapies = []
        for i, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("drug"), str) or not item["drug"].strip():
                raise FactError(f"prior_therapies[{i}] must have a drug name")
            days = item.get("days")
            if days is not None:
                _whole(f"prior_therapies[{i}].days", days, 0)
            outcome = item.get("outcome", "inadequate-response")
            if outcome not in THERAPY_OUTCOMES:
                raise FactError(f"prior_therapies[{i}].outcome must be one of {', '.join(THERAPY_OUTCOMES)} "
                                f"(found {outcome!r})")
            unknown = set(item) - {"drug", "days", "outcome"}
            if unknown:
                raise FactError(f"prior_therapies[{i}] has unknown fields: {', '.join(sorted(unknown))}")
            therapies.append({"drug": item["drug"].strip().lower(), "days": days, "outcome": outcome})
        return therapies
    raise FactError(f"'{name}' is not a fact the criteria rules use; known facts: {', '.join(FACT_NAMES)}")


@dataclass(frozen=True)
class LineFacts:
    code: str
    units: int
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class CaseFacts:
    """Everything a machine rule may read about one case, as of one moment."""

    received_on: date  # plan-local day the request was received: ages are counted to it
    line_of_business: str = "medi-cal"
    service_category: str = "outpatient"
    review_timing: str = "pre-service"
    birth_date: date | None = None
    sex: str | None = None  # F, M, X, U (X and U do not answer a sex rule)
    diagnoses: tuple[str, ...] = ()  # ICD-10-CM, primary first
    place_of_service: str | None = None
    lines: tuple[LineFacts, ...] = ()
    requested_los_days: int | None = None
    proposed_date: date | None = None
    recorded: Mapping[str, Any] = field(default_factory=dict)  # normalized recorded facts (normalize_fact)

    @property
    def procedure_codes(self) -> tuple[str, ...]:
        return tuple(line.code for line in self.lines)

    def age(self, unit: str = "years") -> int | None:
        """Completed years (or months) at the received day; None without a birth date."""
        return age_on(self.birth_date, self.received_on, unit)

    def fact(self, name: str) -> Any:
        return self.recorded.get(name)

    def to_json(self) -> dict:
        return {
            "received_on": self.received_on.isoformat(),
            "line_of_business": self.line_of_business,
            "service_category": self.service_category,
            "review_timing": self.review_timing,
            "age_years": self.age(),
            "sex": self.sex,
            "diagnoses": list(self.diagnoses),
            "place_of_service": self.place_of_service,
            "lines": [{"code": line.code, "units": line.units,
                       "from_date": line.from_date.isoformat() if line.from_date else None,
                       "to_date": line.to_date.isoformat() if line.to_date else None} for line in self.lines],
            "requested_los_days": self.requested_los_days,
            "proposed_date": self.proposed_date.isoformat() if self.proposed_date else None,
            "recorded": dict(self.recorded),
        }


def age_on(birth: date | None, day: date, unit: str = "years") -> int | None:
    """Completed years or months on `day` (a member born on 29 February turns a year older on 1 March)."""
    if birth is None:
        return None
    months = (day.year - birth.year) * 12 + (day.month - birth.month) - (1 if day.day < birth.day else 0)
    if unit == "months":
        return months
    return months // 12


def mosteller_bsa(height_cm: float, weight_kg: float) -> float:
    """Body surface area in m² (Mosteller 1987): sqrt(height cm x weight kg / 3600)."""
    return math.sqrt(height_cm * weight_kg / 3600.0)
