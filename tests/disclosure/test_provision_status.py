"""提供状況の開示 (domain.md §9.4, §12; scenario 37)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from audit.models import OperationKind
from disclosure import ports, services
from disclosure.models import CaseStatus, Decision, DocumentKind, OutputLedgerEntry, RequestKind
from jukinet import clock
from tests.disclosure.conftest import log_head, log_kinds, make_identity_person, receive
from tests.disclosure.pdf_helpers import pdf_text

pytestmark = pytest.mark.django_db


def _at(day: dt.date) -> dt.datetime:
    return clock.start_of_day(day) + dt.timedelta(hours=10)


@pytest.fixture
def provision_records():
    """Stand-in for provision's records until its branch lands: everything, for everyone, as a source
    might return it. The port must keep only the person's own released records of the period."""
    rows: list[ports.ProvisionRecordRow] = []
    ports.provision_records_source_set(lambda *, person_id, file, since: rows)
    yield rows
    ports.provision_records_source_set(None)


def test_report_lists_only_that_persons_released_records_of_the_last_seven_years(clerk, provision_records):
    # given the requester, another person, and records of several kinds
    person = make_identity_person()
    other = make_identity_person(name="別人 花子", sex=2)
    row = ports.ProvisionRecordRow
    provision_records += [
        row(person_id=person.pk, recorded_at=_at(dt.date(2025, 6, 2)), recipient="山口県教育委員会",
            kind="provision", affair="就学奨励に関する事務", items=("name", "address"), result="released"),
        row(person_id=person.pk, recorded_at=_at(dt.date(2024, 3, 1)), recipient="総務部税務課",
            kind="transfer", affair="県税の賦課徴収に関する事務", items=("name", "birth_date", "individual_number"),
            result="released"),
        row(person_id=person.pk, recorded_at=_at(dt.date(2025, 7, 1)), recipient="山口県公安委員会",
            kind="provision", affair="拒否された照会", items=(), result="refused"),
        row(person_id=person.pk, recorded_at=_at(dt.date(2019, 11, 25)), recipient="古い提供先",
            kind="provision", affair="七年より前の事務", items=("name",), result="released"),
        row(person_id=other.pk, recorded_at=_at(dt.date(2025, 8, 1)), recipient="他人の提供先",
            kind="provision", affair="他人の事務", items=("name",), result="released"),
    ]  # fmt: skip
    case = receive(clerk, kind=RequestKind.PROVISION_STATUS)
    services.disclosure_requester_match(case=case, operator=clerk, person_id=person.pk, address_confirmed=True)
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)

    # when the report is issued on 2026-11-26
    head = log_head()
    report = services.provision_status_report_issue(case=case, operator=clerk, issued_on=dt.date(2026, 11, 26))

    # then it lists the two released records of the person within 2019-11-26 .. 2026-11-26, oldest first
    text = pdf_text(report.content)
    assert "本人確認情報提供状況開示書" in text
    assert text.index("総務部税務課") < text.index("山口県教育委員会")
    assert "令和6年3月1日" in text and "令和7年6月2日" in text and "移転" in text and "提供" in text
    for absent in ("山口県公安委員会", "古い提供先", "他人の提供先", "他人の事務"):
        assert absent not in text
    assert "令和元年11月26日" in text  # period start: 7 years back
    # no individual number: the item name may appear, never digits of one
    assert not re.search(r"\d{12}", text)
    assert OutputLedgerEntry.objects.get(case=case).kind == DocumentKind.PROVISION_STATUS_REPORT
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert log_kinds(head) == [OperationKind.IDENTITY_VIEWED, OperationKind.DOCUMENT_ISSUED]


def test_report_without_records_still_issues(clerk):
    person = make_identity_person()
    case = receive(clerk, kind=RequestKind.PROVISION_STATUS)
    services.disclosure_requester_match(case=case, operator=clerk, person_id=person.pk, address_confirmed=True)
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)
    with pytest.raises(services.DisclosureError):  # a granted provision-status case gets the report, not a notice
        services.disclosure_decision_notice_issue(case=case, operator=clerk)
    report = services.provision_status_report_issue(case=case, operator=clerk)
    assert "本人確認情報提供状況開示書" in pdf_text(report.content)
