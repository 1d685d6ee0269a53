"""Provision records: append-only, 7-year monthly purge, the per-subject report (domain.md §9.4, §12, §13)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, transaction

from audit.models import OperationKind, OperationLogEntry
from provision import partitions
from provision.models import ProvisionRecord
from provision.selectors import provision_records_for_person, release_lookup, staff_search
from provision.services import provision_records_purge
from tests.provision.conftest import person

pytestmark = pytest.mark.django_db


def test_records_are_append_only(body_operator, body_terminal):
    _, code, _ = person()
    outcome = release_lookup(operator=body_operator, terminal=body_terminal, file="identity",
                             affair_code="S6-EDU-01", conditions={"resident_code": code})  # fmt: skip
    with pytest.raises(DatabaseError), transaction.atomic():
        ProvisionRecord.objects.filter(pk=outcome.provision_record_id).update(result="not_found")
    with pytest.raises(DatabaseError), transaction.atomic():
        ProvisionRecord.objects.filter(pk=outcome.provision_record_id).delete()


def test_report_lists_only_released_provisions_of_that_person(body_operator, body_terminal, clerk, clerk_terminal):
    # given: a release of A, a refusal naming A (Q11 keeps subjects), a release of B, a staff search of A
    a, code_a, _ = person()
    _, code_b, _ = person()
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    released = release_lookup(operator=body_operator, terminal=body_terminal, file="identity",
                              affair_code="S6-EDU-01", conditions={"resident_code": code_a})  # fmt: skip
    release_lookup(operator=body_operator, terminal=body_terminal, file="identity", affair_code="S6-EDU-01",
                   conditions={"resident_code": code_b})  # fmt: skip
    release_lookup(operator=body_operator, terminal=body_terminal, file="identity", affair_code="NOPE",
                   conditions={"resident_code": code_a})  # fmt: skip
    staff_search(operator=clerk, terminal=clerk_terminal, file="identity", affair_code="INT-001",
                 conditions={"resident_code": code_a})  # fmt: skip
    # when
    report = list(provision_records_for_person(a, since))
    # then
    assert [r.pk for r in report] == [released.provision_record_id]
    assert report[0].recipient.name == "教育委員会（教育庁）" and report[0].affair.code == "S6-EDU-01"
    assert "name" in report[0].items


def test_purge_drops_months_past_seven_years_and_logs(db):
    # given: a partition for a month long past
    old = dt.date(2015, 3, 1)
    partitions.partition_create(old)
    # when: a dry run, then the real run
    dry = provision_records_purge(as_of=dt.date(2022, 4, 1), dry_run=True)
    result = provision_records_purge(as_of=dt.date(2022, 4, 1))
    # then
    assert partitions.partition_name(old) in dry["dropped"] and partitions.partition_exists(old) is False
    assert result["dropped"] == dry["dropped"]
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    assert entry.kind == OperationKind.PURGE and entry.actor == "system:purge"


def test_purge_keeps_a_month_not_yet_seven_years_old(db):
    month = dt.date(2015, 4, 1)
    partitions.partition_create(month)
    provision_records_purge(as_of=dt.date(2022, 4, 30))
    assert partitions.partition_exists(month)


def test_purge_command_dry_run_prints_and_keeps(db, capsys):
    from django.core.management import call_command

    old = dt.date(2014, 1, 1)
    partitions.partition_create(old)
    call_command("purge_provision_records", "--as-of", "2022-01-01", "--dry-run")
    assert partitions.partition_name(old) in capsys.readouterr().out and partitions.partition_exists(old)
