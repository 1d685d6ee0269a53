"""Writing provision records (domain.md §9.4): append-only, one per attempt, partitioned by month."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, transaction

from audit.models import Affair, Office, Operator, Terminal
from jukinet import clock
from provision import partitions
from provision.models import ProvisionRecord, Source

_known_partitions: set[str] = set()


def _ensure_partition() -> None:
    """Safety net for a month the beat job has not created yet; cached only after commit."""
    month = partitions.month_start(clock.today())
    name = partitions.partition_name(month)
    if name in _known_partitions:
        return
    if not partitions.partition_exists(month):
        partitions.partition_create(month)
    transaction.on_commit(lambda: _known_partitions.add(name))


def provision_record_next_id() -> int:
    """An id for a record about to be written (the emigrant's temporary number links to it first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('provision_record', 'id'))")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def provision_record_write(
    *,
    record_id: int | None = None,
    operator: Operator,
    terminal: Terminal | None,
    recipient: Office | None,
    release_kind: str,
    affair: Affair | None,
    affair_code: str,
    file: str,
    conditions: dict[str, Any],
    subjects: list[int],
    items: list[str],
    channel: str,
    result: str,
    code: str = "",
    document_reference: str = "",
    source: str = Source.LOCAL,
    bulk_request_id: int | None = None,
) -> ProvisionRecord:
    """Append one record. `conditions` must already hold any individual number only as its blind index."""
    _ensure_partition()
    return ProvisionRecord.objects.create(
        id=record_id,
        recorded_at=clock.now(),
        operator=operator,
        terminal=terminal,
        recipient=recipient,
        release_kind=release_kind,
        affair=affair,
        affair_code=(affair_code or "")[:20],
        file=file,
        source=source,
        conditions=conditions,
        subjects=subjects,
        items=items,
        channel=channel,
        result=result,
        code=code,
        document_reference=(document_reference or "")[:200],
        bulk_request_id=bulk_request_id,
    )


# The record's INSERT through the function of migration provision/0002 (a cached plan; sent as text with the
# operation-log append, a plain INSERT would be planned on every request).
_INSERT = (
    "SELECT provision_record_insert(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s, %s,"
    " %s, %s, %s)"
)


def provision_record_statement(
    *,
    record_id: int,
    operator: Operator,
    terminal: Terminal | None,
    recipient: Office | None,
    release_kind: str,
    affair: Affair | None,
    affair_code: str,
    file: str,
    conditions: dict[str, Any],
    subjects: list[int],
    items: list[str],
    channel: str,
    result: str,
    code: str = "",
    document_reference: str = "",
    source: str = Source.LOCAL,
    bulk_request_id: int | None = None,
) -> tuple[str, list[Any]]:
    """`provision_record_write` as (SQL, parameters) for the caller to send with its operation-log append
    (`operation_log_record(preceding=...)`), so record, lock and log entry cost one round trip. The id comes
    from the sequence beforehand (provision.sql.RELEASE_ACCESS). Checks the month's partition like the write."""
    _ensure_partition()
    params = [
        record_id, clock.now(), operator.pk, terminal.pk if terminal else None, recipient.pk if recipient else None,
        release_kind, affair.pk if affair else None, (affair_code or "")[:20], file, source,
        json.dumps(conditions), json.dumps(subjects), json.dumps(items), channel, result,
        code, (document_reference or "")[:200], bulk_request_id,
    ]  # fmt: skip
    return _INSERT, params
