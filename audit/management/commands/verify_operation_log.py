"""`manage.py verify_operation_log`: recompute the chain and print OK or the first broken sequence."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from audit.models import OperationKind
from audit.services import operation_log_record, operation_log_seal_all
from audit.verify import operation_log_verify


class Command(BaseCommand):
    help = "操作履歴のハッシュチェーンを検証し、最初に壊れている連番を表示します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=int, help="first sequence (needs a checkpoint before it)")
        parser.add_argument("--to", dest="end", type=int, help="last sequence")

    def handle(self, *args: Any, start: int | None, end: int | None, **options: Any) -> None:
        operation_log_seal_all()  # pending (unchained) entries are chained first (docs/operation-log.md)
        result = operation_log_verify(start=start, end=end)
        with transaction.atomic():
            operation_log_record(
                actor="system:verify",
                kind=OperationKind.LOG_VERIFIED,
                outcome="ok" if result.ok else "failed",
                conditions={"from": start, "to": end, "broken_sequence": result.broken_sequence},
                result_count=result.checked,
            )
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
