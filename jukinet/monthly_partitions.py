"""Tables partitioned by Asia/Tokyo calendar month (the operation log, provision records; domain.md §13).

Partition `<parent>_p202611` holds the rows recorded from 2026-11-01 00:00 to 2026-12-01 00:00 Asia/Tokyo.
There is no default partition: a month's partition is created ahead by a beat job and, as a safety net,
on the first write of a month. The purge drops whole months.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from jukinet import clock


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class MonthlyPartitions:
    parent: str
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(rf"^{self.parent}_p(\d{{4}})(\d{{2}})$"))

    def name(self, month: dt.date) -> str:
        return f"{self.parent}_p{month_start(month):%Y%m}"

    def exists(self, month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> bool:
        with (using or connection).cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [self.name(month)])
            row = cursor.fetchone()
        return bool(row and row[0])

    def create(self, month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> None:
        start = clock.start_of_day(month_start(month))
        end = clock.start_of_day(next_month(month_start(month)))
        with (using or connection).cursor() as cursor:
            # DDL takes no parameters: the name and bounds are built from a date here, never from input.
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.name(month)} PARTITION OF {self.parent} "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )

    def ensure(self, *, first: dt.date, months: int, using: BaseDatabaseWrapper | None = None) -> list[str]:
        """Create the partitions of `months` months from `first`'s month; returns those created."""
        created = []
        month = month_start(first)
        for _ in range(months):
            if not self.exists(month, using=using):
                self.create(month, using=using)
                created.append(self.name(month))
            month = next_month(month)
        return created

    def months(self, *, using: BaseDatabaseWrapper | None = None) -> list[dt.date]:
        """Existing partitions, oldest first."""
        with (using or connection).cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
                [self.parent],
            )
            names = [row[0] for row in cursor.fetchall()]
        return sorted(dt.date(int(m[1]), int(m[2]), 1) for m in map(self._pattern.match, names) if m)

    def drop(self, month: dt.date, *, using: BaseDatabaseWrapper | None = None) -> None:
        """Drop one whole month (the purge's only way to remove rows; triggers block DELETE)."""
        with (using or connection).cursor() as cursor:
            # Deferred foreign-key checks still pending in this transaction would block the DROP.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"DROP TABLE IF EXISTS {self.name(month)}")
