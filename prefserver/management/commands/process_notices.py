"""manage.py process_notices: decide every pending notice now, in this process (ops and benchmarks)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from prefserver.intake.process import BATCH_SIZE, intake_process_pending


class Command(BaseCommand):
    help = "未処理の通知をこのプロセスで処理します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        self.stdout.write(f"batches={intake_process_pending(limit=batch_size)}")
