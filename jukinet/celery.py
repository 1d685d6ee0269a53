"""Celery application. Tasks take ids, acknowledge late and are idempotent (domain.md §6.5)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")

app = Celery("jukinet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
