"""The one retention rule of both files' versions (domain.md §5.2 Decision, §13; 住基法施行令 第30条の6).

A new current version carries no clock, unless it is a removal version: that one gets its 150-year clock
(from its receipt date) at its insert. A superseded version gets its clock from the superseding receipt date,
unless it already has one (a removal version keeps the clock of its insert). Every writer takes these values
from here: prefserver.versions and furyo.versions (per-notice ORM writes), their `superseded_values` (the
population loader) and intake's set-based BulkWriter; none re-derives them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jukinet.partitions import SENTINEL_YEAR, ensure_partitions, expiry_year_for

CURRENT = 0  # retention_flag 現存 (prefserver.models.RetentionFlag.CURRENT)
RETAINED = 1  # retention_flag 保存 (prefserver.models.RetentionFlag.RETAINED)
RETENTION_FIELDS = ("retention_flag", "retention_start", "expiry_year")


def retention_for(received_on: dt.date) -> tuple[dt.date, int]:
    """Clock start and expiry year: 150 years from the receipt date."""
    return received_on, expiry_year_for(received_on.year)


def new_version_retention(*, removed: bool, received_on: dt.date) -> dict[str, Any]:
    """Retention columns of a version at its insert."""
    if removed:
        start, expiry = retention_for(received_on)
        return {"retention_flag": RETAINED, "retention_start": start, "expiry_year": expiry}
    return {"retention_flag": CURRENT, "retention_start": None, "expiry_year": SENTINEL_YEAR}


def superseded_retention(
    *, retention_flag: int, retention_start: dt.date | None, expiry_year: int, received_on: dt.date
) -> dict[str, Any]:
    """Columns of a version once superseded by a version received on `received_on`."""
    if retention_start is None:
        start, expiry = retention_for(received_on)
        return {"is_current": False, "retention_flag": RETAINED, "retention_start": start, "expiry_year": expiry}
    return {
        "is_current": False,
        "retention_flag": retention_flag,
        "retention_start": retention_start,
        "expiry_year": expiry_year,
    }


def superseded_values(values: dict[str, Any], *, received_on: dt.date) -> dict[str, Any]:
    """Apply the supersede rule to a version's column values in place (bulk loaders, staged writes)."""
    values.update(superseded_retention(**{key: values[key] for key in RETENTION_FIELDS}, received_on=received_on))
    return values


def supersede_stored_version(model: Any, *, pk: int, expiry_year: int, received_on: dt.date) -> None:
    """Supersede one stored version (the caller holds its person's row lock): read its retention columns and
    write the superseded ones, creating the target expiry partition first."""
    table = model._meta.db_table
    ensure_partitions(table, [expiry_year_for(received_on.year)])
    rows = model.objects.filter(pk=pk, expiry_year=expiry_year)
    current = rows.values(*RETENTION_FIELDS).first()
    if current is None:
        return
    rows.update(**superseded_retention(**current, received_on=received_on))
