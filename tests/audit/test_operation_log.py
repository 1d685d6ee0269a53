import datetime as dt

import pytest
from django.db import connection, transaction

from audit.models import Affair, OperationKind, OperationLogEntry, Operator
from audit.oplog import GENESIS, chain_hash
from audit.selectors import affair_in_force
from audit.services import OperationLogError, blind_index_condition, entry_canonical, operation_log_record

pytestmark = pytest.mark.django_db


def test_entries_chain_from_the_previous_hash():
    # given
    operator = Operator.objects.create(username="op1")
    # when
    with transaction.atomic():
        first = operation_log_record(actor=operator, kind=OperationKind.LOGIN)
    with transaction.atomic():
        second = operation_log_record(
            actor="system:intake",
            kind=OperationKind.INTAKE_BATCH_PROCESSED,
            targets=[operator, ("prefserver.notice", 42)],
            conditions={"from": 1, "to": 9, "counts": {"applied": 8, "E101": 1}},
            result_count=9,
        )
    # then
    rows = list(OperationLogEntry.objects.order_by("sequence"))
    assert [r.sequence for r in rows] == [second.sequence - 1, second.sequence]
    assert second.sequence == first.sequence + 1
    stored = rows[-1]
    assert stored.targets == [["audit.operator", str(operator.pk)], ["prefserver.notice", "42"]]
    assert stored.actor == "system:intake" and stored.operator_id is None
    assert bytes(stored.hash) == chain_hash(bytes(rows[0].hash), entry_canonical(stored))
    assert rows[0].actor == f"operator:{operator.pk}"


def test_first_entry_chains_from_zero_hash():
    with transaction.atomic():
        entry = operation_log_record(actor="system:test", kind=OperationKind.PURGE)
    if entry.sequence == 1:
        assert entry.hash == chain_hash(GENESIS, entry_canonical(entry))


def test_refuses_to_log_outside_a_transaction():
    assert not connection.in_atomic_block or transaction.get_autocommit() is False
    # pytest-django wraps each test in a transaction; leave it to check the function's guard.
    connection.in_atomic_block, saved = False, connection.in_atomic_block
    try:
        with pytest.raises(OperationLogError):
            operation_log_record(actor="system:test", kind=OperationKind.PURGE)
    finally:
        connection.in_atomic_block = saved


@pytest.mark.parametrize(
    "conditions",
    [
        {"individual_number": "blah"},
        {"keys": {"number": "123456789018"}},
        {"q": ["１２３４５６７８９０１８"]},
        {"ratio": 0.5},
    ],
)
def test_refuses_individual_numbers_and_floats_in_conditions(conditions):
    with pytest.raises((OperationLogError, ValueError)), transaction.atomic():
        operation_log_record(actor="system:test", kind=OperationKind.IDENTITY_SEARCHED, conditions=conditions)
    assert not OperationLogEntry.objects.filter(kind=OperationKind.IDENTITY_SEARCHED).exists()


def test_blind_index_is_the_only_form_of_an_individual_number():
    with transaction.atomic():
        entry = operation_log_record(
            actor="system:test",
            kind=OperationKind.IDENTITY_SEARCHED,
            conditions=blind_index_condition("ab" * 32),
            result_count=1,
        )
    stored = OperationLogEntry.objects.get(sequence=entry.sequence)
    assert stored.conditions == {"individual_number_blind_index": "ab" * 32}


def test_update_and_delete_of_log_rows_are_rejected():
    with transaction.atomic():
        entry = operation_log_record(actor="system:test", kind=OperationKind.PURGE)
    for sql in ("UPDATE audit_operationlogentry SET outcome = 'x'", "DELETE FROM audit_operationlogentry"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql)
    assert OperationLogEntry.objects.get(sequence=entry.sequence).outcome == "ok"


def test_affair_in_force_follows_effective_dates():
    Affair.objects.create(
        code="A1",
        name="旧",
        category="ordinance",
        release_kind="transfer",
        effective_from=dt.date(2020, 1, 1),
        effective_to=dt.date(2025, 3, 31),
    )
    Affair.objects.create(
        code="A1",
        name="新",
        category="ordinance",
        release_kind="transfer",
        effective_from=dt.date(2025, 4, 1),
    )
    assert affair_in_force("A1", dt.date(2025, 3, 31)).name == "旧"
    assert affair_in_force("A1", dt.date(2025, 4, 1)).name == "新"
    assert affair_in_force("A1", dt.date(2019, 12, 31)) is None


@pytest.mark.parametrize("outcome", ["ok", "failed", "Q03", "E009", "not_found"])
def test_accepts_the_documented_outcomes(outcome):
    with transaction.atomic():
        entry = operation_log_record(actor="system:test", kind=OperationKind.PROVISION, outcome=outcome)
    assert OperationLogEntry.objects.get(sequence=entry.sequence).outcome == outcome


@pytest.mark.parametrize("outcome", ["", "OK!", "q03", "a-very-long-outcome-word"])
def test_refuses_malformed_outcomes(outcome):
    with pytest.raises(OperationLogError), transaction.atomic():
        operation_log_record(actor="system:test", kind=OperationKind.PROVISION, outcome=outcome)
