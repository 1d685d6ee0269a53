"""Bulk provision (一括提供, domain.md §9.5): a CSV of exact conditions in, a result CSV out to a registered medium.

Checks for the whole file, in order: Q09 (a `media_export` terminal) → Q10 → Q01 → Q02 → Q12 (too many rows;
over the approval threshold without the recipient's prior approval; medium not registered). Then every row is
one release through provision.selectors.release_lookup (its own provision record, Q03-Q11 per row).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from typing import Any

from django.db import transaction

from audit.models import Affair, Office, OperationKind, Operator, Role, Terminal
from audit.services import operation_log_record
from jukinet import clock
from jukinet.config import setting_value
from provision.models import (
    BulkApproval,
    BulkApprover,
    BulkRequest,
    Channel,
    MediaOutput,
    Medium,
    Result,
)
from provision.records import provision_record_write
from provision.selectors import (
    CONDITION_KEYS,
    Refused,
    _affair,
    _assigned,
    _check_affair_approval,
    _check_terminal_and_approval,
    _release_kind,
    logged_conditions,
    release_lookup,
)

RESULT_ITEMS = (
    "resident_code", "name", "name_kana", "birth_date", "sex", "address", "change_reason", "change_date",
    "individual_number",
)  # fmt: skip


class BulkError(ValueError):
    """A request file that is not a CSV of the §9.5 form (message in Japanese, no values)."""


def parse_request_file(content: bytes) -> list[dict[str, str]]:
    """UTF-8 CSV with a header: `row_id` and keys of one §9.3 exact rule."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkError("依頼ファイルは UTF-8 の CSV にしてください。") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if "row_id" not in header:
        raise BulkError("依頼ファイルの見出し行に row_id がありません。")
    unknown = sorted(set(header) - {"row_id", *CONDITION_KEYS})
    if unknown:
        raise BulkError(f"依頼ファイルに許可されていない列があります（{', '.join(unknown)}）。")
    return [dict(row) for row in reader]


def _row_conditions(row: dict[str, str]) -> dict[str, Any] | None:
    """Typed conditions of one row, or None when a date or sex is malformed (the row is refused Q03)."""
    conditions: dict[str, Any] = {k: (row.get(k) or None) for k in CONDITION_KEYS}
    try:
        if conditions["birth_date"]:
            conditions["birth_date"] = dt.date.fromisoformat(conditions["birth_date"])
        if conditions["sex"]:
            conditions["sex"] = int(conditions["sex"])
            if conditions["sex"] not in (1, 2):
                return None
    except ValueError:
        return None
    return conditions


@transaction.atomic
def bulk_approval_record(
    *,
    recorded_by: Operator,
    recipient: Office,
    affair: Affair,
    max_rows: int,
    approver: Operator | None = None,
    paper_reference: str = "",
) -> BulkApproval:
    """Prior approval (seeds/002_b6d1246946737152.txt:1817-1818): by the recipient's `bulk_approver` account,
    or recorded by a clerk from a paper approval's reference."""
    if approver is not None:
        if not BulkApprover.objects.filter(operator=approver, office=recipient, active=True).exists():
            raise PermissionError("この提供先の一括提供承認者ではありません。")
        if recorded_by != approver:
            raise PermissionError("承認は承認者本人が記録します。")
    elif not paper_reference or not recorded_by.has_role(Role.CLERK):
        raise PermissionError("紙の承認文書番号は市町村課の担当職員が記録します。")
    approval = BulkApproval.objects.create(
        recipient=recipient, affair=affair, max_rows=max_rows, approver=approver,
        paper_reference=paper_reference, recorded_by=recorded_by,
    )  # fmt: skip
    operation_log_record(
        actor=recorded_by, kind=OperationKind.BULK_APPROVED, affair=affair, targets=[approval, recipient],
        conditions={"max_rows": max_rows, "paper": bool(paper_reference)},
    )  # fmt: skip
    return approval


def _may_run(operator: Operator, recipient: Office) -> bool:
    # Yamaguchi: only municipal-affairs clerks run bulk jobs (seeds/001_f00ff35fbf01a749.txt:343-344).
    if operator.has_role(Role.CLERK):
        return True
    return bool(setting_value("BULK_RUN_BY_RECIPIENTS")) and operator.office_id == recipient.pk


def _check_file(
    *,
    operator: Operator,
    terminal: Terminal | None,
    recipient: Office,
    affair_code: str,
    file: str,
    rows: int,
    approval: BulkApproval | None,
    medium: Medium | None,
) -> Affair:
    usage = _check_terminal_and_approval(
        operator=operator, terminal=terminal, capability=Terminal.Capability.MEDIA_EXPORT
    )
    affair = _affair(affair_code, clock.today(), approval=usage, recipient=recipient)
    _check_affair_approval(usage, affair)
    if not _may_run(operator, recipient) or file not in affair.files:
        raise Refused("Q02")
    if not _assigned(affair, recipient):
        raise Refused("Q02")
    if rows > setting_value("BULK_MAX_ROWS"):
        raise Refused("Q12")
    if rows > setting_value("BULK_APPROVAL_THRESHOLD") and not (
        approval is not None
        and approval.used_at is None
        and approval.recipient_id == recipient.pk
        and approval.affair.code == affair.code
        and approval.max_rows >= rows
    ):
        raise Refused("Q12")
    if medium is None or medium.status != Medium.Status.REGISTERED:
        raise Refused("Q12")
    return affair


def _result_csv(lines: list[dict[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=["row_id", "result", "code", *RESULT_ITEMS], lineterminator="\r\n")
    writer.writeheader()
    for line in lines:
        writer.writerow(line)
    return out.getvalue().encode("utf-8")


@transaction.atomic
def bulk_request_run(
    *,
    operator: Operator,
    terminal: Terminal | None,
    recipient: Office,
    affair_code: str,
    file: str,
    content: bytes,
    approval: BulkApproval | None = None,
    medium: Medium | None = None,
    document_reference: str = "",
    include_individual_number: bool = False,
) -> BulkRequest:
    """Run one request file. Refused whole (status `refused` + Q code) or completed with its result file."""
    rows = parse_request_file(content)
    job = BulkRequest.objects.create(
        recipient=recipient, affair_code=affair_code[:20], file=file, operator=operator, terminal=terminal,
        rows=len(rows), status=BulkRequest.Status.REFUSED, document_reference=document_reference[:200],
    )  # fmt: skip
    try:
        affair = _check_file(
            operator=operator, terminal=terminal, recipient=recipient, affair_code=affair_code, file=file,
            rows=len(rows), approval=approval, medium=medium,
        )  # fmt: skip
    except Refused as refusal:
        return _refuse_whole(job, operator, terminal, recipient, file, refusal.code)
    assert medium is not None and terminal is not None  # noqa: S101 - checked by _check_file
    lines, counts = [], {"released": 0, "not_found": 0, "refused": 0}
    for row in rows:
        conditions = _row_conditions(row)
        if conditions is None:
            lines.append({"row_id": row["row_id"], "result": Result.REFUSED, "code": "Q03"})
            counts["refused"] += 1
            continue
        outcome = release_lookup(
            operator=operator, terminal=terminal, file=file, affair_code=affair_code, conditions=conditions,
            include_individual_number=include_individual_number, document_reference=document_reference,
            channel=Channel.MEDIA, recipient=recipient if operator.has_role(Role.CLERK) else None,
            bulk_request_id=job.pk, log=False,
        )  # fmt: skip
        counts[outcome.result] += 1
        lines.append(
            {"row_id": row["row_id"], "result": outcome.result, "code": outcome.code, **(outcome.record or {})}
        )
    result_file = _result_csv(lines)
    digest = hashlib.sha256(result_file).hexdigest()
    job.affair, job.approval, job.medium, job.status = affair, approval, medium, BulkRequest.Status.COMPLETED
    job.result_file = result_file
    job.save(update_fields=["affair", "approval", "medium", "status", "result_file"])
    if approval is not None and len(rows) > setting_value("BULK_APPROVAL_THRESHOLD"):
        approval.used_at = clock.now()
        approval.save(update_fields=["used_at"])
    output = MediaOutput.objects.create(
        medium=medium, bulk_request=job, file_name=f"bulk-result-{job.pk}.csv", rows=len(rows), sha256=digest,
        requester=recipient, approver=approval.approver if approval else None,
        paper_approval_reference=approval.paper_reference if approval else "", operator=operator, terminal=terminal,
    )  # fmt: skip
    operation_log_record(
        actor=operator, kind=OperationKind.BULK_PROCESSED, terminal=terminal, affair=affair,
        targets=[job, recipient], outcome="ok", conditions={"rows": len(rows), **counts, "file": file},
        result_count=counts["released"],
    )  # fmt: skip
    operation_log_record(
        actor=operator, kind=OperationKind.MEDIA_WRITTEN, terminal=terminal, affair=affair,
        targets=[output, medium, job], conditions={"rows": len(rows), "sha256": digest},
    )  # fmt: skip
    return job


def _refuse_whole(
    job: BulkRequest, operator: Operator, terminal: Terminal | None, recipient: Office, file: str, code: str
) -> BulkRequest:
    job.code = code
    job.save(update_fields=["code"])
    provision_record_write(
        operator=operator, terminal=terminal, recipient=recipient, release_kind=_release_kind(recipient),
        affair=None, affair_code=job.affair_code, file=file, conditions=logged_conditions({"rows": job.rows}),
        subjects=[], items=[], channel=Channel.MEDIA, result=Result.REFUSED, code=code,
        document_reference=job.document_reference, bulk_request_id=job.pk,
    )  # fmt: skip
    operation_log_record(
        actor=operator, kind=OperationKind.BULK_REQUESTED, terminal=terminal, targets=[job, recipient],
        outcome=code, conditions={"rows": job.rows, "file": file},
    )  # fmt: skip
    return job
