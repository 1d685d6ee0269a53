"""Celery application. Tasks take ids, acknowledge late and are idempotent (domain.md §6.5)."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")

app = Celery("jukinet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection before and after each task unless this key is set
# (celery/fixups/django.py reads it under its old name), so each task ran on a new PostgreSQL backend: a
# backend start and cold catalog caches per task. Connections are reused instead, and checked around each
# task as Django checks them around each request (_database_connections_checked): an unusable connection
# (after a PostgreSQL restart) or one older than CONN_MAX_AGE is closed, and the next query reconnects.
app.conf["CELERY_DB_REUSE_MAX"] = 1_000_000


@task_prerun.connect
@task_postrun.connect
def _database_connections_checked(sender: Any = None, **kwargs: Any) -> None:
    if sender is None or getattr(sender.request, "is_eager", False):
        return  # eager runs (tests) share the caller's connection and transaction
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _collector_settled(**kwargs: Any) -> None:
    """A worker process's start-up objects left out of garbage collection, the rest collected less often."""
    from jukinet.runtime import settle_collector

    settle_collector()


# Beat runs some housekeeping every few seconds (log sealing, intake re-dispatch, push relay sweep). Celery
# writes INFO lines for each run (sent, received, succeeded), which buried everything else in `make run`'s
# output. Those three lines are dropped for tasks beat starts more often than once a minute; their warnings
# and errors, and every line of every other task, still show.
FREQUENT_SECONDS = 60
CELERY_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def frequent_tasks(schedule: dict[str, dict[str, Any]]) -> frozenset[str]:
    """Task names (and beat entry names) of the entries that run more often than FREQUENT_SECONDS."""
    names: set[str] = set()
    for entry_name, entry in schedule.items():
        every = entry.get("schedule")
        if isinstance(every, int | float) and every < FREQUENT_SECONDS:
            names.update((entry_name, str(entry["task"])))
    return frozenset(names)


class FrequentTaskFilter(logging.Filter):
    """Drops INFO records whose arguments name a frequent task (the schedule is read on first use)."""

    def __init__(self) -> None:
        super().__init__()
        self._names: frozenset[str] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        if self._names is None:
            self._names = frequent_tasks(app.conf.beat_schedule or {})
        args = record.args
        values = args.values() if isinstance(args, dict) else (args or ())
        return not any(isinstance(value, str) and value in self._names for value in values)


for _name in CELERY_LOGGERS:
    logging.getLogger(_name).addFilter(FrequentTaskFilter())
