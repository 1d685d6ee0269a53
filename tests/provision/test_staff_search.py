"""Staff search screens (domain.md §9.2; scenarios 20-22, 50)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import OperationKind, OperationLogEntry
from jukinet.models import SettingValue
from provision.models import ProvisionRecord
from provision.selectors import staff_search
from tests.provision.conftest import furyo_person, person, verified_client

pytestmark = pytest.mark.django_db


def search(clerk, terminal, conditions, *, file="identity", affair="INT-001"):
    return staff_search(operator=clerk, terminal=terminal, file=file, affair_code=affair, conditions=conditions)


def last_log():
    return OperationLogEntry.objects.order_by("-sequence").first()


def test_minimum_condition_rules(clerk, clerk_terminal, catalogue):
    # given
    _, code, number = person(name_kana="ヤマダ タロウ", name="山田 太郎")
    born = dt.date(1980, 4, 1)
    # when / then: each rule finds, each fragment alone is Q03
    assert search(clerk, clerk_terminal, {"resident_code": code}).result == "released"  # rule 1
    assert search(clerk, clerk_terminal, {"individual_number": number}, affair="INT-002").result == "released"  # 2
    assert search(clerk, clerk_terminal, {"name_kana": "ヤマ", "birth_date": born}).result == "released"  # 3 prefix
    assert search(clerk, clerk_terminal, {"name": "山田太郎", "birth_date": born, "sex": 1}).result == "released"  # 4
    assert search(clerk, clerk_terminal, {"name_kana": "ヤマダ", "address": "山口市見本町"}).result == "released"  # 5
    assert search(clerk, clerk_terminal, {"name": "山田 太郎", "address": "山口県山口市見本"}).result == "released"
    for alone in ({"name_kana": "ヤマダ タロウ"}, {"birth_date": born}, {"address": "山口県山口市見本町"},
                  {"name": "山田 太郎", "birth_date": born}, {"name_kana": "ヤ", "address": "山口市見本町"},
                  {"name_kana": "ヤマダ", "address": "山口県山口"}):  # fmt: skip
        assert search(clerk, clerk_terminal, alone).code == "Q03", alone


def test_hiragana_with_full_width_space_finds_katakana(clerk, clerk_terminal, catalogue):
    # given (scenario 22)
    someone, _, _ = person(name_kana="ヤマダ タロウ")
    # when
    outcome = search(clerk, clerk_terminal, {"name_kana": "やまだ　たろう", "birth_date": dt.date(1980, 4, 1)})
    # then
    assert [row["person_id"] for row in outcome.rows] == [someone.pk]


def test_wildcards_and_furyo_number_refused_on_screen(clerk, clerk_terminal, catalogue):
    # scenario 20
    assert search(clerk, clerk_terminal, {"name_kana": "ヤ*", "birth_date": dt.date(1980, 4, 1)}).code == "Q04"
    assert search(clerk, clerk_terminal, {"name_kana": "ヤマ％", "birth_date": dt.date(1980, 4, 1)}).code == "Q04"
    assert search(clerk, clerk_terminal, {"individual_number": "123456789018"}, file="furyo").code == "Q05"
    assert search(clerk, clerk_terminal, {"name_kana": "ヤマダ タロウ"}).code == "Q03"


def test_number_search_needs_an_affair_that_permits_it(clerk, clerk_terminal, catalogue):
    _, _, number = person()
    assert search(clerk, clerk_terminal, {"individual_number": number}, affair="INT-001").code == "Q08"


def test_over_the_cap_shows_no_rows_and_logs_the_count(clerk, clerk_terminal, catalogue):
    # given (scenario 21): 51 matches with a cap of 50
    for _ in range(51):
        person()
    # when
    outcome = search(clerk, clerk_terminal, {"name_kana": "ミホン", "birth_date": dt.date(1980, 4, 1)})
    # then
    assert (outcome.result, outcome.code, outcome.rows, outcome.count) == ("refused", "Q06", [], 51)
    entry = last_log()
    assert entry.kind == OperationKind.IDENTITY_SEARCHED and entry.outcome == "Q06" and entry.result_count == 51
    assert ProvisionRecord.objects.get(pk=outcome.provision_record_id).code == "Q06"


def test_counting_stops_at_the_limit(clerk, clerk_terminal, catalogue):
    # given: a lowered count limit and cap (the real 10,000 is a bench-sized population)
    for name, value in (("SEARCH_COUNT_LIMIT", 3), ("SEARCH_RESULT_CAP", 2)):
        SettingValue.objects.create(name=name, value=value, effective_from=dt.date(2000, 1, 1))
    for _ in range(5):
        person()
    # when
    outcome = search(clerk, clerk_terminal, {"name_kana": "ミホン", "birth_date": dt.date(1980, 4, 1)})
    # then: "3+" is stored as limit + 1
    assert outcome.code == "Q06" and last_log().result_count == 4


def test_body_operator_cannot_use_staff_search(body_operator, body_terminal, catalogue):
    _, code, _ = person()
    assert search(body_operator, body_terminal, {"resident_code": code}).code == "Q02"


def test_release_affair_is_not_a_staff_affair(clerk, clerk_terminal, catalogue):
    _, code, _ = person()
    assert search(clerk, clerk_terminal, {"resident_code": code}, affair="S6-EDU-01").code == "Q02"


def test_furyo_search(clerk, clerk_terminal, catalogue):
    someone, code = furyo_person(status=2)
    outcome = search(clerk, clerk_terminal, {"resident_code": code}, file="furyo")
    assert [row["person_id"] for row in outcome.rows] == [someone.pk] and outcome.rows[0]["status"] == "国外"
    assert last_log().kind == OperationKind.FURYO_SEARCHED


def test_screens_search_detail_masked_reveal_and_history(clerk, clerk_terminal, catalogue):
    # given (scenario 50)
    someone, _, number = person(individual_number="123456783214")
    client = verified_client(clerk, "clerk-terminal-key")
    # when: search by number
    page = client.post("/search/", {"file": "identity", "affair": "INT-002", "individual_number": number})
    # then
    assert page.status_code == 200 and page["Cache-Control"].startswith("no-store")
    assert "見本 太郎" in page.content.decode()
    search_entry = last_log()
    assert search_entry.kind == OperationKind.IDENTITY_SEARCHED and number not in str(search_entry.conditions)
    # when: open the record
    detail = client.get(f"/search/identity/{someone.pk}/?affair=INT-002")
    text = detail.content.decode()
    # then: masked, view logged
    assert "********3214" in text and number not in text
    assert last_log().kind == OperationKind.IDENTITY_VIEWED
    # when: reveal under an affair that permits it
    revealed = client.post(f"/search/identity/{someone.pk}/", {"affair": "INT-002", "reveal": "1"})
    assert number in revealed.content.decode()
    assert last_log().kind == OperationKind.INDIVIDUAL_NUMBER_REVEALED
    # when: reveal under an affair that does not permit it
    refused = client.post(f"/search/identity/{someone.pk}/", {"affair": "INT-001", "reveal": "1"})
    assert refused.status_code == 403 and number not in refused.content.decode()
    assert last_log().outcome == "Q08"
    # when: history
    history = client.get(f"/search/identity/{someone.pk}/history/?affair=INT-001")
    assert history.status_code == 200 and "見本町" in history.content.decode()
    assert last_log().conditions == {"file": "identity", "view": "history"}


def test_screen_over_cap_message(clerk, clerk_terminal, catalogue):
    for _ in range(51):
        person()
    client = verified_client(clerk, "clerk-terminal-key")
    page = client.post(
        "/search/", {"file": "identity", "affair": "INT-001", "name_kana": "ミホン", "birth_date": "1980-04-01"}
    )
    text = page.content.decode()
    assert "該当件数が多すぎます。条件を追加してください。" in text and "見本 太郎" not in text


def test_screen_without_second_factor_is_401_and_logged(clerk, clerk_terminal, catalogue, client):
    client.force_login(clerk)
    page = client.post("/search/", {"file": "identity", "affair": "INT-001", "resident_code": "12345678903"})
    assert page.status_code == 401
    assert last_log().kind == OperationKind.UNAUTHENTICATED_SCREEN_ACCESS
    assert ProvisionRecord.objects.count() == 0


def test_contractor_is_refused_on_the_search_screen(section, clerk_terminal, catalogue):
    # scenario 33: even with a verified login and a registered terminal
    from tests.provision.conftest import make_operator

    contractor = make_operator("contractor-screen", section, "contractor", "clerk")
    person()
    page = verified_client(contractor, "clerk-terminal-key").get("/search/")
    assert page.status_code == 403 and ProvisionRecord.objects.count() == 0
