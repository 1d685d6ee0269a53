"""jukinet.db.gin_pending_lists_clean: the GIN indexes' pending lists are moved into the indexes by beat, not by
whichever insert (an append under the log's chain lock) takes a list past its limit."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from audit.auditing import LogFilters
from audit.auditing import _queryset as _log_search
from audit.models import OperationKind
from audit.services import operation_log_record
from jukinet.db import gin_pending_lists_clean
from jukinet.tasks import gin_pending_lists_task

pytestmark = pytest.mark.django_db(transaction=True)


def _append(count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        with transaction.atomic():
            operation_log_record(
                actor="system:test", kind=OperationKind.IDENTITY_VIEWED, targets=[("prefserver.person", 10_000 + index)]
            )


def _log_indexes(moved: dict[str, int]) -> dict[str, int]:
    return {name: pages for name, pages in moved.items() if name.startswith("audit_operationlogentry_")}


def _found(person: int) -> int:
    """Entries naming the person, found by the auditors' search (audit.auditing) through the targets GIN index
    only."""
    target = ("prefserver.person", str(person))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return _log_search(LogFilters(target=target, targets=[target])).count()


def test_appended_entries_wait_in_the_pending_list_until_the_job_moves_them() -> None:
    # given: appends go to the targets index's pending list (fastupdate), which the job empties
    gin_pending_lists_clean()
    _append(40)
    # when
    first = _log_indexes(gin_pending_lists_clean())
    second = _log_indexes(gin_pending_lists_clean())
    # then: the current month's partition index had pending pages, and none are left after the first run
    assert len(first) == 1 and next(iter(first.values())) >= 1
    assert second == {}


def test_entries_stay_findable_through_the_index_after_the_move() -> None:
    # given
    _append(5, start=500)
    before = [_found(10_500 + i) for i in range(5)]
    # when
    pages = gin_pending_lists_task()
    # then
    assert pages >= 1
    assert before == [1] * 5
    assert [_found(10_500 + i) for i in range(5)] == [1] * 5
    assert _found(99_999) == 0


def test_beat_runs_the_job_every_half_minute(settings) -> None:
    # given
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    # then: often enough that 500 appends a second leave the list far below its 4 MB (about 70,000 entries)
    entry = schedule["jukinet.tasks.gin_pending_lists_task"]
    assert entry["schedule"] == float(settings.GIN_PENDING_CLEAN_SECONDS) == 30.0
    assert entry["options"]["expires"] == entry["schedule"]
