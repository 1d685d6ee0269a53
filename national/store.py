"""The national simulator's own storage: in memory, made durable by an append-only journal (a separate system,
so not the prefecture's PostgreSQL; it keeps only what the simulated server needs).

State, rebuilt from the journal at start:
    receipts  one entry per idempotency key (file, resident_code, update_sequence, revision): content hash,
              times received, first receipt time
    persons   per file and resident code, the latest state and its update_sequence / revision (the record as
              received, and the exact-match keys lookups use, with an index by individual number and by 4情報)
    counters  running statistics (GET /v1/stats)

Journal: `national.journal` (mode 0600), one line per committed request: a JSON array of the changes it made.
A request's line is written and flushed before its changes reach memory and before the answer goes out, so a
crash of the process loses nothing it acknowledged (as SQLite in WAL mode with synchronous=NORMAL did, which
this replaced: same durability, less CPU per update). A last line cut short by a crash is dropped at the next
start (its request was never answered); an unreadable line with others after it stops the start
(JournalDamaged). A reset rewrites the journal as the state it keeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from national import jsontext
from national.identifiers import (
    is_iso_date,
    is_valid_individual_number,
    is_valid_municipality_code,
    is_valid_resident_code,
    text_key,
)

FILES = ("identity", "furyo")
KEY_FIELDS = ("update_sequence", "revision")
# domain.md §7: the 8 items of file (1) (seeds/002_b6d1246946737152.txt:818); code 27 adds the previous code.
IDENTITY_FIELDS = (
    "resident_code",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "individual_number",
    "change_reason",
    "change_date",
)
IDENTITY_OPTIONAL = ("previous_resident_code",)
# domain.md §5.1: the 18 附票 fields, never a 個人番号 (seeds/002_b6d1246946737152.txt:1052-1053).
FURYO_FIELDS = (
    "resident_code",
    "name",
    "name_gaiji_count",
    "name_kana",
    "birth_date",
    "sex",
    "address_municipality_code",
    "address",
    "address_gaiji_count",
    "last_address",
    "last_address_gaiji_count",
    "change_date",
    "former_resident_code",
    "furyo_municipality_code",
    "status",
    "gaiji_flag",
    "gaiji_pattern",
    "notice_kind",
)
FURYO_NULLABLE = frozenset(
    {"address_municipality_code", "last_address", "last_address_gaiji_count", "former_resident_code"}
)
IDENTITY_ENTRY = frozenset({"11", "12", "13"})
IDENTITY_REMOVAL = frozenset({"31", "32", "33", "34"})
COUNTER_NAMES = (
    "requests",
    "updates_received",
    "accepted",
    "duplicates",
    "rejected",
    "lookups",
    "tls_refused",
    "client_pin_refused",
    "faults_injected",
)


class UpdateRejected(Exception):
    """An update that cannot be received; `reason` is a machine code without personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JournalDamaged(Exception):
    """The store's journal has an unreadable entry that is not the last one: not a crash's torn line."""


class LookupRefused(Exception):
    """A lookup request the server refuses (400); `reason` carries no personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class BatchOutcome:
    acks: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(update: Mapping[str, Any], name: str, *, max_len: int, nullable: bool = False, empty: bool = False) -> None:
    value = update.get(name)
    if value is None and nullable:
        return
    if not isinstance(value, str) or (not value and not empty) or len(value) > max_len:
        raise UpdateRejected(f"invalid_field:{name}")


def _count(update: Mapping[str, Any], name: str, *, nullable: bool = False) -> None:
    value = update.get(name)
    if value is None and nullable:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UpdateRejected(f"invalid_field:{name}")


def key_of(update: Mapping[str, Any]) -> dict[str, Any]:
    """The acknowledgement key as far as it can be read (a malformed update echoes what it has)."""
    return {
        "resident_code": update.get("resident_code") if isinstance(update.get("resident_code"), str) else None,
        "update_sequence": update.get("update_sequence") if _is_int(update.get("update_sequence")) else None,
        "revision": update.get("revision") if _is_int(update.get("revision")) else None,
    }


_ALLOWED = {
    "identity": frozenset(IDENTITY_FIELDS) | frozenset(IDENTITY_OPTIONAL) | frozenset(KEY_FIELDS),
    "furyo": frozenset(FURYO_FIELDS) | frozenset(KEY_FIELDS),
}


def validate_update(file: str, update: object) -> dict[str, Any]:
    """Check one update of `file`; return it, or raise UpdateRejected with a reason code."""
    if not isinstance(update, dict):
        raise UpdateRejected("not_an_object")
    if file == "furyo" and "individual_number" in update:
        # domain.md §5.2: file (2) never carries a 個人番号, not even null.
        raise UpdateRejected("individual_number_not_allowed")
    allowed = _ALLOWED["identity" if file == "identity" else "furyo"]
    if not allowed.issuperset(update):
        raise UpdateRejected(f"unknown_field:{sorted(set(update) - allowed)[0]}")
    required = (IDENTITY_FIELDS if file == "identity" else FURYO_FIELDS) + KEY_FIELDS
    missing = [name for name in required if name not in update]
    if missing:
        raise UpdateRejected(f"missing_field:{missing[0]}")
    if not _is_int(update["update_sequence"]) or update["update_sequence"] < 1:
        raise UpdateRejected("invalid_field:update_sequence")
    if not _is_int(update["revision"]) or update["revision"] < 0:
        raise UpdateRejected("invalid_field:revision")
    if not is_valid_resident_code(update["resident_code"]):
        raise UpdateRejected("invalid_field:resident_code")
    _text(update, "name", max_len=100)
    _text(update, "name_kana", max_len=100)
    _text(update, "address", max_len=200)
    for name in ("birth_date", "change_date"):
        if not is_iso_date(update[name]):
            raise UpdateRejected(f"invalid_field:{name}")
    if update["sex"] not in (1, 2) or isinstance(update["sex"], bool):
        raise UpdateRejected("invalid_field:sex")
    if file == "identity":
        _validate_identity(update)
    else:
        _validate_furyo(update)
    return update


def _validate_identity(update: dict[str, Any]) -> None:
    if not is_valid_individual_number(update["individual_number"]):
        raise UpdateRejected("invalid_field:individual_number")
    reason = update["change_reason"]
    if not (isinstance(reason, str) and len(reason) == 2 and reason.isdigit()):
        raise UpdateRejected("invalid_field:change_reason")
    previous = update.get("previous_resident_code")
    if reason == "27":
        if not is_valid_resident_code(previous) or previous == update["resident_code"]:
            raise UpdateRejected("invalid_field:previous_resident_code")
    elif previous is not None:
        raise UpdateRejected("invalid_field:previous_resident_code")


def _validate_furyo(update: dict[str, Any]) -> None:
    for name in ("name_gaiji_count", "address_gaiji_count"):
        _count(update, name)
    _count(update, "last_address_gaiji_count", nullable=True)
    _text(update, "last_address", max_len=200, nullable=True)
    # An opaque municipal code kept as given (domain.md §5.1): "" (no pattern) is a value like any other.
    _text(update, "gaiji_pattern", max_len=20, nullable=True, empty=True)
    if update["address_municipality_code"] is not None and not is_valid_municipality_code(
        update["address_municipality_code"]
    ):
        raise UpdateRejected("invalid_field:address_municipality_code")
    if not is_valid_municipality_code(update["furyo_municipality_code"]):
        raise UpdateRejected("invalid_field:furyo_municipality_code")
    if update["status"] not in (1, 2, 9) or isinstance(update["status"], bool):
        raise UpdateRejected("invalid_field:status")
    if not isinstance(update["gaiji_flag"], bool):
        raise UpdateRejected("invalid_field:gaiji_flag")
    kind = update["notice_kind"]
    if not (isinstance(kind, str) and len(kind) == 2 and kind.isdigit()):
        raise UpdateRejected("invalid_field:notice_kind")
    former = update["former_resident_code"]
    if former is not None and not is_valid_resident_code(former):
        raise UpdateRejected("invalid_field:former_resident_code")
    for name in FURYO_FIELDS:
        if update[name] is None and name not in FURYO_NULLABLE and name != "gaiji_pattern":
            raise UpdateRejected(f"invalid_field:{name}")


# One encoding per update, sorted (= json.dumps(…, sort_keys=True, ensure_ascii=False)): its SHA-256 is the content
# hash a repeat is compared by, and the same text is the stored record (key order carries no meaning in JSON).
_record_encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


def hash_and_record(update: Mapping[str, Any]) -> tuple[str, str]:
    """(the update's content hash, the record text stored for it): one encoding serves both, in Checked's order."""
    record = _record_encode(update)
    return hashlib.sha256(record.encode()).hexdigest(), record


# A valid update with its content hash and record text (a rejected one is its acknowledgement, a dict).
Checked = tuple[dict[str, Any], str, str]


class Receipt(NamedTuple):
    content_sha256: str
    times_received: int
    first_received_at: str


class Person(NamedTuple):
    update_sequence: int
    revision: int
    removed: bool
    name_key: str
    birth_date: str
    sex: int
    address_key: str
    individual_number: str | None
    record: str
    origin: str  # "seed" or "push"
    updated_at: str

    def four(self, file: str) -> tuple[str, str, str, int, str]:
        return (file, self.name_key, self.birth_date, self.sex, self.address_key)


ReceiptKey = tuple[str, str, int, int]  # (file, resident_code, update_sequence, revision)
PersonKey = tuple[str, str]  # (file, resident_code)


def _person(file: str, update: Mapping[str, Any], removed: bool, now: str, record: str, origin: str) -> Person:
    return Person(
        update["update_sequence"],
        update["revision"],
        removed,
        text_key(update["name"]),
        update["birth_date"],
        update["sex"],
        text_key(update["address"]),
        update.get("individual_number") if file == "identity" else None,
        record,
        origin,
        now,
    )


def _removed(file: str, update: Mapping[str, Any], before: bool) -> bool:
    if file == "furyo":
        return bool(update["status"] == 9)
    reason = update["change_reason"]
    if reason in IDENTITY_REMOVAL:
        return True
    if reason in IDENTITY_ENTRY:
        return False
    return before


def _previous_code(file: str, update: Mapping[str, Any]) -> str | None:
    """A code change (住民票コードの変更) names the code the person moves from (domain.md §6.2)."""
    if file == "identity":
        return update.get("previous_resident_code") or None
    return update["former_resident_code"] if update["notice_kind"] == "27" else None


class _Batch:
    """The changes of one request: read through to the store, kept apart until the request commits."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.receipts: dict[ReceiptKey, Receipt] = {}  # new keys
        self.repeats: dict[ReceiptKey, int] = {}  # stored keys received again
        self.persons: dict[PersonKey, Person | None] = {}  # None: moved away
        self.counters: dict[str, int] = {}
        self.entries: list[str] = []  # the same changes, as the journal line's entries (JSON text)

    def receipt(self, key: ReceiptKey) -> Receipt | None:
        return self.receipts[key] if key in self.receipts else self.store._receipts.get(key)

    def person(self, key: PersonKey) -> Person | None:
        return self.persons[key] if key in self.persons else self.store._persons.get(key)

    def add_receipt(self, key: ReceiptKey, digest: str, now: str) -> None:
        self.receipts[key] = Receipt(digest, 1, now)
        self.entries.append(_journal_encode(["R", *key, digest, now]))

    def repeat(self, key: ReceiptKey) -> str:
        """A repeat of a stored key: counted; returns the first receipt's content hash."""
        self.entries.append(_journal_encode(["T", *key, 1]))
        pending = self.receipts.get(key)
        if pending is not None:
            self.receipts[key] = pending._replace(times_received=pending.times_received + 1)
            return pending.content_sha256
        self.repeats[key] = self.repeats.get(key, 0) + 1
        return self.store._receipts[key].content_sha256

    def put_person(self, key: PersonKey, person: Person) -> None:
        self.persons[key] = person
        self.entries.append(_person_entry(key, person))

    def move_person(self, file: str, old: str, new: str) -> None:
        moving = self.person((file, old))
        if moving is None or self.person((file, new)) is not None:
            return  # nothing to move, or the new code is already held: left as they are
        self.persons[(file, old)] = None
        self.persons[(file, new)] = moving
        self.entries.append(_journal_encode(["M", file, old, new]))

    def count(self, values: Mapping[str, int]) -> None:
        amounts = {name: amount for name, amount in values.items() if amount}
        for name, amount in amounts.items():
            self.counters[name] = self.counters.get(name, 0) + amount
        self.entries.append(_journal_encode(["C", amounts]))


_journal_encode = jsontext.dumps


def _person_entry(key: PersonKey, person: Person) -> str:
    """A person's journal entry, ["P", file, code, removed, origin, updated_at, record]. The record (JSON text)
    goes in as it is, not escaped into a string: the rest of the person is derived from it again at replay."""
    head = _journal_encode(["P", *key, person.removed, person.origin, person.updated_at])
    return f"{head[:-1]},{person.record}]"


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._receipts: dict[ReceiptKey, Receipt] = {}
        self._persons: dict[PersonKey, Person] = {}
        # The lookup indexes map to plain tuples, not sets: a tuple of strings is no longer tracked by the garbage
        # collector once a pass has seen it, while a set always is. With a set per person the collector's full
        # passes walked hundreds of thousands of them: at 200,000 updates a quarter of the store's CPU per update.
        self._by_number: dict[str, tuple[PersonKey, ...]] = {}
        self._by_four: dict[tuple[str, str, str, int, str], tuple[str, ...]] = {}
        self._counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
        self._replay()
        self._journal = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for the store's life)
        path.chmod(0o600)

    def close(self) -> None:
        with self._lock:
            self._journal.close()

    # --- the journal --------------------------------------------------------------------------------
    def _replay(self) -> None:
        """Rebuild the state from the journal. A last line cut short by a crash (its request was never answered)
        is dropped and cut off; an unreadable line with others after it is damage, and the store refuses to
        start rather than lose what follows."""
        if not self.path.exists():
            return
        good = 0
        with open(self.path, "rb") as journal:
            for raw in journal:
                try:
                    ops = jsontext.loads(raw) if raw.endswith(b"\n") else None
                except ValueError:
                    ops = None
                if not isinstance(ops, list):
                    if journal.read(1):
                        raise JournalDamaged(f"{self.path}: unreadable entry at byte {good}, more entries after it")
                    break
                for op in ops:
                    self._apply(op)
                good += len(raw)
        if good != self.path.stat().st_size:
            os.truncate(self.path, good)

    def _commit(self, batch: _Batch) -> None:
        """Write the request's changes as one journal line, then merge them into the state. Under the lock."""
        if not batch.entries:
            return
        self._journal.write("[" + ",".join(batch.entries) + "]\n")
        self._journal.flush()
        self._receipts.update(batch.receipts)
        for receipt_key, times in batch.repeats.items():
            self._count_repeat(receipt_key, times)
        for person_key, person in batch.persons.items():
            self._set_person(person_key, person)
        for name, amount in batch.counters.items():
            self._counters[name] = self._counters.get(name, 0) + amount

    def _apply(self, op: list[Any]) -> None:
        """One journal entry replayed (the same change _commit merges from a batch)."""
        kind = op[0]
        if kind == "R":
            _, file, code, sequence, revision, digest, at = op
            self._receipts[(file, code, sequence, revision)] = Receipt(digest, 1, at)
        elif kind == "T":
            _, file, code, sequence, revision, times = op
            self._count_repeat((file, code, sequence, revision), times)
        elif kind == "P":
            _, file, code, removed, origin, updated_at, update = op
            self._set_person((file, code), _person(file, update, removed, updated_at, _record_encode(update), origin))
        elif kind == "M":
            _, file, old, new = op
            moving = self._persons.get((file, old))
            if moving is not None and (file, new) not in self._persons:
                self._set_person((file, old), None)
                self._set_person((file, new), moving)
        elif kind == "C":
            for name, amount in op[1].items():
                self._counters[name] = self._counters.get(name, 0) + amount
        else:
            raise ValueError("unknown journal entry")  # not its value: a damaged line may hold personal data

    def _count_repeat(self, key: ReceiptKey, times: int) -> None:
        receipt = self._receipts[key]
        self._receipts[key] = receipt._replace(times_received=receipt.times_received + times)

    def _set_person(self, key: PersonKey, person: Person | None) -> None:
        """Replace (or drop) a person's state, keeping the lookup indexes in step."""
        file, code = key
        before = self._persons.pop(key, None)
        if before is not None:
            _discard(self._by_four, before.four(file), code)
            if before.individual_number is not None:
                _discard(self._by_number, before.individual_number, key)
        if person is None:
            return
        self._persons[key] = person
        _add(self._by_four, person.four(file), code)
        if person.individual_number is not None:
            _add(self._by_number, person.individual_number, key)

    # --- counters ---------------------------------------------------------------------------------
    def bump(self, **values: int) -> None:
        with self._lock:
            batch = _Batch(self)
            batch.count(values)
            self._commit(batch)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = {**dict.fromkeys(COUNTER_NAMES, 0), **self._counters}
            persons: dict[str, dict[str, int]] = {
                file: {"persons": 0, "received_persons": 0, "seeded_persons": 0} for file in FILES
            }
            for (file, _), person in self._persons.items():
                persons[file]["persons"] += 1
                persons[file][f"{'seeded' if person.origin == 'seed' else 'received'}_persons"] += 1
            for (file, *_), receipt in self._receipts.items():
                persons[file]["keys_received"] = persons[file].get("keys_received", 0) + 1
                repeated = persons[file].get("keys_received_more_than_once", 0) + (receipt.times_received > 1)
                persons[file]["keys_received_more_than_once"] = repeated
            return {**counters, "files": persons}

    # --- receipt ----------------------------------------------------------------------------------
    def receive(self, file: str, updates: Iterable[object]) -> BatchOutcome:
        """Receive a batch in one transaction: one acknowledgement per update, in request order.

        Validation and content hashes are computed before the lock. Under it the updates are decided in order
        against the stored state and the batch's own earlier changes; the batch's changes are journaled as one
        line and only then applied."""
        outcome = BatchOutcome()
        now = dt.datetime.now(dt.UTC).isoformat()
        checked: list[Checked | dict[str, Any]] = []
        for update in updates:
            try:
                valid = validate_update(file, update)
            except UpdateRejected as exc:
                key = key_of(update) if isinstance(update, dict) else key_of({})
                checked.append({"key": key, "status": "rejected", "reason": exc.reason})
                continue
            checked.append((valid, *hash_and_record(valid)))
        with self._lock:
            batch = _Batch(self)
            for item in checked:
                if isinstance(item, dict):
                    outcome.rejected += 1
                    outcome.acks.append(item)
                else:
                    outcome.acks.append(self._receive_one(batch, file, *item, now=now, outcome=outcome))
            batch.count(
                {
                    "requests": 1,
                    "updates_received": len(outcome.acks),
                    "accepted": outcome.accepted,
                    "duplicates": outcome.duplicates,
                    "rejected": outcome.rejected,
                }
            )
            self._commit(batch)
        return outcome

    @staticmethod
    def _receive_one(
        batch: _Batch, file: str, update: dict[str, Any], digest: str, record: str, *, now: str, outcome: BatchOutcome
    ) -> dict[str, Any]:
        code, sequence, revision = update["resident_code"], update["update_sequence"], update["revision"]
        key = {"resident_code": code, "update_sequence": sequence, "revision": revision}
        receipt_key = (file, code, sequence, revision)
        if batch.receipt(receipt_key) is not None:
            stored_digest = batch.repeat(receipt_key)
            outcome.duplicates += 1
            return {"key": key, "status": "duplicate", "content_mismatch": stored_digest != digest}
        batch.add_receipt(receipt_key, digest, now)
        outcome.accepted += 1
        previous_code = _previous_code(file, update)
        if previous_code:
            # 住民票コードの変更: the person and its counter move to the new code (domain.md §6.2).
            batch.move_person(file, previous_code, code)
        person = batch.person((file, code))
        if person is not None and (person.update_sequence, person.revision) >= (sequence, revision):
            # An older update arriving late is receipted but does not replace the newer state.
            return {"key": key, "status": "accepted", "applied": False}
        removed = _removed(file, update, person.removed if person is not None else False)
        batch.put_person((file, code), _person(file, update, removed, now, record, "push"))
        return {"key": key, "status": "accepted", "applied": True}

    # --- seeding ------------------------------------------------------------------------------------
    def seed(self, file: str, records: Iterable[dict[str, Any]]) -> int:
        """Add synthetic persons the prefecture does not hold; existing codes are left alone."""
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._lock:
            batch = _Batch(self)
            for r in records:
                if batch.person((file, r["resident_code"])) is None:
                    batch.put_person(
                        (file, r["resident_code"]),
                        _person(file, r, _removed(file, r, False), now, _record_encode(r), "seed"),
                    )
            self._commit(batch)
            return len(batch.entries)

    # --- reads -------------------------------------------------------------------------------------
    def sequences(self, file: str, codes: list[str]) -> dict[str, dict[str, Any] | None]:
        result: dict[str, dict[str, Any] | None] = dict.fromkeys(codes)
        with self._lock:
            for code in codes:
                person = self._persons.get((file, code))
                if person is not None:
                    result[code] = {
                        "update_sequence": person.update_sequence,
                        "revision": person.revision,
                        "removed": person.removed,
                    }
        return result

    def lookup(self, file: str, conditions: object) -> dict[str, Any]:
        """Exact lookup (domain.md §7, §9.3): one person, not_found, or several."""
        wanted = self._lookup_conditions(file, conditions)
        with self._lock:
            if "resident_code" in wanted:
                candidates = [(file, wanted["resident_code"])]
            elif "individual_number" in wanted:
                candidates = sorted(self._by_number.get(wanted["individual_number"], ()))
            else:
                four = (file, wanted["name_key"], wanted["birth_date"], wanted["sex"], wanted["address_key"])
                candidates = [(file, code) for code in sorted(self._by_four.get(four, ()))]
            rows = []
            for key in candidates:
                person = self._persons.get(key)
                if person is not None and key[0] == file and _matches(key[1], person, wanted):
                    rows.append(person)
                    if len(rows) > 10:
                        break
            counted = _Batch(self)
            counted.count({"lookups": 1})
            self._commit(counted)
        if not rows:
            return {"result": "not_found"}
        if len(rows) > 1:
            return {"result": "several", "count": len(rows) if len(rows) <= 10 else "10+"}
        person = rows[0]
        out = jsontext.loads(person.record)
        out.update({"update_sequence": person.update_sequence, "revision": person.revision, "removed": person.removed})
        return {"result": "found", "record": out}

    @staticmethod
    def _lookup_conditions(file: str, conditions: object) -> dict[str, Any]:
        """The conditions checked and in stored form: names and addresses as their §4.2 keys."""
        if file not in FILES:
            raise LookupRefused("unknown_file")
        if not isinstance(conditions, dict) or not conditions:
            raise LookupRefused("insufficient_conditions")
        allowed = {"resident_code", "individual_number", "name", "birth_date", "sex", "address"}
        unknown = sorted(set(conditions) - allowed)
        if unknown:
            raise LookupRefused(f"unknown_condition:{unknown[0]}")
        if "individual_number" in conditions and file == "furyo":
            # domain.md §9.2: file (2) is never searched by 個人番号.
            raise LookupRefused("individual_number_not_allowed")
        four = {"name", "birth_date", "sex", "address"}
        if not ({"resident_code", "individual_number"} & set(conditions) or four <= set(conditions)):
            raise LookupRefused("insufficient_conditions")
        wanted: dict[str, Any] = {}
        for name, value in sorted(conditions.items()):
            if name == "resident_code":
                if not is_valid_resident_code(value):
                    raise LookupRefused("invalid_condition:resident_code")
                wanted[name] = value
            elif name == "individual_number":
                if not is_valid_individual_number(value):
                    raise LookupRefused("invalid_condition:individual_number")
                wanted[name] = value
            elif name in ("name", "address"):
                if not isinstance(value, str) or not value.strip():
                    raise LookupRefused(f"invalid_condition:{name}")
                wanted[f"{name}_key"] = text_key(value)
            elif name == "birth_date":
                if not is_iso_date(value):
                    raise LookupRefused("invalid_condition:birth_date")
                wanted[name] = value
            else:  # sex
                if isinstance(value, str) and value in ("1", "2"):
                    value = int(value)
                if value not in (1, 2) or isinstance(value, bool):
                    raise LookupRefused("invalid_condition:sex")
                wanted[name] = value
        return wanted

    def reset(self, *, keep_seeded: bool = True) -> None:
        """Forget receipts, counters and received persons (and seeded ones unless kept); the journal is rewritten
        as the state kept (a new file renamed over the old one)."""
        with self._lock:
            kept = [(key, person) for key, person in self._persons.items() if keep_seeded and person.origin == "seed"]
            temporary = self.path.with_suffix(".rewrite")
            with open(temporary, "w", encoding="utf-8") as journal:
                if kept:
                    journal.write("[" + ",".join(_person_entry(key, p) for key, p in kept) + "]\n")
                journal.flush()
                os.fsync(journal.fileno())
            temporary.chmod(0o600)
            self._journal.close()
            os.replace(temporary, self.path)
            self._receipts.clear()
            self._persons.clear()
            self._by_number.clear()
            self._by_four.clear()
            self._counters = dict.fromkeys(COUNTER_NAMES, 0)
            for key, person in kept:
                self._set_person(key, person)
            self._journal = open(self.path, "a", encoding="utf-8")  # noqa: SIM115


def _add(index: dict[Any, tuple[Any, ...]], value: Any, member: Any) -> None:
    members = index.get(value, ())
    if member not in members:
        index[value] = (*members, member)


def _discard(index: dict[Any, tuple[Any, ...]], value: Any, member: Any) -> None:
    members = index.get(value)
    if members is not None and member in members:
        rest = tuple(m for m in members if m != member)
        if rest:
            index[value] = rest
        else:
            del index[value]


def _matches(code: str, person: Person, wanted: Mapping[str, Any]) -> bool:
    """Every given condition holds (AND)."""
    values = {
        "resident_code": code, "individual_number": person.individual_number, "name_key": person.name_key,
        "birth_date": person.birth_date, "sex": person.sex, "address_key": person.address_key,
    }  # fmt: skip
    return all(values[name] == value for name, value in wanted.items())
