"""Does a service need prior authorization, and is it the plan's to authorize at all? (issue 11, scope 7)

The plan's prior-authorization list and its carve-outs are data (resources/intake/prior_authorization_list.json and
carve_outs.json, described in docs/intake.md): codes and code ranges by line of business, place of service and
provider network status, with effective dates. Rules here only read them:

* Emergency room visits never need prior authorization (the prudent-layperson standard: 42 CFR 438.114,
  H&SC 1371.4): place of service 23, or an emergency department visit code. This is checked first and no rule of
  the list can override it.
* Otherwise the first rule that fits the line (code, line of business, place of service, network status, and the
  date of service within the rule's effective dates) says whether authorization is required; a line matching no
  rule needs none (the list is the list of what needs authorization).
* A request none of whose lines needs authorization is flagged "no authorization required": it may be closed
  administratively with a notice to the provider.
* A Medi-Cal request for a carved-out service (Medi-Cal Rx, county specialty mental health, DMC-ODS, CCS) is
  flagged for redirection; it is still received and its clock runs until it is redirected and closed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from app.domain.intake import codes

RESOURCES = Path(__file__).resolve().parents[3] / "resources" / "intake"
LIST_FORMAT = "umws-prior-auth-list/1"
CARVE_OUT_FORMAT = "umws-carve-outs/1"
_NDC = re.compile(r"^(?:[0-9]{11}|[0-9]{4,5}-[0-9]{3,4}-[0-9]{1,2})$")


class AuthListError(ValueError):
    """The list's file is not in its format; the message names the rule and what is wrong."""


@dataclass(frozen=True)
class CodeSet:
    """Single codes and LOW-HIGH ranges of codes of the same shape; None matches every code."""

    items: tuple[tuple[str, str], ...] | None

    @classmethod
    def parse(cls, raw: Sequence[str] | None, where: str) -> "CodeSet":
        if raw is None:
            return cls(None)
        items = []
        for entry in raw:
            text = str(entry).strip().upper()
            low, sep, high = text.partition("-")
            if not sep:
                low = high = text
            if not low or len(low) != len(high) or low > high:
                raise AuthListError(f"{where}: '{entry}' is not a code or a range LOW-HIGH of codes of one shape")
            items.append((low, high))
        return cls(tuple(items))

    def contains(self, code: str) -> bool:
        if self.items is None:
            return True
        text = code.strip().upper()
        return any(len(text) == len(low) and low <= text <= high and _same_shape(text, low)
                   for low, high in self.items)


def _same_shape(code: str, pattern: str) -> bool:
    return all(a.isdigit() == b.isdigit() for a, b in zip(code, pattern))


@dataclass(frozen=True)
class AuthRule:
    id: str
    label: str
    codes: CodeSet
    lines_of_business: frozenset[str] | None
    places_of_service: frozenset[str] | None
    network: frozenset[str] | None
    effective: date
    ends: date | None
    requires_authorization: bool

    def fits(self, code: str, lob: str, pos: str, network: str, on: date) -> bool:
        return (self.codes.contains(code)
                and (self.lines_of_business is None or lob in self.lines_of_business)
                and (self.places_of_service is None or pos in self.places_of_service)
                and (self.network is None or network in self.network)
                and self.effective <= on and (self.ends is None or on <= self.ends))


@dataclass(frozen=True)
class AuthNeed:
    """The answer for one request line."""

    line_number: int
    code: str
    required: bool
    emergency: bool
    rule_id: str | None  # the list's rule that decided (None: emergency, or no rule matched)
    reason: str

    def to_json(self) -> dict:
        return {"line_number": self.line_number, "code": self.code, "required": self.required,
                "emergency": self.emergency, "rule": self.rule_id, "reason": self.reason}


@dataclass(frozen=True)
class CarveOut:
    id: str
    label: str
    redirect_to: str
    lines_of_business: frozenset[str]
    ndc: bool
    codes: CodeSet | None
    diagnoses: tuple[str, ...] | None
    under_age: int | None


@dataclass(frozen=True)
class Redirection:
    """A carve-out a request falls under, and what in it did."""

    carve_out: str
    label: str
    redirect_to: str
    because: str

    def to_json(self) -> dict:
        return {"carve_out": self.carve_out, "label": self.label, "redirect_to": self.redirect_to,
                "because": self.because}


@dataclass(frozen=True)
class AuthList:
    rules: tuple[AuthRule, ...]
    emergency_pos: frozenset[str]
    emergency_codes: CodeSet
    carve_outs: tuple[CarveOut, ...] = ()

    def need(self, line_number: int, code: str, *, lob: str, pos: str, network: str, on: date) -> AuthNeed:
        code = code.strip().upper()
        if pos in self.emergency_pos or self.emergency_codes.contains(code):
            return AuthNeed(line_number, code, False, True, None,
                            "Emergency room visit: never needs prior authorization (prudent-layperson standard)")
        for rule in self.rules:
            if rule.fits(code, lob, pos, network, on):
                verb = "needs" if rule.requires_authorization else "does not need"
                return AuthNeed(line_number, code, rule.requires_authorization, False, rule.id,
                                f"{rule.label}: {verb} prior authorization")
        return AuthNeed(line_number, code, False, False, None,
                        "Not on the plan's prior-authorization list: no prior authorization needed")

    def redirections(self, line_codes: Iterable[str], diagnosis_codes: Iterable[str], *, lob: str,
                     age: int | None) -> list[Redirection]:
        found = []
        line_codes = [c.strip().upper() for c in line_codes]
        diagnosis_codes = [d.strip().upper() for d in diagnosis_codes]
        for carve in self.carve_outs:
            if lob not in carve.lines_of_business:
                continue
            if carve.under_age is not None and (age is None or age >= carve.under_age):
                continue
            because = None
            for code in line_codes:
                if carve.ndc and is_ndc(code):
                    because = f"NDC {code} (a pharmacy-benefit drug)"
                elif carve.codes is not None and carve.codes.contains(code):
                    because = f"code {code}"
                if because:
                    break
            if because is None and carve.diagnoses:
                for dx in diagnosis_codes:
                    if any(dx.startswith(prefix) for prefix in carve.diagnoses):
                        because = f"diagnosis {dx}" + (f" of a member under {carve.under_age}"
                                                       if carve.under_age else "")
                        break
            if because:
                found.append(Redirection(carve.id, carve.label, carve.redirect_to, because))
        return found


def is_ndc(code: str) -> bool:
    """A National Drug Code: 11 digits, or the 4-4-2 / 5-3-2 / 5-4-1 forms with dashes."""
    return bool(_NDC.match(code.strip()))


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise AuthListError(f"{where}: '{value}' is not a date YYYY-MM-DD") from error


def _set(value: Any) -> frozenset[str] | None:
    return None if value is None else frozenset(str(v) for v in value)


def auth_list_from_data(data: Mapping[str, Any], carve_data: Mapping[str, Any] | None = None) -> AuthList:
    if data.get("format") != LIST_FORMAT:
        raise AuthListError(f"the prior-authorization list's format is '{data.get('format')}', not {LIST_FORMAT}")
    rules = []
    for index, raw in enumerate(data.get("rules", [])):
        where = f"rule {index + 1} ({raw.get('id', '?')})"
        if not isinstance(raw.get("requires_authorization"), bool):
            raise AuthListError(f"{where}: requires_authorization is true or false")
        rules.append(AuthRule(
            id=str(raw["id"]), label=str(raw.get("label", raw["id"])), codes=CodeSet.parse(raw.get("codes"), where),
            lines_of_business=_set(raw.get("lines_of_business")), places_of_service=_set(raw.get("places_of_service")),
            network=_set(raw.get("network")), effective=_date(raw.get("effective"), where),
            ends=_date(raw["ends"], where) if raw.get("ends") else None,
            requires_authorization=raw["requires_authorization"]))
    emergency = data.get("emergency", {})
    carve_outs = []
    if carve_data is not None:
        if carve_data.get("format") != CARVE_OUT_FORMAT:
            raise AuthListError(f"the carve-out list's format is '{carve_data.get('format')}', not "
                                f"{CARVE_OUT_FORMAT}")
        for raw in carve_data.get("carve_outs", []):
            where = f"carve-out {raw.get('id', '?')}"
            carve_outs.append(CarveOut(
                id=str(raw["id"]), label=str(raw["label"]), redirect_to=str(raw["redirect_to"]),
                lines_of_business=frozenset(raw.get("lines_of_business") or ("medi-cal",)),
                ndc=bool(raw.get("ndc")),
                codes=CodeSet.parse(raw["codes"], where) if raw.get("codes") else None,
                diagnoses=tuple(str(d).upper() for d in raw["diagnoses"]) if raw.get("diagnoses") else None,
                under_age=int(raw["under_age"]) if raw.get("under_age") else None))
    return AuthList(tuple(rules), frozenset(emergency.get("places_of_service", [codes.EMERGENCY_ROOM_POS])),
                    CodeSet.parse(emergency.get("codes", []), "emergency"), tuple(carve_outs))


@lru_cache(maxsize=1)
def default_auth_list() -> AuthList:
    """The shipped list and carve-outs (resources/intake/)."""
    return auth_list_from_data(json.loads((RESOURCES / "prior_authorization_list.json").read_text("utf-8")),
                               json.loads((RESOURCES / "carve_outs.json").read_text("utf-8")))
