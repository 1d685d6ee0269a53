"""Beat jobs of the audit app. Each task calls one service (domain.md §11, §13, §10.3)."""

from __future__ import annotations

from celery import shared_task

from jukinet import clock


@shared_task
def oplog_checkpoint_task() -> int:
    from audit.services import operation_log_checkpoint_run

    return len(operation_log_checkpoint_run())


@shared_task
def oplog_partitions_task() -> int:
    from audit.services import operation_log_partitions_ahead

    return len(operation_log_partitions_ahead())


@shared_task
def oplog_purge_task() -> int:
    from audit.services import operation_log_purge

    return int(operation_log_purge(as_of=clock.today())["rows"])


@shared_task
def revocation_sweep_task() -> int:
    from audit.rights import revocation_sweep

    return revocation_sweep(as_of=clock.today())["suspended"]


@shared_task
def access_right_reconciliation_task() -> int:
    from audit.rights import access_right_reconciliation_run

    return access_right_reconciliation_run().differences
