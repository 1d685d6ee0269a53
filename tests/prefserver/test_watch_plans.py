"""Beat's watches over the inbox and the outbox read their partial indexes whatever the statistics say, and the
hold sweep's and the held re-check's batches plan as the claimed batches do.

Statistics taken during a burst say "most rows pending" (or held) until the next ANALYZE, which on a table of years of
notices comes only after another tenth of it has changed. With such statistics the planner chose to scan the whole
table for a check that then found nothing (jukinet.db.batch_planning). The watch tests take statistics while every
row is pending, decide the rows without a new ANALYZE, and count the sequential scans of the table in the test's
transaction (`pg_stat_xact_user_tables`). Each first shows that the same query without the planning does scan the
table under those statistics, so the state is the one that mattered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from jukinet import clock
from prefserver.intake import process
from prefserver.intake.process import intake_stranded_exists
from prefserver.models import Notice, PushOutbox
from prefserver.push import OUTBOX_TABLE, push_backlog_check
from tests.prefserver.intake_helpers import CODE_A, notice, outbox_rows, send_and_process

pytestmark = pytest.mark.django_db

NOTICE_TABLE = Notice._meta.db_table
ROWS = 5000
SEQ_SCANS = "seq_scan"
ROWS_READ = "seq_tup_read + COALESCE(idx_tup_fetch, 0)"  # by sequential scans and through indexes


def _so_far(table: str, counter: str = SEQ_SCANS) -> int:
    """A counter of `table` so far in this transaction (pg_stat_xact_user_tables)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counter} FROM pg_stat_xact_user_tables WHERE relname = %s", [table])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _run(table: str, sql: str, params: list[object], counter: str = SEQ_SCANS) -> int:
    """How much `sql`, run as it is (the planner's own choice), moved `table`'s counter."""
    before = _so_far(table, counter)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()
    return _so_far(table, counter) - before


def _notices(status: str, *, received_at: dt.datetime) -> None:
    """ROWS stored notices of one sender, analysed while in `status`, then all applied without a new ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {NOTICE_TABLE} (municipality_code, notice_id, file, change_reason, update_sequence,"
            " resident_code, target_notice_id, new_resident_code, envelope, content_sha256, request_id,"
            " received_at, received_on, status, hold_reason, error_count, code, message)"
            " SELECT '352012', 'W-' || n, 'identity', '21', 1, lpad(n::text, 11, '0'), '', '', '{}',"
            " repeat('0', 64), gen_random_uuid(), %s - make_interval(secs => n), %s::date, %s,"
            " CASE WHEN %s = 'held' THEN 'gap' ELSE '' END, 0, '', ''"
            " FROM generate_series(1, %s) AS n",
            [received_at, received_at, status, status, ROWS],
        )  # fmt: skip
        cursor.execute(f"ANALYZE {NOTICE_TABLE}")
        cursor.execute(f"UPDATE {NOTICE_TABLE} SET status = 'applied', hold_reason = '', decided_at = now()")


def test_the_stranded_notice_check_reads_the_claim_index_when_statistics_say_all_is_pending() -> None:
    # given: statistics taken while 5,000 notices were pending; all decided since
    _notices("pending", received_at=clock.now() - dt.timedelta(minutes=5))
    stranded_sql = f"SELECT 1 FROM {NOTICE_TABLE} WHERE status = 'pending' AND received_at <= %s LIMIT 1"
    assert _run(NOTICE_TABLE, stranded_sql, [clock.now()]) == 1  # the planner's choice: the whole inbox
    # when
    before = _so_far(NOTICE_TABLE)
    found = intake_stranded_exists()
    # then: nothing stranded, found without scanning the inbox
    assert found is False
    assert _so_far(NOTICE_TABLE) - before == 0


def test_the_stranded_notice_check_still_finds_a_stranded_notice() -> None:
    # given: the same statistics, and one notice left pending since about an hour ago
    _notices("pending", received_at=clock.now() - dt.timedelta(minutes=5))
    Notice.objects.filter(notice_id="W-4321").update(status="pending")
    # when / then
    assert intake_stranded_exists() is True
    assert intake_stranded_exists(older_than=dt.timedelta(days=1)) is False


def test_the_hold_sweep_reads_the_held_index_when_statistics_say_all_is_held() -> None:
    # given: statistics taken while 5,000 notices were held for two days; all decided since
    _notices("held", received_at=clock.now() - dt.timedelta(days=2))
    by_id = (
        f"SELECT id FROM {NOTICE_TABLE} WHERE status = 'held' AND received_at <= %s ORDER BY id LIMIT 2000"
        " FOR UPDATE SKIP LOCKED"
    )
    assert _run(NOTICE_TABLE, by_id, [clock.now()], ROWS_READ) >= ROWS  # the sweep's former order read every row
    # when
    before = _so_far(NOTICE_TABLE, ROWS_READ)
    swept = process.intake_hold_sweep(as_of=clock.now())
    # then: nothing to sweep, found without reading the decided rows
    assert swept == 0
    assert _so_far(NOTICE_TABLE, ROWS_READ) - before == 0


def _batch_settings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The planner settings in force inside each batch the processor runs from now on."""
    seen: list[tuple[str, str]] = []
    run_batch = process._run_batch

    def recording(*args: Any, **kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_seqscan'), current_setting('random_page_cost')")
            seen.append(cursor.fetchone())
        return run_batch(*args, **kwargs)

    monkeypatch.setattr(process, "_run_batch", recording)
    return seen


@pytest.mark.django_db(transaction=True)  # each atomic block its own transaction, so no SET LOCAL carries over
def test_the_hold_sweep_decides_its_batches_with_the_batch_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep's batches look up persons and versions as the claimed batches do (batch_planning): before, only
    claimed batches planned their key lookups as index probes."""
    # given: a change for a code the prefecture does not hold, held until its entry arrives
    (row,) = send_and_process(notice("21", 2, resident_code=CODE_A))
    assert (row.status, row.hold_reason) == ("held", "unknown_code")
    seen = _batch_settings(monkeypatch)
    # when: the hold time has passed
    swept = process.intake_hold_sweep(as_of=row.received_at + dt.timedelta(hours=25))
    # then: one batch, planned as a batch, and the notice has its timeout result
    assert swept == 1
    assert seen == [("off", "1.1")]
    row.refresh_from_db()
    assert row.status == "rejected"


@pytest.mark.django_db(transaction=True)
def test_the_held_recheck_decides_its_batch_with_the_batch_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: the same held change
    (row,) = send_and_process(notice("21", 2, resident_code=CODE_A))
    seen = _batch_settings(monkeypatch)
    # when: a batch that had to skip it asks for it to be re-examined
    waiting = process.intake_held_recheck(pks={row.pk})
    # then: examined in one batch planned as a batch; nothing releases it, so it stays held
    assert waiting == set()
    assert seen == [("off", "1.1")]
    row.refresh_from_db()
    assert row.status == "held"


def test_the_push_backlog_check_reads_the_due_index_when_statistics_say_all_is_pending() -> None:
    # given: statistics taken while 5,000 outbox rows were pending; all acknowledged since
    with connection.cursor() as cursor:
        outbox_rows(cursor, ROWS, pending=ROWS)
        cursor.execute(f"ANALYZE {OUTBOX_TABLE}")
        cursor.execute(f"UPDATE {OUTBOX_TABLE} SET status = 'sent', acked_at = now()")
    count_sql = f"SELECT count(*) FROM {OUTBOX_TABLE} WHERE status = 'pending' AND created_at <= %s"
    assert _run(OUTBOX_TABLE, count_sql, [clock.now()]) == 1
    # when
    before = _so_far(OUTBOX_TABLE)
    result = push_backlog_check()
    # then: nothing overdue, counted without scanning the acknowledged rows
    assert result == {"overdue": 0, "stale": 0}
    assert _so_far(OUTBOX_TABLE) - before == 0
    assert PushOutbox.objects.filter(status="pending").count() == 0
