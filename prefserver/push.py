"""Push relay: sends PushOutbox rows to the national server (機構, simulated), domain.md §7.

- **Without a schedule** (都度、随時, seeds/002_b6d1246946737152.txt:829-830): intake wakes the relay on
  commit (`push_wake()`), and a beat sweep every few seconds catches anything due that no wake-up reached.
- **Many persons per request, one person in order:** a claim takes, per (file, person), only the earliest
  pending row, and only when it is due; the person's next row becomes eligible once that one is
  acknowledged. Claims use `FOR UPDATE SKIP LOCKED` and hold the row locks until the acknowledgements are
  recorded, so two relays never send the same row, nor a person's later row while an earlier one is in
  flight (the later row's earlier sibling is still pending in every snapshot).
- **Payload at send time** from the version id: the 8 items for file (1) (plus the previous code on a 27),
  the 18 附票 fields for file (2), never an individual number there.
- **Failures** (`NationalUnavailable`): the row stays pending with exponential backoff, 30 s doubling, capped
  at 1 h; never dropped. **Authentication failures** (`NationalAuthError`): fail closed; nothing was sent,
  the row stays pending (backing off too) and an alert is raised (seeds/002_b6d1246946737152.txt:2074-2075).
- A crash between the national server's commit and ours leaves the row pending; the resend is a duplicate at
  the national server (idempotency key (resident_code, update_sequence, revision)) with no second effect.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.conf import settings
from django.db import OperationalError, connection, transaction

from audit.models import OperationKind
from audit.services import operation_log_record
from furyo.models import FuryoVersion
from jukinet import clock
from jukinet.config import setting_value
from jukinet.crypto import decrypt_individual_number
from jukinet.db import batch_planning, loaded_values
from prefserver.intake.copy import any_of_array, array_literal, versions_by_id
from prefserver.models import Alert, IdentityResidentCode, IdentityVersion, Incident, PushOutbox
from prefserver.national_client import Ack, NationalAuthError, NationalClient, NationalError, NationalUnavailable
from prefserver.versions import VERSION_TABLE

logger = logging.getLogger(__name__)

ACTOR = "system:push"
OUTBOX_TABLE = PushOutbox._meta.db_table
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600

ALERT_AUTH = Alert.Kind.PUSH_AUTH_FAILED
ALERT_REJECTED = Alert.Kind.PUSH_REJECTED
ALERT_BACKLOG = Alert.Kind.PUSH_BACKLOG
ALERT_PAYLOAD = Alert.Kind.PUSH_PAYLOAD_ERROR
INCIDENT_BACKLOG = "push_backlog"

IDENTITY_FIELDS = ("resident_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "change_date")
FURYO_FIELDS = (
    "resident_code", "name", "name_gaiji_count", "name_kana", "birth_date", "sex", "address_municipality_code",
    "address", "address_gaiji_count", "last_address", "last_address_gaiji_count", "change_date",
    "former_resident_code", "furyo_municipality_code", "status", "gaiji_flag", "gaiji_pattern", "notice_kind",
)  # fmt: skip

# Claim in two statements. (1) The earliest pending row of each (file, person), when due, without locks: a
# plain anti-join probe of the partial index. (2) Lock those still pending, skipping rows another relay holds.
# One statement with FOR UPDATE would re-run the anti-join for every row a concurrent relay changed
# (EvalPlanQual), which under a large backlog took minutes. Order stays safe: a head in an older snapshot is
# still the person's earliest unacknowledged row, or no longer pending (then (2) drops it); a later row becomes
# a candidate only in a snapshot where its predecessor is already acknowledged.
CANDIDATES_SQL = f"""
SELECT o.id
  FROM {OUTBOX_TABLE} o
 WHERE o.status = 'pending' AND o.next_attempt_at <= %(now)s
   AND NOT EXISTS (
       SELECT 1 FROM {OUTBOX_TABLE} e
        WHERE e.status = 'pending' AND e.file = o.file AND e.person_id = o.person_id
          AND (e.update_sequence, e.revision, e.id) < (o.update_sequence, o.revision, o.id))
 ORDER BY o.next_attempt_at, o.id
 LIMIT %(limit)s
"""  # noqa: S608 - constant table name

IDS = any_of_array("%(ids)s", "bigint")  # the claimed ids: one array, not planned element by element

CLAIM_SQL = f"""
SELECT id, file, person_id, resident_code, update_sequence, revision, version_id, version_expiry_year, attempts
  FROM {OUTBOX_TABLE}
 WHERE id = {IDS} AND status = 'pending'
 ORDER BY next_attempt_at, id
   FOR UPDATE SKIP LOCKED
"""  # noqa: S608

MARK_SENT_SQL = f"""
UPDATE {OUTBOX_TABLE} SET status = 'sent', acked_at = %(now)s, attempts = attempts + 1
 WHERE id = {IDS}
"""  # noqa: S608

MARK_FAILED_SQL = f"""
UPDATE {OUTBOX_TABLE} SET status = 'failed', acked_at = %(now)s, attempts = attempts + 1
 WHERE id = {IDS}
"""  # noqa: S608

# attempts counts the failed tries so far: the n-th failure waits 30 s * 2^(n-1), at most an hour.
RETRY_LATER_SQL = f"""
UPDATE {OUTBOX_TABLE}
   SET attempts = attempts + 1,
       next_attempt_at = %(now)s + make_interval(secs => LEAST({BACKOFF_FIRST_SECONDS} * power(2, LEAST(attempts, 20)),
                                                             {BACKOFF_MAX_SECONDS}))
 WHERE id = {IDS}
"""  # noqa: S608


def backoff_seconds(failures: int) -> int:
    """Delay after the `failures`-th consecutive failure (1, 2, 3, … → 30, 60, 120, … ≤ 3600)."""
    return int(min(BACKOFF_FIRST_SECONDS * 2 ** min(max(failures - 1, 0), 20), BACKOFF_MAX_SECONDS))


class Claimed(NamedTuple):  # a claimed outbox row (CLAIM_SQL's columns); a tuple: built per row, cheaply
    id: int
    file: str
    person_id: int
    resident_code: str
    update_sequence: int
    revision: int
    version_id: int
    version_expiry_year: int  # the version's partition when the row was written (see _versions_of)
    attempts: int


@dataclass
class PushResult:
    claimed: int = 0
    sent: int = 0
    duplicates: int = 0
    rejected: int = 0
    retry: int = 0
    auth_failed: int = 0
    by_file: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        return {
            "claimed": self.claimed, "sent": self.sent, "duplicates": self.duplicates, "rejected": self.rejected,
            "retry": self.retry, "auth_failed": self.auth_failed, **{f"file_{k}": v for k, v in self.by_file.items()},
        }  # fmt: skip


# --- the national client, one per process ----------------------------------------------------------------

_client_lock = threading.Lock()
_client: NationalClient | None = None
ClientFactory = Callable[[], NationalClient]


def national_client() -> NationalClient:
    """The process's kept-alive client (built from settings on first use; dropped after an auth error)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = NationalClient.from_settings(timeout=settings.PUSH_TIMEOUT_SECONDS)
        return _client


def national_client_reset() -> None:
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None


# --- payloads --------------------------------------------------------------------------------------------


DATE_FIELDS = ("birth_date", "change_date")  # the only dates of either payload, both NOT NULL


def _payload(version: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The named columns of a version as JSON values: its two dates as ISO text, the rest as stored."""
    update = {name: version[name] for name in fields}
    for name in DATE_FIELDS:
        update[name] = update[name].isoformat()
    return update


def _versions_of(model: Any, rows: list[Claimed], columns: tuple[str, ...]) -> dict[int, dict[str, Any]]:
    """The claimed rows' versions, id → the named columns (and id), each asked in the partition its outbox row
    names (its expiry year when written: the sentinel year for a current version)."""
    names = ("id", *columns)
    return versions_by_id(
        model,
        [(row.version_id, row.version_expiry_year) for row in rows],
        lambda queryset: {v["id"]: v for v in loaded_values(queryset, names)},
    )


def identity_updates(rows: list[Claimed]) -> list[dict[str, Any] | None]:
    """The 8 items (domain.md §7; seeds/002_b6d1246946737152.txt:818) of each row's version, in row order.

    None for a row whose payload cannot be built (version missing, number not decryptable): that row waits.
    """
    versions = _versions_of(IdentityVersion, rows, (*IDENTITY_FIELDS, "person_id", "individual_number_ciphertext"))
    code_changes = [versions[r.version_id] for r in rows if versions.get(r.version_id, {}).get("change_reason") == "27"]
    previous = {}
    if code_changes:
        previous = dict(
            IdentityResidentCode.objects.filter(
                person_id__in=[v["person_id"] for v in code_changes],
                replaced_by__in=[v["resident_code"] for v in code_changes],
            ).values_list("replaced_by", "resident_code")
        )
    updates: list[dict[str, Any] | None] = []
    for row in rows:
        version = versions.get(row.version_id)
        try:
            if version is None:
                raise LookupError("version not found")
            update = _payload(version, IDENTITY_FIELDS)
            update["individual_number"] = decrypt_individual_number(
                bytes(version["individual_number_ciphertext"]), table=VERSION_TABLE, person_id=version["person_id"]
            )
        except Exception as exc:  # one unreadable row must not stop the others
            logger.error("national push: outbox row %s has no payload (%s)", row.id, type(exc).__name__)
            updates.append(None)
            continue
        if version["change_reason"] == "27":
            update["previous_resident_code"] = previous.get(version["resident_code"])
        update["update_sequence"] = row.update_sequence
        update["revision"] = row.revision
        updates.append(update)
    return updates


def furyo_updates(rows: list[Claimed]) -> list[dict[str, Any] | None]:
    """The 18 附票 fields (domain.md §5.1, §7) of each row's version: never an individual number."""
    versions = _versions_of(FuryoVersion, rows, FURYO_FIELDS)
    updates: list[dict[str, Any] | None] = []
    for row in rows:
        version = versions.get(row.version_id)
        if version is None:
            logger.error("national push: outbox row %s has no payload (version not found)", row.id)
            updates.append(None)
            continue
        update = _payload(version, FURYO_FIELDS)
        update["update_sequence"] = row.update_sequence
        update["revision"] = row.revision
        updates.append(update)
    return updates


BUILDERS: dict[str, Callable[[list[Claimed]], list[dict[str, Any] | None]]] = {
    "identity": identity_updates,
    "furyo": furyo_updates,
}


# --- the relay -------------------------------------------------------------------------------------------


CANDIDATES_TIMEOUT = "15s"


def _candidates(cursor: Any, *, now: dt.datetime, limit: int) -> list[int]:
    """The anti-join is a per-row index probe while the planner knows how many rows are pending. Right after a
    surge (an outage, a mass reset) the statistics may still say "almost none pending" and the probe becomes a
    scan per row, quadratic. So the statement gets a timeout; on timeout the table is analysed and the
    statement retried once with nested loops off (a hash anti-join: linear whatever the statistics say)."""
    try:
        with transaction.atomic():
            cursor.execute(f"SET LOCAL statement_timeout = '{CANDIDATES_TIMEOUT}'")
            cursor.execute(CANDIDATES_SQL, {"now": now, "limit": limit})
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
            return ids
    except OperationalError:
        logger.warning("national push: candidate query timed out; analysing the outbox and retrying")
    with transaction.atomic():
        cursor.execute(f"ANALYZE {OUTBOX_TABLE}")
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(CANDIDATES_SQL, {"now": now, "limit": limit})
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SET LOCAL enable_nestloop TO DEFAULT")
        return ids


def _claim(*, now: dt.datetime, limit: int) -> list[Claimed]:
    with connection.cursor() as cursor:
        ids = _candidates(cursor, now=now, limit=limit)
        if not ids:
            return []
        cursor.execute(CLAIM_SQL, {"ids": array_literal(ids)})  # one text parameter, not 2000 adapted ints
        return [Claimed(*row) for row in cursor.fetchall()]


def _update(sql: str, ids: Iterable[int], now: dt.datetime) -> None:
    ids = list(ids)
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(sql, {"ids": array_literal(ids), "now": now})


def _alert_once(kind: str, message: str) -> None:
    """One unresolved alert per kind: a failing link raises it once, not once per batch."""
    if not Alert.objects.filter(kind=kind, resolved=False).exists():
        Alert.objects.create(kind=kind, message=message)


def _record_acks(rows: list[Claimed], acks: list[Ack], result: PushResult, now: dt.datetime) -> None:
    sent, failed = [], []
    for row, ack in zip(rows, acks, strict=True):
        if ack.received:
            sent.append(row.id)
            result.sent += 1
            result.duplicates += ack.status == "duplicate"
        else:
            # A refusal is permanent (a bug on our side): keep the row, mark it, tell the staff.
            failed.append(row.id)
            result.rejected += 1
            logger.error("national server rejected outbox row %s (%s)", row.id, ack.reason)
    _update(MARK_SENT_SQL, sent, now)
    _update(MARK_FAILED_SQL, failed, now)
    if failed:
        reasons = sorted({ack.reason for ack in acks if not ack.received})
        Alert.objects.create(
            kind=ALERT_REJECTED,
            message=f"全国サーバが{len(failed)}件の更新を受け付けませんでした（{', '.join(reasons)[:200]}）。",
        )


def push_batch(*, limit: int | None = None, client_factory: ClientFactory = national_client) -> PushResult:
    """Claim up to `limit` due rows (the earliest pending one per person), send them, record the acks.

    One transaction: the claimed rows stay locked while the request is in flight. One request per file.
    """
    limit = limit or settings.PUSH_BATCH_MAX
    result = PushResult()
    with transaction.atomic():
        batch_planning()  # the version lookup of a batch's ids as index probes (see there)
        now = clock.now()
        rows = _claim(now=now, limit=limit)
        if not rows:
            return result
        result.claimed = len(rows)
        by_file: dict[str, list[Claimed]] = {}
        for row in rows:
            by_file.setdefault(row.file, []).append(row)
        outcome = "ok"
        for file, claimed in sorted(by_file.items()):
            result.by_file[file] = len(claimed)
            built = BUILDERS[file](claimed)
            unbuilt = [row.id for row, update in zip(claimed, built, strict=True) if update is None]
            if unbuilt:
                outcome = "failed"
                result.retry += len(unbuilt)
                _update(RETRY_LATER_SQL, unbuilt, now)
                _alert_once(
                    ALERT_PAYLOAD, "全国サーバへ送信する内容を作成できない更新があります。送信を保留しています。"
                )
            file_rows = [row for row, update in zip(claimed, built, strict=True) if update is not None]
            updates = [update for update in built if update is not None]
            if not file_rows:
                continue
            try:
                client = client_factory()
                acks = client.send_updates(file, updates)  # type: ignore[arg-type]
            except NationalAuthError:
                national_client_reset()
                outcome = "failed"
                result.auth_failed += len(file_rows)
                _update(RETRY_LATER_SQL, [r.id for r in file_rows], now)
                _alert_once(ALERT_AUTH, "全国サーバとの相互認証に失敗しました。送信を止めて保留しています。")
                logger.warning("national push: authentication failed, %d rows kept pending", len(file_rows))
                continue
            except NationalError as exc:
                outcome = "failed"
                result.retry += len(file_rows)
                _update(RETRY_LATER_SQL, [r.id for r in file_rows], now)
                level = logging.INFO if isinstance(exc, NationalUnavailable) else logging.ERROR
                logger.log(level, "national push: %s; %d rows retried later", type(exc).__name__, len(file_rows))
                continue
            _record_acks(file_rows, acks, result, clock.now())
        operation_log_record(
            actor=ACTOR, kind=OperationKind.NATIONAL_PUSH, outcome=outcome, conditions=result.counts(),
            result_count=result.sent, commit=True,  # the last statement: COMMIT goes with it
        )  # fmt: skip
    return result


def push_relay_run(*, max_batches: int = 50, client_factory: ClientFactory = national_client) -> int:
    """Send batches until nothing is due (or `max_batches`); returns the rows acknowledged."""
    sent = 0
    for _ in range(max_batches):
        result = push_batch(client_factory=client_factory)
        sent += result.sent + result.rejected
        if result.claimed == 0 or result.sent + result.rejected == 0:
            break
    return sent


def push_due_exists(*, now: dt.datetime | None = None) -> bool:
    """Whether a pending row is due. Asked in the due index's order: as EXISTS (an unordered LIMIT 1) the planner,
    with statistics taken while many rows were pending, chose a sequential scan that expects a match at once and
    read the whole outbox of sent rows instead (25 scans, 3.5 M rows in a 200,000-notice bench run)."""
    due = PushOutbox.objects.filter(status=PushOutbox.Status.PENDING, next_attempt_at__lte=now or clock.now())
    return due.order_by("next_attempt_at", "id").values_list("id", flat=True).first() is not None


def push_wake() -> None:
    """Call inside the transaction that wrote outbox rows: a relay task starts once it commits."""
    from prefserver.tasks import push_relay_task

    transaction.on_commit(push_relay_task.delay)


# --- backlog watch (domain.md §7 Retries, §15) ------------------------------------------------------------


@transaction.atomic
def push_backlog_check(*, as_of: dt.datetime | None = None) -> dict[str, int]:
    """Pending rows older than PUSH_ALERT_AFTER raise an alert; older than PUSH_INCIDENT_AFTER open an incident.

    One unresolved alert and one open incident at a time: a long outage is one event, not thousands.
    """
    batch_planning()  # the pending rows through the due index, whatever the statistics say
    now = as_of or clock.now()
    alert_after = dt.timedelta(minutes=setting_value("PUSH_ALERT_AFTER_MINUTES", on=clock.local_date(now)))
    incident_after = dt.timedelta(hours=setting_value("PUSH_INCIDENT_AFTER_HOURS", on=clock.local_date(now)))
    pending = PushOutbox.objects.filter(status=PushOutbox.Status.PENDING)
    overdue = pending.filter(created_at__lte=now - alert_after).count()
    stale = pending.filter(created_at__lte=now - incident_after).count()
    if overdue:
        _alert_once(ALERT_BACKLOG, f"全国サーバへの送信待ちが{overdue}件、{_duration_ja(alert_after)}を超えています。")
    if stale and not Incident.objects.filter(kind=INCIDENT_BACKLOG, status=Incident.Status.OPEN).exists():
        Incident.objects.create(
            kind=INCIDENT_BACKLOG,
            content=f"全国サーバへの更新の送信が{_duration_ja(incident_after)}を超えて完了していません。",
            count=stale,
            place="都道府県サーバ（全国サーバへの送信）",
            circumstances="送信待ちの更新が送信期限を超過しました。",
            detected_at=now,
        )
    if overdue or stale:
        operation_log_record(
            actor=ACTOR, kind=OperationKind.NATIONAL_PUSH, outcome="failed",
            conditions={"check": "backlog", "overdue": overdue, "stale": stale},
        )  # fmt: skip
    return {"overdue": overdue, "stale": stale}


def _duration_ja(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"{minutes // 60}時間"
    return f"{minutes}分"
