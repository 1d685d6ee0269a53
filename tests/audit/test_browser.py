"""End to end in headless Chromium (Debian's package, never a downloaded build): TOTP login, then a log search."""

import pytest
from django.db import transaction

from audit.models import OperationKind, OperationLogEntry
from audit.services import operation_log_record
from tests.conftest import CAST_PASSWORD

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.mark.browser
def test_auditor_logs_in_with_totp_enrols_the_terminal_and_searches_the_log(
    live_server, auditor, clerk, terminal, otp_code
):
    from playwright.sync_api import sync_playwright

    # given: one entry by the clerk; everything the browser needs is computed before it starts
    with transaction.atomic():
        operation_log_record(actor=clerk, kind=OperationKind.IDENTITY_VIEWED)
    code = otp_code(auditor)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(locale="ja-JP")
        # when: the log page sends us to the login, where password and TOTP are needed
        page.goto(f"{live_server.url}/audit/log/")
        page.get_by_label("操作者ID").fill(auditor.username)
        page.get_by_label("パスワード", exact=True).fill(CAST_PASSWORD)
        page.get_by_label("ワンタイムパスワード").fill(code)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_load_state()
        refused_before_enrolment = page.get_by_role("heading", name="権限がありません").is_visible()
        # this browser becomes the representative terminal
        page.goto(f"{live_server.url}/terminal/enrol/")
        page.locator("#id_key").fill(terminal.key)
        page.get_by_role("button", name="登録する").click()
        page.goto(f"{live_server.url}/audit/log/")
        page.locator("#id_operator").select_option(label=str(clerk))
        page.get_by_role("button", name="検索", exact=True).click()
        page.wait_for_selector("#log-results")
        rows = page.locator("#log-results tbody tr").all_inner_texts()
        cache_control = page.context.request.get(f"{live_server.url}/audit/log/").headers.get("cache-control", "")
        browser.close()
    # then
    assert refused_before_enrolment
    assert len(rows) == 1 and "本人確認情報の照会" in rows[0]
    assert "no-store" in cache_control
    search = OperationLogEntry.objects.filter(kind=OperationKind.LOG_SEARCHED, operator=auditor).get()
    assert search.result_count == 1 and search.terminal_id == terminal.terminal.pk
    assert OperationLogEntry.objects.filter(kind=OperationKind.LOGIN, operator=auditor).exists()
