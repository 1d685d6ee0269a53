"""Two batches on separate connections (scenario 47) and the stranded-notice sweeper. Transactional tests."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection

from jukinet.db import LockClass
from prefserver.intake import process, receive
from prefserver.models import NOTICE_LANES, IdentityPerson, IdentityVersion, Notice, PushOutbox
from prefserver.tasks import intake_redispatch_task
from tests.prefserver.intake_helpers import (
    CODE_A,
    OTHER_NUMBER,
    YAMAGUCHI,
    codes_by_lane,
    identity_payload,
    notice,
)
from tests.threads import run_in_threads

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
    # and batch B reaching the code without the lane's help (lanes keep two claims of one code apart; a 27's new
    # code and held notices are reached without them): the person locks decide
    lane_claim = process._claim

    def claim(limit):
        if threading.current_thread().name == "B":
            return process.stored_notices(
                Notice.objects.select_for_update(skip_locked=True).filter(status="pending").order_by("id")[:limit]
            )
        return lane_claim(limit)

    monkeypatch.setattr(process, "_claim", claim)
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


def test_a_second_worker_claims_other_lanes_and_does_not_wait(no_wake_up, monkeypatch):
    # given two notices for one code and one for a code in another lane, the first code's received first
    first_code, other_code = codes_by_lane(2)
    elements = [
        notice("11", 1, resident_code=first_code),
        notice("21", 2, resident_code=first_code, payload=identity_payload(address="山口県下関市見本町二丁目")),
        notice("11", 1, resident_code=other_code, payload=identity_payload(individual_number=OTHER_NUMBER)),
    ]
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=elements, actor=f"cs:{YAMAGUCHI}")
    # and batch A, holding the first notice, paused after its locks until batch B has finished
    a_locked, b_done = threading.Event(), threading.Event()
    in_a = threading.local()
    original_load = process.BatchRun._load

    def load(self, keys):
        if getattr(in_a, "yes", False):
            a_locked.set()
            assert b_done.wait(timeout=20), "batch B waited for batch A"
        return original_load(self, keys)

    monkeypatch.setattr(process.BatchRun, "_load", load)
    claimed: dict[str, list[str]] = {}

    def resident_codes(batch):
        return sorted(batch.notices.values_list("resident_code", flat=True)) if batch else []

    def a() -> None:
        in_a.yes = True
        claimed["A"] = resident_codes(process.intake_process_batch(limit=1))

    def b() -> None:
        try:
            assert a_locked.wait(timeout=20)
            claimed["B"] = resident_codes(process.intake_process_batch(limit=10))
        finally:
            b_done.set()

    # when A claims one notice and B, meanwhile, up to ten
    errors = run_in_threads(a, b)
    # then B took only the other lane's notice and finished while A still held its person (no wait), and the
    # first code's second notice is left for a later batch
    assert errors == []
    assert claimed == {"A": [first_code], "B": [other_code]}
    assert Notice.objects.get(resident_code=first_code, update_sequence=2).status == "pending"
    process.intake_process_pending()
    assert set(Notice.objects.values_list("status", flat=True)) == {"applied"}


def test_a_claim_finds_nothing_while_every_lane_is_taken(no_wake_up):
    # given a pending notice and another connection holding every lane's lock
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=[notice()], actor=f"cs:{YAMAGUCHI}")
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with connection.cursor() as cursor:
                for lane in range(NOTICE_LANES):
                    cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LockClass.INTAKE_LANE, lane])
                held.set()
                release.wait(timeout=20)
                cursor.execute("SELECT pg_advisory_unlock_all()")
        finally:
            held.set()
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(timeout=20)
        # when a worker claims: nothing, and the notice is still pending (not skipped, not lost)
        assert process.intake_process_batch() is None
        assert Notice.objects.get().status == "pending"
    finally:
        release.set()
        thread.join(timeout=30)
    # once the lanes are free the notice is claimed and applied
    assert process.intake_process_batch() is not None
    assert Notice.objects.get().status == "applied"


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


def test_a_held_notice_row_locked_by_another_claim_is_released_once_that_lock_goes(no_wake_up):
    # given a person at update_sequence 1 and its notice 3 held for the gap
    from django.db import transaction

    third = notice("21", 3, payload=identity_payload(address="山口県下関市見本町三丁目"))
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=[notice("11", 1)], actor=f"cs:{YAMAGUCHI}")
    receive.notices_receive(municipality_code=YAMAGUCHI, elements=[third], actor=f"cs:{YAMAGUCHI}")
    process.intake_process_pending()
    held = Notice.objects.get(notice_id=third["notice_id"])
    assert held.status == "held"
    # and another worker's transaction holding a row lock on it: a claim that scanned the notice while it was
    # still pending keeps such a lock (FOR UPDATE's re-check) until its own batch commits
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_batch() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT id FROM prefserver_notice WHERE id = %s FOR UPDATE", [held.pk])
                locked.set()
                release.wait(timeout=20)
                time.sleep(0.5)  # still running when the gap-filling batch commits
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=other_batch)
    thread.start()
    try:
        assert locked.wait(timeout=20)
        receive.notices_receive(
            municipality_code=YAMAGUCHI,
            elements=[notice("21", 2, payload=identity_payload(address="山口県下関市見本町二丁目"))],
            actor=f"cs:{YAMAGUCHI}",
        )
        release.set()
        # when notice 2 fills the gap in a batch that runs meanwhile
        process.intake_process_pending()
    finally:
        release.set()
        thread.join(timeout=30)
    # then notice 3 is not left held: it applies once the other transaction lets go of it
    assert errors == []
    assert dict(Notice.objects.values_list("update_sequence", "status")) == {1: "applied", 2: "applied", 3: "applied"}
    assert IdentityVersion.objects.filter(is_current=True).get().update_sequence == 3
    assert PushOutbox.objects.count() == 3
