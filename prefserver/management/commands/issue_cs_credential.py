"""manage.py issue_cs_credential CODE [--cert-sha256 HEX]: issue a municipality's CS credential (§6.7)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from prefserver.intake.receive import credential_issue


class Command(BaseCommand):
    help = "市町村CSの認証情報を発行します（鍵は一度だけ表示されます）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("municipality")
        parser.add_argument("--cert-sha256", dest="cert_sha256")

    def handle(self, *args: Any, municipality: str, cert_sha256: str | None, **options: Any) -> None:
        self.stdout.write(credential_issue(municipality_code=municipality, cert_sha256=cert_sha256))
