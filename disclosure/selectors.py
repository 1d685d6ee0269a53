"""Reads of the disclosure app: fee table, windows, deadlines, dashboard lists, suspension marker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from audit.models import Operator, Terminal
from disclosure import ports
from disclosure.models import CaseStatus, DisclosureCase, FeeTableRow, SuspensionDecision
from disclosure.pdf import Window, letterhead_on
from jukinet.config import setting_value


@dataclass(frozen=True, kw_only=True)
class Fee:
    per_sheet_yen: int
    handling_yen: int


# seeds/004_8fbdbec3723ee2c3.txt:460 (copies ¥10 per sheet); domain.md §16 (handling ¥0)
DEFAULT_FEE = Fee(per_sheet_yen=10, handling_yen=0)


def fee_in_force(day: dt.date) -> Fee:
    """The fee-table row in force on `day` (latest effective_from not after it), else the default."""
    row = FeeTableRow.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if row is None:
        return DEFAULT_FEE
    return Fee(per_sheet_yen=row.copy_per_sheet_yen, handling_yen=row.handling_fee_yen)


def windows_in_force(day: dt.date) -> tuple[Window, ...]:
    """The request windows (1 or 2) with their names and contacts in force on `day` (DISCLOSURE_WINDOWS)."""
    return letterhead_on(day).windows


def due_date_for(received_on: dt.date) -> dt.date:
    """received_on + DISCLOSURE_DEADLINE_DAYS calendar days: the day of receipt is not counted (初日不算入)
    and there is no holiday extension (domain.md §12 Decision)."""
    days = int(setting_value("DISCLOSURE_DEADLINE_DAYS", on=received_on))
    return received_on + dt.timedelta(days=days)


def cases_open() -> QuerySet[DisclosureCase]:
    return DisclosureCase.objects.exclude(status=CaseStatus.CLOSED)


def cases_overdue(*, today: dt.date) -> QuerySet[DisclosureCase]:
    """Cases past their due date and not closed, most overdue first."""
    return cases_open().filter(due_on__lt=today).order_by("due_on", "pk")


def cases_for_dashboard(*, today: dt.date, recent: int = 50) -> dict[str, list[DisclosureCase]]:
    """The clerk's case list: overdue cases on top, then other open cases by due date, then recent closures."""
    overdue = list(cases_overdue(today=today))
    others = list(cases_open().filter(due_on__gte=today).order_by("due_on", "pk"))
    closed = list(DisclosureCase.objects.filter(status=CaseStatus.CLOSED).order_by("-closed_at", "-pk")[:recent])
    return {"overdue": overdue, "open": others, "closed": closed}


def disclosure_candidates(
    *, case: DisclosureCase, operator: Operator, terminal: Terminal | None
) -> list[ports.MatchCandidate]:
    """Candidates for the requester as written on the form (logged search through the identity door)."""
    return ports.identity_match_candidates(
        operator=operator,
        terminal=terminal,
        file=case.file,
        name=case.requester_name,
        birth_date=case.requester_birth_date,
        sex=case.requester_sex,
    )


def suspension_in_force(*, person_id: int, file: str, affair_code: str, on: dt.date) -> bool:
    """Whether a granted suspension covers this person and affair on `on` (Q11, domain.md §12).

    The provision door can call this until its own `ProvisionSuspension` marker exists.
    """
    return (
        SuspensionDecision.objects.filter(
            person_id=person_id,
            file=file,
            outcome=SuspensionDecision.Outcome.GRANTED,
            affair_codes__contains=[affair_code],
            effective_from__lte=on,
        )
        .filter(Q(lifted_on__isnull=True) | Q(lifted_on__gt=on))
        .exists()
    )
