"""The fast path of the format checks (steps 4–9) never accepts what the check functions would reject."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prefserver.intake import envelope as env
from tests.prefserver.intake_helpers import CODE_B, NUMBER, furyo_payload, identity_payload, notice

RECEIVED_ON = dt.date(2025, 4, 2)
ALLOWED = {
    "identity": frozenset(
        {"11", "12", "13", "21", "22", "23", "24", "25", "26", "27", "28", "31", "32", "91", "92", "99"}
    ),
    "furyo": frozenset({"27", "51", "52", "53", "54", "91", "92", "99"}),
}
PREFECTURE = frozenset({"352012", "352021"})

# Values of the right JSON type (so that step 1 passes) for each key: valid ones and every kind of bad one.
DATES = [None, "", "x", "2025-04-01", "2025-04-02", "2025-04-03", "20250401", "2025-02-30", "1980-04-01"]
CODES = [None, "", "12345678903", "12345678904", CODE_B, "1234567890"]
MUNICIPALITIES = [None, "", "352012", "352013", "352021", "131016", "131017"]
VALUES: dict[str, list[Any]] = {
    "change_reason": [None, "", "11", "12", "21", "27", "51", "52", "54", "91", "92", "99"],
    "change_date": DATES, "birth_date": DATES, "resident_code": CODES, "new_resident_code": CODES,
    "sent_at": [None, "", "x", "2025-04-01T10:00:00", "2025-04-01T10:00:00+09:00"],
    "individual_number": [None, "", NUMBER, "123456789019", "12345678901"],
    "address_municipality_code": MUNICIPALITIES, "furyo_municipality_code": MUNICIPALITIES,
    "update_sequence": [None, 0, 1, 2, 2**31 - 1, 2**31], "sex": [None, 0, 1, 2, 3],
    "status": [None, 0, 1, 2, 3, 9], "gaiji_flag": [None, True, False], "payload": [None, {}],
    "target_notice_id": [None, "", "ab!", "N-1"], "extra": ["x"],
}  # fmt: skip
for key in {*env.IDENTITY_PAYLOAD_KEYS, *env.FURYO_PAYLOAD_KEYS, "operator_id", "terminal_id"} - set(VALUES):
    if key in env.INTEGER_KEYS:
        top = 32_767 if key.endswith("_count") else 2**31 - 1
        VALUES[key] = [None, 0, -1, top, top + 1]
    else:
        limit = env.MAX_LENGTHS.get(key, 30)
        VALUES[key] = [None, "", "*", "x", "x" * limit, "x" * (limit + 1)]
CHANGE = st.tuples(st.booleans(), st.sampled_from(sorted(VALUES))).flatmap(
    lambda pair: st.tuples(st.just(pair[0]), st.just(pair[1]), st.sampled_from(VALUES[pair[1]]))
)
KEYS = st.sampled_from(sorted(VALUES))


def _base(file: str, reason: str) -> dict[str, Any]:
    if file == "identity":
        return notice(reason, 2, payload=identity_payload(birth_date="2025-04-01"), sent_at="2025-04-01T10:00:00+09:00")
    return notice(reason, 2, file="furyo", payload=furyo_payload(), sent_at="2025-04-01T10:00:00+09:00")


REASONS = ["11", "12", "21", "27", "51", "52", "54", "91", "92", "99", "x"]
PAYLOAD_SIDE = {*env.IDENTITY_PAYLOAD_KEYS, *env.FURYO_PAYLOAD_KEYS, "new_resident_code"}


def _mutated(file: str, reason: str, changes: list[tuple[bool, str, Any]], removals: list[tuple[bool, str]]):
    envelope = _base(file, reason)
    payload = envelope.pop("payload")
    for in_payload, key, value in changes:
        (payload if in_payload else envelope)[key] = value
    for in_payload, key in removals:
        (payload if in_payload else envelope).pop(key, None)
    envelope.setdefault("payload", payload)
    return envelope


def _judge(envelope: dict[str, Any]) -> None:
    """The fast path accepts only what the check functions accept, with the same parsed notice; and the public
    function gives the check functions' answer either way."""
    payload = envelope["payload"]
    number = payload.get("individual_number") if isinstance(payload, dict) else None
    number = number if isinstance(number, str) else None
    kwargs: dict[str, Any] = dict(
        received_on=RECEIVED_ON, individual_number=number, allowed_reasons=ALLOWED, prefecture_codes=PREFECTURE
    )
    fast = env._accept(envelope, RECEIVED_ON, number, ALLOWED, PREFECTURE)
    slow = _slow(dict(envelope), **kwargs)
    if fast:  # the notice itself is built by parse_notice's one constructor either way
        assert isinstance(slow, env.ParsedNotice), envelope
    assert env.parse_notice(envelope, **kwargs) == slow


def test_fast_path_agrees_with_the_check_functions_on_every_single_change():
    # given each notice with one field set to each of its test values, added where absent, or removed
    for file in ("identity", "furyo"):
        for reason in REASONS:
            for key, values in VALUES.items():
                for in_payload in {key in PAYLOAD_SIDE, key == "extra"}:
                    cases = [_mutated(file, reason, [(in_payload, key, value)], []) for value in values]
                    cases.append(_mutated(file, reason, [], [(in_payload, key)]))
                    for envelope in cases:
                        if env.receipt_check(envelope) is None:  # steps 4–9 run on notices that passed step 1
                            # when both paths judge it, then they agree
                            _judge(envelope)


@settings(max_examples=300, deadline=None)
@given(
    file=st.sampled_from(["identity", "furyo"]),
    reason=st.sampled_from(REASONS),
    changes=st.lists(CHANGE, min_size=2, max_size=3),
    removals=st.lists(st.tuples(st.booleans(), KEYS), max_size=1),
)
def test_fast_path_agrees_with_the_check_functions_on_combined_changes(file, reason, changes, removals):
    # given a notice with several fields replaced, added or removed
    envelope = _mutated(file, reason, changes, removals)
    assume(env.receipt_check(envelope) is None)  # steps 4–9 run on notices that passed step 1
    # when both paths judge it, then they agree
    _judge(envelope)


def _slow(envelope: dict[str, Any], **kwargs: Any) -> env.ParsedNotice | env.Failure:
    original = env._accept
    env._accept = lambda *args: False  # type: ignore[assignment]
    try:
        return env.parse_notice(envelope, **kwargs)
    finally:
        env._accept = original


def test_fast_path_accepts_the_usual_notices():
    # given valid notices of both files, with and without a code change
    identity = _base("identity", "21")
    code_change = _base("identity", "27")
    code_change["payload"]["new_resident_code"] = CODE_B
    furyo = _base("furyo", "51")
    for envelope in (identity, code_change, furyo):
        number = envelope["payload"].get("individual_number")
        # when the fast path judges them, then it accepts them
        assert env._accept(envelope, RECEIVED_ON, number, ALLOWED, PREFECTURE)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(["<encrypted>", "blind:x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
MEMBER_KEYS = st.sampled_from(["individual_number", "sent_at", "name", "payload", "notice_id", "a", "<encrypted>"])


@settings(max_examples=300, deadline=None)
@given(
    top=st.dictionaries(MEMBER_KEYS, JSON_VALUES, max_size=4),
    payload=st.one_of(st.none(), st.dictionaries(MEMBER_KEYS, JSON_VALUES, max_size=4)),
    number=st.one_of(st.none(), st.sampled_from([NUMBER, "<encrypted>", ""]), st.integers()),
    sent_at=st.one_of(st.just("absent"), JSON_VALUES),
)
def test_one_encoding_gives_the_content_hash_and_the_stored_envelope(top, payload, number, sent_at):
    # given any envelope, with or without a payload individual number and sent_at
    import json

    element = {"notice_id": "N-1", **top}
    if payload is not None:
        element["payload"] = {**payload, **({"individual_number": number} if number is not None else {})}
    if sent_at != "absent":
        element["sent_at"] = sent_at
    has_number = isinstance(element.get("payload"), dict) and isinstance(
        element["payload"].get("individual_number"), str
    )
    index = "ab12" if has_number else None
    # when the hash and the stored text come from one encoding
    digest, stored = env.content_sha256_and_stored_json(element, number_index=index)
    # then both equal what two separate encodings give
    assert digest == env.content_sha256(element, number_index=index)
    expected = dict(element)
    if has_number:
        expected["payload"] = {**element["payload"], "individual_number": env.ENCRYPTED_MARKER}
    assert json.loads(stored) == expected
