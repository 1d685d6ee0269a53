"""Staff screens of intake (受信状況): per-municipality counts, push backlog, notice results.

No personal data (ids, codes and statuses only, prefserver.intake_status), so an OTP-verified login with a
role of the municipal-affairs section is enough (audit's `role_required`); contractors and strangers get 403.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from audit.decorators import role_required
from jukinet.config import setting_value
from jukinet.models import Municipality
from prefserver import intake_status
from prefserver.models import Notice

STAFF = role_required("clerk", "administrator", "security_officer")


@STAFF
def intake_overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "prefserver/intake_overview.html",
        {
            "rows": intake_status.intake_by_municipality(),
            "backlog": intake_status.push_backlog(),
            "alerts": intake_status.open_alerts(),
            "incidents": intake_status.open_incidents(),
            "municipal_wording": setting_value("MUNICIPAL_WORDING"),
        },
    )


@STAFF
def intake_municipality(request: HttpRequest, code: str) -> HttpResponse:
    try:
        municipality = intake_status.municipality_get(code)
    except Municipality.DoesNotExist:
        raise Http404 from None
    status = request.GET.get("status", "")
    if status not in Notice.Status.values:
        status = ""
    notices = intake_status.notices_of_municipality(code, status=status)
    return render(
        request,
        "prefserver/intake_municipality.html",
        {"municipality": municipality, "notices": notices, "status": status, "statuses": Notice.Status.choices,
         "reasons": intake_status.reason_labels()},
    )  # fmt: skip


@STAFF
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        detail = intake_status.notice_detail(pk)
    except Notice.DoesNotExist:
        raise Http404 from None
    return render(request, "prefserver/notice_detail.html", detail)
