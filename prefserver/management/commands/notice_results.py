"""manage.py notice_results --municipality CODE [--after N]: the results feed as NDJSON (§6.7)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from prefserver.intake.results import notice_results_feed


class Command(BaseCommand):
    help = "市町村に通知の処理結果を出力します（NDJSON）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipality", required=True)
        parser.add_argument("--after", type=int, default=0)

    def handle(self, *args: Any, municipality: str, after: int, **options: Any) -> None:
        while True:
            page = notice_results_feed(municipality_code=municipality, after=after)
            for row in page["results"]:
                self.stdout.write(json.dumps(row, ensure_ascii=False))
            if not page["results"]:
                break
            after = page["next"]
