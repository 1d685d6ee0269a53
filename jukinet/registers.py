"""The RETENTION_YEARS purge of the registers (domain.md §13): the 7-year records that are neither partitioned
nor owned by another purge.

What goes, and when its clock starts:

- usage approvals (使用伺い): record time, the later of request and decision;
- alerts: record time (`created_at`);
- media outputs (媒体出力の記録, the output ledger): record time (`written_at`);
- bulk requests with their result files: record time (`requested_at`), once none of their outputs is kept;
- bulk approvals: record time, the later of approval and use, once no kept request uses them;
- the media ledger (電磁的記録媒体管理簿): disposal (status disposed, `disposed_at`), once no kept output or
  request names the medium; a medium not disposed stays however old;
- the access-right ledger (アクセス権限管理簿): the end of the right (its suspension or revocation); every row
  of a right still open stays;
- access-right applications: their decision, once no kept ledger row names them; pending ones stay;
- API tokens (hashes only): their expiry (`expires_at`).

The deletes run in the order the PROTECT foreign keys need (outputs → requests → approvals → media; ledger →
applications), and every "stays while" test reads dates only, so deleting an earlier step does not change
what a later one selects: a run never meets an IntegrityError, a dry run counts exactly what a run removes, and
a second run removes nothing. One run is one transaction with one operation-log entry (kind PURGE, actor
system:purge), written last; a dry run deletes nothing and is logged too. The ledger stays append-only for
everything else: its trigger lets a DELETE through only for rows older than the cut-off this run names for its
own transaction (audit migration 0007).

Not here: provision records, the operation log, intake records, disclosure cases, versions and temporary
individual numbers have their own purges (docs/storage-operations.md lists them all).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from audit.models import (
    AccessRightApplication,
    AccessRightLedgerEntry,
    ApiToken,
    Operator,
    UsageApproval,
)
from jukinet import clock
from jukinet.retention import cutoff_purge_log, retention_cutoff
from prefserver.models import Alert
from provision.models import BulkApproval, BulkRequest, MediaOutput, Medium

_ENDING_ACTIONS = {AccessRightLedgerEntry.Action.SUSPEND, AccessRightLedgerEntry.Action.REVOKE}


def _table(model: type[Model]) -> str:
    return model._meta.db_table


# --- Record time -----------------------------------------------------------------------------------------


def expired_usage_approvals(*, cutoff: dt.datetime) -> QuerySet[UsageApproval]:
    """Usage approvals whose request and decision (approval) are both older than the cutoff: the clock is
    the later of `requested_at` and `approved_at`, so an approval decided after midnight waits for its
    decision. Undecided requests count from the request (they lapsed at 24:00 of their day)."""
    return UsageApproval.objects.filter(
        Q(approved_at__isnull=True) | Q(approved_at__lt=cutoff), requested_at__lt=cutoff
    )


def expired_alerts(*, cutoff: dt.datetime) -> QuerySet[Alert]:
    """Alerts by record time, resolved or not (domain.md §13 names no exception)."""
    return Alert.objects.filter(created_at__lt=cutoff)


def expired_api_tokens(*, cutoff: dt.datetime) -> QuerySet[ApiToken]:
    """Tokens that expired before the cutoff. They hold only a hash and are useless after expiry (at most
    24:00 of their day); they are kept with the log whose entries name them, and go with it."""
    return ApiToken.objects.filter(expires_at__lt=cutoff)


# --- Bulk provision and media (PROTECT chain: outputs → requests → approvals, media) ---------------------


def expired_media_outputs(*, cutoff: dt.datetime) -> QuerySet[MediaOutput]:
    return MediaOutput.objects.filter(written_at__lt=cutoff)


def _kept_outputs(cutoff: dt.datetime) -> QuerySet[MediaOutput]:
    return MediaOutput.objects.filter(written_at__gte=cutoff)


def expired_bulk_requests(*, cutoff: dt.datetime) -> QuerySet[BulkRequest]:
    """Requests (their result files are personal data) older than the cutoff whose outputs all expire too."""
    kept_output = _kept_outputs(cutoff).filter(bulk_request=OuterRef("pk"))
    return BulkRequest.objects.filter(requested_at__lt=cutoff).exclude(Exists(kept_output))


def _kept_requests(cutoff: dt.datetime) -> QuerySet[BulkRequest]:
    return BulkRequest.objects.exclude(pk__in=expired_bulk_requests(cutoff=cutoff).values("pk"))


def expired_bulk_approvals(*, cutoff: dt.datetime) -> QuerySet[BulkApproval]:
    """Approvals approved and (if used) used before the cutoff that no kept request uses."""
    kept_request = _kept_requests(cutoff).filter(approval=OuterRef("pk"))
    return (
        BulkApproval.objects.filter(Q(used_at__isnull=True) | Q(used_at__lt=cutoff), approved_at__lt=cutoff)
        .exclude(Exists(kept_request))
    )  # fmt: skip


def expired_media(*, cutoff: dt.datetime) -> QuerySet[Medium]:
    """Media disposed before the cutoff, once no kept output or request names them. A medium not disposed
    (registered, issued, returned) is kept however old."""
    kept_output = _kept_outputs(cutoff).filter(medium=OuterRef("pk"))
    kept_request = _kept_requests(cutoff).filter(medium=OuterRef("pk"))
    return (
        Medium.objects.filter(status=Medium.Status.DISPOSED, disposed_at__lt=cutoff)
        .exclude(Exists(kept_output))
        .exclude(Exists(kept_request))
    )


# --- Access-right ledger (clock: end of the right) -------------------------------------------------------


def _right_end(rows: list[AccessRightLedgerEntry]) -> dt.date:
    """The day a right ended: the latest effective date or recording day among its rows (the revocation
    sweep records ahead of the personnel change's date; an administrator may record late)."""
    return max(max(row.effective_on, clock.local_date(row.recorded_at)) for row in rows)


def expired_ledger_entry_ids(*, cutoff: dt.datetime) -> list[int]:
    """Rows of rights that ended before the cutoff.

    A right is one (operator, role) from its grant to the suspension or revocation that ends it (a later
    grant starts a new right); all its rows, changes included, go together once its end is past the period.
    Rows after the last end are an open right and stay. If the account still holds the role (the ledger and
    the account disagree, which the weekly reconciliation reports), its last ended right stays as well.
    """
    held = {(pk, role) for pk, roles in Operator.objects.values_list("pk", "roles") for role in roles}
    rights: dict[tuple[int, str], list[list[AccessRightLedgerEntry]]] = defaultdict(lambda: [[]])
    for entry in AccessRightLedgerEntry.objects.order_by("operator_id", "role", "recorded_at", "id").only(
        "pk", "operator_id", "role", "action", "effective_on", "recorded_at"
    ):
        episodes = rights[(entry.operator_id, entry.role)]
        episodes[-1].append(entry)
        if entry.action in _ENDING_ACTIONS:
            episodes.append([])
    cutoff_day = clock.local_date(cutoff)
    expired: list[int] = []
    for key, episodes in rights.items():
        ended = [episode for episode in episodes if episode and episode[-1].action in _ENDING_ACTIONS]
        if key in held and not episodes[-1] and ended:
            ended = ended[:-1]  # the account holds the role: its last recorded right is not over
        expired += [e.pk for episode in ended if _right_end(episode) < cutoff_day for e in episode]
    return expired


def expired_access_right_applications(
    *, cutoff: dt.datetime, ledger_ids: Iterable[int]
) -> QuerySet[AccessRightApplication]:
    """Decided applications (approved or refused) decided before the cutoff that no kept ledger row names.
    Pending applications are kept: nobody has decided them yet."""
    kept_row = AccessRightLedgerEntry.objects.filter(application=OuterRef("pk")).exclude(pk__in=list(ledger_ids))
    return (
        AccessRightApplication.objects.exclude(status=AccessRightApplication.Status.APPLIED)
        .filter(decided_at__lt=cutoff, applied_at__lt=cutoff)
        .exclude(Exists(kept_row))
    )


# --- The run ---------------------------------------------------------------------------------------------


def _delete(queryset: QuerySet) -> int:
    """Rows of the queryset's own model deleted (Django also deletes their many-to-many link rows)."""
    return queryset.delete()[1].get(queryset.model._meta.label, 0)


def _delete_ledger_rows(queryset: QuerySet[AccessRightLedgerEntry], *, cutoff: dt.datetime) -> int:
    """The ledger is append-only; its trigger (audit migration 0007) lets a DELETE through only while this
    transaction names the cut-off, and only for rows recorded and effective before it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jukinet.ledger_purge_cutoff', %s, true)", [cutoff.isoformat()])
        deleted = _delete(queryset)
        # Cleared after a successful delete only: a failed one aborts the transaction, and the setting (local
        # to the transaction) goes with it; clearing it then would raise and hide the real error.
        cursor.execute("SELECT set_config('jukinet.ledger_purge_cutoff', '', true)")
        return deleted


@transaction.atomic
def registers_purge(*, as_of: dt.date, dry_run: bool = False) -> dict[str, int]:
    """Remove every register row past RETENTION_YEARS at `as_of` (a date, Asia/Tokyo); returns the rows
    removed (or, in a dry run, that would be removed) per table. Idempotent: a second run removes nothing."""
    cutoff = retention_cutoff(as_of)
    ledger_ids = expired_ledger_entry_ids(cutoff=cutoff)
    # Order matters: each PROTECT reference goes before the row it points at. A "kept" test reads dates
    # only, so deleting an earlier step does not change what a later step selects (dry run = real run).
    steps: list[tuple[type[Model], QuerySet]] = [
        (UsageApproval, expired_usage_approvals(cutoff=cutoff)),
        (Alert, expired_alerts(cutoff=cutoff)),
        (ApiToken, expired_api_tokens(cutoff=cutoff)),
        (MediaOutput, expired_media_outputs(cutoff=cutoff)),
        (BulkRequest, expired_bulk_requests(cutoff=cutoff).defer("result_file")),  # no need to load the files
        (BulkApproval, expired_bulk_approvals(cutoff=cutoff)),
        (Medium, expired_media(cutoff=cutoff)),
        (AccessRightLedgerEntry, AccessRightLedgerEntry.objects.filter(pk__in=ledger_ids)),
        (AccessRightApplication, expired_access_right_applications(cutoff=cutoff, ledger_ids=ledger_ids)),
    ]
    if dry_run:
        counts = {_table(model): queryset.count() for model, queryset in steps}
    else:
        counts = {}
        for model, queryset in steps:
            if model is AccessRightLedgerEntry:
                counts[_table(model)] = _delete_ledger_rows(queryset, cutoff=cutoff)
            else:
                counts[_table(model)] = _delete(queryset)
    _log_registers_purge(as_of=as_of, cutoff=cutoff, dry_run=dry_run, counts=counts)
    return counts


def _log_registers_purge(*, as_of: dt.date, cutoff: dt.datetime, dry_run: bool, counts: dict[str, int]) -> None:
    cutoff_purge_log(
        purge_kind="registers", as_of=as_of, cutoff=cutoff, years=int(settings.RETENTION_YEARS), dry_run=dry_run,
        counts=counts, result_count=sum(counts.values()),
    )  # fmt: skip
