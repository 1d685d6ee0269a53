import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.identifiers import (
    individual_number_check_digit,
    is_valid_individual_number,
    is_valid_municipality_code,
    is_valid_resident_code,
    municipality_code_check_digit,
    resident_code_check_digit,
    to_ascii_digits,
    with_check_digit,
)
from jukinet.reference import municipality_rows


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("123456789018", True),
        ("983205673214", True),
        ("123456789012", False),
        ("12345678901", False),
        ("12345678901a", False),
        ("１２３４５６７８９０１８", False),
    ],
)
def test_individual_number_vectors(number, valid):
    assert is_valid_individual_number(number) is valid


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("352039", True),
        ("131016", True),
        ("011002", True),
        ("355020", True),
        ("011011", True),
        ("350001", True),
        ("352038", False),
        ("35203", False),
    ],
)
def test_municipality_code_vectors(code, valid):
    assert is_valid_municipality_code(code) is valid


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("12345678903", True),
        ("59130274611", True),
        ("59130274620", True),
        ("59130274670", True),
        ("12345678904", False),
        ("1234567890", False),
    ],
)
def test_resident_code_vectors(code, valid):
    assert is_valid_resident_code(code) is valid


def test_full_width_digits_are_converted_for_forms():
    assert is_valid_individual_number(to_ascii_digits("１２３４５６７８９０１８"))


def _remainder(body, weights):
    return sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11


def _single_digit_changes(code):
    for i, original in enumerate(code):
        for d in "0123456789":
            if d != original:
                yield code[:i] + d + code[i + 1 :]


def test_all_real_municipality_codes_pass_and_detectable_changes_fail():
    # given the 1,916 real codes
    rows = municipality_rows()
    real = {r.code for r in rows}
    assert len(real) == 1916
    assert all(is_valid_municipality_code(c) for c in real)
    # when every single-digit change is checked
    passing, passing_real, total = 0, 0, 0
    for code in sorted(real):
        for changed in _single_digit_changes(code):
            total += 1
            if is_valid_municipality_code(changed):
                passing += 1
                passing_real += changed in real
                # then the only undetected changes move the remainder between 0 and 10 (both give 1)
                r_old = _remainder(code[:5], (6, 5, 4, 3, 2))
                r_new = _remainder(changed[:5], (6, 5, 4, 3, 2))
                assert {r_old, r_new} == {0, 10}, (code, changed)
    assert total == 103_464
    assert passing == 1_558
    assert passing_real == 382


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_individual_number_single_digit_changes_fail_unless_remainder_0_1(body):
    number = with_check_digit(body, individual_number_check_digit)
    assert is_valid_individual_number(number)
    weights = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    for changed in _single_digit_changes(number):
        if is_valid_individual_number(changed):
            if changed[:11] == body:  # the check digit itself changed: never valid
                raise AssertionError(changed)
            assert {_remainder(body, weights), _remainder(changed[:11], weights)} == {0, 1}


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_resident_code_round_trip_and_single_digit_changes(body):
    code = with_check_digit(body, resident_code_check_digit)
    assert is_valid_resident_code(code)
    weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    for changed in _single_digit_changes(code):
        if is_valid_resident_code(changed):
            assert changed[:10] != body
            assert {_remainder(body, weights), _remainder(changed[:10], weights)} == {0, 1}


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_municipality_code_round_trip(body):
    assert is_valid_municipality_code(with_check_digit(body, municipality_code_check_digit))


def test_resident_code_validator_is_replaceable(settings):
    from jukinet import identifiers

    settings.RESIDENT_CODE_VALIDATOR = "tests.jukinet.test_identifiers.always_seven"
    identifiers._resident_code_check_digit_function.cache_clear()
    try:
        assert is_valid_resident_code("12345678907")
        assert not is_valid_resident_code("12345678903")
    finally:
        identifiers._resident_code_check_digit_function.cache_clear()


def always_seven(first10: str) -> int:
    return 7


def test_check_digit_functions_reject_wrong_length():
    with pytest.raises(ValueError):
        individual_number_check_digit("123")
    with pytest.raises(ValueError):
        municipality_code_check_digit("12a45")
