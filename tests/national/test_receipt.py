"""Receipt of updates: idempotency by (file, resident_code, update_sequence, revision), validation, logs."""

from __future__ import annotations

import re

import pytest

from national.testing import RunningServer
from prefserver.national_client import NationalClient
from tests.national.factories import furyo_update, identity_update, new_resident_code, raw_post


def test_repeat_of_a_key_is_success_without_a_second_effect(client: NationalClient) -> None:
    # given
    first = identity_update(update_sequence=4)
    client.send_updates("identity", [first])
    before = client.stats()
    altered = dict(first, address="山口県下関市別町1番")
    # when: the same key again, once unchanged and once with other content
    acks = client.send_updates("identity", [first, altered])
    # then
    assert [(ack.status, ack.content_mismatch) for ack in acks] == [("duplicate", False), ("duplicate", True)]
    assert all(ack.received for ack in acks)
    after = client.stats()
    assert after["accepted"] == before["accepted"]
    assert after["duplicates"] == before["duplicates"] + 2
    found = client.lookup("identity", {"resident_code": first["resident_code"]})
    assert found.record is not None and found.record["address"] == first["address"]


def test_a_repeat_with_its_keys_in_another_order_is_the_same_content(client: NationalClient) -> None:
    # given: the hash and the stored record come from one sorted encoding
    first = identity_update(update_sequence=4)
    client.send_updates("identity", [first])
    # when
    acks = client.send_updates("identity", [dict(reversed(list(first.items())))])
    # then
    assert [(ack.status, ack.content_mismatch) for ack in acks] == [("duplicate", False)]
    found = client.lookup("identity", {"resident_code": first["resident_code"]})
    assert found.record is not None
    assert {name: found.record[name] for name in first if name not in ("update_sequence", "revision")} == {
        name: value for name, value in first.items() if name not in ("update_sequence", "revision")
    }


def test_each_update_gets_its_own_ack_in_order(client: NationalClient) -> None:
    # given: several persons, one of them twice with consecutive sequences, one invalid
    a, b = identity_update(update_sequence=1), identity_update(update_sequence=9)
    a_next = dict(a, update_sequence=2, change_reason="21", address="山口県山口市別町2番")
    bad = identity_update(birth_date="1980-02-30")
    # when
    acks = client.send_updates("identity", [a, b, a_next, bad])
    # then
    assert [ack.status for ack in acks] == ["accepted", "accepted", "accepted", "rejected"]
    assert [ack.key for ack in acks[:3]] == [
        (a["resident_code"], 1, 0),
        (b["resident_code"], 9, 0),
        (a["resident_code"], 2, 0),
    ]
    assert acks[3].reason == "invalid_field:birth_date"
    assert client.sequences_of([a["resident_code"], b["resident_code"], bad["resident_code"]]) == {
        a["resident_code"]: 2,
        b["resident_code"]: 9,
        bad["resident_code"]: None,
    }


def test_revision_is_part_of_the_key(client: NationalClient) -> None:
    # given: a 99 (manual correction) on the same update_sequence raises the revision
    original = identity_update(update_sequence=5)
    corrected = dict(original, revision=1, change_reason="99", name="見本　次郎")
    client.send_updates("identity", [original])
    # when
    acks = client.send_updates("identity", [corrected])
    # then
    assert acks[0].status == "accepted" and acks[0].applied
    record = client.lookup("identity", {"resident_code": original["resident_code"]}).record
    assert record is not None and record["name"] == "見本　次郎" and record["revision"] == 1


def test_an_older_update_arriving_late_is_receipted_but_keeps_the_newer_state(client: NationalClient) -> None:
    # given
    newer = identity_update(update_sequence=8, change_reason="21", address="山口県萩市新町1番")
    client.send_updates("identity", [newer])
    older = dict(newer, update_sequence=7, address="山口県萩市旧町1番")
    # when
    (ack,) = client.send_updates("identity", [older])
    # then
    assert ack.status == "accepted" and not ack.applied
    record = client.lookup("identity", {"resident_code": newer["resident_code"]}).record
    assert record is not None and record["address"] == "山口県萩市新町1番"
    assert client.sequence_of(newer["resident_code"]) == 8


def test_resident_code_change_moves_the_person_and_its_counter(client: NationalClient) -> None:
    # given
    person = identity_update(update_sequence=3)
    client.send_updates("identity", [person])
    new_code = new_resident_code()
    change = dict(
        person,
        resident_code=new_code,
        previous_resident_code=person["resident_code"],
        change_reason="27",
        update_sequence=4,
    )
    # when
    (ack,) = client.send_updates("identity", [change])
    # then
    assert ack.status == "accepted"
    assert client.sequences_of([person["resident_code"], new_code]) == {
        person["resident_code"]: None,
        new_code: 4,
    }


def test_previous_resident_code_only_with_code_27(client: NationalClient) -> None:
    update = identity_update(previous_resident_code=new_resident_code())
    (ack,) = client.send_updates("identity", [update])
    assert (ack.status, ack.reason) == ("rejected", "invalid_field:previous_resident_code")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"individual_number": "123456789012"}, "invalid_field:individual_number"),
        ({"resident_code": "12345678904"}, "invalid_field:resident_code"),
        ({"sex": 3}, "invalid_field:sex"),
        ({"update_sequence": 0}, "invalid_field:update_sequence"),
        ({"name_gaiji_count": 0}, "unknown_field:name_gaiji_count"),
        ({"operator_id": "OP1"}, "unknown_field:operator_id"),
    ],
)
def test_invalid_identity_updates_are_rejected_and_not_stored(
    client: NationalClient, changes: dict[str, object], reason: str
) -> None:
    # given
    update = identity_update(**changes)
    before = client.stats()
    # when
    (ack,) = client.send_updates("identity", [update])
    # then
    assert (ack.status, ack.reason) == ("rejected", reason)
    assert client.stats()["accepted"] == before["accepted"]


def test_identity_update_missing_an_item_is_rejected(client: NationalClient) -> None:
    update = identity_update()
    del update["change_date"]
    (ack,) = client.send_updates("identity", [update])
    assert (ack.status, ack.reason) == ("rejected", "missing_field:change_date")


def test_furyo_update_is_received(client: NationalClient) -> None:
    update = furyo_update(update_sequence=2)
    (ack,) = client.send_updates("furyo", [update])
    assert ack.status == "accepted"
    assert client.sequence_of(update["resident_code"], file="furyo") == 2
    assert client.sequence_of(update["resident_code"], file="identity") is None


def test_furyo_update_carrying_an_individual_number_is_rejected(
    national: RunningServer, client: NationalClient
) -> None:
    # given: sent raw, past the client's own guard
    with_number = furyo_update(individual_number="123456789018")
    with_null_number = furyo_update(individual_number=None)
    before = client.stats()
    # when
    status, body = raw_post(national, "/v1/updates", {"file": "furyo", "updates": [with_number, with_null_number]})
    # then
    assert status == 200
    assert [(ack["status"], ack["reason"]) for ack in body["acks"]] == [
        ("rejected", "individual_number_not_allowed"),
        ("rejected", "individual_number_not_allowed"),
    ]
    assert client.stats()["accepted"] == before["accepted"]
    assert client.sequence_of(with_number["resident_code"], file="furyo") is None


def test_client_refuses_to_send_a_furyo_update_with_an_individual_number(client: NationalClient) -> None:
    before = client.stats()["updates_received"]
    with pytest.raises(ValueError, match="individual number"):
        client.send_updates("furyo", [furyo_update(individual_number="123456789018")])
    assert client.stats()["updates_received"] == before


def test_malformed_requests_get_400(national: RunningServer) -> None:
    assert raw_post(national, "/v1/updates", {"file": "other", "updates": []})[0] == 400
    assert raw_post(national, "/v1/updates", {"file": "identity"})[0] == 400
    assert raw_post(national, "/v1/updates", ["not", "an", "object"])[0] == 400


def test_the_log_never_shows_an_individual_number_or_a_name(national: RunningServer, client: NationalClient) -> None:
    # given: accepted, duplicate and rejected updates and lookups, all carrying individual numbers
    good = identity_update()
    bad = identity_update(sex=9)
    client.send_updates("identity", [good, good, bad])
    client.lookup("identity", {"individual_number": good["individual_number"]})
    raw_post(
        national,
        "/v1/updates",
        {"file": "furyo", "updates": [furyo_update(individual_number="123456789018")]},
    )
    # when
    log = national.log_text()
    # then
    assert "POST /v1/updates 200" in log
    assert good["individual_number"] not in log and bad["individual_number"] not in log
    assert "123456789018" not in log
    assert re.search(r"(?<!\d)\d{12}(?!\d)", log) is None
    assert "見本" not in log and good["resident_code"] not in log
