"""`manage.py purge_expired [--dry-run] [--as-of DATE]`: the retention purges on demand (domain.md §13).

Runs the daily history purge (expired version partitions of both files, with their person and code-history
rows), the hourly temporary individual-number purge and the monthly registers purge (jukinet.registers: usage
approvals, alerts, bulk and media ledgers, access-right ledger, expired API tokens), as of DATE (Asia/Tokyo;
default today).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from furyo.temporary_numbers import temporary_numbers_purge
from jukinet import clock
from jukinet.registers import registers_purge
from jukinet.retention import purge_expired


class Command(BaseCommand):
    help = (
        "保存期間を経過した履歴（パーティション単位）、一時保存個人番号、使用伺い・警告・一括提供・媒体・"
        "アクセス権限の各記録を消去します。--dry-run は消去対象の表示のみ。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="消去せず、消去対象を表示する")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="基準日 (YYYY-MM-DD)")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of: dt.date = options["as_of"] or clock.today()
        dry_run: bool = options["dry_run"]
        run = purge_expired(as_of=as_of, dry_run=dry_run)
        moment = clock.now() if options["as_of"] is None else clock.start_of_day(as_of)
        temporary = temporary_numbers_purge(as_of=moment, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"history purge run #{run.pk} as of {as_of.isoformat()} ({'dry run' if dry_run else 'done'})")
        for name in run.partitions_dropped:
            self.stdout.write(f"  partition {name}: {verb}")
        for table, count in run.counts.items():
            self.stdout.write(f"  {table}: {verb} {count} rows")
        for name in run.partitions_created:
            self.stdout.write(f"  partition {name}: {'would create' if dry_run else 'created'}")
        self.stdout.write(
            f"temporary individual numbers: {verb} {temporary.numbers_deleted} rows, "
            f"{temporary.day_keys_deleted} day keys"
        )
        registers = registers_purge(as_of=as_of, dry_run=dry_run)
        self.stdout.write(f"registers purge as of {as_of.isoformat()} ({'dry run' if dry_run else 'done'})")
        for table, count in registers.items():
            self.stdout.write(f"  {table}: {verb} {count} rows")
