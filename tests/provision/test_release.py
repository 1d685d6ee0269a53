"""Releases to bodies and departments (domain.md §9.2, §9.3; scenarios 20, 23-25, 51)."""

from __future__ import annotations

import pytest

from audit.models import OperationKind, OperationLogEntry
from jukinet.crypto import blind_index_hex
from jukinet.models import SettingValue
from provision.models import ProvisionRecord, ProvisionSuspension
from provision.selectors import release_lookup
from tests.provision.conftest import furyo_person, person

pytestmark = pytest.mark.django_db

FOUR = {"name": "見本 太郎", "birth_date": "1980-04-01", "sex": 1, "address": "山口県山口市見本町一丁目2番3号"}


def lookup(operator, terminal, conditions, *, file="identity", affair="S6-EDU-01", **kwargs):
    return release_lookup(
        operator=operator, terminal=terminal, file=file, affair_code=affair, conditions=conditions, **kwargs
    )


def test_releases_one_person_by_resident_code(body_operator, body_terminal):
    # given
    someone, code, _ = person()
    # when
    outcome = lookup(body_operator, body_terminal, {"resident_code": code})
    # then
    assert outcome.result == "released"
    assert outcome.record["resident_code"] == code and outcome.record["name"] == "見本 太郎"
    assert "individual_number" not in outcome.record and "former_surname" not in outcome.record
    stored = ProvisionRecord.objects.get(pk=outcome.provision_record_id)
    assert stored.subjects == [someone.pk] and stored.release_kind == "provision" and stored.channel == "api"
    assert stored.recipient == body_operator.office and stored.affair.code == "S6-EDU-01"
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    assert entry.kind == OperationKind.PROVISION and entry.outcome == "released" and entry.result_count == 1


def test_release_by_individual_number_keeps_only_its_blind_index(body_operator, body_terminal):
    # given
    _, _, number = person()
    # when
    outcome = lookup(body_operator, body_terminal, {"individual_number": number}, include_individual_number=True)
    # then
    assert outcome.result == "released" and outcome.record["individual_number"] == number
    stored = ProvisionRecord.objects.get(pk=outcome.provision_record_id)
    assert stored.conditions == {"individual_number_blind_index": blind_index_hex(number)}
    assert number not in str(stored.conditions)
    entry = OperationLogEntry.objects.order_by("-sequence").first()
    assert number not in str(entry.conditions) and entry.conditions["individual_number_blind_index"]


def test_four_items_exact_releases_and_one_character_off_is_not_found(tax_operator, tax_terminal):
    # given
    person()
    # when
    exact = lookup(tax_operator, tax_terminal, FOUR, affair="S5-TAX-01")
    off = lookup(tax_operator, tax_terminal, {**FOUR, "address": "山口県山口市見本町一丁目2番4号"}, affair="S5-TAX-01")
    # then
    assert exact.result == "released"
    assert off.result == "not_found" and off.record is None
    assert ProvisionRecord.objects.get(pk=off.provision_record_id).result == "not_found"
    assert ProvisionRecord.objects.get(pk=exact.provision_record_id).release_kind == "transfer"


def test_kana_and_birth_date_is_q03_for_a_body(body_operator, body_terminal):
    person()
    outcome = lookup(body_operator, body_terminal, {"name_kana": "ミホン タロウ", "birth_date": "1980-04-01"})
    assert (outcome.result, outcome.code) == ("refused", "Q03")
    assert ProvisionRecord.objects.get(pk=outcome.provision_record_id).code == "Q03"


def test_two_people_meeting_four_items_is_q07(body_operator, body_terminal):
    person()
    person()
    outcome = lookup(body_operator, body_terminal, FOUR)
    assert (outcome.result, outcome.code, outcome.record) == ("refused", "Q07", None)


def test_affair_of_another_body_is_q02(police_operator, body_terminal):
    _, code, _ = person()
    outcome = lookup(police_operator, body_terminal, {"resident_code": code}, affair="S6-EDU-01")
    assert outcome.code == "Q02"
    stored = ProvisionRecord.objects.get(pk=outcome.provision_record_id)
    assert stored.result == "refused" and stored.subjects == []


def test_unknown_or_expired_affair_is_q01(body_operator, body_terminal):
    _, code, _ = person()
    assert lookup(body_operator, body_terminal, {"resident_code": code}, affair="NOPE").code == "Q01"
    assert lookup(body_operator, body_terminal, {"resident_code": code}, affair="").code == "Q01"


def test_unregistered_terminal_is_q09_before_everything(body_operator, clerk_terminal):
    clerk_terminal.capabilities = ["search"]
    clerk_terminal.save()
    assert lookup(body_operator, None, {"name": "*"}, affair="NOPE").code == "Q09"
    assert lookup(body_operator, clerk_terminal, {"resident_code": "x"}).code == "Q09"


def test_wildcard_is_q04_and_furyo_by_number_is_q05(body_operator, body_terminal):
    assert lookup(body_operator, body_terminal, {"name": "ヤ*", "birth_date": "1980-04-01"}).code == "Q04"
    assert lookup(body_operator, body_terminal, {"name": "ヤ＊"}).code == "Q04"
    outcome = lookup(body_operator, body_terminal, {"individual_number": "123456789018"}, file="furyo")
    assert outcome.code == "Q05"


def test_number_under_affair_without_permission_is_q08_or_omitted(police_operator, body_terminal):
    # given
    _, code, number = person()
    # when: searching by number, asking for it, or neither
    by_number = lookup(police_operator, body_terminal, {"individual_number": number}, affair="S6-POL-01")
    asked = lookup(police_operator, body_terminal, {"resident_code": code}, affair="S6-POL-01",
                   include_individual_number=True)  # fmt: skip
    plain = lookup(police_operator, body_terminal, {"resident_code": code}, affair="S6-POL-01")
    # then
    assert by_number.code == "Q08" and asked.code == "Q08"
    assert plain.result == "released" and "individual_number" not in plain.record


def test_resident_code_is_released_only_while_the_setting_is_on(body_operator, body_terminal):
    # given
    import datetime as dt

    _, code, _ = person()
    SettingValue.objects.create(name="RESIDENT_CODE_RELEASE", value=False, effective_from=dt.date(2000, 1, 1))
    # when
    outcome = lookup(body_operator, body_terminal, {"resident_code": code})
    # then
    assert outcome.result == "released" and "resident_code" not in outcome.record
    assert "resident_code" not in ProvisionRecord.objects.get(pk=outcome.provision_record_id).items


def test_deleted_current_version_is_never_found(body_operator, body_terminal):
    _, code, _ = person(deleted=True)
    assert lookup(body_operator, body_terminal, {"resident_code": code}).result == "not_found"


def test_suspension_marker_refuses_with_q11(body_operator, body_terminal):
    # given
    someone, code, _ = person()
    ProvisionSuspension.objects.create(person_id=someone.pk, file="identity", affair_code="S6-EDU-01")
    # when
    outcome = lookup(body_operator, body_terminal, {"resident_code": code})
    # then
    assert (outcome.result, outcome.code) == ("refused", "Q11")
    assert ProvisionRecord.objects.get(pk=outcome.provision_record_id).subjects == [someone.pk]
    other = lookup(body_operator, body_terminal, {"resident_code": code}, affair="S6-EDU-02")
    assert other.result == "released"


def test_furyo_release_by_four_items(body_operator, body_terminal):
    someone, code = furyo_person()
    outcome = lookup(body_operator, body_terminal, FOUR, file="furyo")
    assert outcome.result == "released" and outcome.record["resident_code"] == code
    assert set(outcome.record) == {"resident_code", "name", "name_kana", "birth_date", "sex", "address"}
    assert ProvisionRecord.objects.get(pk=outcome.provision_record_id).subjects == [someone.pk]


def test_emigrant_number_only_through_the_temporary_store(body_operator, body_terminal):
    # given (scenario 26): an emigrant, removed from file (1), abroad in file (2)
    from furyo.models import TemporaryIndividualNumber

    _, code, number = person(removed=True)
    furyo_person(resident_code=code, status=2)
    # when
    outcome = lookup(
        body_operator, body_terminal, {"resident_code": code}, file="furyo", include_individual_number=True
    )
    # then
    assert outcome.record["individual_number"] == number
    kept = TemporaryIndividualNumber.objects.get(provision_record_id=outcome.provision_record_id)
    assert number.encode() not in bytes(kept.ciphertext)
    stored = ProvisionRecord.objects.get(pk=outcome.provision_record_id)
    assert "individual_number" in stored.items and number not in str(stored.conditions)
    kinds = list(OperationLogEntry.objects.order_by("-sequence").values_list("kind", flat=True)[:2])
    assert kinds == [OperationKind.PROVISION, OperationKind.TEMPORARY_NUMBER_PULLED]


def test_domestic_furyo_person_gets_no_number(body_operator, body_terminal):
    _, code, _ = person()
    furyo_person(resident_code=code, status=1)
    outcome = lookup(
        body_operator, body_terminal, {"resident_code": code}, file="furyo", include_individual_number=True
    )
    assert outcome.result == "released" and "individual_number" not in outcome.record
    assert "individual_number" not in ProvisionRecord.objects.get(pk=outcome.provision_record_id).items


def test_furyo_number_under_affair_without_permission_is_q08(police_operator, body_terminal):
    _, code, _ = person(removed=True)
    furyo_person(resident_code=code, status=2)
    outcome = lookup(police_operator, body_terminal, {"resident_code": code}, file="furyo", affair="S6-POL-01",
                     include_individual_number=True)  # fmt: skip
    assert outcome.code == "Q08"


def test_usage_approval_naming_affairs_covers_only_those(body_operator, body_terminal):
    # given: today's approval names one affair only
    from audit.models import Affair, UsageApproval

    _, code, _ = person()
    approval = UsageApproval.objects.get(operator=body_operator, terminal=body_terminal)
    approval.affairs.set([Affair.objects.get(code="S6-EDU-02")])
    # when / then
    assert lookup(body_operator, body_terminal, {"resident_code": code}).code == "Q10"
    assert lookup(body_operator, body_terminal, {"resident_code": code}, affair="S6-EDU-02").result == "released"
