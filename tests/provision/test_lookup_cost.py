"""The lookup hot path's cost (issue 6 benchmark): statements per token-authenticated release, and that the
one-round-trip record + log append keeps every rule (the same record, a verifiable chain, the idle clock)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit import partitions as oplog_partitions
from audit import services as audit_services
from audit.authentication import api_token_issue
from audit.models import ApiToken, OperationLogEntry, OperationLogPending
from audit.oplog import canonical_entry, chain_hash
from audit.verify import operation_log_verify
from jukinet import clock
from provision import partitions as record_partitions
from provision import records
from provision.models import ProvisionRecord
from tests.provision.conftest import person

pytestmark = pytest.mark.django_db

IDENTITY = "/api/v1/identity/lookup"
# Token + terminal + idle setting + touch (1); usage approval + affair + record id + exact match + suspension +
# RESIDENT_CODE_RELEASE (1); record + chain lock + log append (1). Outside a transaction that is all (the record
# and the entry are one implicit transaction); inside the test's transaction the atomic block adds a savepoint
# and its release. The path measured 14 before (bench/profile_lookup.py).
MAX_STATEMENTS = 5


def _token_client(operator, terminal) -> APIClient:
    token, _ = api_token_issue(operator=operator, terminal=terminal)
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TERMINAL_KEY="edu-terminal-key")


def _partitions_known() -> None:
    # Outside tests the month's partitions are remembered after the first commit; test transactions never commit.
    records._known_partitions.add(record_partitions.partition_name(record_partitions.month_start(clock.today())))
    month = oplog_partitions.month_start(clock.today())
    audit_services._known_partitions.add(oplog_partitions.partition_name(month))


def test_release_lookup_statement_count_has_an_upper_bound(body_operator, body_terminal):
    # given
    someone, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}, "document_reference": "教委第1号"}
    assert client.post(IDENTITY, body, format="json").status_code == 200  # per-process caches warm
    _partitions_known()
    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.post(IDENTITY, body, format="json")
    # then
    assert response.status_code == 200 and response.json()["result"] == "released"
    assert len(queries) <= MAX_STATEMENTS, "\n".join(str(q["sql"])[:120] for q in queries.captured_queries)
    stored = ProvisionRecord.objects.get(pk=response.json()["provision_record"])
    assert stored.subjects == [someone.pk] and stored.document_reference == "教委第1号"
    assert stored.conditions == {"resident_code": code} and stored.items == list(response.json()["record"])


def test_one_round_trip_append_keeps_the_chain_and_the_record(body_operator, body_terminal):
    # given
    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    # when
    answers = [
        client.post(IDENTITY, {"affair": "S6-EDU-01", "conditions": {"resident_code": c}}, format="json")
        for c in (code, "00000000000", code)
    ]
    # then: each entry's stored hash is the Python chain hash of its canonical text, and the chain verifies
    assert [a.json()["result"] for a in answers] == ["released", "not_found", "released"]
    entries = list(OperationLogEntry.objects.order_by("sequence"))
    for previous, entry in itertools.pairwise(entries):
        assert bytes(entry.hash) == chain_hash(bytes(previous.hash), audit_services.entry_canonical(entry))
        assert entry.recorded_at >= previous.recorded_at
    last = entries[-1]
    assert ["provision.provisionrecord", str(answers[-1].json()["provision_record"])] in last.targets
    assert canonical_entry(
        sequence=last.sequence, recorded_at=last.recorded_at, actor=last.actor, terminal_id=last.terminal_id,
        kind=last.kind, affair_id=last.affair_id, targets=last.targets, outcome=last.outcome,
        conditions=last.conditions, result_count=last.result_count,
    ) == audit_services.entry_canonical(last)  # fmt: skip
    assert operation_log_verify().ok


def test_log_time_never_runs_backwards_in_the_one_round_trip_append(body_operator, body_terminal, monkeypatch):
    # given: an entry stamped later than the clock of the next append (another process's clock ahead)
    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    client.post(IDENTITY, {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}, format="json")
    ahead = OperationLogEntry.objects.order_by("-sequence").first()
    earlier = ahead.recorded_at - dt.timedelta(milliseconds=5)
    monkeypatch.setattr(clock, "now", lambda: earlier)
    # when
    response = client.post(IDENTITY, {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}, format="json")
    # then: the new entry takes the previous entry's time, so sequence and time order agree
    assert response.status_code == 200
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    assert entry.sequence == ahead.sequence + 1 and entry.recorded_at == ahead.recorded_at
    assert operation_log_verify().ok


def _midday(monkeypatch, operator) -> dt.datetime:
    """Pin the clock to 10:00 (Asia/Tokyo) today, with the operator's usage approval from 09:00: tokens expire at
    24:00, so a test moving the clock by tens of minutes must not start near midnight."""
    from audit.models import UsageApproval

    base = clock.start_of_day(clock.today()) + dt.timedelta(hours=10)
    monkeypatch.setattr(clock, "now", lambda: base)
    UsageApproval.objects.filter(operator=operator).update(approved_at=base - dt.timedelta(hours=1))
    return base


def test_token_idle_clock_moves_and_an_idle_token_is_refused(body_operator, body_terminal, monkeypatch):
    # given
    start = _midday(monkeypatch, body_operator)
    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(minutes=14))
    # when
    used = client.post(IDENTITY, body, format="json")
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(minutes=28))
    still = client.post(IDENTITY, body, format="json")
    monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(minutes=43, seconds=1))
    idle = client.post(IDENTITY, body, format="json")
    # then
    assert (used.status_code, still.status_code, idle.status_code) == (200, 200, 401)
    token = ApiToken.objects.get(operator=body_operator)
    assert token.last_used_at == start + dt.timedelta(minutes=28)


def test_token_from_another_terminal_is_401(body_operator, body_terminal, tax_terminal):
    # given
    _, code, _ = person()
    token, _ = api_token_issue(operator=body_operator, terminal=body_terminal)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TERMINAL_KEY="tax-terminal-key")
    # when
    response = client.post(IDENTITY, {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}, format="json")
    # then
    assert response.status_code == 401
    assert not ProvisionRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outermost_lookup_commits_record_and_pending_entry_then_the_sealer_chains_it(body_operator, body_terminal):
    # given: no test transaction around the request, so record and entry go as one implicit transaction
    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}
    # when
    answers = [client.post(IDENTITY, body, format="json") for _ in range(2)]
    with CaptureQueriesContext(connection) as queries:
        answers.append(client.post(IDENTITY, body, format="json"))
    # then: every record and its unchained entry are committed, nothing waits on the chain lock
    assert [a.status_code for a in answers] == [200, 200, 200]
    last = str(queries.captured_queries[-1]["sql"])
    assert "provision_record_insert(" in last and "audit_operationlogpending" in last and "COMMIT" not in last
    ids = [a.json()["provision_record"] for a in answers]
    assert ProvisionRecord.objects.filter(pk__in=ids).count() == 3
    assert not connection.in_atomic_block and connection.connection.info.transaction_status == 0  # IDLE
    target = ["provision.provisionrecord", str(ids[-1])]
    assert OperationLogPending.objects.filter(targets__contains=f'"{ids[-1]}"').count() == 1
    # when: the sealer runs
    sealed = audit_services.operation_log_seal()
    # then: the entries are in the chain, once, and it verifies
    assert sealed == 3 and not OperationLogPending.objects.exists()
    assert sum(target in entry.targets for entry in OperationLogEntry.objects.all()) == 1
    assert operation_log_verify().ok


@pytest.mark.django_db(transaction=True)
def test_outermost_lookup_record_and_entry_are_all_or_nothing(body_operator, body_terminal, monkeypatch):
    # given: an entry insert that fails on the server
    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}
    assert client.post(IDENTITY, body, format="json").status_code == 200
    records_before, pending_before = ProvisionRecord.objects.count(), OperationLogPending.objects.count()
    broken = audit_services._PENDING.replace("audit_operationlogpending", "no_such_table")
    monkeypatch.setattr(audit_services, "_PENDING", broken)
    # when
    with pytest.raises(Exception, match="no_such_table"):
        client.post(IDENTITY, body, format="json")
    # then: the record sent in the same text was rolled back with the failed entry; the connection still works
    assert ProvisionRecord.objects.count() == records_before
    assert OperationLogPending.objects.count() == pending_before
    assert connection.connection.info.transaction_status == 0  # IDLE
    monkeypatch.undo()
    assert client.post(IDENTITY, body, format="json").status_code == 200
    audit_services.operation_log_seal()
    assert operation_log_verify().ok


@pytest.mark.django_db(transaction=True)
def test_sealed_and_locked_appends_interleave_into_one_verifiable_chain(body_operator, body_terminal):
    # given: locked appends, lookups' pending entries, and a pending entry written "earlier" than the head
    from django.db import transaction

    from audit.models import OperationKind

    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}
    for _ in range(2):
        with transaction.atomic():
            audit_services.operation_log_record(actor="system:test", kind=OperationKind.LOG_VERIFIED)
        assert client.post(IDENTITY, body, format="json").status_code == 200
    audit_services.operation_log_seal()
    assert client.post(IDENTITY, body, format="json").status_code == 200
    OperationLogPending.objects.update(recorded_at=clock.now() - dt.timedelta(seconds=30))
    with transaction.atomic():
        audit_services.operation_log_record(actor="system:test", kind=OperationKind.LOG_VERIFIED)
    # when
    audit_services.operation_log_seal()
    # then: one chain, sequence order and time order agree, and it verifies
    entries = list(OperationLogEntry.objects.order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(entries[0].sequence, entries[0].sequence + len(entries)))
    assert all(a.recorded_at <= b.recorded_at for a, b in itertools.pairwise(entries))
    assert operation_log_verify().ok


def test_token_touch_sees_every_change_of_operator_office_and_terminal(body_operator, body_terminal):
    # given: the rows loaded once (this process caches them by row version)
    from audit.authentication import api_token_touch
    from audit.models import Office, Operator, Terminal
    from provision.access import credential_hash

    token, _ = api_token_issue(operator=body_operator, terminal=body_terminal)
    credential = credential_hash("edu-terminal-key")
    first = api_token_touch(token=token, terminal_credential=credential)
    assert first.operator.display_name == body_operator.display_name
    # when: each row changes behind the cache
    Operator.objects.filter(pk=body_operator.pk).update(display_name="改名後", roles=["department_operator"])
    Office.objects.filter(pk=body_operator.office_id).update(name="新しい課")
    Terminal.objects.filter(pk=body_terminal.pk).update(capabilities=["search"])
    second = api_token_touch(token=token, terminal_credential=credential)
    # then: the new versions, and instances of their own (no shared relation cache)
    assert second.operator.display_name == "改名後" and second.operator.roles == ["department_operator"]
    assert second.operator.office.name == "新しい課"
    assert second.terminal.capabilities == ["search"]
    third = api_token_touch(token=token, terminal_credential=credential)
    assert third.operator is not second.operator and third.operator.display_name == "改名後"


def test_refused_access_reads_no_version_in_the_combined_statement(body_operator, body_terminal):
    # given: a release whose conditions meet §9.3 but whose affair does not exist (Q01)
    from provision import selectors, sql

    _, code, _ = person()
    _model, statement, params, _ = selectors._match_statement("identity", {"resident_code": code}, "NOPE")
    params.update(
        selectors._access_params(body_operator, body_terminal, "NOPE", body_operator.office), needs_number=False
    )
    # when
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql.release_access_and_match(statement), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then: the version scans sit under the guard's one-time filter and never ran
    gated = plan[plan.index("One-Time Filter: access.guard") :]
    assert "prefserver_identity_version" in gated
    assert all("never executed" in line for line in gated.splitlines() if "Scan" in line)


def test_release_answers_in_one_statement_after_authentication(body_operator, body_terminal):
    # given
    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}
    assert client.post(IDENTITY, body, format="json").status_code == 200
    _partitions_known()
    # when
    with CaptureQueriesContext(connection) as queries:
        response = client.post(IDENTITY, body, format="json")
    # then: the access + match statement is the only read between the token touch and the record + log write
    assert response.json()["result"] == "released"
    texts = [str(q["sql"]) for q in queries.captured_queries]
    assert sum("WITH access AS MATERIALIZED" in t for t in texts) == 1
    assert not any(t.lstrip().startswith("SELECT v.id") for t in texts)


def test_idle_clock_moves_at_most_once_per_granularity(body_operator, body_terminal, monkeypatch):
    # given
    from audit.authentication import TOUCH_GRANULARITY_SECONDS

    start = _midday(monkeypatch, body_operator) + dt.timedelta(minutes=1)
    _, code, _ = person()
    client = _token_client(body_operator, body_terminal)
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": code}}
    step = dt.timedelta(seconds=TOUCH_GRANULARITY_SECONDS)
    # when / then: a request within the granularity leaves the clock; the next one after it moves it
    monkeypatch.setattr(clock, "now", lambda: start)
    assert client.post(IDENTITY, body, format="json").status_code == 200
    assert ApiToken.objects.get(operator=body_operator).last_used_at == start
    monkeypatch.setattr(clock, "now", lambda: start + step - dt.timedelta(seconds=1))
    assert client.post(IDENTITY, body, format="json").status_code == 200
    assert ApiToken.objects.get(operator=body_operator).last_used_at == start
    monkeypatch.setattr(clock, "now", lambda: start + step)
    assert client.post(IDENTITY, body, format="json").status_code == 200
    assert ApiToken.objects.get(operator=body_operator).last_used_at == start + step
