"""Celery application. Tasks take ids, acknowledge late and are idempotent (domain.md §6.5)."""

import logging
import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")

app = Celery("jukinet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
