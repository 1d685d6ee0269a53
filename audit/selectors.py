"""Reads of the audit app's reference data (affair catalogue, terminals)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from audit.models import AccessRightLedgerEntry, Affair, Office, Operator, UsageApproval


def affair_in_force(code: str, on_date: dt.date) -> Affair | None:
    """The catalogue entry for `code` in force on `on_date` (domain.md §9.1), or None (→ Q01)."""
    return (
        Affair.objects.filter(code=code, effective_from__lte=on_date)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on_date))
        .order_by("-effective_from")
        .first()
    )


def ledger_rows(*, office: Office | None = None) -> QuerySet[AccessRightLedgerEntry]:
    """The access-right ledger, for one office or the whole prefecture (domain.md §10.3)."""
    rows = AccessRightLedgerEntry.objects.select_related("operator", "office").order_by("-recorded_at", "-id")
    return rows.filter(office=office) if office is not None else rows


def usage_approvals_pending(*, approver: Operator) -> list[UsageApproval]:
    from audit.rights import may_approve_usage

    pending = UsageApproval.objects.filter(status=UsageApproval.Status.REQUESTED).select_related(
        "operator", "terminal", "office"
    )
    return [approval for approval in pending if may_approve_usage(approver, approval)]
