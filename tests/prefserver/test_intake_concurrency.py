"""Two batches on separate connections (scenario 47) and the stranded-notice sweeper. Transactional tests."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from prefserver.intake import process, receive
from prefserver.models import IdentityPerson, IdentityVersion, Notice, PushOutbox
from prefserver.tasks import intake_redispatch_task
from tests.prefserver.intake_helpers import CODE_A, YAMAGUCHI, identity_payload, notice

# Requested by name (not by the django_db mark) so that conftest empties the version tables afterwards.
pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def no_wake_up(monkeypatch):
    """Store notices without publishing the wake-up (as if the process died between commit and publish)."""
    monkeypatch.setattr(receive, "wake_intake_worker", lambda: None)


def test_entries_for_one_new_code_in_two_concurrent_batches(no_wake_up, monkeypatch):
    # given two entries for the same new resident code (update_sequence 1 and 2), stored, not yet processed
    first = notice("11", 1, resident_code=CODE_A)
    second = notice("11", 2, resident_code=CODE_A, payload=identity_payload(name="見本 次郎"))
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=[first, second], actor=f"cs:{YAMAGUCHI}")
    # batch A stops for a moment right after taking its advisory locks, while it holds the first notice
    a_locked = threading.Event()
    original_load = process.BatchRun._load

    def load(self, keys):
        if threading.current_thread().name == "A":
            a_locked.set()
            time.sleep(0.5)  # widen the window in which batch B runs into the lock
        return original_load(self, keys)

    monkeypatch.setattr(process.BatchRun, "_load", load)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            if threading.current_thread().name == "B":
                a_locked.wait(timeout=10)
            process.intake_process_batch(limit=1)  # each batch claims one notice (SKIP LOCKED)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    # when two workers process them at the same time, each on its own connection
    threads = [threading.Thread(target=worker, name=name) for name in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then one applies and the other, which waited for the lock, sees the new person: E101
    assert errors == []
    results = dict(Notice.objects.values_list("notice_id", "code"))
    assert results == {first["notice_id"]: "", second["notice_id"]: "E101"}
    assert IdentityPerson.objects.count() == 1 and IdentityVersion.objects.count() == 1
    assert PushOutbox.objects.count() == 1


def test_sweeper_dispatches_a_notice_stranded_without_a_wake_up(no_wake_up):
    # given a notice committed to the inbox whose wake-up was never published
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=[notice()], actor=f"cs:{YAMAGUCHI}")
    assert Notice.objects.get().status == "pending"
    # a fresh notice is not stranded yet
    assert intake_redispatch_task() is False
    Notice.objects.update(received_at=Notice.objects.get().received_at - dt.timedelta(seconds=5))
    # when the beat sweeper runs (Celery is eager in tests)
    assert intake_redispatch_task() is True
    # then it is decided
    assert Notice.objects.get().status == "applied"


def test_wake_up_after_commit_processes_the_notice():
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=[notice()], actor=f"cs:{YAMAGUCHI}")
    assert Notice.objects.get().status == "applied"
