"""Stand-in for furyo/versions.py (the file (2) counterpart of prefserver/versions.py), built elsewhere.

Same shape: `furyo_person_create`, `furyo_version_write(person=, content=, envelope=, removed=, deleted=)`,
`furyo_version_mark_deleted`, `furyo_current_version`, `furyo_content_of`. When furyo/versions.py is merged,
intake imports from there and this module goes. It lives in prefserver only because furyo is owned elsewhere;
furyo never imports it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from furyo.models import FuryoPerson, FuryoResidentCode, FuryoVersion
from jukinet import clock
from jukinet.partitions import SENTINEL_YEAR, ensure_partitions, expiry_year_for
from jukinet.search_keys import address_key, name_key, seion_kana

VERSION_TABLE = "furyo_version"

CONTENT_KEYS = (
    "name", "name_gaiji_count", "name_kana", "birth_date", "sex", "address_municipality_code", "address",
    "address_gaiji_count", "last_address", "last_address_gaiji_count", "furyo_municipality_code", "status",
    "gaiji_flag", "gaiji_pattern",
)  # fmt: skip


@dataclass(frozen=True)
class FuryoEnvelope:
    """Envelope fields of a file (2) version: 1, 12, 18 (notice_kind = change_reason) and internal columns."""

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
    former_resident_code: str | None = None


def furyo_person_create(*, resident_code: str, assigned_on: dt.date) -> FuryoPerson:
    person = FuryoPerson.objects.create()
    FuryoResidentCode.objects.create(resident_code=resident_code, person=person, assigned_on=assigned_on)
    return person


def furyo_content_of(version: FuryoVersion) -> dict[str, Any]:
    return {key: getattr(version, key) for key in CONTENT_KEYS}


def furyo_version_values(
    *,
    person_id: int,
    content: dict[str, Any],
    envelope: FuryoEnvelope,
    removed: bool,
    deleted: bool = False,
    former_resident_code: str | None = None,
) -> dict[str, Any]:
    """Column values of a new version (search keys and retention computed here)."""
    start, expiry = (envelope.received_on, expiry_year_for(envelope.received_on.year)) if removed else (None, None)
    values = {key: content[key] for key in CONTENT_KEYS}
    values.update(
        person_id=person_id,
        resident_code=envelope.resident_code,
        change_date=envelope.change_date,
        notice_kind=envelope.change_reason,
        former_resident_code=former_resident_code or envelope.former_resident_code,
        municipality_code=envelope.municipality_code,
        operator_id=envelope.operator_id,
        terminal_id=envelope.terminal_id,
        received_on=envelope.received_on,
        update_sequence=envelope.update_sequence,
        source_notice_id=envelope.source_notice_id,
        revision=envelope.revision,
        recorded_at=clock.now(),
        seion_kana=seion_kana(content["name_kana"]),
        name_key=name_key(content["name"]),
        address_key=address_key(content["address"]),
        is_current=True,
        removed=removed,
        deleted=deleted,
        retention_flag=1 if removed else 0,
        retention_start=start,
        expiry_year=expiry or SENTINEL_YEAR,
    )
    return values


def furyo_version_write(
    *,
    person: FuryoPerson,
    content: dict[str, Any],
    envelope: FuryoEnvelope,
    removed: bool,
    deleted: bool = False,
    former_resident_code: str | None = None,
) -> FuryoVersion:
    """Append a version and make it current; the caller holds the person row lock."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("furyo_version_write needs the caller's transaction and row lock")
    values = furyo_version_values(
        person_id=person.pk, content=content, envelope=envelope, removed=removed, deleted=deleted,
        former_resident_code=former_resident_code,
    )  # fmt: skip
    if removed:
        ensure_partitions(VERSION_TABLE, [values["expiry_year"]])
    if person.current_version_id is not None:
        furyo_version_supersede(person=person, received_on=envelope.received_on)
    version = FuryoVersion.objects.create(**values)
    person.current_version_id, person.current_version_expiry_year = version.pk, version.expiry_year
    person.save(update_fields=["current_version_id", "current_version_expiry_year"])
    return version


def furyo_version_supersede(*, person: FuryoPerson, received_on: dt.date) -> None:
    """The current version is superseded; its clock starts at the superseding receipt date unless set."""
    start, expiry = received_on, expiry_year_for(received_on.year)
    ensure_partitions(VERSION_TABLE, [expiry])
    if person.current_version_id is None or person.current_version_expiry_year is None:
        return
    current = FuryoVersion.objects.filter(pk=person.current_version_id, expiry_year=person.current_version_expiry_year)
    current.filter(retention_start__isnull=True).update(
        is_current=False, retention_flag=1, retention_start=start, expiry_year=expiry
    )
    current.filter(retention_start__isnull=False).update(is_current=False)


def furyo_version_mark_deleted(*, version: FuryoVersion) -> None:
    FuryoVersion.objects.filter(pk=version.pk, expiry_year=version.expiry_year).update(deleted=True)


def furyo_current_version(person: FuryoPerson) -> FuryoVersion | None:
    if person.current_version_id is None or person.current_version_expiry_year is None:
        return None
    return FuryoVersion.objects.get(pk=person.current_version_id, expiry_year=person.current_version_expiry_year)
