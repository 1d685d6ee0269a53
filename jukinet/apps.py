from django.apps import AppConfig


class JukinetConfig(AppConfig):
    name = "jukinet"
    verbose_name = "共通（参照データ・設定）"
