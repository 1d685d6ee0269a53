"""Database helpers shared by the apps' hot paths."""

from __future__ import annotations

import os
from typing import Any


def prepared_cursor() -> Any:
    """A cursor with server-side binding on Django's connection (Django's own use client-side binding): psycopg
    prepares a statement on the server once it has run `prepare_threshold` (5) times on the connection, so the
    hot paths' statements are planned once per persistent connection (CONN_MAX_AGE). Single statements only.
    Used by the lookup path (token, access + match, record + log entry)."""
    import psycopg
    from django.db import DEFAULT_DB_ALIAS, connections

    # The wrapper is looked up once: every attribute of `django.db.connection` is a thread-local lookup.
    wrapper = connections[DEFAULT_DB_ALIAS]
    wrapper.ensure_connection()
    with wrapper.wrap_database_errors:
        raw = psycopg.Cursor(wrapper.connection)
    return wrapper._prepare_cursor(raw)  # type: ignore[attr-defined]  # Django's wrapper: debug logging, error translation


def batch_planning() -> None:
    """Plan the batch's lookups of a few thousand keys (`= ANY(array)` of codes, person and version ids, the
    supersede UPDATE … FROM unnest) as index probes: they touch pages that are in memory (just written or read),
    where a random page costs what a sequential one does, and never more than a batch's rows.

    - random_page_cost 1.1: with the default (4) the planner chose sequential scans of whole tables and
      partitions for them; in a 200,000-notice run they read the superseded-version partition 268 times
      (19.6 M rows), the persons 200 times (6.2 M rows).
    - enable_seqscan off: a table that grew since its statistics were taken (a new year's partition, the
      outbox, a fresh database) still looked small enough to scan whole; in a 60,000-notice run that was 46
      scans of the superseded-version partition (0.9 M rows), 33 of the code history and 18 of the persons.
      Only a cost penalty: a statement with no usable index still scans.

    Transaction-local (SET LOCAL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL random_page_cost = 1.1; SET LOCAL enable_seqscan = off")


_redis: tuple[int, Any] | None = None


def shared_redis() -> Any:
    """This process's Redis client (REDIS_URL), made again after a fork (gunicorn and Celery fork workers): the
    intake wake-up flag and the API throttle. Django's RedisCache would build a client on every call (about 1 ms
    of CPU each). A 2 s socket timeout: Redis is only ever a wake-up or a counter here, never a wait."""
    global _redis
    if _redis is None or _redis[0] != os.getpid():
        import redis
        from django.conf import settings

        _redis = (os.getpid(), redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2))
    return _redis[1]
