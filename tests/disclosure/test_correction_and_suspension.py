"""訂正等の申出 and 利用停止 (domain.md §12; scenario 38)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import Affair, OperationKind, OperationLogEntry
from disclosure import selectors, services
from disclosure.models import (
    CaseStatus,
    CorrectionInvestigation,
    Decision,
    DocumentKind,
    OutputLedgerEntry,
    RequestKind,
    SuspensionDecision,
)
from prefserver.models import IdentityPerson, IdentityResidentCode, IdentityVersion
from provision.models import ProvisionSuspension
from tests.disclosure.conftest import log_head, log_kinds, make_identity_person, receive
from tests.disclosure.pdf_helpers import pdf_text

pytestmark = pytest.mark.django_db

POINTS = [{"item": "住所", "requested": "山口県山口市見本町一丁目2番4号"}]


def _identity_snapshot():
    versions = list(IdentityVersion.objects.order_by("pk").values())
    persons = list(IdentityPerson.objects.order_by("pk").values())
    codes = list(IdentityResidentCode.objects.order_by("pk").values())
    return versions, persons, codes


def _correction_case(clerk, desk):
    person = make_identity_person()
    case = receive(clerk, kind=RequestKind.CORRECTION, correction_kind="correction", correction_points=POINTS)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    return case, person


def test_correction_opens_an_investigation_and_a_referral_and_never_changes_identity_data(clerk, desk):
    # given a matched correction request and the identity data as it stands
    case, _ = _correction_case(clerk, desk)
    before = _identity_snapshot()
    assert CorrectionInvestigation.objects.get(case=case).outcome == ""

    # when it is referred to the municipality holding the master
    head = log_head()
    referral = services.correction_refer(
        case=case, operator=clerk, method="document", referral_on=dt.date(2026, 2, 2), notes="住所の番地違いの申出"
    )

    # then the referral document names the municipality, the recorded and requested address
    text = pdf_text(referral.content)
    assert "山口市長" in text and "調査" in text
    assert "山口県山口市見本町一丁目2番3号" in text and "山口県山口市見本町一丁目2番4号" in text
    investigation = CorrectionInvestigation.objects.get(case=case)
    assert (investigation.municipality_code, investigation.referral_method, investigation.referral_on) == (
        "352039", "document", dt.date(2026, 2, 2))  # fmt: skip
    assert log_kinds(head) == [
        OperationKind.IDENTITY_VIEWED, OperationKind.DOCUMENT_ISSUED, OperationKind.CORRECTION_REFERRED]  # fmt: skip

    # when the municipality's later update notice is linked and the case closes
    services.correction_notice_link(case=case, operator=clerk, update_notice_id=4711, corrected_on=dt.date(2026, 2, 20))
    result = services.correction_close(case=case, operator=clerk, outcome="corrected", finding="市町村が住所を訂正した")

    # then the result notice is issued, the notice id is kept, and identity data is exactly as before
    assert "本人確認情報訂正等結果通知書" in pdf_text(result.content)
    investigation.refresh_from_db()
    assert (investigation.update_notice_id, investigation.outcome) == (4711, "corrected")
    linked = OperationLogEntry.objects.filter(kind=OperationKind.DISCLOSURE_DECIDED).order_by("sequence").first()
    assert ["prefserver.notice", "4711"] in linked.targets
    assert _identity_snapshot() == before  # every person, version and code row unchanged
    assert [v["address"] for v in before[0]] == ["山口県山口市見本町一丁目2番3号"]
    kinds = list(OutputLedgerEntry.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == [DocumentKind.MUNICIPALITY_REFERRAL, DocumentKind.CORRECTION_RESULT]


def test_correction_closes_with_a_finding_and_versions_are_untouched(clerk, desk):
    # given
    case, _ = _correction_case(clerk, desk)
    snapshot = _identity_snapshot()

    # when the investigation finds the record agrees with the master
    services.correction_refer(case=case, operator=clerk, method="post")
    with pytest.raises(services.DisclosureError):  # "corrected" needs the update notice
        services.correction_close(case=case, operator=clerk, outcome="corrected", finding="訂正済み")
    result = services.correction_close(
        case=case, operator=clerk, outcome="not_corrected", finding="住民票の記載と一致しているため"
    )

    # then
    assert "住民票の記載と一致しているため" in pdf_text(result.content)
    assert _identity_snapshot() == snapshot  # every person, version and code row unchanged
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED


def _affairs():
    common = {"category": "ordinance", "release_kind": "provision", "effective_from": dt.date(2020, 4, 1)}
    Affair.objects.create(code="ORD-001", name="貸付金に係る債権管理事務", **common)
    Affair.objects.create(code="ORD-002", name="県営住宅の管理に関する事務", **common)


def test_suspension_granted_by_an_administrator_sets_the_marker_for_the_named_affairs(clerk, administrator, desk):
    # given a matched suspension request naming two affairs
    _affairs()
    person = make_identity_person()
    case = receive(clerk, kind=RequestKind.SUSPENSION, suspension_affair_codes=["ORD-001", "ORD-002"])
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )

    # when a clerk tries to decide, then it is refused
    with pytest.raises(PermissionDenied):
        services.suspension_decide(case=case, operator=clerk, outcome="granted")

    # when the administrator grants it for one affair from 2026-02-10
    head = log_head()
    notice = services.suspension_decide(
        case=case,
        operator=administrator,
        outcome="granted",
        affair_codes=["ORD-001"],
        effective_from=dt.date(2026, 2, 10),
        issued_on=dt.date(2026, 2, 9),
    )

    # then the notice names the affair, provision's marker is set for it alone (Q11),
    # and the decision covers it from that day only
    marks = ProvisionSuspension.objects.filter(person_id=person.pk, file="identity")
    assert list(marks.values_list("affair_code", "active", "case_reference")) == [("ORD-001", True, case.reference)]
    text = pdf_text(notice.content)
    assert "本人確認情報利用停止決定通知書" in text and "貸付金に係る債権管理事務" in text and "令和8年2月10日" in text
    in_force = selectors.suspension_in_force
    assert in_force(person_id=person.pk, file="identity", affair_code="ORD-001", on=dt.date(2026, 2, 10))
    assert not in_force(person_id=person.pk, file="identity", affair_code="ORD-001", on=dt.date(2026, 2, 9))
    assert not in_force(person_id=person.pk, file="identity", affair_code="ORD-002", on=dt.date(2026, 2, 10))
    assert log_kinds(head) == [OperationKind.DOCUMENT_ISSUED, OperationKind.SUSPENSION_DECIDED]
    decided = OperationLogEntry.objects.get(kind=OperationKind.SUSPENSION_DECIDED)
    assert decided.operator == administrator and decided.conditions["affairs"] == ["ORD-001"]

    # when it is lifted, then the marker no longer applies from that day
    decision = SuspensionDecision.objects.get(case=case)
    services.suspension_lift(decision=decision, operator=administrator, lifted_on=dt.date(2026, 6, 1))
    assert not in_force(person_id=person.pk, file="identity", affair_code="ORD-001", on=dt.date(2026, 6, 1))
    assert list(marks.values_list("active", flat=True)) == [False]
    assert in_force(person_id=person.pk, file="identity", affair_code="ORD-001", on=dt.date(2026, 5, 31))


def test_suspension_refused_needs_a_reason_and_sets_no_marker(clerk, administrator, desk):
    _affairs()
    person = make_identity_person()
    case = receive(clerk, kind=RequestKind.SUSPENSION, suspension_affair_codes=["ORD-002"])
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    with pytest.raises(services.DisclosureError):
        services.suspension_decide(case=case, operator=administrator, outcome="refused")
    notice = services.suspension_decide(
        case=case, operator=administrator, outcome="refused", reason="法令に基づく利用のため"
    )
    assert "法令に基づく利用のため" in pdf_text(notice.content)
    assert not ProvisionSuspension.objects.exists()
    assert not selectors.suspension_in_force(
        person_id=person.pk, file="identity", affair_code="ORD-002", on=dt.date(2027, 1, 1)
    )
    case.refresh_from_db()
    assert (case.status, case.decision) == (CaseStatus.CLOSED, Decision.REFUSED)


def test_suspension_request_must_name_known_affairs(clerk):
    with pytest.raises(services.DisclosureError):
        receive(clerk, kind=RequestKind.SUSPENSION, suspension_affair_codes=[])
    with pytest.raises(services.DisclosureError):
        receive(clerk, kind=RequestKind.SUSPENSION, suspension_affair_codes=["NO-SUCH"])


def test_suspension_cannot_start_in_the_future(clerk, administrator, desk):
    # provision's marker refuses from the moment it is set, so a later start date is refused
    _affairs()
    person = make_identity_person()
    case = receive(clerk, kind=RequestKind.SUSPENSION, suspension_affair_codes=["ORD-001"])
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    with pytest.raises(services.DisclosureError):
        services.suspension_decide(
            case=case, operator=administrator, outcome="granted", effective_from=dt.date(2099, 1, 1)
        )
    assert not ProvisionSuspension.objects.exists() and not SuspensionDecision.objects.exists()
