"""Plausible recorded facts for synthetic demo medication requests (never real member data).

`umws demo` records these as `fact-recorded` events (source: requester) on medication cases, so the drug
criteria's machine rules have weights, doses, intervals and prior therapies to read. Most requests are within the
label; a few are not (a dose too high, an interval too short, no alternatives tried), and a few leave a fact out,
so a demo shows met, not met and unknown answers. Deterministic for a given seed.
"""
from __future__ import annotations

import random
from datetime import date
from typing import Any

from app.domain.criteria.facts import age_on, normalize_fact


def _body(rng: random.Random, age: int | None) -> tuple[float, float]:
    """(weight kg, height cm) roughly fitting the age."""
    if age is not None and age < 13:
        return round(max(8.0, 8 + 2.6 * age + rng.uniform(-2, 4)), 1), round(75 + 6.2 * age + rng.uniform(-5, 5))
    if age is not None and age < 18:
        return round(rng.uniform(38, 75), 1), round(rng.uniform(145, 182))
    return round(rng.uniform(48, 118), 1), round(rng.uniform(148, 192))


def _therapies(rng: random.Random, choices: list[tuple[str, int]]) -> list[dict] | None:
    roll = rng.random()
    if roll < 0.08:
        return None  # not stated on the request: the machine answers unknown
    if roll < 0.16:
        return []  # the request says nothing was tried: not met, a physician looks at it
    picked = rng.sample(choices, k=min(len(choices), rng.choice([1, 2, 2])))
    return [{"drug": drug, "days": days + rng.randint(-7, 60),
             "outcome": rng.choice(["inadequate-response", "inadequate-response", "intolerance"])}
            for drug, days in picked]


def medication_facts(code: str, birth_date: date | None, received_on: date, seed: Any) -> dict[str, Any]:
    """The facts a requester's form would carry for a drug request with this HCPCS code."""
    rng = random.Random(f"demo-facts-{seed}")
    weight, height = _body(rng, age_on(birth_date, received_on))
    facts: dict[str, Any] = {"height_cm": height}
    if rng.random() > 0.06:
        facts["weight_kg"] = weight
    over = rng.random() < 0.07  # a request above the label
    first = rng.random() < 0.2
    if code in ("J1745", "Q5103", "Q5104", "Q5121"):  # infliximab, 10 mg units
        per_kg = 10.5 if over else rng.choice([3, 5, 5, 5, 10])
        facts["dose"] = {"value": max(100, round(per_kg * weight / 100) * 100), "unit": "mg"}
        facts["dosing_interval_days"] = rng.choice([56, 56, 56, 42, 28, 14])
        therapies = _therapies(rng, [("methotrexate", 90), ("azathioprine", 120), ("mesalamine", 90),
                                     ("prednisone", 30)])
    elif code == "J0897":  # denosumab
        oncology = rng.random() < 0.25
        facts["dose"] = {"value": 120 if oncology else (120 if over else 60), "unit": "mg"}
        facts["dosing_interval_days"] = 28 if oncology else rng.choice([182, 182, 183, 168, 150])
        therapies = _therapies(rng, [("alendronate", 400), ("risedronate", 365), ("zoledronic acid", 365)])
    elif code == "J1439":  # ferric carboxymaltose
        limit = 750 if weight >= 50 else 15 * weight
        facts["dose"] = {"value": round(limit * (1.2 if over else 1)), "unit": "mg"}
        facts["doses_per_day"] = 1
        facts["dosing_interval_days"] = rng.choice([7, 7, 8, 10, 5 if over else 7])
        therapies = _therapies(rng, [("ferrous sulfate", 45), ("ferrous gluconate", 40)])
    elif code in ("J2506", "Q5108", "Q5111", "Q5120", "Q5122"):  # pegfilgrastim
        facts["dose"] = {"value": 12 if over else 6, "unit": "mg"}
        facts["dosing_interval_days"] = rng.choice([21, 21, 14, 28, 10 if over else 21])
        therapies = None
    elif code == "J0585":  # onabotulinumtoxinA
        facts["dose"] = {"value": rng.choice([155, 155, 200, 300]) + (300 if over else 0), "unit": "units"}
        facts["dosing_interval_days"] = rng.choice([84, 90, 90, 98, 60 if over else 90])
        therapies = _therapies(rng, [("topiramate", 90), ("propranolol", 70), ("amitriptyline", 60),
                                     ("oxybutynin", 45)])
    else:
        therapies = None
    if first and "dosing_interval_days" in facts:
        del facts["dosing_interval_days"]
        facts["first_dose"] = True
    if therapies is not None:
        facts["prior_therapies"] = therapies
    return {name: normalize_fact(name, value) for name, value in facts.items()}
