import datetime as dt

from django.core.management.base import BaseCommand, CommandParser

from jukinet import clock
from provision.services import provision_records_purge


class Command(BaseCommand):
    help = "Drop monthly partitions of provision records past RETENTION_YEARS and create the coming months."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        as_of = options["as_of"] or clock.today()
        result = provision_records_purge(as_of=as_of, dry_run=bool(options["dry_run"]))  # type: ignore[arg-type]
        self.stdout.write(
            f"dropped: {', '.join(result['dropped']) or '-'}; created: {', '.join(result['created']) or '-'}"
        )
