"""A request as it arrives, before it is a case: the one shape the form, the fax inbox, CSV rows and FHIR bundles
all map to (so that one set of rules checks them all)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.domain.plantime import PLAN_TZ

CHANNELS = {"form": "Intake form", "fax": "Fax / document inbox", "csv": "CSV batch", "fhir": "FHIR PAS bundle"}
NETWORK_STATUSES = {"in-network": "In network", "out-of-network": "Out of network", "unknown": "Not known"}


@dataclass
class MemberPart:
    cin: str = ""  # Medi-Cal client index number
    plan_member_id: str = ""  # the plan's own member id (PAS bundles often carry only this)
    first_name: str = ""
    last_name: str = ""
    birth_date: date | None = None
    sex: str = "U"

    @property
    def identified(self) -> bool:
        return bool(self.cin.strip() or self.plan_member_id.strip())


@dataclass
class ProviderPart:
    npi: str = ""
    name: str = ""


@dataclass
class LinePart:
    code: str  # CPT / HCPCS, or 'X12:<service type>' (app.domain.intake.codes.SERVICE_TYPE_PREFIX)
    description: str = ""
    units: int = 1
    from_date: date | None = None
    to_date: date | None = None

    @property
    def last_date(self) -> date | None:
        return self.to_date or self.from_date


@dataclass
class DiagnosisPart:
    code: str
    description: str = ""


@dataclass
class IntakeDraft:
    """What a request says. Times are timezone-aware; `received_at` is when the plan received it (the clocks run
    from there, timeliness.md "Definitions")."""

    channel: str
    received_at: datetime
    member: MemberPart = field(default_factory=MemberPart)
    requesting: ProviderPart = field(default_factory=ProviderPart)
    servicing: ProviderPart | None = None
    line_of_business: str = "medi-cal"
    service_category: str = "outpatient"
    review_timing: str = "pre-service"
    urgency: str = "routine"
    place_of_service: str = ""
    network_status: str = "in-network"
    lines: list[LinePart] = field(default_factory=list)
    diagnoses: list[DiagnosisPart] = field(default_factory=list)
    requested_los_days: int | None = None
    proposed_date: date | None = None
    clinical_note: str = ""
    attachments: list[str] = field(default_factory=list)  # document names (fax pages, PAS DocumentReferences)
    primary_denial_date: date | None = None  # a primary insurer's denial (post-service timeliness)
    retro_eligibility_date: date | None = None  # retroactive eligibility granted on this day
    source: str = ""  # where in its file the request came from ('requests.csv line 4'), for messages
    source_key: str = ""  # identifies the submission, so importing it again creates nothing (a hash)
    external_id: str = ""  # the sender's own identifier (Claim.identifier, CSV request_id)

    def describe(self) -> list[str]:
        """The request in a few lines, for people comparing it with something else (the Conflicts queue)."""
        member = self.member
        name = " ".join(part for part in (member.first_name, member.last_name) if part) or "(no name)"
        ids = ", ".join([f"CIN {member.cin}"] * bool(member.cin)
                        + [f"plan id {member.plan_member_id}"] * bool(member.plan_member_id))
        born = f", born {member.birth_date.isoformat()}" if member.birth_date else ""
        out = [f"Member: {name} ({ids or 'not identified'}){born}",
               f"Requested by: {self.requesting.name or '—'}" + (f" (NPI {self.requesting.npi})"
                                                                if self.requesting.npi else ""),
               f"Received: {self.received_at.astimezone(PLAN_TZ).strftime('%Y-%m-%d %H:%M %Z')} by "
               f"{CHANNELS.get(self.channel, self.channel)}",
               f"Review: {self.urgency} {self.review_timing}, {self.service_category}, {self.line_of_business}, "
               f"{NETWORK_STATUSES.get(self.network_status, self.network_status).lower()}"]
        for line in self.lines:
            dates = " to ".join(d.isoformat() for d in (line.from_date, line.to_date) if d)
            out.append(f"Service: {line.code} {line.description} × {line.units}" + (f", {dates}" if dates else ""))
        if self.requested_los_days:
            out.append(f"Days requested: {self.requested_los_days}")
        for diagnosis in self.diagnoses:
            out.append(f"Diagnosis: {diagnosis.code} {diagnosis.description}".rstrip())
        if self.attachments:
            out.append(f"Documents: {', '.join(self.attachments)}")
        if self.clinical_note:
            note = self.clinical_note if len(self.clinical_note) <= 200 else self.clinical_note[:200] + "…"
            out.append(f"Clinical note: {note}")
        return out

    def service_dates(self) -> list[date]:
        return [d for line in self.lines for d in (line.from_date, line.to_date) if d is not None]
