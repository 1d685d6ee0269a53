"""Keeping intake's records (domain.md §6.5): the RETENTION_YEARS purge and key rotation of notice numbers."""

from __future__ import annotations

import base64
import datetime as dt
import os

import pytest

from audit.models import OperationKind, OperationLogEntry
from jukinet import clock
from jukinet.crypto import key_id_of, reset_key_caches
from prefserver.intake.keeping import intake_records_purge, notice_key_usage, notice_numbers_reencrypt
from prefserver.models import Alert, DuplicateReceipt, IdentityVersion, IntakeBatch, Notice, PushOutbox
from prefserver.tasks import intake_records_purge_task
from prefserver.versions import individual_number_of
from tests.prefserver.intake_helpers import (
    CODE_B,
    NUMBER,
    identity_payload,
    notice,
    receive,
    result_of,
    send_and_process,
)

pytestmark = pytest.mark.django_db

OLD = base64.b64encode(os.urandom(32)).decode()
NEW = base64.b64encode(os.urandom(32)).decode()


def _age(row: Notice, years: float) -> None:
    moment = clock.now() - dt.timedelta(days=365.25 * years)
    Notice.objects.filter(pk=row.pk).update(received_at=moment, decided_at=moment)
    IntakeBatch.objects.filter(notices__pk=row.pk).update(started_at=moment, finished_at=moment)


def test_purge_removes_decided_notices_past_retention_with_their_duplicates_and_logs_the_run(settings):
    # given an applied notice and a rejected one decided 8 years ago, one decided 6 years ago, and a held one
    settings.RETENTION_YEARS = 7
    (old_applied,) = send_and_process(notice("11", 1))
    (old_rejected,) = send_and_process(notice("11", 1, resident_code=CODE_B, payload=identity_payload(birth_date="x")))
    (recent,) = send_and_process(notice("11", 1, resident_code="59130274620"))
    (held,) = send_and_process(notice("21", 5))
    assert (old_applied.status, old_rejected.status, held.status) == ("applied", "rejected", "held")
    for row in (old_applied, old_rejected, held):
        _age(row, 8)
    _age(recent, 6)
    # and duplicate receipts: an old one of the rejected notice, and a recent one of the applied notice
    bad = identity_payload(birth_date="x")
    first = receive(notice("11", 1, resident_code=CODE_B, payload=bad, notice_id=old_rejected.notice_id))
    assert first[0].status == "duplicate"
    DuplicateReceipt.objects.filter(first_id=old_rejected.pk).update(received_at=clock.now() - dt.timedelta(days=3000))
    receive(notice("11", 1, notice_id=old_applied.notice_id))
    Alert.objects.create(kind=Alert.Kind.INTAKE_ERROR, message="x", notice_id=old_rejected.pk)
    # when the purge runs
    counts = intake_records_purge(as_of=clock.now())
    # then only the old rejected notice goes (the applied one has a duplicate receipt younger than 7 years)
    assert counts["notice"] == 1 and counts["duplicate_receipt"] == 1 and counts["alert_unlinked"] == 1
    assert set(Notice.objects.values_list("pk", flat=True)) == {old_applied.pk, recent.pk, held.pk}
    assert list(DuplicateReceipt.objects.values_list("first_id", flat=True)) == [old_applied.pk]
    assert Alert.objects.get(message="x").notice_id is None
    # the rejected notice's batch went with it; every kept notice's batch stays (old_applied's and held's are as
    # old): the purge keeps them, nothing in the database does (Notice.batch has no constraint)
    assert counts["intake_batch"] == 1
    kept_batches = set(Notice.objects.exclude(batch=None).values_list("batch_id", flat=True))
    assert len(kept_batches) == 3 and kept_batches <= set(IntakeBatch.objects.values_list("pk", flat=True))
    # versions keep their source notice id as a plain number
    assert IdentityVersion.objects.filter(source_notice_id=old_applied.pk).exists()
    # and the run is one PURGE entry with its counts
    entry = OperationLogEntry.objects.get(kind=OperationKind.PURGE)
    assert entry.actor == "system:purge" and entry.conditions["purge_kind"] == "intake_records"
    assert entry.conditions["counts"] == counts and entry.conditions["retention_years"] == 7


def test_purge_dry_run_removes_nothing_and_the_beat_task_runs_the_service(settings):
    settings.RETENTION_YEARS = 7
    (row,) = send_and_process(notice("11", 1))
    _age(row, 8)
    assert intake_records_purge(as_of=clock.now(), dry_run=True)["notice"] == 1
    assert Notice.objects.filter(pk=row.pk).exists()
    assert "prefserver.tasks.intake_records_purge_task" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert intake_records_purge_task.delay().get() == 1
    assert not Notice.objects.filter(pk=row.pk).exists()
    assert not IntakeBatch.objects.filter(kind=IntakeBatch.Kind.PROCESS).exists()  # its batch went with it
    dry, real = OperationLogEntry.objects.filter(kind=OperationKind.PURGE).order_by("sequence")
    assert (dry.conditions["dry_run"], real.conditions["dry_run"]) == (True, False)


@pytest.mark.usefixtures("seven_years")
def test_purge_removes_pushes_acknowledged_past_retention_and_never_a_pending_one():
    # given: three applied notices' pushes: acknowledged 8 years ago, acknowledged 6 years ago, and one
    # created 8 years ago that was never acknowledged (the national server refused the connection since)
    codes = ("59130274620", CODE_B, "12345678903")
    for code in codes:
        send_and_process(notice("11", 1, resident_code=code))
    years_ago = {
        code: clock.now() - dt.timedelta(days=365.25 * years) for code, years in zip(codes, (8, 6, 8), strict=True)
    }
    for code, status in zip(codes, ("sent", "sent", "pending"), strict=True):
        acked = years_ago[code] if status == "sent" else None
        PushOutbox.objects.filter(resident_code=code).update(
            status=status, acked_at=acked, created_at=years_ago[code], next_attempt_at=years_ago[code]
        )
    # when
    dry = intake_records_purge(as_of=clock.now(), dry_run=True)
    counts = intake_records_purge(as_of=clock.now())
    # then: only the push acknowledged more than 7 years ago goes; the pending one waits for its send
    assert dry["push_outbox"] == counts["push_outbox"] == 1
    assert set(PushOutbox.objects.values_list("resident_code", flat=True)) == {CODE_B, "12345678903"}


def test_rotation_reencrypts_pending_notice_numbers_and_they_still_apply(settings):
    def use(spec, active):
        settings.INDIVIDUAL_NUMBER_KEYS, settings.INDIVIDUAL_NUMBER_ACTIVE_KEY_ID = spec, active
        reset_key_caches()

    try:
        # given two pending notices whose numbers were encrypted under the old key
        use(f"old:{OLD}", "old")
        sent = [notice("11", 1), notice("11", 1, resident_code=CODE_B)]
        receive(*sent)
        assert notice_key_usage() == {"old": 2}
        # when the new key is active and the rotation stops after one chunk of one
        use(f"old:{OLD},new:{NEW}", "new")
        first = notice_numbers_reencrypt(batch=1, max_chunks=1)
        assert (first.rows_updated, notice_key_usage()) == (1, {"new": 1, "old": 1})
        # then a rerun finishes, and a third finds nothing
        assert notice_numbers_reencrypt(batch=1).rows_updated == 1
        assert notice_numbers_reencrypt().rows_updated == 0
        assert notice_key_usage() == {"new": 2}
        # and with the old key retired the notices decrypt and apply with their number
        use(f"new:{NEW}", "new")
        assert all(key_id_of(bytes(n.individual_number_ciphertext)) == "new" for n in Notice.objects.all())
        from prefserver.intake.process import intake_process_pending

        intake_process_pending()
        assert [result_of(n) for n in sent] == [("applied", ""), ("applied", "")]
        assert {individual_number_of(v) for v in IdentityVersion.objects.all()} == {NUMBER}
        # each run logged with its counts, never a number
        entries = OperationLogEntry.objects.filter(kind=OperationKind.KEY_ROTATION).order_by("sequence")
        assert [(e.conditions["operation"], e.result_count) for e in entries] == [
            ("notice_reencrypt", 1), ("notice_reencrypt", 1), ("notice_reencrypt", 0)]  # fmt: skip
        assert entries[0].conditions["tables"] == ["prefserver_notice"]
        assert all(NUMBER not in str(e.conditions) for e in entries)
    finally:
        reset_key_caches()
