"""`manage.py purge_operation_log --as-of DATE [--dry-run]`: drop months past RETENTION_YEARS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.services import operation_log_purge
from jukinet import clock


class Command(BaseCommand):
    help = "保存期間を過ぎた操作履歴を月単位で削除します（チェックポイントを残します）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, as_of: dt.date | None, dry_run: bool, **options: Any) -> None:
        report = operation_log_purge(as_of=as_of or clock.today(), dry_run=dry_run)
        prefix = "would drop" if dry_run else "dropped"
        self.stdout.write(f"{prefix} {len(report['partitions'])} partitions, {report['rows']} entries")
        for name in report["partitions"]:
            self.stdout.write(f"  {name}")
