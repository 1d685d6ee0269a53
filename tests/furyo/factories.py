"""Synthetic 附票 content for tests (valid check digits, made-up names). No individual number, ever."""

from __future__ import annotations

import datetime as dt
from typing import Any

from furyo.versions import FuryoEnvelope


def furyo_content(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "name": "見本 花子", "name_gaiji_count": 0, "name_kana": "ミホン ハナコ", "birth_date": dt.date(1985, 6, 1),
        "sex": 2, "address_municipality_code": "352039", "address": "山口県山口市見本町一丁目2番3号",
        "address_gaiji_count": 0, "last_address": None, "last_address_gaiji_count": None,
        "former_resident_code": None, "furyo_municipality_code": "352039", "status": 1, "gaiji_flag": False,
        "gaiji_pattern": "",
    }  # fmt: skip
    content.update(overrides)
    return content


def furyo_envelope(**overrides: Any) -> FuryoEnvelope:
    values: dict[str, Any] = {
        "resident_code": "12345678903", "notice_kind": "51", "change_date": dt.date(2025, 4, 1),
        "municipality_code": "352039", "operator_id": "OP0042", "terminal_id": "CS352039-05",
        "received_on": dt.date(2025, 4, 1), "update_sequence": 1,
    }  # fmt: skip
    values.update(overrides)
    return FuryoEnvelope(**values)
