"""Mutual TLS, fail closed on both sides (domain.md §7)."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from pathlib import Path

import pytest

from national import pki
from national.testing import RunningServer, running_server
from prefserver.national_client import NationalAuthError, NationalClient
from tests.national.factories import client_for, identity_update, received


def test_pki_init_is_idempotent_and_names_the_loopback_server(tmp_path: Path) -> None:
    # given
    first = pki.init(tmp_path / "pki")
    contents = {path.name: path.read_bytes() for path in first.directory.iterdir()}
    # when
    second = pki.init(tmp_path / "pki")
    # then
    assert {path.name: path.read_bytes() for path in second.directory.iterdir()} == contents
    assert set(contents) == {"ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"}
    assert (first.client_key.stat().st_mode & 0o777) == 0o600
    context = ssl.create_default_context(cafile=str(first.ca_cert))
    context.load_verify_locations(cafile=str(first.ca_cert))
    assert pki.fingerprint_file(first.server_cert) != pki.fingerprint_file(first.client_cert)


def test_mutual_tls_round_trip(national: RunningServer, client: NationalClient) -> None:
    # given
    update = identity_update(update_sequence=3)
    # when
    acks = client.send_updates("identity", [update])
    # then
    assert [ack.status for ack in acks] == ["accepted"]
    assert client.sequence_of(update["resident_code"]) == 3


def _refusals_after(client: NationalClient, before: int) -> int:
    """The server's count of refused handshakes once it has counted one more than `before`. The client sees the
    refusal (the server's alert) while the server's thread is still on its way to counting it, so the count is
    read again for a while rather than once."""
    deadline = time.monotonic() + 10
    while True:
        count = int(client.stats()["tls_refused"])
        if count > before or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def _rogue(tmp_path: Path) -> pki.PkiPaths:
    """A complete PKI from another CA (same file names)."""
    return pki.init(tmp_path / "rogue")


def test_client_certificate_from_another_ca_is_refused_and_nothing_recorded(
    national: RunningServer, client: NationalClient, tmp_path: Path
) -> None:
    # given
    rogue = _rogue(tmp_path)
    before = client.stats()
    intruder = client_for(national, client_cert=rogue.client_cert, client_key=rogue.client_key)
    update = identity_update()
    # when
    with pytest.raises(NationalAuthError):
        intruder.send_updates("identity", [update])
    # then
    after = client.stats()
    assert after["updates_received"] == before["updates_received"]
    assert _refusals_after(client, before["tls_refused"]) > before["tls_refused"]
    assert client.sequence_of(update["resident_code"]) is None


def test_client_without_certificate_is_refused_and_nothing_recorded(
    national: RunningServer, client: NationalClient
) -> None:
    # given
    before = client.stats()
    context = ssl.create_default_context(cafile=str(national.pki.ca_cert))  # verifies the server, no cert
    connection = http.client.HTTPSConnection("127.0.0.1", national.port, context=context, timeout=10)
    update = identity_update()
    # when
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        connection.request("POST", "/v1/updates", body=json.dumps({"file": "identity", "updates": [update]}))
        connection.getresponse().read()
    connection.close()
    # then
    after = client.stats()
    assert after["updates_received"] == before["updates_received"]
    assert _refusals_after(client, before["tls_refused"]) > before["tls_refused"]
    assert client.sequence_of(update["resident_code"]) is None


def test_unpinned_client_certificate_from_the_same_ca_is_refused(
    national: RunningServer, client: NationalClient, tmp_path: Path
) -> None:
    # given: the CA signed it, but the server pins only the prefecture's certificate
    other_cert, other_key = tmp_path / "other.crt", tmp_path / "other.key"
    pki.issue(
        ca_cert=national.pki.ca_cert,
        ca_key=national.pki.ca_key,
        cert_out=other_cert,
        key_out=other_key,
        common_name="another-prefecture",
        client=True,
    )
    before = client.stats()
    stranger = client_for(national, client_cert=other_cert, client_key=other_key)
    update = identity_update()
    # when
    with pytest.raises(NationalAuthError):
        stranger.send_updates("identity", [update])
    # then
    after = client.stats()
    assert after["updates_received"] == before["updates_received"]
    assert after["client_pin_refused"] == before["client_pin_refused"] + 1
    assert client.sequence_of(update["resident_code"]) is None


def test_unexpected_server_pin_fails_closed_before_sending(national: RunningServer, client: NationalClient) -> None:
    # given: a valid chain, but not the pinned server certificate
    before = received(client)
    wrong_pin = pki.fingerprint_file(national.pki.client_cert)
    mistrusting = client_for(national, pinned_server_sha256=wrong_pin)
    update = identity_update()
    # when
    with pytest.raises(NationalAuthError):
        mistrusting.send_updates("identity", [update])
    # then
    assert received(client) == before
    assert client.sequence_of(update["resident_code"]) is None


def test_server_from_another_ca_fails_closed(national: RunningServer, client: NationalClient, tmp_path: Path) -> None:
    # given: the client trusts only another CA
    rogue = _rogue(tmp_path)
    before = received(client)
    mistrusting = client_for(national, ca_file=rogue.ca_cert)
    # when
    with pytest.raises(NationalAuthError):
        mistrusting.send_updates("identity", [identity_update()])
    # then
    assert received(client) == before


def test_server_name_must_match_the_certificate(tmp_path: Path) -> None:
    # given: a server whose certificate (from the trusted CA) names another host
    paths = pki.init(tmp_path / "pki", server_names=("elsewhere.example",))
    with running_server(tmp_path, "--seed-population", "0", pki_dir=paths.directory) as server:
        misnamed = client_for(server)
        # when / then
        with pytest.raises(NationalAuthError):
            misnamed.lookup("identity", {"resident_code": "12345678903"})


def test_missing_pki_files_fail_closed(national: RunningServer, tmp_path: Path) -> None:
    with pytest.raises(NationalAuthError):
        client_for(national, client_key=tmp_path / "missing.key")
    with pytest.raises(NationalAuthError):
        client_for(national, pinned_server_sha256="not-a-fingerprint")
    with pytest.raises(NationalAuthError):
        NationalClient(
            f"http://127.0.0.1:{national.port}",
            national.pki.ca_cert,
            national.pki.client_cert,
            national.pki.client_key,
            national.server_pin,
        )
