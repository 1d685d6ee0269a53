"""jukinet.db: the batch planning settings."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from jukinet.db import batch_planning

pytestmark = pytest.mark.django_db(transaction=True)

_KEY_LOOKUP = "EXPLAIN SELECT id FROM prefserver_identity_version WHERE id = ANY(%s::bigint[])"


def _plan() -> str:
    with connection.cursor() as cursor:
        cursor.execute(_KEY_LOOKUP, [list(range(1, 2001))])
        return "\n".join(row[0] for row in cursor.fetchall())


def test_batch_key_lookups_probe_the_index_even_where_statistics_say_the_table_is_small() -> None:
    # given: the version partitions as a fresh database has them (empty, never analyzed): the planner's
    # default for a batch of 2,000 ids is to scan them whole, which stays the plan while they grow
    with transaction.atomic():
        default = _plan()
    # when
    with transaction.atomic():
        batch_planning()
        planned = _plan()
    after = _plan()
    # then: index probes inside the batch's transaction, and the setting ends with it
    assert "Seq Scan" in default
    assert "Seq Scan" not in planned and "Index" in planned, planned
    assert "Seq Scan" in after


_INSTANTS = """
SELECT v::timestamptz FROM unnest(ARRAY['2026-11-26 19:05:01.123456+00', '2026-01-02 03:04:05+09',
  '1900-02-28 23:59:59.999999-03', '2000-02-29 00:00:00+00', '9999-12-31 23:59:59+00', '0001-01-01 00:00:00+00']) AS v
"""


def test_timestamptz_values_are_parsed_in_c_and_equal_what_djangos_own_loader_gives() -> None:
    import datetime

    import psycopg
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    from jukinet.db import _utc_timestamptz_loader

    # given: Django's connection (its loader parses each value in Python, about 14x slower)
    connection.ensure_connection()
    oid = psycopg.adapters.types["timestamptz"].oid
    # when
    with connection.cursor() as cursor:
        cursor.execute(_INSTANTS)
        fast = [row[0] for row in cursor.fetchall()]
    with psycopg.Cursor(connection.connection) as raw:
        register_tzloader(datetime.UTC, raw)  # what Django registers on every connection
        raw.execute(_INSTANTS)
        django_loaded = [row[0] for row in raw.fetchall()]
    # then: the connection uses the C parser, and every value (and its tzinfo) is what Django's loader gave
    assert connection.connection.adapters.get_loader(oid, Format.TEXT) is _utc_timestamptz_loader()
    assert fast == django_loaded
    assert [value.tzinfo for value in fast] == [datetime.UTC] * len(fast)
    assert fast[1] == datetime.datetime(2026, 1, 1, 18, 4, 5, tzinfo=datetime.UTC)
