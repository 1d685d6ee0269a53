"""State changes of the audit app. `operation_log_record` is the one door into the operation log (§11.1)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Model

from audit import partitions
from audit.checkpoints import checkpoint_export, checkpoint_message, signing_key, signing_public_key_hex
from audit.models import (
    Affair,
    OperationKind,
    OperationLogCheckpoint,
    OperationLogEntry,
    OperationLogHead,
    Operator,
    Terminal,
)
from audit.oplog import GENESIS, canonical_entry, canonical_json, chain_hash, reject_floats
from jukinet import clock
from jukinet.config import setting_value
from jukinet.db import loaded, prepared_cursor

# Any constant works; it only has to be the same in every process appending to the log.
OPLOG_LOCK_KEY = 0x6A756B696E6574  # "jukinet"
# One chained entry, its canonical JSON columns as text (the first append of a database and the sealer).
_ENTRY_INSERT = (
    "INSERT INTO audit_operationlogentry (sequence, recorded_at, operator_id, actor, terminal_id, kind, affair_id,"
    " targets, outcome, conditions, result_count, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s::json,"
    " %s, %s)"
)
_ENTRY_INSERT_AND_HEAD = _ENTRY_INSERT + "; UPDATE audit_operationloghead SET sequence = %s, hash = %s WHERE id = 1"  # noqa: S608
BLIND_INDEX_CONDITION = "individual_number_blind_index"
_TWELVE_DIGITS = re.compile(r"^\s*[0-9０-９]{12}\s*$")
_FORBIDDEN_KEYS = {"individual_number", "individual_numbers", "my_number"}
# "ok", "failed", a result/refusal code ("Q03", "E009") or another short lower-case word ("not_found").
_OUTCOME = re.compile(r"^(?:[a-z][a-z_]{1,15}|[A-Z][0-9]{2,3})$")


class OperationLogError(RuntimeError):
    """Misuse of the logging function (no transaction, plaintext individual number, bad outcome)."""


def blind_index_condition(blind_index: str) -> dict[str, str]:
    """Conditions fragment for a search by individual number: only its blind index (照合値, §4.2).

    Pass the hex HMAC computed by the identity app, e.g.
    `conditions={**blind_index_condition(index_hex), "affair": "A001"}`; screens show 「個人番号（照合値）」.
    """
    if not re.fullmatch(r"[0-9a-f]{16,128}", blind_index):
        raise OperationLogError("blind index must be lower-case hex")
    return {BLIND_INDEX_CONDITION: blind_index}


def _check_no_individual_number(value: Any) -> None:
    # 個人番号 never in the log (§11): refuse the key and any 12-digit string, whatever its check digit.
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _FORBIDDEN_KEYS:
                raise OperationLogError(f"use {BLIND_INDEX_CONDITION}, never {key}, in log conditions")
            _check_no_individual_number(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_no_individual_number(item)
    elif isinstance(value, str) and _TWELVE_DIGITS.match(value):
        raise OperationLogError("a 12-digit value looks like an individual number; log its blind index")


class _PrecedingId:
    """Stands for the id that a deferred append's `preceding` INSERT … RETURNING id gives its row."""

    def __str__(self) -> str:
        return "__preceding_id__"  # never a real id: ids are stored as the text of a primary key


# As a target's id (`targets=[("prefserver.intakebatch", PRECEDING_ID)]`) of a deferred append: the row that
# `preceding` inserts (its statement must return exactly that row's id) is a target of the entry, and row and
# entry go in one round trip.
PRECEDING_ID = _PrecedingId()


def _target_pair(target: Model | tuple[str, object]) -> list[str]:
    if isinstance(target, Model):
        return [target._meta.label_lower, str(target.pk)]
    label, pk = target
    return [str(label), str(pk)]


def _actor_fields(actor: Operator | str) -> tuple[str, Operator | None]:
    if isinstance(actor, Operator):
        return f"operator:{actor.pk}", actor
    if not isinstance(actor, str) or ":" not in actor or len(actor) > 64:
        raise OperationLogError("actor must be an Operator or a principal such as 'system:intake'")
    return actor, None


def _lock_and_read_head() -> tuple[int, bytes]:
    """Take the chain lock (held until commit) and read the head, creating its row on first use."""
    with connection.cursor() as cursor:
        # One round trip, two statements: in READ COMMITTED the SELECT takes its snapshot after the lock is
        # granted, so it sees the head committed by the previous holder.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s); SELECT sequence, hash FROM audit_operationloghead WHERE id = 1",
            [OPLOG_LOCK_KEY],
        )
        cursor.nextset()
        row = cursor.fetchone()
        if row is None:
            cursor.execute("SELECT sequence, hash FROM audit_operationlogentry ORDER BY sequence DESC LIMIT 1")
            row = cursor.fetchone() or (0, GENESIS)
            cursor.execute("INSERT INTO audit_operationloghead (id, sequence, hash) VALUES (1, %s, %s)", list(row))
    return int(row[0]), bytes(row[1])


def operation_log_record(
    *,
    actor: Operator | str,
    kind: OperationKind | int,
    terminal: Terminal | None = None,
    affair: Affair | None = None,
    targets: Iterable[Model | tuple[str, object]] = (),
    outcome: str = "ok",
    conditions: dict[str, Any] | None = None,
    result_count: int | None = None,
    preceding: tuple[str, list[Any]] | None = None,
    commit: bool = False,
    standalone: bool = False,
    deferred: bool = False,
) -> OperationLogEntry:
    """Append one entry to the operation log, chained to the previous one (domain.md §11.1).

    Call it inside the action's transaction, as its last statement: it takes the chain's advisory lock, which
    is held until the transaction commits, so concurrent appends never fork the chain. Raises
    `OperationLogError` when no transaction is open, when `conditions` hold a float or anything that looks
    like an individual number (pass `blind_index_condition(...)` instead), or on a malformed outcome.

    `preceding`: the action's own last write as (SQL with %s placeholders, parameters), sent in the same round
    trip just before the lock (the lookup path's provision record), so that write + lock + append cost one
    round trip. `commit=True`: the caller's transaction ends with this entry, so COMMIT goes in the same round
    trip and the chain lock is released by the server at once, not after the process is next scheduled (on a
    busy machine that wait serialised every append). Only when the caller's block is the outermost
    `transaction.atomic`; inside an outer transaction (or a test's) it is ignored. Django's own commit at the end
    of the block then finds nothing to commit and runs the on_commit callbacks as usual.

    `standalone=True` (with `preceding`): called in autocommit, outside any transaction, when
    `standalone_append_ready()`; `preceding` and the entry go as one multi-statement text, which PostgreSQL
    runs as one implicit transaction (all or nothing), without BEGIN and COMMIT round trips (the lookup API).
    The entry is written unchained to OperationLogPending, without the chain lock, and `operation_log_seal`
    chains it within seconds (domain.md §11's fallback; docs/operation-log.md). The returned entry has no
    sequence or hash yet.

    `deferred=True`: inside the caller's transaction, like a locked append, but the entry is written unchained
    to OperationLogPending without taking the chain lock, and commits or rolls back with the action; the sealer
    chains it within seconds once committed. For high-rate callers whose transactions would otherwise queue
    on the chain lock through each other's commits (intake's receipts and batches). `commit=True` still sends
    COMMIT in the same round trip. The returned entry has no sequence or hash yet.
    """
    if standalone:
        if preceding is None or not standalone_append_ready():
            raise OperationLogError("a standalone append needs `preceding` and autocommit")
    elif not connection.in_atomic_block:
        raise OperationLogError("operation_log_record must run inside the action's transaction")
    if not _OUTCOME.match(outcome):
        raise OperationLogError(f"unknown outcome {outcome!r}")
    reject_floats(conditions)
    _check_no_individual_number(conditions)
    actor_label, operator = _actor_fields(actor)
    target_pairs = [_target_pair(target) for target in targets]
    if standalone:
        return _append_pending(
            operator, actor_label, terminal, kind, affair, target_pairs, outcome, conditions, result_count,
            preceding,  # type: ignore[arg-type]  # checked above
        )  # fmt: skip
    if deferred:
        return _append_deferred(
            operator, actor_label, terminal, kind, affair, target_pairs, outcome, conditions, result_count,
            preceding, commit=commit and _outermost_block(),
        )  # fmt: skip

    entry = _append_in_one_round_trip(
        operator, actor_label, terminal, kind, affair, target_pairs, outcome, conditions, result_count, preceding,
        commit=commit and _head_seen and _outermost_block(),
    )  # fmt: skip
    if entry is not None:
        return entry
    # First append of a database (no head row yet): the head is created under the lock, then the append.
    previous_sequence, previous_hash = _lock_and_read_head()
    # The time is read under the lock, so sequence order and time order agree and a dropped month is
    # always a prefix of the chain.
    recorded_at = clock.now()
    _ensure_partition(recorded_at)
    entry = OperationLogEntry(
        sequence=previous_sequence + 1,
        recorded_at=recorded_at,
        operator=operator,
        actor=actor_label,
        terminal=terminal,
        kind=int(kind),
        affair=affair,
        targets=target_pairs,
        outcome=outcome,
        conditions=conditions,
        result_count=result_count,
    )
    entry.hash = chain_hash(previous_hash, entry_canonical(entry))
    with connection.cursor() as cursor:
        cursor.execute(
            _ENTRY_INSERT_AND_HEAD,
            [
                entry.sequence,
                recorded_at,
                operator.pk if operator else None,
                actor_label,
                terminal.pk if terminal else None,
                entry.kind,
                affair.pk if affair else None,
                canonical_json(target_pairs),
                outcome,
                None if conditions is None else canonical_json(conditions),
                result_count,
                entry.hash,
                entry.sequence,
                entry.hash,
            ],
        )
    entry._state.adding, entry._state.db = False, connection.alias  # a stored row now; never saved again
    return entry


# Lock, head read, entry insert and head update in one call of the PL/pgSQL function of migration
# audit/0005 (its statements are planned once per database session; a single CTE sent as text was planned on
# every append). The entry's canonical text (audit.oplog) is assembled there from the parts Python encoded
# around the time and the sequence, formatted as the verifier does (audit.verify._FETCH), and hashed with
# PostgreSQL's sha256(). The time is the caller's clock, read just before the round trip instead of under the
# lock; a previous entry stamped up to a second later (another process that read its clock after ours but
# took the lock first) lends its time, so sequence order and time order still agree and a dropped month is
# always a prefix of the chain. A clock set back further on purpose (tests, `--as-of` runs) is kept as it is.
_APPEND = (
    "SELECT o_sequence, o_recorded_at, o_hash FROM audit_oplog_append(%(now)s::timestamptz, %(before_time)s,"
    " %(before_sequence)s, %(after_sequence)s, %(operator)s, %(actor)s, %(terminal)s, %(kind)s, %(affair)s,"
    " %(targets)s::json, %(outcome)s, %(conditions)s::json, %(result_count)s)"
)


def _canonical_parts(
    actor: str, terminal_id: int | None, kind: int, affair_id: int | None, targets: list[list[str]],
    outcome: str, conditions: Any, result_count: int | None,
) -> tuple[str, str, str]:  # fmt: skip
    """audit.oplog.canonical_entry's text split around `recorded_at`'s value and `sequence`'s value (its keys
    sorted: actor, affair, conditions, kind, outcome | recorded_at, result_count, sequence | targets, terminal)."""
    head = canonical_json(
        {"actor": actor, "affair": affair_id, "conditions": conditions, "kind": kind, "outcome": outcome}
    )
    before_time = head[:-1] + ',"recorded_at":"'
    before_sequence = f'","result_count":{canonical_json(result_count)},"sequence":'
    after_sequence = f',"targets":{canonical_json(targets)},"terminal":{canonical_json(terminal_id)}}}'
    return before_time, before_sequence, after_sequence


def _append_in_one_round_trip(
    operator: Operator | None, actor_label: str, terminal: Terminal | None, kind: OperationKind | int,
    affair: Affair | None, target_pairs: list[list[str]], outcome: str, conditions: dict[str, Any] | None,
    result_count: int | None, preceding: tuple[str, list[Any]] | None, *, commit: bool = False,
) -> OperationLogEntry | None:  # fmt: skip
    """`preceding`, the lock and the append in one round trip; None when there is no head row yet."""
    now = clock.now()
    _ensure_partition(now)
    terminal_id, affair_id = (terminal.pk if terminal else None), (affair.pk if affair else None)
    before_time, before_sequence, after_sequence = _canonical_parts(
        actor_label, terminal_id, int(kind), affair_id, target_pairs, outcome, conditions, result_count
    )
    named = {
        "now": now, "before_time": before_time, "before_sequence": before_sequence,
        "after_sequence": after_sequence, "operator": operator.pk if operator else None, "actor": actor_label,
        "terminal": terminal_id, "kind": int(kind), "affair": affair_id, "targets": canonical_json(target_pairs),
        "outcome": outcome, "conditions": None if conditions is None else canonical_json(conditions),
        "result_count": result_count,
    }  # fmt: skip
    with connection.cursor() as cursor:
        # Client-side binding (Django's default with psycopg 3) lets several statements share one round trip.
        first_sql, first_params = preceding if preceding else ("", [])
        append = cursor.mogrify(_APPEND, named)
        prefix = cursor.mogrify(first_sql, first_params) + ";" if first_sql else ""
        cursor.execute(f"{prefix}{append}" + ("; COMMIT" if commit else ""))
        row = None
        while True:  # the append's row is the last result with rows (COMMIT has none)
            if cursor.description is not None:
                row = cursor.fetchone()
            if not cursor.nextset():
                break
    if row is None:
        return None
    global _head_seen
    _head_seen = True  # the head row exists: later appends of this process may commit in the same round trip
    # Built as a loaded row (positional, like a query's result) rather than through keyword __init__ with
    # related objects: a third of the append's Python time went to Django's keyword and descriptor handling.
    values = {
        "sequence": int(row[0]), "recorded_at": row[1], "operator_id": operator.pk if operator else None,
        "actor": actor_label, "terminal_id": terminal_id, "kind": int(kind), "affair_id": affair_id,
        "targets": target_pairs, "outcome": outcome, "conditions": conditions, "result_count": result_count,
        "hash": bytes(row[2]),
    }  # fmt: skip
    return _loaded_entry(values, operator, terminal, affair)


def _loaded_entry(
    values: dict[str, Any], operator: Operator | None, terminal: Terminal | None, affair: Affair | None
) -> OperationLogEntry:
    entry = loaded(OperationLogEntry, connection.alias, _ENTRY_ATTNAMES, [values[name] for name in _ENTRY_ATTNAMES])
    for field, related in (("operator", operator), ("terminal", terminal), ("affair", affair)):
        if related is not None:
            OperationLogEntry._meta.get_field(field).set_cached_value(entry, related)  # type: ignore[union-attr]
    return entry


_ENTRY_ATTNAMES = [field.attname for field in OperationLogEntry._meta.concrete_fields]


# Set after this process's first append found the head row. Until then no COMMIT is sent with the append, so
# that a missing head (first append of a database) still gets its entry in the same transaction.
_head_seen = False


def standalone_append_ready() -> bool:
    """No transaction is open (autocommit): an action's write and its pending entry can go as one text."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # one thread-local lookup instead of two
    return not wrapper.in_atomic_block and wrapper.get_autocommit()


# The pending table's columns, in the order of `_pending_values` (every statement below uses this one text).
_PENDING_COLUMNS = (
    "recorded_at, operator_id, actor, terminal_id, kind, affair_id, targets, outcome, conditions, result_count"
)
_PENDING = (
    f"INSERT INTO audit_operationlogpending ({_PENDING_COLUMNS})"  # noqa: S608 - constant column names
    " SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s FROM preceding"
)


def _pending_values(
    now: dt.datetime, operator: Operator | None, actor_label: str, terminal: Terminal | None,
    kind: OperationKind | int, affair: Affair | None, targets_text: str, outcome: str,
    conditions: dict[str, Any] | None, result_count: int | None,
) -> list[Any]:  # fmt: skip
    return [
        now, operator.pk if operator else None, actor_label, terminal.pk if terminal else None, int(kind),
        affair.pk if affair else None, targets_text, outcome,
        None if conditions is None else canonical_json(conditions), result_count,
    ]  # fmt: skip


@functools.cache
def _pending_after(preceding_sql: str, pending_sql: str) -> str:
    """The pending insert with the action's statement as its CTE (which must return exactly one row)."""
    return f"WITH preceding AS ({preceding_sql}) {pending_sql}"


def _append_pending(
    operator: Operator | None, actor_label: str, terminal: Terminal | None, kind: OperationKind | int,
    affair: Affair | None, target_pairs: list[list[str]], outcome: str, conditions: dict[str, Any] | None,
    result_count: int | None, preceding: tuple[str, list[Any]],
) -> OperationLogEntry:  # fmt: skip
    """`preceding` and an unchained entry in one implicit transaction (no lock: nothing queues behind it)."""
    values = _pending_values(clock.now(), operator, actor_label, terminal, kind, affair, canonical_json(target_pairs),
                             outcome, conditions, result_count)  # fmt: skip
    # One statement: `preceding` as a CTE the insert depends on (so it runs first, once), bound server-side and
    # prepared after a few runs (no client-side quoting, planned once per connection). In autocommit a single
    # statement is its own transaction: both rows or neither.
    with prepared_cursor() as cursor:
        cursor.execute(_pending_after(preceding[0], _PENDING), [*preceding[1], *values])
    return _unchained_entry(values, actor_label, kind, target_pairs, outcome, conditions, result_count,
                            operator, terminal, affair)  # fmt: skip


def _unchained_entry(
    values: list[Any], actor_label: str, kind: OperationKind | int, target_pairs: list[list[str]], outcome: str,
    conditions: dict[str, Any] | None, result_count: int | None, operator: Operator | None,
    terminal: Terminal | None, affair: Affair | None,
) -> OperationLogEntry:  # fmt: skip
    """The entry a pending (not yet sealed) append returns: no sequence, no hash; `values` as inserted."""
    return _loaded_entry(
        {
            "sequence": None, "recorded_at": values[0], "operator_id": values[1], "actor": actor_label,
            "terminal_id": values[3], "kind": int(kind), "affair_id": values[5], "targets": target_pairs,
            "outcome": outcome, "conditions": conditions, "result_count": result_count, "hash": b"",
        },
        operator, terminal, affair,
    )  # fmt: skip


_DEFERRED = (
    f"INSERT INTO audit_operationlogpending ({_PENDING_COLUMNS})"  # noqa: S608 - constant column names
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


_SPLICED = (
    f"INSERT INTO audit_operationlogpending ({_PENDING_COLUMNS})"  # noqa: S608 - constant column names
    " SELECT %s, %s, %s, %s, %s, %s, %s || preceding.id || %s, %s, %s, %s FROM preceding RETURNING targets"
)


def _append_deferred(
    operator: Operator | None, actor_label: str, terminal: Terminal | None, kind: OperationKind | int,
    affair: Affair | None, target_pairs: list[list[str]], outcome: str, conditions: dict[str, Any] | None,
    result_count: int | None, preceding: tuple[str, list[Any]] | None, *, commit: bool,
) -> OperationLogEntry:  # fmt: skip
    """An unchained entry inside the caller's transaction (no lock), `preceding` and COMMIT in the same round trip.

    With PRECEDING_ID among the targets, `preceding` runs as the insert's CTE and its returned id is spliced into
    the targets' canonical text in SQL."""
    targets_text = canonical_json(target_pairs)
    values = _pending_values(clock.now(), operator, actor_label, terminal, kind, affair, targets_text, outcome,
                             conditions, result_count)  # fmt: skip
    placeholder = str(PRECEDING_ID)
    spliced = placeholder in targets_text
    if spliced and preceding is None:
        raise OperationLogError("PRECEDING_ID needs a `preceding` statement that returns the id")
    with connection.cursor() as cursor:
        # Client-side binding (Django's default with psycopg 3) lets several statements share one round trip.
        if spliced and preceding is not None:  # (checked above; narrows the type)
            before, after = targets_text.split(placeholder, 1)
            params = [*preceding[1], *values[:6], before, after, *values[7:]]
            statement = cursor.mogrify(_pending_after(preceding[0], _SPLICED), params)
        else:
            first_sql, first_params = preceding if preceding else ("", [])
            prefix = cursor.mogrify(first_sql, first_params) + ";" if first_sql else ""
            statement = prefix + cursor.mogrify(_DEFERRED, values)
        cursor.execute(statement + ("; COMMIT" if commit else ""))
        if spliced:
            while cursor.description is None and cursor.nextset():
                pass
            (stored_targets,) = cursor.fetchone()
            target_pairs = json.loads(stored_targets)
    return _unchained_entry(values, actor_label, kind, target_pairs, outcome, conditions, result_count,
                            operator, terminal, affair)  # fmt: skip


_SEAL_TAKE = (
    "DELETE FROM audit_operationlogpending WHERE id IN (SELECT id FROM audit_operationlogpending ORDER BY id"  # noqa: S608 - constant column names
    f" LIMIT %s) RETURNING id, {_PENDING_COLUMNS}"
)


def operation_log_seal(*, limit: int = 5000) -> int:
    """Chain up to `limit` pending entries (OperationLogPending) onto the log; returns how many.

    Under the chain lock, in one transaction: the committed pending rows are taken in id order (a row whose
    transaction has not committed yet is not visible and waits for the next run), each is chained exactly as a
    locked append would chain it (same canonical text and hash, so `verify_operation_log` needs nothing new),
    and removed from the pending table. Its time is the time it was written, or the previous entry's time if
    that is later (by at most the sealing delay), so sequence order and time order agree as for locked appends.
    Beat runs it every OPLOG_SEAL_SECONDS; the checkpoint job and `verify_operation_log` run it first.
    """
    with transaction.atomic():
        previous_sequence, previous_hash = _lock_and_read_head()
        with connection.cursor() as cursor:
            cursor.execute(_SEAL_TAKE, [limit])
            rows = sorted(cursor.fetchall())
            if not rows:
                return 0
            cursor.execute(
                "SELECT max(recorded_at) FROM audit_operationlogentry WHERE sequence = %s", [previous_sequence]
            )
            last_time = cursor.fetchone()[0]  # type: ignore[index]
            params = []
            for (
                _,
                written,
                operator_id,
                actor,
                terminal_id,
                kind,
                affair_id,
                targets,
                outcome,
                conditions,
                count,
            ) in rows:
                recorded_at = written if last_time is None or written >= last_time else last_time
                last_time = recorded_at
                previous_sequence += 1
                canonical = canonical_entry(
                    sequence=previous_sequence, recorded_at=recorded_at, actor=actor, terminal_id=terminal_id,
                    kind=kind, affair_id=affair_id, targets=json.loads(targets), outcome=outcome,
                    conditions=None if conditions is None else json.loads(conditions), result_count=count,
                )  # fmt: skip
                previous_hash = chain_hash(previous_hash, canonical)
                params.append([
                    previous_sequence, recorded_at, operator_id, actor, terminal_id, kind, affair_id, targets, outcome,
                    conditions, count, previous_hash,
                ])  # fmt: skip
            # Once per month among the rows, not per row (the cache of known partitions fills at commit).
            for moment in {partitions.month_start(clock.local_date(row[1])): row[1] for row in params}.values():
                _ensure_partition(moment)
            cursor.executemany(_ENTRY_INSERT, params)
            cursor.execute(
                "UPDATE audit_operationloghead SET sequence = %s, hash = %s WHERE id = 1",
                [previous_sequence, previous_hash],
            )
    return len(rows)


def operation_log_seal_all(*, max_passes: int | None = None) -> int:
    """`operation_log_seal` until nothing is pending (or `max_passes` of up to 5,000 entries each, for a caller
    that must not chase writers adding entries meanwhile); returns how many entries it chained."""
    total, passes = 0, 0
    while (max_passes is None or passes < max_passes) and (sealed := operation_log_seal()):
        total += sealed
        passes += 1
    return total


def _outermost_block() -> bool:
    """The current `transaction.atomic` is the outermost one (no savepoint, nothing marked for rollback)."""
    return len(connection.atomic_blocks) == 1 and not connection.savepoint_ids and not connection.needs_rollback


def entry_canonical(entry: OperationLogEntry) -> bytes:
    return canonical_entry(
        sequence=entry.sequence,
        recorded_at=entry.recorded_at,
        actor=entry.actor,
        terminal_id=entry.terminal_id,
        kind=entry.kind,
        affair_id=entry.affair_id,
        targets=entry.targets,
        outcome=entry.outcome,
        conditions=entry.conditions,
        result_count=entry.result_count,
    )


_known_partitions: set[str] = set()


def _ensure_partition(moment: Any) -> None:
    """Safety net for a month whose partition the beat job has not created yet (§13: no default partition).

    The cache is filled only after commit: a rolled-back transaction may have rolled the partition back too.
    """
    month = partitions.month_start(clock.local_date(moment))
    name = partitions.partition_name(month)
    if name in _known_partitions:
        return
    if not partitions.partition_exists(month):
        partitions.partition_create(month)
    transaction.on_commit(lambda: _known_partitions.add(name))


# --- Checkpoints and retention (domain.md §11 "Integrity", §13) --------------------------


@transaction.atomic
def operation_log_checkpoint_sign(*, sequence: int, reason: str) -> OperationLogCheckpoint:
    """Sign the entry `sequence` after verifying the chain up to it from the previous valid checkpoint."""
    from audit.verify import operation_log_verify

    existing = OperationLogCheckpoint.objects.filter(sequence=sequence, reason=reason).first()
    if existing is not None:
        return existing
    entry = OperationLogEntry.objects.get(sequence=sequence)
    previous = OperationLogCheckpoint.objects.filter(sequence__lt=sequence).order_by("-sequence").first()
    verdict = operation_log_verify(start=previous.sequence + 1 if previous else None, end=sequence)
    if not verdict.ok:
        raise OperationLogError(f"refusing to sign a broken chain: {verdict.summary()}")
    message = checkpoint_message(sequence=sequence, head=bytes(entry.hash), recorded_at=entry.recorded_at)
    signature = signing_key().sign(message)
    checkpoint = OperationLogCheckpoint.objects.create(
        sequence=sequence,
        entry_recorded_at=entry.recorded_at,
        hash=bytes(entry.hash),
        reason=reason,
        signed_at=clock.now(),
        public_key=signing_public_key_hex(),
        signature=signature,
    )
    checkpoint_export(
        sequence=sequence,
        head=bytes(entry.hash),
        recorded_at=entry.recorded_at,
        reason=reason,
        signature=signature,
    )
    operation_log_record(
        actor="system:oplog",
        kind=OperationKind.CHECKPOINT_SIGNED,
        targets=[checkpoint],
        conditions={"sequence": sequence, "reason": reason},
    )
    return checkpoint


def operation_log_checkpoint_run(*, now: dt.datetime | None = None) -> list[OperationLogCheckpoint]:
    """The beat job: one checkpoint on the last entry of every ended month, and a periodic one on the head
    when the last is older than OPLOG_CHECKPOINT_HOURS (default daily)."""
    moment = now or clock.now()
    signed = []
    this_month = clock.start_of_day(partitions.month_start(clock.local_date(moment)))
    # Only months after the last signed month end: partition pruning keeps the hourly run small.
    last_month_end = OperationLogCheckpoint.objects.filter(reason="month_end").order_by("-sequence").first()
    since = last_month_end.entry_recorded_at if last_month_end else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(sequence) FROM audit_operationlogentry WHERE recorded_at > %s AND recorded_at < %s"
            " GROUP BY date_trunc('month', recorded_at AT TIME ZONE 'Asia/Tokyo') ORDER BY 1",
            [since, this_month],
        )
        month_ends = [row[0] for row in cursor.fetchall()]
    done = set(
        OperationLogCheckpoint.objects.filter(sequence__in=month_ends, reason="month_end").values_list(
            "sequence", flat=True
        )
    )
    for sequence in month_ends:
        if sequence not in done:
            signed.append(operation_log_checkpoint_sign(sequence=sequence, reason="month_end"))
    hours = int(setting_value("OPLOG_CHECKPOINT_HOURS", on=clock.local_date(moment)))
    latest = OperationLogCheckpoint.objects.filter(reason="daily").order_by("-signed_at").first()
    head_row = OperationLogHead.objects.filter(id=1).first()
    head = head_row.sequence if head_row and head_row.sequence else None
    due = latest is None or latest.signed_at <= moment - dt.timedelta(hours=hours)
    if head is not None and due and (latest is None or head > latest.sequence):
        signed.append(operation_log_checkpoint_sign(sequence=head, reason="daily"))
    return signed


@transaction.atomic
def operation_log_purge(*, as_of: dt.date, dry_run: bool = False) -> dict[str, Any]:
    """Drop the months whose every entry is older than RETENTION_YEARS (domain.md §13).

    Before dropping, the last dropped entry gets a signed checkpoint (the month-end one if present), so
    `verify_operation_log` starts from it afterwards. Only whole partitions go; DELETE stays impossible.
    """
    cutoff = clock.years_before(as_of, settings.RETENTION_YEARS)
    current = partitions.month_start(clock.today())
    expired = [m for m in partitions.partition_months() if partitions.next_month(m) <= cutoff and m < current]
    names = [partitions.partition_name(m) for m in expired]
    rows, anchor = 0, None
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"SELECT count(*), max(sequence) FROM {name}")  # noqa: S608 - name from a date
            count, top = cursor.fetchone()  # type: ignore[misc]
            rows += count
            anchor = top if top is not None else anchor
    report = {"as_of": as_of.isoformat(), "partitions": names, "rows": rows, "anchor": anchor}
    if dry_run or not names:
        return report
    if anchor is not None and not _has_valid_checkpoint(anchor):
        operation_log_checkpoint_sign(sequence=anchor, reason="purge")
    for month in expired:
        partitions.partition_drop(month)
    operation_log_record(actor="system:purge", kind=OperationKind.PURGE, conditions=report, result_count=rows)
    return report


def _has_valid_checkpoint(sequence: int) -> bool:
    return OperationLogCheckpoint.objects.filter(sequence=sequence, public_key=signing_public_key_hex()).exists()


def operation_log_partitions_ahead(*, months: int = 3) -> list[str]:
    """Create this month's and the next months' partitions (beat job), so appends never create them."""
    return partitions.partitions_ensure(first=clock.today(), months=months + 1)


# --- Terminals (domain.md §10.2) ---------------------------------------------------------


@transaction.atomic
def terminal_register(
    *,
    name: str,
    kind: str,
    office: Any,
    capabilities: Iterable[str],
    registered_by: Operator | str,
    key: str | None = None,
) -> tuple[Terminal, str]:
    """Register a terminal; returns it and its key (shown once; only the SHA-256 is stored)."""
    import secrets

    from audit.access import credential_hash

    key = key or secrets.token_urlsafe(24)
    terminal = Terminal.objects.create(
        name=name,
        kind=kind,
        office=office,
        capabilities=list(capabilities),
        credential_hash=credential_hash(key),
    )
    operation_log_record(actor=registered_by, kind=OperationKind.TERMINAL_REGISTERED, targets=[terminal])
    return terminal, key


@transaction.atomic
def terminal_enrolment_record(*, operator: Operator, terminal: Terminal) -> None:
    operation_log_record(actor=operator, kind=OperationKind.TERMINAL_ENROLLED, terminal=terminal, targets=[terminal])
