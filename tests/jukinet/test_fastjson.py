"""jukinet/fastjson.py: orjson on intake's hot paths, with the standard library's results.

The canonical text is what content hashes are taken of (prefserver/intake/envelope.py), so it is held to the
standard library's text for every character and for the key order; what orjson would write differently goes to
the standard library."""

from __future__ import annotations

import json
import random

import pytest

from jukinet import fastjson

STDLIB_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def test_every_character_is_written_as_the_standard_library_writes_it() -> None:
    # Escaping is per character, so equal texts for runs of consecutive code points mean equal texts for each.
    for start in range(0, 0x110000, 4096):
        text = "".join(chr(c) for c in range(start, min(start + 4096, 0x110000)) if not 0xD800 <= c <= 0xDFFF)
        value = {"k": text, text[:3]: [text, 1]}
        assert fastjson.canonical(value) == STDLIB_CANONICAL(value)


def test_keys_are_sorted_as_the_standard_library_sorts_them() -> None:
    rng = random.Random(4)
    alphabet = [chr(c) for c in [*range(0x20, 0x7F), *range(0x3041, 0x3097), 0xFF5E, 0xE000, 0x1F600, 0x20000]]
    for _ in range(2000):
        value = {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))): rng.choice([0, -1, 2**63 - 1, "x", None])
            for _ in range(rng.randint(0, 8))
        }
        nested = {"payload": value, "list": [value, True, False]}
        assert fastjson.canonical(nested) == STDLIB_CANONICAL(nested)


def nested(depth: int, inner: object) -> object:
    for _ in range(depth):
        inner = [inner]
    return inner


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1.5, "b": 1e-7, "c": -0.0},  # floats: the standard library writes 1e-07, orjson 1e-7
        {"a": float("nan"), "b": float("inf")},  # NaN and Infinity: orjson writes null
        {"a": 2**64, "b": -(2**63) - 1},  # beyond 64 bits
        {"a": "\ud800"},  # a lone surrogate (json.loads makes one from "\\ud800")
        {1: "a non-string key"},
        ("a", "tuple"),
        {"a": [1, {"b": [True, None, 1e-7]}]},  # a float deep inside containers
        [{"x": 1}, [[], {}], [1e-7]],
        {"a": {"b": {"c": 2**64}}},
        nested(5, [1e-7]),  # a float five lists deep
        nested(40, {"a": 1}),
        nested(300, []),  # nesting orjson refuses (over 255 deep)
        "a scalar",
        2**64,
    ],
)
def test_what_orjson_would_write_differently_is_written_by_the_standard_library(value: object) -> None:
    assert fastjson.canonical(value) == STDLIB_CANONICAL(value)


def test_loads_gives_the_standard_librarys_result_for_texts_orjson_refuses() -> None:
    text = '{"a": NaN, "b": 123456789012345678901234567890, "c": "見本"}'
    parsed = fastjson.loads(text)
    assert parsed["b"] == 123456789012345678901234567890 and parsed["c"] == "見本"
    assert parsed["a"] != parsed["a"]  # NaN
    assert fastjson.loads(b'{"x": [1, 2.5, null]}') == {"x": [1, 2.5, None]}
    with pytest.raises(ValueError):
        fastjson.loads('{"unterminated": ')


def test_dumps_writes_valid_json_that_reads_back_the_same() -> None:
    value = {"updates": [{"name": "見本　太郎", "sex": 1, "gaiji_flag": False, "last_address": None}], "n": 2**70}
    assert json.loads(fastjson.dumps(value)) == value
    assert json.loads(fastjson.dumps({"f": 1.25})) == {"f": 1.25}
