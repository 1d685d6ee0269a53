"""Celery tasks of intake: interfaces only. The inbox in PostgreSQL is the truth; messages are wake-ups.

Tasks take no personal data, acknowledge late, are rejected (re-queued) when their worker dies, and are
idempotent: they claim work by status, so a re-delivered or duplicated task finds nothing to do twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from celery.signals import task_success

from jukinet import clock

logger = logging.getLogger(__name__)

# One task run drains at most this many batches, then re-queues itself so other tasks get a turn.
MAX_BATCHES_PER_RUN = 40


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def intake_process_task() -> int:
    from prefserver.intake.process import intake_process_pending
    from prefserver.intake.receive import wake_flag_clear

    wake_flag_clear()  # before the first claim: a request committing from now on publishes its own wake-up
    eager = bool(getattr(intake_process_task.request, "is_eager", False))  # unit tests call the relay themselves
    done = intake_process_pending(max_batches=MAX_BATCHES_PER_RUN, after_batch=None if eager else _after_batch)
    if done == MAX_BATCHES_PER_RUN:
        intake_process_task.delay()
    return done


SEAL_PASSES_AFTER_BATCH = 3  # of up to 5,000 entries each; beat's seal task takes any rest


def _after_batch(batch: Any) -> None:
    """After each committed intake batch: chain the pending log entries, then send a push batch."""
    _seal_after_batch()
    _push_after_batch(batch)


def _seal_after_batch() -> None:
    """Intake's log entries are written unchained (prefserver.intake_log). Beat's seal task shares the queue
    with intake runs, and while workers drain a backlog its messages expire unrun: measured, 3,906 of a
    200,000-notice run's 4,121 entries were still unchained at its end. So the worker chains them itself after
    each batch, keeping them within a batch's time of being written. A failure is left to the next run."""
    from audit.services import operation_log_seal_all

    try:
        operation_log_seal_all(max_passes=SEAL_PASSES_AFTER_BATCH)  # bounded: receipts keep adding entries
    except Exception as exc:
        logger.warning("sealing after an intake batch failed (%s)", type(exc).__name__)


def _push_after_batch(batch: Any) -> None:
    """After each committed intake batch the worker sends one push batch (domain.md §7: without waiting for a
    schedule). With two workers, pushes then go out while intake runs, instead of queueing behind intake runs;
    the relay's claims (SKIP LOCKED, one row per person) make concurrent senders safe. A failure here is the
    relay's own business (its rows stay pending, the beat sweep retries): it never stops intake."""
    from prefserver.push import push_batch

    if not batch.counts.get("applied"):
        return  # nothing applied, no outbox row written
    try:
        push_batch()
    except Exception as exc:
        logger.warning("push after an intake batch failed (%s)", type(exc).__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def intake_redispatch_task() -> bool:
    """Beat, every few seconds: wake a worker for pending notices stranded without a wake-up (a crash between
    commit and publish, a Redis restart)."""
    from prefserver.intake.process import intake_stranded_exists

    if intake_stranded_exists(older_than=dt.timedelta(seconds=2)):
        intake_process_task.delay()
        return True
    return False


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def intake_hold_sweep_task() -> int:
    """Beat, every minute: held notices past NOTICE_HOLD_HOURS get their timeout result (§6.3)."""
    from prefserver.intake.process import intake_hold_sweep

    return intake_hold_sweep(as_of=clock.now())


@shared_task(acks_late=True, ignore_result=True)
def history_purge_task() -> int:
    """Daily (beat): drop expired version partitions of both files (domain.md §13). Returns the PurgeRun id."""
    from jukinet.retention import purge_expired

    return purge_expired(as_of=clock.today(), dry_run=False).pk


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def manual_corrections_unchecked_task() -> int:
    """例外修正 left unchecked after its quarter raise an alert on the auditor's dashboard (§6.6, §15)."""
    from prefserver.corrections import manual_corrections_unchecked_alerts

    return manual_corrections_unchecked_alerts(as_of=clock.now())


@shared_task(acks_late=True, ignore_result=True)
def intake_records_purge_task() -> int:
    """Daily (beat): notices, results and the duplicate log past RETENTION_YEARS go (domain.md §6.5). Returns
    the number of notices removed."""
    from prefserver.intake.keeping import intake_records_purge

    return intake_records_purge(as_of=clock.now())["notice"]


# --- National push relay (domain.md §7) ------------------------------------------------------------------

PUSH_MAX_BATCHES_PER_RUN = 50


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def push_relay_task() -> int:
    """Woken on commit after an apply, and by beat every few seconds: send what is due, in order per person."""
    from prefserver.push import push_due_exists, push_relay_run

    if not push_due_exists():
        return 0
    sent = push_relay_run(max_batches=PUSH_MAX_BATCHES_PER_RUN)
    return sent


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def push_backlog_check_task() -> dict[str, int]:
    """Beat, every minute: alert / incident for rows pending too long (PUSH_ALERT_AFTER, PUSH_INCIDENT_AFTER)."""
    from prefserver.push import push_backlog_check

    return push_backlog_check(as_of=clock.now())


@task_success.connect
def _wake_push_after_apply(sender: Any = None, result: Any = None, **kwargs: Any) -> None:
    """Wake the relay once an intake run has committed batches (it returns after its commits), so pushes
    wait for no schedule. Eager runs (unit tests) are skipped: those tests call the relay themselves."""
    if getattr(sender, "name", "") != intake_process_task.name or not result:
        return
    if getattr(sender.request, "is_eager", False):
        return
    push_relay_task.delay()
