"""Each logic check of domain.md §6.4 (steps 4–22) with its code, through the inbox and the batch processor."""

from __future__ import annotations

import pytest

from furyo.models import FuryoVersion
from prefserver.models import IdentityPerson, IdentityVersion, Notice, PushOutbox
from tests.prefserver.intake_helpers import (
    CODE_A,
    CODE_B,
    OTHER_NUMBER,
    UBE,
    furyo_payload,
    identity_payload,
    notice,
    result_of,
    send_and_process,
)

pytestmark = pytest.mark.django_db


def _entered(code: str = CODE_A, sequence: int = 1, **payload):
    """A current person entered by 転入 at `sequence`."""
    sent = notice("11", sequence, resident_code=code, payload=identity_payload(**payload))
    (row,) = send_and_process(sent)
    assert row.status == "applied", row.message
    return sent


def _decided(sent) -> tuple[str, str, str]:
    (row,) = send_and_process(sent)
    return row.status, row.code, row.message


def _current(code: str = CODE_A) -> IdentityVersion:
    person = IdentityPerson.objects.get(codes__resident_code=code)
    return IdentityVersion.objects.get(pk=person.current_version_id)


# --- format checks (steps 4–9) ---


def test_e002_unknown_payload_key():
    # scenario 13
    status, code, message = _decided(notice(payload=identity_payload(phone="0830000000")))
    assert (status, code) == ("rejected", "E002")
    assert message == "許可されていない項目が含まれています。[phone]"
    assert "0830000000" not in message


def test_e002_individual_number_in_a_furyo_payload():
    status, code, message = _decided(
        notice("51", file="furyo", payload=furyo_payload(individual_number="123456789018"))
    )
    assert (status, code) == ("rejected", "E002") and "[individual_number]" in message


def test_e002_target_notice_id_outside_91_92_and_keys_in_a_92_payload():
    assert _decided(notice(target_notice_id="x-1"))[1] == "E002"
    assert _decided(notice("92", 2, target_notice_id="x-1", payload={"name": "x"}))[1] == "E002"
    assert _decided(notice(payload=identity_payload(new_resident_code=CODE_B)))[1] == "E002"


def test_e003_missing_null_or_malformed_values():
    payload = identity_payload(sex=3)
    del payload["district_code"]
    status, code, message = _decided(notice(payload=payload))
    assert (status, code) == ("rejected", "E003")
    assert message.endswith("[sex,district_code]")
    assert _decided(notice(change_date="2025-02-30"))[1] == "E003"
    assert _decided(notice(payload=identity_payload(name="x" * 101)))[1] == "E003"
    assert _decided(notice(payload=identity_payload(name=None)))[1] == "E003"


def test_e007_change_reason_unknown_not_for_the_file_or_99():
    assert _decided(notice("51"))[1] == "E007"  # a file (2) code on file (1)
    assert _decided(notice("99"))[1] == "E007"
    assert _decided(notice("77"))[1] == "E007"


def test_e006_payload_municipality_codes():
    # scenario 14: furyo_municipality_code 352038 fails its check digit
    assert _decided(notice("51", file="furyo", payload=furyo_payload(furyo_municipality_code="352038")))[1] == "E006"
    # a valid code outside this prefecture
    assert _decided(notice("51", file="furyo", payload=furyo_payload(furyo_municipality_code="131016")))[1] == "E006"
    assert _decided(notice("51", file="furyo", payload=furyo_payload(address_municipality_code="131017")))[1] == "E006"


def test_e004_resident_code_and_e005_individual_number():
    # scenario 14
    assert _decided(notice(resident_code="12345678904"))[1] == "E004"
    assert _decided(notice(payload=identity_payload(individual_number="123456789012")))[1] == "E005"


def test_e008_dates_after_the_receipt_date():
    # scenario 12 (second half)
    assert _decided(notice(change_date="2999-01-01"))[1] == "E008"
    assert _decided(notice(payload=identity_payload(birth_date="2999-01-01")))[1] == "E008"


# --- logic checks (steps 10–22) ---


def test_e101_entry_for_a_current_person():
    # scenario 1: 転入 with stored + 1 for a current resident
    _entered()
    status, code, _ = _decided(notice("11", 2))
    assert (status, code) == ("rejected", "E101")
    assert IdentityVersion.objects.count() == 1 and PushOutbox.objects.count() == 1


def test_e101_birth_for_a_removed_person():
    _entered()
    assert _decided(notice("32", 2))[0] == "applied"
    assert _decided(notice("12", 3, change_date="1980-04-01"))[1] == "E101"


def test_e102_move_within_changing_the_kana():
    # scenario 2
    _entered()
    status, code, message = _decided(
        notice("21", 2, payload=identity_payload(address="山口県下関市見本町二丁目1番", name_kana="ミホン タロ"))
    )
    assert (status, code) == ("rejected", "E102") and message.endswith("[name_kana]")
    assert _current().address == "山口県下関市見本町一丁目2番3号"


def test_e103_furyo_removal_of_a_removed_record():
    # scenario 3
    send_and_process(notice("51", file="furyo"))
    assert _decided(notice("54", 2, file="furyo", payload=furyo_payload(status=9)))[0] == "applied"
    assert _decided(notice("54", 3, file="furyo", payload=furyo_payload(status=9)))[1] == "E103"


def test_e104_unknown_code_at_the_hold_timeout():
    # scenario 10 (first half): a 転出 for an unknown code is held, then E104 at the timeout
    from prefserver.intake.process import intake_hold_sweep

    sent = notice("31", 5)
    (row,) = send_and_process(sent)
    assert (row.status, row.hold_reason) == ("held", "unknown_code")
    intake_hold_sweep(as_of=row.received_at + __import__("datetime").timedelta(hours=24))
    assert result_of(sent) == ("rejected", "E104")


def test_e105_death_for_a_removed_person():
    # scenario 10 (second half)
    _entered()
    assert _decided(notice("31", 2))[0] == "applied"
    assert _decided(notice("32", 3))[1] == "E105"


def test_e106_change_from_another_municipality():
    # scenario 11
    _entered()
    status, code, message = _decided(notice("23", 2, municipality_code=UBE, payload=identity_payload(name="見本 次郎")))
    assert (status, code) == ("rejected", "E106") and message.endswith("[municipality_code]")


def test_e106_furyo_notice_whose_furyo_municipality_is_not_the_sender():
    # scenario 49
    status, code, message = _decided(notice("51", file="furyo", payload=furyo_payload(furyo_municipality_code=UBE)))
    assert (status, code) == ("rejected", "E106") and message.endswith("[furyo_municipality_code]")


def test_e107_birth_date_differs_from_change_date():
    # scenario 12 (first half)
    assert (
        _decided(notice("12", 1, change_date="2025-03-01", payload=identity_payload(birth_date="2025-02-28")))[1]
        == "E107"
    )
    assert (
        _decided(notice("12", 1, change_date="2025-03-01", payload=identity_payload(birth_date="2025-03-01")))[0]
        == "applied"
    )


def test_e108_name_change_that_moves_the_address_and_same_number_for_26():
    _entered()
    status, code, message = _decided(
        notice("23", 2, payload=identity_payload(name="見本 次郎", address="山口県下関市別町1番"))
    )
    assert (status, code) == ("rejected", "E108") and message.endswith("[address]")
    assert _decided(notice("26", 2))[1] == "E108"  # the same number
    assert _decided(notice("32", 2, payload=identity_payload(sex=2)))[1] == "E108"  # a removal changing a key
    assert _decided(notice("26", 2, payload=identity_payload(individual_number=OTHER_NUMBER)))[0] == "applied"


def test_e109_correction_of_a_cancellation():
    # scenario 43 (third clause): a 訂正 targeting a 取消
    first = _entered()
    cancel = notice("92", 2, target_notice_id=first["notice_id"], payload={})
    assert _decided(cancel)[0] == "applied"
    assert _decided(notice("91", 3, target_notice_id=cancel["notice_id"]))[1] == "E109"


def test_e109_target_not_behind_the_current_version():
    first = _entered()
    assert _decided(notice("21", 2, payload=identity_payload(address="山口県下関市見本町二丁目1番")))[0] == "applied"
    assert _decided(notice("92", 3, target_notice_id=first["notice_id"], payload={}))[1] == "E109"
    assert _decided(notice("92", 3, target_notice_id="no-such-notice", payload={}))[1] == "E109"


def test_e110_notice_under_a_replaced_code():
    # scenario 17
    _entered()
    assert _decided(notice("27", 2, payload=identity_payload(new_resident_code=CODE_B)))[0] == "applied"
    status, code, message = _decided(notice("21", 3, payload=identity_payload(address="山口県下関市別町1番")))
    assert (status, code) == ("rejected", "E110") and message.endswith("[resident_code]")


def test_e111_code_change_to_a_code_in_use():
    _entered(CODE_A)
    _entered(CODE_B)
    assert _decided(notice("27", 2, payload=identity_payload(new_resident_code=CODE_B)))[1] == "E111"


def test_e201_stale_update_sequence_even_under_a_new_id():
    # scenario 7 (first half)
    _entered(sequence=4)
    status, code, message = _decided(notice("21", 4, payload=identity_payload(address="山口県下関市別町1番")))
    assert (status, code) == ("rejected", "E201") and message.endswith("[update_sequence]")


def test_e202_gap_not_filled_within_the_hold_time():
    # scenario 8
    import datetime as dt

    from prefserver.intake.process import intake_hold_sweep

    _entered()
    sent = notice("21", 3, payload=identity_payload(address="山口県下関市別町1番"))
    (row,) = send_and_process(sent)
    assert (row.status, row.hold_reason) == ("held", "gap")
    # not yet timed out an hour early
    intake_hold_sweep(as_of=row.received_at + dt.timedelta(hours=23))
    assert result_of(sent) == ("held", "")
    intake_hold_sweep(as_of=row.received_at + dt.timedelta(hours=24, seconds=1))
    assert result_of(sent) == ("rejected", "E202")
    assert PushOutbox.objects.count() == 1


def test_furyo_file_entry_change_and_removal_apply():
    send_and_process(notice("51", file="furyo"))
    assert _decided(notice("53", 2, file="furyo", payload=furyo_payload(
        status=2, address_municipality_code=None, address="アメリカ合衆国", last_address="東京都千代田区見本一丁目1番",
        last_address_gaiji_count=0)))[0] == "applied"  # fmt: skip
    assert _decided(notice("52", 3, file="furyo", payload=furyo_payload(status=1)))[0] == "applied"
    assert _decided(notice("52", 4, file="furyo", payload=furyo_payload(status=2)))[1] == "E108"
    versions = list(FuryoVersion.objects.order_by("id").values_list("status", "is_current", "update_sequence"))
    assert versions == [(1, False, 1), (2, False, 2), (1, True, 3)]
    assert PushOutbox.objects.filter(file="furyo").count() == 3
    assert Notice.objects.filter(code="E108").count() == 1


def test_e002_message_stays_within_its_column_for_many_long_unknown_keys():
    payload = identity_payload(**{f"k{i}-" + "x" * 100: 1 for i in range(20)})
    status, code, message = _decided(notice(payload=payload))
    assert (status, code) == ("rejected", "E002")
    assert len(message) <= 400 and message.startswith("許可されていない項目が含まれています。[k0-")


def test_e003_counts_beyond_their_column_range():
    assert _decided(notice(payload=identity_payload(name_gaiji_count=40_000)))[1] == "E003"
    assert _decided(notice(payload=identity_payload(address_gaiji_revision=2**31)))[1] == "E003"
