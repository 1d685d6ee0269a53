"""Staff intake screens: login required, counts per municipality, push backlog, notice detail without personal data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from prefserver.models import Notice, PushOutbox
from tests.prefserver.intake_helpers import NUMBER, YAMAGUCHI, identity_payload, notice, receive, send_and_process

pytestmark = pytest.mark.django_db

CODE = "59130274611"


@pytest.fixture
def clerk_client(clerk: Any, login_with_otp: Any) -> Client:
    client = Client()
    login_with_otp(client, clerk)
    return client


def _scenario() -> dict[str, Any]:
    applied = notice("11", 1, resident_code=CODE)
    rejected = notice("11", 1, resident_code="12345678904")  # E004
    held = notice("21", 3, resident_code=CODE, payload=identity_payload(address="山口県下関市見本町九丁目1番"))
    send_and_process(applied, rejected, held)
    receive(applied)  # a duplicate receipt
    return {"applied": applied, "rejected": rejected, "held": held}


def test_screens_need_login(client: Client) -> None:
    for url in (reverse("intake-overview"), reverse("intake-municipality", args=[YAMAGUCHI])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_contractor_is_refused(contractor: Any, login_with_otp: Any) -> None:
    # given
    client = Client()
    login_with_otp(client, contractor)
    # when
    response = client.get(reverse("intake-overview"))
    # then
    assert response.status_code == 403


def test_overview_counts_results_per_municipality_and_the_push_backlog(clerk_client: Client) -> None:
    # given
    _scenario()
    # when
    response = clerk_client.get(reverse("intake-overview"))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    row = body[body.index(f">{YAMAGUCHI}</a>") :].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    # name, received, pending, applied, rejected, breakdown, held, duplicates
    assert cells[1:8] == ["3", "0", "1", "1", "E004: 1", "1", "1"]
    assert "全国サーバへの送信状況" in body and PushOutbox.objects.filter(status="pending").count() == 1
    assert CODE not in body and NUMBER not in body


def test_notice_detail_shows_result_and_push_without_personal_data(clerk_client: Client) -> None:
    # given
    sent = _scenario()
    stored = Notice.objects.get(notice_id=sent["applied"]["notice_id"])
    rejected = Notice.objects.get(notice_id=sent["rejected"]["notice_id"])
    # when
    body = clerk_client.get(reverse("intake-notice", args=[stored.pk])).content.decode()
    rejected_body = clerk_client.get(reverse("intake-notice", args=[rejected.pk])).content.decode()
    listing = clerk_client.get(reverse("intake-municipality", args=[YAMAGUCHI]), {"status": "held"}).content.decode()
    # then
    assert "反映済み" in body and "未送信" in body
    assert "E004" in rejected_body and "住民票コードが正しくありません" in rejected_body
    assert sent["held"]["notice_id"] in listing and sent["applied"]["notice_id"] not in listing
    for page in (body, rejected_body, listing):
        assert CODE not in page and NUMBER not in page and "見本" not in page
