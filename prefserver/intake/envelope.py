"""The notice envelope of domain.md §6.1 and the checks that need no stored state (§6.4 steps 1, 4–9).

Messages name keys, never values (§19). Step 1 (E001) runs on receipt; steps 4–9 run on a stored notice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from jukinet.fastjson import canonical
from jukinet.identifiers import is_valid_individual_number, is_valid_municipality_code, is_valid_resident_code

IDENTITY = "identity"
FURYO = "furyo"
FILES = (IDENTITY, FURYO)

NOTICE_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,40}$")
MUNICIPALITY_CODE_RE = re.compile(r"^[0-9]{6}$")

ENVELOPE_KEYS = frozenset(
    {
        "notice_id", "municipality_code", "file", "change_reason", "change_date", "update_sequence",
        "resident_code", "target_notice_id", "payload", "operator_id", "terminal_id", "sent_at",
    }
)  # fmt: skip
# Envelope keys every notice carries (target_notice_id: 91 and 92 only).
REQUIRED_ENVELOPE_KEYS = (
    "change_reason", "change_date", "update_sequence", "resident_code", "payload", "operator_id", "terminal_id",
    "sent_at",
)  # fmt: skip

IDENTITY_PAYLOAD_KEYS = (
    "name", "name_gaiji_count", "name_kana", "birth_date", "sex", "address", "address_gaiji_count",
    "individual_number", "district_code", "gaiji_flag", "name_gaiji_revision", "address_gaiji_revision",
    "former_surname", "former_surname_gaiji_count", "former_surname_kana", "former_surname_gaiji_revision",
)  # fmt: skip
FURYO_PAYLOAD_KEYS = (
    "name", "name_gaiji_count", "name_kana", "birth_date", "sex", "address_municipality_code", "address",
    "address_gaiji_count", "last_address", "last_address_gaiji_count", "furyo_municipality_code", "status",
    "gaiji_flag", "gaiji_pattern",
)  # fmt: skip
PAYLOAD_KEYS = {IDENTITY: IDENTITY_PAYLOAD_KEYS, FURYO: FURYO_PAYLOAD_KEYS}
NEW_RESIDENT_CODE = "new_resident_code"

# JSON types (§6.1): integers, one boolean, strings for everything else; null is never a type error.
INTEGER_KEYS = frozenset(
    {
        "update_sequence", "sex", "status", "name_gaiji_count", "address_gaiji_count", "former_surname_gaiji_count",
        "last_address_gaiji_count", "name_gaiji_revision", "address_gaiji_revision", "former_surname_gaiji_revision",
    }
)  # fmt: skip
BOOLEAN_KEYS = frozenset({"gaiji_flag"})
NULLABLE_KEYS = frozenset(
    {
        "former_surname", "former_surname_gaiji_count", "former_surname_kana", "former_surname_gaiji_revision",
        "last_address", "last_address_gaiji_count", "address_municipality_code",
    }
)  # fmt: skip
MAX_LENGTHS = {
    "name": 100, "name_kana": 100, "address": 200, "district_code": 20, "former_surname": 50,
    "former_surname_kana": 50, "last_address": 200, "gaiji_pattern": 20, "operator_id": 32, "terminal_id": 32,
}  # fmt: skip
NON_EMPTY_KEYS = frozenset({"name", "name_kana", "address", "operator_id", "terminal_id"})
DATE_KEYS = frozenset({"birth_date"})

# Field groups (§6.1) and what each change reason may change (§6.2, last column).
ADDRESS_GROUP = frozenset({"address", "address_gaiji_count", "address_gaiji_revision", "district_code", "gaiji_flag"})
NAME_GROUP = frozenset({"name", "name_gaiji_count", "name_kana", "name_gaiji_revision", "gaiji_flag"})
FORMER_SURNAME_GROUP = frozenset(
    {
        "former_surname",
        "former_surname_gaiji_count",
        "former_surname_kana",
        "former_surname_gaiji_revision",
        "gaiji_flag",
    }
)
FURYO_ADDRESS_KEYS = frozenset({"address_municipality_code", "address", "address_gaiji_count"})
FURYO_LAST_ADDRESS_KEYS = frozenset({"last_address", "last_address_gaiji_count"})

ENTRY_CODES = frozenset({"11", "12", "13", "51"})
REMOVAL_CODES = frozenset({"31", "32", "33", "34", "54"})
CORRECTION = "91"
CANCELLATION = "92"
CONTROL_CODES = frozenset({CORRECTION, CANCELLATION})
MANUAL_CORRECTION = "99"
BIRTH = "12"
MOVE_WITHIN = "21"
CODE_CHANGE = "27"
FURYO_REMOVAL = "54"

# Placeholder left in the stored envelope where the individual number was (the number is kept encrypted).
ENCRYPTED_MARKER = "<encrypted>"


@dataclass(frozen=True)
class Failure:
    """A failed check: its result code and the offending keys (never values)."""

    code: str
    keys: tuple[str, ...] = ()


@dataclass
class ParsedNotice:
    """A notice that passed steps 4–9, with typed values."""

    file: str
    change_reason: str
    change_date: dt.date
    update_sequence: int
    resident_code: str
    operator_id: str
    terminal_id: str
    target_notice_id: str | None
    new_resident_code: str | None
    content: dict[str, Any] = field(default_factory=dict)  # payload keys, dates parsed; none for a 92


# The JSON type of each key (§6.1), looked up once per present key in receipt_check.
_STR, _INT, _BOOL = 0, 1, 2


def _kind(key: str) -> int:
    return _INT if key in INTEGER_KEYS else _BOOL if key in BOOLEAN_KEYS else _STR


_ENVELOPE_KINDS = {key: _kind(key) for key in ENVELOPE_KEYS if key != "payload"}
_PAYLOAD_KINDS = {file: {key: _kind(key) for key in (*keys, NEW_RESIDENT_CODE)} for file, keys in PAYLOAD_KEYS.items()}


def _types_ok(mapping: dict[str, Any], kinds: dict[str, int]) -> bool:
    """Every known key of `mapping` has its JSON type (null is never a type error; unknown keys are step 4)."""
    for key, value in mapping.items():
        if value is None:
            continue
        kind = kinds.get(key)
        if kind is None:
            continue
        if kind == _STR:
            if not isinstance(value, str):
                return False
        elif kind == _INT:
            if not isinstance(value, int) or isinstance(value, bool):
                return False
        elif not isinstance(value, bool):
            return False
    return True


def receipt_check(element: object) -> str | None:
    """Step 1: E001 when the element cannot be identified or a known field has the wrong JSON type."""
    if not isinstance(element, dict):
        return "E001"
    notice_id, code, file = element.get("notice_id"), element.get("municipality_code"), element.get("file")
    if not (isinstance(notice_id, str) and NOTICE_ID_RE.match(notice_id)):
        return "E001"
    if not (isinstance(code, str) and MUNICIPALITY_CODE_RE.match(code)):
        return "E001"
    if file not in FILES:
        return "E001"
    if not _types_ok(element, _ENVELOPE_KINDS):
        return "E001"
    payload = element.get("payload")
    if payload is None:
        return None
    if not isinstance(payload, dict):
        return "E001"
    return None if _types_ok(payload, _PAYLOAD_KINDS[file]) else "E001"


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, non-ASCII as is: the standard library's text, written by orjson (jukinet.fastjson)."""
    return canonical(value)


def content_sha256(element: dict[str, Any], *, number_index: str | None) -> str:
    """SHA-256 of the envelope without sent_at (duplicate comparison, §6.4 step 3).

    A payload individual number enters the hash as its blind index: a plain hash of an envelope whose other
    fields are stored could be reversed by trying the 10^11 valid numbers.
    """
    envelope = {k: v for k, v in element.items() if k != "sent_at"}
    payload = envelope.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("individual_number"), str):
        envelope["payload"] = {**payload, "individual_number": f"blind:{number_index}"}
    return hashlib.sha256(canonical_json(envelope).encode()).hexdigest()


_MARKER_MEMBER = canonical_json({"individual_number": ENCRYPTED_MARKER})[1:-1]


def content_sha256_and_stored_json(element: dict[str, Any], *, number_index: str | None) -> tuple[str, str]:
    """(content_sha256(element, number_index=…), the JSON text the inbox stores: the envelope with a payload
    individual number replaced by ENCRYPTED_MARKER), from one canonical encoding instead of two.

    The canonical text of the envelope without sent_at, the number replaced by the marker, is both: hashed
    after the marker member is swapped for the blind index, and stored with sent_at put back in front (the
    column keeps this text as it is). When the marker member is not found exactly once
    (a sender's own key or value spelled like it), both are computed the plain way."""
    envelope = {k: v for k, v in element.items() if k != "sent_at"}
    payload = envelope.get("payload")
    has_number = isinstance(payload, dict) and isinstance(payload.get("individual_number"), str)
    if isinstance(payload, dict) and has_number:
        envelope["payload"] = {**payload, "individual_number": ENCRYPTED_MARKER}
    text = canonical_json(envelope)
    hashed = text
    if has_number:
        if text.count(_MARKER_MEMBER) != 1:
            stored = {**element, "payload": envelope["payload"]}
            return content_sha256(element, number_index=number_index), canonical_json(stored)
        blind = f'"individual_number":"blind:{number_index}"'  # = canonical_json({…})[1:-1]: the index is hex
        hashed = text.replace(_MARKER_MEMBER, blind)
    digest = hashlib.sha256(hashed.encode()).hexdigest()
    if "sent_at" not in element:
        return digest, text
    sent_at = '{"sent_at":' + canonical_json(element["sent_at"])  # = canonical_json({"sent_at": …}) without "}"
    return digest, (sent_at + "," + text[1:]) if text != "{}" else sent_at + "}"


def _parse_date(value: object) -> dt.date | None:
    """YYYY-MM-DD only (fromisoformat alone also takes 20250401 and week dates)."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    return _parse_date_text(value)


@lru_cache(maxsize=8192)  # a stream repeats its dates; parsing is a good part of the format checks' cost
def _parse_date_text(value: str) -> dt.date | None:
    digits = value[:4] + value[5:7] + value[8:]
    if not (value[4] == "-" and value[7] == "-" and digits.isascii() and digits.isdigit()):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check_allowed_keys(envelope: dict[str, Any]) -> Failure | None:
    """Step 4 (E002)."""
    unknown = sorted(set(envelope) - ENVELOPE_KEYS)
    reason = envelope.get("change_reason")
    if "target_notice_id" in envelope and reason not in CONTROL_CODES:
        unknown.append("target_notice_id")
    payload = envelope.get("payload")
    if isinstance(payload, dict):
        if reason == CANCELLATION:
            unknown.extend(sorted(payload))
        else:
            allowed = set(PAYLOAD_KEYS[envelope["file"]])
            unknown.extend(sorted(set(payload) - allowed - {NEW_RESIDENT_CODE}))
            if NEW_RESIDENT_CODE in payload and reason != CODE_CHANGE:
                unknown.append(NEW_RESIDENT_CODE)
    return Failure("E002", tuple(unknown)) if unknown else None


def _value_ok(key: str, value: object) -> bool:
    return bool(_value_check(key)(value))


_MISSING = object()


@cache
def _value_check(key: str) -> Any:
    """The value rule of one key (built once per key: the branch on the key is taken here, not per value)."""
    if key in DATE_KEYS:
        return lambda value: _parse_date(value) is not None
    if key == "sex":
        return lambda value: value in (1, 2)
    if key == "status":
        return lambda value: value in (1, 2, 9)
    if key in INTEGER_KEYS:  # *_count are smallint columns, *_revision integer columns
        top = 32_767 if key.endswith("_count") else 2_147_483_647
        return lambda value: isinstance(value, int) and 0 <= value <= top
    non_empty, limit = key in NON_EMPTY_KEYS, MAX_LENGTHS.get(key, 10_000)
    return lambda value: (bool(value) or not non_empty) and len(value) <= limit if isinstance(value, str) else True


@cache
def _payload_rules(file: str) -> tuple[tuple[str, bool, Any], ...]:
    """(key, nullable, value check) for each payload key of a file, in the order E003 names them."""
    return tuple((key, key in NULLABLE_KEYS, _value_check(key)) for key in PAYLOAD_KEYS[file])


def check_required(envelope: dict[str, Any]) -> Failure | None:
    """Step 5 (E003): required key missing, a null where none is allowed, or a malformed value."""
    bad: list[str] = []
    reason = envelope.get("change_reason")
    for key in REQUIRED_ENVELOPE_KEYS:
        if envelope.get(key) is None:
            bad.append(key)
    if reason in CONTROL_CODES and envelope.get("target_notice_id") is None:
        bad.append("target_notice_id")
    target = envelope.get("target_notice_id")
    if isinstance(target, str) and not NOTICE_ID_RE.match(target):
        bad.append("target_notice_id")
    if envelope.get("change_date") is not None and _parse_date(envelope["change_date"]) is None:
        bad.append("change_date")
    sequence = envelope.get("update_sequence")
    if isinstance(sequence, int) and not (1 <= sequence <= 2_147_483_647):
        bad.append("update_sequence")
    if envelope.get("sent_at") is not None and _parse_time(envelope["sent_at"]) is None:
        bad.append("sent_at")
    for key in ("operator_id", "terminal_id"):
        if envelope.get(key) is not None and not _value_ok(key, envelope[key]):
            bad.append(key)
    payload = envelope.get("payload")
    if isinstance(payload, dict) and reason != CANCELLATION:
        for key, nullable, value_ok in _payload_rules(envelope["file"]):
            value = payload.get(key, _MISSING)
            if value is None:
                if not nullable:
                    bad.append(key)
            elif value is _MISSING or not value_ok(value):
                bad.append(key)
        if reason == CODE_CHANGE and payload.get(NEW_RESIDENT_CODE) is None:
            bad.append(NEW_RESIDENT_CODE)
    return Failure("E003", tuple(dict.fromkeys(bad))) if bad else None


def check_change_reason(envelope: dict[str, Any], *, allowed: dict[str, frozenset[str]]) -> Failure | None:
    """Step 7 (E007): unknown, not allowed for the file, or 99 (never from a CS, §6.6)."""
    reason = envelope["change_reason"]
    if reason == MANUAL_CORRECTION or reason not in allowed[envelope["file"]]:
        return Failure("E007", ("change_reason",))
    return None


def check_municipality_codes(envelope: dict[str, Any], *, prefecture_codes: frozenset[str]) -> Failure | None:
    """Step 6 (E006): payload municipality codes (check digit; furyo_municipality_code in this prefecture)."""
    payload = envelope["payload"]
    bad = []
    address_code = payload.get("address_municipality_code")
    if address_code is not None and not is_valid_municipality_code(address_code):
        bad.append("address_municipality_code")
    furyo_code = payload.get("furyo_municipality_code")
    if furyo_code is not None and (not is_valid_municipality_code(furyo_code) or furyo_code not in prefecture_codes):
        bad.append("furyo_municipality_code")
    return Failure("E006", tuple(bad)) if bad else None


def check_identifiers(envelope: dict[str, Any], *, individual_number: str | None) -> Failure | None:
    """Step 8: E004 resident codes (§3.3), then E005 individual number (§3.1)."""
    bad = [] if is_valid_resident_code(envelope["resident_code"]) else ["resident_code"]
    new_code = envelope["payload"].get(NEW_RESIDENT_CODE)
    if new_code is not None and not is_valid_resident_code(new_code):
        bad.append(NEW_RESIDENT_CODE)
    if bad:
        return Failure("E004", tuple(bad))
    if individual_number is not None and not is_valid_individual_number(individual_number):
        return Failure("E005", ("individual_number",))
    return None


def check_dates(envelope: dict[str, Any], *, received_on: dt.date) -> Failure | None:
    """Step 9 (E008): change_date or birth_date after the receipt date (Asia/Tokyo)."""
    bad = []
    change_date = _parse_date(envelope["change_date"])
    if change_date is not None and change_date > received_on:
        bad.append("change_date")
    birth_date = _parse_date(envelope["payload"].get("birth_date"))
    if birth_date is not None and birth_date > received_on:
        bad.append("birth_date")
    return Failure("E008", tuple(bad)) if bad else None


# --- the fast path of steps 4–9 ----------------------------------------------------------------------------
# The common notice passes every check. `_accept` runs all of them in one pass over precomputed per-file rule
# tables and returns True only when every check passes; on anything unusual (a 91/92, an unknown or missing
# key, a null, a bad value, a date) it returns False and the check functions above decide, in their
# order, with their codes and keys. So `_accept` may be stricter than the checks, never looser: it only saves
# the per-check function calls, sets and sorts of the usual case.

_TEXT, _DATE, _COUNT, _CHOICE, _FLAG = range(5)


def _rule(key: str) -> tuple[str, bool, int, Any]:
    """(key, nullable, kind, parameter) of one payload key, mirroring _value_check and the §6.1 types."""
    nullable = key in NULLABLE_KEYS
    if key in DATE_KEYS:
        return key, nullable, _DATE, None
    if key == "sex":
        return key, nullable, _CHOICE, (1, 2)
    if key == "status":
        return key, nullable, _CHOICE, (1, 2, 9)
    if key in INTEGER_KEYS:
        return key, nullable, _COUNT, 32_767 if key.endswith("_count") else 2_147_483_647
    if key in BOOLEAN_KEYS:
        return key, nullable, _FLAG, None
    return key, nullable, _TEXT, (key in NON_EMPTY_KEYS, MAX_LENGTHS.get(key, 10_000))


_FAST_RULES = {file: tuple(_rule(key) for key in keys) for file, keys in PAYLOAD_KEYS.items()}
_FAST_KEYS = {file: frozenset(keys) for file, keys in PAYLOAD_KEYS.items()}
_FAST_KEYS_27 = {file: frozenset((*keys, NEW_RESIDENT_CODE)) for file, keys in PAYLOAD_KEYS.items()}
_ID_LIMITS = (MAX_LENGTHS["operator_id"], MAX_LENGTHS["terminal_id"])


def _accept(
    envelope: dict[str, Any],
    received_on: dt.date,
    individual_number: str | None,
    allowed_reasons: dict[str, frozenset[str]],
    prefecture_codes: frozenset[str],
) -> bool:
    """Every check of steps 4–9 at once for the usual notice: True when all pass; False lets the check
    functions decide (they find the failure, or accept what this fast path does not cover)."""
    reason = envelope.get("change_reason")
    payload = envelope.get("payload")
    file = envelope.get("file")
    if type(reason) is not str or type(payload) is not dict or file not in _FAST_KEYS:
        return False
    if reason in CONTROL_CODES or "target_notice_id" in envelope:
        return False
    # step 4 (envelope keys; payload keys exactly the file's, plus new_resident_code on a 27 only)
    if not ENVELOPE_KEYS.issuperset(envelope):
        return False
    if payload.keys() != (_FAST_KEYS_27 if reason == CODE_CHANGE else _FAST_KEYS)[file]:
        return False
    # step 5, envelope
    sequence, resident_code = envelope.get("update_sequence"), envelope.get("resident_code")
    operator_id, terminal_id = envelope.get("operator_id"), envelope.get("terminal_id")
    change_date = _parse_date(envelope.get("change_date"))
    if (
        change_date is None
        or type(sequence) is not int
        or not 1 <= sequence <= 2_147_483_647
        or type(resident_code) is not str
        or type(operator_id) is not str
        or not 0 < len(operator_id) <= _ID_LIMITS[0]
        or type(terminal_id) is not str
        or not 0 < len(terminal_id) <= _ID_LIMITS[1]
        or _parse_time(envelope.get("sent_at")) is None
    ):
        return False
    # step 5, payload
    birth_date = None
    for key, nullable, kind, parameter in _FAST_RULES[file]:
        value = payload[key]
        if value is None:
            if nullable:
                continue
            return False
        if kind == _TEXT:
            if type(value) is not str or len(value) > parameter[1] or (parameter[0] and not value):
                return False
        elif kind == _COUNT:
            if type(value) is not int or not 0 <= value <= parameter:
                return False
        elif kind == _CHOICE:
            if type(value) is not int or value not in parameter:
                return False
        elif kind == _DATE:
            birth_date = _parse_date(value)
            if birth_date is None:
                return False
        elif type(value) is not bool:
            return False
    new_code = payload.get(NEW_RESIDENT_CODE)
    if reason == CODE_CHANGE and (type(new_code) is not str or not is_valid_resident_code(new_code)):
        return False
    # step 7 (E007), step 6 (E006), step 8 (E004, E005), step 9 (E008)
    if reason == MANUAL_CORRECTION or reason not in allowed_reasons[file]:
        return False
    address_code = payload.get("address_municipality_code")
    if address_code is not None and not is_valid_municipality_code(address_code):
        return False
    furyo_code = payload.get("furyo_municipality_code")
    if furyo_code is not None and (furyo_code not in prefecture_codes or not is_valid_municipality_code(furyo_code)):
        return False
    if not is_valid_resident_code(resident_code):
        return False
    if individual_number is not None and not is_valid_individual_number(individual_number):
        return False
    return change_date <= received_on and (birth_date is None or birth_date <= received_on)


def _first_failure(
    envelope: dict[str, Any],
    received_on: dt.date,
    individual_number: str | None,
    allowed_reasons: dict[str, frozenset[str]],
    prefecture_codes: frozenset[str],
) -> Failure | None:
    """Steps 4–9 one check at a time, in evaluation order: the first failure, or None."""
    if not isinstance(envelope.get("payload"), dict) and envelope.get("payload") is not None:
        return Failure("E003", ("payload",))
    for check in (check_allowed_keys, check_required):
        failure = check(envelope)
        if failure:
            return failure
    return (
        check_change_reason(envelope, allowed=allowed_reasons)
        or check_municipality_codes(envelope, prefecture_codes=prefecture_codes)
        or check_identifiers(envelope, individual_number=individual_number)
        or check_dates(envelope, received_on=received_on)
        or None
    )


def parse_notice(
    envelope: dict[str, Any],
    *,
    received_on: dt.date,
    individual_number: str | None,
    allowed_reasons: dict[str, frozenset[str]],
    prefecture_codes: frozenset[str],
) -> ParsedNotice | Failure:
    """Steps 4–9 in evaluation order; the first failing check decides."""
    if not _accept(envelope, received_on, individual_number, allowed_reasons, prefecture_codes):
        failure = _first_failure(envelope, received_on, individual_number, allowed_reasons, prefecture_codes)
        if failure:
            return failure
    payload = envelope["payload"]
    reason = envelope["change_reason"]
    content: dict[str, Any] = {}
    if reason != CANCELLATION:
        content = {key: payload[key] for key in PAYLOAD_KEYS[envelope["file"]]}
        content["birth_date"] = _parse_date(payload["birth_date"])
        if envelope["file"] == IDENTITY:
            content["individual_number"] = individual_number
    change_date = _parse_date(envelope["change_date"]) or dt.date.min  # parsed at step 5
    return ParsedNotice(
        file=envelope["file"],
        change_reason=reason,
        change_date=change_date,
        update_sequence=envelope["update_sequence"],
        resident_code=envelope["resident_code"],
        operator_id=envelope["operator_id"],
        terminal_id=envelope["terminal_id"],
        target_notice_id=envelope.get("target_notice_id"),
        new_resident_code=payload.get(NEW_RESIDENT_CODE),
        content=content,
    )
