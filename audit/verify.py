"""Verification of the operation-log chain (domain.md §11): recompute every hash from an anchor.

The anchor is h(0) when the log still starts at entry 1, otherwise the signed checkpoint on the entry just
before the oldest retained one (a purge leaves one there). Signed checkpoints inside the range are checked
too, so a chain rewritten and re-hashed after an edit is still caught at the next checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction

from audit.checkpoints import checkpoint_message, signing_public_key_hex
from audit.models import OperationLogCheckpoint, OperationLogHead
from audit.oplog import GENESIS

# The canonical bytes of each entry (audit.oplog.canonical_entry), concatenated from the column texts in key
# order: targets and conditions are stored as canonical `json` text, and to_json() escapes strings exactly as
# Python's json does with ensure_ascii=False. Hashing stays in Python.
_FETCH = """
SELECT sequence,
       convert_to(
           '{"actor":' || to_json(actor)::text
           || ',"affair":' || coalesce(affair_id::text, 'null')
           || ',"conditions":' || coalesce(conditions::text, 'null')
           || ',"kind":' || kind::text
           || ',"outcome":' || to_json(outcome)::text
           || ',"recorded_at":"' || to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
           || '","result_count":' || coalesce(result_count::text, 'null')
           || ',"sequence":' || sequence::text
           || ',"targets":' || coalesce(targets::text, 'null')
           || ',"terminal":' || coalesce(terminal_id::text, 'null')
           || '}',
           'UTF8'),
       hash
FROM audit_operationlogentry
WHERE sequence >= %s AND sequence <= %s
ORDER BY sequence, recorded_at
"""


@dataclass
class VerifyResult:
    ok: bool
    first: int | None = None
    last: int | None = None
    checked: int = 0
    anchor: str = ""
    broken_sequence: int | None = None
    reason: str = ""
    checkpoints_checked: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.checked} entries verified (#{self.first}–#{self.last}), anchor {self.anchor}, "
                f"{self.checkpoints_checked} checkpoints"
            )
        return f"BROKEN at sequence {self.broken_sequence}: {self.reason}"


def _checkpoint_valid(checkpoint: OperationLogCheckpoint, trusted_key: str) -> bool:
    if checkpoint.public_key != trusted_key:
        return False
    message = checkpoint_message(
        sequence=checkpoint.sequence, head=bytes(checkpoint.hash), recorded_at=checkpoint.entry_recorded_at
    )
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.public_key)).verify(
            bytes(checkpoint.signature), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def operation_log_verify(*, start: int | None = None, end: int | None = None) -> VerifyResult:
    """Recompute the chain; the result names the first broken sequence, if any."""
    trusted_key = signing_public_key_hex()
    checkpoints = {
        cp.sequence: cp
        for cp in OperationLogCheckpoint.objects.order_by("sequence", "id")
        if _checkpoint_valid(cp, trusted_key)
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(sequence), max(sequence) FROM audit_operationlogentry")
        low, high = cursor.fetchone()  # type: ignore[misc]
    head = OperationLogHead.objects.filter(id=1).first()
    if low is None:
        return _verify_empty(head, checkpoints)
    first = low if start is None else max(start, low)
    last = high if end is None else min(end, high)
    result = VerifyResult(ok=True, first=first)
    if first == 1:
        previous, result.anchor = GENESIS, "h(0)"
    elif first - 1 in checkpoints:
        previous, result.anchor = bytes(checkpoints[first - 1].hash), f"checkpoint #{first - 1}"
    else:
        return VerifyResult(ok=False, broken_sequence=first, reason="no signed checkpoint anchors this entry")
    expected = first
    with transaction.atomic(), connection.connection.cursor(name="oplog_verify") as stream:
        stream.itersize = 20000
        stream.execute(_FETCH, [first, last])
        for row in stream:
            sequence = row[0]
            if sequence != expected:
                why = "duplicate sequence (inserted row)" if sequence < expected else "entry missing"
                return _broken(result, sequence if sequence < expected else expected, why)
            previous = sha256(previous + row[1]).digest()
            if previous != row[2]:
                return _broken(result, sequence, "hash does not match the entry's content or its predecessor")
            checkpoint = checkpoints.get(sequence)
            if checkpoint is not None:
                if bytes(checkpoint.hash) != previous:
                    return _broken(result, sequence, "chain differs from the signed checkpoint")
                result.checkpoints_checked += 1
            expected += 1
            result.checked += 1
    result.last = expected - 1
    if end is None and head is not None and head.sequence > result.last:
        return _broken(result, result.last + 1, "entries missing at the end of the log")
    return result


def _broken(result: VerifyResult, sequence: int, reason: str) -> VerifyResult:
    result.ok, result.broken_sequence, result.reason = False, sequence, reason
    return result


def _verify_empty(head: OperationLogHead | None, checkpoints: dict[int, OperationLogCheckpoint]) -> VerifyResult:
    if head is None or head.sequence == 0 or head.sequence in checkpoints:
        return VerifyResult(ok=True, anchor="empty log")
    return VerifyResult(ok=False, broken_sequence=1, reason="entries missing: the log is empty")
