import datetime as dt
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from audit import partitions
from audit.models import OperationKind, OperationLogCheckpoint, OperationLogEntry
from audit.oplog import chain_hash
from audit.services import (
    entry_canonical,
    operation_log_checkpoint_run,
    operation_log_checkpoint_sign,
    operation_log_purge,
    operation_log_record,
    operation_log_seal,
)
from audit.verify import operation_log_verify
from jukinet import clock


@pytest.fixture(autouse=True)
def checkpoint_dir(settings, tmp_path):
    settings.OPLOG_CHECKPOINT_EXPORT_DIR = str(tmp_path / "checkpoints")
    return tmp_path / "checkpoints"


def _append(count, actor="system:test"):
    entries = []
    for index in range(count):
        with transaction.atomic():
            entries.append(
                operation_log_record(actor=actor, kind=OperationKind.IDENTITY_SEARCHED, conditions={"i": index})
            )
    return entries


def _tamper(sql, params=()):
    # An intruder with superuser rights: triggers off for this statement only.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.django_db
def test_intact_log_verifies_from_genesis():
    entries = _append(5)
    result = operation_log_verify()
    assert result.ok, result.summary()
    assert result.checked == 5 and result.last == entries[-1].sequence


@pytest.mark.django_db
def test_edited_entry_is_reported_at_its_sequence():
    # given
    entries = _append(6)
    target = entries[2].sequence
    # when
    _tamper("UPDATE audit_operationlogentry SET result_count = 99 WHERE sequence = %s", [target])
    # then
    result = operation_log_verify()
    assert not result.ok and result.broken_sequence == target


@pytest.mark.django_db
def test_one_changed_byte_is_reported_by_the_command():
    entries = _append(4)
    target = entries[1].sequence
    _tamper("UPDATE audit_operationlogentry SET actor = 'system:tesu' WHERE sequence = %s", [target])
    with pytest.raises(CommandError, match=f"BROKEN at sequence {target}:"):
        call_command("verify_operation_log")


@pytest.mark.django_db
def test_deleted_entry_is_reported_at_its_sequence():
    entries = _append(6)
    target = entries[3].sequence
    _tamper("DELETE FROM audit_operationlogentry WHERE sequence = %s", [target])
    result = operation_log_verify()
    assert not result.ok and result.broken_sequence == target and "missing" in result.reason


@pytest.mark.django_db
def test_deleted_tail_is_reported():
    entries = _append(4)
    _tamper("DELETE FROM audit_operationlogentry WHERE sequence = %s", [entries[-1].sequence])
    result = operation_log_verify()
    assert not result.ok and result.broken_sequence == entries[-1].sequence


@pytest.mark.django_db
def test_reordered_entries_are_reported_at_the_first_moved_sequence():
    entries = _append(6)
    a, b = entries[2].sequence, entries[3].sequence
    _tamper(
        "UPDATE audit_operationlogentry SET sequence = CASE sequence WHEN %s THEN %s ELSE %s END"
        " WHERE sequence IN (%s, %s)",
        [a, b, a, a, b],
    )
    result = operation_log_verify()
    assert not result.ok and result.broken_sequence == a


@pytest.mark.django_db
def test_row_inserted_directly_in_sql_is_reported_at_its_sequence():
    entries = _append(5)
    target = entries[2].sequence
    _tamper(
        "INSERT INTO audit_operationlogentry (sequence, recorded_at, actor, kind, targets, outcome, hash)"
        " SELECT sequence, recorded_at + interval '1 microsecond', 'system:forged', kind, targets,"
        " outcome, hash"
        " FROM audit_operationlogentry WHERE sequence = %s",
        [target],
    )
    result = operation_log_verify()
    assert not result.ok and result.broken_sequence == target


@pytest.mark.django_db
def test_row_appended_directly_in_sql_is_reported():
    entries = _append(3)
    last = entries[-1].sequence
    _tamper(
        "INSERT INTO audit_operationlogentry (sequence, recorded_at, actor, kind, targets, outcome, hash)"
        " VALUES (%s, now(), 'system:forged', 1, '[]', 'ok', %s)",
        [last + 1, b"\x00" * 32],
    )
    result = operation_log_verify()
    assert not result.ok and result.broken_sequence == last + 1


@pytest.mark.django_db
def test_rehashed_rewrite_is_caught_by_the_signed_checkpoint():
    # given: a checkpoint on entry 4 of 6
    entries = _append(6)
    operation_log_checkpoint_sign(sequence=entries[3].sequence, reason="manual")
    # when: entry 2 is edited and every later hash recomputed by the intruder
    _tamper("UPDATE audit_operationlogentry SET result_count = 7 WHERE sequence = %s", [entries[1].sequence])
    rows = list(OperationLogEntry.objects.order_by("sequence"))
    previous = bytes(rows[0].hash)
    for row in rows[1:]:
        previous = chain_hash(previous, entry_canonical(row))
        _tamper("UPDATE audit_operationlogentry SET hash = %s WHERE sequence = %s", [previous, row.sequence])
    # then
    result = operation_log_verify()
    assert not result.ok
    assert result.broken_sequence == entries[3].sequence and "checkpoint" in result.reason


@pytest.mark.django_db
def test_checkpoint_is_signed_stored_and_exported(checkpoint_dir):
    entries = _append(2)
    checkpoint = operation_log_checkpoint_sign(sequence=entries[-1].sequence, reason="manual")
    exported = list(checkpoint_dir.glob("oplog-checkpoint-*.json"))
    assert len(exported) == 1 and bytes(checkpoint.hash).hex() in exported[0].read_text()
    assert OperationLogEntry.objects.filter(kind=OperationKind.CHECKPOINT_SIGNED).count() == 1


@pytest.mark.django_db
def test_month_end_checkpoint_anchors_verification_after_the_oldest_month_is_dropped(monkeypatch, settings):
    # given: entries in January and February 2018, then today
    settings.RETENTION_YEARS = 7
    real_now = clock.now
    for moment in (
        dt.datetime(2018, 1, 20, 10, tzinfo=clock.TOKYO),
        dt.datetime(2018, 2, 10, 10, tzinfo=clock.TOKYO),
    ):
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        _append(3)
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2018, 3, 1, 0, 5, tzinfo=clock.TOKYO))
    signed = operation_log_checkpoint_run()
    monkeypatch.setattr(clock, "now", real_now)
    _append(2)
    january_end = OperationLogEntry.objects.filter(recorded_at__lt=dt.datetime(2018, 2, 1, tzinfo=clock.TOKYO))
    january_last = january_end.order_by("-sequence").first().sequence
    assert january_last in [c.sequence for c in signed if c.reason == "month_end"]
    # when: the purge runs seven years and a fortnight after February 2018 started
    report = operation_log_purge(as_of=dt.date(2025, 2, 15))
    # then
    assert report["partitions"] == [partitions.partition_name(dt.date(2018, 1, 1))]
    assert report["anchor"] == january_last
    assert not partitions.partition_exists(dt.date(2018, 1, 1))
    result = operation_log_verify()
    assert result.ok, result.summary()
    assert result.anchor == f"checkpoint #{january_last}"
    assert OperationLogEntry.objects.filter(kind=OperationKind.PURGE, actor="system:purge").count() == 1


@pytest.mark.django_db
def test_purge_signs_an_anchor_when_no_checkpoint_exists(monkeypatch, settings):
    settings.RETENTION_YEARS = 7
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: dt.datetime(2017, 6, 3, tzinfo=clock.TOKYO))
    old = _append(2)
    monkeypatch.setattr(clock, "now", real_now)
    _append(1)
    report = operation_log_purge(as_of=dt.date(2025, 1, 1))
    assert report["rows"] == 2
    assert OperationLogCheckpoint.objects.filter(sequence=old[-1].sequence, reason="purge").exists()
    assert operation_log_verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_two_connections_keep_one_chain():
    # given: two threads, each with its own database connection
    errors = []

    def worker(name):
        try:
            _append(25, actor=f"system:{name}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    sequences = list(OperationLogEntry.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(sequences) == 50 and sequences == list(range(sequences[0], sequences[0] + 50))
    assert {a for a in OperationLogEntry.objects.values_list("actor", flat=True)} == {"system:a", "system:b"}
    result = operation_log_verify()
    assert result.ok, result.summary()


@pytest.mark.django_db
def test_awkward_text_in_conditions_and_actor_verifies():
    # Quotes, backslashes, control characters, non-ASCII, nested keys out of order: the stored text and the
    # verifier's concatenation must give the bytes the append hashed.
    with transaction.atomic():
        operation_log_record(
            actor='cs:352039"\\',
            kind=OperationKind.INTAKE_REQUEST_RECEIVED,
            targets=[("prefserver.notice", "n-1\n")],
            conditions={"z": {"b": 1, "a": ["\t\x01\x1f", "山口県　周南市", "\u2028"]}, "A": True, "n": None},
            result_count=0,
        )
    result = operation_log_verify()
    assert result.ok, result.summary()


@pytest.mark.django_db
def test_daily_checkpoint_is_signed_once_per_period(monkeypatch):
    # given
    _append(2)
    first = operation_log_checkpoint_run()
    # when: run again at once, then a day later after more entries
    again = operation_log_checkpoint_run()
    _append(1)
    later = clock.now() + dt.timedelta(hours=25)
    monkeypatch.setattr(clock, "now", lambda: later)
    next_day = operation_log_checkpoint_run()
    # then
    assert [c.reason for c in first] == ["daily"] and again == []
    # (on a month's last day the run a day later also signs that month's end)
    daily = [c for c in next_day if c.reason == "daily"]
    assert len(daily) == 1 and daily[0].sequence > first[0].sequence
    assert operation_log_verify().checkpoints_checked >= 2


def _pending(outcome: str = "released", when: dt.datetime | None = None) -> None:
    from audit.models import OperationLogPending

    OperationLogPending.objects.create(
        recorded_at=when or clock.now(), operator_id=None, actor="system:test", terminal_id=None,
        kind=int(OperationKind.LOG_VERIFIED), affair_id=None, targets='[["provision.provisionrecord","7"]]',
        outcome=outcome, conditions='{"file":"identity"}', result_count=1,
    )  # fmt: skip


@pytest.mark.django_db
def test_seal_command_chains_pending_entries_and_verify_seals_first():
    # given: pending entries around a locked append
    from audit.models import OperationLogPending

    _pending()
    with transaction.atomic():
        operation_log_record(actor="system:test", kind=OperationKind.LOG_VERIFIED)
    _pending("not_found")
    # when
    call_command("seal_operation_log")
    _pending("refused")
    call_command("verify_operation_log")  # seals the last one, then verifies
    # then: chained when sealed (after the locked append), each once, then the verification's own entry
    assert not OperationLogPending.objects.exists()
    outcomes = list(OperationLogEntry.objects.order_by("sequence").values_list("outcome", flat=True))
    assert outcomes == ["ok", "released", "not_found", "refused", "ok"]
    assert operation_log_verify().ok


@pytest.mark.django_db
def test_a_changed_sealed_entry_is_caught_like_any_other():
    # given
    _pending()
    operation_log_seal()
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    # when: its outcome is rewritten behind the log's back
    _tamper("UPDATE audit_operationlogentry SET outcome = 'refused' WHERE sequence = %s", [entry.sequence])
    # then
    assert operation_log_verify().broken_sequence == entry.sequence


@pytest.mark.django_db
def test_beat_seals_pending_entries_every_few_seconds(settings):
    # given
    from audit.models import OperationLogPending
    from audit.tasks import oplog_seal_task

    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    _pending()
    _pending("not_found")
    # when
    sealed = oplog_seal_task()
    # then
    assert schedule["audit.tasks.oplog_seal_task"] == float(settings.OPLOG_SEAL_SECONDS) <= 5
    assert sealed == 2 and not OperationLogPending.objects.exists()
    assert operation_log_verify().ok
