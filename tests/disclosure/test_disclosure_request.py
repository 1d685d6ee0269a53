"""本人確認情報の開示 end to end (domain.md §12; scenario 36)."""

from __future__ import annotations

import datetime as dt

import pytest
from pypdf import PdfReader

from audit.models import OperationKind, OperationLogEntry
from disclosure import services
from disclosure.models import CaseStatus, Decision, DocumentKind, FeeTableRow, OutputLedgerEntry, StoredDocument
from prefserver.versions import identity_version_write
from tests.disclosure.conftest import REQUESTER, log_head, log_kinds, make_furyo_person, make_identity_person, receive
from tests.disclosure.pdf_helpers import embedded_fonts, pdf_text
from tests.prefserver.factories import envelope, identity_content

pytestmark = pytest.mark.django_db


def _granted_case(clerk, desk, *, include_history=False):
    person = make_identity_person(birth_date=dt.date(1989, 1, 8), former_surname="佐藤", former_surname_kana="サトウ")
    case = receive(clerk, requester=_requester(dt.date(1989, 1, 8)), include_history=include_history)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED, decided_on=dt.date(2026, 2, 2))
    case.refresh_from_db()
    return case, person


def _requester(birth_date):
    return services.Requester(**{**REQUESTER.__dict__, "birth_date": birth_date})


def test_decision_notice_first_then_payment_then_confirmation_sheet(clerk, desk):
    # given a matched requester born on the first day of 平成, decided as 開示
    case, _ = _granted_case(clerk, desk)
    draft = StoredDocument.objects.get(case=case, kind=DocumentKind.CONFIRMATION_SHEET)
    assert (draft.issued, case.fee_sheets, case.fee_total_yen) == (False, draft.pages, draft.pages * 10)
    assert OutputLedgerEntry.objects.filter(case=case).count() == 0  # the draft is not in the ledger

    # when the decision notice is issued
    head = log_head()
    notice = services.disclosure_decision_notice_issue(case=case, operator=clerk, issued_on=dt.date(2026, 2, 3))

    # then it states the copy cost computed from the draft sheet's page count
    text = pdf_text(notice.content)
    assert "本人確認情報開示決定通知書" in text
    assert f"{case.fee_total_yen}円" in text and "令和8年2月3日" in text
    case.refresh_from_db()
    assert case.status == CaseStatus.NOTIFIED
    assert log_kinds(head) == [OperationKind.DOCUMENT_ISSUED]

    # and the sheet is refused before payment
    with pytest.raises(services.DisclosureError):
        services.disclosure_confirmation_sheet_hand_over(case=case, operator=clerk)

    # when the exact payment is recorded, then the sheet is handed over
    with pytest.raises(services.DisclosureError):
        services.disclosure_payment_record(case=case, operator=clerk, amount_yen=case.fee_total_yen + 10)
    head = log_head()
    services.disclosure_payment_record(case=case, operator=clerk, amount_yen=case.fee_total_yen)
    sheet = services.disclosure_confirmation_sheet_hand_over(case=case, operator=clerk)
    assert log_kinds(head) == [OperationKind.PAYMENT_RECORDED, OperationKind.DOCUMENT_ISSUED]

    # then the sheet holds the 8 items and 和暦 dates; it is the very draft the cost was computed from
    text = pdf_text(sheet.content)
    for label in (
        "本人確認情報確認書",
        "氏名",
        "生年月日",
        "性別",
        "住所",
        "個人番号",
        "住民票コード",
        "異動事由",
        "異動年月日",
    ):
        assert label in text
    assert "平成元年1月8日" in text and "見本太郎" in text and "旧氏" in text and "佐藤" in text
    assert sheet.entry.sha256 == draft.sha256 and sheet.entry.pages == case.fee_sheets
    assert len(PdfReader(__import__("io").BytesIO(sheet.content)).pages) == case.fee_sheets
    assert all(name.split("+")[-1].startswith("IPAex") for name in embedded_fonts(sheet.content))
    # both issued documents, and only they, are in the ledger
    ledger = list(OutputLedgerEntry.objects.filter(case=case).values_list("kind", "operator", "is_reprint"))
    assert ledger == [
        (DocumentKind.DECISION_NOTICE, clerk.pk, False),
        (DocumentKind.CONFIRMATION_SHEET, clerk.pk, False),
    ]
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.closed_at is not None


def test_history_versions_only_when_asked_and_the_fee_follows_the_table(clerk, desk):
    # given a fee table row in force from 2026-02-01 and a person who moved within the city (two versions)
    FeeTableRow.objects.create(effective_from=dt.date(2026, 2, 1), copy_per_sheet_yen=20, handling_fee_yen=300)
    person = make_identity_person()
    identity_version_write(
        person=person,
        content=identity_content(address="山口県山口市見本町二丁目1番1号", individual_number=_number_of(person)),
        envelope=envelope(
            resident_code=person.codes.get().resident_code, change_reason="21", update_sequence=2,
            change_date=dt.date(2024, 5, 1), received_on=dt.date(2024, 5, 2),
        ),
        removed=False,
    )  # fmt: skip
    with_history, without = receive(clerk, include_history=True), receive(clerk)
    for case in (with_history, without):
        services.disclosure_requester_match(
            case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
        )
        services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED, decided_on=dt.date(2026, 2, 2))

    # then the history sheet prints both addresses, the current first; the other only the current one
    sheets = {c.pk: StoredDocument.objects.get(case=c) for c in (with_history, without)}
    history_text = pdf_text(services.document_content(sheets[with_history.pk]))
    current_text = pdf_text(services.document_content(sheets[without.pk]))
    assert history_text.index("見本町二丁目1番1号") < history_text.index("見本町一丁目2番3号")
    assert "見本町二丁目1番1号" in current_text and "見本町一丁目2番3号" not in current_text
    # and the cost uses the fee row in force on the decision date
    with_history.refresh_from_db()
    assert with_history.fee_total_yen == with_history.fee_sheets * 20 + 300
    viewed = OperationLogEntry.objects.filter(kind=OperationKind.IDENTITY_VIEWED).order_by("sequence")
    assert [v.result_count for v in viewed] == [2, 1]
    assert viewed[0].conditions == {"purpose": "disclosure", "include_history": True}


def _number_of(person):
    from prefserver.versions import identity_current_version, individual_number_of

    return individual_number_of(identity_current_version(person))


def test_characters_the_fonts_lack_print_as_geta_and_the_ledger_notes_them(clerk, desk):
    # given a recorded name with a private-use 外字 (as the municipality sent it)
    person = make_identity_person(name="\ue000本 太郎", name_gaiji_count=1)
    gaiji_case = receive(clerk, requester=services.Requester(**{**_requester(dt.date(1980, 4, 1)).__dict__,
                                                              "name": "\ue000本　太郎"}))  # fmt: skip
    services.disclosure_requester_match(
        case=gaiji_case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    services.disclosure_decide(case=gaiji_case, operator=clerk, decision=Decision.GRANTED)
    services.disclosure_decision_notice_issue(case=gaiji_case, operator=clerk)
    gaiji_case.refresh_from_db()
    services.disclosure_payment_record(case=gaiji_case, operator=clerk, amount_yen=gaiji_case.fee_total_yen)

    # when the sheet is handed over
    sheet = services.disclosure_confirmation_sheet_hand_over(case=gaiji_case, operator=clerk)

    # then the character prints as 〓 and both ledger rows note the substitution
    assert "〓本太郎" in pdf_text(sheet.content)
    notes = list(OutputLedgerEntry.objects.filter(case=gaiji_case).values_list("kind", "substitution_note"))
    assert notes == [
        (DocumentKind.DECISION_NOTICE, "〓 1字: U+E000"),  # the addressee, as written on the form
        (DocumentKind.CONFIRMATION_SHEET, "〓 2字: U+E000, U+E000"),  # addressee and recorded name
    ]


def test_not_exists_variant_when_no_candidate_matches(clerk, desk):
    # given no person with the requester's name, birth date and sex
    case = receive(clerk)
    head = log_head()

    # when staff record that nobody matches and decide 不存在
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=None, address_confirmed=False
    )
    with pytest.raises(services.DisclosureError):
        services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.NOT_EXISTS, reason="該当する記録がないため")
    notice = services.disclosure_decision_notice_issue(case=case, operator=clerk)

    # then the 不存在 notice closes the case without any fee
    text = pdf_text(notice.content)
    assert "本人確認情報不存在決定通知書" in text and "該当する記録がないため" in text
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.fee_total_yen is None
    assert log_kinds(head) == [
        OperationKind.IDENTITY_SEARCHED,
        OperationKind.DISCLOSURE_MATCHED,
        OperationKind.DISCLOSURE_DECIDED,
        OperationKind.DOCUMENT_ISSUED,
    ]
    matched = OperationLogEntry.objects.get(kind=OperationKind.DISCLOSURE_MATCHED)
    assert matched.outcome == "not_found" and matched.conditions["candidates"] == []


def test_furyo_disclosure_prints_no_individual_number(clerk, desk):
    # given a 附票 person
    person = make_furyo_person()
    case = receive(clerk, file="furyo")
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )

    # when decided, the draft is the 附票 sheet
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)
    services.disclosure_decision_notice_issue(case=case, operator=clerk)
    case.refresh_from_db()
    services.disclosure_payment_record(case=case, operator=clerk, amount_yen=case.fee_total_yen)
    sheet = services.disclosure_confirmation_sheet_hand_over(case=case, operator=clerk)

    # then
    text = pdf_text(sheet.content)
    assert "附票本人確認情報確認書" in text and "見本太郎" in text
    assert "個人番号" not in text
    assert OperationLogEntry.objects.filter(kind=OperationKind.FURYO_VIEWED).count() == 1


def test_contractor_cannot_receive_requests(contractor):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        receive(contractor)


def test_no_application_log_line_holds_personal_data(clerk, desk, caplog):
    # given a full disclosure run with every logger at DEBUG (scenario 40, for this app)
    caplog.set_level("DEBUG")
    caplog.set_level("DEBUG", logger="weasyprint.progress")  # the print layer quiets it; open it here
    case, person = _granted_case(clerk, desk)
    services.disclosure_decision_notice_issue(case=case, operator=clerk)
    case.refresh_from_db()
    services.disclosure_payment_record(case=case, operator=clerk, amount_yen=case.fee_total_yen)
    services.disclosure_confirmation_sheet_hand_over(case=case, operator=clerk)

    # then no line names the person, their address, resident code or number
    from prefserver.versions import identity_current_version, individual_number_of

    version = identity_current_version(person)
    secrets = ["見本", "ミホン", "見本町", version.resident_code, individual_number_of(version), "1989-01-08"]
    lines = [record.getMessage() for record in caplog.records]
    assert any("Step" in line for line in lines)  # WeasyPrint's own lines were captured
    assert not [line for line in lines if any(secret in line for secret in secrets)]
