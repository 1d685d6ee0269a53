"""Each role's boundaries on screens and in the API (domain.md §10, §17 scenarios 31, 33)."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import ApiToken, OperationKind, OperationLogEntry
from jukinet import clock
from tests.conftest import CAST_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.audit.urls_personal")]


# --- Screens ------------------------------------------------------------------------------------------------


def test_clerk_with_terminal_and_todays_approval_opens_personal_data_uncached(
    client, clerk, terminal, approve_usage, login_with_otp
):
    approval = approve_usage(clerk, terminal)
    login_with_otp(client, clerk, terminal)
    response = client.get("/test/personal/")
    assert response.status_code == 200 and response.content.decode() == f"approval {approval.pk}"
    assert "no-store" in response["Cache-Control"]


def test_clerk_without_usage_approval_is_refused_with_q10(client, clerk, terminal, login_with_otp):
    login_with_otp(client, clerk, terminal)
    response = client.get("/test/personal/")
    assert response.status_code == 403 and "Q10" in response.content.decode()


def test_clerk_on_an_unregistered_terminal_is_refused_with_q09(client, clerk, terminal, approve_usage, login_with_otp):
    approve_usage(clerk, terminal)
    login_with_otp(client, clerk)
    response = client.get("/test/personal/")
    assert response.status_code == 403 and "Q09" in response.content.decode()


def test_browser_enrolled_with_the_signed_cookie_counts_as_the_terminal(
    client, clerk, terminal, approve_usage, login_with_otp
):
    # given: a browser that never sends the header
    approve_usage(clerk, terminal)
    login_with_otp(client, clerk)
    # when
    client.post(reverse("audit:terminal_enrol"), {"key": terminal.key})
    # then
    assert client.get("/test/personal/").status_code == 200
    assert OperationLogEntry.objects.filter(kind=OperationKind.TERMINAL_ENROLLED, operator=clerk).exists()


@pytest.mark.parametrize("member", ["contractor", "stranger", "auditor", "security_officer"])
def test_roles_without_search_rights_never_open_personal_data(member, request, terminal, approve_usage, login_with_otp):
    operator = request.getfixturevalue(member)
    approve_usage(operator, terminal)
    client = Client()
    login_with_otp(client, operator, terminal)
    response = client.get("/test/personal/")
    assert response.status_code == 403 and "approval" not in response.content.decode()


def test_contractor_is_refused_even_when_also_given_the_clerk_role(
    client, contractor, terminal, approve_usage, login_with_otp
):
    contractor.roles = ["contractor", "clerk"]
    contractor.save()
    approve_usage(contractor, terminal)
    login_with_otp(client, contractor, terminal)
    assert client.get("/test/personal/").status_code == 403


def test_without_login_the_screen_redirects_to_login(client, terminal):
    response = client.get("/test/personal/", **terminal.headers)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    entry = OperationLogEntry.objects.get(kind=OperationKind.UNAUTHENTICATED_SCREEN_ACCESS)
    assert entry.conditions["path"] == "/test/personal/" and entry.terminal == terminal.terminal


@pytest.mark.parametrize("member", ["clerk", "contractor", "stranger", "body_operator"])
def test_only_auditors_open_the_log_pages(member, request, terminal, login_with_otp):
    operator = request.getfixturevalue(member)
    client = Client()
    login_with_otp(client, operator, terminal)
    response = client.get(reverse("audit:log_search"))
    assert response.status_code == 403
    assert not OperationLogEntry.objects.filter(kind=OperationKind.LOG_SEARCHED).exists()


def test_auditor_opens_the_log_only_on_a_representative_terminal(client, auditor, business_terminal, login_with_otp):
    business_terminal.terminal.capabilities = ["search", "log_audit"]
    business_terminal.terminal.save()
    login_with_otp(client, auditor, business_terminal)
    assert client.get(reverse("audit:log_search")).status_code == 403


def test_auditor_on_the_representative_terminal_opens_the_log(client, auditor, terminal, login_with_otp):
    login_with_otp(client, auditor, terminal)
    response = client.get(reverse("audit:log_search"))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]


# --- API ---------------------------------------------------------------------------------------------------


def _token(api, operator, registered, otp_code, drift=0):
    response = api.post(
        "/api/v1/auth/token",
        {"username": operator.username, "password": CAST_PASSWORD, "otp": otp_code(operator, drift)},
        format="json",
        **registered.headers,
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_token_needs_the_otp_and_a_registered_terminal(clerk, terminal, otp_code):
    api = APIClient()
    no_otp = api.post(
        "/api/v1/auth/token",
        {"username": "clerk", "password": CAST_PASSWORD, "otp": "1"},
        format="json",
        **terminal.headers,
    )
    unknown_terminal = api.post(
        "/api/v1/auth/token",
        {"username": "clerk", "password": CAST_PASSWORD, "otp": otp_code(clerk)},
        format="json",
        HTTP_X_TERMINAL_KEY="not-a-terminal",
    )
    assert no_otp.status_code == 401 and unknown_terminal.status_code == 401
    assert not ApiToken.objects.exists()
    assert OperationLogEntry.objects.filter(kind=OperationKind.UNAUTHENTICATED_API_CALL).count() == 1


def test_token_is_stored_hashed_and_expires_at_midnight(clerk, terminal, otp_code, approve_usage):
    approve_usage(clerk, terminal)
    body = _token(APIClient(), clerk, terminal, otp_code)
    stored = ApiToken.objects.get()
    assert body["token"] not in stored.key_hash and len(stored.key_hash) == 64
    assert stored.expires_at == clock.end_of_day(clock.today())


def test_clerk_token_reads_personal_data_with_todays_approval(clerk, terminal, otp_code, approve_usage):
    approval = approve_usage(clerk, terminal)
    api = APIClient()
    token = _token(api, clerk, terminal, otp_code)["token"]
    response = api.post("/test/api/personal", {}, HTTP_AUTHORIZATION=f"Bearer {token}", **terminal.headers)
    assert response.status_code == 200 and response.json()["usage_approval"] == approval.pk


def test_clerk_token_without_approval_gets_q10(clerk, terminal, otp_code):
    api = APIClient()
    token = _token(api, clerk, terminal, otp_code)["token"]
    response = api.post("/test/api/personal", {}, HTTP_AUTHORIZATION=f"Bearer {token}", **terminal.headers)
    assert response.status_code == 403 and response.json()["code"] == "Q10"


def test_token_from_another_terminal_gets_401_and_a_log_entry(clerk, terminal, business_terminal, otp_code):
    api = APIClient()
    token = _token(api, clerk, terminal, otp_code)["token"]
    response = api.post("/test/api/personal", {}, HTTP_AUTHORIZATION=f"Bearer {token}", **business_terminal.headers)
    assert response.status_code == 401
    assert OperationLogEntry.objects.filter(kind=OperationKind.UNAUTHENTICATED_API_CALL).exists()


def test_request_without_token_gets_401_and_a_log_entry(terminal):
    response = APIClient().post("/test/api/personal", {}, **terminal.headers)
    assert response.status_code == 401
    entry = OperationLogEntry.objects.get(kind=OperationKind.UNAUTHENTICATED_API_CALL)
    assert entry.conditions["path"] == "/test/api/personal" and entry.terminal == terminal.terminal


def test_token_idle_for_sixteen_minutes_gets_401(clerk, terminal, otp_code, approve_usage, monkeypatch):
    approve_usage(clerk, terminal)
    api = APIClient()
    token = _token(api, clerk, terminal, otp_code)["token"]
    later = clock.now() + dt.timedelta(minutes=16)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = api.post("/test/api/personal", {}, HTTP_AUTHORIZATION=f"Bearer {token}", **terminal.headers)
    assert response.status_code == 401


@pytest.mark.parametrize("member", ["contractor", "stranger", "auditor"])
def test_roles_without_search_rights_are_refused_in_the_api(member, request, terminal, otp_code, approve_usage):
    operator = request.getfixturevalue(member)
    approve_usage(operator, terminal)
    api = APIClient()
    token = _token(api, operator, terminal, otp_code)["token"]
    response = api.post("/test/api/personal", {}, HTTP_AUTHORIZATION=f"Bearer {token}", **terminal.headers)
    assert response.status_code == 403 and "released" not in response.content.decode()


@pytest.mark.parametrize("member", ["contractor", "clerk", "stranger"])
def test_only_auditors_search_the_log_in_the_api(member, request, terminal, otp_code):
    operator = request.getfixturevalue(member)
    api = APIClient()
    token = _token(api, operator, terminal, otp_code)["token"]
    response = api.post("/api/v1/audit/log/search", {}, HTTP_AUTHORIZATION=f"Bearer {token}", **terminal.headers)
    assert response.status_code == 403
    assert not OperationLogEntry.objects.filter(kind=OperationKind.LOG_SEARCHED).exists()


def test_auditor_searches_the_log_in_the_api_and_the_search_is_logged(auditor, terminal, otp_code):
    api = APIClient()
    token = _token(api, auditor, terminal, otp_code)["token"]
    response = api.post(
        "/api/v1/audit/log/search",
        {"kind": OperationKind.LOGIN},
        HTTP_AUTHORIZATION=f"Bearer {token}",
        format="json",
        **terminal.headers,
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert [r["kind"] for r in response.json()["results"]] == [OperationKind.LOGIN]
    assert OperationLogEntry.objects.filter(kind=OperationKind.LOG_SEARCHED, operator=auditor).count() == 1


def test_register_terminal_command_prints_a_key_that_identifies_the_terminal(section_office, capsys):
    from django.core.management import call_command

    from audit.access import credential_hash
    from audit.models import Terminal

    call_command("register_terminal", "窓口端末", "--kind", "business", "--office", "S01", "--capability", "search")
    key = capsys.readouterr().out.strip().rsplit("key: ", 1)[1]
    terminal = Terminal.objects.get(name="窓口端末")
    assert terminal.capabilities == ["search"] and key not in terminal.credential_hash
    assert credential_hash(key) == terminal.credential_hash
    assert OperationLogEntry.objects.filter(kind=OperationKind.TERMINAL_REGISTERED).exists()


def test_unauthenticated_call_with_a_number_in_the_path_is_logged_without_it(rf):
    from audit.authentication import unauthenticated_call_record

    unauthenticated_call_record(request=rf.get("/api/v1/identity/123456789018/x"))
    entry = OperationLogEntry.objects.get(kind=OperationKind.UNAUTHENTICATED_API_CALL)
    assert entry.conditions["path"] == "/api/v1/identity/*/x"


def test_api_above_the_operator_rate_gets_429_and_a_log_entry(clerk, terminal, otp_code, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_THROTTLE_RATE = "2/m"
    api = APIClient()
    token = _token(api, clerk, terminal, otp_code)["token"]
    statuses = [
        api.post("/test/api/throttled", {}, HTTP_AUTHORIZATION=f"Bearer {token}", **terminal.headers).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert OperationLogEntry.objects.get(kind=OperationKind.API_THROTTLED).operator == clerk
