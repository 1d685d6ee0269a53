"""Apply, holds, idempotency and control codes (domain.md §6.2, §6.3, §6.5; scenarios 4–10, 16, 17, 42–44, 48)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import OperationKind, OperationLogEntry
from audit.services import operation_log_seal
from jukinet.crypto import blind_index
from prefserver.intake import process
from prefserver.models import (
    Alert,
    IdentityPerson,
    IdentityResidentCode,
    IdentityVersion,
    IntakeBatch,
    Notice,
    PushOutbox,
)
from prefserver.versions import individual_number_of
from tests.prefserver.intake_helpers import (
    CODE_A,
    CODE_B,
    NUMBER,
    OTHER_NUMBER,
    UBE,
    identity_payload,
    notice,
    receive,
    result_of,
    send_and_process,
)

pytestmark = pytest.mark.django_db

MOVED = "山口県下関市見本町二丁目1番"


def _person(code: str = CODE_A) -> IdentityPerson:
    return IdentityPerson.objects.get(codes__resident_code=code)


def _current(code: str = CODE_A) -> IdentityVersion:
    return IdentityVersion.objects.get(pk=_person(code).current_version_id)


def test_move_within_supersedes_and_queues_one_push():
    # given scenario 4: a current person
    send_and_process(notice("11", 1))
    first = _current()
    # when a valid 転居 arrives
    (row,) = send_and_process(notice("21", 2, payload=identity_payload(address=MOVED)))
    # then the old version is retained from the receipt date and a new current version exists
    assert row.status == "applied"
    old = IdentityVersion.objects.get(pk=first.pk)
    assert (old.is_current, old.retention_flag, old.retention_start) == (False, 1, row.received_on)
    current = _current()
    assert (current.address, current.update_sequence, current.change_reason, current.source_notice_id) == (
        MOVED, 2, "21", row.pk)  # fmt: skip
    assert individual_number_of(current) == NUMBER
    pushes = list(PushOutbox.objects.order_by("id").values_list("update_sequence", "version_id", "status"))
    assert pushes == [(1, first.pk, "pending"), (2, current.pk, "pending")]
    batch = IntakeBatch.objects.filter(kind=IntakeBatch.Kind.PROCESS).last()
    assert batch.counts == {"applied": 1} and batch.first_notice == row.pk
    # and the batch has its operation-log entry: notice-id range and counts by result, no values
    operation_log_seal()  # intake's entries are written unchained and sealed within seconds
    entry = OperationLogEntry.objects.filter(kind=OperationKind.INTAKE_BATCH_PROCESSED).order_by("sequence").last()
    assert (entry.actor, entry.result_count, entry.targets) == (
        "system:intake",
        1,
        [["prefserver.intakebatch", str(batch.pk)]],
    )
    assert entry.conditions == {"applied": 1, "first_notice": row.pk, "last_notice": row.pk}


def test_gap_is_held_and_applies_after_the_missing_notice():
    # scenario 7 (second half): stored + 2 is held and applies after stored + 1
    send_and_process(notice("11", 1))
    later = notice("23", 3, payload=identity_payload(name="見本 次郎", address=MOVED))
    (row,) = send_and_process(later)
    assert (row.status, row.hold_reason) == ("held", "gap")
    send_and_process(notice("21", 2, payload=identity_payload(address=MOVED)))
    assert result_of(later) == ("applied", "")
    assert (_current().name, _current().update_sequence) == ("見本 次郎", 3)
    assert PushOutbox.objects.count() == 3


def test_held_notices_released_in_the_same_batch_in_sequence_order():
    # given a whole life story sent in reverse order in one batch
    sent = [
        notice("11", 1),
        notice("21", 2, payload=identity_payload(address=MOVED)),
        notice("23", 3, payload=identity_payload(name="見本 次郎", address=MOVED)),
    ]
    rows = send_and_process(*reversed(sent))
    assert [r.status for r in rows] == ["applied"] * 3
    assert _current().update_sequence == 3
    assert list(PushOutbox.objects.order_by("id").values_list("update_sequence", flat=True)) == [1, 2, 3]


def test_move_in_before_the_old_move_out_is_held_then_applies():
    # scenario 9: B's 転入 (n + 1) arrives before A's 転出 (n)
    send_and_process(notice("11", 1))
    move_in = notice("11", 3, municipality_code=UBE, payload=identity_payload(address="山口県宇部市見本町1番"))
    (row,) = send_and_process(move_in)
    assert (row.status, row.hold_reason) == ("held", "gap")
    send_and_process(notice("31", 2))
    assert result_of(move_in) == ("applied", "")
    current = _current()
    assert (current.municipality_code, current.removed, current.update_sequence) == (UBE, False, 3)


def test_removed_person_non_entry_above_next_is_held_as_removed_then_e105_at_timeout():
    send_and_process(notice("11", 1))
    send_and_process(notice("31", 2))
    sent = notice("21", 4, payload=identity_payload(address=MOVED))
    (row,) = send_and_process(sent)
    assert (row.status, row.hold_reason) == ("held", "removed")
    process.intake_hold_sweep(as_of=row.received_at + dt.timedelta(hours=25))
    assert result_of(sent) == ("rejected", "E105")


def test_entry_for_a_removed_person_may_skip_values():
    send_and_process(notice("11", 1))
    send_and_process(notice("34", 2))
    (row,) = send_and_process(notice("11", 9, municipality_code=UBE))
    assert row.status == "applied" and _current().removed is False


def test_rejected_notice_resent_under_a_new_id_applies():
    # scenario 42
    send_and_process(notice("11", 1))
    (bad,) = send_and_process(notice("21", 2, payload=identity_payload(address=MOVED, name_kana="x")))
    assert bad.code == "E102"
    (good,) = send_and_process(notice("21", 2, payload=identity_payload(address=MOVED)))
    assert good.status == "applied"
    assert PushOutbox.objects.count() == 2


def test_same_notice_twice_processing_applies_once():
    # scenario 5: the inbox keeps one row; processing twice applies once
    sent = notice("11", 1)
    receive(sent)
    receive(sent)
    process.intake_process_pending()
    process.intake_process_pending()
    assert Notice.objects.count() == 1 and IdentityVersion.objects.count() == 1 and PushOutbox.objects.count() == 1


def test_cancellation_restores_the_prior_state_and_pushes_it():
    # scenario 16
    send_and_process(notice("11", 1))
    prior = _current()
    change = notice("21", 2, payload=identity_payload(address=MOVED))
    send_and_process(change)
    target = _current()
    (row,) = send_and_process(notice("92", 3, target_notice_id=change["notice_id"], payload={}))
    assert row.status == "applied"
    assert IdentityVersion.objects.get(pk=target.pk).deleted is True
    current = _current()
    assert (current.address, current.update_sequence, current.change_reason, current.deleted) == (
        prior.address, 3, "92", False)  # fmt: skip
    assert PushOutbox.objects.filter(update_sequence=3, version_id=current.pk).count() == 1


def test_cancellation_of_a_mistaken_move_out_applies():
    # scenario 43 (first clause): not E105
    send_and_process(notice("11", 1))
    move_out = notice("31", 2)
    send_and_process(move_out)
    (row,) = send_and_process(notice("92", 3, target_notice_id=move_out["notice_id"], payload={}))
    assert row.status == "applied"
    assert _current().removed is False


def test_cancellation_of_a_correction_restores_the_state_before_the_original():
    # scenario 43 (second clause)
    send_and_process(notice("11", 1))
    original = notice("21", 2, payload=identity_payload(address=MOVED))
    send_and_process(original)
    correction = notice("91", 3, target_notice_id=original["notice_id"],
                        payload=identity_payload(address="山口県下関市見本町三丁目1番"))  # fmt: skip
    (row,) = send_and_process(correction)
    assert row.status == "applied" and _current().address == "山口県下関市見本町三丁目1番"
    send_and_process(notice("92", 4, target_notice_id=correction["notice_id"], payload={}))
    current = _current()
    assert (current.address, current.update_sequence) == ("山口県下関市見本町一丁目2番3号", 4)
    deleted = set(IdentityVersion.objects.filter(deleted=True).values_list("update_sequence", flat=True))
    assert deleted == {2, 3}


def test_cancellation_of_an_only_entry_leaves_a_removed_deleted_version():
    # scenario 44
    entry = notice("12", 1, change_date="1980-04-01")
    send_and_process(entry)
    (row,) = send_and_process(notice("92", 2, target_notice_id=entry["notice_id"], payload={}))
    assert row.status == "applied"
    current = _current()
    assert (current.removed, current.deleted, current.is_current) == (True, True, True)
    assert not IdentityVersion.objects.filter(is_current=True, deleted=False).exists()
    # a later entry re-enters the person, 出生 included (its current version is deleted)
    (again,) = send_and_process(notice("12", 3, change_date="1980-04-01"))
    assert again.status == "applied" and _current().removed is False


def test_correction_replaces_the_target_content():
    send_and_process(notice("11", 1))
    change = notice("23", 2, payload=identity_payload(name="見本 次朗"))
    send_and_process(change)
    send_and_process(notice("91", 3, target_notice_id=change["notice_id"], payload=identity_payload(name="見本 次郎")))
    assert (_current().name, _current().change_reason) == ("見本 次郎", "91")


def test_resident_code_change_moves_the_person():
    # scenario 17: after a 27, the new code continues the same counter and the old code is E110
    send_and_process(notice("11", 1))
    person = _person()
    (row,) = send_and_process(notice("27", 2, payload=identity_payload(new_resident_code=CODE_B)))
    assert row.status == "applied"
    assert IdentityResidentCode.objects.get(resident_code=CODE_A).replaced_by == CODE_B
    assert _person(CODE_B) == person and _current(CODE_B).resident_code == CODE_B
    (next_row,) = send_and_process(notice("21", 3, resident_code=CODE_B, payload=identity_payload(address=MOVED)))
    assert next_row.status == "applied"
    assert list(PushOutbox.objects.order_by("id").values_list("resident_code", "update_sequence")) == [
        (CODE_A, 1), (CODE_B, 2), (CODE_B, 3)]  # fmt: skip


def test_notice_under_a_new_code_before_its_27_is_held_then_applies():
    send_and_process(notice("11", 1))
    early = notice("21", 3, resident_code=CODE_B, payload=identity_payload(address=MOVED))
    (row,) = send_and_process(early)
    assert (row.status, row.hold_reason) == ("held", "unknown_code")
    send_and_process(notice("27", 2, payload=identity_payload(new_resident_code=CODE_B)))
    assert result_of(early) == ("applied", "")


def test_individual_number_change_writes_the_new_number():
    send_and_process(notice("11", 1))
    send_and_process(notice("26", 2, payload=identity_payload(individual_number=OTHER_NUMBER)))
    assert bytes(_current().individual_number_blind_index) == blind_index(OTHER_NUMBER)


@pytest.mark.parametrize("fast", [True, False], ids=["set-based", "per-notice"])
def test_three_unexpected_errors_hold_the_notice_with_an_alert_and_the_batch_applies(monkeypatch, fast, caplog):
    # given scenario 48: one notice whose apply fails every time (per notice: after writing its version)
    failing = notice("11", 1, resident_code=CODE_B)
    others = [notice("11", 1), notice("21", 2, payload=identity_payload(address=MOVED))]
    staged, write = process.BatchRun._apply_staged, process.write_version

    def flaky_staged(self, stored, parsed):
        if parsed.resident_code == CODE_B:
            raise RuntimeError("simulated failure")
        return staged(self, stored, parsed)

    def flaky_write(file, **kwargs):
        version = write(file, **kwargs)
        if kwargs["envelope_values"]["resident_code"] == CODE_B:
            raise RuntimeError(f"simulated failure after the write of {CODE_B}")
        return version

    monkeypatch.setattr(process.BatchRun, "_apply_staged", flaky_staged)
    monkeypatch.setattr(process, "write_version", flaky_write)
    # when
    receive(failing, *others)
    process.intake_process_pending(fast=fast)
    # then the rest applies, and the failing notice is held (error) after 3 attempts, with an alert
    assert [result_of(n)[0] for n in others] == ["applied", "applied"]
    row = Notice.objects.get(notice_id=failing["notice_id"])
    assert (row.status, row.hold_reason, row.error_count, row.code) == ("held", "error", 3, "")
    assert Alert.objects.filter(kind=Alert.Kind.INTAKE_ERROR, notice=row).count() == 1
    assert not IdentityResidentCode.objects.filter(resident_code=CODE_B).exists()
    # and the application log names the notice id and the error type, never the resident code
    assert f"notice #{row.pk} failed (RuntimeError" in caplog.text and CODE_B not in caplog.text
    assert IdentityVersion.objects.filter(resident_code=CODE_B).count() == 0
    assert PushOutbox.objects.count() == 2
    # and neither the hold sweep nor later batches give it a code
    process.intake_hold_sweep(as_of=row.received_at + dt.timedelta(days=30))
    process.intake_process_pending(fast=fast)
    row.refresh_from_db()
    assert (row.status, row.code) == ("held", "")


def test_database_refusal_of_the_set_based_batch_falls_back_to_per_notice(monkeypatch):
    # given a set-based flush that the database refuses once
    from django.db import DatabaseError

    from prefserver.intake import bulk

    calls = []
    original = bulk.BulkWriter.flush

    def refusing_flush(self):
        if self.pending and not calls:
            calls.append(1)
            raise DatabaseError("simulated refusal")
        return original(self)

    monkeypatch.setattr(bulk.BulkWriter, "flush", refusing_flush)
    sent = [notice("11", 1), notice("21", 2, payload=identity_payload(address=MOVED))]
    # when
    receive(*sent)
    process.intake_process_pending()
    # then the batch is re-run notice by notice and applies once
    assert [result_of(n) for n in sent] == [("applied", ""), ("applied", "")]
    assert IdentityVersion.objects.count() == 2 and PushOutbox.objects.count() == 2
    assert IntakeBatch.objects.filter(kind=IntakeBatch.Kind.PROCESS).count() == 1
    # and only the committed re-run is logged
    operation_log_seal()
    assert OperationLogEntry.objects.filter(kind=OperationKind.INTAKE_BATCH_PROCESSED).count() == 1


def test_cancellation_of_an_entry_in_the_same_batch():
    entry = notice("11", 1)
    cancel = notice("92", 2, target_notice_id=entry["notice_id"], payload={})
    rows = send_and_process(entry, cancel)
    assert [r.status for r in rows] == ["applied", "applied"]
    assert (_current().removed, _current().deleted) == (True, True)


def test_no_push_for_rejected_held_or_duplicate_notices():
    sent = notice("11", 1)
    send_and_process(sent, notice("11", 2), notice("21", 5, payload=identity_payload(address=MOVED)))
    receive(sent)
    process.intake_process_pending()
    assert PushOutbox.objects.count() == 1
    assert set(Notice.objects.values_list("status", flat=True)) == {"applied", "rejected", "held"}


def test_furyo_code_change_records_the_former_code_and_cancellation_restores():
    from furyo.models import FuryoPerson, FuryoVersion
    from tests.prefserver.intake_helpers import furyo_payload

    send_and_process(notice("51", file="furyo"))
    (row,) = send_and_process(notice("27", 2, file="furyo", payload=furyo_payload(new_resident_code=CODE_B)))
    assert row.status == "applied"
    person = FuryoPerson.objects.get(codes__resident_code=CODE_B)
    current = FuryoVersion.objects.get(pk=person.current_version_id)
    assert (current.resident_code, current.former_resident_code, current.notice_kind) == (CODE_B, CODE_A, "27")
    # a later change keeps field 13; its 取消 restores the state before it
    change = notice("52", 3, file="furyo", resident_code=CODE_B, payload=furyo_payload(address="東京都港区見本1番"))
    send_and_process(change)
    send_and_process(notice("92", 4, file="furyo", resident_code=CODE_B, target_notice_id=change["notice_id"],
                            payload={}))  # fmt: skip
    person.refresh_from_db()
    current = FuryoVersion.objects.get(pk=person.current_version_id)
    assert (current.address, current.former_resident_code, current.update_sequence) == (
        "東京都千代田区見本一丁目1番", CODE_A, 4)  # fmt: skip
    assert PushOutbox.objects.filter(file="furyo").count() == 4


def test_missing_reference_data_decides_nothing(monkeypatch):
    # given a worker whose reference tables are empty (started before load_reference)
    from jukinet.models import ChangeReason

    sent = notice()
    receive(sent)
    process.clear_reference_caches()
    monkeypatch.setattr(ChangeReason.objects, "values_list", lambda *a, **k: [])
    # when it runs, the batch fails as a whole
    with pytest.raises(RuntimeError):
        process.intake_process_pending()
    # then the notice is still pending (nothing rejected as E007), and is decided once the data is there
    assert result_of(sent) == ("pending", "")
    monkeypatch.undo()
    process.clear_reference_caches()
    process.intake_process_pending()
    assert result_of(sent) == ("applied", "")


def test_entry_code_change_and_next_change_in_one_batch():
    # given a new person's entry, a 27 and a change under the new code, shuffled into one batch
    sent = [
        notice("21", 3, resident_code=CODE_B, payload=identity_payload(address=MOVED)),
        notice("27", 2, payload=identity_payload(new_resident_code=CODE_B)),
        notice("11", 1),
    ]
    # when
    rows = send_and_process(*sent)
    # then all apply in sequence order, on one person, each pushed once
    assert [r.status for r in rows] == ["applied"] * 3
    current = _current(CODE_B)
    assert (current.address, current.update_sequence, current.resident_code) == (MOVED, 3, CODE_B)
    assert IdentityVersion.objects.filter(person=_person(CODE_B)).count() == 3
    by_sequence = IdentityVersion.objects.order_by("update_sequence").values_list("is_current", "retention_flag")
    assert list(by_sequence) == [(False, 1), (False, 1), (True, 0)]
    # and version ids follow write order although the batch takes its ids ahead
    assert list(IdentityVersion.objects.order_by("id").values_list("update_sequence", flat=True)) == [1, 2, 3]
    assert list(PushOutbox.objects.order_by("update_sequence").values_list("resident_code", flat=True)) == [
        CODE_A, CODE_B, CODE_B]  # fmt: skip


def test_cancellation_restores_by_sequence_not_by_id():
    # given, in one batch, an entry, a 27 (per-notice path) and a change under the new code (set-based path)
    change = notice("21", 3, resident_code=CODE_B, payload=identity_payload(address=MOVED))
    send_and_process(notice("11", 1), notice("27", 2, payload=identity_payload(new_resident_code=CODE_B)), change)
    # when the change is cancelled
    (row,) = send_and_process(notice("92", 4, resident_code=CODE_B, target_notice_id=change["notice_id"], payload={}))
    # then the state before it is the 27's version (new code, first address), not the entry's
    assert row.status == "applied"
    current = _current(CODE_B)
    assert (current.resident_code, current.address, current.update_sequence) == (
        CODE_B, "山口県下関市見本町一丁目2番3号", 4)  # fmt: skip


def test_the_worker_chains_intake_log_entries_after_each_batch():
    # given a received and processed notice: its receipt's and batch's entries are written unchained
    from audit.models import OperationLogPending
    from audit.verify import operation_log_verify
    from prefserver import tasks

    receive(notice("11", 1))
    process.intake_process_pending()
    assert OperationLogPending.objects.count() == 2
    # when the worker's after-batch step runs
    tasks._seal_after_batch()
    # then both are chained, in the order written, and the chain verifies
    assert not OperationLogPending.objects.exists()
    kinds = list(OperationLogEntry.objects.order_by("sequence").values_list("kind", flat=True))
    assert kinds[-2:] == [OperationKind.INTAKE_REQUEST_RECEIVED, OperationKind.INTAKE_BATCH_PROCESSED]
    result = operation_log_verify()
    assert result.ok, result.summary()
