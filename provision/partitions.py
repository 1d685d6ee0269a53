"""Raw SQL for the monthly partitions of provision records (domain.md §9.4, §13): the only DDL on them.

Same scheme as the operation log (audit.partitions): Asia/Tokyo calendar months, no default partition,
partitions created ahead by the beat job and, as a safety net, by the first record of a month.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from audit.partitions import month_start, next_month

__all__ = ["month_start", "next_month"]
from jukinet import clock

PARENT = "provision_record"
_NAME = re.compile(rf"^{PARENT}_p(\d{{4}})(\d{{2}})$")


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def partition_exists(month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> bool:
    with (using or connection).cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition_name(month_start(month))])
        row = cursor.fetchone()
    return bool(row and row[0])


def partition_create(month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> None:
    start = clock.start_of_day(month_start(month))
    end = clock.start_of_day(next_month(month_start(month)))
    with (using or connection).cursor() as cursor:
        # DDL takes no parameters: the name and bounds are built from a date here, never from input.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {partition_name(month_start(month))} PARTITION OF {PARENT} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )


def partitions_ensure(*, first: dt.date, months: int, using: BaseDatabaseWrapper | None = None) -> list[str]:
    created = []
    month = month_start(first)
    for _ in range(months):
        if not partition_exists(month, using=using):
            partition_create(month, using=using)
            created.append(partition_name(month))
        month = next_month(month)
    return created


def partition_months(*, using: BaseDatabaseWrapper | None = None) -> list[dt.date]:
    with (using or connection).cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    return sorted(dt.date(int(m[1]), int(m[2]), 1) for m in map(_NAME.match, names) if m)


def partition_drop(month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> None:
    with (using or connection).cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {partition_name(month_start(month))}")
