"""History purge of both files (domain.md §13, scenario 19), and the purge-run record every purge leaves.

Versions are partitioned by expiry year (jukinet.partitions). A partition is dropped in January after its
expiry year, so data lives at least 150 and at most 151 years (住基法施行令 第30条の6,
seeds/002_b6d1246946737152.txt:1030-1032); the same step deletes the person and code-history rows whose
current version lay in it (their current version was a removal version: deaths included,
seeds/002_b6d1246946737152.txt:2260-2264). The sentinel partition 9999, which holds the current version of
every person not removed, is never dropped.

Each partition is one transaction (the run's chunk): a run that stops half-way is finished by the next one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction

from jukinet import clock
from jukinet.models import PurgeRun
from jukinet.partitions import (
    SENTINEL_YEAR,
    drop_partition,
    ensure_partitions,
    existing_partition_years,
    expiry_year_for,
    partition_name,
)

PARTITIONS_AHEAD = 3  # expiry years created ahead of need on each run (loaders create what they need)


@dataclass(frozen=True)
class VersionFile:
    version_table: str
    person_table: str
    code_table: str


VERSION_FILES = (
    VersionFile("prefserver_identity_version", "prefserver_identity_person", "prefserver_identity_resident_code"),
    VersionFile("furyo_version", "furyo_person", "furyo_resident_code"),
)


PURGE_ACTOR = "system:purge"


def _log_purge(run: PurgeRun) -> None:
    """THE single call site for the operation log of a purge run (domain.md §11, §13: each run logged under a
    system principal with counts, partitions and run id). Runs inside the transaction that finishes the run,
    as its last statement."""
    from audit.models import OperationKind  # audit builds on jukinet: imported where used
    from audit.services import operation_log_record

    operation_log_record(
        actor=PURGE_ACTOR,
        kind=OperationKind.PURGE,
        targets=[run],
        conditions={
            "run_id": run.pk,
            "purge_kind": run.kind,
            "as_of": run.as_of.isoformat(),
            "dry_run": run.dry_run,
            "counts": run.counts,
            "partitions_dropped": run.partitions_dropped,
            "partitions_created": run.partitions_created,
        },
        result_count=sum(value for value in run.counts.values() if isinstance(value, int)),
    )


def retention_cutoff(as_of: dt.date, years: int | None = None) -> dt.datetime:
    """00:00 Asia/Tokyo of the same calendar day `years` (RETENTION_YEARS) before `as_of`: a record whose clock
    started before it is past the period; one whose clock started at or after it is kept (domain.md §13)."""
    from django.conf import settings

    return clock.start_of_day(clock.years_before(as_of, settings.RETENTION_YEARS if years is None else years))


def cutoff_purge_log(
    *, purge_kind: str, as_of: dt.date, cutoff: dt.datetime, years: int, dry_run: bool, counts: dict[str, int],
    result_count: int,
) -> None:  # fmt: skip
    """The operation-log entry of a purge by cut-off date that keeps no PurgeRun row (intake records, the
    registers): kind, as-of, cut-off, the retention period, dry run and counts, under the system principal."""
    from audit.models import OperationKind  # audit builds on jukinet: imported where used
    from audit.services import operation_log_record

    operation_log_record(
        actor=PURGE_ACTOR,
        kind=OperationKind.PURGE,
        conditions={
            "purge_kind": purge_kind,
            "as_of": as_of.isoformat(),
            "cutoff": cutoff.isoformat(),
            "retention_years": years,
            "dry_run": dry_run,
            "counts": counts,
        },
        result_count=result_count,
    )


def purge_run_start(*, kind: str, as_of: dt.datetime, dry_run: bool) -> PurgeRun:
    return PurgeRun.objects.create(kind=kind, as_of=as_of, dry_run=dry_run, started_at=clock.now())


@transaction.atomic
def purge_run_finish(run: PurgeRun) -> PurgeRun:
    run.finished_at = clock.now()
    run.save(update_fields=["finished_at", "counts", "partitions_dropped", "partitions_created"])
    _log_purge(run)
    return run


def expired_partition_years(table: str, *, as_of: dt.date) -> list[int]:
    return sorted(year for year in existing_partition_years(table) if year != SENTINEL_YEAR and year < as_of.year)


def _scalar(sql: str, params: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def _purge_partition(file: VersionFile, year: int, *, dry_run: bool) -> dict[str, int]:
    """Drop one expired partition with the person and code-history rows whose current version is in it."""
    partition = partition_name(file.version_table, year)
    live = _scalar(f"SELECT count(*) FROM {partition} WHERE is_current AND NOT removed", [])  # noqa: S608
    if live:
        # Cannot happen (only a removal version or a superseded one gets an expiry year); refuse rather than lose one.
        raise RuntimeError(f"{partition} holds {live} current versions of persons not removed")
    persons = f"SELECT id FROM {file.person_table} WHERE current_version_expiry_year = %s"  # noqa: S608
    counts = {
        file.version_table: _scalar(f"SELECT count(*) FROM {partition}", []),  # noqa: S608
        file.person_table: _scalar(f"SELECT count(*) FROM ({persons}) p", [year]),  # noqa: S608
        file.code_table: _scalar(
            f"SELECT count(*) FROM {file.code_table} WHERE person_id IN ({persons})",  # noqa: S608
            [year],
        ),
    }
    if not dry_run:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {file.code_table} WHERE person_id IN ({persons})", [year])  # noqa: S608
            cursor.execute(f"DELETE FROM {file.person_table} WHERE current_version_expiry_year = %s", [year])  # noqa: S608
        drop_partition(file.version_table, year)
    return counts


def purge_expired(*, as_of: dt.date, dry_run: bool) -> PurgeRun:
    """Drop every version partition of both files whose expiry year < as_of.year; create partitions ahead.

    A dry run computes the same counts and changes nothing but its own PurgeRun row.
    """
    run = purge_run_start(kind=PurgeRun.Kind.HISTORY, as_of=clock.start_of_day(as_of), dry_run=dry_run)
    counts: dict[str, int] = {}
    for file in VERSION_FILES:
        for key in (file.version_table, file.person_table, file.code_table):
            counts.setdefault(key, 0)
        for year in expired_partition_years(file.version_table, as_of=as_of):
            with transaction.atomic():
                for key, value in _purge_partition(file, year, dry_run=dry_run).items():
                    counts[key] += value
                run.partitions_dropped.append(partition_name(file.version_table, year))
                run.counts = counts
                run.save(update_fields=["counts", "partitions_dropped"])
    ahead = range(expiry_year_for(as_of.year), expiry_year_for(as_of.year) + PARTITIONS_AHEAD + 1)
    for file in VERSION_FILES:
        if dry_run:
            missing = sorted(set(ahead) - existing_partition_years(file.version_table))
        else:
            missing = ensure_partitions(file.version_table, ahead)
        run.partitions_created.extend(partition_name(file.version_table, year) for year in missing)
    run.counts = counts
    return purge_run_finish(run)
