"""individual_number_for_emigrant: the one function furyo imports from prefserver (domain.md §5.3)."""

import datetime as dt
from types import SimpleNamespace

import pytest

from prefserver.emigrant import individual_number_for_emigrant
from prefserver.models import IdentityResidentCode
from prefserver.versions import identity_person_create, identity_version_write
from tests.prefserver.factories import envelope, identity_content

pytestmark = pytest.mark.django_db(transaction=False)

PERMITTED = SimpleNamespace(individual_number_permitted=True)
NOT_PERMITTED = SimpleNamespace(individual_number_permitted=False)
RECORD = SimpleNamespace(pk=1)


def _emigrated_person():
    # given a resident who emigrated (34, removed) after a 26 changed the number
    person = identity_person_create(resident_code="12345678903", assigned_on=dt.date(2025, 4, 1))
    identity_version_write(person=person, content=identity_content(), envelope=envelope(), removed=False)
    identity_version_write(
        person=person, content=identity_content(individual_number="983205673214"),
        envelope=envelope(change_reason="26", update_sequence=2), removed=False,
    )  # fmt: skip
    identity_version_write(
        person=person, content=identity_content(individual_number="983205673214"),
        envelope=envelope(change_reason="34", update_sequence=3), removed=True,
    )  # fmt: skip
    return person


def test_returns_the_number_of_the_latest_version_usually_a_removed_one():
    _emigrated_person()
    assert individual_number_for_emigrant("12345678903", PERMITTED, RECORD) == "983205673214"


def test_resolves_a_replaced_code_through_the_code_history():
    person = _emigrated_person()
    IdentityResidentCode.objects.filter(person=person).update(
        replaced_by="59130274611", replaced_on=dt.date(2025, 6, 1)
    )
    IdentityResidentCode.objects.create(resident_code="59130274611", person=person, assigned_on=dt.date(2025, 6, 1))
    assert individual_number_for_emigrant("12345678903", PERMITTED, RECORD) == "983205673214"
    assert individual_number_for_emigrant("59130274611", PERMITTED, RECORD) == "983205673214"


def test_unknown_code_or_affair_without_permission_gives_nothing():
    _emigrated_person()
    assert individual_number_for_emigrant("59130274620", PERMITTED, RECORD) is None
    assert individual_number_for_emigrant("12345678903", NOT_PERMITTED, RECORD) is None
