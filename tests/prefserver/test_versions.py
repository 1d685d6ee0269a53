"""File (1) storage: append-only versions, partitions by expiry year, encrypted individual numbers."""

import datetime as dt
import logging

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from jukinet.crypto import blind_index, decrypt_individual_number
from prefserver.models import IdentityPerson, IdentityVersion
from prefserver.versions import (
    VERSION_TABLE,
    identity_current_version,
    identity_person_create,
    identity_version_write,
    individual_number_of,
)
from tests.prefserver.factories import envelope, identity_content

pytestmark = pytest.mark.django_db(transaction=False)

DB_GUARD_ERRORS = (InternalError, ProgrammingError, IntegrityError)


def _new_person():
    person = identity_person_create(resident_code="12345678903", assigned_on=dt.date(2025, 4, 1))
    version = identity_version_write(person=person, content=identity_content(), envelope=envelope(), removed=False)
    return person, version


def _partition_of(version_id):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {VERSION_TABLE} WHERE id = %s", [version_id])
        return cursor.fetchone()[0]


def test_supersede_appends_a_version_and_moves_the_old_one_to_its_expiry_partition():
    # given a person with one version
    person, first = _new_person()
    # when a 転居 supersedes it (received 2025-05-10)
    second = identity_version_write(
        person=person,
        content=identity_content(address="山口県山口市見本町二丁目1番1号"),
        envelope=envelope(change_reason="21", update_sequence=2, received_on=dt.date(2025, 5, 10)),
        removed=False,
    )
    # then the old version is retained for 150 years from the superseding receipt date
    old = IdentityVersion.objects.get(pk=first.pk)
    assert (old.is_current, old.retention_flag, old.retention_start, old.expiry_year) == (
        False, 1, dt.date(2025, 5, 10), 2175)  # fmt: skip
    assert _partition_of(first.pk) == f"{VERSION_TABLE}_y2175"
    assert old.address == "山口県山口市見本町一丁目2番3号"  # content unchanged
    # and the new one is current and never expires
    person.refresh_from_db()
    assert identity_current_version(person).pk == second.pk
    assert second.expiry_year == 9999 and _partition_of(second.pk) == f"{VERSION_TABLE}_y9999"
    assert IdentityVersion.objects.filter(person=person).count() == 2


def test_removal_version_carries_its_own_clock_and_keeps_it_when_superseded():
    person, _ = _new_person()
    removal = identity_version_write(
        person=person, content=identity_content(),
        envelope=envelope(change_reason="32", update_sequence=2, received_on=dt.date(2030, 1, 5)), removed=True,
    )  # fmt: skip
    assert (removal.retention_start, removal.expiry_year, removal.is_current) == (
        dt.date(2030, 1, 5),
        2180,
        True,
    )
    # a later re-entry supersedes it without restarting its clock
    identity_version_write(
        person=person, content=identity_content(),
        envelope=envelope(change_reason="11", update_sequence=5, received_on=dt.date(2031, 3, 1)), removed=False,
    )  # fmt: skip
    removal.refresh_from_db()
    assert (removal.retention_start, removal.expiry_year, removal.is_current) == (
        dt.date(2030, 1, 5),
        2180,
        False,
    )


def test_content_cannot_be_updated():
    _, version = _new_person()
    with pytest.raises(DB_GUARD_ERRORS, match="append-only"), transaction.atomic():
        IdentityVersion.objects.filter(pk=version.pk).update(name="改ざん")


def test_versions_cannot_be_deleted_from_the_table_or_a_partition():
    _, version = _new_person()
    with pytest.raises(DB_GUARD_ERRORS, match="append-only"), transaction.atomic():
        IdentityVersion.objects.filter(pk=version.pk).delete()
    with (
        pytest.raises(DB_GUARD_ERRORS, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {VERSION_TABLE}_y9999")
    with (
        pytest.raises(DB_GUARD_ERRORS, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {VERSION_TABLE}_y9999")
    assert IdentityVersion.objects.filter(pk=version.pk).exists()


def test_deleted_flag_is_set_once():
    _, version = _new_person()
    IdentityVersion.objects.filter(pk=version.pk).update(deleted=True)
    with pytest.raises(DB_GUARD_ERRORS, match="set once"), transaction.atomic():
        IdentityVersion.objects.filter(pk=version.pk).update(deleted=False)


def test_individual_number_is_encrypted_bound_to_its_person_and_found_by_blind_index():
    person, version = _new_person()
    stored = bytes(IdentityVersion.objects.get(pk=version.pk).individual_number_ciphertext)
    assert b"123456789018" not in stored
    assert individual_number_of(version) == "123456789018"
    # bound to the person: the same ciphertext under another person id does not decrypt
    from jukinet.crypto import DecryptionError

    with pytest.raises(DecryptionError):
        decrypt_individual_number(stored, table=VERSION_TABLE, person_id=person.pk + 1)
    found = IdentityVersion.objects.get(individual_number_blind_index=blind_index("123456789018"), is_current=True)
    assert found.pk == version.pk


def test_no_individual_number_in_repr_str_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    person, version = _new_person()
    loaded = IdentityVersion.objects.get(pk=version.pk)
    for text in (repr(loaded), str(loaded), repr(person), str(person), caplog.text):
        assert "123456789018" not in text
        assert "見本" not in text


@pytest.mark.django_db(transaction=True)
def test_write_outside_a_transaction_is_refused():
    person = IdentityPerson.objects.create()
    with pytest.raises(RuntimeError, match="transaction"):
        identity_version_write(person=person, content=identity_content(), envelope=envelope(), removed=False)
    assert not IdentityVersion.objects.exists()


def test_blind_index_of_malformed_input_matches_nothing_and_never_raises():
    assert blind_index("١٢٣٤٥٦٧٨٩٠١٨") != blind_index("123456789018")
    assert blind_index("123456789018") == blind_index("123456789018")
