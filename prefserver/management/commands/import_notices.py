"""manage.py import_notices FILE --municipality CODE --operator ID: NDJSON through the receipt steps (§6.7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jukinet.models import Municipality
from prefserver.intake.receive import notices_receive, receipt_as_json
from prefserver.models import IntakeBatch


class Command(BaseCommand):
    help = "市町村CSの更新通知（NDJSON）を受信処理と同じ手順で取り込みます。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--municipality", required=True, help="送信元の市町村コード")
        parser.add_argument("--operator", required=True, help="取込を行う操作者ID（操作履歴の実行者）")

    def handle(self, *args: Any, file: Path, municipality: str, operator: str, **options: Any) -> None:
        # A code outside this prefecture's master stops the import before the file is read.
        if not Municipality.objects.filter(code=municipality, prefecture_id=settings.PREFECTURE_CODE,
                                           is_sender=True).exists():  # fmt: skip
            raise CommandError("市町村コードがこの都道府県の市町村ではありません。")
        counts: dict[str, int] = {}
        chunk: list[object] = []
        with file.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    chunk.append(json.loads(line))
                except ValueError:
                    chunk.append(None)  # not JSON: answered E001 like a malformed element
                if len(chunk) >= settings.NOTICE_BATCH_MAX:
                    self._receive(chunk, municipality, operator, counts)
                    chunk = []
        if chunk:
            self._receive(chunk, municipality, operator, counts)
        self.stderr.write(" ".join(f"{key}={value}" for key, value in sorted(counts.items())))

    def _receive(self, chunk: list[object], municipality: str, operator: str, counts: dict[str, int]) -> None:
        receipts = notices_receive(
            municipality_code=municipality, elements=chunk, actor=f"operator:{operator}", kind=IntakeBatch.Kind.IMPORT
        )
        for receipt in receipts:
            self.stdout.write(json.dumps(receipt_as_json(receipt), ensure_ascii=False))
            key = receipt.code or receipt.status
            counts[key] = counts.get(key, 0) + 1
