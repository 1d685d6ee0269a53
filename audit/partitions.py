"""Raw SQL for the operation log's monthly partitions (domain.md §11, §13): the only DDL on it.

Months are Asia/Tokyo calendar months: partition `audit_operationlogentry_p202611` holds the entries recorded
from 2026-11-01 00:00 to 2026-12-01 00:00 Asia/Tokyo. There is no default partition; a month's partition is
created ahead by the beat job and, as a safety net, on the first append of a month.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from jukinet import clock

PARENT = "audit_operationlogentry"
_NAME = re.compile(rf"^{PARENT}_p(\d{{4}})(\d{{2}})$")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def partition_exists(month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> bool:
    with (using or connection).cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition_name(month)])
        row = cursor.fetchone()
    return bool(row and row[0])


def partition_create(month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> None:
    start = clock.start_of_day(month_start(month))
    end = clock.start_of_day(next_month(month_start(month)))
    name = partition_name(month_start(month))
    with (using or connection).cursor() as cursor:
        # DDL takes no parameters: the name and bounds are built from a date here, never from input.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )


def partitions_ensure(*, first: dt.date, months: int, using: BaseDatabaseWrapper | None = None) -> list[str]:
    """Create the partitions of `months` months from `first`'s month; returns those created."""
    created = []
    month = month_start(first)
    for _ in range(months):
        if not partition_exists(month, using=using):
            partition_create(month, using=using)
            created.append(partition_name(month))
        month = next_month(month)
    return created


def partition_months(*, using: BaseDatabaseWrapper | None = None) -> list[dt.date]:
    """Existing partitions, oldest first."""
    with (using or connection).cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    months = []
    for name in names:
        match = _NAME.match(name)
        if match:
            months.append(dt.date(int(match[1]), int(match[2]), 1))
    return sorted(months)


def partition_drop(month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> None:
    """Drop one whole month (the purge's only way to remove log rows; the trigger blocks DELETE)."""
    with (using or connection).cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction would block the DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP TABLE IF EXISTS {partition_name(month_start(month))}")
