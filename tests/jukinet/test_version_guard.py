"""The version tables' content guard (jukinet migration 0004): every column but the mutable ones is content.

The guard is generated per table from the catalog, so a column added later is unguarded until the installer
runs again; these tests change every content column of both tables, one at a time, and fail for any that
goes through.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from furyo.versions import furyo_person_create, furyo_version_write
from jukinet.partitions import MUTABLE_COLUMNS
from prefserver.versions import identity_person_create, identity_version_write
from tests.furyo.factories import furyo_content, furyo_envelope
from tests.prefserver.factories import envelope, identity_content

pytestmark = pytest.mark.django_db

# A different value for a column of each type the version tables use.
CHANGE = {
    "bigint": "COALESCE({c}, 0) + 1",
    "integer": "COALESCE({c}, 0) + 1",
    "smallint": "COALESCE({c}, 0) + 1",
    "boolean": "NOT COALESCE({c}, false)",
    "character varying": "CASE WHEN {c} = 'x' THEN 'y' ELSE 'x' END",
    "date": "COALESCE({c}, DATE '2000-01-01') + 1",
    "timestamp with time zone": "COALESCE({c}, TIMESTAMPTZ '2000-01-01') + INTERVAL '1 second'",
    "bytea": "COALESCE({c}, '\\x00'::bytea) || '\\x01'::bytea",
}


def _identity_version() -> tuple[str, int]:
    person = identity_person_create(resident_code="12345678903", assigned_on=dt.date(2025, 4, 1))
    return "prefserver_identity_version", identity_version_write(
        person=person, content=identity_content(), envelope=envelope(), removed=False
    ).pk


def _furyo_version() -> tuple[str, int]:
    person = furyo_person_create(resident_code="12345678903", assigned_on=dt.date(2025, 4, 1))
    return "furyo_version", furyo_version_write(person=person, content=furyo_content(), envelope=furyo_envelope()).pk


def _columns(table: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s"
            " ORDER BY ordinal_position",
            [table],
        )
        return list(cursor.fetchall())


def _update(table: str, pk: int, column: str, data_type: str) -> None:
    change = CHANGE[data_type].format(c=column)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = {change} WHERE id = %s", [pk])


@pytest.mark.parametrize("make", [_identity_version, _furyo_version], ids=["identity", "furyo"])
def test_every_content_column_is_guarded(make):  # type: ignore[no-untyped-def]
    # given a version row and the table's columns as the database has them now
    table, pk = make()
    content = [(c, t) for c, t in _columns(table) if c not in MUTABLE_COLUMNS]
    assert len(content) > 10 and all(t in CHANGE for _, t in content)
    # when each content column is changed on its own, then each change is refused by the guard
    for column, data_type in content:
        with pytest.raises(DatabaseError, match="append-only: content"):
            _update(table, pk, column, data_type)


def test_the_guard_is_the_tables_own_column_comparison():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgfoid::regproc::text FROM pg_trigger"
            " WHERE tgname IN ('prefserver_identity_version_guard_update', 'furyo_version_guard_update')"
            " AND tgparentid = 0 ORDER BY 1"  # the partitions' clones have the same name
        )
        assert cursor.fetchall() == [
            ("furyo_version", "furyo_version_guard_content"),
            ("prefserver_identity_version", "prefserver_identity_version_guard_content"),
        ]


def test_mutable_columns_still_change_as_the_writers_need():
    # given
    table, pk = _identity_version()
    # when the version is superseded and marked deleted (columns a supersede or a 取消 writes)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET is_current = false, deleted = true WHERE id = %s", [pk])
        cursor.execute(f"SELECT is_current, deleted FROM {table} WHERE id = %s", [pk])
        # then
        assert cursor.fetchone() == (False, True)


# The guard's rules besides "content never changes" (jukinet.partitions.GUARD_CHECKS), one refused write each,
# on a version of each table: (the write that prepares the row, the write the guard refuses, its message).
ONCE_RULES = [
    ("SET deleted = true", "SET deleted = false", "deleted is set once"),
    (
        "SET is_current = false, retention_start = DATE '2026-04-01', expiry_year = 2176",
        "SET retention_start = DATE '2026-04-02'",
        "retention is set once",
    ),
    (
        "SET is_current = false, retention_start = DATE '2026-04-01', expiry_year = 2176",
        "SET expiry_year = 2177, retention_start = DATE '2027-04-01'",
        "retention is set once",
    ),
    ("SET is_current = false", "SET is_current = true", "never becomes current again"),
]


@pytest.mark.parametrize("make", [_identity_version, _furyo_version], ids=["identity", "furyo"])
@pytest.mark.parametrize(("prepare", "refused", "message"), ONCE_RULES)
def test_the_once_only_columns_are_guarded(make, prepare, refused, message):  # type: ignore[no-untyped-def]
    from jukinet.partitions import ensure_partitions

    table, pk = make()
    ensure_partitions(table, {2176, 2177})
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} {prepare} WHERE id = %s", [pk])
        with pytest.raises(DatabaseError, match=message), transaction.atomic():
            cursor.execute(f"UPDATE {table} {refused} WHERE id = %s", [pk])
