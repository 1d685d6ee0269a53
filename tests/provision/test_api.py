"""The recipient REST API (domain.md §9.6; scenarios 20, 23, 25, 31, 50, 51)."""

from __future__ import annotations

import pytest

from audit.models import OperationKind, OperationLogEntry
from jukinet.crypto import blind_index_hex
from provision.models import ProvisionRecord
from tests.provision.conftest import person, verified_client

pytestmark = pytest.mark.django_db

IDENTITY = "/api/v1/identity/lookup"
FURYO = "/api/v1/furyo/lookup"
FOUR = {"name": "見本 太郎", "birth_date": "1980-04-01", "sex": 1, "address": "山口県山口市見本町一丁目2番3号"}


def post(client, url, affair, conditions, **extra):
    return client.post(url, {"affair": affair, "conditions": conditions, **extra}, format="json")


def test_released_answer_carries_record_and_provision_record(body_operator, body_terminal):
    # given
    someone, code, _ = person()
    client = verified_client(body_operator, "edu-terminal-key")
    # when
    response = post(client, IDENTITY, "S6-EDU-01", {"resident_code": code}, document_reference="教委第12号")
    # then
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["result"] == "released" and body["record"]["resident_code"] == code
    stored = ProvisionRecord.objects.get(pk=body["provision_record"])
    assert stored.document_reference == "教委第12号" and stored.terminal == body_terminal
    assert stored.subjects == [someone.pk] and stored.channel == "api"


def test_affair_of_another_body_is_403_q02_with_refused_record(police_operator, body_terminal):
    # given (scenario 23)
    _, code, _ = person()
    client = verified_client(police_operator, "edu-terminal-key")
    # when
    response = post(client, IDENTITY, "S6-EDU-01", {"resident_code": code})
    # then
    assert response.status_code == 403
    body = response.json()
    assert body["result"] == "refused" and body["code"] == "Q02" and body["message"]
    stored = ProvisionRecord.objects.get(pk=body["provision_record"])
    assert (stored.result, stored.code) == ("refused", "Q02")
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    assert entry.kind == OperationKind.PROVISION and entry.outcome == "Q02"


def test_body_operator_outcomes_q03_q07_not_found(body_operator, body_terminal):
    # given (scenario 51)
    person()
    person()
    client = verified_client(body_operator, "edu-terminal-key")
    # when
    kana = post(client, IDENTITY, "S6-EDU-01", {"name_kana": "ミホン タロウ", "birth_date": "1980-04-01"})
    several = post(client, IDENTITY, "S6-EDU-01", FOUR)
    none = post(client, IDENTITY, "S6-EDU-01", {**FOUR, "birth_date": "1980-04-02"})
    # then
    assert (kana.status_code, kana.json()["code"]) == (400, "Q03")
    assert (several.status_code, several.json()["code"], several.json()["result"]) == (200, "Q07", "refused")
    assert (none.status_code, none.json()["result"]) == (200, "not_found")
    assert ProvisionRecord.objects.count() == 3


def test_furyo_by_individual_number_is_q05(body_operator, body_terminal):
    client = verified_client(body_operator, "edu-terminal-key")
    response = post(client, FURYO, "S6-EDU-01", {"individual_number": "123456789018"})
    assert (response.status_code, response.json()["code"]) == (400, "Q05")


def test_wildcard_is_q04(body_operator, body_terminal):
    client = verified_client(body_operator, "edu-terminal-key")
    response = post(client, IDENTITY, "S6-EDU-01", {"name_kana": "ヤ*", "birth_date": "1980-04-01"})
    assert (response.status_code, response.json()["code"]) == (400, "Q04")


def test_unknown_condition_key_is_400_without_record(body_operator, body_terminal):
    client = verified_client(body_operator, "edu-terminal-key")
    response = post(client, IDENTITY, "S6-EDU-01", {"phone": "0839"})
    assert response.status_code == 400 and "phone" in str(response.json())
    assert ProvisionRecord.objects.count() == 0


def test_without_verified_login_401_logged_and_no_record(body_operator, body_terminal):
    # given (scenario 31): logged in with a password only, no second factor
    from rest_framework.test import APIClient

    client = APIClient(HTTP_X_TERMINAL_KEY="edu-terminal-key")
    client.force_login(body_operator)
    _, code, _ = person()
    # when
    response = post(client, IDENTITY, "S6-EDU-01", {"resident_code": code})
    # then
    assert response.status_code == 401 and "code" not in response.json()
    assert ProvisionRecord.objects.count() == 0
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    assert entry.kind == OperationKind.UNAUTHENTICATED_API_CALL and entry.terminal == body_terminal


def test_unregistered_terminal_is_q09(body_operator, body_terminal):
    client = verified_client(body_operator, "no-such-terminal")
    response = post(client, IDENTITY, "S6-EDU-01", {"resident_code": "12345678903"})
    assert (response.status_code, response.json()["code"]) == (403, "Q09")
    assert ProvisionRecord.objects.get(pk=response.json()["provision_record"]).terminal is None


def test_number_search_leaves_only_blind_index(body_operator, body_terminal):
    # given (scenario 50)
    _, _, number = person()
    client = verified_client(body_operator, "edu-terminal-key")
    # when
    response = post(client, IDENTITY, "S6-EDU-01", {"individual_number": number})
    # then
    assert response.json()["result"] == "released" and "individual_number" not in response.json()["record"]
    stored = ProvisionRecord.objects.get(pk=response.json()["provision_record"])
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    for text in (str(stored.conditions), str(entry.conditions)):
        assert number not in text and blind_index_hex(number) in text


def test_number_released_only_when_permitted_and_asked(police_operator, body_operator, body_terminal):
    # given (scenario 25)
    _, code, number = person()
    police = verified_client(police_operator, "edu-terminal-key")
    edu = verified_client(body_operator, "edu-terminal-key")
    # when
    plain = post(police, IDENTITY, "S6-POL-01", {"resident_code": code})
    asked = post(edu, IDENTITY, "S6-EDU-01", {"resident_code": code}, include_individual_number=True)
    # then
    assert "individual_number" not in plain.json()["record"]
    assert asked.json()["record"]["individual_number"] == number


def test_throttle_per_operator_is_429_and_logged(body_operator, body_terminal, settings):
    # given
    import uuid

    settings.API_THROTTLE_RATE = "2/m"
    body_operator.username = f"edu-{uuid.uuid4().hex}"  # a fresh throttle key in the shared Redis
    body_operator.save()
    client = verified_client(body_operator, "edu-terminal-key")
    # when
    statuses = [post(client, IDENTITY, "S6-EDU-01", {"resident_code": "12345678903"}).status_code for _ in range(3)]
    # then
    assert statuses == [200, 200, 429]
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    assert entry.kind == OperationKind.API_THROTTLED and entry.operator == body_operator


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/identity/lookup" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_without_todays_usage_approval_is_q10_with_record(body_operator, body_terminal):
    # given (scenario 31, second half)
    from audit.models import UsageApproval

    _, code, _ = person()
    UsageApproval.objects.filter(operator=body_operator).delete()
    client = verified_client(body_operator, "edu-terminal-key")
    # when
    response = post(client, IDENTITY, "S6-EDU-01", {"resident_code": code})
    # then
    assert (response.status_code, response.json()["code"]) == (403, "Q10")
    assert ProvisionRecord.objects.get(pk=response.json()["provision_record"]).code == "Q10"


def test_bearer_token_from_the_token_endpoint_and_terminal_key(body_operator, body_terminal):
    # given: a §9.6 token issued for this operator and terminal
    from django.db import transaction
    from rest_framework.test import APIClient

    from audit.authentication import api_token_issue

    _, code, _ = person()
    with transaction.atomic():
        token, _ = api_token_issue(operator=body_operator, terminal=body_terminal)
    client = APIClient(HTTP_X_TERMINAL_KEY="edu-terminal-key", HTTP_AUTHORIZATION=f"Bearer {token}")
    # when
    response = post(client, IDENTITY, "S6-EDU-01", {"resident_code": code})
    other_terminal = APIClient(HTTP_X_TERMINAL_KEY="nope", HTTP_AUTHORIZATION=f"Bearer {token}")
    refused = post(other_terminal, IDENTITY, "S6-EDU-01", {"resident_code": code})
    # then
    assert response.status_code == 200 and response.json()["result"] == "released"
    assert refused.status_code == 401


def test_contractor_is_refused(catalogue, body_terminal):
    from tests.provision.conftest import make_operator

    contractor = make_operator("contractor", catalogue["BODY-EDU"], "contractor", "body_operator")
    _, code, _ = person()
    response = post(verified_client(contractor, "edu-terminal-key"), IDENTITY, "S6-EDU-01", {"resident_code": code})
    assert response.status_code == 403 and "record" not in response.json()


@pytest.mark.parametrize("number", ["١٢٣٤٥٦٧٨٩٠١٨", "12345678901x", "1234"])
def test_malformed_individual_number_is_a_validation_error_not_a_server_error(body_operator, body_terminal, number):
    client = verified_client(body_operator, "edu-terminal-key")
    response = post(client, IDENTITY, "S6-EDU-01", {"individual_number": number})
    assert response.status_code == 400 and "individual_number" in response.json()["conditions"]
    assert ProvisionRecord.objects.count() == 0
