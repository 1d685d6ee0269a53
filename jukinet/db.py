"""Database helpers shared by the apps' hot paths."""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from django.db.models.signals import post_init, pre_init


class LockClass(IntEnum):
    """The first key of each two-key advisory lock (`pg_advisory_xact_lock(int, int)`), one per purpose. Single-key
    (bigint) locks are a key space of their own: intake's person locks and the operation log's chain lock."""

    INTAKE_LANE = 1  # second key: the claim lane (prefserver.intake.process._claim)
    PARTITIONS = 2  # second key: hashtext(the partitioned table's name) (jukinet.partitions.ensure_partitions)


def prepared_cursor(alias: str = "default") -> Any:
    """A cursor with server-side binding on Django's connection (Django's own use client-side binding): psycopg
    prepares a statement on the server once it has run `prepare_threshold` (5) times on the connection, so the
    hot paths' statements are planned once per persistent connection (CONN_MAX_AGE). Single statements only.
    Used by the lookup path (token, access + match, record + log entry), intake's batch writes and
    `binary_rows` (a batch's loads, the relay's versions)."""
    import psycopg
    from django.db import connections

    # The wrapper is looked up once: every attribute of `django.db.connection` is a thread-local lookup.
    wrapper = connections[alias]
    wrapper.ensure_connection()
    with wrapper.wrap_database_errors:
        raw = psycopg.Cursor(wrapper.connection)
    return wrapper._prepare_cursor(raw)  # type: ignore[attr-defined]  # Django's wrapper: debug logging, error translation


def loaded(model: type[Any], alias: str, names: Sequence[str], values: Sequence[Any]) -> Any:
    """What `model.from_db(alias, names, values)` returns (a loaded row; fields not named are deferred), built
    without Model.__init__: the values go into the instance's __dict__ under their attnames, which is where
    __init__'s per-field setattr puts them for these models' fields. Measured on a 40-field version row: from_db
    21 µs, this 7 µs. Models with init signal receivers go through from_db."""
    return _builder(model, alias)(names, values)


def loaded_rows(queryset: Any) -> list[Any]:
    """The queryset's model instances, its SQL run on a plain cursor and each row built as `loaded` builds it
    (the ORM's iteration: converters, from_db, __init__ per row). For querysets of a model's own rows (filters,
    ordering, locking; no only/defer, annotations or select_related) whose fields have no database converters;
    any other goes through the ORM."""
    model = queryset.model
    names = _plain_attnames(model)
    query = queryset.query
    if names is None or query.deferred_loading != (frozenset(), True) or query.annotations or query.select_related:
        return list(queryset)
    build = _builder(model, queryset.db)
    return [build(names, row) for row in _plain_fetch(queryset, names)]


def loaded_values(queryset: Any, fields: Sequence[str]) -> list[dict[str, Any]]:
    """`list(queryset.values(*fields))` for plain columns of a model without database converters, its SQL run on a
    plain cursor and each row zipped into a dict (the ORM builds each dict in a Python loop): the push relay's
    versions. Any other model goes through the ORM."""
    if _plain_attnames(queryset.model) is None or queryset.query.annotations:
        return list(queryset.values(*fields))
    return [dict(zip(fields, row, strict=True)) for row in _plain_fetch(queryset, fields)]


def _plain_fetch(queryset: Any, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows of `queryset.values_list(*columns)` as the database driver returns them (no ORM conversion)."""
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    return binary_rows(sql, params, alias=queryset.db)


def binary_rows(sql: str, params: Sequence[Any], *, alias: str = "default") -> list[tuple[Any, ...]]:
    """Run one statement and return its rows, sent by PostgreSQL in binary form: no text rendering of
    timestamps, dates and byte strings on the server and no parsing of it here (a batch's loads of notices,
    persons and versions: thousands of rows each). The values are those the text form gives (psycopg's
    loaders); the parameters are bound server-side (prepared_cursor)."""
    import psycopg

    with prepared_cursor(alias) as cursor:
        cursor.cursor.format = psycopg.pq.Format.BINARY  # the psycopg cursor under Django's wrapper
        cursor.execute(sql, params)
        return cursor.fetchall()  # type: ignore[no-any-return]


def _builder(model: Any, alias: str) -> Any:
    """How `loaded` builds the model's rows: through from_db while the model has init-signal receivers (asked
    per call through the signals' own per-sender cache, so a receiver connected later is honoured), else
    without Model.__init__."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return lambda names, values: model.from_db(alias, list(names), list(values))
    return _plain_builder(model, alias)


@functools.cache
def _plain_builder(model: Any, alias: str) -> Any:
    from django.db.models.base import ModelState

    new = model.__new__

    def build(names: Sequence[str], values: Sequence[Any]) -> Any:
        instance = new(model)
        instance.__dict__.update(zip(names, values, strict=True))
        state = ModelState()
        state.adding, state.db = False, alias
        instance._state = state
        return instance

    return build


@functools.cache
def _plain_attnames(model: type[Any]) -> tuple[str, ...] | None:
    """The model's concrete attnames when no field converts its database value (JSON, custom fields), else None."""
    from django.db import connection

    fields = model._meta.concrete_fields  # type: ignore[attr-defined]
    if any(field.get_db_converters(connection) for field in fields):
        return None
    return tuple(field.attname for field in fields)


def batch_planning() -> None:
    """Plan this transaction's lookups as index probes: a batch's lookups of a few thousand keys (`= ANY(array)`
    of codes, person and version ids, the supersede UPDATE … FROM unnest), and beat's watches that look for the
    few rows of a partial index (the stranded-notice check, the push backlog check).
    Batch lookups touch pages that are in memory (just written or read), where a random page costs what a
    sequential one does, and never more than a batch's rows; a watch reads the rows its index holds.

    - random_page_cost 1.1: with the default (4) the planner chose sequential scans of whole tables and
      partitions for the batches' lookups; in a 200,000-notice run they read the superseded-version partition
      268 times (19.6 M rows), the persons 200 times (6.2 M rows).
    - enable_seqscan off: a table that grew since its statistics were taken (a new year's partition, the
      outbox, a fresh database) still looked small enough to scan whole; in a 60,000-notice run that was 46
      scans of the superseded-version partition (0.9 M rows), 33 of the code history and 18 of the persons.
      Likewise statistics taken during a burst say "most rows pending" until the next ANALYZE, which on a table
      of years of notices comes only after another tenth of it has changed: a watch that then found nothing read
      the whole table (the inbox's 200,000 rows in 195 ms on the bench database, every 5 s;
      tests/prefserver/test_watch_plans.py). Only a cost penalty: a statement with no usable index still scans.

    Transaction-local (SET LOCAL): call it inside transaction.atomic."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL random_page_cost = 1.1; SET LOCAL enable_seqscan = off")


# Every GIN index of the schema that is a real (leaf) index, by name: a partitioned table's own index (relkind
# "I") has no pending list; its partitions' indexes ("i") have one each.
_GIN_INDEXES = """
SELECT c.oid::regclass::text
  FROM pg_class c JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE am.amname = 'gin' AND c.relkind = 'i' AND n.nspname = current_schema()
 ORDER BY 1
"""


def gin_pending_lists_clean() -> dict[str, int]:
    """Move every GIN index's pending list into the index proper, from a background job (beat, every
    GIN_PENDING_CLEAN_SECONDS); returns {index: pages moved} for the indexes that had any.

    The operation log's targets and the provision records' subjects are GIN indexes with fastupdate on (the
    default): an insert only appends to the index's pending list, and the insert that takes the list past
    gin_pending_list_limit (4 MB) moves the whole list into the index itself, in the foreground: one insert in
    about 70,000 took 290–545 ms (bench/gin_pending.py). Log entries are inserted under the chain lock (by the
    sealer and by locked appends), so the move held up every screen's and job's append and the sealing of the
    API's entries; a provision record's insert made its own lookup wait. Cleaned here every 30 s, the lists stay
    far below the limit (at 500 lookups/s about 15,000 entries each) and no request pays for the move; an
    insert that finds a list being cleaned skips it.

    Autocommit, one statement per index: an index dropped meanwhile (a retention purge dropping its
    partition) is skipped."""
    from django.db import connection

    moved: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(_GIN_INDEXES)
        for (name,) in cursor.fetchall():
            cursor.execute(
                "SELECT gin_clean_pending_list(i) FROM (SELECT to_regclass(%s) AS i) AS s WHERE i IS NOT NULL", [name]
            )
            row = cursor.fetchone()
            if row and row[0]:
                moved[name] = int(row[0])
    return moved


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


@functools.cache
def _utc_timestamptz_loader() -> type[Any] | None:
    """A timestamptz loader for Django's UTC connections that parses in psycopg's C implementation.

    Django registers its own loader on every connection (django/db/backends/postgresql/psycopg_any.py:
    BaseTzLoader), a Python subclass of psycopg's pure-Python loader, so each timestamptz value is parsed in
    Python: measured 8.6 µs per value against 0.6 µs for psycopg_binary's, which is about a tenth of intake's
    processing time (notices, persons and versions carry several each). The C class cannot be subclassed, so
    this small Python loader hands each value to an instance of it (its bound `load`, no Python frame between).
    It keeps Django's `timezone` class attribute, which Django's `create_cursor` compares before copying the
    adapter map for a cursor. None when psycopg has no C implementation here (nothing to gain)."""
    import psycopg
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    fast = psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, Format.TEXT)
    if fast is None or fast.__module__.startswith("psycopg.types"):  # the pure-Python one
        return None

    class UtcTimestamptzLoader(Loader):
        timezone = datetime.UTC

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self.load = fast(oid, context).load  # type: ignore[method-assign,misc]  # the C parser, per cursor

        def load(self, data: Any) -> Any:  # replaced per instance in __init__
            raise NotImplementedError

    return UtcTimestamptzLoader


def use_fast_timestamptz_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: psycopg's C timestamptz parser on a new PostgreSQL connection whose values
    Django reads in UTC (USE_TZ, no database TIME_ZONE: Django sets the session's TimeZone to UTC and its own
    loader marks every value UTC; the C loader reads the same session zone, so the values are the same)."""
    loader = _utc_timestamptz_loader()
    if loader is None or connection.vendor != "postgresql" or connection.timezone != datetime.UTC:
        return
    if connection.connection.info.parameter_status("TimeZone") != "UTC":
        return
    connection.connection.adapters.register_loader("timestamptz", loader)
