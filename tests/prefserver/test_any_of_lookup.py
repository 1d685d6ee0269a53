"""`field__any_of=[…]` (prefserver/intake/copy.py: AnyOf): the keys a batch looks up, as one array parameter the
planner does not see element by element."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from prefserver.intake.copy import Keys, array_literal
from prefserver.models import Notice
from tests.prefserver.intake_helpers import CODE_A, CODE_B, YAMAGUCHI, notice, receive

pytestmark = pytest.mark.django_db


def _stored(*codes: str) -> list[int]:
    receive(*(notice(resident_code=code) for code in codes))
    return list(Notice.objects.order_by("id").values_list("pk", flat=True))


def test_any_of_finds_exactly_the_listed_keys() -> None:
    first, second = _stored(CODE_A, CODE_B)
    assert set(Notice.objects.filter(resident_code__any_of=[CODE_A]).values_list("pk", flat=True)) == {first}
    assert set(Notice.objects.filter(pk__any_of=[first, second, 10**12]).values_list("pk", flat=True)) == {
        first,
        second,
    }
    assert not Notice.objects.filter(pk__any_of=[]).exists()
    assert set(Notice.objects.exclude(pk__any_of=[first]).values_list("pk", flat=True)) == {second}


def test_keys_find_what_a_list_finds_without_django_walking_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db.models.sql.query import Query

    first, second = _stored(CODE_A, CODE_B)
    walked: list[object] = []
    resolve = Query.resolve_lookup_value

    def counting(self: Query, value: object, *args: object, **kwargs: object) -> object:
        walked.append(value)
        return resolve(self, value, *args, **kwargs)

    monkeypatch.setattr(Query, "resolve_lookup_value", counting)
    ids = [first, second, 10**12]
    assert set(Notice.objects.filter(pk__any_of=Keys(ids)).values_list("pk", flat=True)) == {first, second}
    assert set(Notice.objects.exclude(resident_code__any_of=Keys([CODE_A])).values_list("pk", flat=True)) == {second}
    assert len(walked) == 2  # one call per filter: its elements are not visited one by one
    walked.clear()
    assert set(Notice.objects.filter(pk__any_of=ids).values_list("pk", flat=True)) == {first, second}
    assert len(walked) == 1 + len(ids)  # a list is


def _plan(queryset: object) -> dict[str, object]:
    sql, params = queryset.query.sql_with_params()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (value,) = cursor.fetchone()
    return (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]


def test_the_array_reaches_the_planner_as_one_runtime_value_not_as_constants() -> None:
    """Given 2000 constants the planner estimated each one against the statistics (milliseconds of planning per
    batch); behind a sub-select it is computed once (an InitPlan) and is still the index condition."""
    _stored(CODE_A)
    keys = [f"{n:011d}" for n in range(2000)]
    plan = _plan(Notice.objects.filter(municipality_code=YAMAGUCHI, notice_id__any_of=keys))
    text = json.dumps(plan)
    assert "InitPlan" in text
    assert keys[1234] not in text  # no element of the array is part of the plan
    # Whatever scan the planner picks, it assumes a handful of rows, not 2000.
    assert plan["Plan Rows"] < 100


def test_the_relay_statements_take_their_ids_the_same_way() -> None:
    from prefserver.push import CLAIM_SQL, MARK_SENT_SQL

    ids = array_literal(list(range(10_000, 12_000)))
    for statement in (CLAIM_SQL, MARK_SENT_SQL):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, {"ids": ids, "now": "2025-04-01T00:00:00+09:00"})
            (value,) = cursor.fetchone()
        text = value if isinstance(value, str) else json.dumps(value)
        assert "InitPlan" in text
        assert "11234" not in text


@pytest.mark.parametrize(
    ("values", "sql_type", "expected"),
    [
        ([], "bigint", []),
        ([1, -2, 2**62], "bigint", [1, -2, 2**62]),
        (["352012", "", "NULL", "a b", "{x}", "a,b", "見本　太郎"], "text", None),  # quoted as they are
        (['a"b', "c"], "text", None),  # a quote: escaped
        (["a\\b", '\\"', 'a","b'], "text", None),  # a backslash, and a value that looks like two elements
        (["x", None, "y"], "text", None),
        ([True, False, None, 7, "z"], "text", ["t", "f", None, "7", "z"]),
    ],
)
def test_an_array_literal_reads_back_as_its_values_in_postgresql(
    values: list[object], sql_type: str, expected: list[object] | None
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{sql_type}[]", [array_literal(values)])
        (read,) = cursor.fetchone()
    assert read == (values if expected is None else expected)
