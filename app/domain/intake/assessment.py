"""Everything intake says about a request before it becomes a case: what is missing, whether it needs prior
authorization, whether it is carved out, whether it is late (issue 11, scopes 1, 7 and 8)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.domain.calendar import BusinessCalendar
from app.domain.intake.authlist import AuthList, AuthNeed, Redirection, default_auth_list
from app.domain.intake.draft import IntakeDraft
from app.domain.intake.late import LateFlag, late_flag
from app.domain.intake.requirements import missing_items
from app.domain.plantime import to_plan


@dataclass
class Assessment:
    missing: list[str] = field(default_factory=list)
    auth: list[AuthNeed] = field(default_factory=list)
    redirections: list[Redirection] = field(default_factory=list)
    late: LateFlag | None = None

    @property
    def no_authorization_required(self) -> bool:
        """Every line is known not to need prior authorization (an emergency visit, or a service off the list):
        the request may be closed administratively with a notice to the provider."""
        return bool(self.auth) and not any(need.required for need in self.auth)

    @property
    def flags(self) -> list[str]:
        """Short flag ids for the worklist and the CLI: no-auth-required, emergency, redirect:<carve-out>, late."""
        result = []
        if self.no_authorization_required:
            result.append("no-auth-required")
        if any(need.emergency for need in self.auth):
            result.append("emergency")
        result += [f"redirect:{r.carve_out}" for r in self.redirections]
        if self.late is not None and self.late.late:
            result.append("late")
        return result

    def to_json(self) -> dict:
        return {"missing": self.missing, "flags": self.flags,
                "authorization": [need.to_json() for need in self.auth],
                "no_authorization_required": self.no_authorization_required,
                "redirections": [r.to_json() for r in self.redirections],
                "late": self.late.to_json() if self.late else None}


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def assess(draft: IntakeDraft, *, auth_list: AuthList | None = None,
           calendar: BusinessCalendar | None = None) -> Assessment:
    auth_list = auth_list or default_auth_list()
    received_on = to_plan(draft.received_at).date()
    pos = draft.place_of_service.strip()
    needs = [auth_list.need(number, line.code, lob=draft.line_of_business, pos=pos,
                            network=draft.network_status, on=line.from_date or received_on)
             for number, line in enumerate(draft.lines, start=1) if line.code.strip()]
    redirections = auth_list.redirections([line.code for line in draft.lines], [d.code for d in draft.diagnoses],
                                          lob=draft.line_of_business,
                                          age=age_on(draft.member.birth_date, received_on))
    late = late_flag(draft.review_timing, draft.received_at, draft.service_dates(),
                     primary_denial=draft.primary_denial_date, retro_eligibility=draft.retro_eligibility_date,
                     calendar=calendar)
    return Assessment(missing_items(draft), needs, redirections, late)
