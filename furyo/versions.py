"""Writing versions of file (2): the one place that turns 附票 content into an appended version.

The counterpart of prefserver/versions.py (domain.md §5.2: same storage as file (1)). Intake, the
exceptional-correction path (§6.6) and the population loader all write through here, so that search keys
and retention are computed one way. The caller holds the person row lock inside its transaction.
No individual number anywhere in file (2) (seeds/002_b6d1246946737152.txt:1052-1053).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from furyo.models import FuryoPerson, FuryoResidentCode, FuryoStatus, FuryoVersion
from jukinet import clock
from jukinet.search_keys import address_key, name_key, seion_kana
from jukinet.version_retention import new_version_retention
from jukinet.version_retention import superseded_values as shared_superseded_values
from jukinet.version_store import version_append, version_current, version_mark_deleted, version_supersede

VERSION_TABLE = "furyo_version"

# The same search-key functions, memoised: a person's versions (and a 附票 beside a file (1) version) repeat
# names and addresses, and bulk loaders write millions of them. Pure functions of their text; bounded.
_seion_kana = functools.lru_cache(maxsize=8192)(seion_kana)
_name_key = functools.lru_cache(maxsize=8192)(name_key)
_address_key = functools.lru_cache(maxsize=8192)(address_key)

# The payload keys of a 附票 notice (domain.md §5.1, §6.1): the content a version holds.
CONTENT_KEYS = (
    "name", "name_gaiji_count", "name_kana", "birth_date", "sex", "address_municipality_code", "address",
    "address_gaiji_count", "last_address", "last_address_gaiji_count", "former_resident_code",
    "furyo_municipality_code", "status", "gaiji_flag", "gaiji_pattern",
)  # fmt: skip


@dataclass(frozen=True)
class FuryoEnvelope:
    """The envelope fields a 附票 version takes from its notice (fields 1, 12, 18 and internal columns)."""

    resident_code: str
    notice_kind: str
    change_date: dt.date
    municipality_code: str
    operator_id: str
    terminal_id: str
    received_on: dt.date
    update_sequence: int
    source_notice_id: int | None = None
    revision: int = 0


def furyo_person_create(*, resident_code: str, assigned_on: dt.date) -> FuryoPerson:
    person = FuryoPerson.objects.create()
    FuryoResidentCode.objects.create(resident_code=resident_code, person=person, assigned_on=assigned_on)
    return person


def content_of(version: FuryoVersion) -> dict[str, Any]:
    """A version's content as payload keys (for 取消 and 例外修正)."""
    return {key: getattr(version, key) for key in CONTENT_KEYS}


def is_removal_content(content: dict[str, Any]) -> bool:
    """`removed` follows the effective content: status 9 (domain.md §6.2)."""
    return int(content["status"]) == FuryoStatus.REMOVED


def version_values(
    *,
    person_id: int,
    content: dict[str, Any],
    envelope: FuryoEnvelope,
    removed: bool,
    deleted: bool = False,
    recorded_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Column values of a new 附票 version (search keys and retention computed here)."""
    if "individual_number" in content:
        # domain.md §5.2: a file (2) notice carrying one is rejected (E002) before it gets here.
        raise ValueError("file (2) holds no individual number")
    values = {key: content[key] for key in CONTENT_KEYS}
    values.update(
        person_id=person_id,
        resident_code=envelope.resident_code,
        notice_kind=envelope.notice_kind,
        change_date=envelope.change_date,
        municipality_code=envelope.municipality_code,
        operator_id=envelope.operator_id,
        terminal_id=envelope.terminal_id,
        received_on=envelope.received_on,
        update_sequence=envelope.update_sequence,
        source_notice_id=envelope.source_notice_id,
        revision=envelope.revision,
        recorded_at=recorded_at or clock.now(),
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
    """In-memory counterpart of furyo_version_supersede for bulk loaders: the same retention rule."""
    return shared_superseded_values(values, received_on=received_on)


def furyo_version_write(
    *,
    person: FuryoPerson,
    content: dict[str, Any],
    envelope: FuryoEnvelope,
    removed: bool | None = None,
    deleted: bool = False,
) -> FuryoVersion:
    """Append a version and make it current, superseding the previous one. Caller holds the row lock.

    `removed` defaults to the content's status (9 → removed); a 取消 of an entry passes it explicitly.
    """
    if removed is None:
        removed = is_removal_content(content)
    values = version_values(person_id=person.pk, content=content, envelope=envelope, removed=removed, deleted=deleted)
    return version_append(FuryoVersion, person=person, values=values, received_on=envelope.received_on)


def furyo_version_supersede(*, person: FuryoPerson, received_on: dt.date) -> None:
    """Mark the current version superseded (jukinet.version_store.version_supersede)."""
    version_supersede(FuryoVersion, person=person, received_on=received_on)


def furyo_version_mark_deleted(*, version: FuryoVersion) -> None:
    """削除フラグ: set once when a 訂正, 取消 or 例外修正 invalidates the version (§6.2, §6.6)."""
    version_mark_deleted(FuryoVersion, version=version)


def furyo_current_version(person: FuryoPerson) -> FuryoVersion | None:
    return version_current(FuryoVersion, person)  # type: ignore[no-any-return]
