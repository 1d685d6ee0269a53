"""Loading the affair catalogue (domain.md §9.1) from fixtures/affairs.json: recipients and affairs. Idempotent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.models import Affair, Office, OperationKind
from audit.services import operation_log_record

AFFAIRS_JSON = Path(settings.BASE_DIR) / "fixtures" / "affairs.json"


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@transaction.atomic
def affair_catalogue_load(path: Path = AFFAIRS_JSON) -> dict[str, int]:
    """Create or update the recipient offices and the catalogue entries keyed by (code, effective_from)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    offices = {}
    for row in data["offices"]:
        office, _ = Office.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "kind": row["kind"], "is_active": True}
        )
        offices[office.code] = office
    for row in data["affairs"]:
        affair, _ = Affair.objects.update_or_create(
            code=row["code"],
            effective_from=dt.date.fromisoformat(row["effective_from"]),
            defaults={
                "name": row["name"],
                "category": row["category"],
                "legal_reference": row["legal_reference"],
                "files": row["files"],
                "individual_number_permitted": row["individual_number_permitted"],
                "national_query": row["national_query"],
                "release_kind": row["release_kind"],
                "effective_to": _date(row["effective_to"]),
            },
        )
        affair.recipients.set([offices[code] for code in row["recipients"]])
    counts = {"offices": len(data["offices"]), "affairs": len(data["affairs"])}
    operation_log_record(actor="system:catalogue", kind=OperationKind.AFFAIR_CATALOGUE_CHANGED, conditions=counts)
    return counts
