from django.core.management.base import BaseCommand

from jukinet.reference import reference_data_load


class Command(BaseCommand):
    help = "Load prefectures, municipalities, 異動事由 and result codes from fixtures/ (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        counts = reference_data_load()
        self.stdout.write(
            f"reference data: {counts['prefectures']} prefectures, {counts['municipalities']} municipalities"
        )
