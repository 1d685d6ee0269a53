"""Reads for the staff intake screen (受信状況): counts, results and push backlog, no personal data.

What a clerk sees here are ids, codes and statuses: notice ids, municipality codes, change-reason and result
codes, update_sequence, times. Never a resident code, name, address or individual number (those stay behind
the identity selectors of §9).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Min, Q

from furyo.models import FuryoVersion
from jukinet import clock
from jukinet.models import ChangeReason, Municipality
from jukinet.reference import prefecture_municipalities
from prefserver.models import Alert, DuplicateReceipt, IdentityVersion, Incident, Notice, PushOutbox

NOTICE_PAGE = 100


@dataclass
class MunicipalityIntake:
    code: str
    name: str
    received: int = 0
    pending: int = 0
    applied: int = 0
    rejected: int = 0
    held: int = 0
    duplicates: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)


@dataclass
class PushBacklog:
    file: str
    pending: int
    due: int
    failed: int
    sent: int
    oldest_pending_at: dt.datetime | None
    max_attempts: int


def intake_by_municipality() -> list[MunicipalityIntake]:
    """Per sender: notices received (stored), their results, and duplicate receipts."""
    rows = {m.code: MunicipalityIntake(m.code, m.name) for m in prefecture_municipalities()}
    by_status = Notice.objects.values_list("municipality_code", "status").annotate(n=Count("id"))
    for code, status, n in by_status:
        row = rows.setdefault(code, MunicipalityIntake(code, code))
        row.received += n
        setattr(row, status, getattr(row, status) + n)
    rejected = (
        Notice.objects.filter(status=Notice.Status.REJECTED)
        .values_list("municipality_code", "code")
        .annotate(n=Count("id"))
        .order_by("municipality_code", "code")
    )
    for code, result_code, n in rejected:
        rows[code].rejected_by_code[result_code] = n
    for code, n in DuplicateReceipt.objects.values_list("municipality_code").annotate(n=Count("id")):
        rows.setdefault(code, MunicipalityIntake(code, code)).duplicates = n
    return sorted(rows.values(), key=lambda r: r.code)


def push_backlog(*, now: dt.datetime | None = None) -> list[PushBacklog]:
    """The national push backlog per file: pending (and due now), failed, sent, the oldest pending row."""
    now = now or clock.now()
    out = []
    for file, label in PushOutbox._meta.get_field("file").choices or []:  # type: ignore[union-attr]
        rows = PushOutbox.objects.filter(file=file).aggregate(
            pending=Count("id", filter=Q(status=PushOutbox.Status.PENDING)),
            due=Count("id", filter=Q(status=PushOutbox.Status.PENDING, next_attempt_at__lte=now)),
            failed=Count("id", filter=Q(status=PushOutbox.Status.FAILED)),
            sent=Count("id", filter=Q(status=PushOutbox.Status.SENT)),
            oldest=Min("created_at", filter=Q(status=PushOutbox.Status.PENDING)),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COALESCE(MAX(attempts), 0) FROM {PushOutbox._meta.db_table} WHERE status = 'pending'"  # noqa: S608
                " AND file = %s",
                [file],
            )
            (max_attempts,) = cursor.fetchone()
        out.append(
            PushBacklog(
                str(label), rows["pending"], rows["due"], rows["failed"], rows["sent"], rows["oldest"], max_attempts
            )
        )
    return out


def open_alerts(limit: int = 20) -> list[Alert]:
    return list(Alert.objects.filter(resolved=False).order_by("-created_at")[:limit])


def open_incidents() -> list[Incident]:
    return list(Incident.objects.filter(status=Incident.Status.OPEN).order_by("-detected_at"))


def municipality_get(code: str) -> Municipality:
    return Municipality.objects.get(code=code)


def notices_of_municipality(code: str, *, status: str = "", limit: int = NOTICE_PAGE) -> list[Notice]:
    """The latest notices of a sender (ids, codes, statuses only: the envelope is deferred)."""
    qs = Notice.objects.filter(municipality_code=code).defer(
        "envelope", "individual_number_ciphertext", "individual_number_blind_index", "resident_code",
        "new_resident_code",
    )  # fmt: skip
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-id")[:limit])


def reason_labels() -> dict[str, str]:
    return dict(ChangeReason.objects.values_list("code", "name"))


def notice_detail(pk: int) -> dict[str, Any]:
    """A notice's result, its duplicate receipts and the push of the version it produced."""
    notice = Notice.objects.defer(
        "envelope", "individual_number_ciphertext", "individual_number_blind_index", "resident_code",
        "new_resident_code",
    ).get(pk=pk)  # fmt: skip
    version_model = IdentityVersion if notice.file == "identity" else FuryoVersion
    version_ids = list(version_model.objects.filter(source_notice_id=notice.pk).values_list("id", flat=True))
    pushes = list(PushOutbox.objects.filter(file=notice.file, version_id__in=version_ids).order_by("id"))
    duplicates = list(DuplicateReceipt.objects.filter(first=notice).order_by("received_at"))
    return {
        "notice": notice,
        "pushes": pushes,
        "duplicates": duplicates,
        "reason": reason_labels().get(notice.change_reason, ""),
    }
