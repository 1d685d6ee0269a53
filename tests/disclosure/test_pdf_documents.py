"""The document dataclasses refuse what must never be printed (no rendering here)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from disclosure.pdf import (
    DecisionKind,
    DisclosureDecisionNotice,
    FuryoRecordItems,
    ProvisionKind,
    ProvisionStatusRow,
    ReleasedItem,
    samples,
)


@pytest.mark.parametrize("number", ["123456789018", "1234 5678 9018", "１２３４５６７８９０１８", "1234-5678-9018"])
@pytest.mark.parametrize("field", ["recipient", "affair"])
def test_provision_row_refuses_a_number_passed_by_mistake(number, field):
    values = {"recipient": "山口県教育委員会", "affair": "貸付金に係る債権管理事務", field: f"事務 {number}"}

    with pytest.raises(ValueError) as excinfo:
        ProvisionStatusRow(
            released_on=dt.date(2025, 4, 1),
            kind=ProvisionKind.PROVISION,
            items=(ReleasedItem.NAME,),
            **values,
        )

    assert "9018" not in str(excinfo.value)  # the refusal never repeats the digits


def test_provision_row_items_are_names_only():
    names = {f.name for f in dataclasses.fields(ProvisionStatusRow)}
    assert "individual_number" not in names
    with pytest.raises(TypeError):
        ProvisionStatusRow(
            released_on=dt.date(2025, 4, 1),
            recipient="山口県教育委員会",
            kind=ProvisionKind.PROVISION,
            affair="貸付金に係る債権管理事務",
            items=("123456789018",),  # type: ignore[arg-type]
        )


def test_report_subject_name_refuses_a_number():
    with pytest.raises(ValueError):
        samples.provision_status_report(subject_name="123456789018")


def test_furyo_items_have_no_individual_number_field():
    assert "individual_number" not in {f.name for f in dataclasses.fields(FuryoRecordItems)}


def test_individual_number_is_not_in_repr():
    record = samples.resident_record()

    assert "123456789018" not in repr(record)
    assert "123456789018" not in repr(samples.confirmation_sheet())


def test_decision_notice_needs_a_fee_or_a_reason():
    base = {"issued_on": dt.date(2026, 11, 20), "reference": "市町第1号", "received_on": dt.date(2026, 11, 2)}
    with pytest.raises(ValueError):
        DisclosureDecisionNotice(**base, addressee=samples.ADDRESSEE, kind=DecisionKind.GRANTED)
    with pytest.raises(ValueError):
        DisclosureDecisionNotice(**base, addressee=samples.ADDRESSEE, kind=DecisionKind.REFUSED)
