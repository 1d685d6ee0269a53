"""Reads and work of the auditor pages (domain.md §11): every view, search and export of the log is logged.

Like selectors elsewhere, these are the only door to log content; each call writes its own log entry.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from audit.models import (
    OperationKind,
    OperationLogEntry,
    Operator,
    Role,
    SamplingCampaign,
    SamplingItem,
    Terminal,
)
from audit.services import BLIND_INDEX_CONDITION, operation_log_record
from audit.subjects import subject_resolve
from jukinet import clock
from jukinet.config import setting_value

RESULT_LIMIT = 500
BLIND_INDEX_LABEL = "個人番号（照合値）"


class AuditError(Exception):
    """A refused auditor action, with a Japanese message."""


@dataclass
class LogFilters:
    operator: Operator | None = None
    resident_code: str = ""
    target: tuple[str, str] | None = None
    affair_code: str = ""
    kind: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    targets: list[tuple[str, str]] = field(default_factory=list)

    def as_conditions(self) -> dict[str, Any]:
        """What the log keeps of the auditor's own search (ids and codes, no identity items)."""
        return {
            "operator": self.operator.pk if self.operator else None,
            "resident_code": self.resident_code or None,
            "targets": [list(t) for t in self.targets],
            "affair": self.affair_code or None,
            "kind": self.kind,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


def _queryset(filters: LogFilters) -> QuerySet[OperationLogEntry]:
    rows = OperationLogEntry.objects.select_related("operator", "terminal", "affair").order_by("-sequence")
    if filters.operator is not None:
        rows = rows.filter(operator=filters.operator)
    if filters.kind is not None:
        rows = rows.filter(kind=filters.kind)
    if filters.affair_code:
        rows = rows.filter(affair__code=filters.affair_code)
    if filters.date_from:
        rows = rows.filter(recorded_at__gte=clock.start_of_day(filters.date_from))
    if filters.date_to:
        rows = rows.filter(recorded_at__lt=clock.end_of_day(filters.date_to))
    if filters.resident_code or filters.target:
        match = Q(pk__in=[])
        for label, pk in filters.targets:
            match |= Q(targets__contains=[[label, pk]])
        rows = rows.filter(match)
    return rows


@transaction.atomic
def operation_log_search(
    *, auditor: Operator, terminal: Terminal | None, filters: LogFilters, export: bool = False
) -> list[OperationLogEntry]:
    """Search the log; a resident code is resolved to surrogate ids (logged), the search itself is logged."""
    filters.targets = [filters.target] if filters.target else []
    resolved = subject_resolve(filters.resident_code) if filters.resident_code else []
    filters.targets.extend(resolved)
    rows = list(_queryset(filters)[: None if export else RESULT_LIMIT])
    if filters.resident_code:
        # Logged after the search so that the resolution is not itself part of the subject's history shown.
        operation_log_record(
            actor=auditor,
            kind=OperationKind.LOG_SUBJECT_RESOLVED,
            terminal=terminal,
            conditions={"resident_code": filters.resident_code},
            targets=resolved,
            result_count=len(resolved),
        )
    operation_log_record(
        actor=auditor,
        kind=OperationKind.LOG_EXPORTED if export else OperationKind.LOG_SEARCHED,
        terminal=terminal,
        conditions=filters.as_conditions(),
        result_count=len(rows),
    )
    return rows


@transaction.atomic
def operation_log_entry_view(*, auditor: Operator, terminal: Terminal | None, sequence: int) -> OperationLogEntry:
    entry = OperationLogEntry.objects.select_related("operator", "terminal", "affair").get(sequence=sequence)
    operation_log_record(
        actor=auditor,
        kind=OperationKind.LOG_VIEWED,
        terminal=terminal,
        targets=[("audit.operationlogentry", sequence)],
    )
    return entry


def conditions_display(conditions: Any) -> str:
    """Conditions for people: the blind index as 「個人番号（照合値）」 + a short hash, never digits."""
    if not conditions:
        return ""
    parts = []
    for key, value in sorted(conditions.items()) if isinstance(conditions, dict) else []:
        if key == BLIND_INDEX_CONDITION:
            parts.append(f"{BLIND_INDEX_LABEL}: {str(value)[:8]}…")
        elif value not in (None, "", []):
            parts.append(f"{key}: {value}")
    return " / ".join(parts)


def entries_csv(rows: list[OperationLogEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["連番", "日時", "操作主体", "操作者", "端末", "操作種別", "事務", "対象", "結果", "条件", "件数"])
    for row in rows:
        writer.writerow(
            [
                row.sequence,
                row.recorded_at.astimezone(clock.TOKYO).isoformat(),
                row.actor,
                str(row.operator or ""),
                str(row.terminal or ""),
                row.kind_label,
                row.affair.code if row.affair else "",
                " ".join(f"{label}:{pk}" for label, pk in row.targets),
                row.outcome,
                conditions_display(row.conditions),
                "" if row.result_count is None else row.result_count,
            ]
        )
    return out.getvalue()


# --- Sampling campaigns ------------------------------------------------------------------


@transaction.atomic
def sampling_campaign_create(
    *,
    auditor: Operator,
    terminal: Terminal | None,
    name: str,
    period_from: dt.date,
    period_to: dt.date,
    size: int,
    seed: int | None = None,
) -> SamplingCampaign:
    """Draw `size` random entries of the period with a recorded seed; each goes to an auditor who is not its
    operator (and, unless SAMPLING_SAME_OFFICE, not of the operator's office)."""
    seed = secrets.randbits(48) if seed is None else seed
    rng = random.Random(seed)  # noqa: S311 - a reproducible draw, not a secret
    candidates = list(
        OperationLogEntry.objects.filter(
            recorded_at__gte=clock.start_of_day(period_from), recorded_at__lt=clock.end_of_day(period_to)
        )
        .order_by("sequence")
        .values_list("sequence", "operator_id")
    )
    drawn = sorted(rng.sample(candidates, min(size, len(candidates))))
    reviewers = list(Operator.objects.filter(is_active=True, roles__contains=[Role.AUDITOR]).order_by("pk"))
    reviewers = [r for r in reviewers if not r.has_role(Role.CONTRACTOR)]
    same_office = bool(setting_value("SAMPLING_SAME_OFFICE"))
    offices = dict(Operator.objects.filter(pk__in={o for _, o in drawn if o}).values_list("pk", "office_id"))
    campaign = SamplingCampaign.objects.create(
        name=name,
        period_from=period_from,
        period_to=period_to,
        size=size,
        seed=seed,
        created_by=auditor,
        created_at=clock.now(),
    )
    items = []
    for sequence, operator_id in drawn:
        eligible = [r for r in reviewers if r.pk != operator_id]
        if not same_office and operator_id:
            eligible = [r for r in eligible if r.office_id is None or r.office_id != offices.get(operator_id)] or [
                r for r in reviewers if r.pk != operator_id
            ]
        if not eligible:
            raise AuditError(f"連番{sequence}の確認者を割り当てられません（操作者以外の監査担当がいません）。")
        items.append(
            SamplingItem(
                campaign=campaign,
                entry_sequence=sequence,
                entry_operator_id=operator_id,
                reviewer=rng.choice(eligible),
            )
        )
    SamplingItem.objects.bulk_create(items)
    operation_log_record(
        actor=auditor,
        kind=OperationKind.SAMPLING_CREATED,
        terminal=terminal,
        targets=[campaign],
        conditions={"seed": seed, "size": size, "from": period_from.isoformat(), "to": period_to.isoformat()},
        result_count=len(items),
    )
    return campaign


@transaction.atomic
def sampling_item_review(
    *,
    item: SamplingItem,
    reviewer: Operator,
    terminal: Terminal | None,
    verdict: str,
    document_checked: str,
    finding: str,
) -> SamplingItem:
    item = SamplingItem.objects.select_for_update().get(pk=item.pk)
    if item.reviewer_id != reviewer.pk:
        raise AuditError("割り当てられた確認者のみ判定できます。")
    if item.entry_operator_id == reviewer.pk:
        raise AuditError("自分の操作は判定できません。")
    item.verdict, item.document_checked, item.finding = verdict, document_checked, finding
    item.reviewed_at = clock.now()
    item.save(update_fields=["verdict", "document_checked", "finding", "reviewed_at"])
    operation_log_record(
        actor=reviewer,
        kind=OperationKind.SAMPLING_REVIEWED,
        terminal=terminal,
        targets=[item, ("audit.operationlogentry", item.entry_sequence)],
        conditions={"verdict": verdict},
    )
    return item
