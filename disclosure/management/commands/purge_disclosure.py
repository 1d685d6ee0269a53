"""manage.py purge_disclosure [--as-of DATE] [--dry-run]: closed cases past RETENTION_YEARS (domain.md §13)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jukinet import clock


class Command(BaseCommand):
    help = "保存期間（完了から7年）を経過した開示請求等の案件と保存文書を削除します"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="基準日 (YYYY-MM-DD)")
        parser.add_argument("--dry-run", action="store_true", help="削除せず件数だけを表示します")

    def handle(self, *args: Any, **options: Any) -> None:
        from disclosure.services import disclosure_purge_expired

        counts = disclosure_purge_expired(as_of=options["as_of"] or clock.today(), dry_run=options["dry_run"])
        prefix = "dry-run: " if options["dry_run"] else ""
        self.stdout.write(prefix + " ".join(f"{key}={value}" for key, value in counts.items()))
