"""JSON on intake's hot paths through orjson, with the standard library's exact results.

Every notice is encoded canonically at receipt (its content hash and stored text), its stored envelope decoded
for processing, and every applied change encoded for the national server (and its acknowledgements decoded):
the standard library's pure-C paths took 3–10 µs each per notice on these machines, orjson a fraction of that
(docs/intake-measurements.md, "Eighth session").

- `loads`: orjson's parser; a text it refuses (integers beyond 64 bits, NaN or Infinity, which the standard
  library accepts) is parsed by the standard library, so the result is the same for every input.
- `canonical`: the standard library's canonical text (sorted keys, no spaces, non-ASCII as is), which content
  hashes depend on. orjson writes the same text for strings, integers, booleans, null, lists and objects with
  string keys (tests/jukinet/test_fastjson.py compares them character by character); anything else, a float
  above all, goes to the standard library.
- `dumps`: compact JSON text where only validity matters (the national client's request bodies).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_canonical_stdlib = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_dumps_stdlib = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_STR = frozenset({str})


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_SCALARS = frozenset({str, bool, type(None)})
_WRITTEN = _SCALARS | {int, dict, list}  # integers beyond orjson's 64 bits make it raise: canonical() falls back
_CONTAINERS = (dict, list)


def _plain(value: Any) -> bool:
    """Only the types orjson writes exactly as the standard library does: no float, no other type. Each
    container's member types are collected in one C-level pass; the Python loop runs only over containers."""
    kind = type(value)
    if kind is dict:
        if not set(map(type, value)) <= _STR:
            return False
        members = value.values()
    elif kind is list:
        members = value
    else:
        return kind in _WRITTEN
    kinds = set(map(type, members))
    if kinds <= _SCALARS:
        return True
    if not kinds <= _WRITTEN:
        return False
    if dict in kinds or list in kinds:
        return all(_plain(member) for member in members if type(member) in _CONTAINERS)
    return True


def canonical(value: Any) -> str:
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a lone surrogate, an integer beyond 64 bits, nesting over 255 deep
            pass
    return _canonical_stdlib(value)


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _dumps_stdlib(value)
