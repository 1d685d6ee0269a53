"""How a version becomes current, for both files (domain.md §4.2, §5.2): one mechanism, two models.

The person row points at its current version (id and expiry year, so a fetch prunes to one partition).
prefserver.versions and furyo.versions compute the column values of their file; these functions append,
supersede, flag and fetch the same way for both. The caller holds the person's row lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from jukinet.partitions import ensure_partitions
from jukinet.version_retention import supersede_stored_version


def version_append(model: Any, *, person: Any, values: dict[str, Any], received_on: dt.date) -> Any:
    """Insert a version from its column values, supersede the previous one, move the person's pointer."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{model.__name__} writes need the caller's transaction and row lock")
    if values["retention_start"] is not None:
        ensure_partitions(model._meta.db_table, [values["expiry_year"]])
    version_supersede(model, person=person, received_on=received_on)
    version = model.objects.create(**values)
    person.current_version_id, person.current_version_expiry_year = version.pk, version.expiry_year
    person.save(update_fields=["current_version_id", "current_version_expiry_year"])
    return version


def version_supersede(model: Any, *, person: Any, received_on: dt.date) -> None:
    """Mark the current version superseded; its 150-year clock starts at the superseding receipt date.

    A removal version keeps the clock it got at its insert (a later supersede never restarts it).
    """
    if person.current_version_id is None or person.current_version_expiry_year is None:
        return
    supersede_stored_version(
        model, pk=person.current_version_id, expiry_year=person.current_version_expiry_year, received_on=received_on
    )


def version_mark_deleted(model: Any, *, version: Any) -> None:
    """削除フラグ: set once when a 訂正, 取消 or 例外修正 invalidates the version (§6.2, §6.6)."""
    model.objects.filter(pk=version.pk, expiry_year=version.expiry_year).update(deleted=True)


def version_current(model: Any, person: Any) -> Any | None:
    if person.current_version_id is None or person.current_version_expiry_year is None:
        return None
    return model.objects.get(pk=person.current_version_id, expiry_year=person.current_version_expiry_year)
