"""Set-based writes of one intake batch (the fast path of prefserver.intake.process).

Entries, changes and removals are staged in memory and written together: new person rows (with their final
pointers) and code-history rows (ids taken from their sequences in one query each), one UPDATE … FROM unnest
that supersedes the previous current versions, one COPY of the new versions, one UPDATE of the pointers of
the persons that existed before the batch. A version staged in this batch and superseded in the same batch
is changed in memory before its insert.

Content and retention come from the writers themselves: prefserver.versions / furyo.versions `version_values`
for a new version and jukinet.version_retention (the one supersede rule, also behind `superseded_values`)
for a superseded one, so only the round trips differ. Any database error here aborts the batch, which the
caller then re-runs on the per-notice path (one savepoint per notice) to isolate the failing notice.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import deque
from types import SimpleNamespace
from typing import Any

from django.db import connection

from furyo.models import FuryoPerson, FuryoResidentCode, FuryoVersion
from furyo.versions import FuryoEnvelope
from furyo.versions import version_values as furyo_version_values
from jukinet import clock
from jukinet.db import loaded
from jukinet.partitions import ensure_partitions
from jukinet.version_retention import RETENTION_FIELDS, superseded_retention, superseded_values
from prefserver.intake.copy import array_literal, copy_rows
from prefserver.intake.envelope import IDENTITY
from prefserver.models import IdentityPerson, IdentityResidentCode, IdentityVersion
from prefserver.versions import Envelope, version_values

PERSON_MODELS: dict[str, Any] = {IDENTITY: IdentityPerson, "furyo": FuryoPerson}
CODE_MODELS: dict[str, Any] = {IDENTITY: IdentityResidentCode, "furyo": FuryoResidentCode}
VERSION_MODELS: dict[str, Any] = {IDENTITY: IdentityVersion, "furyo": FuryoVersion}
VERSION_TABLES = {IDENTITY: "prefserver_identity_version", "furyo": "furyo_version"}
PERSON_TABLES = {IDENTITY: "prefserver_identity_person", "furyo": "furyo_person"}


@functools.cache
def _person_attnames(model: Any) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


_sequences: dict[str, str] = {}


def _serial_sequence(cursor: Any, table: str) -> str:
    if table not in _sequences:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        _sequences[table] = cursor.fetchone()[0]
    return _sequences[table]


class BulkWriter:
    """Stages the writes of one batch per file; `flush()` writes them in a few statements."""

    def __init__(self) -> None:
        self.recorded_at = clock.now()  # one recording time per batch: its versions commit together
        self.alias = connection.alias  # read once: each read goes through the connection proxy's thread-local
        self._ids: dict[tuple[str, str], deque[int]] = {}
        self.persons: dict[str, list[Any]] = {}
        self.codes: dict[str, list[tuple[str, int, dt.date]]] = {}
        self.versions: dict[str, dict[int, Any]] = {}
        # version id → (expiry_year now, retention columns once superseded)
        self.supersedes: dict[str, dict[int, tuple[int, dict[str, Any]]]] = {}
        self.pointers: dict[str, dict[int, Any]] = {}  # person id → person instance

    # -- ids --

    def reserve(self, file: str, *, persons: int, versions: int) -> None:
        """Take ids for the expected persons and versions in one query per kind (more are taken on demand)."""
        self._take(file, "person", persons)
        self._take(file, "version", versions)

    def _take(self, file: str, kind: str, count: int) -> None:
        if count <= 0:
            return
        table = PERSON_TABLES[file] if kind == "person" else VERSION_TABLES[file]
        with connection.cursor() as cursor:
            # The sequence is named once per process: pg_get_serial_sequence in the select list ran a catalog
            # lookup per id taken.
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_serial_sequence(cursor, table), count]
            )
            self._ids.setdefault((file, kind), deque()).extend(row[0] for row in cursor.fetchall())

    def discard_version_ids(self) -> None:
        """After a version written on the per-notice path (which takes the next id from the sequence), drop the
        ids taken ahead, so that version ids keep following write order."""
        for file in PERSON_TABLES:
            self._ids.pop((file, "version"), None)

    def _next_id(self, file: str, kind: str) -> int:
        pool = self._ids.setdefault((file, kind), deque())
        if not pool:
            self._take(file, kind, 64)
        return pool.popleft()

    # -- staging --

    def new_person(self, file: str) -> Any:
        """A person row with its id; staged only by the write_version that gives it its first version.

        Built as a loaded row (positional, as a query's result is: a quarter of the keyword __init__'s cost); it
        is written by the flush's COPY before anything else of the batch can save or refer to it."""
        model = PERSON_MODELS[file]
        names = _person_attnames(model)
        values = {"id": self._next_id(file, "person"), "created_at": self.recorded_at}
        return loaded(model, self.alias, names, [values.get(name) for name in names])

    def write_version(
        self,
        file: str,
        *,
        person: Any,
        content: dict[str, Any],
        envelope_values: dict[str, Any],
        removed: bool,
        current: Any = None,
        new_person_code: str | None = None,
    ) -> Any:
        """Stage a new current version. Its values are computed first, so an error leaves nothing staged.

        `current` is the person's current version (stored or staged), whose retention columns the supersede
        rule reads; `content` of a file (2) version includes `former_resident_code`."""
        if file == IDENTITY:
            values = version_values(
                person_id=person.pk, content=content, envelope=Envelope(**envelope_values), removed=removed,
                recorded_at=self.recorded_at,
            )  # fmt: skip
        else:
            values = furyo_version_values(
                person_id=person.pk, content=content, envelope=FuryoEnvelope(**envelope_values), removed=removed,
                recorded_at=self.recorded_at,
            )  # fmt: skip
        # A plain namespace with the version's columns (a model instance per row costs more than its COPY).
        version_id = self._next_id(file, "version")
        version = SimpleNamespace(id=version_id, pk=version_id, **values)
        if new_person_code is not None:
            self.persons.setdefault(file, []).append(person)
            self.codes.setdefault(file, []).append((new_person_code, person.pk, envelope_values["change_date"]))
        if person.current_version_id is not None:
            self._supersede(file, person, current, received_on=envelope_values["received_on"])
        self.versions.setdefault(file, {})[version.pk] = version
        person.current_version_id, person.current_version_expiry_year = version.pk, version.expiry_year
        self.pointers.setdefault(file, {})[person.pk] = person
        return version

    def _supersede(self, file: str, person: Any, current: Any, *, received_on: dt.date) -> None:
        staged = self.versions.get(file, {}).get(person.current_version_id)
        if staged is not None:
            superseded_values(vars(staged), received_on=received_on)  # changed in memory before its insert
            return
        if current is None or current.pk != person.current_version_id:
            raise RuntimeError("the supersede rule needs the person's current version")
        retention = {key: getattr(current, key) for key in RETENTION_FIELDS}
        self.supersedes.setdefault(file, {})[current.pk] = (
            person.current_version_expiry_year,
            superseded_retention(**retention, received_on=received_on),
        )

    @property
    def pending(self) -> bool:
        return any(self.versions.values()) or any(self.persons.values())

    # -- flush --

    def flush(self) -> None:
        for file in sorted(set(self.versions) | set(self.persons)):
            self._flush_file(file)
        self.persons, self.codes, self.versions, self.supersedes, self.pointers = {}, {}, {}, {}, {}

    def _flush_file(self, file: str) -> None:
        versions = sorted(self.versions.get(file, {}).values(), key=lambda v: v.pk)
        years = {v.expiry_year for v in versions} | {
            superseded["expiry_year"] for _, superseded in self.supersedes.get(file, {}).values()
        }
        ensure_partitions(VERSION_TABLES[file], years)
        copy_rows(
            PERSON_TABLES[file],
            ("id", "current_version_id", "current_version_expiry_year", "created_at"),
            # a new person is written with its final pointers (no UPDATE of a row this batch inserted)
            (
                (p.pk, p.current_version_id, p.current_version_expiry_year, p.created_at)
                for p in self.persons.get(file, [])
            ),
        )
        copy_rows(
            CODE_MODELS[file]._meta.db_table,
            ("resident_code", "person_id", "assigned_on", "replaced_by"),
            ((*row, "") for row in self.codes.get(file, [])),
        )
        self._flush_supersedes(file)
        if versions:
            columns = ["id", *(key for key in vars(versions[0]) if key not in ("id", "pk"))]
            row_of = operator.itemgetter(*columns)  # one C call per row instead of a getattr per column
            copy_rows(VERSION_TABLES[file], columns, (row_of(vars(v)) for v in versions))
        self._flush_pointers(file)

    def _flush_supersedes(self, file: str) -> None:
        """One UPDATE with the values the supersede rule gave (jukinet.version_retention), none derived here."""
        rows = [
            (version_id, old_expiry, new["retention_flag"], new["retention_start"], new["expiry_year"])
            for version_id, (old_expiry, new) in self.supersedes.get(file, {}).items()
        ]
        if not rows:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {VERSION_TABLES[file]} AS v SET
                  is_current = false, retention_flag = x.flag, retention_start = x.start, expiry_year = x.expiry
                FROM unnest(%s::bigint[], %s::smallint[], %s::smallint[], %s::date[], %s::smallint[])
                  AS x (id, old_expiry, flag, start, expiry)
                WHERE v.id = x.id AND v.expiry_year = x.old_expiry
                """,  # noqa: S608 (constant table name; values are parameters)
                [array_literal(column) for column in zip(*rows, strict=True)],
            )

    def _flush_pointers(self, file: str) -> None:
        new = {p.pk for p in self.persons.get(file, [])}
        persons = [p for p in self.pointers.get(file, {}).values() if p.pk not in new]
        if not persons:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {PERSON_TABLES[file]} AS p
                SET current_version_id = x.version_id, current_version_expiry_year = x.expiry
                FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[]) AS x (id, version_id, expiry)
                WHERE p.id = x.id
                """,  # noqa: S608 (constant table name; values are parameters)
                [
                    array_literal(p.pk for p in persons),
                    array_literal(p.current_version_id for p in persons),
                    array_literal(p.current_version_expiry_year for p in persons),
                ],
            )
