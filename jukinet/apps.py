from django.apps import AppConfig


class JukinetConfig(AppConfig):
    name = "jukinet"
    verbose_name = "共通（参照データ・設定）"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from jukinet.db import use_fast_timestamptz_loader

        connection_created.connect(use_fast_timestamptz_loader, dispatch_uid="jukinet-fast-timestamptz")
