"""Retention of cases and their PDFs: 7 years from closure (domain.md §13)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from audit.models import OperationKind, OperationLogEntry
from disclosure import services
from disclosure.models import Decision, DisclosureCase, OutputLedgerEntry, StoredDocument
from jukinet import clock
from tests.disclosure.conftest import receive

pytestmark = pytest.mark.django_db


def _closed_not_exists(clerk, desk, *, closed_on: dt.date) -> DisclosureCase:
    case = receive(clerk)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=None, address_confirmed=False
    )
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.NOT_EXISTS, reason="記録なし")
    services.disclosure_decision_notice_issue(case=case, operator=clerk)
    closed_at = clock.start_of_day(closed_on)
    DisclosureCase.objects.filter(pk=case.pk).update(closed_at=closed_at)
    OutputLedgerEntry.objects.filter(case=case).update(printed_at=closed_at)
    return case


def test_purge_removes_cases_closed_more_than_seven_years_ago(clerk, desk, capsys):
    # given a case closed 2019-03-31 and one closed 2019-04-02
    old = _closed_not_exists(clerk, desk, closed_on=dt.date(2019, 3, 31))
    young = _closed_not_exists(clerk, desk, closed_on=dt.date(2019, 4, 2))

    # when a dry run, then a purge, run as of 2026-04-01
    call_command("purge_disclosure", "--as-of", "2026-04-01", "--dry-run")
    assert "dry-run: cases=1 documents=1 ledger_entries=1" in capsys.readouterr().out
    assert DisclosureCase.objects.count() == 2
    counts = services.disclosure_purge_expired(as_of=dt.date(2026, 4, 1))

    # then only the old case, its PDF and ledger row are gone, and the run is logged
    assert counts == {"cases": 1, "documents": 1, "ledger_entries": 1}
    assert list(DisclosureCase.objects.values_list("pk", flat=True)) == [young.pk]
    assert not StoredDocument.objects.filter(case_id=old.pk).exists()
    run = OperationLogEntry.objects.filter(kind=OperationKind.PURGE).latest("sequence")
    assert run.actor == "system:purge" and run.conditions["cases"] == 1 and run.conditions["dry_run"] is False


def test_a_recent_reprint_keeps_its_case(clerk, desk):
    old = _closed_not_exists(clerk, desk, closed_on=dt.date(2019, 3, 31))
    services.document_reprint(entry=OutputLedgerEntry.objects.get(case=old), operator=clerk, reason="再交付")
    assert services.disclosure_purge_expired(as_of=dt.date(2026, 4, 1))["cases"] == 0
