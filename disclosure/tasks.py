"""Beat jobs of the disclosure app (domain.md §13). Each task calls one service."""

from __future__ import annotations

from celery import shared_task

from jukinet import clock


@shared_task
def disclosure_purge_task() -> int:
    from disclosure.services import disclosure_purge_expired

    return disclosure_purge_expired(as_of=clock.today())["cases"]
