"""COPY of many rows in one round trip (intake's set-based writes). Raw SQL for bulk loads lives here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Lookup


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a table (a partitioned table routes each row to its partition). No rows, no trip."""
    rows = list(rows)
    if not rows:
        return
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal ('{1,"a b",NULL}') of ints, bools, strings, dates and datetimes, passed as one
    text parameter and cast in SQL (`%s::bigint[]`): building it is several times cheaper than having the
    driver adapt a long list element by element. Every element but NULL is double-quoted and escaped."""
    values = list(values)
    if all(type(value) is int for value in values):  # ids, years, counts: the common case
        return "{" + ",".join(map(str, values)) + "}"
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif isinstance(value, bool):
            parts.append("t" if value else "f")
        elif isinstance(value, int):
            parts.append(str(value))
        else:
            text = value if isinstance(value, str) else value.isoformat()
            parts.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


class AnyOf(Lookup):  # type: ignore[type-arg]
    """`field__any_of=[…]` → `field = ANY(%s::type[])` with the list as one array literal: a batch's lookups of
    2000 codes or ids cost one parameter instead of 2000 placeholders that Django and the driver each walk."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        db_type = self.lhs.output_field.cast_db_type(connection)
        return f"{lhs} = ANY(%s::{db_type}[])", (*lhs_params, array_literal(self.rhs))


Field.register_lookup(AnyOf)
