"""State changes of the provision app that are not lookups: partition upkeep and the 7-year purge (§13)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from audit.models import OperationKind
from audit.partitions import month_start, next_month
from audit.services import operation_log_record
from provision import partitions

MONTHS_AHEAD = 3


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def expired_months(*, as_of: dt.date) -> list[dt.date]:
    """Months whose every record is older than RETENTION_YEARS (7) on `as_of`."""
    years = int(settings.RETENTION_YEARS)
    return [m for m in partitions.partition_months() if _years_later(next_month(m), years) <= as_of]


@transaction.atomic
def provision_records_purge(*, as_of: dt.date, dry_run: bool = False) -> dict[str, list[str]]:
    """Create the coming months' partitions and drop every month past retention; logged under system:purge."""
    dropped = [partitions.partition_name(m) for m in expired_months(as_of=as_of)]
    if dry_run:
        return {"dropped": dropped, "created": []}
    for month in expired_months(as_of=as_of):
        partitions.partition_drop(month)
    created = partitions.partitions_ensure(first=month_start(as_of), months=MONTHS_AHEAD)
    operation_log_record(
        actor="system:purge",
        kind=OperationKind.PURGE,
        conditions={"table": partitions.PARENT, "as_of": as_of.isoformat(), "dropped": dropped, "created": created},
        result_count=len(dropped),
    )
    return {"dropped": dropped, "created": created}
