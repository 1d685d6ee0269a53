"""Check digits and match keys as the national side computes them.

A copy of the formulas of domain.md §3 and the text key of §4.2 (jukinet/identifiers.py and
jukinet/search_keys.py hold the prefecture's own; tests/national/test_identifiers.py keeps the two equal).
The national server is a separate system and does not import the prefecture's Django code.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import unicodedata

INDIVIDUAL_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
MUNICIPALITY_CODE_WEIGHTS = (6, 5, 4, 3, 2)
RESIDENT_CODE_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def _digits(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    if len(digits) != len(weights) or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"expected {len(weights)} ASCII digits")
    # The digits' ASCII codes times the weights, less '0' (48) times the weights: no int() per digit.
    return sum(map(operator.mul, digits.encode(), weights)) - 48 * sum(weights)


def individual_number_check_digit(first11: str) -> int:
    r = _weighted(first11, INDIVIDUAL_NUMBER_WEIGHTS) % 11
    return 0 if r <= 1 else 11 - r


def municipality_code_check_digit(first5: str) -> int:
    return (11 - _weighted(first5, MUNICIPALITY_CODE_WEIGHTS) % 11) % 10


def resident_code_check_digit(first10: str) -> int:
    r = _weighted(first10, RESIDENT_CODE_WEIGHTS) % 11
    return 0 if r <= 1 else 11 - r


def is_valid_individual_number(value: object) -> bool:
    return _digits(value, 12) and individual_number_check_digit(str(value)[:11]) == int(str(value)[11])


def is_valid_municipality_code(value: object) -> bool:
    return _digits(value, 6) and municipality_code_check_digit(str(value)[:5]) == int(str(value)[5])


def is_valid_resident_code(value: object) -> bool:
    return _digits(value, 11) and resident_code_check_digit(str(value)[:10]) == int(str(value)[10])


def text_key(text: str) -> str:
    """Exact-match key for names and addresses: NFKC without variation selectors and spaces."""
    text = _VARIATION_SELECTORS.sub("", unicodedata.normalize("NFKC", text))
    return "".join(text.split())  # split() cuts at exactly the str.isspace() characters: all of them dropped


def is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
