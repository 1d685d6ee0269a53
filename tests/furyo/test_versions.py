"""File (2) storage: append-only versions, partitions by expiry year, no individual number."""

import datetime as dt
import logging

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from furyo.models import FuryoPerson, FuryoVersion
from furyo.versions import (
    VERSION_TABLE,
    furyo_current_version,
    furyo_person_create,
    furyo_version_mark_deleted,
    furyo_version_write,
)
from tests.furyo.factories import furyo_content, furyo_envelope

pytestmark = pytest.mark.django_db(transaction=False)

DB_GUARD_ERRORS = (InternalError, ProgrammingError, IntegrityError)


def _new_person():
    person = furyo_person_create(resident_code="12345678903", assigned_on=dt.date(2025, 4, 1))
    version = furyo_version_write(person=person, content=furyo_content(), envelope=furyo_envelope())
    return person, version


def _partition_of(version_id):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {VERSION_TABLE} WHERE id = %s", [version_id])
        return cursor.fetchone()[0]


def test_a_new_version_is_current_never_expires_and_carries_search_keys():
    _, version = _new_person()
    stored = FuryoVersion.objects.get(pk=version.pk)
    assert (stored.is_current, stored.removed, stored.expiry_year, stored.retention_start) == (True, False, 9999, None)
    assert (stored.seion_kana, stored.name_key, stored.address_key) == (
        "ミホンハナコ", "見本花子", "山口県山口市見本町一丁目2番3号")  # fmt: skip
    assert _partition_of(version.pk) == f"{VERSION_TABLE}_y9999"


def test_supersede_appends_a_version_and_moves_the_old_one_to_its_expiry_partition():
    # given a person with one 附票 version
    person, first = _new_person()
    # when a 国外転出（附票） supersedes it (received 2025-05-10)
    second = furyo_version_write(
        person=person,
        content=furyo_content(address_municipality_code=None, address="アメリカ合衆国",
                              last_address="山口県山口市見本町一丁目2番3号", last_address_gaiji_count=0, status=2),
        envelope=furyo_envelope(notice_kind="53", update_sequence=2, received_on=dt.date(2025, 5, 10)),
    )  # fmt: skip
    # then the old version is retained 150 years from the superseding receipt date, content unchanged
    old = FuryoVersion.objects.get(pk=first.pk)
    assert (old.is_current, old.retention_flag, old.retention_start, old.expiry_year) == (
        False, 1, dt.date(2025, 5, 10), 2175)  # fmt: skip
    assert _partition_of(first.pk) == f"{VERSION_TABLE}_y2175"
    assert old.status == 1 and old.address_municipality_code == "352039"
    # and the abroad version is current, not removed, never expiring
    person.refresh_from_db()
    assert furyo_current_version(person).pk == second.pk
    assert (second.status, second.removed, second.expiry_year) == (2, False, 9999)
    assert FuryoVersion.objects.filter(person=person).count() == 2


def test_status_9_version_is_removed_and_carries_its_own_clock_from_insert():
    person, _ = _new_person()
    removal = furyo_version_write(
        person=person, content=furyo_content(status=9),
        envelope=furyo_envelope(notice_kind="54", update_sequence=2, received_on=dt.date(2030, 1, 5)),
    )  # fmt: skip
    assert (removal.removed, removal.retention_start, removal.expiry_year, removal.is_current) == (
        True, dt.date(2030, 1, 5), 2180, True)  # fmt: skip
    assert _partition_of(removal.pk) == f"{VERSION_TABLE}_y2180"
    # a later re-entry supersedes it without restarting its clock
    furyo_version_write(
        person=person, content=furyo_content(),
        envelope=furyo_envelope(notice_kind="51", update_sequence=4, received_on=dt.date(2031, 3, 1)),
    )  # fmt: skip
    removal.refresh_from_db()
    assert (removal.retention_start, removal.expiry_year, removal.is_current) == (dt.date(2030, 1, 5), 2180, False)


def test_explicit_removed_flag_overrides_the_status():
    # a 取消 of an entry with no earlier version: removed and deleted, whatever the status (domain.md §6.2)
    person = furyo_person_create(resident_code="59130274611", assigned_on=dt.date(2025, 4, 1))
    version = furyo_version_write(
        person=person, content=furyo_content(), envelope=furyo_envelope(resident_code="59130274611"),
        removed=True, deleted=True,
    )  # fmt: skip
    assert (version.removed, version.deleted, version.expiry_year) == (True, True, 2175)


def test_content_cannot_be_updated_nor_deleted():
    _, version = _new_person()
    with pytest.raises(DB_GUARD_ERRORS, match="append-only"), transaction.atomic():
        FuryoVersion.objects.filter(pk=version.pk).update(name="改ざん")
    with pytest.raises(DB_GUARD_ERRORS, match="append-only"), transaction.atomic():
        FuryoVersion.objects.filter(pk=version.pk).delete()
    assert FuryoVersion.objects.get(pk=version.pk).name == "見本 花子"


def test_deleted_flag_is_set_once():
    _, version = _new_person()
    furyo_version_mark_deleted(version=version)
    assert FuryoVersion.objects.get(pk=version.pk).deleted
    with pytest.raises(DB_GUARD_ERRORS, match="set once"), transaction.atomic():
        FuryoVersion.objects.filter(pk=version.pk).update(deleted=False)


def test_file_2_has_no_individual_number_column_and_refuses_one():
    columns = {field.name for field in FuryoVersion._meta.get_fields()}
    assert not any("individual_number" in name for name in columns)
    person = furyo_person_create(resident_code="59130274620", assigned_on=dt.date(2025, 4, 1))
    with pytest.raises(ValueError, match="no individual number"):
        furyo_version_write(
            person=person, content=furyo_content(individual_number="123456789018"),
            envelope=furyo_envelope(resident_code="59130274620"),
        )  # fmt: skip


def test_no_personal_data_in_repr_str_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    person, version = _new_person()
    loaded = FuryoVersion.objects.get(pk=version.pk)
    for text in (repr(loaded), str(loaded), repr(person), str(person), caplog.text):
        assert "見本" not in text and "12345678903" not in text


@pytest.mark.django_db(transaction=True)
def test_write_outside_a_transaction_is_refused():
    person = FuryoPerson.objects.create()
    with pytest.raises(RuntimeError, match="transaction"):
        furyo_version_write(person=person, content=furyo_content(), envelope=furyo_envelope())
    assert not FuryoVersion.objects.exists()
