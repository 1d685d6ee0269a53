"""Messages and HTTP status of the §19 codes, read from the ResultCode reference table (cached per process)."""

from __future__ import annotations

from functools import cache

from jukinet.models import ResultCode

# Not a §19 code: the national server could not be reached (the national leg's own refusal).
EXTRA = {"N503": ("全国サーバに接続できません。時間をおいて再度照会してください。", 503)}


@cache
def _table() -> dict[str, tuple[str, int]]:
    rows = {row.code: (row.message, row.http_status or 200) for row in ResultCode.objects.all()}
    return {**rows, **EXTRA}


def message(code: str) -> str:
    return _table().get(code, ("", 200))[0]


def http_status(code: str) -> int:
    return _table().get(code, ("", 200))[1]
