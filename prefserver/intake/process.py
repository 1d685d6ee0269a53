"""Processing of stored notices (domain.md §6.3–§6.5): steps 10–22, holds, apply, push outbox.

One transaction per batch, one savepoint per notice. Before steps 10–22 the batch takes
`pg_advisory_xact_lock` on (file, resident_code) for every code it touches (both codes of a 27) in sorted
order, so two batches neither deadlock nor both create one new person; then it loads the persons, their
code history and current versions in a few queries and locks the person rows. Within the batch notices go in
update_sequence order; a notice that applies re-examines the held notices of its person in the same loop.
Decisions are written together at the end of the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from furyo import versions as furyo_versions
from furyo.models import FuryoPerson, FuryoResidentCode, FuryoVersion
from jukinet import clock, fastjson
from jukinet.config import setting_value
from jukinet.crypto import blind_index, decrypt_with_key, key_id_of, keyring
from jukinet.db import LockClass, batch_planning, binary_rows, loaded_rows, prepared_cursor
from jukinet.models import ChangeReason, ResultCode
from jukinet.partitions import ensure_partitions, expiry_year_for
from jukinet.reference import prefecture_municipalities
from prefserver.intake.bulk import BulkWriter
from prefserver.intake.copy import Keys, array_literal, copy_rows, versions_by_id
from prefserver.intake.envelope import (
    ADDRESS_GROUP,
    CANCELLATION,
    CODE_CHANGE,
    CORRECTION,
    ENCRYPTED_MARKER,
    FORMER_SURNAME_GROUP,
    FURYO,
    FURYO_ADDRESS_KEYS,
    FURYO_LAST_ADDRESS_KEYS,
    FURYO_REMOVAL,
    IDENTITY,
    NAME_GROUP,
    Failure,
    ParsedNotice,
    parse_notice,
)
from prefserver.intake.keeping import notice_aad
from prefserver.intake.receive import NOTICE_TABLE
from prefserver.intake_log import log_intake_event
from prefserver.models import (
    LANE_SQL,
    NOTICE_LANES,
    Alert,
    IdentityPerson,
    IdentityResidentCode,
    IdentityVersion,
    IntakeBatch,
    Lane,
    Notice,
    PushOutbox,
)
from prefserver.versions import (
    Envelope,
    content_of,
    identity_person_create,
    identity_version_mark_deleted,
    identity_version_write,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
MAX_ERRORS = 3
ACTOR = "system:intake"

ENTRY, CHANGE, REMOVAL, CONTROL = "entry", "change", "removal", "control"


# --- reference data, cached per process -------------------------------------------------------------------


@cache
def result_messages() -> dict[str, str]:
    return dict(ResultCode.objects.values_list("code", "message"))


@cache
def reason_groups() -> dict[str, str]:
    return dict(ChangeReason.objects.values_list("code", "group"))


@cache
def allowed_reasons() -> dict[str, frozenset[str]]:
    rows = list(ChangeReason.objects.values_list("code", "for_identity", "for_furyo"))
    return {
        IDENTITY: frozenset(code for code, identity, _ in rows if identity),
        FURYO: frozenset(code for code, _, furyo in rows if furyo),
    }


@cache
def prefecture_codes() -> frozenset[str]:
    return frozenset(m.code for m in prefecture_municipalities())


MESSAGE_MAX = 400  # Notice.message


def log_failure(notice_pk: int, exc: BaseException) -> None:
    """Internal ids and the exception type only: database messages quote key values (resident codes), and
    application logs never hold personal data (domain.md §11). The traceback's frames name no values."""
    logger.error("intake: notice #%s failed (%s at %s)", notice_pk, type(exc).__name__, _where(exc.__traceback__))


def _where(tb: Any) -> str:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"


def message_for(failure: Failure) -> str:
    """The §19 message plus the offending keys in brackets, never values. Unknown keys are the sender's own
    strings, so each is cut to 40 characters and the message to the column's length."""
    text = result_messages().get(failure.code, "")
    if not failure.keys:
        return text
    message = f"{text}[{','.join(key[:40] for key in failure.keys)}]"
    return message if len(message) <= MESSAGE_MAX else message[: MESSAGE_MAX - 2] + "…]"


def clear_reference_caches() -> None:
    for function in (result_messages, reason_groups, allowed_reasons, prefecture_codes):
        function.cache_clear()


# --- outcomes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    reason: str


@dataclass(frozen=True)
class Apply:
    pass


Outcome = Failure | Hold | Apply


@dataclass
class Decision:
    status: str
    code: str = ""
    message: str = ""
    hold_reason: str = ""
    error_count: int | None = None


@dataclass
class CodeRow:
    person_id: int
    replaced_by: str


@dataclass
class PersonState:
    person: Any  # IdentityPerson | FuryoPerson, row-locked
    current: Any  # IdentityVersion | FuryoVersion | None

    @property
    def stored(self) -> int:
        return int(self.current.update_sequence)

    @property
    def removed(self) -> bool:
        return bool(self.current.removed)


@dataclass(slots=True)
class StoredNotice:
    """The inbox columns a batch needs (a plain row: a model instance per notice costs more than its work)."""

    pk: int
    municipality_code: str
    notice_id: str
    file: str
    envelope: dict[str, Any]
    individual_number_ciphertext: bytes | None
    received_at: dt.datetime
    received_on: dt.date
    status: str
    hold_reason: str
    error_count: int


STORED_FIELDS = (
    "pk", "municipality_code", "notice_id", "file", "envelope", "individual_number_ciphertext", "received_at",
    "received_on", "status", "hold_reason", "error_count",
)  # fmt: skip


def stored_notices(queryset: Any) -> list[StoredNotice]:
    """The queryset's notices as plain rows. Its SQL runs through binary_rows and the envelope is decoded here:
    the ORM's per-row machinery (converters, iterables) cost more than the rows of a 2000-notice claim."""
    sql, params = queryset.values_list(*STORED_FIELDS).query.sql_with_params()
    rows = binary_rows(sql, params)
    loads = fastjson.loads  # the envelope column is text (JSONTextField)
    return [
        StoredNotice(pk, code, notice_id, file, loads(envelope), *rest)
        for pk, code, notice_id, file, envelope, *rest in rows
    ]


@dataclass(eq=False)
class WorkItem:
    """A notice to decide; items go in (update_sequence, notice id) order (see Queued)."""

    update_sequence: int
    notice_pk: int
    notice: StoredNotice
    parsed: ParsedNotice


# The heap's entries: (update_sequence, notice id, item). A notice is queued at most once, so two entries never tie
# on both numbers and the heap compares plain ints in C (a Python __lt__ ran about 20 times per notice).
Queued = tuple[int, int, WorkItem]


def queued(item: WorkItem) -> Queued:
    return (item.update_sequence, item.notice_pk, item)


# --- per-file storage -------------------------------------------------------------------------------------

PERSON_MODELS: dict[str, Any] = {IDENTITY: IdentityPerson, FURYO: FuryoPerson}
CODE_MODELS: dict[str, Any] = {IDENTITY: IdentityResidentCode, FURYO: FuryoResidentCode}
VERSION_MODELS: dict[str, Any] = {IDENTITY: IdentityVersion, FURYO: FuryoVersion}
VERSION_TABLES = {IDENTITY: "prefserver_identity_version", FURYO: "furyo_version"}


def sender_field(file: str) -> str:
    """Field 14: the person's current municipality (file (2): the 附票管理市町村)."""
    return "municipality_code" if file == IDENTITY else "furyo_municipality_code"


def comparable(file: str, content: dict[str, Any]) -> dict[str, Any]:
    """Content for comparison: the individual number as its blind index (never decrypted to compare)."""
    values = dict(content)
    if file == IDENTITY:
        values["individual_number"] = blind_index(content["individual_number"])
    return values


def current_comparable(file: str, version: Any) -> dict[str, Any]:
    keys = furyo_versions.CONTENT_KEYS if file == FURYO else _identity_keys()
    values = {key: getattr(version, key) for key in keys if key != "individual_number"}
    if file == IDENTITY:
        values["individual_number"] = bytes(version.individual_number_blind_index)
    return values


@cache
def _identity_keys() -> tuple[str, ...]:
    from prefserver.versions import CONTENT_KEYS

    return CONTENT_KEYS


def advisory_key(file: str, resident_code: str) -> int:
    digest = hashlib.sha256(f"intake|{file}|{resident_code}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def decrypt_notice_number(notice: StoredNotice) -> str | None:
    if notice.individual_number_ciphertext is None:
        return None
    blob = bytes(notice.individual_number_ciphertext)
    key = keyring().keys[key_id_of(blob)]
    aad = notice_aad(municipality_code=notice.municipality_code, notice_id=notice.notice_id)
    return decrypt_with_key(blob, key=key, aad=aad)


def parse_stored(notice: StoredNotice) -> ParsedNotice | Failure:
    envelope = notice.envelope
    number = None
    payload = envelope.get("payload")
    if isinstance(payload, dict) and payload.get("individual_number") == ENCRYPTED_MARKER:
        number = decrypt_notice_number(notice)
        envelope = {**envelope, "payload": {**payload, "individual_number": number}}
    return parse_notice(
        envelope,
        received_on=notice.received_on,
        individual_number=number,
        allowed_reasons=allowed_reasons(),
        prefecture_codes=prefecture_codes(),
    )


# --- the batch --------------------------------------------------------------------------------------------


class BatchRun:
    """Decides a set of claimed notices inside the caller's transaction."""

    def __init__(self, *, batch: IntakeBatch, timeout_pks: frozenset[int] = frozenset(), fast: bool = True) -> None:
        self.batch = batch
        # fast: entries, changes and removals are staged and written set-based (BulkWriter); 27, 91 and 92
        # flush first and run on the per-notice path. Not fast: every notice on the per-notice path.
        self.fast = fast
        self.writer = BulkWriter()
        self.timeout_pks = timeout_pks  # held notices whose hold time ran out (the hold sweep)
        self.decisions: dict[int, Decision] = {}
        self.notices: dict[int, StoredNotice] = {}
        self.codes: dict[tuple[str, str], CodeRow | None] = {}
        self.states: dict[tuple[str, int], PersonState] = {}
        self.locked: set[int] = set()
        self.held_pool: dict[tuple[str, str], list[WorkItem]] = {}
        self.outbox: list[tuple[Any, ...]] = []
        self.queue: list[Queued] = []
        # Held notices of the batch's codes that another transaction had row-locked (see _load_held).
        self.skipped_held: set[int] = set()

    # -- entry point --

    def run(self, notices: list[StoredNotice]) -> dict[str, int]:
        items = []
        for notice in notices:
            self.notices[notice.pk] = notice
            parsed = self._parse(notice)
            if parsed is not None:
                items.append(WorkItem(parsed.update_sequence, notice.pk, notice, parsed))
        keys = {(i.parsed.file, i.parsed.resident_code) for i in items}
        keys |= {(i.parsed.file, i.parsed.new_resident_code) for i in items if i.parsed.new_resident_code}
        keys |= self._held_new_codes(keys)
        self._lock(keys)
        self._load(keys)
        self._load_held(keys, exclude={i.notice_pk for i in items})
        if self.fast:
            self._reserve_ids(items)
        self.queue = sorted(map(queued, items))  # a sorted list is a heap
        while self.queue:
            self._process(heapq.heappop(self.queue)[2])
        self._write()
        return self._counts()

    def _reserve_ids(self, items: list[WorkItem]) -> None:
        everything = items + [item for pooled in self.held_pool.values() for item in pooled]
        for file in (IDENTITY, FURYO):
            mine = [item.parsed for item in everything if item.parsed.file == file]
            new = {p.resident_code for p in mine if self.codes.get((file, p.resident_code)) is None}
            self.writer.reserve(file, persons=len(new), versions=len(mine))

    def _parse(self, notice: StoredNotice) -> ParsedNotice | None:
        try:
            result = parse_stored(notice)
        except Exception as exc:
            log_failure(notice.pk, exc)
            self._error(notice)
            return None
        if isinstance(result, Failure):
            self._decide(notice, Decision(Notice.Status.REJECTED, result.code, message_for(result)))
            return None
        return result

    # -- locks and state --

    def _held_new_codes(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """New codes of held 27s for these codes: a 27 released in this batch must hold both locks."""
        found: set[tuple[str, str]] = set()
        for file in files_of(keys):
            codes = [code for f, code in keys if f == file]
            rows = Notice.objects.filter(
                status=Notice.Status.HELD, file=file, resident_code__any_of=Keys(codes), change_reason=CODE_CHANGE
            ).values_list("new_resident_code", flat=True)
            found |= {(file, code) for code in rows if code}
        return found

    def _lock(self, keys: set[tuple[str, str]]) -> None:
        wanted = sorted({advisory_key(f, c) for f, c in keys} - self.locked)
        if not wanted:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) AS s",
                [array_literal(wanted)],
            )
        self.locked.update(wanted)

    def _load(self, keys: set[tuple[str, str]]) -> None:
        """Code history, person rows (locked, in id order) and current versions: three queries per file."""
        for file in files_of(keys):
            codes = [code for f, code in keys if f == file]
            rows = (
                CODE_MODELS[file]
                .objects.filter(resident_code__any_of=Keys(codes))
                .values_list("resident_code", "person_id", "replaced_by")
            )
            for code in codes:
                self.codes[(file, code)] = None
            for code, person_id, replaced_by in rows:
                self.codes[(file, code)] = CodeRow(person_id, replaced_by)
            person_ids = sorted({row.person_id for (f, _), row in self.codes.items() if f == file and row})
            self._load_persons(file, person_ids)

    def _load_persons(self, file: str, person_ids: list[int]) -> None:
        if not person_ids:
            return
        # A person already in memory may carry staged writes: never replace it with the database's row.
        person_ids = [pk for pk in person_ids if (file, pk) not in self.states]
        if not person_ids:
            return
        persons = loaded_rows(
            PERSON_MODELS[file].objects.select_for_update().filter(pk__any_of=Keys(person_ids)).order_by("pk")
        )
        # Current versions by the person's pointer (id and expiry year: the sentinel partition, or a removed
        # person's own year, domain.md §13), each read in its partition instead of probing every expiry year (the
        # year intake supersedes into grew during a run and was read by sequential scans).
        versions = versions_by_id(
            VERSION_MODELS[file],
            [
                (p.current_version_id, p.current_version_expiry_year)
                for p in persons
                if p.current_version_id is not None
            ],
            lambda queryset: {v.pk: v for v in loaded_rows(queryset)},
        )
        for person in persons:
            self.states[(file, person.pk)] = PersonState(person, versions.get(person.current_version_id))

    def _load_held(self, keys: set[tuple[str, str]], *, exclude: set[int]) -> None:
        """Held notices of the batch's codes, re-examined when a notice for their person applies.

        SKIP LOCKED leaves out a held notice that another transaction has row-locked. The hold sweep locks the
        notices it decides; but a claim can also hold a lock on a notice it did not claim: under READ COMMITTED,
        a pending row that a concurrent batch decided while the claim was scanning is locked by FOR UPDATE's
        re-check (EvalPlanQual) and then dropped from its result, the lock staying until that batch commits.
        Waiting for such a lock could deadlock with the advisory locks, so the skipped ids are kept and
        re-examined once this batch has committed (intake_held_recheck)."""
        for file in files_of(keys):
            codes = [code for f, code in keys if f == file]
            held_query = (
                _held_examinable()
                .filter(file=file, resident_code__any_of=Keys(codes))
                .exclude(pk__any_of=Keys(sorted(exclude)))
            )
            held = stored_notices(held_query.select_for_update(skip_locked=True).order_by("update_sequence", "pk"))
            if len(held) < held_query.count():
                self.skipped_held |= set(held_query.values_list("pk", flat=True)) - {n.pk for n in held}
            for notice in held:
                self.notices[notice.pk] = notice
                parsed = self._parse(notice)
                if parsed is not None:
                    self._pool(WorkItem(parsed.update_sequence, notice.pk, notice, parsed))

    def _pool(self, item: WorkItem) -> None:
        self.held_pool.setdefault((item.parsed.file, item.parsed.resident_code), []).append(item)

    def _release(self, file: str, *codes: str) -> None:
        for code in codes:
            for item in self.held_pool.pop((file, code), []):
                heapq.heappush(self.queue, queued(item))

    def _state_for(self, file: str, code: str) -> tuple[CodeRow | None, PersonState | None]:
        if (file, code) not in self.codes:  # a code reached late (a held 27's target): lock and load now
            self._lock({(file, code)})
            self._load({(file, code)})
        row = self.codes[(file, code)]
        return row, (self.states[(file, row.person_id)] if row else None)

    # -- one notice --

    def _process(self, item: WorkItem) -> None:
        notice, parsed = item.notice, item.parsed
        staged = self.fast and parsed.change_reason not in (CODE_CHANGE, CORRECTION, CANCELLATION)
        try:
            if staged:
                # No savepoint: evaluation reads memory, and _apply_staged changes nothing until its values
                # are computed. A database error here aborts the batch (the caller re-runs it per notice).
                outcome = self._outcome(notice, parsed, self._apply_staged)
            else:
                if self.writer.pending:
                    self.writer.flush()  # outside the savepoint: the per-notice path reads the database
                with transaction.atomic():  # one savepoint per notice: an error rolls back this notice only
                    outcome = self._outcome(notice, parsed, self._apply)
                if self.fast and isinstance(outcome, Apply):
                    self.writer.discard_version_ids()
        except DatabaseError as exc:
            if staged:
                raise
            log_failure(notice.pk, exc)
            self._reload_after_error(parsed)
            self._error(notice)
            return
        except Exception as exc:
            log_failure(notice.pk, exc)
            if not staged:
                self._reload_after_error(parsed)
            self._error(notice)
            return
        if isinstance(outcome, Failure):
            self._decide(notice, Decision(Notice.Status.REJECTED, outcome.code, message_for(outcome)))
        elif isinstance(outcome, Hold):
            self._pool(item)
            if not (notice.status == Notice.Status.HELD and notice.hold_reason == outcome.reason):
                self._decide(notice, Decision(Notice.Status.HELD, hold_reason=outcome.reason))
        else:
            self._decide(notice, Decision(Notice.Status.APPLIED))
            self._release(parsed.file, parsed.resident_code, *filter(None, [parsed.new_resident_code]))

    def _outcome(self, notice: StoredNotice, parsed: ParsedNotice, apply: Any) -> Outcome:
        outcome = self._evaluate(notice, parsed)
        if isinstance(outcome, Hold) and notice.pk in self.timeout_pks:
            outcome = self._timeout_failure(parsed, outcome)
        if isinstance(outcome, Apply):
            apply(notice, parsed)
        return outcome

    def _apply_staged(self, notice: StoredNotice, p: ParsedNotice) -> None:
        """Entry, change or removal through the BulkWriter (written at the end of the batch)."""
        group = reason_groups()[p.change_reason]
        _, state = self._state_for(p.file, p.resident_code)
        person = self.writer.new_person(p.file) if state is None else state.person
        if group == REMOVAL:
            removed = True
        elif group == CHANGE and state is not None:
            removed = state.removed
        else:
            removed = False
        if p.file == FURYO:
            removed = p.content["status"] == 9
        current = state.current if state is not None else None
        envelope_values = self._envelope_values(notice, p, p.resident_code)
        content = p.content
        if p.file == FURYO:
            content = furyo_content(content, former_code=None, current=current)
            envelope_values["notice_kind"] = envelope_values.pop("change_reason")
        version = self.writer.write_version(
            p.file, person=person, content=content, removed=removed, current=current,
            new_person_code=p.resident_code if state is None else None, envelope_values=envelope_values,
        )  # fmt: skip
        if state is None:
            state = PersonState(person, None)
            self.states[(p.file, person.pk)] = state
            self.codes[(p.file, p.resident_code)] = CodeRow(person.pk, "")
        state.current = version
        self._stage_push(p, state, version, p.resident_code)

    @staticmethod
    def _envelope_values(notice: StoredNotice, p: ParsedNotice, resident_code: str) -> dict[str, Any]:
        return {
            "resident_code": resident_code, "change_reason": p.change_reason, "change_date": p.change_date,
            "municipality_code": notice.municipality_code, "operator_id": p.operator_id,
            "terminal_id": p.terminal_id, "received_on": notice.received_on,
            "update_sequence": p.update_sequence, "source_notice_id": notice.pk,
        }  # fmt: skip

    def _stage_push(self, p: ParsedNotice, state: PersonState, version: Any, resident_code: str) -> None:
        """One outbox row per applied change (revision 0: a municipal notice), written with the batch."""
        self.outbox.append(
            (p.file, state.person.pk, resident_code, p.update_sequence, 0, version.pk, version.expiry_year)
        )

    def _timeout_failure(self, parsed: ParsedNotice, hold: Hold) -> Failure:
        """At the hold timeout (§6.4 step 12): E104 (a 91/92: E109), E105, otherwise E202."""
        group = reason_groups()[parsed.change_reason]
        if hold.reason == Notice.HoldReason.UNKNOWN_CODE:
            return Failure("E109", ("target_notice_id",)) if group == CONTROL else Failure("E104", ("resident_code",))
        if hold.reason == Notice.HoldReason.REMOVED and group in (CHANGE, REMOVAL):
            return Failure("E105", ("resident_code",))
        return Failure("E202", ("update_sequence",))

    def _evaluate(self, notice: StoredNotice, p: ParsedNotice) -> Outcome:
        """Steps 10–22 in evaluation order; the first failing check decides."""
        group = reason_groups()[p.change_reason]
        row, state = self._state_for(p.file, p.resident_code)
        if row is not None and row.replaced_by:
            return Failure("E110", ("resident_code",))  # step 10
        if state is not None and p.update_sequence <= state.stored:
            return Failure("E201", ("update_sequence",))  # step 11
        hold = self._hold(p, group, state)  # step 12
        if hold is not None:
            return hold
        if (
            group == ENTRY
            and state is not None
            and (not state.removed or (p.change_reason == "12" and not state.current.deleted))
        ):
            return Failure("E101", ("resident_code",))  # step 13; seeds/002_b6d1246946737152.txt:1629-1631
        if state is None:
            return self._evaluate_new(notice, p)
        return self._evaluate_known(notice, p, group, state)

    @staticmethod
    def _hold(p: ParsedNotice, group: str, state: PersonState | None) -> Hold | None:
        if state is None:
            return None if group == ENTRY else Hold(Notice.HoldReason.UNKNOWN_CODE)
        if not state.removed and p.update_sequence > state.stored + 1:
            return Hold(Notice.HoldReason.GAP)
        if state.removed and group != ENTRY and p.update_sequence > state.stored + 1:
            return Hold(Notice.HoldReason.REMOVED)
        return None

    def _evaluate_new(self, notice: StoredNotice, p: ParsedNotice) -> Outcome:
        """An entry for an unknown code (a baseline): steps 17 (file (2) sender), 18."""
        if p.file == FURYO and p.content["furyo_municipality_code"] != notice.municipality_code:
            return Failure("E106", ("furyo_municipality_code",))
        if p.change_reason == "12" and p.content["birth_date"] != p.change_date:
            return Failure("E107", ("birth_date",))
        return Apply()

    def _evaluate_known(self, notice: StoredNotice, p: ParsedNotice, group: str, state: PersonState) -> Outcome:
        if p.change_reason == FURYO_REMOVAL and state.removed:
            return Failure("E103", ("resident_code",))  # step 15; seeds/002_b6d1246946737152.txt:2525-2526
        if group in (CHANGE, REMOVAL) and state.removed:
            return Failure("E105", ("resident_code",))  # step 16
        if group in (CHANGE, REMOVAL) and getattr(state.current, sender_field(p.file)) != notice.municipality_code:
            return Failure("E106", ("municipality_code",))  # step 17
        furyo_sender = p.content.get("furyo_municipality_code", notice.municipality_code)
        if p.file == FURYO and furyo_sender != notice.municipality_code:
            return Failure("E106", ("furyo_municipality_code",))
        if p.change_reason == "12" and p.content["birth_date"] != p.change_date:
            return Failure("E107", ("birth_date",))  # step 18
        if group in (CHANGE, REMOVAL):
            before = current_comparable(p.file, state.current)
            after = comparable(p.file, p.content)
            changed = {key for key in after if after[key] != before.get(key)}
            if p.change_reason == "21" and changed - ADDRESS_GROUP:
                # step 19; seeds/002_b6d1246946737152.txt:1629-1631
                return Failure("E102", tuple(sorted(changed - ADDRESS_GROUP)))
            breach = field_breach(p.file, p.change_reason, before, after, changed)
            if breach:
                return Failure("E108", tuple(sorted(breach)))  # step 20
        if group == CONTROL:
            failure = self._check_target(notice, p, state)  # step 21
            if failure:
                return failure
        if p.change_reason == CODE_CHANGE:
            new_row, _ = self._state_for(p.file, str(p.new_resident_code))
            if new_row is not None:
                return Failure("E111", ("new_resident_code",))  # step 22
        return Apply()

    def _check_target(self, notice: StoredNotice, p: ParsedNotice, state: PersonState) -> Failure | None:
        """E109: target unknown, not applied, from another sender, another person, not behind the current
        version, or itself a 92 or a 27."""
        failure = Failure("E109", ("target_notice_id",))
        target = Notice.objects.filter(municipality_code=notice.municipality_code, notice_id=p.target_notice_id).first()
        if target is None or target.file != p.file:
            return failure
        decided = self.decisions.get(target.pk)  # decided earlier in this batch, not yet written
        if (decided.status if decided else target.status) != Notice.Status.APPLIED:
            return failure
        if target.change_reason in (CANCELLATION, CODE_CHANGE):
            return failure
        if state.current.source_notice_id != target.pk or state.current.deleted:
            return failure
        return None

    # -- apply --

    def _apply(self, notice: StoredNotice, p: ParsedNotice) -> None:
        group = reason_groups()[p.change_reason]
        _, state = self._state_for(p.file, p.resident_code)
        resident_code = p.resident_code
        if state is None:
            person = create_person(p.file, resident_code=resident_code, assigned_on=p.change_date)
            state = PersonState(person, None)
            self.states[(p.file, person.pk)] = state
            self.codes[(p.file, resident_code)] = CodeRow(person.pk, "")
        content, removed, deleted = p.content, False, False
        former_code = None
        if p.change_reason == CODE_CHANGE:
            new_code = str(p.new_resident_code)
            move_code(p.file, person=state.person, old=resident_code, new=new_code, on=p.change_date)
            self.codes[(p.file, resident_code)] = CodeRow(state.person.pk, new_code)
            self.codes[(p.file, new_code)] = CodeRow(state.person.pk, "")
            former_code, resident_code = resident_code, new_code
        if group == REMOVAL:
            removed = True
        elif group in (CHANGE, CONTROL) and state.current is not None:
            removed = state.removed
        if p.file == FURYO and p.change_reason != CANCELLATION:
            removed = content["status"] == 9
        if group == CONTROL:
            mark_deleted(p.file, state.current)
        if p.change_reason == CANCELLATION:
            content, removed, deleted = restored_state(p.file, state.current)
        version = write_version(
            p.file, state=state, content=content, removed=removed, deleted=deleted, former_code=former_code,
            envelope_values=self._envelope_values(notice, p, resident_code),
        )  # fmt: skip
        state.current = version
        self._stage_push(p, state, version, resident_code)

    def _reload_after_error(self, p: ParsedNotice) -> None:
        """After a rolled-back savepoint the cached state of these codes may be ahead of the database."""
        keys = {(p.file, p.resident_code)} | ({(p.file, p.new_resident_code)} if p.new_resident_code else set())
        for key in keys:
            row = self.codes.pop(key, None)
            if row is not None:
                self.states.pop((key[0], row.person_id), None)
        self._load(keys)

    # -- decisions --

    def _decide(self, notice: StoredNotice, decision: Decision) -> None:
        self.decisions[notice.pk] = decision

    def _error(self, notice: StoredNotice) -> None:
        count = notice.error_count + 1
        if count >= MAX_ERRORS:
            self._decide(notice, Decision(Notice.Status.HELD, hold_reason=Notice.HoldReason.ERROR, error_count=count))
            Alert.objects.create(
                kind=Alert.Kind.INTAKE_ERROR,
                message=f"通知 #{notice.pk} の処理が{count}回失敗したため保留しています。",
                notice_id=notice.pk,
            )
        else:
            self._decide(notice, Decision(notice.status, hold_reason=notice.hold_reason, error_count=count))

    def _write(self) -> None:
        """Staged versions, then all decisions in one pipelined statement (results take their feed number
        here), then the push outbox rows: all in the batch's transaction."""
        self.writer.flush()
        now = clock.now()
        columns: list[list[Any]] = [[] for _ in range(7)]
        for pk, d in self.decisions.items():
            decided = d.status in (Notice.Status.APPLIED, Notice.Status.REJECTED)
            error_count = d.error_count if d.error_count is not None else self.notices[pk].error_count
            for index, value in enumerate((pk, d.status, d.code, d.message, d.hold_reason, error_count, decided)):
                columns[index].append(value)
        if self.decisions:
            # Server-side binding: the long array literals travel as parameters, not quoted into the text.
            with prepared_cursor() as cursor:
                cursor.execute(
                    f"""UPDATE {NOTICE_TABLE} AS n SET status = d.status, code = d.code, message = d.message,
                    hold_reason = d.hold_reason, error_count = d.error_count,
                    decided_at = CASE WHEN d.decided THEN %s::timestamptz END,
                    result_seq = CASE WHEN d.decided THEN nextval('prefserver_notice_result_seq') END,
                    batch_id = %s
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::smallint[],
                            %s::boolean[])
                     AS d (id, status, code, message, hold_reason, error_count, decided)
                WHERE n.id = d.id""",  # noqa: S608 (a constant table name)
                    [now, self.batch.pk, *(array_literal(column) for column in columns)],
                )
        if self.outbox:
            fields = ("file", "person_id", "resident_code", "update_sequence", "revision", "version_id",
                      "version_expiry_year", "status", "attempts", "next_attempt_at", "created_at")  # fmt: skip
            tail = (PushOutbox.Status.PENDING, 0, now, now)
            copy_rows(PushOutbox._meta.db_table, fields, (row + tail for row in self.outbox))

    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.decisions.values():
            key = d.code or (f"held:{d.hold_reason}" if d.status == Notice.Status.HELD else d.status)
            if d.error_count is not None and d.status != Notice.Status.HELD:
                key = "error_retry"
            counts[key] = counts.get(key, 0) + 1
        return counts


def files_of(keys: set[tuple[str, str]]) -> list[str]:
    return sorted({file for file, _ in keys})


# --- storage helpers (one writer per file) -----------------------------------------------------------------


def create_person(file: str, *, resident_code: str, assigned_on: dt.date) -> Any:
    if file == IDENTITY:
        return identity_person_create(resident_code=resident_code, assigned_on=assigned_on)
    return furyo_versions.furyo_person_create(resident_code=resident_code, assigned_on=assigned_on)


def move_code(file: str, *, person: Any, old: str, new: str, on: dt.date) -> None:
    """住民票コードの変更: the old code stays in the history, replaced by the new one (§6.2)."""
    model = CODE_MODELS[file]
    model.objects.filter(resident_code=old).update(replaced_by=new, replaced_on=on)
    model.objects.create(resident_code=new, person=person, assigned_on=on)


def mark_deleted(file: str, version: Any) -> None:
    if file == IDENTITY:
        identity_version_mark_deleted(version=version)
    else:
        furyo_versions.furyo_version_mark_deleted(version=version)


def content_from(file: str, version: Any) -> dict[str, Any]:
    return content_of(version) if file == IDENTITY else furyo_versions.content_of(version)


def restored_state(file: str, target: Any) -> tuple[dict[str, Any], bool, bool]:
    """取消 (§6.2): the content, removed included, of the newest non-deleted version older than the target;
    with none, the target's content with removed and deleted both set (a cancelled entry).

    "Older" is by (update_sequence, revision), the order in which a person's versions are written (a 99 keeps
    the sequence and raises the revision); ids are not, since a batch takes its ids ahead."""
    older = Q(update_sequence__lt=target.update_sequence) | Q(
        update_sequence=target.update_sequence, revision__lt=target.revision
    )
    prior = (
        VERSION_MODELS[file]
        .objects.filter(older, person_id=target.person_id, deleted=False)
        .order_by("-update_sequence", "-revision")
        .first()
    )
    if prior is None:
        return content_from(file, target), True, True
    return content_from(file, prior), bool(prior.removed), False


def write_version(
    file: str,
    *,
    state: PersonState,
    content: dict[str, Any],
    removed: bool,
    deleted: bool,
    former_code: str | None,
    envelope_values: dict[str, Any],
) -> Any:
    if file == IDENTITY:
        return identity_version_write(
            person=state.person, content=content, envelope=Envelope(**envelope_values), removed=removed,
            deleted=deleted,
        )  # fmt: skip
    return furyo_versions.furyo_version_write(
        person=state.person, content=furyo_content(content, former_code=former_code, current=state.current),
        envelope=furyo_envelope(envelope_values), removed=removed, deleted=deleted,
    )  # fmt: skip


def furyo_content(content: dict[str, Any], *, former_code: str | None, current: Any) -> dict[str, Any]:
    """A 附票 version's content: the payload plus 旧住民票コード, which the system sets on a code change and
    carries forward otherwise (domain.md §5.1 field 13)."""
    if former_code is None and current is not None:
        former_code = current.former_resident_code
    return {**content, "former_resident_code": former_code}


def furyo_envelope(envelope_values: dict[str, Any]) -> furyo_versions.FuryoEnvelope:
    """File (2) calls field 18 the notice kind (notice_kind); intake's envelope calls it change_reason."""
    values = dict(envelope_values)
    values["notice_kind"] = values.pop("change_reason")
    return furyo_versions.FuryoEnvelope(**values)


def field_breach(file: str, reason: str, before: dict[str, Any], after: dict[str, Any], changed: set[str]) -> set[str]:
    """Step 20 (E108): keys a change reason may not change (§6.2, last column)."""
    if reason in ("31", "32", "33", "34", CODE_CHANGE):
        return changed
    if file == IDENTITY:
        if reason == "22":
            return changed - ADDRESS_GROUP
        if reason == "23":
            return changed - NAME_GROUP
        if reason == "24":
            wrong = (
                {"former_surname"} if before["former_surname"] is not None or after["former_surname"] is None else set()
            )
            return (changed - FORMER_SURNAME_GROUP) | wrong
        if reason == "25":
            wrong = (
                {"former_surname"} if before["former_surname"] is None or after["former_surname"] is not None else set()
            )
            return (changed - FORMER_SURNAME_GROUP) | wrong
        if reason == "26":
            return (changed - {"individual_number"}) | ({"individual_number"} - changed)
        return set()  # 28 職権修正: any key
    status_before, status_after = before["status"], after["status"]
    if reason == "52":
        return {"status"} if status_before != status_after and (status_before, status_after) != (2, 1) else set()
    if reason == "53":
        wrong = {"status"} if (status_before, status_after) != (1, 2) else set()
        return (changed - FURYO_ADDRESS_KEYS - FURYO_LAST_ADDRESS_KEYS - {"status"}) | wrong
    if reason == FURYO_REMOVAL:
        return (changed - {"status"}) | ({"status"} if status_after != 9 else set())
    return set()


# --- services -----------------------------------------------------------------------------------------------


def ensure_intake_partitions(*, on: dt.date) -> None:
    """Create this year's expiry partitions in a short transaction of their own: DDL inside a batch would lock
    the version table for every other batch until commit."""
    years = {expiry_year_for(on.year), expiry_year_for(on.year - 1)}
    with transaction.atomic():
        for table in VERSION_TABLES.values():
            ensure_partitions(table, years)


def intake_process_batch(*, limit: int = BATCH_SIZE, fast: bool = True) -> IntakeBatch | None:
    """Claim up to `limit` pending notices (by lane, SKIP LOCKED: `_claim`) and decide them in one transaction.
    Idempotent: only pending notices are claimed, so a re-delivered task finds nothing to do twice.

    The set-based path runs first; if the database refuses its writes, the whole batch rolls back and runs
    again on the per-notice path, where a savepoint per notice isolates the failing one. Held notices the
    batch could not examine (another transaction held their row lock) are re-examined after its commit."""
    result: tuple[IntakeBatch, set[int]] | None = None
    try:
        with transaction.atomic():
            batch_planning()
            notices = _claim(limit)
            result = _run_batch(notices, kind=IntakeBatch.Kind.PROCESS, fast=fast) if notices else None
    except DatabaseError as exc:
        if not fast:
            raise
        logger.warning("intake: set-based batch failed (%s); re-running it notice by notice", type(exc).__name__)
        with transaction.atomic():
            batch_planning()
            notices = _claim(limit)
            result = _run_batch(notices, kind=IntakeBatch.Kind.PROCESS, fast=False) if notices else None
    if result is None:
        return None
    batch, skipped_held = result
    if skipped_held:
        intake_held_recheck(pks=skipped_held)
    return batch


RECHECK_ATTEMPTS = 100
RECHECK_PAUSE_SECONDS = 0.1


def intake_held_recheck(*, pks: set[int]) -> set[int]:
    """Re-examine these held notices (a batch that might have released them had to skip them): each one that can
    apply now applies, the others stay held. A notice still row-locked by another transaction is retried for a
    while (such a lock lasts until that batch commits); returns the ids still waiting after that (left to the
    next batch of their person, or to the hold sweep)."""
    waiting = set(pks)
    for _ in range(RECHECK_ATTEMPTS):
        with transaction.atomic():
            batch_planning()  # a batch of its own: its lookups as index probes, as a claimed batch's
            notices = stored_notices(
                _held_examinable()
                .select_for_update(skip_locked=True)
                .filter(pk__any_of=Keys(sorted(waiting)))
                .order_by("id")
            )
            if notices:
                _, skipped = _run_batch(notices, kind=IntakeBatch.Kind.PROCESS, fast=False)
                waiting |= skipped
        waiting -= {n.pk for n in notices}
        waiting = set(_held_examinable().filter(pk__any_of=Keys(sorted(waiting))).values_list("pk", flat=True))
        if not waiting:
            return waiting
        time.sleep(RECHECK_PAUSE_SECONDS)
    logger.warning(
        "intake: %d held notices stayed row-locked; their next notice or the hold sweep decides", len(waiting)
    )
    return waiting


def _held_examinable() -> Any:
    """Held notices a later notice or the hold sweep may decide: waiting for a gap, not held for an error."""
    return Notice.objects.filter(status=Notice.Status.HELD).exclude(hold_reason=Notice.HoldReason.ERROR)


# Lanes with a pending notice, the lane of the oldest first: one probe of the lane index per lane.
LANES_SQL = f"""
SELECT lane FROM generate_series(0, {NOTICE_LANES - 1}) AS lane
 CROSS JOIN LATERAL (SELECT n.id FROM {NOTICE_TABLE} AS n
                      WHERE n.status = 'pending' AND {LANE_SQL.format("n.resident_code")} = lane
                      ORDER BY n.id LIMIT 1) AS oldest
 ORDER BY oldest.id
"""  # noqa: S608 (constants)


def _claim(limit: int) -> list[StoredNotice]:
    """Up to `limit` pending notices (SKIP LOCKED) from the lanes whose lock this transaction takes, the lane of
    the oldest pending notice first, each lane's oldest first.

    Every notice of a resident code is in one lane, so while a batch holds its lanes another worker's batch
    claims other persons' notices and does not wait for this one's commit on the person locks: claimed by id
    alone, two workers' consecutive batches shared about a quarter of their persons and took turns (docs/intake.md
    "Claim lanes"). The lane locks are only tried, never waited for, so they add no deadlock; the person locks
    still decide correctness (a 27's new code is usually in another lane, and the hold sweep, the held re-check
    and a batch's held notices are taken without lanes). A worker that finds every lane with pending notices
    taken gets nothing: the lanes' holders claim again after their commit, and the sweeper re-dispatches
    anything left."""
    with connection.cursor() as cursor:
        cursor.execute(LANES_SQL)
        lanes = [lane for (lane,) in cursor.fetchall()]
        notices: list[StoredNotice] = []
        for lane in lanes:
            if len(notices) >= limit:
                break
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LockClass.INTAKE_LANE, lane])
            if not cursor.fetchone()[0]:
                continue
            notices += stored_notices(
                Notice.objects.select_for_update(skip_locked=True)
                .alias(lane=Lane("resident_code"))
                .filter(status=Notice.Status.PENDING, lane=lane)
                .order_by("id")[: limit - len(notices)]
            )
    return notices


def _run_batch(
    notices: list[StoredNotice], *, kind: str, timeout_pks: frozenset[int] = frozenset(), fast: bool = True
) -> tuple[IntakeBatch, set[int]]:
    """Decide the notices inside the caller's transaction → (the batch, held notices it had to skip)."""
    if not (reason_groups() and result_messages() and prefecture_codes()):
        # Never decide notices against missing reference data (a worker started before load_reference): the
        # batch fails as a whole, its notices stay pending, and the next run reads the tables again.
        clear_reference_caches()
        raise RuntimeError("intake reference data (change reasons, result codes, municipalities) is not loaded")
    batch = IntakeBatch.objects.create(
        kind=kind, actor=ACTOR, first_notice=min(n.pk for n in notices), last_notice=max(n.pk for n in notices)
    )
    run = BatchRun(batch=batch, timeout_pks=timeout_pks, fast=fast)
    counts = run.run(notices)
    batch.counts, batch.finished_at = counts, clock.now()
    batch.save(update_fields=["counts", "finished_at"])
    # The entry is unchained (no chain lock), so the deferred foreign-key checks may run at COMMIT, which
    # travels with it.
    log_intake_event(
        actor=ACTOR, kind=kind, targets=(batch,), conditions=counts, result_count=len(notices), commit=True
    )
    return batch, run.skipped_held


def intake_process_pending(
    *,
    limit: int = BATCH_SIZE,
    max_batches: int | None = None,
    fast: bool = True,
    after_batch: Callable[[IntakeBatch], None] | None = None,
) -> int:
    """Process batches until no pending notice is left (or max_batches). Returns the number of batches.

    `after_batch` runs after each committed batch, outside its transaction (the worker sends pushes there)."""
    ensure_intake_partitions(on=clock.today())
    done = 0
    while max_batches is None or done < max_batches:
        batch = intake_process_batch(limit=limit, fast=fast)
        if batch is None:
            break
        done += 1
        if after_batch is not None:
            after_batch(batch)
    return done


def intake_hold_sweep(*, as_of: dt.datetime, limit: int = BATCH_SIZE) -> int:
    """Time out held notices (§6.3, §13): held longer than NOTICE_HOLD_HOURS at `as_of` get E104, E105, E109
    or E202 unless they can apply now. Notices held for errors are never decided automatically."""
    hours = setting_value("NOTICE_HOLD_HOURS", on=clock.local_date(as_of))
    cutoff = as_of - dt.timedelta(hours=hours)
    ensure_intake_partitions(on=clock.local_date(as_of))
    total = 0
    while True:
        with transaction.atomic():
            batch_planning()  # the held index whatever the statistics say, and the batch's lookups as probes
            # Oldest first, in the held index's order (notice_held_since_idx): by id, statistics that said "most
            # notices held" made the planner walk the whole inbox by primary key (tests/prefserver/
            # test_watch_plans.py).
            notices = stored_notices(
                _held_examinable()
                .select_for_update(skip_locked=True)
                .filter(received_at__lte=cutoff)
                .order_by("received_at", "id")[:limit]
            )
            if not notices:
                return total
            timeout_pks = frozenset(n.pk for n in notices)
            _run_batch(notices, kind=IntakeBatch.Kind.HOLD_SWEEP, timeout_pks=timeout_pks, fast=False)
            total += len(notices)


def intake_stranded_exists(*, older_than: dt.timedelta = dt.timedelta(seconds=2)) -> bool:
    """A pending notice received a while ago and not claimed: its wake-up may have been lost. Read through the
    claim's partial index whatever the statistics say (batch_planning): beat asks every 5 s."""
    with transaction.atomic():
        batch_planning()
        return Notice.objects.filter(status=Notice.Status.PENDING, received_at__lte=clock.now() - older_than).exists()
