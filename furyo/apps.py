from django.apps import AppConfig


class FuryoConfig(AppConfig):
    name = "furyo"
    verbose_name = "附票都道府県サーバ（附票本人確認情報）"
