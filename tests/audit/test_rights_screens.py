"""The access-right and usage-approval screens (Japanese), driven through the test client."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AccessRightApplication, AccessRightLedgerEntry, Operator, UsageApproval
from jukinet import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(administrator, login_with_otp):
    client = Client()
    login_with_otp(client, administrator)
    return client


def test_application_training_and_approval_through_the_screens(
    admin_client, security_officer, section_office, login_with_otp
):
    # given: the security officer applies and records the training
    newcomer = Operator.objects.create_user(username="newcomer", office=section_office)
    officer_client = Client()
    login_with_otp(officer_client, security_officer)
    officer_client.post(
        reverse("audit:rights_apply"), {"operator": newcomer.pk, "office": section_office.pk, "role": "clerk"}
    )
    application = AccessRightApplication.objects.get()
    # when: approval is tried before the training, then after it
    before = admin_client.post(reverse("audit:rights_approve", args=[application.pk]), follow=True)
    officer_client.post(
        reverse("audit:training_record"),
        {"operator": newcomer.pk, "course": "初任者研修", "completed_on": clock.today().isoformat()},
    )
    after = admin_client.post(reverse("audit:rights_approve", args=[application.pk]), follow=True)
    # then
    assert "研修の受講記録がない" in before.content.decode()
    assert "管理簿に記録しました" in after.content.decode()
    assert AccessRightLedgerEntry.objects.get().operator == newcomer
    ledger = admin_client.get(reverse("audit:ledger"), {"office": section_office.pk}).content.decode()
    assert "アクセス権限管理簿（総合企画部市町課）" in ledger and "付与" in ledger
    assert "県全体" in admin_client.get(reverse("audit:ledger")).content.decode()


def test_clerk_cannot_open_the_rights_screens(clerk, login_with_otp):
    client = Client()
    login_with_otp(client, clerk)
    assert client.get(reverse("audit:rights")).status_code == 403
    assert client.get(reverse("audit:ledger")).status_code == 403


def test_reconciliation_page_lists_accounts_missing_from_the_ledger(admin_client, clerk):
    body = admin_client.get(reverse("audit:reconciliation")).content.decode()
    assert "権限があるが管理簿にない操作者" in body and clerk.username in body


def test_usage_request_and_approval_through_the_screens(clerk, security_officer, terminal, login_with_otp):
    clerk_client, officer_client = Client(), Client()
    login_with_otp(clerk_client, clerk)
    login_with_otp(officer_client, security_officer)
    clerk_client.post(reverse("audit:usage_request"), {"terminal": terminal.terminal.pk, "purpose": "照会業務"})
    approval = UsageApproval.objects.get()
    assert "担当 花子" in officer_client.get(reverse("audit:usage_pending")).content.decode()
    unchecked = officer_client.post(reverse("audit:usage_approve", args=[approval.pk]), {}, follow=True)
    assert "持込み物の確認が必要" in unchecked.content.decode()
    officer_client.post(reverse("audit:usage_approve", args=[approval.pk]), {"devices_checked": "on"})
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.valid_until == clock.end_of_day(clock.today())


def test_administrator_revokes_a_right_on_the_screen_and_sees_due_changes(admin_client, clerk):
    from audit.models import PersonnelChange

    PersonnelChange.objects.create(
        employee_id=clerk.employee_id, effective_date=clock.today(), kind="retirement", imported_at=clock.now()
    )
    assert "退職" in admin_client.get(reverse("audit:rights")).content.decode()
    admin_client.post(reverse("audit:rights_revoke"), {"operator": clerk.pk, "role": "clerk", "reason": "退職"})
    clerk.refresh_from_db()
    assert clerk.roles == []
    assert AccessRightLedgerEntry.objects.get(operator=clerk).action == "revoke"
