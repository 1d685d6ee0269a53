"""manage.py sweep_holds [--as-of DATETIME]: time out held notices (domain.md §6.3, §13 'Time')."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jukinet import clock
from prefserver.intake.process import intake_hold_sweep


def parse_as_of(text: str | None) -> dt.datetime:
    if not text:
        return clock.now()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError("--as-of は ISO 8601 の日時で指定してください。") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.TOKYO)


class Command(BaseCommand):
    help = "保留期限を過ぎた通知をエラー（E104/E105/E109/E202）にします。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", dest="as_of", help="基準日時（ISO 8601、省略時は現在）")

    def handle(self, *args: Any, as_of: str | None, **options: Any) -> None:
        count = intake_hold_sweep(as_of=parse_as_of(as_of))
        self.stdout.write(f"timed_out_or_decided={count}")
