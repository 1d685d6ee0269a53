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
