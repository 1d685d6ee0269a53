"""The national side's copy of the check digits and match key equals the prefecture's (domain.md §3, §4.2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet import identifiers as prefecture
from jukinet import search_keys
from national import identifiers as national

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_individual_number_check_digit_matches(first11: str) -> None:
    assert national.individual_number_check_digit(first11) == prefecture.individual_number_check_digit(first11)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_resident_code_check_digit_matches(first10: str) -> None:
    assert national.resident_code_check_digit(first10) == prefecture.resident_code_check_digit(first10)


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_municipality_code_check_digit_matches(first5: str) -> None:
    assert national.municipality_code_check_digit(first5) == prefecture.municipality_code_check_digit(first5)


@given(st.text(max_size=30))
def test_text_key_matches(text: str) -> None:
    assert national.text_key(text) == search_keys.text_key(text)


def test_domain_vectors() -> None:
    assert national.is_valid_individual_number("123456789018")
    assert not national.is_valid_individual_number("123456789012")
    assert national.is_valid_resident_code("12345678903")
    assert not national.is_valid_resident_code("12345678904")
    assert national.is_valid_municipality_code("352039")
    assert national.is_valid_municipality_code("011011")


def test_national_package_never_imports_django_or_the_prefecture() -> None:
    # The simulator is a separate system (issue 4): no Django, no prefecture app.
    forbidden = ("django", "jukinet", "prefserver", "furyo", "audit", "disclosure")
    package = Path(national.__file__).parent
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{source.name} imports {name}"


@pytest.mark.parametrize("text", ["12345a7890", "１２３４５６７８９０", "123456789"])
def test_check_digits_of_anything_but_ascii_digits_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        national.resident_code_check_digit(text)
