"""The prefecture's client for the national server: settings, fail-closed errors, acknowledgements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from national.testing import RunningServer, running_server
from prefserver.national_client import (
    NationalAuthError,
    NationalClient,
    NationalRequestError,
    NationalUnavailable,
    certificate_sha256,
)
from tests.national.factories import identity_update


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("national-client"), "--seed-population", "0") as server:
        yield server


def _settings(server: RunningServer, **extra: str) -> override_settings:
    return override_settings(NATIONAL_SERVER_URL=server.url, NATIONAL_PKI_DIR=str(server.pki.directory), **extra)


def test_from_settings_pins_the_pki_server_certificate(national: RunningServer) -> None:
    # given
    with _settings(national, NATIONAL_SERVER_SHA256=""):
        client = NationalClient.from_settings()
    update = identity_update(update_sequence=2)
    # when
    acks = client.send_updates("identity", [update])
    # then
    assert acks[0].status == "accepted"
    assert client.pin == certificate_sha256(national.pki.server_cert)
    assert client.sequence_of(update["resident_code"]) == 2


def test_from_settings_with_an_explicit_wrong_pin_fails_closed(national: RunningServer) -> None:
    # given
    wrong = certificate_sha256(national.pki.ca_cert)
    with _settings(national, NATIONAL_SERVER_SHA256=wrong.upper()):
        client = NationalClient.from_settings()
    # when / then
    with pytest.raises(NationalAuthError):
        client.send_updates("identity", [identity_update()])


def test_from_settings_without_pki_fails_closed(national: RunningServer, tmp_path: Path) -> None:
    settings = override_settings(NATIONAL_PKI_DIR=str(tmp_path / "none"), NATIONAL_SERVER_SHA256="")
    with settings, pytest.raises(NationalAuthError):
        NationalClient.from_settings()


def test_server_down_is_retryable(tmp_path: Path) -> None:
    # given: nothing listens on the port any more
    with running_server(tmp_path, "--seed-population", "0") as server:
        p = server.pki
        client = NationalClient(server.url, p.ca_cert, p.client_cert, p.client_key, server.server_pin)
    # when / then
    with pytest.raises(NationalUnavailable):
        client.send_updates("identity", [identity_update()])


def test_errors_and_reprs_carry_no_personal_data(national: RunningServer) -> None:
    # given
    with _settings(national):
        client = NationalClient.from_settings()
    update = identity_update(sex=7)
    # when
    (ack,) = client.send_updates("identity", [update])
    with pytest.raises(NationalRequestError) as refused:
        client.lookup("identity", {"individual_number": update["individual_number"], "extra": "x"})
    answer = client.lookup("identity", {"individual_number": "123456789018"})
    # then
    assert ack.status == "rejected" and update["individual_number"] not in repr(ack)
    assert update["individual_number"] not in str(refused.value) and refused.value.status == 400
    assert answer.result == "not_found"
    assert "pki" not in repr(client).lower()


def test_kept_alive_connection_is_reused_and_reopened_after_a_drop(national: RunningServer) -> None:
    # given
    with _settings(national):
        client = NationalClient.from_settings()
    client.send_updates("identity", [identity_update()])
    # when: the server drops the idle connection (simulated by closing our end's socket)
    assert client._connection is not None and client._connection.sock is not None
    client._connection.sock.close()
    acks = client.send_updates("identity", [identity_update()])
    # then
    assert acks[0].status == "accepted"
