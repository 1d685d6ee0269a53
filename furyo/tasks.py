"""Celery tasks of furyo: interfaces only. No personal data in arguments."""

from __future__ import annotations

from celery import shared_task

from jukinet import clock


@shared_task(acks_late=True, ignore_result=True)
def temporary_numbers_purge_task() -> int:
    """Hourly (beat): crypto-shred expired temporary individual numbers (domain.md §5.3). Returns the count."""
    from furyo.temporary_numbers import temporary_numbers_purge

    return temporary_numbers_purge(as_of=clock.now()).numbers_deleted
