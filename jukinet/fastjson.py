"""JSON on intake's hot paths through orjson, with the standard library's exact results.

Every notice is encoded canonically at receipt (its content hash and stored text), its row encoded for the
inbox insert, its stored envelope decoded for processing, and every applied change encoded for the national
server: the standard library's pure-C paths took 3–10 µs each per notice on these machines, orjson a fraction
of that (docs/intake.md, "Eighth session").

- `loads`: orjson's parser; a text it refuses (integers beyond 64 bits, NaN or Infinity, which the standard
  library accepts) is parsed by the standard library, so the result is the same for every input.
- `canonical`: the standard library's canonical text (sorted keys, no spaces, non-ASCII as is), which content
  hashes depend on. orjson writes the same text for strings, integers, booleans, null, lists and objects with
  string keys (tests/jukinet/test_fastjson.py compares them character by character); anything else, a float
  above all, goes to the standard library.
- `dumps`: compact JSON text where only validity matters (a row for PostgreSQL to parse, a request body).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_canonical_stdlib = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_dumps_stdlib = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_INT_RANGE = range(-(2**63), 2**64)  # what orjson writes as an integer


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _plain(value: Any) -> bool:
    """Only the types orjson writes exactly as the standard library does."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return value in _INT_RANGE
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    return False


def canonical(value: Any) -> str:
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a string orjson refuses (a lone surrogate)
            pass
    return _canonical_stdlib(value)


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _dumps_stdlib(value)
