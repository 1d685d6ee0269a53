"""jukinet.db: the batch planning settings."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from jukinet.db import batch_planning

pytestmark = pytest.mark.django_db(transaction=True)

_KEY_LOOKUP = "EXPLAIN SELECT id FROM prefserver_identity_version WHERE id = ANY(%s::bigint[])"


def _plan() -> str:
    with connection.cursor() as cursor:
        cursor.execute(_KEY_LOOKUP, [list(range(1, 2001))])
        return "\n".join(row[0] for row in cursor.fetchall())


def test_batch_key_lookups_probe_the_index_even_where_statistics_say_the_table_is_small() -> None:
    # given: the version partitions as a fresh database has them (empty, never analyzed): the planner's
    # default for a batch of 2,000 ids is to scan them whole, which stays the plan while they grow
    with transaction.atomic():
        default = _plan()
    # when
    with transaction.atomic():
        batch_planning()
        planned = _plan()
    after = _plan()
    # then: index probes inside the batch's transaction, and the setting ends with it
    assert "Seq Scan" in default
    assert "Seq Scan" not in planned and "Index" in planned, planned
    assert "Seq Scan" in after


_INSTANTS = """
SELECT v::timestamptz FROM unnest(ARRAY['2026-11-26 19:05:01.123456+00', '2026-01-02 03:04:05+09',
  '1900-02-28 23:59:59.999999-03', '2000-02-29 00:00:00+00', '9999-12-31 23:59:59+00', '0001-01-01 00:00:00+00']) AS v
"""


def test_timestamptz_values_are_parsed_in_c_and_equal_what_djangos_own_loader_gives() -> None:
    import datetime

    import psycopg
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    from jukinet.db import _utc_timestamptz_loader

    # given: Django's connection (its loader parses each value in Python, about 14x slower)
    connection.ensure_connection()
    oid = psycopg.adapters.types["timestamptz"].oid
    # when
    with connection.cursor() as cursor:
        cursor.execute(_INSTANTS)
        fast = [row[0] for row in cursor.fetchall()]
    with psycopg.Cursor(connection.connection) as raw:
        register_tzloader(datetime.UTC, raw)  # what Django registers on every connection
        raw.execute(_INSTANTS)
        django_loaded = [row[0] for row in raw.fetchall()]
    # then: the connection uses the C parser, and every value (and its tzinfo) is what Django's loader gave
    assert connection.connection.adapters.get_loader(oid, Format.TEXT) is _utc_timestamptz_loader()
    assert fast == django_loaded
    assert [value.tzinfo for value in fast] == [datetime.UTC] * len(fast)
    assert fast[1] == datetime.datetime(2026, 1, 1, 18, 4, 5, tzinfo=datetime.UTC)


def _office_values(office: object) -> dict[str, object]:
    from audit.models import Office

    return {field.attname: getattr(office, field.attname) for field in Office._meta.concrete_fields}


def test_loaded_rows_are_the_instances_the_orm_loads_and_save_as_updates() -> None:
    from audit.models import Office
    from jukinet.db import loaded_rows

    # given
    for index in range(3):
        Office.objects.create(code=f"T-LOADED-{index}", name=f"課{index}", kind=Office.Kind.DEPARTMENT)
    queryset = Office.objects.filter(code__startswith="T-LOADED-").order_by("code")
    # when
    built = loaded_rows(queryset)
    # then: the same rows, values and state as the ORM's
    assert [_office_values(o) for o in built] == [_office_values(o) for o in queryset]
    assert all(not o._state.adding and o._state.db == "default" for o in built)
    # and: saving one updates its row (a loaded row, not a new one)
    built[0].name = "改名"
    built[0].save(update_fields=["name"])
    assert Office.objects.filter(code__startswith="T-LOADED-").count() == 3
    assert Office.objects.get(code="T-LOADED-0").name == "改名"


def test_loaded_leaves_unnamed_fields_deferred_and_converted_fields_go_through_the_orm() -> None:
    from audit.models import Office
    from jukinet.db import loaded, loaded_rows, loaded_values
    from prefserver.models import IntakeBatch

    # given
    office = Office.objects.create(code="T-DEFERRED", name="総務課", kind=Office.Kind.DEPARTMENT)
    IntakeBatch.objects.create(kind=IntakeBatch.Kind.PROCESS, actor="system:test", counts={"applied": 2})
    # when: a row of two columns, as the lookup path builds versions from its own statement's columns
    partial = loaded(Office, "default", ["id", "code"], [office.pk, "T-DEFERRED"])
    # then: an unnamed field is loaded from the database on first access, as from_db's deferred fields are
    assert partial.get_deferred_fields() == {"name", "kind", "is_active"}
    assert partial.name == "総務課"
    # and: a JSON field's converter still runs (that model's querysets are left to the ORM)
    assert loaded_rows(IntakeBatch.objects.filter(actor="system:test"))[0].counts == {"applied": 2}
    assert loaded_values(IntakeBatch.objects.filter(actor="system:test"), ["counts"]) == [{"counts": {"applied": 2}}]


def test_loaded_values_are_the_dicts_the_orm_gives() -> None:
    from audit.models import Office
    from jukinet.db import loaded_values

    # given
    for index in range(3):
        Office.objects.create(code=f"T-VALUES-{index}", name=f"係{index}", kind=Office.Kind.BODY, is_active=index != 1)
    queryset = Office.objects.filter(code__startswith="T-VALUES-").order_by("-code")
    # when
    values = loaded_values(queryset, ("id", "code", "is_active"))
    # then
    assert values == list(queryset.values("id", "code", "is_active"))
    assert [v["is_active"] for v in values] == [True, False, True]


def test_loaded_goes_through_from_db_while_a_model_has_an_init_receiver() -> None:
    from django.db.models.signals import post_init

    from audit.models import Office
    from jukinet.db import loaded

    seen: list[object] = []

    def receiver(sender: object, instance: object, **kwargs: object) -> None:
        seen.append(instance)

    names = [field.attname for field in Office._meta.concrete_fields]
    values = [1, "T-SIGNAL", "課", Office.Kind.DEPARTMENT, True]
    loaded(Office, "default", names, values)  # built (and cached) without a receiver
    # when: a receiver is connected afterwards
    post_init.connect(receiver, sender=Office)
    try:
        office = loaded(Office, "default", names, values)
    finally:
        post_init.disconnect(receiver, sender=Office)
    # then: it sees the instance, as Model.__init__ would have sent it
    assert seen == [office] and office.code == "T-SIGNAL" and not office._state.adding


def test_binary_rows_are_the_values_the_text_form_gives() -> None:
    from jukinet.db import binary_rows

    sql = (
        "SELECT 1::int2, 2::int4, 3::int8, true, 'テキスト'::text, 'x'::varchar(5), '2025-04-01'::date,"
        " '2025-04-01 12:34:56.789+09'::timestamptz, '\\x00ff'::bytea, NULL::bytea, NULL::date, 1.5::numeric,"
        " %s::bigint[], cardinality(%s::text[])"
    )
    params = ["{7,8}", '{"a","b c"}']
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        text_form = cursor.fetchall()
    binary = binary_rows(sql, params)
    assert binary == text_form
    assert binary[0][8] == b"\x00\xff" and binary[0][12] == [7, 8]


def test_binary_rows_are_seen_by_djangos_query_capture() -> None:
    from django.test.utils import CaptureQueriesContext

    from jukinet.db import binary_rows

    with CaptureQueriesContext(connection) as queries:
        binary_rows("SELECT %s::int", [5])
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT $1::int"]
