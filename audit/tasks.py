"""Beat jobs of the audit app. Each task calls one service (domain.md §11, §13, §10.3)."""

from __future__ import annotations

from celery import shared_task

from jukinet import clock


@shared_task
def oplog_seal_task() -> int:
    """Chain the pending (unchained) entries of the lookup API and of intake (audit.services.operation_log_seal)
    until none is left."""
    from audit.services import operation_log_seal_all

    return operation_log_seal_all()


@shared_task
def oplog_checkpoint_task() -> int:
    from django.db import transaction

    from audit.models import OperationKind
    from audit.services import (
        OperationLogError,
        operation_log_checkpoint_run,
        operation_log_record,
        operation_log_seal_all,
    )

    operation_log_seal_all()  # a checkpoint signs the head: chain everything pending first
    try:
        return len(operation_log_checkpoint_run())
    except OperationLogError:
        # A broken chain is never signed; it is an audit matter for the auditor's dashboard (§15).
        with transaction.atomic():
            operation_log_record(
                actor="system:oplog", kind=OperationKind.ALERT_RAISED, outcome="failed", conditions={"check": "chain"}
            )
        raise


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
