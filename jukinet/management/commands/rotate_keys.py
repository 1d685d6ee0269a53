"""`manage.py rotate_keys [--index] [--batch N]`: re-encrypt 個人番号 under the active key (jukinet.key_rotation)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jukinet.key_rotation import blind_indexes_recompute, individual_numbers_reencrypt, key_usage


class Command(BaseCommand):
    help = "個人番号を現在の鍵で再暗号化します（中断しても再実行で続きから）。--index は照合値を再計算します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--index", action="store_true", help="照合値（ブラインドインデックス）も再計算する")
        parser.add_argument("--batch", type=int, default=1000, help="1回のコミットで処理する行数")

    def handle(self, *args: Any, **options: Any) -> None:
        batch: int = options["batch"]
        counts = individual_numbers_reencrypt(batch=batch)
        self.stdout.write(f"re-encrypted {counts.rows_updated} versions in {counts.chunks} chunks")
        from prefserver.intake.keeping import notice_key_usage, notice_numbers_reencrypt

        notices = notice_numbers_reencrypt(batch=batch)
        self.stdout.write(f"re-encrypted {notices.rows_updated} notices in {notices.chunks} chunks")
        if options["index"]:
            index = blind_indexes_recompute(batch=batch)
            self.stdout.write(f"blind index: examined {index.rows_examined}, updated {index.rows_updated}")
        for key_id, count in sorted(key_usage().items()):
            self.stdout.write(f"key id {key_id}: {count} versions")
        for key_id, count in sorted(notice_key_usage().items()):
            self.stdout.write(f"key id {key_id}: {count} notices")
