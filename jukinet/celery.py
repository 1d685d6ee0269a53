"""Celery application. Tasks take ids, acknowledge late and are idempotent (domain.md §6.5)."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

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
