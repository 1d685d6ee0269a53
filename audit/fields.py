"""A JSON field stored as PostgreSQL `json`, which keeps the inserted text byte for byte.

The operation log writes its `targets` and `conditions` as canonical JSON (RFC 8785 form, audit.oplog), so
the verifier rebuilds an entry's canonical bytes by concatenating column texts, without parsing JSON.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class CanonicalJSONField(models.JSONField):
    def db_type(self, connection: Any) -> str:
        return "json"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # psycopg parses `json` itself (Django only turns jsonb parsing off); parse only what arrives as text.
        if value is None or not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)
