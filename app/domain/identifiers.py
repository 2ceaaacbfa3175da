"""Identifiers a request carries, and their checks.

NPI: 10 digits whose last is a Luhn check digit computed over the 9 first digits prefixed by 80840 (CMS, "Requirements
for NPI check digit").
"""
from __future__ import annotations


def _luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # every second digit from the right, starting with the rightmost of the payload
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def npi_check_digit(first_nine: str) -> str:
    """The check digit that completes a 9-digit NPI stem."""
    return str((10 - _luhn_sum("80840" + first_nine) % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi[-1] == npi_check_digit(npi[:9])
