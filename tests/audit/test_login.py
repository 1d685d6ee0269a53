import datetime as dt

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import OperationKind, OperationLogEntry
from jukinet import clock
from tests.conftest import CAST_PASSWORD

pytestmark = pytest.mark.django_db


def _kinds(operator):
    return list(OperationLogEntry.objects.filter(operator=operator).order_by("sequence").values_list("kind", flat=True))


def test_password_and_totp_log_in_and_the_login_is_logged(client, clerk, otp_code):
    # when
    response = client.post(reverse("login"), {"username": "clerk", "password": CAST_PASSWORD, "otp": otp_code(clerk)})
    # then
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert _kinds(clerk) == [OperationKind.LOGIN]


def test_password_without_a_valid_totp_is_refused(client, clerk):
    response = client.post(reverse("login"), {"username": "clerk", "password": CAST_PASSWORD, "otp": "000000"})
    assert response.status_code == 200
    assert "ワンタイムパスワード" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    assert _kinds(clerk) == [OperationKind.OTP_FAILED]


def test_session_cookie_is_secure_httponly_and_strict(client, clerk, otp_code):
    response = client.post(reverse("login"), {"username": "clerk", "password": CAST_PASSWORD, "otp": otp_code(clerk)})
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"


def test_login_page_is_never_cached(client):
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]


def test_five_failures_lock_the_account_until_an_administrator_unlocks_it(
    client, clerk, administrator, otp_code, login_with_otp
):
    # given: five wrong passwords
    for _ in range(5):
        client.post(reverse("login"), {"username": "clerk", "password": "wrong", "otp": "123456"})
    clerk.refresh_from_db()
    assert clerk.locked_at is not None
    # when: the right password and code
    response = client.post(reverse("login"), {"username": "clerk", "password": CAST_PASSWORD, "otp": otp_code(clerk)})
    # then: still locked
    assert "ロック" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    assert _kinds(clerk).count(OperationKind.LOGIN_FAILED) == 6
    assert OperationKind.ACCOUNT_LOCKED in _kinds(clerk)
    # and: the administrator unlocks, the clerk logs in with a fresh code
    admin_client = client.__class__()
    login_with_otp(admin_client, administrator)
    admin_client.post(reverse("audit:operator_unlock", args=[clerk.pk]))
    clerk.refresh_from_db()
    assert clerk.locked_at is None and clerk.failed_login_count == 0
    assert OperationLogEntry.objects.filter(kind=OperationKind.ACCOUNT_UNLOCKED, operator=administrator).exists()
    login_with_otp(client, clerk, drift=1)


def test_a_clerk_cannot_unlock_an_account(client, clerk, stranger, login_with_otp):
    stranger.locked_at = clock.now()
    stranger.save()
    login_with_otp(client, clerk)
    response = client.post(reverse("audit:operator_unlock", args=[stranger.pk]))
    stranger.refresh_from_db()
    assert response.status_code == 403 and stranger.locked_at is not None


def test_idle_session_locks_and_resumes_only_with_password_and_a_fresh_otp(
    client, clerk, otp_code, login_with_otp, monkeypatch
):
    # given
    login_with_otp(client, clerk)
    assert client.get(reverse("home")).status_code == 200
    # when: 16 minutes pass without a request
    later = clock.now() + dt.timedelta(minutes=16)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = client.get(reverse("home"))
    # then
    assert response.status_code == 302 and "idle=1" in response["Location"]
    assert client.get(reverse("home")).status_code == 302
    assert OperationKind.IDLE_LOCKED in _kinds(clerk)
    # the code already used does not open the session again; a fresh one does
    reused = client.post(reverse("login"), {"username": "clerk", "password": CAST_PASSWORD, "otp": otp_code(clerk)})
    assert reused.status_code == 200
    # django-otp throttles a device for a second after a failure; a person retries later than that.
    TOTPDevice.objects.get(user=clerk).throttle_reset()
    login_with_otp(client, clerk, drift=1)
    assert client.get(reverse("home")).status_code == 200


def test_fourteen_idle_minutes_do_not_lock(client, clerk, login_with_otp, monkeypatch):
    login_with_otp(client, clerk)
    later = clock.now() + dt.timedelta(minutes=14)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get(reverse("home")).status_code == 200


def test_logout_is_logged(client, clerk, login_with_otp):
    login_with_otp(client, clerk)
    client.post(reverse("logout"))
    assert _kinds(clerk)[-1] == OperationKind.LOGOUT
