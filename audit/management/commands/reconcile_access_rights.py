"""`manage.py reconcile_access_rights`: compare accounts and the ledger and list every difference."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.rights import access_right_reconciliation_run


class Command(BaseCommand):
    help = "操作者の権限とアクセス権限管理簿を突合し、差異を表示します。"

    def handle(self, *args: Any, **options: Any) -> None:
        report = access_right_reconciliation_run()
        for operator, role in report.missing_from_ledger:
            self.stdout.write(f"missing from ledger: operator {operator.pk} {role}")
        for operator, role in report.ledger_without_account:
            self.stdout.write(f"ledger without account: operator {operator.pk} {role}")
        self.stdout.write(f"{report.differences} differences")
