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
from django.db.models import QuerySet

from audit.models import (
    Office,
    OperationKind,
    OperationLogEntry,
    Operator,
    Role,
    SamplingCampaign,
    SamplingItem,
    Terminal,
)
from audit.oplog import canonical_json
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
    office: Office | None = None
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
            "office": self.office.pk if self.office else None,
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
    if filters.office is not None:
        rows = rows.filter(operator__office=filters.office)
    if filters.kind is not None:
        rows = rows.filter(kind=filters.kind)
    if filters.affair_code:
        rows = rows.filter(affair__code=filters.affair_code)
    if filters.date_from:
        rows = rows.filter(recorded_at__gte=clock.start_of_day(filters.date_from))
    if filters.date_to:
        rows = rows.filter(recorded_at__lt=clock.end_of_day(filters.date_to))
    if filters.resident_code or filters.target:
        if not filters.targets:
            return rows.none()
        # `targets` is stored as json text (audit.fields); the GIN index is on targets::jsonb.
        where = " OR ".join(["audit_operationlogentry.targets::jsonb @> %s::jsonb"] * len(filters.targets))
        params = [canonical_json([[label, pk]]) for label, pk in filters.targets]
        rows = rows.extra(where=[f"({where})"], params=params)  # noqa: S610 - fixed SQL, bound values
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
    """Conditions for people: a blind index shows only as 「個人番号（照合値）」, never digits (§17 #50)."""
    if not conditions:
        return ""
    parts = []
    for key, value in sorted(conditions.items()) if isinstance(conditions, dict) else []:
        if key == BLIND_INDEX_CONDITION:
            parts.append(BLIND_INDEX_LABEL)
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
    items, same_office_fallbacks = [], 0
    for sequence, operator_id in drawn:
        # Never the entry's operator. Not from the operator's office either unless SAMPLING_SAME_OFFICE, except
        # when no auditor outside it exists (auditors' own log reads): then counted and logged as a fallback.
        eligible = [r for r in reviewers if r.pk != operator_id]
        if not same_office and operator_id:
            elsewhere = [r for r in eligible if r.office_id is None or r.office_id != offices.get(operator_id)]
            same_office_fallbacks += not elsewhere and bool(eligible)
            eligible = elsewhere or eligible
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
        conditions={
            "seed": seed,
            "size": size,
            "from": period_from.isoformat(),
            "to": period_to.isoformat(),
            "same_office_fallbacks": same_office_fallbacks,
        },
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


# --- Flags for the auditor (domain.md §11): off-hours use, high volume, repeated subjects, wide searches -------

PERSONAL_KINDS = (100, 399)  # 1xx identity and 附票, 2xx intake excluded below, 3xx provision
HIGH_VOLUME_PER_DAY = 200  # Decision (the domain names the flag, not its threshold): lookups per operator-day
REPEATED_SUBJECT_COUNT = 5  # Decision: the same subject opened this often by one operator in the period


@dataclass
class LogFlags:
    off_hours: list[OperationLogEntry] = field(default_factory=list)
    high_volume: list[tuple[Operator, dt.date, int]] = field(default_factory=list)
    repeated_subjects: list[tuple[Operator, str, int]] = field(default_factory=list)
    wide_searches: list[OperationLogEntry] = field(default_factory=list)


def _personal(rows: QuerySet[OperationLogEntry]) -> QuerySet[OperationLogEntry]:
    return rows.filter(operator__isnull=False, kind__gte=PERSONAL_KINDS[0], kind__lte=PERSONAL_KINDS[1]).exclude(
        kind__gte=200, kind__lt=300
    )


@transaction.atomic
def operation_log_flags(
    *, auditor: Operator, terminal: Terminal | None, date_from: dt.date, date_to: dt.date
) -> LogFlags:
    rows = _personal(
        OperationLogEntry.objects.filter(
            recorded_at__gte=clock.start_of_day(date_from), recorded_at__lt=clock.end_of_day(date_to)
        ).select_related("operator")
    )
    hours = setting_value("BUSINESS_HOURS", on=date_to)
    start, end = dt.time.fromisoformat(hours["start"]), dt.time.fromisoformat(hours["end"])
    flags = LogFlags()
    per_day: dict[tuple[int, dt.date], int] = {}
    per_subject: dict[tuple[int, str], int] = {}
    operators: dict[int, Operator] = {}
    cap = int(setting_value("SEARCH_RESULT_CAP", on=date_to))
    for entry in rows.order_by("sequence").iterator(chunk_size=2000):
        local = entry.recorded_at.astimezone(clock.TOKYO)
        operator = entry.operator
        if operator is None:  # excluded by the query; keeps the type checker honest
            continue
        operators[operator.pk] = operator
        if local.weekday() not in hours["weekdays"] or not (start <= local.time() < end):
            flags.off_hours.append(entry)
        per_day[(operator.pk, local.date())] = per_day.get((operator.pk, local.date()), 0) + 1
        for label, pk in entry.targets:
            key = (operator.pk, f"{label}:{pk}")
            per_subject[key] = per_subject.get(key, 0) + 1
        if entry.outcome == "Q06" or (entry.result_count or 0) > cap:
            flags.wide_searches.append(entry)
    flags.high_volume = [(operators[o], d, n) for (o, d), n in sorted(per_day.items()) if n > HIGH_VOLUME_PER_DAY]
    flags.repeated_subjects = [
        (operators[o], subject, n) for (o, subject), n in sorted(per_subject.items()) if n >= REPEATED_SUBJECT_COUNT
    ]
    operation_log_record(
        actor=auditor,
        kind=OperationKind.LOG_SEARCHED,
        terminal=terminal,
        conditions={"flags": True, "from": date_from.isoformat(), "to": date_to.isoformat()},
        result_count=len(flags.off_hours)
        + len(flags.high_volume)
        + len(flags.repeated_subjects)
        + len(flags.wide_searches),
    )
    return flags
