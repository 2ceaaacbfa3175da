"""Synthetic sample letters for review (`umws letter samples`): one case per kind, never real member data.

Each sample is a `LetterFacts` built here from fixed synthetic values (so the samples are the same on every run
and need no store), with the Spanish translations a translator would add for a Spanish-speaking member.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from app.domain.letters.facts import AppealFact, CriteriaFact, LetterFacts, LineFact, UnmetCriterion
from app.domain.letters.kinds import KINDS, recipients_for

NOTICE_DATE = date(2026, 11, 24)
RECEIVED = datetime(2026, 11, 17, 17, 5, tzinfo=timezone.utc)
DECIDED = datetime(2026, 11, 23, 19, 14, tzinfo=timezone.utc)
DUE = datetime(2026, 12, 2, 7, 59, tzinfo=timezone.utc)

_PT = CriteriaFact("outpatient-physical-therapy", "2026.1", "Outpatient physical therapy visits",
                   "Title 22 CCR 51309 (physical therapy) and the Medi-Cal Provider Manual", "Rules for physical therapy visits")
_UNMET = [UnmetCriterion("Objective functional deficit documented with a standardized measure",
                         "A test that shows how much your back problem limits what you can do."),
          UnmetCriterion("Measurable progress toward goals in the last 4 weeks of therapy",
                         "Proof that the therapy you had in the last 4 weeks helped you.")]
_REASON = ("Your doctor asked for 6 more physical therapy visits for your lower back. Your records do not show "
           "that the visits you had helped you move better. They also do not show a test of how your back limits "
           "you. We need both to approve more visits.")
_REASON_ES = ("Su médico pidió 6 visitas más de terapia física para la parte baja de su espalda. Sus registros no "
              "muestran que las visitas que tuvo le ayudaron a moverse mejor. Tampoco muestran una prueba de cuánto "
              "le limita la espalda. Necesitamos ambas cosas para aprobar más visitas.")
_NOT_COVERED = ("You asked for a hot tub to help your joint pain. Medi-Cal does not cover hot tubs or spas, even "
                "when a doctor orders them. Your doctor can ask for physical therapy or other care we cover.")
_NOT_COVERED_ES = ("Usted pidió una tina de hidromasaje para el dolor de sus articulaciones. Medi-Cal no cubre tinas "
                   "ni spas, aunque un médico los recete. Su médico puede pedir terapia física u otra atención que "
                   "cubrimos.")
_STAY = ("You are in the hospital after your hip surgery. You are now well enough to get care in a nursing "
         "facility. We will not pay for more days in the hospital after the date below.")
_STAY_ES = ("Usted está en el hospital después de su cirugía de cadera. Ya está lo bastante bien para recibir "
            "atención en un centro de enfermería. No pagaremos más días en el hospital después de la fecha de abajo.")
_INFO = ["Physical therapy notes from the last 4 weeks", "The results of a standard back function test"]
_INFO_ES = ["Notas de terapia física de las últimas 4 semanas", "Los resultados de una prueba estándar de la función "
            "de la espalda"]


# Appeals (issue 13): a standard appeal of a reduction of physical therapy visits the member is getting, upheld.
_APPEAL_REASON = ("We looked at your appeal and all your records again. Your records still do not show that the "
                  "therapy visits you had helped you move better. So we cannot approve more visits now. Your "
                  "therapist can send us a new test of how your back limits you.")
_APPEAL_REASON_ES = ("Revisamos su apelación y todos sus registros otra vez. Sus registros todavía no muestran que "
                     "las visitas de terapia que tuvo le ayudaron a moverse mejor. Por eso no podemos aprobar más "
                     "visitas ahora. Su terapeuta puede enviarnos una prueba nueva de cuánto le limita la espalda.")
_APPEAL = AppealFact(
    filed_by="member", received_at=datetime(2026, 11, 3, 18, 20, tzinfo=timezone.utc),
    appealed_decided_at=datetime(2026, 10, 27, 21, 5, tzinfo=timezone.utc), ongoing_service=True,
    resolution_due=datetime(2026, 12, 4, 7, 59, 59, tzinfo=timezone.utc), result="upheld",
    resolved_at=datetime(2026, 11, 23, 19, 14, tzinfo=timezone.utc), reviewer_specialty="Internal Medicine")


def _base(kind: str, lob: str = "medi-cal") -> LetterFacts:
    return LetterFacts(
        tar="90000000042", letter_ref="L-3F9A2C", line_of_business=lob, review_timing="pre-service",
        received_at=RECEIVED, member_name="Rosa Delgado", member_id="91234567A",
        member_address=["1420 Alder Street, Apt 3", "Vallejo, CA 94590"], member_language="en",
        provider_name="Harbor Physical Therapy Group", provider_address=["300 Marina Way", "Vallejo, CA 94590"],
        lines=[LineFact("97110", "Physical therapy visits (therapeutic exercise)", 6)],
        decision_due=DUE, decision_maker="Elena Morales, DO", decision_maker_phone="1-707-555-0142",
    )


_SERVICES_ES = {"97110": "Visitas de terapia física (ejercicio terapéutico)", "E1399": "Tina de hidromasaje (spa) para "
                "uso en casa", "0110": "Estancia en el hospital (días de hospitalización)"}
_UNMET_ES = {_UNMET[0].text: "Una prueba que muestre cuánto le limita su problema de espalda lo que puede hacer.",
             _UNMET[1].text: "Prueba de que la terapia que tuvo en las últimas 4 semanas le ayudó.",
             "Continued acute-level need: IV therapy, telemetry or daily physician intervention":
                 "Una necesidad de atención que solo un hospital puede dar."}


def sample_facts(kind: str, language: str = "en", lob: str = "medi-cal") -> LetterFacts:
    """A synthetic case for the kind, for a member who reads `language` (with the translations a translator
    would add for a Spanish-speaking member)."""
    facts = _sample_facts(kind, language, lob)
    if language == "es":
        facts.translations = {**facts.translations,
                              "services": [_SERVICES_ES[line.code] for line in facts.lines],
                              "criteria_not_met": [_UNMET_ES[u.text] for u in facts.unmet]}
    return facts


def _sample_facts(kind: str, language: str, lob: str) -> LetterFacts:
    f = _base(kind, lob)
    f.member_language = language
    es = language == "es"
    decided = dict(decided_at=DECIDED, rationale="", criteria=[_PT])
    if kind == "denial-medical-necessity":
        f = replace(f, outcome="denied", basis="medical-necessity", member_reason=_REASON, unmet=list(_UNMET),
                    lines=[replace(f.lines[0], approved_units=0)], **decided,
                    translations={"member_reason": _REASON_ES} if es else {})
        f.rationale = ("No standardized functional outcome measure (e.g. Oswestry) documented; no measurable "
                       "progress over 8 prior visits. Criteria 2.1 and 3.2 not met.")
    elif kind == "denial-not-covered":
        f = replace(f, outcome="denied", basis="benefit", member_reason=_NOT_COVERED, **decided,
                    lines=[LineFact("E1399", "Hot tub (spa) for home use", 1, 0)],
                    translations={"member_reason": _NOT_COVERED_ES} if es else {})
        f.criteria = [CriteriaFact("medi-cal-dme-benefit", "2026-01", "Medi-Cal durable medical equipment benefit",
                                   "Title 22 CCR 51160 (durable medical equipment: items not covered)")]
        f.rationale = "Spa / hot tub is excluded from the DME benefit (Title 22 CCR 51160); not a medical device."
    elif kind == "modification":
        f = replace(f, outcome="partially-approved", basis="medical-necessity", member_reason=_REASON,
                    unmet=list(_UNMET[1:]), lines=[replace(f.lines[0], approved_units=3)], **decided,
                    translations={"member_reason": _REASON_ES} if es else {})
        f.member_reason = ("We approved 3 of the 6 physical therapy visits your doctor asked for. Your records do "
                           "not yet show that therapy helps you. After 3 visits your therapist can send us your "
                           "progress and ask for more.")
        if es:
            f.translations = {"member_reason": "Aprobamos 3 de las 6 visitas de terapia física que pidió su médico. "
                              "Sus registros todavía no muestran que la terapia le ayude. Después de 3 visitas, su "
                              "terapeuta puede enviarnos su progreso y pedir más."}
        f.rationale = "Approve 3 visits to establish measurable progress; criterion 3.2 not met for 6."
    elif kind == "termination":
        f = replace(f, outcome="partially-approved", basis="medical-necessity", member_reason=_STAY,
                    review_timing="concurrent", effective_date=date(2026, 12, 7), **decided,
                    lines=[LineFact("0110", "Hospital stay (inpatient days)", 7, 4)],
                    unmet=[UnmetCriterion("Continued acute-level need: IV therapy, telemetry or daily physician "
                                          "intervention", "A need for care that only a hospital can give.")],
                    translations={"member_reason": _STAY_ES} if es else {})
        f.criteria = [CriteriaFact("inpatient-continued-stay", "2026.1", "Inpatient continued stay",
                                   "Title 22 CCR 51303 and the plan's continued-stay criteria")]
        f.provider_name = "Solano General Hospital"
        f.rationale = "Discharge criteria met on day 4; SNF bed available. Continued acute stay not medically necessary."
    elif kind == "approval":
        f = replace(f, outcome="approved", basis="medical-necessity", **decided,
                    lines=[replace(f.lines[0], approved_units=6, from_date=date(2026, 11, 24),
                                   to_date=date(2027, 1, 23))])
        f.rationale = "Criteria met."
    elif kind == "extension":
        f = replace(f, extension_reason="information-needed", information_needed=list(_INFO),
                    translations={"information_needed": _INFO_ES} if es else {})
        f.decision_due = datetime(2026, 12, 16, 7, 59, tzinfo=timezone.utc)
    elif kind == "untimely-decision":
        f.decision_due = datetime(2026, 11, 24, 7, 59, tzinfo=timezone.utc)
    elif kind == "request-for-information":
        f = replace(f, information_needed=list(_INFO), translations={"information_needed": _INFO_ES} if es else {})
    elif kind == "appeal-resolution":
        f = replace(f, outcome="partially-approved", basis="medical-necessity", member_reason=_APPEAL_REASON,
                    review_timing="concurrent", received_at=datetime(2026, 10, 20, 16, 0, tzinfo=timezone.utc),
                    lines=[replace(f.lines[0], approved_units=2)], decided_at=DECIDED, criteria=[_PT],
                    decision_maker="Arun Shah, MD", decision_maker_phone="1-707-555-0141", appeal=_APPEAL,
                    translations={"member_reason": _APPEAL_REASON_ES} if es else {})
        f.rationale = ("Appeal reviewed with the new therapy notes: still no standardized functional measure and no "
                       "measurable progress over 8 visits; criteria 2.1 and 3.2 not met. Reduction to 2 visits upheld.")
    elif kind in ("appeal-acknowledgement", "appeal-extension"):
        f = replace(f, outcome="denied", basis="medical-necessity", received_at=datetime(2026, 10, 20, 16, 0,
                                                                                        tzinfo=timezone.utc),
                    lines=[replace(f.lines[0], approved_units=0)])
        f.appeal = replace(_APPEAL, result=None, resolved_at=None, ongoing_service=False, expedited=True,
                           expedited_denied=kind == "appeal-acknowledgement",
                           extension_reason="information-needed" if kind == "appeal-extension" else None)
    return f


def sample_letters(languages=("en", "es")) -> list[tuple[str, str, str, str]]:
    """(line of business, kind, recipient, language) of every sample: each kind x recipient x language for
    Medi-Cal, and the Medicare (CMS-10003) member notices of the adverse kinds."""
    from app.domain.letters.kinds import ADVERSE_KINDS

    out = [("medi-cal", kind, recipient, language) for kind in KINDS for recipient in recipients_for(kind)
           for language in languages]
    out += [("medicare", kind, "member", language) for kind in ADVERSE_KINDS for language in languages]
    return out


def sample_file_name(lob: str, kind: str, recipient: str, language: str) -> str:
    prefix = "medicare-" if lob == "medicare" else ""
    return f"{prefix}{kind}-{recipient}-{language}.pdf"
