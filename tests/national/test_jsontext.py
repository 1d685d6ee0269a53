"""The simulator's JSON (national/jsontext.py): orjson, with the standard library for what orjson refuses."""

from __future__ import annotations

import json
import math

import pytest

from national import jsontext


@pytest.fixture(params=["orjson", "stdlib"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "stdlib":
        monkeypatch.setattr(jsontext, "orjson", None)
    else:
        assert jsontext.orjson is not None
    return request.param


def test_every_character_reads_back(backend: str) -> None:
    characters = [chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF]
    for start in range(0, len(characters), 4096):
        entry = ["P", "identity", "".join(characters[start : start + 4096]), True, None, 7]
        text = jsontext.dumps(entry)
        assert json.loads(text) == entry
        assert jsontext.loads(text.encode()) == entry


@pytest.mark.parametrize(
    "value",
    [
        ["C", {"accepted": 3, "rejected": 0}],
        ["R", "identity", "12345678901", 2**63 - 1, -(2**63), "2026-11-27T00:00:00+00:00"],
        ["big", 2**64, -(2**63) - 1],  # beyond orjson's integers
        ["float", 1e-07, 0.5, 1e22],
        ["surrogate", "\ud800"],  # orjson refuses lone surrogates
        {"nested": [{"a": [None, False, "改行\n\t\u0000"]}]},
    ],
)
def test_what_orjson_refuses_is_written_by_the_standard_library(backend: str, value: object) -> None:
    text = jsontext.dumps(value)
    assert "\n" not in text and ", " not in text  # one journal line, compact
    assert json.loads(text) == value


def test_loads_accepts_what_the_standard_library_accepts(backend: str) -> None:
    assert jsontext.loads(b'{"a":[1,2,"\xe8\xa6\x8b\xe6\x9c\xac"]}') == {"a": [1, 2, "見本"]}
    assert jsontext.loads(b'{"n":' + str(2**70).encode() + b"}") == {"n": 2**70}
    assert math.isnan(jsontext.loads(b"[NaN]")[0])
    assert jsontext.loads('["text"]') == ["text"]


@pytest.mark.parametrize("raw", [b"{", b'{"a":1', b"\xff\xfe", b'{"a":"\xff"}', b""])
def test_loads_refuses_what_the_standard_library_refuses(backend: str, raw: bytes) -> None:
    with pytest.raises(ValueError):
        jsontext.loads(raw)
