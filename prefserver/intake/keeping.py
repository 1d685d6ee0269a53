"""Keeping intake's records (domain.md §6.5 Keeping, §13): the RETENTION_YEARS purge of notices, their results
and the duplicate log, and key rotation of the notices' individual-number ciphertexts (§4.2).

Purge: a notice (its result is its row) goes once it was decided more than RETENTION_YEARS before `as_of` and
no duplicate receipt of it is younger than that; duplicate receipts go once received more than RETENTION_YEARS
ago; processing batches go once no notice refers to them and they finished before the cut-off; push-outbox
rows (the record of what went to the national server) go once acknowledged (sent, or refused for good) more
than RETENTION_YEARS ago. Pending and held notices and pending pushes are never purged. Alerts keep their
text; their link to a purged notice is cleared. Versions keep `source_notice_id` as a plain number (their
150-year history outlives the inbox). One run is one transaction with one operation-log entry (kind PURGE,
actor system:purge), written last.

Rotation: every notice ciphertext whose key id (its self-describing prefix) is not the active one is decrypted
and encrypted again under the active key, in chunks, each committed on its own (resumable, like
jukinet.key_rotation for the version tables).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from jukinet import clock
from jukinet.crypto import DecryptionError, decrypt_with_key, encrypt_with_key, key_id_of, keyring
from jukinet.key_rotation import RotationCounts, log_rotation, rewrite_in_chunks
from jukinet.retention import cutoff_purge_log, retention_cutoff

NOTICE_TABLE = "prefserver_notice"
DUPLICATE_TABLE = "prefserver_duplicatereceipt"
ALERT_TABLE = "prefserver_alert"
BATCH_TABLE = "prefserver_intakebatch"
OUTBOX_TABLE = "prefserver_pushoutbox"


def notice_aad(*, municipality_code: str, notice_id: str) -> bytes:
    """Associated data of a notice's individual number: bound to the table, sender and notice id."""
    return f"{NOTICE_TABLE}|{municipality_code}|{notice_id}|individual_number".encode()


# -- purge ----------------------------------------------------------------------------------------------------

_EXPIRED_NOTICES = f"""
    SELECT n.id FROM {NOTICE_TABLE} n
    WHERE n.status IN ('applied', 'rejected') AND n.decided_at < %(cutoff)s
      AND NOT EXISTS (SELECT 1 FROM {DUPLICATE_TABLE} d WHERE d.first_id = n.id AND d.received_at >= %(cutoff)s)
"""  # noqa: S608 (constant table names)


@transaction.atomic
def intake_records_purge(*, as_of: dt.datetime, dry_run: bool = False) -> dict[str, Any]:
    """Remove notices, results, duplicate receipts, batches and acknowledged pushes past RETENTION_YEARS at
    `as_of`; returns the counts. A dry run counts and removes nothing (it is logged too)."""
    years = settings.RETENTION_YEARS
    cutoff = retention_cutoff(clock.local_date(as_of), years)
    params = {"cutoff": cutoff}
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE expired_notice ON COMMIT DROP AS {_EXPIRED_NOTICES}", params)
        cursor.execute("SELECT count(*) FROM expired_notice")
        notices = int(cursor.fetchone()[0])
        duplicates_sql = (
            f"FROM {DUPLICATE_TABLE} WHERE received_at < %(cutoff)s"  # noqa: S608
            " OR first_id IN (SELECT id FROM expired_notice)"
        )
        batches_sql = (
            f"FROM {BATCH_TABLE} b WHERE b.finished_at < %(cutoff)s AND NOT EXISTS ("  # noqa: S608
            f"SELECT 1 FROM {NOTICE_TABLE} n WHERE n.batch_id = b.id AND n.id NOT IN (SELECT id FROM expired_notice))"
        )
        pushes_sql = f"FROM {OUTBOX_TABLE} WHERE status IN ('sent', 'failed') AND acked_at < %(cutoff)s"
        if dry_run:
            cursor.execute(f"SELECT count(*) {duplicates_sql}", params)
            duplicates = int(cursor.fetchone()[0])
            cursor.execute(f"SELECT count(*) {batches_sql}", params)
            batches = int(cursor.fetchone()[0])
            cursor.execute(f"SELECT count(*) {pushes_sql}", params)
            pushes = int(cursor.fetchone()[0])
            alerts = 0
        else:
            cursor.execute(f"DELETE {duplicates_sql}", params)
            duplicates = cursor.rowcount
            cursor.execute(
                f"UPDATE {ALERT_TABLE} SET notice_id = NULL WHERE notice_id IN (SELECT id FROM expired_notice)"  # noqa: S608
            )
            alerts = cursor.rowcount
            cursor.execute(f"DELETE FROM {NOTICE_TABLE} WHERE id IN (SELECT id FROM expired_notice)")  # noqa: S608
            cursor.execute(f"DELETE {batches_sql}", params)
            batches = cursor.rowcount
            cursor.execute(f"DELETE {pushes_sql}", params)
            pushes = cursor.rowcount
        cursor.execute("DROP TABLE expired_notice")  # ON COMMIT DROP is late when the caller's transaction is open
    counts = {
        "notice": notices, "duplicate_receipt": duplicates, "intake_batch": batches, "push_outbox": pushes,
        "alert_unlinked": alerts,
    }  # fmt: skip
    _log_intake_purge(as_of=as_of, cutoff=cutoff, years=years, dry_run=dry_run, counts=counts)
    return counts


def _log_intake_purge(
    *, as_of: dt.datetime, cutoff: dt.datetime, years: int, dry_run: bool, counts: dict[str, int]
) -> None:
    cutoff_purge_log(
        purge_kind="intake_records", as_of=as_of, cutoff=cutoff, years=years, dry_run=dry_run, counts=counts,
        result_count=counts["notice"] + counts["duplicate_receipt"],
    )  # fmt: skip


# -- key rotation ---------------------------------------------------------------------------------------------


def notice_numbers_reencrypt(*, batch: int = 1000, max_chunks: int | None = None) -> RotationCounts:
    """Re-encrypt every notice's individual number not under the active key id (resumable; logged)."""
    counts = RotationCounts()
    ring = keyring()

    def fetch(after_id: int) -> list[tuple[int, str, str, bytes]]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT id, municipality_code, notice_id, individual_number_ciphertext FROM {NOTICE_TABLE}
                    WHERE id > %s AND individual_number_ciphertext IS NOT NULL
                      AND substring(individual_number_ciphertext FROM 2
                                    FOR get_byte(individual_number_ciphertext, 0)) <> %s
                    ORDER BY id LIMIT %s FOR UPDATE""",  # noqa: S608 (constant table name)
                [after_id, ring.active_id.encode("ascii"), batch],
            )
            return [(pk, code, notice_id, bytes(blob)) for pk, code, notice_id, blob in cursor.fetchall()]

    def reencrypt(row: tuple[int, str, str, bytes]) -> list[object]:
        pk, municipality_code, notice_id, blob = row
        aad = notice_aad(municipality_code=municipality_code, notice_id=notice_id)
        old_key = ring.keys.get(key_id_of(blob))
        if old_key is None:
            raise DecryptionError(f"通知 #{pk} の鍵IDが設定にありません")
        number = decrypt_with_key(blob, key=old_key, aad=aad)
        return [encrypt_with_key(number, key_id=ring.active_id, key=ring.active_key, aad=aad)]

    rewrite_in_chunks(
        counts=counts,
        fetch=fetch,
        rewrite=reencrypt,
        update_sql=f"UPDATE {NOTICE_TABLE} SET individual_number_ciphertext = %s WHERE id = %s",  # noqa: S608
        row_key=lambda row: [row[0]],
        row_id=lambda row: row[0],
        max_chunks=max_chunks,
    )
    log_rotation(operation="notice_reencrypt", counts=counts, tables=(NOTICE_TABLE,))
    return counts


def notice_key_usage() -> dict[str, int]:
    """Notices per key id: a key id retires only when neither versions nor notices use it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT convert_from(substring(individual_number_ciphertext FROM 2
                                              FOR get_byte(individual_number_ciphertext, 0)), 'SQL_ASCII'), count(*)
                FROM {NOTICE_TABLE} WHERE individual_number_ciphertext IS NOT NULL GROUP BY 1"""  # noqa: S608
        )
        return {key_id: int(count) for key_id, count in cursor.fetchall()}
