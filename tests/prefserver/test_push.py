"""The push relay against a real national server process (mutual TLS): order, batching, retries, fail-closed."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from audit.models import OperationKind, OperationLogEntry
from jukinet import clock
from national.testing import RunningServer, running_server
from prefserver.models import Alert, Incident, PushOutbox
from prefserver.national_client import NationalClient
from prefserver.push import (
    ALERT_AUTH,
    ALERT_BACKLOG,
    CANDIDATES_SQL,
    OUTBOX_TABLE,
    backoff_seconds,
    push_backlog_check,
    push_batch,
    push_relay_run,
)
from tests.prefserver.factories import make_individual_number, make_resident_code
from tests.prefserver.intake_helpers import (
    NUMBER,
    YAMAGUCHI,
    furyo_payload,
    identity_payload,
    notice,
    outbox_rows,
    send_and_process,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("push"), "--seed-population", "0") as server:
        yield server


@pytest.fixture
def client(national: RunningServer) -> Iterator[NationalClient]:
    p = national.pki
    c = NationalClient(national.url, p.ca_cert, p.client_cert, p.client_key, national.server_pin, timeout=10)
    c.set_faults(mode="none")
    yield c
    c.set_faults(mode="none")
    c.close()


def _factory(client: NationalClient) -> Any:
    return lambda: client


def _rng_codes(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [make_resident_code(rng) for _ in range(n)]


def _move_in(code: str, sequence: int = 1, **payload: Any) -> dict[str, Any]:
    return notice("11", sequence, resident_code=code, payload=identity_payload(**payload))


def _stat(client: NationalClient, name: str) -> int:
    return int(client.stats()[name])


def test_one_request_carries_many_persons_each_acknowledged(client: NationalClient) -> None:
    # given: five persons applied, five outbox rows
    codes = _rng_codes(5, seed=1)
    send_and_process(*[_move_in(code) for code in codes])
    requests_before = _stat(client, "requests")
    # when
    result = push_batch(client_factory=_factory(client))
    # then
    assert result.claimed == 5 and result.sent == 5
    assert _stat(client, "requests") == requests_before + 1
    rows = PushOutbox.objects.filter(resident_code__in=codes)
    assert {r.status for r in rows} == {"sent"} and all(r.acked_at is not None for r in rows)
    assert client.sequences_of(codes) == dict.fromkeys(codes, 1)
    entry = OperationLogEntry.objects.filter(kind=OperationKind.NATIONAL_PUSH).latest("sequence")
    assert entry.actor == "system:push" and entry.conditions["sent"] == 5


def test_a_persons_next_update_waits_for_the_previous_ack(client: NationalClient) -> None:
    # given: one person with three applied updates (転入, 転居, 転居)
    (code,) = _rng_codes(1, seed=2)
    send_and_process(
        _move_in(code),
        notice("21", 2, resident_code=code, payload=identity_payload(address="山口県下関市見本町二丁目1番")),
        notice("21", 3, resident_code=code, payload=identity_payload(address="山口県下関市見本町三丁目1番")),
    )
    # when / then: each batch carries only the earliest unacknowledged update of the person
    for expected in (1, 2, 3):
        result = push_batch(client_factory=_factory(client))
        assert result.claimed == 1
        assert client.sequence_of(code) == expected
    assert push_batch(client_factory=_factory(client)).claimed == 0
    found = client.lookup("identity", {"resident_code": code})
    assert found.record is not None and found.record["address"] == "山口県下関市見本町三丁目1番"


def test_a_failed_earlier_update_blocks_the_later_one_until_it_is_sent(client: NationalClient) -> None:
    # given: update 1 of a person failed once (backing off), update 2 due
    (code,) = _rng_codes(1, seed=3)
    send_and_process(_move_in(code), notice("23", 2, resident_code=code, payload=identity_payload(name="見本 次郎")))
    client.set_faults(mode="5xx", fraction=1.0, status=503)
    push_batch(client_factory=_factory(client))
    client.set_faults(mode="none")
    first, second = PushOutbox.objects.filter(resident_code=code).order_by("update_sequence")
    assert first.status == second.status == "pending"
    # when: only the later row is due
    PushOutbox.objects.filter(pk=second.pk).update(next_attempt_at=clock.now() - dt.timedelta(seconds=1))
    blocked = push_batch(client_factory=_factory(client))
    # then
    assert blocked.claimed == 0 and client.sequence_of(code) is None


def test_payloads_carry_the_8_items_and_the_18_furyo_fields(client: NationalClient) -> None:
    # given: an identity entry and a code change, and a 附票 entry
    old, new, furyo_code = _rng_codes(3, seed=4)
    number = make_individual_number(random.Random(4))
    send_and_process(
        _move_in(old, individual_number=number),
        notice("27", 2, resident_code=old, payload=identity_payload(individual_number=number, new_resident_code=new)),
        notice("51", 1, resident_code=furyo_code, file="furyo", payload=furyo_payload()),
    )
    # when
    push_relay_run(client_factory=_factory(client))
    # then: the national side holds what the relay built from the versions
    identity = client.lookup("identity", {"resident_code": new}).record
    assert identity is not None
    assert identity["individual_number"] == number and identity["previous_resident_code"] == old
    assert identity["change_reason"] == "27" and identity["update_sequence"] == 2
    assert "name_gaiji_count" not in identity and "former_surname" not in identity
    furyo = client.lookup("furyo", {"resident_code": furyo_code}).record
    assert furyo is not None and "individual_number" not in furyo
    assert furyo["furyo_municipality_code"] == YAMAGUCHI and furyo["notice_kind"] == "51"
    assert PushOutbox.objects.filter(status="pending").count() == 0


def test_failures_back_off_from_30_seconds_doubling_to_an_hour(client: NationalClient) -> None:
    # given
    (code,) = _rng_codes(1, seed=5)
    send_and_process(_move_in(code))
    client.set_faults(mode="down")
    delays = []
    # when: eight failed attempts, each made due again before the next
    for _ in range(8):
        before = clock.now()
        result = push_batch(client_factory=_factory(client))
        assert result.retry == 1
        row = PushOutbox.objects.get(resident_code=code)
        delays.append(round((row.next_attempt_at - before).total_seconds()))
        PushOutbox.objects.filter(pk=row.pk).update(next_attempt_at=clock.now())
    # then
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert [backoff_seconds(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert row.status == "pending" and row.attempts == 8


def test_5xx_is_retried_and_the_resend_has_no_second_effect(client: NationalClient) -> None:
    # given: the national server commits but the answer is lost
    codes = _rng_codes(3, seed=6)
    send_and_process(*[_move_in(code) for code in codes])
    accepted_before = _stat(client, "accepted")
    client.set_faults(mode="5xx", fraction=1.0, when="after")
    # when
    failed = push_batch(client_factory=_factory(client))
    client.set_faults(mode="none")
    PushOutbox.objects.filter(resident_code__in=codes).update(next_attempt_at=clock.now())
    retried = push_batch(client_factory=_factory(client))
    # then
    assert failed.retry == 3 and retried.sent == 3 and retried.duplicates == 3
    assert _stat(client, "accepted") == accepted_before + 3
    assert set(PushOutbox.objects.filter(resident_code__in=codes).values_list("status", flat=True)) == {"sent"}


def test_idempotent_resend_after_a_lost_commit_changes_nothing(client: NationalClient) -> None:
    # given: sent, then our record of it lost (as if the relay died before its commit)
    (code,) = _rng_codes(1, seed=7)
    send_and_process(_move_in(code))
    push_batch(client_factory=_factory(client))
    stats_before = client.stats()
    PushOutbox.objects.filter(resident_code=code).update(status="pending", acked_at=None)
    # when
    result = push_batch(client_factory=_factory(client))
    # then
    stats_after = client.stats()
    assert result.sent == 1 and result.duplicates == 1
    assert stats_after["accepted"] == stats_before["accepted"]
    assert stats_after["duplicates"] == stats_before["duplicates"] + 1
    assert client.sequence_of(code) == 1


def test_duplicate_acks_are_folded(client: NationalClient) -> None:
    # given
    codes = _rng_codes(4, seed=8)
    send_and_process(*[_move_in(code) for code in codes])
    client.set_faults(mode="duplicate_acks")
    # when
    result = push_batch(client_factory=_factory(client))
    # then
    assert result.claimed == 4 and result.sent == 4 and result.duplicates == 0
    assert PushOutbox.objects.filter(resident_code__in=codes, status="sent").count() == 4


def test_a_wrong_pin_sends_nothing_keeps_the_row_pending_and_alerts(
    national: RunningServer, client: NationalClient
) -> None:
    # given: a client pinning the CA instead of the server certificate
    p = national.pki
    from prefserver.national_client import certificate_sha256

    wrong = NationalClient(national.url, p.ca_cert, p.client_cert, p.client_key, certificate_sha256(p.ca_cert))
    (code,) = _rng_codes(1, seed=9)
    send_and_process(_move_in(code))
    received_before = _stat(client, "updates_received")
    # when
    result = push_batch(client_factory=lambda: wrong)
    push_batch(client_factory=lambda: wrong)  # not due again: nothing more happens
    # then
    row = PushOutbox.objects.get(resident_code=code)
    assert result.auth_failed == 1 and row.status == "pending" and row.attempts == 1
    assert _stat(client, "updates_received") == received_before
    assert Alert.objects.filter(kind=ALERT_AUTH, resolved=False).count() == 1
    entry = OperationLogEntry.objects.filter(kind=OperationKind.NATIONAL_PUSH).latest("sequence")
    assert entry.outcome == "failed"


def test_an_unknown_client_certificate_fails_closed(national: RunningServer, tmp_path: Path) -> None:
    # given: our key store holds a certificate from another CA (generated here)
    from national import pki

    other = pki.PkiPaths(tmp_path / "other")
    pki.init(other.directory)
    p = national.pki
    stranger = NationalClient(national.url, p.ca_cert, other.client_cert, other.client_key, national.server_pin)
    (code,) = _rng_codes(1, seed=10)
    send_and_process(_move_in(code))
    # when
    result = push_batch(client_factory=lambda: stranger)
    # then
    assert result.auth_failed == 1 and result.sent == 0
    assert PushOutbox.objects.get(resident_code=code).status == "pending"


def test_backlog_raises_one_alert_after_an_hour_and_an_incident_after_a_day() -> None:
    # given: a row pending (never sent)
    (code,) = _rng_codes(1, seed=11)
    send_and_process(_move_in(code))
    created = PushOutbox.objects.get(resident_code=code).created_at
    # when
    early = push_backlog_check(as_of=created + dt.timedelta(minutes=59))
    late = push_backlog_check(as_of=created + dt.timedelta(minutes=61))
    again = push_backlog_check(as_of=created + dt.timedelta(minutes=90))
    stale = push_backlog_check(as_of=created + dt.timedelta(hours=25))
    # then
    assert early == {"overdue": 0, "stale": 0}
    assert late["overdue"] == 1 and again["overdue"] == 1 and stale["stale"] == 1
    assert Alert.objects.filter(kind=ALERT_BACKLOG).count() == 1
    incident = Incident.objects.get()
    assert incident.status == "open" and incident.count == 1
    assert NUMBER not in incident.content and code not in incident.content


def test_a_row_without_a_readable_version_waits_and_the_others_are_sent(client: NationalClient) -> None:
    # given: two applied persons, and an outbox row pointing at no version
    codes = _rng_codes(2, seed=12)
    send_and_process(*[_move_in(code) for code in codes])
    template = PushOutbox.objects.filter(resident_code=codes[0]).values().get()
    template.update(id=None, resident_code=_rng_codes(1, seed=13)[0], person_id=10**9, version_id=10**12)
    broken = PushOutbox.objects.create(**template)
    # when
    result = push_batch(client_factory=_factory(client))
    # then
    broken.refresh_from_db()
    assert result.sent == 2 and result.retry == 1
    assert broken.status == "pending" and broken.attempts == 1
    assert Alert.objects.filter(kind="push_payload_error").count() == 1


def test_an_intake_run_that_decided_batches_wakes_the_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    from types import SimpleNamespace

    from prefserver import tasks

    published: list[str] = []
    monkeypatch.setattr(tasks.push_relay_task, "delay", lambda: published.append("push"))
    worker_run = SimpleNamespace(name=tasks.intake_process_task.name, request=SimpleNamespace(is_eager=False))
    # when
    tasks._wake_push_after_apply(sender=worker_run, result=3)
    tasks._wake_push_after_apply(sender=worker_run, result=0)  # nothing decided: no wake-up
    tasks._wake_push_after_apply(sender=SimpleNamespace(name="other", request=worker_run.request), result=3)
    # then
    assert published == ["push"]


@pytest.mark.django_db(transaction=True)
def test_a_second_relay_takes_neither_a_claimed_row_nor_the_same_persons_next_one() -> None:
    # given: person P with two updates, person Q with one
    import threading

    from django.db import connection, transaction

    from prefserver.push import _claim

    p_code, q_code = _rng_codes(2, seed=14)
    send_and_process(
        _move_in(p_code),
        notice("21", 2, resident_code=p_code, payload=identity_payload(address="山口県下関市見本町五丁目1番")),
        _move_in(q_code),
    )
    claimed_first, release, held = [], threading.Event(), threading.Event()

    def first_relay() -> None:
        with transaction.atomic():
            claimed_first.extend(_claim(now=clock.now(), limit=1))  # the oldest due head only
            held.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=first_relay)
    thread.start()
    held.wait(10)
    # when: a second relay claims while the first holds its row
    with transaction.atomic():
        second = _claim(now=clock.now(), limit=10)
    release.set()
    thread.join()
    # then
    assert [(r.resident_code, r.update_sequence) for r in claimed_first] == [(p_code, 1)]
    assert [(r.resident_code, r.update_sequence) for r in second] == [(q_code, 1)]


def test_every_relay_alert_kind_has_a_japanese_label_for_the_dashboard():
    from prefserver import push
    from prefserver.models import Alert

    for kind in (push.ALERT_AUTH, push.ALERT_REJECTED, push.ALERT_BACKLOG, push.ALERT_PAYLOAD):
        assert kind in Alert.Kind.values
        assert Alert(kind=kind).get_kind_display() != kind


def test_the_relay_claim_reads_a_backlog_in_due_order_and_stops_at_its_batch() -> None:
    # given: a backlog of 20,000 pending rows (after an outage of the national server) beside 5,000 sent ones
    # (kept: they are the record of what was pushed), with fresh statistics
    from django.db import connection

    with connection.cursor() as cursor:
        outbox_rows(cursor, 25000, pending=20000)
        cursor.execute(f"ANALYZE {OUTBOX_TABLE}")
        # when
        cursor.execute("EXPLAIN " + CANDIDATES_SQL, {"now": clock.now(), "limit": 2000})
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(CANDIDATES_SQL, {"now": clock.now(), "limit": 2000})
        claimed = [row[0] for row in cursor.fetchall()]
    # then: the pending index is walked in (next_attempt_at, id) order up to the batch size: no scan of the
    # table, no sort of the whole backlog (both were the plan with an index on (status, next_attempt_at))
    assert "push_outbox_due_idx" in plan and "Seq Scan" not in plan and "Sort" not in plan, plan
    assert len(claimed) == 2000
    assert claimed == list(PushOutbox.objects.filter(status="pending").order_by("next_attempt_at", "id")
                           .values_list("id", flat=True)[:2000])  # fmt: skip


def test_the_due_check_reads_the_due_index_when_statistics_say_most_rows_are_pending() -> None:
    # given: statistics taken during a surge (20,000 rows, all pending), then every row acknowledged: the
    # planner still believes most rows pending
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from prefserver.push import push_due_exists

    with connection.cursor() as cursor:
        outbox_rows(cursor, 20000, pending=20000)
        cursor.execute(f"ANALYZE {OUTBOX_TABLE}")
        cursor.execute(f"UPDATE {OUTBOX_TABLE} SET status = 'sent', acked_at = now()")
    # when
    with CaptureQueriesContext(connection) as queries:
        due = push_due_exists()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then: nothing is due, found by the pending index, not by scanning the 20,000 sent rows
    assert due is False
    assert "push_outbox_due_idx" in plan and "Seq Scan" not in plan, plan


def test_current_versions_are_read_in_their_own_partition_and_moved_ones_found_anyway(client: NationalClient) -> None:
    """A claim's versions are looked up in the partition the outbox row names (one index, not one per expiry
    year); a version superseded before its push has moved to its year's partition and is still found."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jukinet import db

    fresh = _rng_codes(3, seed=11)
    send_and_process(*[_move_in(code) for code in fresh])
    statements: list[tuple[str, list[object]]] = []
    read = db.binary_rows

    def recording(sql: str, params: list[object], **kwargs: object) -> list[tuple[object, ...]]:
        statements.append((sql, list(params)))
        return read(sql, params, **kwargs)  # type: ignore[arg-type]

    with CaptureQueriesContext(connection) as queries, patch.object(db, "binary_rows", recording):
        assert push_batch(client_factory=_factory(client)).sent == 3
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "prefserver_identity_version"' in q["sql"]]
    assert len(reads) == 1 and '"expiry_year" = $1' in reads[0]
    (params,) = [params for sql, params in statements if 'FROM "prefserver_identity_version"' in sql]
    assert params[0] == 9999  # the sentinel year: the current versions' partition
    # given: an entry superseded by a change before either is pushed
    (code,) = _rng_codes(1, seed=12)
    send_and_process(_move_in(code), notice("21", 2, resident_code=code, payload=identity_payload(address=MOVED)))
    # when / then: both go out in turn, the first from the moved version
    assert push_batch(client_factory=_factory(client)).sent == 1
    assert push_batch(client_factory=_factory(client)).sent == 1
    assert client.sequences_of([code]) == {code: 2}


MOVED = "山口県下関市見本町二丁目1番"
