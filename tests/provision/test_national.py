"""National queries (別表第3, domain.md §7, §9.6) against the real national simulator process."""

from __future__ import annotations

import pytest

from audit.models import OperationKind, OperationLogEntry
from national.population import generate
from national.testing import running_server
from provision.models import ProvisionRecord
from tests.provision.conftest import person, verified_client

pytestmark = pytest.mark.django_db
NATIONAL = "/api/v1/national/lookup"


@pytest.fixture(scope="module")
def national_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("national"), "--seed-population", "20", "--seed", "7") as server:
        yield server


@pytest.fixture
def national_settings(national_server, settings):
    settings.NATIONAL_SERVER_URL = national_server.url
    settings.NATIONAL_PKI_DIR = str(national_server.pki.directory)
    settings.NATIONAL_SERVER_SHA256 = ""
    return settings


def national_person() -> dict:
    identity, _ = next(iter(generate(20, seed=7)))
    return identity


def post(client, conditions, *, affair="S3-TAX-01", file="identity"):
    return client.post(NATIONAL, {"affair": affair, "file": file, "conditions": conditions}, format="json")


def test_person_not_held_here_is_asked_of_the_national_server(tax_operator, tax_terminal, national_settings):
    # given
    remote = national_person()
    client = verified_client(tax_operator, "tax-terminal-key")
    # when
    response = post(client, {"resident_code": remote["resident_code"]})
    # then
    body = response.json()
    assert response.status_code == 200 and body["result"] == "released" and body["source"] == "national"
    assert body["record"]["name"] == remote["name"] and body["record"]["resident_code"] == remote["resident_code"]
    national_record = ProvisionRecord.objects.get(pk=body["provision_record"])
    assert national_record.source == "national" and national_record.channel == "api"
    local_record = ProvisionRecord.objects.exclude(pk=national_record.pk).get()
    assert (local_record.source, local_record.result) == ("local", "not_found")
    kinds = list(OperationLogEntry.objects.order_by("-sequence").values_list("kind", flat=True)[:2])
    assert kinds == [OperationKind.NATIONAL_QUERY, OperationKind.TRANSFER]


def test_person_held_here_is_answered_locally(tax_operator, tax_terminal, national_settings):
    _, code, _ = person()
    client = verified_client(tax_operator, "tax-terminal-key")
    body = post(client, {"resident_code": code}).json()
    assert (body["result"], body["source"]) == ("released", "local")
    assert not ProvisionRecord.objects.filter(source="national").exists()


def test_affair_without_national_query_is_q02(tax_operator, tax_terminal, national_settings):
    client = verified_client(tax_operator, "tax-terminal-key")
    response = post(client, {"resident_code": national_person()["resident_code"]}, affair="S5-TAX-01")
    assert (response.status_code, response.json()["code"]) == (403, "Q02")
    assert ProvisionRecord.objects.get().source == "national"


def test_unreachable_national_server_is_503_and_recorded(tax_operator, tax_terminal, settings, tmp_path):
    settings.NATIONAL_SERVER_URL = "https://127.0.0.1:9"
    settings.NATIONAL_PKI_DIR = str(tmp_path)  # no PKI: fail closed
    client = verified_client(tax_operator, "tax-terminal-key")
    response = post(client, {"resident_code": "12345678903"})
    assert response.status_code == 503 and response.json()["code"] == "N503"
    assert ProvisionRecord.objects.filter(source="national", result="refused").count() == 1
