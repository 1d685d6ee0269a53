from django.apps import AppConfig


class PrefserverConfig(AppConfig):
    name = "prefserver"
    verbose_name = "都道府県サーバ（本人確認情報）"
