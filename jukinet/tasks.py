"""Beat jobs of the shared modules. Each task calls one service (domain.md §13)."""

from __future__ import annotations

from celery import shared_task

from jukinet import clock


@shared_task(acks_late=True)
def registers_purge_task() -> int:
    """Monthly (beat): the registers past RETENTION_YEARS go (jukinet.registers). Returns the rows removed."""
    from jukinet.registers import registers_purge

    return sum(registers_purge(as_of=clock.today()).values())  # idempotent: safe to run twice


@shared_task
def gin_pending_lists_task() -> int:
    """Every GIN_PENDING_CLEAN_SECONDS (beat): the GIN indexes' pending lists moved into the indexes
    (jukinet.db.gin_pending_lists_clean), so no insert does it in the foreground. Returns the pages moved."""
    from jukinet.db import gin_pending_lists_clean

    return sum(gin_pending_lists_clean().values())
