from django.core.management.base import BaseCommand

from provision.catalogue import affair_catalogue_load


class Command(BaseCommand):
    help = "Load the recipient offices and the affair catalogue from fixtures/affairs.json (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        counts = affair_catalogue_load()
        self.stdout.write(f"affair catalogue: {counts['offices']} recipients, {counts['affairs']} entries")
