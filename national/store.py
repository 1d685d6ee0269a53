"""The national simulator's own storage: one SQLite file (a separate system, so not the prefecture's
PostgreSQL). All access goes through one connection guarded by a lock; each request is one transaction.

Tables:
    receipts  one row per idempotency key (file, resident_code, update_sequence, revision)
    persons   per file and resident code, the latest state and its update_sequence / revision
    counters  running statistics (GET /v1/stats)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    file TEXT NOT NULL,
    resident_code TEXT NOT NULL,
    update_sequence INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    content_sha256 TEXT NOT NULL,
    times_received INTEGER NOT NULL,
    first_received_at TEXT NOT NULL,
    PRIMARY KEY (file, resident_code, update_sequence, revision)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS persons (
    file TEXT NOT NULL,
    resident_code TEXT NOT NULL,
    update_sequence INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex INTEGER NOT NULL,
    address_key TEXT NOT NULL,
    individual_number TEXT,
    record TEXT NOT NULL,
    origin TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (file, resident_code)
);
CREATE INDEX IF NOT EXISTS persons_four ON persons (file, name_key, birth_date, sex, address_key);
CREATE INDEX IF NOT EXISTS persons_number ON persons (individual_number) WHERE individual_number IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class UpdateRejected(Exception):
    """An update that cannot be received; `reason` is a machine code without personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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

PERSON_UPSERT = (
    "INSERT INTO persons VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'push', ?) "
    "ON CONFLICT (file, resident_code) DO UPDATE SET update_sequence = excluded.update_sequence,"
    " revision = excluded.revision, removed = excluded.removed, name_key = excluded.name_key,"
    " birth_date = excluded.birth_date, sex = excluded.sex, address_key = excluded.address_key,"
    " individual_number = excluded.individual_number, record = excluded.record,"
    " origin = 'push', updated_at = excluded.updated_at"
)


def _moves_code(file: str, update: Mapping[str, Any]) -> bool:
    """A code change (住民票コードの変更) moves the person to its new code: the per-update path handles it."""
    if file == "identity":
        return bool(update.get("previous_resident_code"))
    return update["notice_kind"] == "27"


def hash_and_record(update: Mapping[str, Any]) -> tuple[str, str]:
    """(the update's content hash, the record text stored for it): one encoding serves both, in Checked's order."""
    record = _record_encode(update)
    return hashlib.sha256(record.encode()).hexdigest(), record


# A valid update with its content hash and record text (a rejected one is its acknowledgement, a dict).
Checked = tuple[dict[str, Any], str, str]


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Receipts touch random pages of four B-trees (resident codes are random). A page cache that holds the
        # tables and indexes of a few hundred thousand persons (SQLite's default is 2 MB) and a checkpoint every
        # 100,000 WAL pages (default 1,000, which checkpointed, with its fsync, after almost every request):
        # measured on 200,000 random updates of 500 per request, 152 → 104 µs CPU per update in the store.
        # Each request still commits to the WAL (synchronous=NORMAL: durable across a crash of the process).
        self._db.execute("PRAGMA cache_size=-262144")  # KiB: 256 MB at most, allocated as used
        self._db.execute("PRAGMA wal_autocheckpoint=100000")
        self._db.executescript(SCHEMA)
        path.chmod(0o600)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- counters ---------------------------------------------------------------------------------
    def _bump(self, values: Mapping[str, int]) -> None:
        self._db.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            [(name, amount) for name, amount in values.items() if amount],
        )

    def bump(self, **values: int) -> None:
        with self._lock:
            self._bump(values)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = dict.fromkeys(COUNTER_NAMES, 0)
            counters.update(dict(self._db.execute("SELECT name, value FROM counters").fetchall()))
            persons = {file: {"persons": 0, "received_persons": 0, "seeded_persons": 0} for file in FILES}
            for file, origin, count in self._db.execute(
                "SELECT file, origin, count(*) FROM persons GROUP BY file, origin"
            ):
                persons[file]["persons"] += count
                persons[file][f"{'seeded' if origin == 'seed' else 'received'}_persons"] += count
            for file, keys, repeated in self._db.execute(
                "SELECT file, count(*), sum(times_received > 1) FROM receipts GROUP BY file"
            ):
                persons[file]["keys_received"] = keys
                persons[file]["keys_received_more_than_once"] = repeated or 0
            return {**counters, "files": persons}

    # --- receipt ----------------------------------------------------------------------------------
    def receive(self, file: str, updates: Iterable[object]) -> BatchOutcome:
        """Receive a batch in one transaction: one acknowledgement per update, in request order.

        Validation and content hashes are computed before the lock. Under it, the receipts and persons of the
        batch's codes are read in a few queries, the updates are decided in order in memory, and the writes go
        out with executemany: new receipts, repeat counts, and each person's final state (the same end state as
        writing every update in turn, since each write replaces the whole row). A batch with a code change
        (which moves a person to its new code) takes the per-update path instead."""
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
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if any(isinstance(item, tuple) and _moves_code(file, item[0]) for item in checked):
                    for item in checked:
                        if isinstance(item, dict):
                            outcome.rejected += 1
                            outcome.acks.append(item)
                        else:
                            outcome.acks.append(
                                self._receive_one(file, item[0], now, outcome, digest=item[1], record=item[2])
                            )
                else:
                    self._receive_batch(file, checked, now, outcome)
                self._bump(
                    {
                        "requests": 1,
                        "updates_received": len(outcome.acks),
                        "accepted": outcome.accepted,
                        "duplicates": outcome.duplicates,
                        "rejected": outcome.rejected,
                    }
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return outcome

    def _rows_of_codes(self, sql: str, file: str, codes: list[str]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(codes), 500):
            chunk = codes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(self._db.execute(sql.format(marks=marks), (file, *chunk)).fetchall())
        return rows

    def _receive_batch(
        self, file: str, checked: list[Checked | dict[str, Any]], now: str, outcome: BatchOutcome
    ) -> None:
        db = self._db
        codes = sorted({item[0]["resident_code"] for item in checked if isinstance(item, tuple)})
        receipts: dict[tuple[str, int, int], str] = {
            (code, sequence, revision): digest
            for code, sequence, revision, digest in self._rows_of_codes(
                "SELECT resident_code, update_sequence, revision, content_sha256 FROM receipts"
                " WHERE file = ? AND resident_code IN ({marks})",
                file,
                codes,
            )
        }
        persons: dict[str, tuple[int, int, bool]] = {
            code: (sequence, revision, bool(removed))
            for code, sequence, revision, removed in self._rows_of_codes(
                "SELECT resident_code, update_sequence, revision, removed FROM persons"
                " WHERE file = ? AND resident_code IN ({marks})",
                file,
                codes,
            )
        }
        new_receipts: list[tuple[Any, ...]] = []
        repeats: dict[tuple[str, int, int], int] = {}
        final: dict[str, tuple[dict[str, Any], bool, str]] = {}  # code -> (update, removed, record) of its newest state
        for item in checked:
            if isinstance(item, dict):
                outcome.rejected += 1
                outcome.acks.append(item)
                continue
            update, digest, record = item
            code, sequence, revision = update["resident_code"], update["update_sequence"], update["revision"]
            key = {"resident_code": code, "update_sequence": sequence, "revision": revision}
            stored_digest = receipts.get((code, sequence, revision))
            if stored_digest is not None:
                repeats[(code, sequence, revision)] = repeats.get((code, sequence, revision), 0) + 1
                outcome.duplicates += 1
                outcome.acks.append({"key": key, "status": "duplicate", "content_mismatch": stored_digest != digest})
                continue
            receipts[(code, sequence, revision)] = digest
            new_receipts.append((file, code, sequence, revision, digest, now))
            outcome.accepted += 1
            person = persons.get(code)
            if person is not None and (person[0], person[1]) >= (sequence, revision):
                # An older update arriving late is receipted but does not replace the newer state.
                outcome.acks.append({"key": key, "status": "accepted", "applied": False})
                continue
            removed = self._removed(file, update, person[2] if person else False)
            persons[code] = (sequence, revision, removed)
            final[code] = (update, removed, record)
            outcome.acks.append({"key": key, "status": "accepted", "applied": True})
        db.executemany("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, 1, ?)", new_receipts)
        db.executemany(
            "UPDATE receipts SET times_received = times_received + ? WHERE file = ? AND resident_code = ?"
            " AND update_sequence = ? AND revision = ?",
            [(times, file, *key) for key, times in repeats.items()],
        )
        db.executemany(
            PERSON_UPSERT,
            [self._person_row(file, update, removed, now, record) for update, removed, record in final.values()],
        )

    @staticmethod
    def _person_row(file: str, update: dict[str, Any], removed: bool, now: str, record: str) -> tuple[Any, ...]:
        return (
            file,
            update["resident_code"],
            update["update_sequence"],
            update["revision"],
            int(removed),
            text_key(update["name"]),
            update["birth_date"],
            update["sex"],
            text_key(update["address"]),
            update.get("individual_number") if file == "identity" else None,
            record,
            now,
        )

    def _receive_one(
        self, file: str, update: dict[str, Any], now: str, outcome: BatchOutcome, *, digest: str, record: str
    ) -> dict[str, Any]:
        db = self._db
        code, sequence, revision = update["resident_code"], update["update_sequence"], update["revision"]
        key = {"resident_code": code, "update_sequence": sequence, "revision": revision}
        inserted = db.execute(
            "INSERT INTO receipts VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING",
            (file, code, sequence, revision, digest, now),
        ).rowcount
        if not inserted:
            (stored_digest,) = db.execute(
                "UPDATE receipts SET times_received = times_received + 1 WHERE file = ? AND resident_code = ?"
                " AND update_sequence = ? AND revision = ? RETURNING content_sha256",
                (file, code, sequence, revision),
            ).fetchone()
            outcome.duplicates += 1
            return {"key": key, "status": "duplicate", "content_mismatch": stored_digest != digest}
        outcome.accepted += 1
        previous_code = update.get("previous_resident_code") if file == "identity" else None
        if file == "furyo" and update["notice_kind"] == "27":
            previous_code = update["former_resident_code"]
        if previous_code:
            # 住民票コードの変更: the person and its counter move to the new code (domain.md §6.2).
            db.execute(
                "UPDATE OR IGNORE persons SET resident_code = ? WHERE file = ? AND resident_code = ?",
                (code, file, previous_code),
            )
        row = db.execute(
            "SELECT update_sequence, revision, removed FROM persons WHERE file = ? AND resident_code = ?",
            (file, code),
        ).fetchone()
        if row is not None and (row[0], row[1]) >= (sequence, revision):
            # An older update arriving late is receipted but does not replace the newer state.
            return {"key": key, "status": "accepted", "applied": False}
        removed = self._removed(file, update, bool(row[2]) if row else False)
        db.execute(PERSON_UPSERT, self._person_row(file, update, removed, now, record))
        return {"key": key, "status": "accepted", "applied": True}

    @staticmethod
    def _removed(file: str, update: Mapping[str, Any], before: bool) -> bool:
        if file == "furyo":
            return bool(update["status"] == 9)
        reason = update["change_reason"]
        if reason in IDENTITY_REMOVAL:
            return True
        if reason in IDENTITY_ENTRY:
            return False
        return before

    # --- seeding ------------------------------------------------------------------------------------
    def seed(self, file: str, records: Iterable[dict[str, Any]]) -> int:
        """Insert synthetic persons the prefecture does not hold; existing codes are left alone."""
        now = dt.datetime.now(dt.UTC).isoformat()
        rows = [self._person_row(file, r, self._removed(file, r, False), now, _record_encode(r)) for r in records]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                self._db.executemany(
                    "INSERT INTO persons VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'seed', ?) ON CONFLICT DO NOTHING",
                    rows,
                )
                inserted = self._db.total_changes - before
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return inserted

    # --- reads -------------------------------------------------------------------------------------
    def sequences(self, file: str, codes: list[str]) -> dict[str, dict[str, Any] | None]:
        result: dict[str, dict[str, Any] | None] = dict.fromkeys(codes)
        with self._lock:
            for start in range(0, len(codes), 500):
                chunk = codes[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for code, sequence, revision, removed in self._db.execute(
                    "SELECT resident_code, update_sequence, revision, removed FROM persons"  # noqa: S608
                    f" WHERE file = ? AND resident_code IN ({marks})",
                    (file, *chunk),
                ):
                    result[code] = {
                        "update_sequence": sequence,
                        "revision": revision,
                        "removed": bool(removed),
                    }
        return result

    def lookup(self, file: str, conditions: object) -> dict[str, Any]:
        """Exact lookup (domain.md §7, §9.3): one person, not_found, or several."""
        where, params = self._lookup_conditions(file, conditions)
        with self._lock:
            rows = self._db.execute(
                f"SELECT record, update_sequence, revision, removed FROM persons WHERE {where} LIMIT 11",  # noqa: S608
                params,
            ).fetchall()
            self._bump({"lookups": 1})
        if not rows:
            return {"result": "not_found"}
        if len(rows) > 1:
            return {"result": "several", "count": len(rows) if len(rows) <= 10 else "10+"}
        record, sequence, revision, removed = rows[0]
        out = json.loads(record)
        out.update({"update_sequence": sequence, "revision": revision, "removed": bool(removed)})
        return {"result": "found", "record": out}

    @staticmethod
    def _lookup_conditions(file: str, conditions: object) -> tuple[str, list[Any]]:
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
        where, params = ["file = ?", "(record IS NOT NULL)"], [file]
        for name, value in sorted(conditions.items()):
            if name == "resident_code":
                if not is_valid_resident_code(value):
                    raise LookupRefused("invalid_condition:resident_code")
                where.append("resident_code = ?")
            elif name == "individual_number":
                if not is_valid_individual_number(value):
                    raise LookupRefused("invalid_condition:individual_number")
                where.append("individual_number = ?")
            elif name in ("name", "address"):
                if not isinstance(value, str) or not value.strip():
                    raise LookupRefused(f"invalid_condition:{name}")
                where.append(f"{name}_key = ?")
                value = text_key(value)
            elif name == "birth_date":
                if not is_iso_date(value):
                    raise LookupRefused("invalid_condition:birth_date")
                where.append("birth_date = ?")
            else:  # sex
                if isinstance(value, str) and value in ("1", "2"):
                    value = int(value)
                if value not in (1, 2) or isinstance(value, bool):
                    raise LookupRefused("invalid_condition:sex")
                where.append("sex = ?")
            params.append(value)
        return " AND ".join(where), params

    def reset(self, *, keep_seeded: bool = True) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM receipts")
            self._db.execute("DELETE FROM counters")
            if keep_seeded:
                self._db.execute("DELETE FROM persons WHERE origin <> 'seed'")
            else:
                self._db.execute("DELETE FROM persons")
            self._db.execute("COMMIT")
