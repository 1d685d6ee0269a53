import datetime as dt
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jukinet import clock
from jukinet.services import SettingError, setting_value_set


class Command(BaseCommand):
    help = "Schedule a date-effective setting (domain.md §16.1), logged under the named administrator."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("name")
        parser.add_argument("value", help="JSON value, e.g. 50, true, '\"warn\"'")
        parser.add_argument("--from", dest="effective_from", help="YYYY-MM-DD (default: today)")
        parser.add_argument("--operator", required=True, help="username of an administrator")

    def handle(self, *args: object, **options: str) -> None:
        operator = get_user_model().objects.filter(username=options["operator"]).first()
        if operator is None or "administrator" not in operator.roles:
            raise CommandError("--operator must name an administrator")
        try:
            value = json.loads(options["value"])
            effective_from = (
                dt.date.fromisoformat(options["effective_from"]) if options["effective_from"] else clock.today()
            )
            row = setting_value_set(operator=operator, name=options["name"], value=value, effective_from=effective_from)
        except (ValueError, SettingError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{row.name} = {json.dumps(row.value, ensure_ascii=False)} ({row.effective_from} から)")
