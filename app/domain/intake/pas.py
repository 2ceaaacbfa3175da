"""Read a Da Vinci PAS prior-authorization request (an HL7 FHIR R4 Bundle) into an intake draft (issue 11, scope 4).

The bundle is parsed with `fhir.resources.R4B` (the package's default models are R5, which reject R4 bundles; R4B
is wire-compatible with R4 for every resource PAS uses). Its shape, from the PAS IG (Da Vinci Prior Authorization
Support, "PAS Request Bundle"): a `Claim` with `use` = `preauthorization` (the first entry), its `Patient`, the
requesting `Practitioner`, `PractitionerRole` or `Organization` (`Claim.provider`), the `Coverage`
(`Claim.insurance`), `Condition`s (`Claim.diagnosis.diagnosisReference`) or coded diagnoses, `ServiceRequest`s
(the PAS `requestedService` item extension) and the items themselves.

What real senders vary in, and how it is read:
* references: relative (`Patient/123`, resolved against the base of the referring entry's `fullUrl`, then by
  type and id), absolute (`https://…/Patient/123`, matched to a `fullUrl`) or `urn:uuid:…` (matched to a
  `fullUrl`); every reference in the bundle must resolve, else the bundle is refused;
* an item names a CPT or HCPCS code, an NDC, or only an X12 service type (code list 1365: a referral or a
  consultation), stored as 'X12:<code>';
* urgency: `Claim.priority` `stat` is urgent; so is PAS's level-of-service extension with X12 code list 1338
  `U` (urgent) or `03` (emergency); the more urgent of the two wins;
* the member: a Medi-Cal client index number (8 digits and a letter) or the plan's member id (the PAS member
  identifier, `Coverage.subscriberId`).

Unreadable input (not JSON, not a FHIR Bundle, no entries, no preauthorization Claim, a FHIR model error, a dangling
reference) raises `UnreadableRequest` naming the place; anything readable becomes a draft, and what is missing or
wrong in it is listed by `requirements.missing_items` when the case is saved (it is then pended).
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any, Iterator

from app.domain.intake import codes
from app.domain.intake.authlist import is_ndc
from app.domain.intake.draft import DiagnosisPart, IntakeDraft, LinePart, MemberPart, ProviderPart
from app.domain.intake.errors import Problem, UnreadableRequest
from app.domain.plantime import to_plan

PAS_SD = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
CPT_SYSTEMS = ("http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.12")
HCPCS_SYSTEMS = ("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
                 "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "urn:oid:2.16.840.1.113883.6.285")
NDC_SYSTEM = "http://hl7.org/fhir/sid/ndc"
URGENT_LEVELS = frozenset({"U", "03"})  # X12 1338: U urgent, 03 emergency (E elective is routine)
MEDICARE_WORDS = ("medicare", "d-snp", "dsnp", "dual")


def _models():
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    return Bundle, get_fhir_model_class


def source_key(data: Any) -> str:
    """The submission's identity for idempotent re-import: SHA-256 of its canonical JSON."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "fhir:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ----- reading and checking ---------------------------------------------------------------------------------
def load_json(raw: bytes | str, file: str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise UnreadableRequest(file, [Problem(f"byte {error.start}", "the file is not UTF-8 text")]) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableRequest(file, [Problem(f"line {error.lineno}, column {error.colno}",
                                               f"not JSON ({error.msg})")]) from error


def read_bundle(raw: bytes | str | dict, file: str, received_at: datetime) -> IntakeDraft:
    """The request in a PAS bundle (the file's bytes, or its JSON already loaded), received at `received_at`."""
    data = raw if isinstance(raw, dict) else load_json(raw, file)
    bundle = parse_bundle(data, file)
    return map_bundle(Index(bundle, data, file), file, received_at, source_key(data))


def parse_bundle(data: Any, file: str):
    Bundle, model_class = _models()
    if not isinstance(data, dict) or "resourceType" not in data:
        raise UnreadableRequest(file, [Problem("the file", "not a FHIR resource (no resourceType)")])
    if data["resourceType"] != "Bundle":
        raise UnreadableRequest(file, [Problem("the file", f"a FHIR {data['resourceType']}, not a Bundle: send the "
                                                           "PAS request bundle (Claim and the resources it refers to)")])
    entries = data.get("entry")
    if not entries:
        raise UnreadableRequest(file, [Problem("the bundle", "has no entries")])
    problems = []
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not kind:
            problems.append(Problem(f"entry {number}", "has no resource (or it has no resourceType)"))
            continue
        try:
            model_class(kind)
        except (ValueError, KeyError):
            problems.append(Problem(f"entry {number}", f"'{kind}' is not a FHIR R4 resource type"))
    if problems:
        raise UnreadableRequest(file, problems)
    from pydantic import ValidationError

    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as error:
        raise UnreadableRequest(file, [_model_problem(data, e) for e in error.errors()[:20]]) from error
    return bundle


def _model_problem(data: dict, error: dict) -> Problem:
    loc = list(error.get("loc", ()))
    place = "the bundle"
    if len(loc) >= 3 and loc[0] == "entry" and isinstance(loc[1], int) and loc[2] == "resource":
        index = loc[1]
        kind = data["entry"][index]["resource"].get("resourceType", "?")
        place = f"entry {index + 1} ({kind})"
        loc = loc[3:]
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    message = error.get("msg", "invalid")
    return Problem(f"{place} {path}".strip(), message[0].lower() + message[1:] if message else "invalid")


def _references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield path, item
            else:
                yield from _references(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _references(item, f"{path}[{n}]")


class Index:
    """The bundle's entries by `fullUrl` and by type/id, resolving references the way PAS senders write them."""

    def __init__(self, bundle, data: dict, file: str):
        self.bundle = bundle
        self.file = file
        self.entries = bundle.entry or []
        self.by_url: dict[str, Any] = {}
        self.by_type_id: dict[str, Any] = {}
        self.base_of: dict[int, str] = {}
        for position, entry in enumerate(self.entries):
            resource = entry.resource
            kind = resource.get_resource_type()
            if entry.fullUrl:
                self.by_url[str(entry.fullUrl)] = resource
                url = str(entry.fullUrl)
                if resource.id and url.endswith(f"/{kind}/{resource.id}"):
                    self.base_of[position] = url[: -len(f"/{kind}/{resource.id}")]
            if resource.id:
                self.by_type_id.setdefault(f"{kind}/{resource.id}", resource)
        problems = []
        for position, raw in enumerate(data.get("entry", [])):
            resource = raw.get("resource", {})
            kind = resource.get("resourceType")
            contained = {f"#{c.get('id')}" for c in resource.get("contained", []) if isinstance(c, dict)}
            for path, reference in _references(resource, ""):
                if reference.startswith("#"):
                    if reference not in contained:
                        problems.append(Problem(f"entry {position + 1} ({kind}) {path}",
                                                f"refers to {reference}, which the resource does not contain"))
                elif self.find(reference, position) is None:
                    problems.append(Problem(f"entry {position + 1} ({kind}) {path}",
                                            f"refers to {reference}, which the bundle does not contain"))
        if problems:
            raise UnreadableRequest(file, problems)
        self.positions = {id(entry.resource): n for n, entry in enumerate(self.entries)}

    def find(self, reference: str, position: int | None = None):
        reference = reference.split("/_history/")[0]
        if reference in self.by_url:
            return self.by_url[reference]
        if reference.startswith(("urn:uuid:", "urn:oid:")):
            return None
        if "://" in reference:  # absolute: a fullUrl, else its trailing Type/id
            parts = reference.rstrip("/").split("/")
            return self.by_type_id.get("/".join(parts[-2:])) if len(parts) >= 2 else None
        base = self.base_of.get(position) if position is not None else None
        if base and f"{base}/{reference}" in self.by_url:
            return self.by_url[f"{base}/{reference}"]
        return self.by_type_id.get(reference)

    def resolve(self, reference, of=None):
        """The resource a Reference points at (None for an absent reference)."""
        if reference is None or not reference.reference:
            return None
        position = self.positions.get(id(of)) if of is not None else None
        return self.find(reference.reference, position)


# ----- mapping ----------------------------------------------------------------------------------------------
def _codings(concept) -> list:
    return list(concept.coding or []) if concept is not None else []


def _system(coding) -> str:
    return str(coding.system or "")


def _extensions(element, name: str) -> list:
    return [e for e in (element.extension or []) if str(e.url).rstrip("/").endswith(name)]


def _day(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_plan(value).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _human_name(names) -> tuple[str, str]:
    for name in names or []:
        given = " ".join(name.given or [])
        if name.family or given:
            return given, name.family or ""
        if name.text:
            first, _, last = name.text.rpartition(" ")
            return first, last
    return "", ""


def _npi(identifiers) -> str:
    for identifier in identifiers or []:
        if str(identifier.system or "") == NPI_SYSTEM and identifier.value:
            return identifier.value.strip()
    return ""


def _provider(index: Index, reference, of) -> ProviderPart | None:
    resource = index.resolve(reference, of)
    if resource is None:
        return None
    kind = resource.get_resource_type()
    if kind == "PractitionerRole":
        practitioner = index.resolve(resource.practitioner, resource)
        organization = index.resolve(resource.organization, resource)
        part = _provider_of(practitioner) if practitioner is not None else ProviderPart()
        if organization is not None:
            org = _provider_of(organization)
            part = ProviderPart(part.npi or org.npi, part.name or org.name)
        return part
    return _provider_of(resource)


def _provider_of(resource) -> ProviderPart:
    if resource.get_resource_type() == "Organization":
        return ProviderPart(_npi(resource.identifier), (resource.name or "").strip())
    given, family = _human_name(getattr(resource, "name", None))
    name = f"{given} {family}".strip().title() if (given or family) else ""
    return ProviderPart(_npi(resource.identifier), name)


def _member(index: Index, claim) -> tuple[MemberPart, str]:
    patient = index.resolve(claim.patient, claim)
    member = MemberPart()
    member_ids: list[str] = []
    if patient is not None:
        member.first_name, member.last_name = (part.title() for part in _human_name(patient.name))
        member.birth_date = _day(patient.birthDate)
        member.sex = {"female": "F", "male": "M", "other": "X"}.get(str(patient.gender or ""), "U")
        for identifier in patient.identifier or []:
            value = (identifier.value or "").strip()
            if not value:
                continue
            system = str(identifier.system or "").lower()
            types = {c.code for c in _codings(identifier.type)}
            if codes.looks_like_cin(value) or "medi-cal" in system or system.endswith("/cin"):
                member.cin = member.cin or value.upper()
            elif "MB" in types or "member" in system or system.endswith("/min"):
                member_ids.insert(0, value)  # the PAS member identifier comes first
            else:
                member_ids.append(value)
        member.plan_member_id = member_ids[0] if member_ids else ""
    lob = "medi-cal"
    for insurance in claim.insurance or []:
        coverage = index.resolve(insurance.coverage, claim)
        if coverage is None:
            continue
        if not member.plan_member_id and not member.cin and coverage.subscriberId:
            member.plan_member_id = coverage.subscriberId.strip()
        words = " ".join([*(c.code or "" for c in _codings(coverage.type)),
                          *((k.value or "") + " " + (k.name or "") for k in coverage.class_fhir or [])]).lower() \
            if hasattr(coverage, "class_fhir") else ""
        if any(word in words for word in MEDICARE_WORDS):
            lob = "medicare"
        if insurance.focal:
            break
    return member, lob


def _line_code(concept) -> tuple[str, str]:
    """(code, description) of an item: CPT/HCPCS first, then an NDC, then an X12 service type."""
    codings = _codings(concept)
    for systems in (CPT_SYSTEMS + HCPCS_SYSTEMS, (NDC_SYSTEM,)):
        for coding in codings:
            if _system(coding) in systems and coding.code:
                return coding.code.strip().upper(), coding.display or (concept.text or "")
    for coding in codings:
        if "/1365" in _system(coding) and coding.code:
            code = coding.code.strip().upper()
            return codes.service_type_code(code), coding.display or codes.SERVICE_TYPES.get(code, "")
    for coding in codings:
        if coding.code:
            return coding.code.strip().upper(), coding.display or (concept.text or "")
    return "", concept.text or "" if concept is not None else ""


def _service_request(index: Index, item, claim):
    for extension in _extensions(item, "extension-requestedService"):
        resource = index.resolve(extension.valueReference, claim)
        if resource is not None:
            return resource
    return None


def _lines(index: Index, claim) -> tuple[list[LinePart], str, list[str]]:
    lines, places, notes = [], [], []
    for item in sorted(claim.item or [], key=lambda i: i.sequence or 0):
        code, description = _line_code(item.productOrService)
        request = _service_request(index, item, claim)
        units = item.quantity.value if item.quantity is not None and item.quantity.value is not None else None
        start = end = None
        if item.servicedDate is not None:
            start = _day(item.servicedDate)
        elif item.servicedPeriod is not None:
            start, end = _day(item.servicedPeriod.start), _day(item.servicedPeriod.end)
        if request is not None:
            if units is None and request.quantityQuantity is not None:
                units = request.quantityQuantity.value
            if start is None and request.occurrenceDateTime is not None:
                start = _day(request.occurrenceDateTime)
            elif start is None and request.occurrencePeriod is not None:
                start, end = _day(request.occurrencePeriod.start), _day(request.occurrencePeriod.end)
            notes += [n.text for n in request.note or [] if n.text]
            notes += [c.text for c in request.reasonCode or [] if c.text]
        if item.locationCodeableConcept is not None:
            places += [c.code for c in _codings(item.locationCodeableConcept) if c.code]
        lines.append(LinePart(code, (description or "").strip()[:200], int(round(float(units))) if units else 1,
                              start, end if end != start else None))
    return lines, (places[0] if places else ""), notes


def _diagnoses(index: Index, claim) -> list[DiagnosisPart]:
    result = []
    for diagnosis in sorted(claim.diagnosis or [], key=lambda d: d.sequence or 0):
        concept = diagnosis.diagnosisCodeableConcept
        if concept is None and diagnosis.diagnosisReference is not None:
            condition = index.resolve(diagnosis.diagnosisReference, claim)
            concept = condition.code if condition is not None else None
        codings = _codings(concept)
        chosen = next((c for c in codings if _system(c) in ICD10CM_SYSTEMS), codings[0] if codings else None)
        if chosen is not None and chosen.code:
            result.append(DiagnosisPart(codes.normalize_icd10cm(chosen.code),
                                        (chosen.display or (concept.text or "")).strip()[:200]))
    return result


def _urgency(claim) -> str:
    urgent = any(c.code == "stat" for c in _codings(claim.priority))
    for name in ("extension-levelOfServiceCode", "extension-levelOfServiceType"):
        for extension in _extensions(claim, name):
            urgent = urgent or any(c.code in URGENT_LEVELS for c in _codings(extension.valueCodeableConcept))
    return "urgent" if urgent else "routine"


def _clinical(index: Index, claim) -> tuple[list[str], list[str], int | None]:
    notes, attachments, stay = [], [], None
    for info in claim.supportingInfo or []:
        if info.valueString:
            notes.append(info.valueString)
        if info.valueReference is not None:
            resource = index.resolve(info.valueReference, claim)
            if resource is not None and resource.get_resource_type() == "DocumentReference":
                label = resource.description or next(
                    (c.display or c.code for c in _codings(resource.type) if c.display or c.code), "document")
                attachments.append(f"PAS DocumentReference: {label}")
        if info.valueAttachment is not None:
            attachments.append(f"PAS attachment: {info.valueAttachment.title or info.valueAttachment.contentType}")
        for description in _extensions(info, "extension-infoDescription"):
            if description.valueString:
                notes.append(description.valueString)
        if info.timingPeriod is not None and info.timingPeriod.start and info.timingPeriod.end:
            stay = stay or _days(info.timingPeriod.start, info.timingPeriod.end)
    for extension in _extensions(claim, "extension-encounter"):
        encounter = index.resolve(extension.valueReference, claim)
        if encounter is not None and encounter.period is not None and encounter.period.start and encounter.period.end:
            stay = stay or _days(encounter.period.start, encounter.period.end)
    return notes, attachments, stay


def _days(start, end) -> int | None:
    first, last = _day(start), _day(end)
    if first is None or last is None or last < first:
        return None
    return max(1, (last - first).days)


def _in_progress(index: Index, claim) -> bool:
    for extension in _extensions(claim, "extension-encounter"):
        encounter = index.resolve(extension.valueReference, claim)
        if encounter is not None and str(encounter.status) == "in-progress":
            return True
    return False


def infer_category(lines: list[LinePart], pos: str, service_types: list[str], institutional: bool,
                   stay: int | None) -> str:
    """The service category of a PAS request, which PAS does not carry: from the codes, the place of service and
    the X12 service types (our reading; the coordinator corrects it on the case when it is wrong)."""
    line_codes = [line.code for line in lines]
    kinds = set(service_types) | {c[len(codes.SERVICE_TYPE_PREFIX):] for c in line_codes if codes.is_service_type(c)}

    def any_in(low: str, high: str) -> bool:
        return any(len(c) == len(low) and low <= c <= high and c[0].isalpha() == low[0].isalpha()
                   for c in line_codes)

    if any(is_ndc(c) for c in line_codes) or any_in("J0120", "J9999") or "88" in kinds:
        return "medication"
    if pos in ("51", "55", "57") or kinds & {"A4", "A6", "A7", "A8", "MH", "AI"} or any_in("H0001", "H2037"):
        return "bh-sud"
    if pos in ("31", "32") or kinds & {"54", "AG"}:
        return "ltc-snf"
    if pos in ("21", "61") or "48" in kinds or (institutional and stay):
        return "inpatient"
    if any_in("G0151", "G0162") or any_in("S9122", "S9124") or kinds & {"42", "44"}:
        return "home-health"
    if any_in("E0100", "E8002") or any_in("K0001", "K0899") or kinds & {"12", "18"}:
        return "dme"
    if any_in("S5100", "S5199") or any_in("T1019", "T1022") or "G9008" in line_codes:
        return "community-supports"
    return "outpatient"


def _claim(index: Index, file: str):
    claims = [e.resource for e in index.entries if e.resource.get_resource_type() == "Claim"]
    preauth = [c for c in claims if str(c.use) == "preauthorization"]
    if not preauth:
        found = ", ".join(f"use '{c.use}'" for c in claims) if claims else "no Claim at all"
        raise UnreadableRequest(file, [Problem("the bundle", f"has no Claim with use 'preauthorization' ({found})")])
    return preauth[0]


def map_bundle(index: Index, file: str, received_at: datetime, key: str) -> IntakeDraft:
    claim = _claim(index, file)
    member, lob = _member(index, claim)
    requesting = _provider(index, claim.provider, claim) or ProviderPart()
    servicing = None
    for member_of_team in sorted(claim.careTeam or [], key=lambda t: t.sequence or 0):
        servicing = _provider(index, member_of_team.provider, claim)
        if servicing is not None:
            break
    lines, pos, request_notes = _lines(index, claim)
    notes, attachments, stay = _clinical(index, claim)
    service_types = [c.code for item in claim.item or [] for c in _codings(item.category)
                     if "/1365" in _system(c) and c.code]
    institutional = any(c.code == "institutional" for c in _codings(claim.type))
    category = infer_category(lines, pos, service_types, institutional, stay)
    received_on = to_plan(received_at).date()
    dates = [d for line in lines for d in (line.from_date, line.to_date) if d]
    if _in_progress(index, claim):
        timing = "concurrent"
    elif dates and max(dates) < received_on:
        timing = "post-service"
    else:
        timing = "pre-service"
    external = next((i.value for i in claim.identifier or [] if i.value), "")
    return IntakeDraft(
        channel="fhir", received_at=received_at, member=member, requesting=requesting, servicing=servicing,
        line_of_business=lob, service_category=category, review_timing=timing, urgency=_urgency(claim),
        place_of_service=pos, network_status="unknown", lines=lines, diagnoses=_diagnoses(index, claim),
        requested_los_days=stay if category == "inpatient" else None,
        clinical_note="\n\n".join(dict.fromkeys(n.strip() for n in notes + request_notes if n and n.strip())),
        attachments=attachments, source=file, source_key=key, external_id=external or "")
