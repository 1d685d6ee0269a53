"""Copy cost (domain.md §12): pages × per-sheet price + handling fee, from one fee-table row."""

from __future__ import annotations

import pytest

from disclosure.pdf import copy_fee


@pytest.mark.parametrize(("pages", "total"), [(1, 10), (3, 30), (52, 520)])
def test_default_table_is_ten_yen_a_sheet_and_no_handling_fee(pages, total):
    fee = copy_fee(pages=pages, per_sheet_yen=10, handling_yen=0)

    assert (fee.sheets, fee.per_sheet_yen, fee.handling_yen, fee.total_yen) == (pages, 10, 0, total)


def test_other_row_values_are_used_as_given():
    assert copy_fee(pages=4, per_sheet_yen=20, handling_yen=300).total_yen == 380


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pages": 0, "per_sheet_yen": 10, "handling_yen": 0},
        {"pages": 1, "per_sheet_yen": -1, "handling_yen": 0},
    ],
)
def test_nonsense_is_refused(kwargs):
    with pytest.raises(ValueError):
        copy_fee(**kwargs)
