"""Server processes leave their start-up objects out of garbage collection (gunicorn workers, Celery workers);
Celery workers also collect the rest less often (jukinet.runtime.settle_collector)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from celery.signals import worker_process_init

from jukinet import gunicorn_conf
from jukinet.runtime import YOUNG_GENERATION_THRESHOLD


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(700, *thresholds[1:])
    yield
    gc.unfreeze()  # the test process's objects go back to the collector
    gc.set_threshold(*thresholds)


def test_a_gunicorn_worker_freezes_the_loaded_application(unfrozen: None) -> None:
    # given: nothing frozen
    assert gc.get_freeze_count() == 0
    # when: gunicorn calls the hook once the worker has loaded the application
    gunicorn_conf.post_worker_init(worker=None)
    # then: every object alive now is out of the collector's passes; young objects as often as before
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == 700


def test_a_celery_worker_process_freezes_what_it_inherited(unfrozen: None) -> None:
    import jukinet.celery  # noqa: F401 - connects the receiver

    # given
    assert gc.get_freeze_count() == 0
    # when: Celery starts a pool process
    worker_process_init.send(sender=None)
    # then
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
