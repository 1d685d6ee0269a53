"""The temporary individual-number store of file (2) (domain.md §5.3, scenario 26).

An emigrant's 個人番号, pulled from file (1) for one provision, is kept only so that a recipient who failed
to receive it can get it again (seeds/002_b6d1246946737152.txt:1458-1460), then erased automatically and
unrecoverably (seeds/002_b6d1246946737152.txt:3252-3253).

Erasure is crypto-shredding: each number is encrypted with AES-256-GCM under the key of its day (Asia/Tokyo),
held in the UNLOGGED table `furyo_temp.day_key`. The hourly purge deletes expired rows and then every day key
with no rows left; the ciphertext left in WAL, dead tuples or a replica can then never be read. Day keys are
used directly (never through jukinet.crypto's cached AEAD objects) so that no process keeps a shredded key.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection, transaction

from furyo.models import TemporaryIndividualNumber
from jukinet import clock
from jukinet.models import PurgeRun
from jukinet.retention import purge_run_finish, purge_run_start

DAY_KEY_TABLE = "furyo_temp.day_key"
NUMBER_TABLE = "furyo_temp.temporary_individual_number"
NONCE_BYTES = 12


@dataclass(frozen=True)
class TemporaryPurgeCounts:
    numbers_deleted: int
    day_keys_deleted: int


def _associated_data(*, provision_record_id: int, resident_code: str) -> bytes:
    return f"furyo_temp|{provision_record_id}|{resident_code}|individual_number".encode()


def _day_key_for_write(day: dt.date) -> bytes:
    """The key of the day, created on first use (the purge never deletes the key of its as-of day, so a row
    written today always finds its key)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DAY_KEY_TABLE} (day, key) VALUES (%s, %s) "  # noqa: S608 - constant table name
            "ON CONFLICT (day) DO UPDATE SET day = EXCLUDED.day RETURNING key",
            [day, os.urandom(32)],
        )
        return bytes(cursor.fetchone()[0])


def _day_key_for_read(day: dt.date) -> bytes | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key FROM {DAY_KEY_TABLE} WHERE day = %s", [day])  # noqa: S608
        row = cursor.fetchone()
    return bytes(row[0]) if row else None


@transaction.atomic
def temporary_number_store(*, resident_code: str, number: str, provision_record_id: int) -> TemporaryIndividualNumber:
    """Keep a pulled number for re-delivery until now + TEMP_INDIVIDUAL_NUMBER_TTL_DAYS (at most 364)."""
    now = clock.now()
    day = clock.local_date(now)
    key = _day_key_for_write(day)
    nonce = os.urandom(NONCE_BYTES)
    aad = _associated_data(provision_record_id=provision_record_id, resident_code=resident_code)
    return TemporaryIndividualNumber.objects.create(
        provision_record_id=provision_record_id,
        resident_code=resident_code,
        key_day=day,
        ciphertext=nonce + AESGCM(key).encrypt(nonce, number.encode("ascii"), aad),
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.TEMP_INDIVIDUAL_NUMBER_TTL_DAYS),
    )


def temporary_number_read(*, provision_record_id: int) -> str | None:
    """Re-delivery within the TTL: the number kept for this provision record, or None once it is gone
    (expired, purged, or its day key lost in a crash: the number is then pulled again)."""
    row = (
        TemporaryIndividualNumber.objects.filter(provision_record_id=provision_record_id, expires_at__gt=clock.now())
        .order_by("-created_at")
        .first()
    )
    if row is None:
        return None
    key = _day_key_for_read(row.key_day)
    if key is None:
        return None
    blob = bytes(row.ciphertext)
    aad = _associated_data(provision_record_id=row.provision_record_id, resident_code=row.resident_code)
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad).decode("ascii")
    except InvalidTag:
        return None


@transaction.atomic
def temporary_numbers_purge(*, as_of: dt.datetime, dry_run: bool = False) -> TemporaryPurgeCounts:
    """Delete every row expired at `as_of`, then every day key no row uses any more (crypto-shredding).

    Leaves a PurgeRun record (counts only; never a number). A dry run counts and changes nothing else.
    """
    run = purge_run_start(kind=PurgeRun.Kind.TEMPORARY_NUMBERS, as_of=as_of, dry_run=dry_run)
    expired = TemporaryIndividualNumber.objects.filter(expires_at__lte=as_of)
    unused_keys = (
        f"FROM {DAY_KEY_TABLE} k WHERE k.day < %s AND NOT EXISTS ("  # noqa: S608 - constant table names
        f"SELECT 1 FROM {NUMBER_TABLE} t WHERE t.key_day = k.day AND NOT (t.expires_at <= %s AND %s))"
    )
    today = clock.local_date(as_of)
    with connection.cursor() as cursor:
        if dry_run:
            numbers_deleted = expired.count()
            cursor.execute(f"SELECT count(*) {unused_keys}", [today, as_of, True])
            day_keys_deleted = int(cursor.fetchone()[0])
        else:
            numbers_deleted, _ = expired.delete()
            cursor.execute(f"DELETE {unused_keys}", [today, as_of, False])
            day_keys_deleted = cursor.rowcount
    counts = TemporaryPurgeCounts(numbers_deleted=numbers_deleted, day_keys_deleted=day_keys_deleted)
    run.counts = {"temporary_individual_number": numbers_deleted, "day_key": day_keys_deleted}
    purge_run_finish(run)
    return counts


def temporary_number_pull(*, resident_code: str, affair: Any, provision_record: Any) -> str | None:
    """§5.3 steps 2-3 for a file (2) provision: pull the emigrant's number from file (1) through prefserver's one
    function and keep it for re-delivery. The caller has checked step 1 (permitted affair, one person, status 2)
    and logs the pull (never the number)."""
    from prefserver.emigrant import individual_number_for_emigrant  # furyo's only import from prefserver

    number = individual_number_for_emigrant(resident_code, affair, provision_record)
    if number is not None:
        temporary_number_store(resident_code=resident_code, number=number, provision_record_id=provision_record.pk)
    return number
