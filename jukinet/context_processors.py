from django.http import HttpRequest

from jukinet.models import Prefecture


def prefecture(request: HttpRequest) -> dict[str, object]:
    from django.conf import settings

    name = Prefecture.objects.filter(code=settings.PREFECTURE_CODE).values_list("name", flat=True).first()
    return {"prefecture_name": name or "", "system_name": "住基ネット 都道府県サーバ"}
