"""`manage.py revocation_sweep [--as-of DATE]`: suspend rights still open at a personnel change (§10.3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.rights import revocation_sweep
from jukinet import clock


class Command(BaseCommand):
    help = "人事異動の発令日に、残っているアクセス権限を停止し期限超過として記録します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)

    def handle(self, *args: Any, as_of: dt.date | None, **options: Any) -> None:
        counts = revocation_sweep(as_of=as_of or clock.today())
        self.stdout.write(f"suspended {counts['suspended']} rights of {counts['people']} people")
