"""Celery tasks of prefserver: interfaces only (fetch by id, call one service). No personal data in arguments."""

from __future__ import annotations

from celery import shared_task

from jukinet import clock


@shared_task(acks_late=True, ignore_result=True)
def history_purge_task() -> int:
    """Daily (beat): drop expired version partitions of both files (domain.md §13). Returns the PurgeRun id."""
    from jukinet.retention import purge_expired

    return purge_expired(as_of=clock.today(), dry_run=False).pk
