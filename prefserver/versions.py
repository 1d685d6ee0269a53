"""Writing versions of file (1): the one place that turns content into an appended version.

Intake (a municipality's notice), the exceptional-correction path (§6.6) and the population loader all
write through here, so that search keys, encryption and retention are computed one way. The caller
holds the person row lock (`select_for_update`) inside its transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from jukinet import clock
from jukinet.crypto import blind_index, decrypt_individual_number, encrypt_individual_number
from jukinet.search_keys import address_key, name_key, seion_kana
from jukinet.version_retention import new_version_retention
from jukinet.version_retention import superseded_values as shared_superseded_values
from jukinet.version_store import version_append, version_current, version_mark_deleted, version_supersede
from prefserver.models import IdentityPerson, IdentityResidentCode, IdentityVersion

VERSION_TABLE = "prefserver_identity_version"

# The same search-key functions, memoised: a person's versions (and a 附票 beside a file (1) version) repeat
# names and addresses, and bulk loaders write millions of them. Pure functions of their text; bounded.
_seion_kana = functools.lru_cache(maxsize=8192)(seion_kana)
_name_key = functools.lru_cache(maxsize=8192)(name_key)
_address_key = functools.lru_cache(maxsize=8192)(address_key)

# The payload keys of an identity notice (domain.md §6.1): the content a version holds.
CONTENT_KEYS = (
    "name", "name_gaiji_count", "name_kana", "birth_date", "sex", "address", "address_gaiji_count",
    "individual_number", "district_code", "gaiji_flag", "name_gaiji_revision", "address_gaiji_revision",
    "former_surname", "former_surname_gaiji_count", "former_surname_kana", "former_surname_gaiji_revision",
)  # fmt: skip


@dataclass(frozen=True)
class Envelope:
    """The envelope fields a version takes from its notice (fields 1, 10, 11, 14, 16, 17, 19, 22)."""

    resident_code: str
    change_reason: str
    change_date: dt.date
    municipality_code: str
    operator_id: str
    terminal_id: str
    received_on: dt.date
    update_sequence: int
    source_notice_id: int | None = None
    revision: int = 0


def identity_person_create(*, resident_code: str, assigned_on: dt.date) -> IdentityPerson:
    person = IdentityPerson.objects.create()
    IdentityResidentCode.objects.create(resident_code=resident_code, person=person, assigned_on=assigned_on)
    return person


def content_of(version: IdentityVersion) -> dict[str, Any]:
    """A version's content as payload keys, the individual number decrypted (for 取消 and 例外修正)."""
    content = {key: getattr(version, key) for key in CONTENT_KEYS if key != "individual_number"}
    content["individual_number"] = individual_number_of(version)
    return content


def individual_number_of(version: IdentityVersion) -> str:
    return decrypt_individual_number(
        bytes(version.individual_number_ciphertext), table=VERSION_TABLE, person_id=version.person_id
    )


def version_values(
    *,
    person_id: int,
    content: dict[str, Any],
    envelope: Envelope,
    removed: bool,
    deleted: bool = False,
    recorded_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Column values of a new version (search keys, ciphertext and retention computed here)."""
    key_id, ciphertext = encrypt_individual_number(
        content["individual_number"], table=VERSION_TABLE, person_id=person_id
    )
    values = {key: content[key] for key in CONTENT_KEYS if key != "individual_number"}
    values.update(
        person_id=person_id,
        resident_code=envelope.resident_code,
        change_reason=envelope.change_reason,
        change_date=envelope.change_date,
        municipality_code=envelope.municipality_code,
        operator_id=envelope.operator_id,
        terminal_id=envelope.terminal_id,
        received_on=envelope.received_on,
        update_sequence=envelope.update_sequence,
        source_notice_id=envelope.source_notice_id,
        revision=envelope.revision,
        recorded_at=recorded_at or clock.now(),
        individual_number_ciphertext=ciphertext,
        individual_number_key_id=key_id,
        individual_number_blind_index=blind_index(content["individual_number"]),
        seion_kana=_seion_kana(content["name_kana"]),
        name_key=_name_key(content["name"]),
        address_key=_address_key(content["address"]),
        is_current=True,
        removed=removed,
        deleted=deleted,
        # A removal version carries its retention from its insert, current or not (domain.md §13).
        **new_version_retention(removed=removed, received_on=envelope.received_on),
    )
    return values


def superseded_values(values: dict[str, Any], *, received_on: dt.date) -> dict[str, Any]:
    """In-memory counterpart of identity_version_supersede for bulk loaders: the same retention rule."""
    return shared_superseded_values(values, received_on=received_on)


def identity_version_write(
    *,
    person: IdentityPerson,
    content: dict[str, Any],
    envelope: Envelope,
    removed: bool,
    deleted: bool = False,
) -> IdentityVersion:
    """Append a version and make it current, superseding the previous one. Caller holds the row lock."""
    values = version_values(person_id=person.pk, content=content, envelope=envelope, removed=removed, deleted=deleted)
    return version_append(IdentityVersion, person=person, values=values, received_on=envelope.received_on)


def identity_version_supersede(*, person: IdentityPerson, received_on: dt.date) -> None:
    """Mark the current version superseded (jukinet.version_store.version_supersede)."""
    version_supersede(IdentityVersion, person=person, received_on=received_on)


def identity_version_mark_deleted(*, version: IdentityVersion) -> None:
    """削除フラグ: set once when a 訂正, 取消 or 例外修正 invalidates the version (§6.2, §6.6)."""
    version_mark_deleted(IdentityVersion, version=version)


def identity_current_version(person: IdentityPerson) -> IdentityVersion | None:
    return version_current(IdentityVersion, person)  # type: ignore[no-any-return]
