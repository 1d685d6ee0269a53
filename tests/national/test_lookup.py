"""Lookups for persons the prefecture does not hold (domain.md §7 National queries, §9.3) and sequences."""

from __future__ import annotations

import pytest

from national.population import TWIN_EVERY, generate
from national.testing import RunningServer
from prefserver.national_client import NationalClient
from tests.national.factories import furyo_update, identity_update, raw_post

FOUR = ("name", "birth_date", "sex", "address")


def test_seeded_population_is_deterministic_with_valid_check_digits() -> None:
    from national.identifiers import (
        is_valid_individual_number,
        is_valid_municipality_code,
        is_valid_resident_code,
    )

    first, second = list(generate(600, seed=3)), list(generate(600, seed=3))
    assert first == second
    assert list(generate(600, seed=4)) != first
    for identity, furyo in first:
        assert is_valid_resident_code(identity["resident_code"])
        assert is_valid_individual_number(identity["individual_number"])
        assert is_valid_municipality_code(furyo["furyo_municipality_code"])
        assert "individual_number" not in furyo
        assert not identity["address"].startswith("山口県")  # the default prefecture (35) is excluded


def test_identity_lookup_by_resident_code_number_and_four_items(client: NationalClient) -> None:
    # given: a seeded person (seed 1, as the fixture starts the server)
    person, _ = next(iter(generate(1)))
    # when
    by_code = client.lookup("identity", {"resident_code": person["resident_code"]})
    by_number = client.lookup("identity", {"individual_number": person["individual_number"]})
    by_four = client.lookup("identity", {name: person[name] for name in FOUR})
    # then
    for answer in (by_code, by_number, by_four):
        assert answer.result == "found"
        assert answer.record is not None
        assert answer.record["resident_code"] == person["resident_code"]
        assert answer.record["update_sequence"] == person["update_sequence"]
    assert "record" not in repr(by_code) and person["individual_number"] not in repr(by_code)


def test_four_items_match_on_keys_not_on_spacing(client: NationalClient) -> None:
    # given: the name as stored has a full-width space; the condition has none
    person = identity_update(name="見本　四郎", address="山口県周南市見本町1番")
    client.send_updates("identity", [person])
    conditions = {"name": "見本四郎", "birth_date": person["birth_date"], "sex": person["sex"]}
    # when
    answer = client.lookup("identity", {**conditions, "address": "山口県周南市見本町１番"})
    # then
    assert answer.result == "found"


def test_lookup_not_found(client: NationalClient) -> None:
    assert client.lookup("identity", {"resident_code": "12345678903"}).result == "not_found"
    assert client.lookup("furyo", {"resident_code": "12345678903"}).result == "not_found"


def test_lookup_several(client: NationalClient) -> None:
    # given: the seeded population repeats the 4情報 of its (TWIN_EVERY - 2)-th person
    people = [identity for identity, _ in generate(TWIN_EVERY)]
    twin = people[TWIN_EVERY - 1]
    # when
    answer = client.lookup("identity", {name: twin[name] for name in FOUR})
    furyo_answer = client.lookup("furyo", {name: twin[name] for name in FOUR})
    # then
    assert (answer.result, answer.count, answer.record) == ("several", 2, None)
    assert furyo_answer.result == "several"


def test_furyo_lookup_by_code_and_four_items(client: NationalClient) -> None:
    update = furyo_update(status=2, address_municipality_code=None, address="アメリカ合衆国")
    client.send_updates("furyo", [update])
    by_code = client.lookup("furyo", {"resident_code": update["resident_code"]})
    by_four = client.lookup("furyo", {name: update[name] for name in FOUR})
    assert by_code.result == by_four.result == "found"
    assert by_code.record is not None and "individual_number" not in by_code.record


def test_furyo_is_never_searched_by_individual_number(national: RunningServer, client: NationalClient) -> None:
    with pytest.raises(ValueError):
        client.lookup("furyo", {"individual_number": "123456789018"})
    status, body = raw_post(
        national, "/v1/lookup", {"file": "furyo", "conditions": {"individual_number": "123456789018"}}
    )
    assert (status, body) == (400, {"error": "individual_number_not_allowed"})


@pytest.mark.parametrize(
    "conditions",
    [
        {"name": "見本　太郎"},
        {"name": "見本　太郎", "birth_date": "1980-04-01", "sex": 1},
        {"birth_date": "1980-04-01"},
        {},
    ],
)
def test_lookup_needs_an_exact_rule(national: RunningServer, conditions: dict[str, object]) -> None:
    status, body = raw_post(national, "/v1/lookup", {"file": "identity", "conditions": conditions})
    assert (status, body) == (400, {"error": "insufficient_conditions"})


def test_unknown_condition_is_refused(national: RunningServer) -> None:
    status, body = raw_post(
        national, "/v1/lookup", {"file": "identity", "conditions": {"resident_code": "12345678903", "x": 1}}
    )
    assert (status, body) == (400, {"error": "unknown_condition:x"})


def test_sequences_of_seeded_and_unknown_persons(client: NationalClient) -> None:
    identity, furyo = next(iter(generate(1)))
    assert client.sequence_of(identity["resident_code"]) == identity["update_sequence"]
    assert client.sequence_of(identity["resident_code"], file="furyo") == furyo["update_sequence"]
    assert client.sequence_of("12345678903") is None
