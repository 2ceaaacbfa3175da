"""A request as it arrives, before it is a case: the one shape the form, the fax inbox, CSV rows and FHIR bundles
all map to (so that one set of rules checks them all)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

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

    def service_dates(self) -> list[date]:
        return [d for line in self.lines for d in (line.from_date, line.to_date) if d is not None]
