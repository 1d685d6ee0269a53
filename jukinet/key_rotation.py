"""Key rotation of 個人番号 at rest (domain.md §4.2): `manage.py rotate_keys [--index] [--batch N]`.

Re-encryption: every version whose key id is not the active one is decrypted (its old key id still
decrypts) and encrypted again under the active key, in chunks ordered by id, each chunk committed on its
own. A stopped run is resumed by running it again: the rows still under an old key are exactly what is left.
Lookups keep working throughout, because they use the blind index, and every key id in
INDIVIDUAL_NUMBER_KEYS still decrypts. A key id retires (is removed from INDIVIDUAL_NUMBER_KEYS) once
`key_usage()` shows no row under it. The update trigger allows exactly these writes (ciphertext, key id,
blind index; jukinet.partitions.MUTABLE_COLUMNS).

Blind index (`--index`): recomputes HMAC-SHA-256 under the current BLIND_INDEX_KEY and writes only rows whose
value differs, so a rerun is cheap and safe. Staging a blind-index key change: a lookup by number hashes the
input under the one configured key, so rows not yet recomputed are not found by number while the run lasts.
Stage it in a window without number lookups (or accept not-found for that window): (1) deploy the new
BLIND_INDEX_KEY to the processes that run `rotate_keys --index` and the web/API together, (2) run
`rotate_keys --index` to completion (resumable), (3) rerun it to confirm "0 updated". A zero-downtime variant
would look up under both keys during the run (BLIND_INDEX_KEY_PREVIOUS); it is not built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from jukinet.crypto import blind_index, decrypt_individual_number, encrypt_individual_number, keyring

# Only file (1) holds individual numbers (file (2) never does; the temporary store uses day keys).
NUMBER_TABLES = ("prefserver_identity_version",)


@dataclass
class RotationCounts:
    rows_examined: int = 0
    rows_updated: int = 0
    chunks: int = 0


@dataclass(frozen=True)
class _Row:
    table: str
    id: int
    expiry_year: int
    person_id: int
    ciphertext: bytes
    blind_index: bytes


# A rewrite returns the new values of `set_clause`'s parameters, or None when the row is already right.
Rewrite = Callable[[_Row], "list[object] | None"]


def _chunk(table: str, *, after_id: int, batch: int, only_old_keys: bool) -> list[_Row]:
    condition = "AND individual_number_key_id <> %s" if only_old_keys else "AND %s::text IS NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, expiry_year, person_id, individual_number_ciphertext, individual_number_blind_index "  # noqa: S608
            f"FROM {table} WHERE id > %s {condition} ORDER BY id LIMIT %s FOR UPDATE",
            [after_id, keyring().active_id, batch],
        )
        return [_Row(table, row[0], row[1], row[2], bytes(row[3]), bytes(row[4])) for row in cursor.fetchall()]


def rewrite_in_chunks(
    *,
    counts: RotationCounts,
    fetch: Callable[[int], list[Any]],
    rewrite: Callable[[Any], list[object] | None],
    update_sql: str,
    row_key: Callable[[Any], list[object]],
    row_id: Callable[[Any], int],
    max_chunks: int | None,
) -> None:
    """The resumable loop of every rotation: fetch a chunk after the last id (locked), rewrite each row, write
    the changed ones with `update_sql` (new values, then `row_key`), commit the chunk, go on."""
    after_id = 0
    while max_chunks is None or counts.chunks < max_chunks:
        with transaction.atomic():  # one chunk = one commit
            rows = fetch(after_id)
            if not rows:
                break
            updates: list[list[Any]] = []
            for row in rows:
                values = rewrite(row)
                if values is not None:
                    updates.append([*values, *row_key(row)])
            if updates:
                with connection.cursor() as cursor:
                    cursor.executemany(update_sql, updates)
            counts.rows_examined += len(rows)
            counts.rows_updated += len(updates)
            counts.chunks += 1
            after_id = row_id(rows[-1])


def _run(
    *, batch: int, only_old_keys: bool, rewrite: Rewrite, set_clause: str, max_chunks: int | None
) -> RotationCounts:
    counts = RotationCounts()
    for table in NUMBER_TABLES:
        rewrite_in_chunks(
            counts=counts,
            fetch=lambda after_id, table=table: _chunk(  # type: ignore[misc]
                table, after_id=after_id, batch=batch, only_old_keys=only_old_keys
            ),
            rewrite=rewrite,
            update_sql=f"UPDATE {table} SET {set_clause} WHERE id = %s AND expiry_year = %s",  # noqa: S608
            row_key=lambda row: [row.id, row.expiry_year],
            row_id=lambda row: row.id,
            max_chunks=max_chunks,
        )
    return counts


def _reencrypt(row: _Row) -> list[object] | None:
    number = decrypt_individual_number(row.ciphertext, table=row.table, person_id=row.person_id)
    key_id, ciphertext = encrypt_individual_number(number, table=row.table, person_id=row.person_id)
    return [ciphertext, key_id]


def _recompute_index(row: _Row) -> list[object] | None:
    value = blind_index(decrypt_individual_number(row.ciphertext, table=row.table, person_id=row.person_id))
    return None if value == row.blind_index else [value]


ROTATION_ACTOR = "system:key_rotation"


@transaction.atomic
def log_rotation(*, operation: str, counts: RotationCounts, tables: tuple[str, ...] = NUMBER_TABLES) -> None:
    """THE single call site for the operation log of a rotation run (domain.md §11: key rotations are logged):
    one entry per run, after its last chunk committed, with counts and the active key id (never a key)."""
    from audit.models import OperationKind  # audit builds on jukinet: imported where used
    from audit.services import operation_log_record

    operation_log_record(
        actor=ROTATION_ACTOR,
        kind=OperationKind.KEY_ROTATION,
        conditions={
            "operation": operation,
            "active_key_id": keyring().active_id,
            "rows_examined": counts.rows_examined,
            "rows_updated": counts.rows_updated,
            "chunks": counts.chunks,
            "tables": list(tables),
        },
        result_count=counts.rows_updated,
    )


def individual_numbers_reencrypt(*, batch: int = 1000, max_chunks: int | None = None) -> RotationCounts:
    """Re-encrypt every version not under the active key id (resumable; `max_chunks` stops early)."""
    counts = _run(
        batch=batch,
        only_old_keys=True,
        rewrite=_reencrypt,
        set_clause="individual_number_ciphertext = %s, individual_number_key_id = %s",
        max_chunks=max_chunks,
    )
    log_rotation(operation="reencrypt", counts=counts)
    return counts


def blind_indexes_recompute(*, batch: int = 1000, max_chunks: int | None = None) -> RotationCounts:
    """Recompute every 照合値 under the current BLIND_INDEX_KEY; writes only the rows that differ."""
    counts = _run(
        batch=batch,
        only_old_keys=False,
        rewrite=_recompute_index,
        set_clause="individual_number_blind_index = %s",
        max_chunks=max_chunks,
    )
    log_rotation(operation="blind_index", counts=counts)
    return counts


def key_usage() -> dict[str, int]:
    """Rows per key id: an id with no rows may be removed from INDIVIDUAL_NUMBER_KEYS."""
    usage: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in NUMBER_TABLES:
            cursor.execute(
                f"SELECT individual_number_key_id, count(*) FROM {table} GROUP BY 1"  # noqa: S608
            )
            for key_id, count in cursor.fetchall():
                usage[key_id] = usage.get(key_id, 0) + count
    return usage
