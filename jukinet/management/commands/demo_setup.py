"""Demo data for `make run` (synthetic only): demo operators and their logins. Idempotent.

Later parts extend jukinet.demo with the population, two-factor devices and usage approvals.
"""

from django.core.management.base import BaseCommand

from jukinet.demo import demo_setup


class Command(BaseCommand):
    help = "Create the demo dataset and print the demo logins (synthetic data only)."

    def handle(self, *args: object, **options: object) -> None:
        for line in demo_setup():
            self.stdout.write(line)
