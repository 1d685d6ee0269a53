from django.apps import AppConfig


class PrefserverConfig(AppConfig):
    name = "prefserver"
    verbose_name = "都道府県サーバ（本人確認情報）"

    def ready(self) -> None:
        from prefserver.intake import copy  # noqa: F401 (registers the field__any_of lookup)
