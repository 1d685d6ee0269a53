from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "操作者・操作履歴・監査"
