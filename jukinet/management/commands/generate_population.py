"""`manage.py generate_population --prefecture 35 --residents N [--history-per-person K] [--seed S]`.

Synthetic people for development, demos and benchmarks (jukinet.population), loaded with COPY.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jukinet.population import population_load


class Command(BaseCommand):
    help = "合成の住民データ（本人確認情報・附票本人確認情報）を生成し、COPY で投入します（シード固定で再現可能）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prefecture", required=True, help="都道府県コード（例: 35）")
        parser.add_argument("--residents", type=int, required=True, help="本人確認情報の対象者数")
        parser.add_argument("--history-per-person", type=int, default=1, help="1人あたりの平均変更履歴数")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--workers", type=int, default=0, help="生成プロセス数（0: このプロセスのみ）")
        parser.add_argument("--chunk-size", type=int, default=5000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["residents"] < 1 or options["history_per_person"] < 0:
            raise CommandError("--residents must be ≥ 1 and --history-per-person ≥ 0")
        result = population_load(
            prefecture_code=options["prefecture"],
            residents=options["residents"],
            history_per_person=options["history_per_person"],
            seed=options["seed"],
            workers=options["workers"],
            chunk_size=options["chunk_size"],
            progress=lambda done, total: self.stderr.write(f"\r{done}/{total} chunks", ending=""),
        )
        self.stderr.write("")
        for table, count in result.rows.items():
            self.stdout.write(f"{table}: {count} rows")
        self.stdout.write(f"loaded in {result.seconds:.1f} s")
