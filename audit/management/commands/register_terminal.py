"""`manage.py register_terminal NAME --kind representative --office CODE --capability search ...`

Registers a terminal and prints its key once (only its SHA-256 is stored). In production the key is the
client certificate's SHA-256 fingerprint, passed with --key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import Office, Terminal
from audit.services import terminal_register


class Command(BaseCommand):
    help = "端末を登録し、端末キーを一度だけ表示します。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", choices=Terminal.Kind.values, required=True)
        parser.add_argument("--office", required=True, help="office code")
        parser.add_argument("--capability", action="append", choices=Terminal.Capability.values, default=[])
        parser.add_argument("--key", help="certificate fingerprint (lower-case hex) instead of a generated key")

    def handle(self, *args: Any, name: str, kind: str, office: str, capability: list[str], **options: Any) -> None:
        found = Office.objects.filter(code=office).first()
        if found is None:
            raise CommandError(f"unknown office {office}")
        terminal, key = terminal_register(
            name=name,
            kind=kind,
            office=found,
            capabilities=capability,
            registered_by="system:manage",
            key=options.get("key"),
        )
        self.stdout.write(f"registered terminal {terminal.pk} ({terminal.name}); key: {key}")
