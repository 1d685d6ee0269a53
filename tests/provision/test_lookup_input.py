"""provision.api.lookup_input: the fast path for plain well-formed input gives exactly LookupInputSerializer's
validated data, and every other input (invalid ones included) goes through the serializer."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from provision.api import LookupInputSerializer, _lookup_input_fast, lookup_input

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=210)
_DIGITS = st.text(alphabet="0123456789０１２３４５６７８９ \n", max_size=13)
_VALUE = st.one_of(_TEXT, _DIGITS, st.none(), st.integers(), st.booleans(), st.text(max_size=5))
_CONDITIONS = st.dictionaries(
    st.sampled_from(["resident_code", "individual_number", "name", "name_kana", "address", "birth_date", "sex",
                     "unknown"]),
    _VALUE,
    max_size=4,
)  # fmt: skip
_BODY = st.fixed_dictionaries(
    {"affair": st.one_of(st.sampled_from(["S6-EDU-01", "", " S6-EDU-01"]), _TEXT, st.integers())},
    optional={
        "conditions": st.one_of(_CONDITIONS, st.none(), st.lists(st.integers(), max_size=1)),
        "include_individual_number": st.one_of(st.booleans(), st.sampled_from(["true", 1, None])),
        "document_reference": st.one_of(_TEXT, st.integers()),
    },
)


def _serializer(data: Any) -> dict[str, Any] | None:
    serializer = LookupInputSerializer(data=data)
    if not serializer.is_valid():
        return None
    data = dict(serializer.validated_data)
    data["conditions"] = dict(data["conditions"])
    return data


@settings(max_examples=400, deadline=None)
@given(_BODY)
def test_fast_path_gives_the_serializers_data_or_steps_aside(body):
    # when
    fast = _lookup_input_fast(body)
    # then
    if fast is not None:
        assert fast == _serializer(body)


def test_plain_lookups_take_the_fast_path():
    # given
    body = {"affair": "S6-EDU-01", "conditions": {"resident_code": "12345678903", "name": "山口　花子"}}
    # when / then
    expected = {"affair": "S6-EDU-01", "include_individual_number": False, "document_reference": "",
                "conditions": {"resident_code": "12345678903", "name": "山口　花子"}}  # fmt: skip
    assert _lookup_input_fast(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"affair": "S6-EDU-01", "conditions": {"resident_code": "1234567890"}},
        {"affair": "S6-EDU-01", "conditions": {"resident_code": "12345678903"}, "extra": 1},
        {"affair": "S6-EDU-01", "conditions": {"name": "x" * 101}},
        {"affair": "S6-EDU-01"},
        {"affair": "S6-EDU-01", "conditions": {"sex": 3}},
    ],
)
def test_invalid_input_is_the_serializers_400(body):
    # when / then
    assert _lookup_input_fast(body) is None
    with pytest.raises(ValidationError):
        lookup_input(body)
