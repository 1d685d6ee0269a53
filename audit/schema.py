"""OpenAPI description of the operator token (drf-spectacular), loaded by AuditConfig.ready()."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OperatorTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "audit.authentication.OperatorTokenAuthentication"
    name = "operatorToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "POST /api/v1/auth/token で発行。端末認証情報（X-Terminal-Key）と同じ端末からのみ有効。",
        }
