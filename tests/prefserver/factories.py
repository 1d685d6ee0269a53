"""Synthetic identity content for tests (valid check digits, made-up names)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from jukinet.identifiers import individual_number_check_digit, resident_code_check_digit, with_check_digit
from prefserver.versions import Envelope


def make_resident_code(rng: random.Random) -> str:
    return with_check_digit(f"{rng.randrange(10**10):010d}", resident_code_check_digit)


def make_individual_number(rng: random.Random) -> str:
    return with_check_digit(f"{rng.randrange(10**11):011d}", individual_number_check_digit)


def identity_content(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "name": "見本 太郎", "name_gaiji_count": 0, "name_kana": "ミホン タロウ", "birth_date": dt.date(1980, 4, 1),
        "sex": 1, "address": "山口県山口市見本町一丁目2番3号", "address_gaiji_count": 0,
        "individual_number": "123456789018", "district_code": "0012", "gaiji_flag": False,
        "name_gaiji_revision": 0, "address_gaiji_revision": 0, "former_surname": None,
        "former_surname_gaiji_count": None, "former_surname_kana": None, "former_surname_gaiji_revision": None,
    }  # fmt: skip
    content.update(overrides)
    return content


def envelope(**overrides: Any) -> Envelope:
    values: dict[str, Any] = {
        "resident_code": "12345678903", "change_reason": "11", "change_date": dt.date(2025, 4, 1),
        "municipality_code": "352039", "operator_id": "OP0042", "terminal_id": "CS352039-05",
        "received_on": dt.date(2025, 4, 1), "update_sequence": 1,
    }  # fmt: skip
    values.update(overrides)
    return Envelope(**values)
