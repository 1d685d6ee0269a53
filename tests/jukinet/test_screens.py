import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_page_is_japanese_and_labelled(client):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in body
    assert "山口県" in body
    assert 'for="id_username"' in body and 'for="id_password"' in body


def test_landing_page_needs_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_health_check_has_no_personal_data(client):
    response = client.get(reverse("healthz"))
    assert response.json() == {"status": "ok"}
