import datetime as dt
import json

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from audit.decorators import role_required
from jukinet import clock
from jukinet.config import DEFAULTS, setting_value
from jukinet.models import SettingValue
from jukinet.services import SettingError, setting_value_set


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the operations contractor: no personal data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@role_required("administrator")
def settings_list(request: HttpRequest) -> HttpResponse:
    """Date-effective settings: the value in force today, scheduled rows, and a form to add one."""
    error = ""
    if request.method == "POST":
        try:
            value = json.loads(request.POST.get("value", ""))
            effective_from = dt.date.fromisoformat(request.POST.get("effective_from", ""))
            setting_value_set(
                operator=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", ""),
                value=value,
                effective_from=effective_from,
            )
            return redirect("settings_list")
        except (ValueError, SettingError) as exc:
            error = str(exc) if isinstance(exc, SettingError) else "値（JSON）または日付の形式が正しくありません。"
    rows = [{"name": name, "current": json.dumps(setting_value(name), ensure_ascii=False)} for name in sorted(DEFAULTS)]
    scheduled = SettingValue.objects.filter(effective_from__gt=clock.today()).order_by("effective_from", "name")
    return render(
        request,
        "jukinet/settings.html",
        {"rows": rows, "scheduled": scheduled, "error": error},
        status=400 if error else 200,
    )
