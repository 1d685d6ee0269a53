from django.http import HttpRequest

from jukinet.reference import prefecture_name


def prefecture(request: HttpRequest) -> dict[str, object]:
    return {"prefecture_name": prefecture_name(), "system_name": "住基ネット 都道府県サーバ"}
