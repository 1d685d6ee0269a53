"""The operation log's chain arithmetic (domain.md §11 "Integrity"): canonical encoding and hashes.

Shared by the append (audit.services), the verifier and the benchmark so that all three hash the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

GENESIS = bytes(32)  # h(0)


def utc_iso(moment: dt.datetime) -> str:
    """UTC ISO-8601 with microseconds, e.g. 2026-11-26T01:02:03.000004Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(
    *,
    sequence: int,
    recorded_at: dt.datetime,
    actor: str,
    terminal_id: int | None,
    kind: int,
    affair_id: int | None,
    targets: list[list[str]],
    outcome: str,
    conditions: Any,
    result_count: int | None,
) -> bytes:
    """RFC 8785 JSON of one entry: ASCII keys, no floats, so sorted compact json.dumps is canonical."""
    entry = {
        "actor": actor,
        "affair": affair_id,
        "conditions": conditions,
        "kind": kind,
        "outcome": outcome,
        "recorded_at": utc_iso(recorded_at),
        "result_count": result_count,
        "sequence": sequence,
        "targets": targets,
        "terminal": terminal_id,
    }
    return _CANONICAL.encode(entry).encode()


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """RFC 8785 text of a JSON value without floats: how `targets` and `conditions` are stored."""
    return _CANONICAL.encode(value)


def chain_hash(previous: bytes, canonical: bytes) -> bytes:
    """h(n) = SHA-256(h(n-1) ‖ canonical(entry n))."""
    return hashlib.sha256(previous + canonical).digest()


def reject_floats(value: Any, path: str = "conditions") -> None:
    """Canonical JSON forbids floats (their text is not unique); conditions must use ints or strings."""
    if isinstance(value, float):
        raise ValueError(f"{path}: floats are not allowed in the operation log")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValueError(f"{path}: keys must be ASCII strings")
            reject_floats(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            reject_floats(item, f"{path}[{index}]")
    elif value is not None and not isinstance(value, str | int | bool):
        raise ValueError(f"{path}: only JSON strings, integers, booleans, lists and objects are allowed")
