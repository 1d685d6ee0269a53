"""提供状況の開示 (domain.md §9.4, §12; scenario 37), from provision's records."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from audit.models import Affair, Office, OperationKind
from disclosure import services
from disclosure.models import CaseStatus, Decision, DocumentKind, OutputLedgerEntry, RequestKind
from jukinet import clock
from provision import partitions
from provision.models import ProvisionRecord
from tests.disclosure.conftest import log_head, log_kinds, make_identity_person, receive
from tests.disclosure.pdf_helpers import pdf_text

pytestmark = pytest.mark.django_db


def _record(*, on: dt.date, subjects: list[int], recipient: Office, affair: Affair, operator, **values) -> None:
    """A provision record at a past time (written directly: provision_record_write stamps `now`)."""
    month = on.replace(day=1)
    if not partitions.partition_exists(month):
        partitions.partition_create(month)
    defaults = {
        "release_kind": "provision", "file": "identity", "conditions": {}, "channel": "screen",
        "result": "released", "items": ["resident_code", "name", "name_kana", "birth_date", "sex", "address"],
    }  # fmt: skip
    defaults.update(values)
    ProvisionRecord.objects.create(
        recorded_at=clock.start_of_day(on) + dt.timedelta(hours=10),
        operator=operator,
        recipient=recipient,
        affair=affair,
        affair_code=affair.code,
        subjects=subjects,
        **defaults,
    )


def test_report_lists_only_that_persons_released_records_of_the_last_seven_years(clerk, desk):
    # given the requester, another person, and provision records of several kinds
    person = make_identity_person()
    other = make_identity_person(name="別人 花子", sex=2)
    board = Office.objects.create(code="B11", name="山口県教育委員会", kind=Office.Kind.BODY)
    police = Office.objects.create(code="B12", name="山口県公安委員会", kind=Office.Kind.BODY)
    tax = Office.objects.create(code="D11", name="総務部税務課", kind=Office.Kind.DEPARTMENT)
    common = {"category": "schedule_6", "release_kind": "provision", "effective_from": dt.date(2015, 4, 1)}
    schooling = Affair.objects.create(code="S6-01", name="就学奨励に関する事務", **common)
    taxes = Affair.objects.create(code="S5-01", name="県税の賦課徴収に関する事務", **common)
    licences = Affair.objects.create(code="S6-02", name="運転免許に関する事務", **common)
    record = {"operator": clerk}
    _record(on=dt.date(2025, 6, 2), subjects=[person.pk], recipient=board, affair=schooling, **record)
    _record(on=dt.date(2024, 3, 1), subjects=[person.pk, other.pk], recipient=tax, affair=taxes,
            release_kind="transfer", items=["name", "birth_date", "individual_number"], **record)  # fmt: skip
    _record(on=dt.date(2025, 7, 1), subjects=[person.pk], recipient=police, affair=licences,
            result="refused", code="Q02", items=[], **record)  # fmt: skip
    _record(on=dt.date(2019, 11, 25), subjects=[person.pk], recipient=police, affair=licences, **record)
    _record(on=dt.date(2025, 8, 1), subjects=[other.pk], recipient=police, affair=licences, **record)
    case = receive(clerk, kind=RequestKind.PROVISION_STATUS)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)

    # when the report is issued on 2026-11-26
    head = log_head()
    report = services.provision_status_report_issue(case=case, operator=clerk, issued_on=dt.date(2026, 11, 26))

    # then it lists the person's two released records within 2019-11-26 .. 2026-11-26, oldest first
    text = pdf_text(report.content)
    assert "本人確認情報提供状況開示書" in text
    assert text.index("総務部税務課") < text.index("山口県教育委員会")
    assert "令和6年3月1日" in text and "令和7年6月2日" in text and "移転" in text
    assert "県税の賦課徴収に関する事務" in text and "就学奨励に関する事務" in text
    # the refusal, the record older than 7 years and the other person's record are absent
    assert "山口県公安委員会" not in text and "運転免許に関する事務" not in text
    assert "令和元年11月26日" in text  # period start: 7 years back
    # no individual number: the item name may appear, never the digits of one
    assert not re.search(r"\d{12}", text)
    assert OutputLedgerEntry.objects.get(case=case).kind == DocumentKind.PROVISION_STATUS_REPORT
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert log_kinds(head) == [OperationKind.IDENTITY_VIEWED, OperationKind.DOCUMENT_ISSUED]


def test_report_without_records_still_issues(clerk, desk):
    person = make_identity_person()
    case = receive(clerk, kind=RequestKind.PROVISION_STATUS)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)
    with pytest.raises(services.DisclosureError):  # a granted provision-status case gets the report, not a notice
        services.disclosure_decision_notice_issue(case=case, operator=clerk)
    report = services.provision_status_report_issue(case=case, operator=clerk)
    assert "本人確認情報提供状況開示書" in pdf_text(report.content)
