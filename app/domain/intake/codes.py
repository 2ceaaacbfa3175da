"""Format checks for the codes and identifiers a request carries.

* ICD-10-CM (CDC/NCHS ICD-10-CM Official Guidelines, "Structure"): 3 to 7 characters; the first a letter, the second a
  digit, the third a digit or letter; after the category (3 characters) a dot and up to four more characters
  (digits or letters; 'X' is the placeholder). Written with or without the dot; we store it with the dot.
  This checks the format, not that the code exists in this year's tabular list.
* CPT (AMA): five digits (Category I), or four digits and F (Category II), T (Category III) or U (PLA codes).
  HCPCS Level II (CMS): a letter A-V and four digits.
* NPI: app.domain.identifiers (Luhn check digit over 80840 + the first nine digits).
* X12 service type codes (code list 1365): the ones a PAS bundle carries when it names no CPT/HCPCS code (a
  referral or a consultation), with the words users read.
"""
from __future__ import annotations

import re

from app.domain.identifiers import npi_is_valid

_ICD10CM = re.compile(r"^([A-Z][0-9][0-9A-Z])(?:\.?([0-9A-Z]{1,4}))?$")
_CPT = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[FTU])$")
_HCPCS = re.compile(r"^[A-V][0-9]{4}$")
_POS = re.compile(r"^[0-9]{2}$")
_CIN = re.compile(r"^[0-9]{8}[A-Z]$")

# X12 code list 1365 (Service Type Code): the codes users meet on PAS referrals, with their names.
SERVICE_TYPES = {
    "1": "Medical care", "2": "Surgical", "3": "Consultation", "4": "Diagnostic X-ray", "5": "Diagnostic lab",
    "6": "Radiation therapy", "7": "Anesthesia", "12": "Durable medical equipment purchase",
    "18": "Durable medical equipment rental", "33": "Chiropractic", "42": "Home health care",
    "44": "Home health visits", "45": "Hospice", "48": "Hospital - inpatient", "50": "Hospital - outpatient",
    "54": "Long-term care", "56": "Medically related transportation", "62": "MRI/CAT scan",
    "73": "Diagnostic medical", "86": "Emergency services", "88": "Pharmacy",
    "98": "Professional (physician) visit - office", "A4": "Psychiatric", "A6": "Psychotherapy",
    "A7": "Psychiatric - inpatient", "A8": "Psychiatric - outpatient", "AD": "Occupational therapy",
    "AE": "Physical medicine", "AF": "Speech therapy", "AG": "Skilled nursing care", "AI": "Substance abuse",
    "BG": "Cardiac rehabilitation", "MH": "Mental health", "PT": "Physical therapy", "UC": "Urgent care",
}
# A line that names only a service type is stored with this prefix in place of a CPT/HCPCS code.
SERVICE_TYPE_PREFIX = "X12:"
# Service types that are a referral or a consultation: no CPT/HCPCS code is expected on them.
REFERRAL_SERVICE_TYPES = frozenset({"3", "98", "A4", "MH"})

# CMS place-of-service codes users pick most, with their names (the full list is CMS's; any two digits pass).
PLACES_OF_SERVICE = {
    "02": "Telehealth (not in patient's home)", "10": "Telehealth in patient's home", "11": "Office",
    "12": "Home", "19": "Off-campus outpatient hospital", "21": "Inpatient hospital",
    "22": "On-campus outpatient hospital", "23": "Emergency room - hospital", "24": "Ambulatory surgical center",
    "31": "Skilled nursing facility", "32": "Nursing facility", "34": "Hospice", "49": "Independent clinic",
    "51": "Inpatient psychiatric facility", "55": "Residential substance abuse treatment facility",
    "57": "Non-residential substance abuse treatment facility", "61": "Comprehensive inpatient rehabilitation",
    "65": "End-stage renal disease treatment facility", "81": "Independent laboratory",
}
EMERGENCY_ROOM_POS = "23"


def normalize_icd10cm(code: str) -> str:
    """'m5450' -> 'M54.50'; a code that is not in the ICD-10-CM format comes back upper-cased and trimmed."""
    text = (code or "").strip().upper()
    match = _ICD10CM.match(text)
    if not match:
        return text
    category, rest = match.groups()
    return f"{category}.{rest}" if rest else category


def icd10cm_problem(code: str) -> str | None:
    """Why `code` is not in the ICD-10-CM format, in the user's words (None when it is)."""
    text = (code or "").strip().upper()
    if not text:
        return "no diagnosis code"
    if not _ICD10CM.match(text):
        if text[:1].isdigit():
            return f"'{code}' is not an ICD-10-CM code: it starts with a letter (e.g. M54.50)"
        if len(text.replace(".", "")) > 7:
            return f"'{code}' is not an ICD-10-CM code: at most 7 characters (e.g. S72.001A)"
        return f"'{code}' is not in the ICD-10-CM format (a letter, a digit, a digit or letter, then up to 4 more)"
    return None


def is_cpt(code: str) -> bool:
    return bool(_CPT.match((code or "").strip().upper()))


def is_hcpcs(code: str) -> bool:
    return bool(_HCPCS.match((code or "").strip().upper()))


def is_service_type(code: str) -> bool:
    """A line code written as 'X12:<service type>' (a referral or consultation with no CPT/HCPCS code)."""
    return code.startswith(SERVICE_TYPE_PREFIX) and code[len(SERVICE_TYPE_PREFIX):] in SERVICE_TYPES


def service_type_code(code: str) -> str:
    return SERVICE_TYPE_PREFIX + code


def procedure_problem(code: str) -> str | None:
    """Why a request line's code is neither CPT nor HCPCS Level II (nor a known X12 service type)."""
    text = (code or "").strip().upper()
    if not text:
        return "no procedure code"
    if is_cpt(text) or is_hcpcs(text) or is_service_type(text):
        return None
    return f"'{code}' is not a CPT code (5 digits, or 4 digits and F, T or U) or a HCPCS code (a letter A-V and 4 digits)"


def npi_problem(npi: str | None, whose: str) -> str | None:
    """Why an NPI is wrong (None when it passes its check digit). `whose`: 'requesting provider' etc."""
    text = (npi or "").strip()
    if not text:
        return f"{whose} NPI"
    if not (len(text) == 10 and text.isdigit()):
        return f"{whose} NPI '{text}' is not 10 digits"
    if not npi_is_valid(text):
        return f"{whose} NPI '{text}' fails its check digit (mistyped?)"
    return None


def pos_problem(pos: str | None) -> str | None:
    text = (pos or "").strip()
    if not text:
        return "location of service (place of service)"
    if not _POS.match(text):
        return f"place of service '{text}' is not a 2-digit CMS place-of-service code"
    return None


def looks_like_cin(value: str) -> bool:
    """A Medi-Cal client index number: 8 digits and a check letter (e.g. 91234567A)."""
    return bool(_CIN.match((value or "").strip().upper()))


def is_surgical_cpt(code: str) -> bool:
    """CPT surgery section (10004-69990): an outpatient request for one needs its proposed date."""
    text = (code or "").strip()
    return text.isdigit() and len(text) == 5 and 10004 <= int(text) <= 69990
