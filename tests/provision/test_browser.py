"""Headless Chromium (Debian package) through Playwright: log in with TOTP, search, open a record."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Operator
from provision.catalogue import affair_catalogue_load
from tests.provision.conftest import make_terminal, person

PASSWORD = "browser-password-2026"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
]  # fmt: skip


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_clerk_logs_in_searches_and_opens_a_masked_record(live_server, section, monkeypatch):
    # given: the catalogue, a clerk with TOTP, a registered terminal with today's usage approval, one resident
    from playwright.sync_api import sync_playwright

    affair_catalogue_load()
    clerk = Operator.objects.create_user(
        username="clerk-browser", password=PASSWORD, roles=["clerk"], office=section, display_name="担当 花子"
    )
    device = TOTPDevice.objects.create(user=clerk, name="default", confirmed=True)
    make_terminal("市町課-ブラウザ", section, "browser-terminal-key")
    _, code, _ = person(individual_number="123456783214")
    otp = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the live server thread does the DB work
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(extra_http_headers={"X-Terminal-Key": "browser-terminal-key"})
        page = context.new_page()
        # when: log in with password and TOTP
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "clerk-browser")
        page.fill("#id_password", PASSWORD)
        page.fill("#id_otp", otp)
        page.click("button[type=submit]")
        # and: search by resident code under an internal affair
        page.goto(f"{live_server.url}/search/")
        page.select_option("#id_file", "identity")
        page.select_option("#id_affair", "INT-001")
        page.fill("#id_resident_code", code)
        page.click("form.search-form button[type=submit]")
        # then: one row; opening it shows the masked number
        assert "見本 太郎" in page.inner_text("table.results")
        page.click("text=詳細")
        assert page.inner_text("#individual-number") == "********3214"
        browser.close()
