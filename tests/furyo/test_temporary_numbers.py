"""The temporary individual-number store (domain.md §5.3, scenario 26): TTL and crypto-shredding."""

import datetime as dt
import logging

import pytest
from django.db import connection

from audit.models import OperationKind, OperationLogEntry
from furyo.models import TemporaryIndividualNumber
from furyo.temporary_numbers import (
    DAY_KEY_TABLE,
    temporary_number_read,
    temporary_number_store,
    temporary_numbers_purge,
)
from jukinet.models import PurgeRun

pytestmark = pytest.mark.django_db(transaction=False)

NUMBER = "983205673214"


def _day_keys():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT day FROM {DAY_KEY_TABLE} ORDER BY day")
        return [day for (day,) in cursor.fetchall()]


def _table_schema_and_persistence(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s",
            [table],
        )
        return cursor.fetchone()


def test_store_lives_in_its_own_schema_with_unlogged_day_keys():
    assert _table_schema_and_persistence("temporary_individual_number") == ("furyo_temp", "p")
    assert _table_schema_and_persistence("day_key") == ("furyo_temp", "u")


def test_number_is_encrypted_under_the_day_key_and_read_back_within_the_ttl(settings):
    settings.TEMP_INDIVIDUAL_NUMBER_TTL_DAYS = 30
    # given a number pulled for provision record 501
    row = temporary_number_store(resident_code="12345678903", number=NUMBER, provision_record_id=501)
    # then it is stored only as ciphertext, with a 30-day expiry, under today's key
    stored = TemporaryIndividualNumber.objects.get(pk=row.pk)
    assert NUMBER.encode() not in bytes(stored.ciphertext)
    assert stored.expires_at - stored.created_at == dt.timedelta(days=30)
    assert _day_keys() == [stored.key_day]
    # and re-delivery within the TTL reads it back
    assert temporary_number_read(provision_record_id=501) == NUMBER
    assert temporary_number_read(provision_record_id=502) is None


def test_purge_deletes_expired_rows_and_the_day_key_with_the_days_last_row(settings):
    settings.TEMP_INDIVIDUAL_NUMBER_TTL_DAYS = 30
    first = temporary_number_store(resident_code="12345678903", number=NUMBER, provision_record_id=601)
    temporary_number_store(resident_code="59130274611", number="123456789018", provision_record_id=602)
    # given one row of the day lives longer than the other
    TemporaryIndividualNumber.objects.filter(pk=first.pk).update(expires_at=first.created_at + dt.timedelta(days=1))
    # when the purge runs after the first expired: its row goes, the key stays for the other row
    counts = temporary_numbers_purge(as_of=first.created_at + dt.timedelta(days=2))
    assert (counts.numbers_deleted, counts.day_keys_deleted) == (1, 0)
    assert temporary_number_read(provision_record_id=601) is None
    assert temporary_number_read(provision_record_id=602) == "123456789018"
    # when the day's last row expires, the key goes with it
    counts = temporary_numbers_purge(as_of=first.created_at + dt.timedelta(days=31))
    assert (counts.numbers_deleted, counts.day_keys_deleted) == (1, 1)
    assert not TemporaryIndividualNumber.objects.exists() and _day_keys() == []
    run = PurgeRun.objects.filter(kind=PurgeRun.Kind.TEMPORARY_NUMBERS).latest("pk")
    assert run.counts == {"temporary_individual_number": 1, "day_key": 1} and run.finished_at is not None
    # each run is one PURGE entry in the operation log (counts only)
    entries = list(OperationLogEntry.objects.filter(kind=OperationKind.PURGE).order_by("sequence"))
    assert [(e.actor, e.conditions["purge_kind"], e.conditions["counts"]) for e in entries] == [
        ("system:purge", "temporary_numbers", {"temporary_individual_number": 1, "day_key": 0}),
        ("system:purge", "temporary_numbers", {"temporary_individual_number": 1, "day_key": 1}),
    ]
    assert entries[-1].targets == [["jukinet.purgerun", str(run.pk)]]


def test_a_ciphertext_whose_day_key_is_gone_cannot_be_read():
    row = temporary_number_store(resident_code="12345678903", number=NUMBER, provision_record_id=701)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DAY_KEY_TABLE}")  # as after a crash: the unlogged table is empty
    assert TemporaryIndividualNumber.objects.filter(pk=row.pk).exists()
    assert temporary_number_read(provision_record_id=701) is None


def test_dry_run_counts_without_deleting():
    row = temporary_number_store(resident_code="12345678903", number=NUMBER, provision_record_id=801)
    counts = temporary_numbers_purge(as_of=row.expires_at, dry_run=True)
    assert (counts.numbers_deleted, counts.day_keys_deleted) == (1, 1)
    assert temporary_number_read(provision_record_id=801) == NUMBER  # nothing removed
    assert len(_day_keys()) == 1
    assert PurgeRun.objects.filter(kind=PurgeRun.Kind.TEMPORARY_NUMBERS).latest("pk").dry_run


def test_purge_task_runs_the_service(settings):
    from furyo.tasks import temporary_numbers_purge_task

    temporary_number_store(resident_code="12345678903", number=NUMBER, provision_record_id=901)
    TemporaryIndividualNumber.objects.update(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert temporary_numbers_purge_task.delay().get() == 1
    assert not TemporaryIndividualNumber.objects.exists()
    assert "furyo.tasks.temporary_numbers_purge_task" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_no_number_in_repr_str_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    row = temporary_number_store(resident_code="12345678903", number=NUMBER, provision_record_id=1001)
    temporary_number_read(provision_record_id=1001)
    for text in (repr(row), str(row), caplog.text):
        assert NUMBER not in text


def test_pull_takes_the_emigrants_number_from_file_1_and_keeps_it_for_redelivery():
    from types import SimpleNamespace

    from furyo.temporary_numbers import temporary_number_pull
    from prefserver.versions import identity_person_create, identity_version_write
    from tests.prefserver.factories import envelope, identity_content

    # given a person removed from file (1) by 国外転出
    person = identity_person_create(resident_code="12345678903", assigned_on=dt.date(2025, 4, 1))
    identity_version_write(person=person, content=identity_content(individual_number=NUMBER), envelope=envelope(),
                           removed=False)  # fmt: skip
    identity_version_write(person=person, content=identity_content(individual_number=NUMBER),
                           envelope=envelope(change_reason="34", update_sequence=2), removed=True)  # fmt: skip
    affair, record = SimpleNamespace(individual_number_permitted=True), SimpleNamespace(pk=1101)
    # when a permitted file (2) provision pulls it
    assert temporary_number_pull(resident_code="12345678903", affair=affair, provision_record=record) == NUMBER
    # then it is kept only in the temporary store, for that provision record
    assert TemporaryIndividualNumber.objects.filter(provision_record_id=1101).count() == 1
    assert temporary_number_read(provision_record_id=1101) == NUMBER
    # and an unknown code stores nothing
    assert (
        temporary_number_pull(resident_code="59130274611", affair=affair, provision_record=SimpleNamespace(pk=1102))
        is None
    )
    assert not TemporaryIndividualNumber.objects.filter(provision_record_id=1102).exists()


def test_the_key_of_the_purge_day_is_kept_even_without_rows():
    # given today's key exists but its only row was purged early (it never expires the same day in practice)
    row = temporary_number_store(resident_code="12345678903", number=NUMBER, provision_record_id=1201)
    TemporaryIndividualNumber.objects.filter(pk=row.pk).update(expires_at=row.created_at)
    # when the hourly purge runs today, the row goes but today's key stays for the rows still to come
    counts = temporary_numbers_purge(as_of=row.created_at)
    assert (counts.numbers_deleted, counts.day_keys_deleted) == (1, 0)
    assert _day_keys() == [row.key_day]
