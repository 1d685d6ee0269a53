"""The claim by lanes (prefserver.intake.process._claim, prefserver.models.Lane): which notices a batch takes, and
that the lane index answers the claim's statements. Concurrent claims: test_intake_concurrency.py."""

from __future__ import annotations

import pytest
from django.db import connection

from prefserver.intake import process
from prefserver.models import Lane, Notice
from tests.prefserver.intake_helpers import OTHER_NUMBER, codes_by_lane, identity_payload, notice, receive

pytestmark = pytest.mark.django_db


def test_the_claim_takes_the_oldest_lane_whole_before_the_next() -> None:
    # given x's entry, then y's, then x's change (x in one lane, y in another)
    x, y = codes_by_lane(2)
    receive(notice("11", 1, resident_code=x))
    receive(notice("11", 1, resident_code=y, payload=identity_payload(individual_number=OTHER_NUMBER)))
    receive(notice("21", 2, resident_code=x, payload=identity_payload(address="山口県下関市見本町二丁目")))
    ids = {(n.resident_code, n.update_sequence): n.pk for n in Notice.objects.all()}
    # when a batch of two is claimed, then x's lane is taken whole (by id alone it would be x's entry and y's)
    assert [n.pk for n in process._claim(2)] == [ids[(x, 1)], ids[(x, 2)]]


def test_the_claim_fills_the_batch_from_the_next_lane() -> None:
    x, y, z = codes_by_lane(3)
    receive(notice("11", 1, resident_code=x))
    receive(notice("11", 1, resident_code=y, payload=identity_payload(individual_number=OTHER_NUMBER)))
    receive(notice("11", 1, resident_code=z))
    receive(notice("21", 2, resident_code=y, payload=identity_payload(address="山口県下関市見本町二丁目")))
    ids = {(n.resident_code, n.update_sequence): n.pk for n in Notice.objects.all()}
    # x's lane has one notice: the batch of three goes on with y's lane (next oldest), whole; z waits
    assert [n.pk for n in process._claim(3)] == [ids[(x, 1)], ids[(y, 1)], ids[(y, 2)]]


def test_a_claim_takes_a_lane_in_id_order_and_stops_at_the_limit() -> None:
    (code,) = codes_by_lane(1)
    receive(*(notice("21" if seq > 1 else "11", seq, resident_code=code) for seq in (1, 2, 3)))
    first_two = list(Notice.objects.order_by("id").values_list("pk", flat=True)[:2])
    assert [n.pk for n in process._claim(2)] == first_two


def _plan(sql: str, params: list[object] | tuple[object, ...] = ()) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_lane_index_answers_both_claim_statements() -> None:
    # the lanes' order: one probe of the index per lane, the lane as its index condition
    plan = _plan(process.LANES_SQL)
    assert "notice_pending_lane_idx" in plan and "Index Cond: ((hashtext" in plan
    # one lane's notices: the same expression, so the index's first column matches
    queryset = Notice.objects.alias(lane=Lane("resident_code")).filter(status="pending", lane=3).order_by("id")
    sql, params = queryset.query.sql_with_params()
    plan = _plan(sql, params)
    assert "notice_pending_lane_idx" in plan and "Index Cond: ((hashtext" in plan
