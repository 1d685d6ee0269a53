"""Receipt of a batch of notices (domain.md §6.4 steps 1–3, §6.7): answered at once, stored before the response.

Steps 1–3 are answered in the receipt and store no notice; every other notice goes into the inbox inside the
caller's transaction. After commit a Celery worker is woken; Redis is only a wake-up, the inbox is the truth.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import transaction

from jukinet import clock
from jukinet.crypto import blind_index, encrypt_with_key, keyring
from jukinet.db import prepared_cursor, shared_redis
from jukinet.models import Municipality
from prefserver.intake.copy import Keys, copy_rows
from prefserver.intake.envelope import content_sha256_and_stored_json, receipt_check
from prefserver.intake.keeping import notice_aad
from prefserver.intake_log import log_intake_event
from prefserver.models import Alert, DuplicateReceipt, IntakeBatch, MunicipalCredential, Notice

logger = logging.getLogger(__name__)

NOTICE_TABLE = "prefserver_notice"


# --- credentials -----------------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def credential_issue(*, municipality_code: str, cert_sha256: str | None = None) -> str:
    """Issue (or replace) a municipality's credential; the key is returned once and stored only hashed."""
    municipality = Municipality.objects.get(
        code=municipality_code, prefecture_id=settings.PREFECTURE_CODE, is_sender=True
    )
    key = secrets.token_urlsafe(32)
    MunicipalCredential.objects.update_or_create(
        municipality=municipality,
        defaults={"key_sha256": _sha256(key), "cert_sha256": (cert_sha256 or "").lower() or None, "active": True},
    )
    return key


def credential_authenticate(
    *, authorization: str | None, cert_sha256: str | None, remote_addr: str | None
) -> MunicipalCredential | None:
    """The credential of a request, or None (→ 401).

    Production: a proxy terminates mutual TLS and passes the client certificate's SHA-256 fingerprint in
    X-Client-Cert-SHA256; the header is trusted only from TRUSTED_PROXY_IPS, since anyone else could set it.
    Dev and test: `Authorization: Bearer <key>`.
    """
    if cert_sha256 and remote_addr in settings.TRUSTED_PROXY_IPS:
        return MunicipalCredential.objects.filter(cert_sha256=cert_sha256.strip().lower(), active=True).first()
    if authorization and authorization.startswith("Bearer "):
        digest = _sha256(authorization.removeprefix("Bearer ").strip())
        credential = MunicipalCredential.objects.filter(key_sha256=digest, active=True).first()
        if credential is not None and hmac.compare_digest(credential.key_sha256, digest):
            return credential
    return None


# --- receipt ---------------------------------------------------------------------------------------------


@dataclass
class Receipt:
    notice_id: str | None
    status: str  # accepted | duplicate | rejected
    code: str | None = None
    content_mismatch: bool = False
    first_result: dict[str, str | None] | None = None


@dataclass
class _Candidate:
    index: int
    element: dict[str, Any]
    number: str | None
    number_index: bytes | None  # the number's blind index
    content_sha256: str
    stored_json: str  # the envelope as stored (individual number replaced by the marker), JSON text


def encrypt_notice_number(number: str, *, municipality_code: str, notice_id: str) -> bytes:
    """AES-256-GCM bound to the notice (associated data: table, sender and notice id)."""
    ring = keyring()
    aad = notice_aad(municipality_code=municipality_code, notice_id=notice_id)
    return encrypt_with_key(number, key_id=ring.active_id, key=ring.active_key, aad=aad)


def _candidate(index: int, element: dict[str, Any]) -> _Candidate:
    payload = element.get("payload")
    number = payload.get("individual_number") if isinstance(payload, dict) else None
    number = number if isinstance(number, str) else None
    number_index = blind_index(number) if number is not None else None
    digest, stored_json = content_sha256_and_stored_json(
        element, number_index=number_index.hex() if number_index is not None else None
    )
    return _Candidate(index, element, number, number_index, digest, stored_json)


def _text(value: object, limit: int) -> str:
    return value if isinstance(value, str) and len(value) <= limit else ""


def _notice_values(candidate: _Candidate) -> tuple[Any, ...]:
    """The per-notice inbox columns of one notice, in INBOX_COLUMNS order (see inbox_insert). The envelope goes in
    as its stored JSON text (the column is text: PostgreSQL does not parse the envelope). A value the receipt has
    not checked is stored only when it fits its column (else empty: the format checks of processing decide)."""
    element = candidate.element
    ciphertext = None
    if candidate.number is not None:
        ciphertext = encrypt_notice_number(
            candidate.number, municipality_code=element["municipality_code"], notice_id=element["notice_id"]
        )
    payload = element.get("payload")
    new_code = payload.get("new_resident_code") if isinstance(payload, dict) else None
    sequence = element.get("update_sequence")
    return (
        element["municipality_code"],
        element["notice_id"],
        element["file"],
        _text(element.get("change_reason"), 16),
        sequence if type(sequence) is int and abs(sequence) < 2**62 else None,
        _text(element.get("resident_code"), 16),
        _text(element.get("target_notice_id"), 40),
        _text(new_code, 16),
        candidate.stored_json,
        ciphertext,
        candidate.number_index,
        candidate.content_sha256,
    )


# The per-notice columns of a row built by _notice_values; the request's own columns follow them.
INBOX_COLUMNS = (
    "municipality_code", "notice_id", "file", "change_reason", "update_sequence", "resident_code",
    "target_notice_id", "new_resident_code", "envelope", "individual_number_ciphertext",
    "individual_number_blind_index", "content_sha256",
)  # fmt: skip
NOTICE_ID = INBOX_COLUMNS.index("notice_id")  # its position in a row of _notice_values
REQUEST_COLUMNS = (
    "request_id", "received_at", "received_on", "status", "hold_reason", "error_count", "code", "message",
)  # fmt: skip


INSERT_ROWS_MAX = 1000  # the fallback INSERT's rows per statement: 20 parameters each, PostgreSQL takes 65,535


def inbox_insert(rows: list[tuple[Any, ...]], *, request_id: uuid.UUID, received_at: Any) -> set[str]:
    """Store the request's rows (see _notice_values) → the notice ids not stored; ids follow request order. A
    notice id already in the inbox (an earlier request, or a concurrent one that stored it first) is not stored
    and becomes a duplicate receipt.

    One binary COPY, inside a savepoint: PostgreSQL reads each value as it is (no parsing of a JSON or text
    form), in the same few round trips whatever the request's size. A notice id already stored makes the COPY
    fail on the unique index; the savepoint is rolled back and the rows go in again by INSERT … ON CONFLICT DO
    NOTHING, which skips it. Resends are rare, so that second path is too."""
    if not rows:
        return set()
    request = (request_id, received_at, clock.local_date(received_at), Notice.Status.PENDING, "", 0, "", "")
    full = [row + request for row in rows]
    columns = INBOX_COLUMNS + REQUEST_COLUMNS
    with prepared_cursor() as cursor:  # the request's connection and transaction
        cursor.execute("SAVEPOINT inbox_copy")
        try:
            copy_rows(NOTICE_TABLE, columns, full)
        except psycopg.errors.UniqueViolation:  # (municipality_code, notice_id): the only unique key we write
            cursor.execute("ROLLBACK TO SAVEPOINT inbox_copy")
        else:
            return set()  # every row went in
        stored: set[str] = set()
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(full), INSERT_ROWS_MAX):
            chunk = full[start : start + INSERT_ROWS_MAX]
            cursor.execute(
                f"INSERT INTO {NOTICE_TABLE} ({', '.join(columns)}) VALUES {', '.join([row_sql] * len(chunk))}"  # noqa: S608
                " ON CONFLICT (municipality_code, notice_id) DO NOTHING RETURNING notice_id",
                [value for row in chunk for value in row],
            )
            stored.update(notice_id for (notice_id,) in cursor.fetchall())
        return {row[NOTICE_ID] for row in rows} - stored


def _first_result(status: str, code: str) -> dict[str, str | None]:
    return {"status": status, "code": code or None}


@transaction.atomic
def notices_receive(
    *, municipality_code: str, elements: list[object], actor: str, kind: str = IntakeBatch.Kind.RECEIPT
) -> list[Receipt]:
    """Answer steps 1–3 per notice, in request order, and store every other notice in the inbox."""
    received_at = clock.now()
    request_id = uuid.uuid4()
    receipts: list[Receipt] = []
    candidates: list[_Candidate] = []
    for index, element in enumerate(elements):
        notice_id = element.get("notice_id") if isinstance(element, dict) else None
        notice_id = notice_id if isinstance(notice_id, str) and len(notice_id) <= 40 else None
        code = receipt_check(element)
        if code is None and element["municipality_code"] != municipality_code:  # type: ignore[index]
            code = "E009"
        receipts.append(Receipt(notice_id=notice_id, status="rejected" if code else "accepted", code=code))
        if code is None:
            candidates.append(_candidate(index, element))  # type: ignore[arg-type]
    seen: set[str] = set()
    to_store: list[_Candidate] = []
    duplicates: list[_Candidate] = []  # each a duplicate of the stored notice with its notice id
    for candidate in candidates:
        notice_id = candidate.element["notice_id"]
        if notice_id in seen:
            duplicates.append(candidate)
        else:
            seen.add(notice_id)
            to_store.append(candidate)
    # An id already in the inbox (stored by an earlier request, or by a concurrent one first) is not stored: it
    # becomes a duplicate of the stored notice. Duplicates are rare, so the inbox is read only for them, after the
    # insert (the first of a request's own duplicates is read back too: the COPY returns no ids).
    skipped = inbox_insert([_notice_values(c) for c in to_store], request_id=request_id, received_at=received_at)
    if skipped:
        duplicates = [c for c in to_store if c.element["notice_id"] in skipped] + duplicates
    existing: dict[str, dict[str, Any]] = {}
    if duplicates:
        ids = Keys(sorted({c.element["notice_id"] for c in duplicates}))
        existing = {
            row["notice_id"]: dict(row)
            for row in Notice.objects.filter(municipality_code=municipality_code, notice_id__any_of=ids).values(
                "id", "notice_id", "content_sha256", "status", "code"
            )
        }
    _record_duplicates(duplicates, existing=existing, receipts=receipts, request_id=request_id,
                       received_at=received_at, municipality_code=municipality_code)  # fmt: skip
    counts = _receipt_counts(receipts)
    security = bool(counts.get("E009"))
    log_intake_event(actor=actor, kind=kind, conditions=counts, result_count=len(receipts), commit=not security)
    if security:
        log_intake_event(actor=actor, kind=IntakeBatch.Kind.SECURITY, outcome="E009", conditions=counts, commit=True)
    if len(skipped) < len(to_store):  # something was stored
        transaction.on_commit(wake_intake_worker)
    return receipts


def _record_duplicates(
    duplicates: list[_Candidate],
    *,
    existing: dict[str, dict[str, Any]],
    receipts: list[Receipt],
    request_id: uuid.UUID,
    received_at: Any,
    municipality_code: str,
) -> None:
    rows, alerts = [], []
    for candidate in duplicates:
        notice_id = candidate.element["notice_id"]
        first = existing[notice_id]  # stored before, or by this request (its first copy)
        first_id, first_hash = first["id"], first["content_sha256"]
        result = _first_result(first["status"], first["code"])
        mismatch = first_hash != candidate.content_sha256
        receipts[candidate.index] = Receipt(
            notice_id=notice_id, status="duplicate", content_mismatch=mismatch, first_result=result
        )
        rows.append(
            DuplicateReceipt(
                municipality_code=municipality_code, notice_id=notice_id, first_id=first_id,
                content_sha256=candidate.content_sha256, content_mismatch=mismatch, request_id=request_id,
                received_at=received_at,
            )
        )  # fmt: skip
        if mismatch:
            alerts.append(
                Alert(
                    kind=Alert.Kind.CONTENT_MISMATCH,
                    message=f"受信済みの通知と内容が異なります（市町村コード {municipality_code}、通知 #{first_id}）。",
                    notice_id=first_id,
                )
            )
    DuplicateReceipt.objects.bulk_create(rows)
    Alert.objects.bulk_create(alerts)


def _receipt_counts(receipts: list[Receipt]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for receipt in receipts:
        key = receipt.code or receipt.status
        counts[key] = counts.get(key, 0) + 1
    return counts


def receipt_as_json(receipt: Receipt) -> dict[str, Any]:
    return asdict(receipt)


# At most one intake wake-up waits in the queue at a time: a request sets this key (SET NX) before publishing,
# and the task deletes it when it starts, before it claims anything. A request that finds the key set needs no
# message of its own: the waiting task has not claimed yet, so it will see this request's committed notices.
# With many small requests this spares the workers hundreds of runs that find nothing. Redis stays a wake-up
# only: a lost key or message costs at most WAKE_FLAG_SECONDS, and the beat sweeper re-dispatches anyway.
WAKE_FLAG_KEY = "jukinet:intake:wake-queued"
WAKE_FLAG_SECONDS = 5
_wake_flag_client = shared_redis  # one client per process (jukinet.db)


def _coalescing() -> bool:
    from jukinet.celery import app

    return not app.conf.task_always_eager  # eager runs (tests) execute the task at once: nothing waits


def wake_flag_clear() -> None:
    """Called by the intake task as it starts: the next request publishes a wake-up of its own again."""
    if not _coalescing():
        return
    try:
        _wake_flag_client().delete(WAKE_FLAG_KEY)
    except Exception as exc:  # the flag expires by itself
        logger.warning("intake wake-up flag could not be cleared (%s)", type(exc).__name__)


def wake_intake_worker() -> None:
    """Publish a wake-up unless one is already waiting. If Redis is down the notice waits for the sweeper; the
    inbox already holds it."""
    from prefserver.tasks import intake_process_task

    try:
        if _coalescing() and not _wake_flag_client().set(WAKE_FLAG_KEY, "1", nx=True, ex=WAKE_FLAG_SECONDS):
            return  # a wake-up is queued and not started: it will claim these notices too
        intake_process_task.delay()
    except Exception as exc:  # a lost wake-up is recovered by intake_redispatch_task
        logger.warning("intake wake-up could not be published (%s); the sweeper will dispatch it", type(exc).__name__)
