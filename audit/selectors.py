"""Reads of the audit app's reference data (affair catalogue, terminals)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from audit.models import Affair


def affair_in_force(code: str, on_date: dt.date) -> Affair | None:
    """The catalogue entry for `code` in force on `on_date` (domain.md §9.1), or None (→ Q01)."""
    return (
        Affair.objects.filter(code=code, effective_from__lte=on_date)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on_date))
        .order_by("-effective_from")
        .first()
    )
