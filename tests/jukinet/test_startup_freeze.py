"""Server processes leave their start-up objects out of garbage collection (gunicorn workers, Celery workers)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from celery.signals import worker_process_init

from jukinet import gunicorn_conf


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process's objects go back to the collector


def test_a_gunicorn_worker_freezes_the_loaded_application(unfrozen: None) -> None:
    # given: nothing frozen
    assert gc.get_freeze_count() == 0
    # when: gunicorn calls the hook once the worker has loaded the application
    gunicorn_conf.post_worker_init(worker=None)
    # then: every object alive now is out of the collector's passes
    assert gc.get_freeze_count() > 10_000


def test_a_celery_worker_process_freezes_what_it_inherited(unfrozen: None) -> None:
    import jukinet.celery  # noqa: F401 - connects the receiver

    # given
    assert gc.get_freeze_count() == 0
    # when: Celery starts a pool process
    worker_process_init.send(sender=None)
    # then
    assert gc.get_freeze_count() > 10_000
