"""Fault switches: down, slow, 5xx, duplicate acknowledgements (set at runtime, loopback only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from national.testing import RunningServer, running_server
from prefserver.national_client import NationalClient, NationalUnavailable
from tests.national.factories import client_for, identity_update, raw_post


@pytest.mark.parametrize("style", ["close", "503"])
def test_down_refuses_and_receives_nothing(client: NationalClient, style: str) -> None:
    # given
    update = identity_update()
    client.set_faults(mode="down", down_style=style)
    before = client.stats()
    # when
    with pytest.raises(NationalUnavailable):
        client.send_updates("identity", [update])
    # then
    assert client.stats()["updates_received"] == before["updates_received"]
    client.set_faults(mode="none")
    assert client.send_updates("identity", [update])[0].status == "accepted"


def test_slow_answers_late_and_a_timeout_is_retryable(national: RunningServer, client: NationalClient) -> None:
    # given: the server waits 1.5 s before each request, the sender waits 0.3 s
    client.set_faults(mode="slow", delay_seconds=1.5)
    impatient = client_for(national, timeout=0.3)
    update = identity_update()
    # when
    with pytest.raises(NationalUnavailable):
        impatient.send_updates("identity", [update])
    # then: a patient sender gets its answer; the late first copy, if it landed, makes this a duplicate
    (ack,) = client.send_updates("identity", [update])
    assert ack.received
    client.set_faults(mode="none")
    assert client.sequence_of(update["resident_code"]) == 1


def test_5xx_before_receipt_receives_nothing(client: NationalClient) -> None:
    # given
    update = identity_update()
    client.set_faults(mode="5xx", fraction=1.0, status=503)
    before = client.stats()
    # when
    with pytest.raises(NationalUnavailable):
        client.send_updates("identity", [update])
    # then
    after = client.stats()
    assert after["updates_received"] == before["updates_received"]
    assert after["faults_injected"] > before["faults_injected"]


def test_5xx_after_receipt_loses_the_ack_and_the_retry_is_a_duplicate(client: NationalClient) -> None:
    # given
    update = identity_update()
    client.set_faults(mode="5xx", fraction=1.0, when="after")
    # when
    with pytest.raises(NationalUnavailable):
        client.send_updates("identity", [update])
    client.set_faults(mode="none")
    (ack,) = client.send_updates("identity", [update])
    # then
    assert ack.status == "duplicate"


def test_5xx_fraction_fails_some_requests(client: NationalClient) -> None:
    # given: a seeded draw, so the run is reproducible
    client.set_faults(mode="5xx", fraction=0.5, seed=7)
    outcomes = []
    # when
    for _ in range(20):
        try:
            client.send_updates("identity", [identity_update()])
            outcomes.append("ok")
        except NationalUnavailable:
            outcomes.append("5xx")
    # then
    assert "ok" in outcomes and "5xx" in outcomes


def test_duplicate_acks_are_folded_to_one_per_update(national: RunningServer, client: NationalClient) -> None:
    # given
    a, b = identity_update(), identity_update()
    client.set_faults(mode="duplicate_acks")
    # when
    status, body = raw_post(national, "/v1/updates", {"file": "identity", "updates": [a]})
    acks = client.send_updates("identity", [a, b, b])
    # then
    assert status == 200 and len(body["acks"]) == 2 and body["acks"][0] == body["acks"][1]
    assert [ack.status for ack in acks] == ["duplicate", "accepted", "duplicate"]


def test_invalid_fault_switch_is_refused(national: RunningServer) -> None:
    assert raw_post(national, "/v1/_faults", {"mode": "explode"})[0] == 400
    assert raw_post(national, "/v1/_faults", {"mode": "5xx", "fraction": 2})[0] == 400


def test_fault_from_the_command_line(tmp_path: Path) -> None:
    # given
    with running_server(tmp_path, "--seed-population", "0", "--fault", "down", "--down-style", "503") as server:
        client = client_for(server)
        # when / then
        with pytest.raises(NationalUnavailable):
            client.send_updates("identity", [identity_update()])
        assert client.stats()["faults"]["mode"] == "down"
        client.set_faults(mode="none")
        assert client.send_updates("identity", [identity_update()])[0].status == "accepted"
