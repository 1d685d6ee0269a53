"""Signed checkpoints of the operation log (domain.md §11): Ed25519, key file outside the database.

A checkpoint signs (sequence, hash, time) of one entry. It is stored in the database and exported as a JSON
file to OPLOG_CHECKPOINT_EXPORT_DIR, the copy that leaves the system.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from audit.oplog import utc_iso


@lru_cache(maxsize=4)
def _signing_key(path: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("OPLOG_SIGNING_KEY_FILE must hold an Ed25519 private key")
    return key


def signing_key() -> Ed25519PrivateKey:
    return _signing_key(settings.OPLOG_SIGNING_KEY_FILE)


def signing_public_key_hex() -> str:
    raw = signing_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def checkpoint_message(*, sequence: int, head: bytes, recorded_at: dt.datetime) -> bytes:
    return f"jukinet-oplog-checkpoint\n{sequence}\n{head.hex()}\n{utc_iso(recorded_at)}\n".encode()


def checkpoint_export(*, sequence: int, head: bytes, recorded_at: dt.datetime, reason: str, signature: bytes) -> Path:
    folder = Path(settings.OPLOG_CHECKPOINT_EXPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"oplog-checkpoint-{sequence:012d}-{reason}.json"
    document = {
        "sequence": sequence,
        "hash": head.hex(),
        "recorded_at": utc_iso(recorded_at),
        "reason": reason,
        "public_key": signing_public_key_hex(),
        "signature": signature.hex(),
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path
