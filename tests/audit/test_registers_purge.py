"""The registers purge for the audit app's records (domain.md §13): usage approvals by record time, the
access-right ledger from the end of the right, decided applications, expired API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import ProgrammingError, connection, transaction

from audit.models import (
    AccessRightApplication,
    AccessRightLedgerEntry,
    Affair,
    ApiToken,
    Operator,
    Role,
    UsageApproval,
)
from jukinet import clock
from jukinet.registers import registers_purge
from tests.registers_times import AS_OF, JUST_INSIDE, JUST_PAST, LONG_AGO

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seven_years")]


@pytest.fixture
def affairs(db) -> list[Affair]:  # type: ignore[no-untyped-def]
    common = {"category": "schedule_5", "files": ["identity"], "release_kind": "provision"}
    return [
        Affair.objects.create(code=f"REG-{n}", name=f"事務{n}", effective_from=dt.date(2000, 4, 1), **common)
        for n in (1, 2)
    ]


def _usage(operator: Operator, terminal: Any, *, requested: dt.datetime, approved: dt.datetime | None) -> UsageApproval:
    approval = UsageApproval.objects.create(
        operator=operator, office=operator.office, terminal=terminal.terminal, purpose="業務", requested_at=requested,
        status=UsageApproval.Status.APPROVED if approved else UsageApproval.Status.REQUESTED, approved_at=approved,
        valid_until=clock.end_of_day(clock.local_date(approved)) if approved else None,
    )  # fmt: skip
    approval.affairs.set(Affair.objects.filter(code__startswith="REG-"))
    return approval


def _row(
    operator: Operator, action: str, *, at: dt.datetime, role: str = Role.CLERK, **extra: Any
) -> AccessRightLedgerEntry:
    return AccessRightLedgerEntry.objects.create(
        operator=operator, office=operator.office, role=role, action=action,
        effective_on=extra.pop("effective_on", clock.local_date(at)), recorded_by="system:test", recorded_at=at,
        **extra,
    )  # fmt: skip


def _former(username: str, office) -> Operator:  # type: ignore[no-untyped-def]
    """An operator whose account holds no role any more (the rights below have ended)."""
    return Operator.objects.create(username=username, display_name=username, office=office, roles=[])


def _ids(model) -> set[int]:  # type: ignore[no-untyped-def]
    return set(model.objects.values_list("pk", flat=True))


def test_usage_approvals_go_by_the_later_of_request_and_decision(clerk, terminal, affairs):
    # given approvals requested and decided just past the period, one decided just inside it, one requested
    # just inside, and an undecided request just past
    past = _usage(clerk, terminal, requested=JUST_PAST - dt.timedelta(minutes=5), approved=JUST_PAST)
    decided_inside = _usage(clerk, terminal, requested=JUST_PAST, approved=JUST_INSIDE)
    inside = _usage(clerk, terminal, requested=JUST_INSIDE, approved=JUST_INSIDE)
    undecided = _usage(clerk, terminal, requested=JUST_PAST, approved=None)
    links = UsageApproval.affairs.through.objects.filter(usageapproval_id__in=[past.pk, undecided.pk])
    assert links.count() == 4
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then the decided-past and undecided-past rows go with their affair links; the others stay
    assert counts["audit_usageapproval"] == 2
    assert _ids(UsageApproval) == {decided_inside.pk, inside.pk}
    assert not links.exists()


def test_a_right_goes_with_all_its_rows_once_its_end_is_past_the_period(section_office):
    clerk = _former("former-clerk", section_office)
    # given a right granted long ago, changed, and revoked just past the period
    rows = [
        _row(clerk, "grant", at=LONG_AGO),
        _row(clerk, "change", at=LONG_AGO + dt.timedelta(days=400)),
        _row(clerk, "revoke", at=JUST_PAST),
    ]
    # and a second right of the same person and role granted later and still open
    again = _row(clerk, "grant", at=JUST_PAST + dt.timedelta(minutes=1))
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then the ended right's three rows go, the open one stays
    assert counts["audit_accessrightledgerentry"] == 3
    assert _ids(AccessRightLedgerEntry) == {again.pk}
    assert all(not AccessRightLedgerEntry.objects.filter(pk=row.pk).exists() for row in rows)


def test_a_right_ended_just_inside_the_period_stays(section_office):
    clerk, auditor = _former("former-clerk", section_office), _former("former-auditor", section_office)
    # given one right suspended at 00:00 of the cut-off day, and one whose revocation was recorded before
    # the period but takes effect on the cut-off day (the sweep records ahead of the personnel change)
    kept = [_row(clerk, "grant", at=LONG_AGO), _row(clerk, "suspend", at=JUST_INSIDE)]
    ahead = [
        _row(auditor, "grant", at=LONG_AGO, role=Role.AUDITOR),
        _row(auditor, "suspend", at=JUST_PAST, role=Role.AUDITOR, effective_on=JUST_INSIDE.date(), overdue=True),
    ]
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then nothing goes
    assert counts["audit_accessrightledgerentry"] == 0
    assert _ids(AccessRightLedgerEntry) == {row.pk for row in kept + ahead}


def test_an_active_right_is_never_removed_however_old(clerk, administrator):
    # given a right granted in 2001 and never ended, and a right the ledger shows revoked long ago while
    # the account still holds the role (drift the weekly reconciliation reports)
    open_right = [_row(clerk, "grant", at=LONG_AGO), _row(clerk, "change", at=LONG_AGO + dt.timedelta(days=1))]
    assert Role.ADMINISTRATOR in administrator.roles
    drifted = [
        _row(administrator, "grant", at=LONG_AGO, role=Role.ADMINISTRATOR),
        _row(administrator, "revoke", at=LONG_AGO + dt.timedelta(days=30), role=Role.ADMINISTRATOR),
    ]
    # when the purge runs decades later
    counts = registers_purge(as_of=dt.date(2090, 1, 1))
    # then every row stays
    assert counts["audit_accessrightledgerentry"] == 0
    assert _ids(AccessRightLedgerEntry) == {row.pk for row in open_right + drifted}


def test_the_ledger_stays_append_only_outside_the_purge(section_office):
    # given a row of a right that ended long ago, and one recorded just inside the period
    former = _former("former-clerk", section_office)
    old = _row(former, "revoke", at=LONG_AGO)
    young = _row(former, "grant", at=JUST_INSIDE)
    # then neither an update nor a delete outside the purge goes through
    for attempt in (
        lambda: AccessRightLedgerEntry.objects.filter(pk=old.pk).update(reason="x"),
        lambda: AccessRightLedgerEntry.objects.filter(pk=old.pk).delete(),
    ):
        with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
            attempt()
    # and with the purge's cut-off named, a row not older than it is still refused
    with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jukinet.ledger_purge_cutoff', %s, true)", [JUST_INSIDE.isoformat()])
        AccessRightLedgerEntry.objects.filter(pk=young.pk).delete()
    assert _ids(AccessRightLedgerEntry) == {old.pk, young.pk}


def _application(operator: Operator, *, status: str, decided: dt.datetime | None) -> AccessRightApplication:
    return AccessRightApplication.objects.create(
        operator=operator, office=operator.office, role=Role.CLERK, applied_by=operator,
        applied_at=LONG_AGO, status=status, decided_at=decided,
    )  # fmt: skip


def test_applications_go_after_their_ledger_rows_and_pending_ones_stay(section_office):
    clerk, auditor = _former("former-clerk", section_office), _former("former-auditor", section_office)
    # given an approved application whose right ended past the period, one whose right is still open,
    # one refused past the period, one refused inside it, and one never decided
    ended = _application(clerk, status="approved", decided=LONG_AGO)
    _row(clerk, "grant", at=LONG_AGO, application=ended)
    _row(clerk, "revoke", at=JUST_PAST)
    still_open = _application(auditor, status="approved", decided=LONG_AGO)
    _row(auditor, "grant", at=LONG_AGO, role=Role.AUDITOR, application=still_open)
    _application(clerk, status="refused", decided=JUST_PAST)
    refused_inside = _application(clerk, status="refused", decided=JUST_INSIDE)
    pending = _application(clerk, status="applied", decided=None)
    # when the purge runs (the ledger rows naming `ended` go first: PROTECT)
    counts = registers_purge(as_of=AS_OF)
    # then the ended and the refused-past applications go
    assert counts["audit_accessrightapplication"] == 2
    assert _ids(AccessRightApplication) == {still_open.pk, refused_inside.pk, pending.pk}


def test_api_tokens_go_once_expired_before_the_period(clerk, terminal):
    # given a token that expired just past the period and one that expired just inside it
    def token(key: str, expires: dt.datetime) -> ApiToken:
        return ApiToken.objects.create(
            key_hash=key * 64, operator=clerk, terminal=terminal.terminal, created_at=expires - dt.timedelta(hours=1),
            last_used_at=expires - dt.timedelta(hours=1), expires_at=expires,
        )  # fmt: skip

    token("a", JUST_PAST)
    inside = token("b", JUST_INSIDE)
    # when the purge runs
    counts = registers_purge(as_of=AS_OF)
    # then only the first goes
    assert counts["audit_apitoken"] == 1
    assert _ids(ApiToken) == {inside.pk}
