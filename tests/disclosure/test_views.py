"""Staff screens for citizens' requests: roles, no-store, intake form, candidates, PDFs only from POSTs."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from audit.models import OperationKind, OperationLogEntry
from disclosure import services
from disclosure.models import CaseStatus, DisclosureCase, OutputLedgerEntry
from tests.disclosure.conftest import make_identity_person, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, clerk, terminal, login_with_otp, desk):
    """The clerk, logged in with password + TOTP on a registered terminal, with today's usage approval."""
    login_with_otp(client, clerk, terminal)
    return client


def test_contractor_anonymous_and_unapproved_are_refused(client, contractor, clerk, terminal, login_with_otp):
    url = reverse("disclosure:case_list")
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(clerk)  # a session without the OTP step is not verified
    assert client.get(url).status_code == 302
    client.logout()
    login_with_otp(client, clerk, terminal)
    refused = client.get(url)  # no usage approval today
    assert refused.status_code == 403 and "Q10" in refused.content.decode() and "no-store" in refused["Cache-Control"]
    client.logout()
    login_with_otp(client, contractor, terminal)
    assert client.get(url).status_code == 403
    assert client.get(reverse("disclosure:case_new")).status_code == 403


def test_unregistered_terminal_is_refused(client, clerk, terminal, login_with_otp, approve_usage):
    login_with_otp(client, clerk)  # no terminal key
    approve_usage(clerk, terminal)
    response = client.get(reverse("disclosure:case_list"))
    assert response.status_code == 403 and "Q09" in response.content.decode()


def test_intake_form_has_no_individual_number_field_and_creates_a_case(staff_client):
    client = staff_client
    page = client.get(reverse("disclosure:case_new"))
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert "個人番号は記入・入力しません" in html
    assert not re.search(r'name="[^"]*(individual|number|my_?number)[^"]*"', html)

    response = client.post(
        reverse("disclosure:case_new"),
        {
            "kind": "disclosure_request", "file": "identity", "window_index": "0", "received_on": "2026-01-31",
            "form_version": "様式第1号", "requester_name": " 見本　太郎", "requester_kana": "ミホン　タロウ",
            "requester_birth_date": "1980-04-01", "requester_sex": "1", "requester_address": "山口市見本町１丁目",
            "verification_method": "counter", "verification_document": "運転免許証", "verification_on": "2026-01-31",
        },
    )  # fmt: skip
    case = DisclosureCase.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("disclosure:case_detail", args=[case.pk])
    assert case.requester_name == " 見本　太郎"  # as written: never stripped or normalized
    assert case.due_on == dt.date(2026, 3, 2)


def test_case_page_shows_candidates_through_a_logged_search(staff_client, clerk, terminal):
    client = staff_client
    make_identity_person()
    make_identity_person(address="山口県宇部市見本町五丁目1番1号")
    case = receive(clerk)

    page = client.get(reverse("disclosure:case_detail", args=[case.pk]))

    html = page.content.decode()
    assert "山口県宇部市見本町五丁目1番1号" in html and html.count('name="person_id"') == 3  # 2 + 該当者なし
    assert "no-store" in page["Cache-Control"]
    search = OperationLogEntry.objects.filter(kind=OperationKind.IDENTITY_SEARCHED).get()
    assert (search.operator, search.terminal, search.result_count) == (clerk, terminal.terminal, 2)


def test_issuing_returns_the_pdf_with_no_store_and_writes_the_ledger(staff_client, clerk):
    # given a matched and decided case
    client = staff_client
    person = make_identity_person()
    case = receive(clerk)
    client.post(reverse("disclosure:case_match", args=[case.pk]), {"person_id": person.pk, "address_confirmed": "on"})
    client.post(reverse("disclosure:case_decide", args=[case.pk]), {"decision": "granted"})
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    detail = reverse("disclosure:case_detail", args=[case.pk])
    assert "決定通知書を発行する" in client.get(detail).content.decode()

    # when the sheet is asked for too early, then a message, no PDF
    early = client.post(reverse("disclosure:case_confirmation_sheet", args=[case.pk]))
    assert early.status_code == 302 and OutputLedgerEntry.objects.count() == 0

    # when the decision notice is issued
    response = client.post(reverse("disclosure:case_decision_notice", args=[case.pk]))

    # then
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    assert OutputLedgerEntry.objects.get().case_id == case.pk

    # and after payment the sheet, then a reprint of it
    case.refresh_from_db()
    assert f"{case.fee_total_yen}円" in client.get(detail).content.decode()  # the payment form states the cost
    client.post(
        reverse("disclosure:case_payment", args=[case.pk]), {"amount_yen": case.fee_total_yen, "paid_on": "2026-02-03"}
    )
    assert "本人確認情報確認書を交付する" in client.get(detail).content.decode()
    sheet = client.post(reverse("disclosure:case_confirmation_sheet", args=[case.pk]))
    assert "再出力" in client.get(detail).content.decode()
    entry = OutputLedgerEntry.objects.latest("pk")
    again = client.post(reverse("disclosure:ledger_reprint", args=[entry.pk]), {"reason": "紛失"})
    assert again.content == sheet.content and OutputLedgerEntry.objects.count() == 3
    assert client.get(reverse("disclosure:ledger")).status_code == 200


def test_suspension_decision_screen_is_for_administrators(staff_client, clerk, desk):
    case = receive(clerk)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=None, address_confirmed=False
    )
    response = staff_client.post(reverse("disclosure:case_suspension_decide", args=[case.pk]), {"outcome": "granted"})
    assert response.status_code == 403


def test_overdue_cases_are_listed_first(staff_client, clerk):
    receive(clerk, received_on=dt.date(2026, 1, 5))
    html = staff_client.get(reverse("disclosure:case_list")).content.decode()
    assert html.index("処理期限を過ぎた案件（1件）") < html.index("処理中の案件")
    assert "期限超過" in html


def test_administrator_decides_a_suspension_on_screen(
    client, clerk, administrator, terminal, login_with_otp, approve_usage, desk
):
    # given a matched suspension request
    from audit.models import Affair

    Affair.objects.create(
        code="ORD-001", name="貸付金に係る債権管理事務", category="ordinance", release_kind="provision",
        effective_from=dt.date(2020, 4, 1),
    )  # fmt: skip
    person = make_identity_person()
    case = receive(clerk, kind="suspension_request", suspension_affair_codes=["ORD-001"])
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    login_with_otp(client, administrator, terminal)
    approve_usage(administrator, terminal)

    # when the administrator opens the case and grants the suspension
    page = client.get(reverse("disclosure:case_detail", args=[case.pk]))
    response = client.post(
        reverse("disclosure:case_suspension_decide", args=[case.pk]),
        {"outcome": "granted", "affair_codes": ["ORD-001"]},
    )

    # then
    assert page.status_code == 200 and "利用停止の決定（管理者）" in page.content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert OperationLogEntry.objects.filter(kind=OperationKind.SUSPENSION_DECIDED, operator=administrator).exists()


def test_overdue_count_tops_the_clerks_home_page(staff_client, clerk):
    receive(clerk, received_on=dt.date(2026, 1, 5))
    receive(clerk, received_on=dt.date(2026, 1, 6))
    html = staff_client.get(reverse("home")).content.decode()
    assert html.index("処理期限を過ぎた開示請求等が2件あります。") < html.index("ようこそ")


FORM = {
    "file": "identity", "window_index": "0", "received_on": "2026-02-02", "form_version": "様式第3号",
    "requester_name": "見本　太郎", "requester_kana": "ミホン　タロウ", "requester_birth_date": "1980-04-01",
    "requester_sex": "1", "requester_address": "山口市見本町１丁目", "verification_method": "post",
    "verification_document": "旅券の写し", "verification_on": "2026-02-02",
}  # fmt: skip


def test_correction_request_on_screen_from_intake_to_result_notice(staff_client, clerk):
    # given a person and a correction request entered on the intake form
    client = staff_client
    person = make_identity_person()
    client.post(
        reverse("disclosure:case_new"),
        {**FORM, "kind": "correction_request", "correction_kind": "correction", "correction_item": "住所",
         "correction_requested": "山口県山口市見本町一丁目2番4号"},
    )  # fmt: skip
    case = DisclosureCase.objects.get()
    assert case.correction_points == [{"item": "住所", "requested": "山口県山口市見本町一丁目2番4号"}]

    # when matched, referred, linked to the municipality's notice and closed
    client.post(reverse("disclosure:case_match", args=[case.pk]), {"person_id": person.pk, "address_confirmed": "on"})
    referral = client.post(
        reverse("disclosure:case_refer", args=[case.pk]), {"method": "document", "referral_on": "2026-02-03"}
    )
    client.post(
        reverse("disclosure:case_link_notice", args=[case.pk]), {"update_notice_id": "81", "corrected_on": "2026-02-20"}
    )
    page = client.get(reverse("disclosure:case_detail", args=[case.pk])).content.decode()
    result = client.post(
        reverse("disclosure:case_correction_close", args=[case.pk]), {"outcome": "corrected", "finding": "訂正済み"}
    )

    # then both documents came back as PDFs and the case is closed with the notice linked
    assert referral["Content-Type"] == result["Content-Type"] == "application/pdf"
    assert "通知ID 81" in page
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.investigation.update_notice_id == 81
    assert list(OutputLedgerEntry.objects.filter(case=case).values_list("kind", flat=True)) == [
        "municipality_referral", "correction_result"]  # fmt: skip


def test_suspension_request_form_takes_affair_codes(staff_client):
    from audit.models import Affair

    assert Affair.objects.filter(code__in=["S6-EDU-01", "S6-EDU-02"]).count() >= 2  # the catalogue (desk)
    staff_client.post(
        reverse("disclosure:case_new"),
        {**FORM, "kind": "suspension_request", "suspension_affair_codes": "S6-EDU-01、S6-EDU-02"},
    )
    assert DisclosureCase.objects.get().suspension_affair_codes == ["S6-EDU-01", "S6-EDU-02"]
