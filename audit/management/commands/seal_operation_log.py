"""`manage.py seal_operation_log [--every S]`: chain the lookup API's pending log entries now (or every S
seconds until stopped). Beat does this every OPLOG_SEAL_SECONDS; the command is for operators and the bench."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.services import operation_log_seal_all


class Command(BaseCommand):
    help = "連鎖待ちの操作履歴をハッシュチェーンに連結します（--every 秒ごとに繰り返し）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every S seconds until stopped")

    def handle(self, *args: Any, every: float, **options: Any) -> None:
        if every < 0:
            raise ValueError("--every must be ≥ 0")
        while True:
            total = operation_log_seal_all()
            if not every:
                self.stdout.write(f"連結: {total} 件")
                return
            time.sleep(every)
