"""Input clean-up and character sets shared by the identifiers."""

from __future__ import annotations

import unicodedata

# Explicit ASCII sets: str.isdigit() would also accept digits of other scripts (e.g. Arabic-Indic).
DIGITS = frozenset("0123456789")
# GB 11714 and ISO 7064 both give 0–9 the values 0–9 and A–Z the values 10–35.
ALNUM_VALUES = {ch: i for i, ch in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def normalise(value: str) -> str:
    """Full-width digits and letters from Chinese input methods become ASCII; then strip, upper-case."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def is_digits(value: str) -> bool:
    return bool(value) and all(ch in DIGITS for ch in value)
