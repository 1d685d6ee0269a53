"""Access-right lifecycle and usage approvals (domain.md §10.3, §10.4): atomic, logged services.

The account's rights are `Operator.roles`; the ledger (管理簿) is the append-only register of every grant,
change, suspension and revocation. Both change together here; the weekly reconciliation reports drift.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from audit.models import (
    AccessRightApplication,
    AccessRightLedgerEntry,
    Affair,
    Office,
    OperationKind,
    Operator,
    PersonnelChange,
    Role,
    Terminal,
    TrainingRecord,
    UsageApproval,
)
from audit.services import operation_log_record
from jukinet import clock
from jukinet.config import setting_value

PERSONAL_DATA_ROLES = {Role.CLERK, Role.BODY_OPERATOR, Role.DEPARTMENT_OPERATOR, Role.AUDITOR}


class RightsError(Exception):
    """A refused access-right or usage-approval step, with a Japanese message."""


# --- Training ----------------------------------------------------------------------------


@transaction.atomic
def training_record(
    *, operator: Operator, course: str, completed_on: dt.date, recorded_by: Operator, kind: str = "first"
) -> TrainingRecord:
    record = TrainingRecord.objects.create(
        operator=operator, course=course, completed_on=completed_on, kind=kind, recorded_by=recorded_by
    )
    operation_log_record(actor=recorded_by, kind=OperationKind.TRAINING_RECORDED, targets=[operator, record])
    return record


# --- Application → training check → approval → ledger ------------------------------------


@transaction.atomic
def access_right_apply(
    *,
    operator: Operator,
    office: Office,
    role: str,
    applied_by: Operator,
    files: Iterable[str] = (),
    affairs: Iterable[Affair] = (),
    terminals: Iterable[Terminal] = (),
) -> AccessRightApplication:
    _check_contractor_rule(operator, role)
    # An office applies for its own people: a security officer only for their office, an administrator for any.
    if not applied_by.has_role(Role.ADMINISTRATOR) and not (
        applied_by.has_role(Role.SECURITY_OFFICER) and applied_by.office_id == office.pk
    ):
        raise RightsError("この所属の権限を申請する権限がありません。")
    application = AccessRightApplication.objects.create(
        operator=operator,
        office=office,
        role=role,
        files=list(files),
        applied_by=applied_by,
        applied_at=clock.now(),
    )
    application.affairs.set(list(affairs))
    application.terminals.set(list(terminals))
    operation_log_record(
        actor=applied_by,
        kind=OperationKind.ACCESS_RIGHT_APPLIED,
        targets=[operator, application],
        conditions={"role": role},
    )
    return application


def _check_contractor_rule(operator: Operator, role: str) -> None:
    # The contractor never holds a personal-data role, enforced here as well as in audit.access.
    roles = set(operator.roles)
    if (role in PERSONAL_DATA_ROLES and Role.CONTRACTOR in roles) or (
        role == Role.CONTRACTOR and roles & PERSONAL_DATA_ROLES
    ):
        raise RightsError("運用委託事業者に個人情報を扱う権限は付与できません。")


def _training_check(operator: Operator, on: dt.date) -> str:
    """'' when trained and current; 'overdue' when the yearly refresher is late; raises when untrained."""
    latest = TrainingRecord.objects.filter(operator=operator, completed_on__lte=on).order_by("-completed_on").first()
    if latest is None:
        raise RightsError("研修の受講記録がないため承認できません。")
    if latest.completed_on < on - dt.timedelta(days=365):
        if setting_value("TRAINING_OVERDUE_ACTION", on=on) == "suspend":
            raise RightsError("年次研修が未受講のため承認できません。")
        return "overdue"
    return ""


@transaction.atomic
def access_right_approve(*, application: AccessRightApplication, approver: Operator) -> AccessRightLedgerEntry:
    """Approval by a different person holding `administrator`, after the training check (§10.3 steps 2-4)."""
    application = AccessRightApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != AccessRightApplication.Status.APPLIED:
        raise RightsError("申請中の申請のみ承認できます。")
    if not approver.has_role(Role.ADMINISTRATOR) or approver.has_role(Role.CONTRACTOR):
        raise RightsError("アクセス権限の承認は管理者のみ行えます。")
    if approver.pk in (application.operator_id, application.applied_by_id):
        raise RightsError("自分の申請、または自分が対象の申請は承認できません。")
    today = clock.today()
    operator = Operator.objects.select_for_update().get(pk=application.operator_id)
    _check_contractor_rule(operator, application.role)
    training = _training_check(operator, today)
    application.status = AccessRightApplication.Status.APPROVED
    application.decided_by, application.decided_at = approver, clock.now()
    application.note = "年次研修未受講（警告）" if training else ""
    application.save(update_fields=["status", "decided_by", "decided_at", "note"])
    already_held = application.role in operator.roles
    if not already_held:
        operator.roles = [*operator.roles, application.role]
    operator.office = operator.office or application.office
    operator.save(update_fields=["roles", "office"])
    entry = AccessRightLedgerEntry.objects.create(
        operator=operator,
        office=application.office,
        role=application.role,
        # A new application for a role already held changes its files, affairs or terminals.
        action=AccessRightLedgerEntry.Action.CHANGE if already_held else AccessRightLedgerEntry.Action.GRANT,
        files=application.files,
        affair_codes=list(application.affairs.values_list("code", flat=True)),
        terminal_names=list(application.terminals.values_list("name", flat=True)),
        application=application,
        effective_on=today,
        reason=application.note,
        recorded_by=f"operator:{approver.pk}",
        recorded_at=clock.now(),
    )
    operation_log_record(
        actor=approver,
        kind=OperationKind.ACCESS_RIGHT_CHANGED if already_held else OperationKind.ACCESS_RIGHT_GRANTED,
        targets=[operator, application, entry],
        conditions={"role": application.role, "training": training or "ok"},
    )
    return entry


@transaction.atomic
def access_right_end(
    *,
    operator: Operator,
    role: str,
    by: Operator | str,
    reason: str,
    suspend: bool = False,
    overdue: bool = False,
    effective_on: dt.date | None = None,
) -> AccessRightLedgerEntry:
    """Revoke (or suspend) one role: the account loses it and the ledger gains a row."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    operator.roles = [r for r in operator.roles if r != role]
    operator.save(update_fields=["roles"])
    action = AccessRightLedgerEntry.Action.SUSPEND if suspend else AccessRightLedgerEntry.Action.REVOKE
    office = operator.office
    if office is None:
        raise RightsError("所属のない操作者の権限は管理簿に記録できません。")
    entry = AccessRightLedgerEntry.objects.create(
        operator=operator,
        office=office,
        role=role,
        action=action,
        effective_on=effective_on or clock.today(),
        overdue=overdue,
        reason=reason,
        recorded_by=by if isinstance(by, str) else f"operator:{by.pk}",
        recorded_at=clock.now(),
    )
    kind = OperationKind.ACCESS_RIGHT_SUSPENDED if suspend else OperationKind.ACCESS_RIGHT_REVOKED
    operation_log_record(actor=by, kind=kind, targets=[operator, entry], conditions={"role": role, "overdue": overdue})
    return entry


# --- Personnel changes and the revocation sweep (§10.3 step 5) ---------------------------


@transaction.atomic
def personnel_changes_import(*, path: Path, actor: Operator | str = "system:personnel") -> dict[str, int]:
    """Load `employee_id, effective_date, kind` rows (kind: transfer | retirement); repeats are ignored."""
    created = skipped = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kind = row["kind"].strip()
            if kind not in PersonnelChange.Kind.values:
                raise RightsError(f"区分が正しくありません（{kind}）。")
            _, made = PersonnelChange.objects.get_or_create(
                employee_id=row["employee_id"].strip(),
                effective_date=dt.date.fromisoformat(row["effective_date"].strip()),
                kind=kind,
                defaults={"imported_at": clock.now()},
            )
            created, skipped = created + made, skipped + (not made)
    counts = {"created": created, "skipped": skipped}
    operation_log_record(actor=actor, kind=OperationKind.PERSONNEL_CHANGES_IMPORTED, conditions=counts)
    return counts


def rights_due_to_end(*, as_of: dt.date, days: int = 31) -> list[tuple[PersonnelChange, Operator, list[str]]]:
    """Report: open rights of people whose transfer or retirement takes effect within `days`."""
    lead = int(setting_value("REVOCATION_LEAD_DAYS", on=as_of))
    changes = PersonnelChange.objects.filter(
        swept_at__isnull=True, effective_date__lte=as_of + dt.timedelta(days=days + lead)
    )
    rows = []
    for change in changes:
        for operator in Operator.objects.filter(employee_id=change.employee_id).exclude(roles=[]):
            rows.append((change, operator, list(operator.roles)))
    return rows


@transaction.atomic
def revocation_sweep(*, as_of: dt.date) -> dict[str, int]:
    """At 00:00 of the effective date, suspend every right still open and flag it overdue."""
    lead = int(setting_value("REVOCATION_LEAD_DAYS", on=as_of))
    due = PersonnelChange.objects.select_for_update().filter(
        swept_at__isnull=True, effective_date__lte=as_of + dt.timedelta(days=lead)
    )
    people = suspended = 0
    for change in due:
        for operator in Operator.objects.filter(employee_id=change.employee_id):
            people += 1
            for role in list(operator.roles):
                access_right_end(
                    operator=operator,
                    role=role,
                    by="system:revocation",
                    reason=f"{change.get_kind_display()}（{change.effective_date}）",
                    suspend=True,
                    overdue=True,
                    effective_on=change.effective_date,
                )
                suspended += 1
        change.swept_at = clock.now()
        change.save(update_fields=["swept_at"])
    counts = {"people": people, "suspended": suspended}
    operation_log_record(
        actor="system:revocation",
        kind=OperationKind.REVOCATION_SWEEP,
        conditions={"as_of": as_of.isoformat(), **counts},
    )
    return counts


# --- Reconciliation of accounts and ledger (§10.3 step 6) --------------------------------


@dataclass
class ReconciliationReport:
    missing_from_ledger: list[tuple[Operator, str]] = field(default_factory=list)
    ledger_without_account: list[tuple[Operator, str]] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return len(self.missing_from_ledger) + len(self.ledger_without_account)


def ledger_open_rights() -> set[tuple[int, str]]:
    """(operator id, role) whose latest ledger row is a grant or change."""
    latest: dict[tuple[int, str], str] = {}
    for operator_id, role, action in AccessRightLedgerEntry.objects.order_by("recorded_at", "id").values_list(
        "operator_id", "role", "action"
    ):
        latest[(operator_id, role)] = action
    open_actions = {AccessRightLedgerEntry.Action.GRANT, AccessRightLedgerEntry.Action.CHANGE}
    return {key for key, action in latest.items() if action in open_actions}


def access_right_reconciliation_report() -> ReconciliationReport:
    ledger = ledger_open_rights()
    accounts = {(o.pk, r) for o in Operator.objects.filter(is_active=True) for r in o.roles}
    operators = {o.pk: o for o in Operator.objects.filter(pk__in={k[0] for k in ledger | accounts})}
    report = ReconciliationReport()
    report.missing_from_ledger = [(operators[pk], role) for pk, role in sorted(accounts - ledger)]
    report.ledger_without_account = [(operators[pk], role) for pk, role in sorted(ledger - accounts)]
    return report


@transaction.atomic
def access_right_reconciliation_run() -> ReconciliationReport:
    """The weekly job: compare and log the counts (the report page shows the rows)."""
    report = access_right_reconciliation_report()
    operation_log_record(
        actor="system:reconciliation",
        kind=OperationKind.ACCESS_RIGHT_RECONCILIATION,
        outcome="ok" if report.differences == 0 else "failed",
        conditions={
            "missing_from_ledger": len(report.missing_from_ledger),
            "ledger_without_account": len(report.ledger_without_account),
        },
        result_count=report.differences,
    )
    return report


# --- Usage approvals (使用伺い, §10.4) -------------------------------------------------------


@transaction.atomic
def usage_approval_request(
    *, operator: Operator, terminal: Terminal, purpose: str, affairs: Iterable[Affair] = ()
) -> UsageApproval:
    if operator.office is None:
        raise RightsError("所属が登録されていません。")
    approval = UsageApproval.objects.create(
        operator=operator,
        office=operator.office,
        terminal=terminal,
        purpose=purpose,
        requested_at=clock.now(),
    )
    approval.affairs.set(list(affairs))
    operation_log_record(
        actor=operator, kind=OperationKind.USAGE_APPROVAL_REQUESTED, terminal=terminal, targets=[approval]
    )
    return approval


def may_approve_usage(approver: Operator, approval: UsageApproval) -> bool:
    """The office's security officer, or an administrator; never the requester (an officer's own use needs
    another officer of the office or an administrator)."""
    if approver.pk == approval.operator_id or approver.has_role(Role.CONTRACTOR):
        return False
    if approver.has_role(Role.ADMINISTRATOR):
        return True
    return approver.has_role(Role.SECURITY_OFFICER) and approver.office_id == approval.office_id


@transaction.atomic
def usage_approval_approve(*, approval: UsageApproval, approver: Operator, devices_checked: bool) -> UsageApproval:
    """Valid from now until 24:00 Asia/Tokyo of today (domain.md §10.4)."""
    approval = UsageApproval.objects.select_for_update().get(pk=approval.pk)
    if approval.status != UsageApproval.Status.REQUESTED:
        raise RightsError("申請中の使用伺いのみ承認できます。")
    if not may_approve_usage(approver, approval):
        raise RightsError("この使用伺いを承認する権限がありません（本人の使用伺いは他の責任者が承認します）。")
    if not devices_checked:
        raise RightsError("カメラ・携帯電話・USBメモリの持込みがないことの確認が必要です。")
    now = clock.now()
    approval.status = UsageApproval.Status.APPROVED
    approval.devices_checked = True
    approval.approved_by, approval.approved_at = approver, now
    approval.valid_until = clock.end_of_day(clock.local_date(now))
    approval.save(update_fields=["status", "devices_checked", "approved_by", "approved_at", "valid_until"])
    operation_log_record(
        actor=approver,
        kind=OperationKind.USAGE_APPROVED,
        terminal=approval.terminal,
        targets=[approval.operator, approval],
    )
    return approval


@transaction.atomic
def usage_approval_paper_record(
    *,
    operator: Operator,
    terminal: Terminal,
    paper_reference: str,
    recorded_by: Operator,
    purpose: str,
    affairs: Iterable[Affair] = (),
) -> UsageApproval:
    """USAGE_APPROVAL_MODE "paper": the officer enters the 使用伺い簿 reference instead of approving on screen
    (seeds/001_f00ff35fbf01a749.txt:423). Same approvers and same validity (today, until 24:00)."""
    if setting_value("USAGE_APPROVAL_MODE") != "paper":
        raise RightsError("紙の使用伺い簿による記録は設定で許可されていません。")
    if not paper_reference.strip():
        raise RightsError("使用伺い簿の記載を入力してください。")
    approval = usage_approval_request(operator=operator, terminal=terminal, purpose=purpose, affairs=affairs)
    approval.paper_reference = paper_reference.strip()
    approval.save(update_fields=["paper_reference"])
    return usage_approval_approve(approval=approval, approver=recorded_by, devices_checked=True)
