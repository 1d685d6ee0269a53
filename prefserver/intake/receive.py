"""Receipt of a batch of notices (domain.md §6.4 steps 1–3, §6.7): answered at once, stored before the response.

Steps 1–3 are answered in the receipt and store no notice; every other notice goes into the inbox inside the
caller's transaction. After commit a Celery worker is woken; Redis is only a wake-up, the inbox is the truth.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from jukinet import clock
from jukinet.crypto import blind_index, encrypt_with_key, keyring
from jukinet.models import Municipality
from prefserver.intake.envelope import ENCRYPTED_MARKER, content_sha256, receipt_check
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
    index_hex: str | None
    content_sha256: str


def encrypt_notice_number(number: str, *, municipality_code: str, notice_id: str) -> bytes:
    """AES-256-GCM bound to the notice (associated data: table, sender and notice id)."""
    ring = keyring()
    aad = notice_aad(municipality_code=municipality_code, notice_id=notice_id)
    return encrypt_with_key(number, key_id=ring.active_id, key=ring.active_key, aad=aad)


def _candidate(index: int, element: dict[str, Any]) -> _Candidate:
    payload = element.get("payload")
    number = payload.get("individual_number") if isinstance(payload, dict) else None
    number = number if isinstance(number, str) else None
    index_hex = blind_index(number).hex() if number is not None else None
    return _Candidate(index, element, number, index_hex, content_sha256(element, number_index=index_hex))


def _text(value: object, limit: int) -> str:
    return value if isinstance(value, str) and len(value) <= limit else ""


def _notice_row(candidate: _Candidate, *, request_id: uuid.UUID, received_at: Any) -> dict[str, Any]:
    """The inbox columns of one notice (a plain dict: see inbox_insert)."""
    element = candidate.element
    stored = dict(element)
    ciphertext = None
    if candidate.number is not None:
        stored["payload"] = {**element["payload"], "individual_number": ENCRYPTED_MARKER}
        ciphertext = encrypt_notice_number(
            candidate.number, municipality_code=element["municipality_code"], notice_id=element["notice_id"]
        )
    payload: dict[str, Any] = element["payload"] if isinstance(element.get("payload"), dict) else {}
    sequence = element.get("update_sequence")
    return dict(
        municipality_code=element["municipality_code"],
        notice_id=element["notice_id"],
        file=element["file"],
        change_reason=_text(element.get("change_reason"), 16),
        update_sequence=sequence if isinstance(sequence, int) and abs(sequence) < 2**62 else None,
        resident_code=_text(element.get("resident_code"), 16),
        target_notice_id=_text(element.get("target_notice_id"), 40),
        new_resident_code=_text(payload.get("new_resident_code"), 16),
        envelope=stored,
        individual_number_ciphertext=ciphertext,
        individual_number_blind_index=bytes.fromhex(candidate.index_hex) if candidate.index_hex else None,
        content_sha256=candidate.content_sha256,
        request_id=request_id,
        received_at=received_at,
        received_on=clock.local_date(received_at),
    )


INBOX_COLUMNS = (
    ("municipality_code", "text"), ("notice_id", "text"), ("file", "text"), ("change_reason", "text"),
    ("update_sequence", "bigint"), ("resident_code", "text"), ("target_notice_id", "text"),
    ("new_resident_code", "text"), ("envelope", "jsonb"), ("individual_number_ciphertext", "bytea"),
    ("individual_number_blind_index", "bytea"), ("content_sha256", "text"), ("request_id", "uuid"),
    ("received_at", "timestamptz"), ("received_on", "date"),
)  # fmt: skip


INBOX_STAGE = "intake_inbox_stage"


def inbox_insert(rows: list[dict[str, Any]]) -> dict[str, int]:
    """COPY the request's rows into a session-local staging table, then one INSERT … SELECT … ON CONFLICT DO
    NOTHING RETURNING → {notice_id: id} of the rows stored. Three round trips per request, whatever its size;
    ids follow request order. A concurrent request that stored the same id first makes ours a duplicate
    instead of an error."""
    if not rows:
        return {}
    columns = ", ".join(name for name, _ in INBOX_COLUMNS)
    definition = ", ".join(f"{name} {kind}" for name, kind in INBOX_COLUMNS)
    stored: dict[str, int] = {}
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's cursor under Django's wrapper (COPY)
        # Created once per session; emptied after use, so a rolled-back request leaves nothing behind either.
        raw.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {INBOX_STAGE} (ord integer, {definition})")
        with raw.copy(f"COPY {INBOX_STAGE} (ord, {columns}) FROM STDIN") as copy:
            for ord_, row in enumerate(rows):
                copy.write_row(
                    [ord_]
                    + [
                        json.dumps(row[name], ensure_ascii=False) if kind == "jsonb" else row[name]
                        for name, kind in INBOX_COLUMNS
                    ]
                )
        raw.execute(
            f"""INSERT INTO {NOTICE_TABLE} ({columns}, status, hold_reason, error_count, code, message)
                SELECT {columns}, 'pending', '', 0, '', '' FROM {INBOX_STAGE} ORDER BY ord
                ON CONFLICT (municipality_code, notice_id) DO NOTHING
                RETURNING notice_id, id;
                TRUNCATE {INBOX_STAGE}""",  # noqa: S608 (constant names)
        )
        for notice_id, pk in raw.fetchall():
            stored[notice_id] = pk
    return stored


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
    existing: dict[str, dict[str, Any]] = {
        row["notice_id"]: dict(row)
        for row in Notice.objects.filter(
            municipality_code=municipality_code, notice_id__any_of=[c.element["notice_id"] for c in candidates]
        ).values("id", "notice_id", "content_sha256", "status", "code")
    }
    first_in_request: dict[str, _Candidate] = {}
    to_store: list[_Candidate] = []
    duplicates: list[tuple[_Candidate, str]] = []  # (candidate, notice_id of the first)
    for candidate in candidates:
        notice_id = candidate.element["notice_id"]
        if notice_id in existing or notice_id in first_in_request:
            duplicates.append((candidate, notice_id))
        else:
            first_in_request[notice_id] = candidate
            to_store.append(candidate)
    # a concurrent request may have stored the same id first: then ours is a duplicate
    stored = inbox_insert([_notice_row(c, request_id=request_id, received_at=received_at) for c in to_store])
    for candidate in to_store:
        if candidate.element["notice_id"] not in stored:
            duplicates.append((candidate, candidate.element["notice_id"]))
    missing = {nid for _, nid in duplicates if nid not in existing and nid not in stored}
    if missing:
        existing.update(
            {
                row["notice_id"]: dict(row)
                for row in Notice.objects.filter(
                    municipality_code=municipality_code, notice_id__any_of=sorted(missing)
                ).values("id", "notice_id", "content_sha256", "status", "code")
            }
        )
    _record_duplicates(duplicates, existing=existing, stored=stored, first_in_request=first_in_request,
                       receipts=receipts, request_id=request_id, received_at=received_at,
                       municipality_code=municipality_code)  # fmt: skip
    counts = _receipt_counts(receipts)
    log_intake_event(actor=actor, kind=kind, conditions=counts, result_count=len(receipts))
    if counts.get("E009"):
        log_intake_event(actor=actor, kind=IntakeBatch.Kind.SECURITY, outcome="E009", conditions=counts)
    if stored:
        transaction.on_commit(wake_intake_worker)
    return receipts


def _record_duplicates(
    duplicates: list[tuple[_Candidate, str]],
    *,
    existing: dict[str, dict[str, Any]],
    stored: dict[str, int],
    first_in_request: dict[str, _Candidate],
    receipts: list[Receipt],
    request_id: uuid.UUID,
    received_at: Any,
    municipality_code: str,
) -> None:
    rows, alerts = [], []
    for candidate, notice_id in duplicates:
        if notice_id in existing:
            first = existing[notice_id]
            first_id, first_hash = first["id"], first["content_sha256"]
            result = _first_result(first["status"], first["code"])
        else:
            first_id, first_hash = stored[notice_id], first_in_request[notice_id].content_sha256
            result = _first_result(Notice.Status.PENDING, "")
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


def wake_intake_worker() -> None:
    """Publish a wake-up. If Redis is down the notice waits for the sweeper; the inbox already holds it."""
    from prefserver.tasks import intake_process_task

    try:
        intake_process_task.delay()
    except Exception as exc:  # a lost wake-up is recovered by intake_redispatch_task
        logger.warning("intake wake-up could not be published (%s); the sweeper will dispatch it", type(exc).__name__)
