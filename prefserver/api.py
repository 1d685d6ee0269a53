"""The municipal CS interface (domain.md §6.7): POST /cs/v1/notices and the results reads.

Plain Django views: the body limits, the 401 and the receipt shape are the contract, and DRF's parsers would
answer oversize and malformed bodies differently.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from jukinet.models import ResultCode
from prefserver.intake.receive import credential_authenticate, notices_receive, receipt_as_json
from prefserver.intake.results import notice_result_get, notice_results_feed
from prefserver.intake_log import log_intake_event
from prefserver.models import IntakeBatch, MunicipalCredential


def _credential(request: HttpRequest) -> MunicipalCredential | None:
    return credential_authenticate(
        authorization=request.headers.get("Authorization"),
        cert_sha256=request.headers.get("X-Client-Cert-SHA256"),
        remote_addr=request.META.get("REMOTE_ADDR"),
    )


@transaction.atomic
def _refuse(request: HttpRequest) -> JsonResponse:
    """401: nothing stored but one log entry (the path only, no header values)."""
    log_intake_event(
        actor="anonymous:cs", kind=IntakeBatch.Kind.REFUSED, outcome="failed", conditions={"path": request.path[:200]}
    )
    return JsonResponse({"detail": "認証情報がないか、正しくありません。"}, status=401)


def _error(status: int, code: str | None = None) -> JsonResponse:
    body: dict[str, str] = {"code": code} if code else {}
    if code:
        body["message"] = ResultCode.objects.filter(code=code).values_list("message", flat=True).first() or ""
    else:
        body["detail"] = "要求が大きすぎます。"
    return JsonResponse(body, status=status)


@csrf_exempt
@require_POST
def notices_post(request: HttpRequest) -> JsonResponse:
    credential = _credential(request)
    if credential is None:
        return _refuse(request)
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413)
    if len(body) > settings.NOTICE_BODY_MAX_BYTES:
        return _error(413)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error(400, "E001")
    if not (isinstance(data, dict) and set(data) == {"notices"} and isinstance(data["notices"], list)):
        return _error(400, "E001")
    if len(data["notices"]) > settings.NOTICE_BATCH_MAX:
        return _error(413)
    code = credential.municipality_id
    receipts = notices_receive(municipality_code=code, elements=data["notices"], actor=f"cs:{code}")
    return JsonResponse({"receipts": [receipt_as_json(r) for r in receipts]})


@require_GET
def result_get(request: HttpRequest, notice_id: str) -> JsonResponse:
    credential = _credential(request)
    if credential is None:
        return _refuse(request)
    result = notice_result_get(municipality_code=credential.municipality_id, notice_id=notice_id)
    if result is None:
        return JsonResponse({"detail": "該当する通知はありません。"}, status=404)
    return JsonResponse(result)


@require_GET
def results_list(request: HttpRequest) -> JsonResponse:
    credential = _credential(request)
    if credential is None:
        return _refuse(request)
    try:
        after = int(request.GET.get("after", "0"))
        limit = int(request.GET.get("limit", "1000"))
    except ValueError:
        return JsonResponse({"detail": "after と limit は整数で指定してください。"}, status=400)
    return JsonResponse(notice_results_feed(municipality_code=credential.municipality_id, after=after, limit=limit))
