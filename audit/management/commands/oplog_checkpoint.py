"""`manage.py oplog_checkpoint`: sign due checkpoints now (the beat job's work), or one on the head."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.models import OperationLogEntry
from audit.services import operation_log_checkpoint_run, operation_log_checkpoint_sign


class Command(BaseCommand):
    help = "操作履歴のチェックポイントに署名します（日次・月末）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--head", action="store_true", help="sign the current head now (manual)")

    def handle(self, *args: Any, head: bool, **options: Any) -> None:
        if head:
            sequence = OperationLogEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first()
            signed = [operation_log_checkpoint_sign(sequence=sequence, reason="manual")] if sequence else []
        else:
            signed = operation_log_checkpoint_run()
        for checkpoint in signed:
            self.stdout.write(f"signed #{checkpoint.sequence} ({checkpoint.reason})")
        if not signed:
            self.stdout.write("nothing due")
