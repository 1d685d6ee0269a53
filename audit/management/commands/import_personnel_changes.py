"""`manage.py import_personnel_changes FILE`: load transfers and retirements.

CSV columns: employee_id, effective_date, kind (transfer | retirement).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.rights import RightsError, personnel_changes_import, rights_due_to_end
from jukinet import clock


class Command(BaseCommand):
    help = "人事異動（転任・退職）を取り込み、異動で終了する権限の一覧を表示します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            counts = personnel_changes_import(path=file)
        except (RightsError, KeyError, ValueError) as exc:
            raise CommandError(f"取込みに失敗しました: {exc}") from exc
        self.stdout.write(f"imported {counts['created']} changes ({counts['skipped']} already known)")
        for change, operator, roles in rights_due_to_end(as_of=clock.today(), days=3650):
            end: dt.date = change.effective_date
            self.stdout.write(f"  due {end} {change.kind}: operator {operator.pk} roles {','.join(roles)}")
