"""rotate_keys: re-encryption with old and new keys side by side, resumable; blind-index recompute."""

import base64
import datetime as dt
import os
from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import OperationKind, OperationLogEntry
from jukinet.crypto import DecryptionError, blind_index, key_id_of, reset_key_caches
from jukinet.key_rotation import blind_indexes_recompute, individual_numbers_reencrypt, key_usage
from prefserver.models import IdentityVersion
from prefserver.versions import identity_person_create, identity_version_write, individual_number_of
from tests.prefserver.factories import envelope, identity_content, make_individual_number, make_resident_code

pytestmark = pytest.mark.django_db(transaction=False)

OLD = base64.b64encode(os.urandom(32)).decode()
NEW = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def keys(settings):
    """Switch the keyring (settings + caches); restored after the test."""

    def use(spec, active):
        settings.INDIVIDUAL_NUMBER_KEYS, settings.INDIVIDUAL_NUMBER_ACTIVE_KEY_ID = spec, active
        reset_key_caches()

    yield use
    reset_key_caches()


def _people(count):
    import random

    rng = random.Random(7)
    numbers = {}
    for sequence in range(count):
        code, number = make_resident_code(rng), make_individual_number(rng)
        person = identity_person_create(resident_code=code, assigned_on=dt.date(2025, 4, 1))
        version = identity_version_write(
            person=person, content=identity_content(individual_number=number),
            envelope=envelope(resident_code=code, update_sequence=sequence + 1), removed=False,
        )  # fmt: skip
        numbers[version.pk] = number
    return numbers


def _lookup(number):
    return IdentityVersion.objects.get(individual_number_blind_index=blind_index(number), is_current=True)


def test_rotation_with_old_and_new_keys_side_by_side_is_resumable_and_lookups_keep_working(keys):
    # given 5 versions written under the old key
    keys(f"old:{OLD}", "old")
    numbers = _people(5)
    assert key_usage() == {"old": 5}
    # when the new key becomes active (the old one still decrypts) and a rotation stops after 2 chunks of 2
    keys(f"old:{OLD},new:{NEW}", "new")
    first = individual_numbers_reencrypt(batch=2, max_chunks=2)
    # then 4 rows moved, 1 is left, and every number still decrypts and is found by its blind index
    assert (first.rows_updated, key_usage()) == (4, {"new": 4, "old": 1})
    for version_id, number in numbers.items():
        version = IdentityVersion.objects.get(pk=version_id)
        assert individual_number_of(version) == number
        assert _lookup(number).pk == version_id
    # when it is run again it finishes the rest, and a third run has nothing to do
    assert individual_numbers_reencrypt(batch=2).rows_updated == 1
    assert individual_numbers_reencrypt(batch=2).rows_updated == 0
    assert key_usage() == {"new": 5}
    # and every run left one KEY_ROTATION entry with its counts, never a key or a number
    entries = OperationLogEntry.objects.filter(kind=OperationKind.KEY_ROTATION).order_by("sequence")
    assert [(e.actor, e.result_count, e.conditions["operation"], e.conditions["active_key_id"]) for e in entries] == [
        ("system:key_rotation", 4, "reencrypt", "new"),
        ("system:key_rotation", 1, "reencrypt", "new"),
        ("system:key_rotation", 0, "reencrypt", "new"),
    ]
    # then the old key can retire: everything decrypts with the new key alone
    keys(f"new:{NEW}", "new")
    for version_id, number in numbers.items():
        version = IdentityVersion.objects.get(pk=version_id)
        assert key_id_of(bytes(version.individual_number_ciphertext)) == "new"
        assert individual_number_of(version) == number


def test_rotate_keys_command_with_index_recomputes_blind_indexes(keys, settings):
    keys(f"old:{OLD}", "old")
    numbers = _people(3)
    # given a new blind-index key: lookups by number miss until the index is recomputed
    settings.BLIND_INDEX_KEY = base64.b64encode(os.urandom(32)).decode()
    keys(f"old:{OLD},new:{NEW}", "new")
    some_number = next(iter(numbers.values()))
    assert not IdentityVersion.objects.filter(individual_number_blind_index=blind_index(some_number)).exists()
    out = StringIO()
    call_command("rotate_keys", "--index", "--batch", "2", stdout=out)
    assert "re-encrypted 3 versions" in out.getvalue()
    assert "blind index: examined 3, updated 3" in out.getvalue()
    for version_id, number in numbers.items():
        assert _lookup(number).pk == version_id
    # a rerun writes nothing
    assert blind_indexes_recompute(batch=2).rows_updated == 0
    for number in numbers.values():
        assert number not in out.getvalue()


def test_rotation_touches_only_the_columns_the_trigger_allows(keys):
    keys(f"old:{OLD}", "old")
    numbers = _people(1)
    before = IdentityVersion.objects.values().get(pk=next(iter(numbers)))
    keys(f"old:{OLD},new:{NEW}", "new")
    individual_numbers_reencrypt(batch=10)
    after = IdentityVersion.objects.values().get(pk=next(iter(numbers)))
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"individual_number_ciphertext", "individual_number_key_id"}


def test_a_missing_key_fails_without_the_number_in_the_error_text(keys):
    keys(f"old:{OLD}", "old")
    numbers = _people(1)
    # given the old key was removed before every row was rotated
    keys(f"new:{NEW}", "new")
    with pytest.raises(DecryptionError) as raised:
        individual_numbers_reencrypt(batch=10)
    text = f"{raised.value!r} {raised.value} {raised.value.__cause__!r}"
    assert "old" in text and next(iter(numbers.values())) not in text
