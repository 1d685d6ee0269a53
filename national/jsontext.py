"""The simulator's JSON on its request path: orjson, with the standard library for what orjson refuses (and when
orjson is not installed).

Request bodies, answers and the journal's small entries go through here. The record text of an update stays the
standard library's (national/store.py `_record_encode`): its SHA-256 is the content hash stored with each
receipt, so its spelling must not change.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a project dependency; the simulator runs without it too
    orjson = None  # type: ignore[assignment]

_compact_stdlib = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def loads(raw: bytes | str) -> Any:
    """Parse a body. What orjson refuses (NaN, integers beyond 64 bits, invalid UTF-8) goes to the standard
    library, which accepts it or raises as it always did (ValueError, UnicodeDecodeError)."""
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def dumps(value: Any) -> str:
    """Compact JSON text that reads back as `value`: answers and journal entries, which are only parsed again, so
    their spelling may be orjson's (what orjson refuses, a lone surrogate or an integer beyond 64 bits, the
    standard library writes)."""
    if orjson is not None:
        try:
            return orjson.dumps(value).decode()
        except (orjson.JSONEncodeError, TypeError):
            pass
    return _compact_stdlib(value)
