"""The registers purge as one run (jukinet.registers, domain.md §13): dry run, one PURGE log entry, the
command, the beat task."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import AccessRightLedgerEntry, OperationKind, OperationLogEntry, Operator, UsageApproval
from jukinet.registers import registers_purge
from jukinet.tasks import registers_purge_task
from prefserver.models import Alert
from tests.registers_times import AS_OF, JUST_INSIDE, JUST_PAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_rows(seven_years, clerk, terminal, section_office):  # type: ignore[no-untyped-def]
    """Per register: one row just past the period, one just inside it (RETENTION_YEARS = 7)."""
    former = Operator.objects.create(username="former", display_name="former", office=section_office, roles=[])
    for at in (JUST_PAST, JUST_INSIDE):
        UsageApproval.objects.create(
            operator=clerk, office=section_office, terminal=terminal.terminal, purpose="業務", requested_at=at
        )
        Alert.objects.create(kind=Alert.Kind.PUSH_BACKLOG, message="滞留", created_at=at)
        for action in ("grant", "revoke"):
            AccessRightLedgerEntry.objects.create(
                operator=former, office=section_office, role="clerk", action=action, effective_on=at.date(),
                recorded_by="system:test", recorded_at=at,
            )  # fmt: skip


def _purge_entries() -> list[OperationLogEntry]:
    # `conditions` is a json (not jsonb) column holding the canonical text: filtered here, not in SQL.
    entries = OperationLogEntry.objects.filter(kind=OperationKind.PURGE).order_by("sequence")
    return [entry for entry in entries if entry.conditions.get("purge_kind") == "registers"]


def _sizes() -> tuple[int, int, int]:
    return UsageApproval.objects.count(), Alert.objects.count(), AccessRightLedgerEntry.objects.count()


def test_a_dry_run_removes_nothing_but_reports_and_logs_the_counts(old_rows):
    # when a dry run runs
    counts = registers_purge(as_of=AS_OF, dry_run=True)
    # then it reports what a run would remove, removes nothing, and is logged as a dry run
    assert counts["audit_usageapproval"] == counts["prefserver_alert"] == 1
    assert counts["audit_accessrightledgerentry"] == 2
    assert _sizes() == (2, 2, 4)
    (entry,) = _purge_entries()
    assert entry.conditions["dry_run"] is True and entry.conditions["counts"] == counts
    # and the real run removes exactly what the dry run reported
    assert registers_purge(as_of=AS_OF) == counts
    assert _sizes() == (1, 1, 2)


def test_a_run_writes_one_purge_entry_with_its_counts_and_a_second_run_removes_nothing(old_rows):
    # when the purge runs twice
    first = registers_purge(as_of=AS_OF)
    second = registers_purge(as_of=AS_OF)
    # then the first run's one entry, under the purge principal, holds its counts, as-of and cut-off
    entries = _purge_entries()
    assert len(entries) == 2
    entry = entries[0]
    assert (entry.actor, entry.operator_id, entry.outcome) == ("system:purge", None, "ok")
    assert entry.conditions["counts"] == first and entry.result_count == sum(first.values()) == 4
    assert entry.conditions["as_of"] == "2033-04-01" and entry.conditions["dry_run"] is False
    assert entry.conditions["cutoff"] == JUST_INSIDE.isoformat() and entry.conditions["retention_years"] == 7
    # and the second run found nothing left (idempotent)
    assert set(second.values()) == {0} and entries[1].result_count == 0


def test_purge_expired_lists_the_registers_with_dry_run_and_as_of(old_rows):
    # when the command runs as a dry run, then for real
    out = StringIO()
    call_command("purge_expired", "--dry-run", "--as-of", "2033-04-01", stdout=out)
    # then it lists every register table with what it would remove, and removes nothing
    text = out.getvalue()
    assert "registers purge as of 2033-04-01 (dry run)" in text
    assert "audit_usageapproval: would remove 1 rows" in text
    assert "provision_medium: would remove 0 rows" in text
    assert _sizes() == (2, 2, 4)
    out = StringIO()
    call_command("purge_expired", "--as-of", "2033-04-01", stdout=out)
    assert "audit_accessrightledgerentry: removed 2 rows" in out.getvalue()
    assert _sizes() == (1, 1, 2)


def test_the_beat_schedule_runs_the_task_monthly(settings, old_rows):
    # given the beat schedule
    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "jukinet.tasks.registers_purge_task"]
    # then it runs on the first of each month, acknowledged late
    assert entry["schedule"].day_of_month == {1}
    assert registers_purge_task.acks_late is True
    # and the task purges as of today: the rows of 2026 are well inside the period
    assert registers_purge_task.delay().get() == 0
    assert _sizes() == (2, 2, 4)
