from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "操作者・操作履歴・監査"

    def ready(self) -> None:
        from audit import schema  # noqa: F401 - registers the token's OpenAPI description
