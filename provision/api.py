"""The recipient REST API (domain.md §9.6): lookups are POST, answers carry the provision record's id.

Thin views: parse, call one selector, render. Authentication is an OTP-verified operator (the §9.6 bearer
token from the audit app, or an OTP-verified session) plus the registered terminal's credential; a request
without one gets 401 and an operation-log entry (audit's DRF exception handler), never a Q code or a provision
record (§9.2).
"""

from __future__ import annotations

import re
import uuid
from functools import cache
from typing import Any, NoReturn, cast

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from audit.authentication import OperatorTokenAuthentication
from audit.models import OperationKind, Operator
from audit.services import operation_log_record
from jukinet.db import shared_redis
from provision import access
from provision.codes import http_status, message
from provision.models import Channel
from provision.selectors import CONDITION_KEYS, LookupOutcome, national_release, release_lookup

# --- authentication and throttling ------------------------------------------------------------------------


class OtpSessionAuthentication(SessionAuthentication):
    """A logged-in session whose login passed the second factor (django-otp). CSRF stays enforced."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None or not access.otp_verified(result[0]):
            return None
        return result

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="jukinet"'


class OtpSessionScheme(OpenApiAuthenticationExtension):
    target_class = "provision.api.OtpSessionAuthentication"
    name = "otpSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def api_authentication_classes() -> list[type[BaseAuthentication]]:
    """The audit app's §9.6 bearer token (bound to the terminal) first, then an OTP-verified session."""
    return [OperatorTokenAuthentication, OtpSessionAuthentication]


# DRF's sliding window (SimpleRateThrottle: drop times <= now - duration, refuse at num_requests, else add now)
# as one atomic Redis call instead of a GET and a SET (which also let concurrent requests slip through).
_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, oldest[2] or ARGV[1]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return {1, count + 1, ARGV[1]}
"""


@cache
def _window_script() -> Any:
    # Shared by every web process in Redis (a per-process count would multiply the rate by the worker count);
    # called with this process's client (jukinet.db.shared_redis).
    return shared_redis().register_script(_WINDOW)


class OperatorThrottle(UserRateThrottle):
    """API_THROTTLE_RATE per operator (default 10/s); above it 429, logged. Counted in Redis (one round trip)."""

    scope = "operator"
    num_requests: int
    duration: int

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        allowed, count, oldest = _window_script()(
            client=shared_redis(),
            keys=[f"throttle:{self.key}"],
            args=[repr(self.now), self.duration, self.num_requests, f"{self.now!r}:{uuid.uuid4().hex}"],
        )
        self._count, self._oldest = int(count), float(oldest)
        return bool(allowed)

    def wait(self) -> float | None:
        remaining = self.duration - (self.now - self._oldest)
        available = self.num_requests - self._count + 1
        return remaining / float(available) if available > 0 else None


# --- serializers -------------------------------------------------------------------------------------------


def _encodable(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError("文字コードが正しくありません。") from None


def _text(max_length: int) -> serializers.CharField:
    # Names and addresses are never stripped or normalized (domain.md §4.2).
    return serializers.CharField(
        required=False, allow_blank=True, max_length=max_length, trim_whitespace=False, validators=[_encodable]
    )


class StrictSerializer(serializers.Serializer):
    """Unknown keys are a 400 validation error (§9.6), not silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["許可されていない項目です。"] for key in unknown})
        return super().to_internal_value(data)


def _digit_code(length: int) -> serializers.RegexField:
    # ASCII or full-width digits only; anything else is a 400 validation error, never a server error.
    return serializers.RegexField(
        rf"^[0-9０-９]{{{length}}}$", required=False, allow_blank=True,
        error_messages={"invalid": f"{length}桁の数字で入力してください。"},
    )  # fmt: skip


class ConditionsSerializer(StrictSerializer):
    resident_code = _digit_code(11)
    individual_number = _digit_code(12)
    name = _text(100)
    name_kana = _text(100)
    birth_date = serializers.DateField(required=False)
    sex = serializers.ChoiceField(choices=[1, 2], required=False)
    address = _text(200)


class LookupInputSerializer(StrictSerializer):
    affair = serializers.CharField(max_length=20, allow_blank=True, validators=[_encodable])
    conditions = ConditionsSerializer()
    include_individual_number = serializers.BooleanField(required=False, default=False)
    document_reference = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200, validators=[_encodable]
    )


# The common well-formed lookup validated without building DRF's field tree (deep copies of every declared
# field on each request: about a fifth of a lookup's CPU, bench/profile_lookup.py). Only plain values take this
# path (exact str/bool types, no surrounding whitespace, no NUL, encodable, within the lengths, digit codes of
# the right length); anything else, including every invalid input, goes through LookupInputSerializer, so
# errors and coercions stay DRF's. tests/provision/test_lookup_input.py checks both paths give the same data.
_FAST_DIGITS = {"resident_code": re.compile(r"[0-9０-９]{11}"), "individual_number": re.compile(r"[0-9０-９]{12}")}
_FAST_TEXT = {"name": 100, "name_kana": 100, "address": 200}


def _plain_text(value: Any, max_length: int, *, trimmed: bool) -> bool:
    if type(value) is not str or len(value) > max_length or "\x00" in value:
        return False
    if trimmed and value != value.strip():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lookup_input_fast(data: Any) -> dict[str, Any] | None:
    if type(data) is not dict or not data.keys() <= {"affair", "conditions", "include_individual_number",
                                                      "document_reference"}:  # fmt: skip
        return None
    affair, conditions = data.get("affair"), data.get("conditions")
    include = data.get("include_individual_number", False)
    reference = data.get("document_reference", "")
    if not _plain_text(affair, 20, trimmed=True) or not _plain_text(reference, 200, trimmed=True):
        return None
    if type(include) is not bool or type(conditions) is not dict:
        return None
    for key, value in conditions.items():
        digits = _FAST_DIGITS.get(key)
        if digits is not None:
            if type(value) is not str or not (value == "" or digits.fullmatch(value)):
                return None
        elif key in _FAST_TEXT:
            if not _plain_text(value, _FAST_TEXT[key], trimmed=False):
                return None
        else:
            return None  # dates, sex and unknown keys: DRF's fields decide
    return {"affair": affair, "conditions": dict(conditions), "include_individual_number": include,
            "document_reference": reference}  # fmt: skip


def lookup_input(data: Any) -> dict[str, Any]:
    """A lookup request's validated input (LookupInputSerializer's validated_data); 400 when invalid."""
    fast = _lookup_input_fast(data)
    if fast is not None:
        return fast
    serializer = LookupInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class NationalInputSerializer(LookupInputSerializer):
    file = serializers.ChoiceField(choices=["identity", "furyo"])  # type: ignore[assignment]


class RecordSerializer(serializers.Serializer):
    resident_code = serializers.CharField(required=False, help_text="経過措置の間のみ（RESIDENT_CODE_RELEASE）")
    name = serializers.CharField()
    name_kana = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.IntegerField()
    address = serializers.CharField()
    change_reason = serializers.CharField(required=False)
    change_date = serializers.DateField(required=False)
    individual_number = serializers.CharField(required=False, help_text="事務が個人番号の利用を認め、求めた場合のみ")


class LookupOutputSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["released", "not_found", "refused"])
    record = RecordSerializer(required=False)
    code = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    source = serializers.ChoiceField(choices=["local", "national"], required=False)  # type: ignore[assignment]
    provision_record = serializers.IntegerField()


def outcome_response(outcome: LookupOutcome, *, national: bool = False) -> Response:
    body: dict[str, Any] = {"result": outcome.result}
    if outcome.record is not None:
        body["record"] = outcome.record
    key = outcome.code or ("not_found" if outcome.result == "not_found" else "")
    if key:
        body["code"], body["message"] = key, message(key)
    if national:
        body["source"] = outcome.source
    body["provision_record"] = outcome.provision_record_id
    status = http_status(key) if key else 200
    return Response(body, status=status, headers={"Cache-Control": "no-store"})


_RESPONSES = {
    200: OpenApiResponse(LookupOutputSerializer, description="released / not_found / Q06 / Q07"),
    400: OpenApiResponse(description="入力の形式誤り、または Q03・Q04・Q05"),
    401: OpenApiResponse(description="ワンタイムパスワード認証済みのログインがない"),
    403: OpenApiResponse(LookupOutputSerializer, description="Q01・Q02・Q08・Q09・Q10・Q11"),
    429: OpenApiResponse(description="操作者ごとの呼出し回数の上限超過"),
}
_EXAMPLE = OpenApiExample(
    "住民票コードで照会",
    value={"affair": "S6-EDU-01", "conditions": {"resident_code": "12345678903"}, "document_reference": "教委第12号"},
    request_only=True,
)


# --- views -------------------------------------------------------------------------------------------------

LOOKUP_PARSERS = [JSONParser]
LOOKUP_RENDERERS = [JSONRenderer]


class JSONOnlyNegotiation(BaseContentNegotiation):
    """The lookups speak JSON only: the parser and renderer are chosen without parsing the Accept header
    (DRF's documented pattern for APIs with a single representation)."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class ProvisionAPIView(APIView):
    authentication_classes = api_authentication_classes()
    permission_classes = [IsAuthenticated]
    throttle_classes = [OperatorThrottle]
    # JSON in and out only: personal data is never rendered as DRF's browsable HTML page, and negotiating
    # among fewer parsers and renderers costs every lookup less (the OpenAPI docs are served separately).
    parser_classes = LOOKUP_PARSERS
    renderer_classes = LOOKUP_RENDERERS
    content_negotiation_class = JSONOnlyNegotiation

    def throttled(self, request: Request, wait: float) -> NoReturn:
        with transaction.atomic():
            operation_log_record(
                actor=cast(Operator, request.user),
                kind=OperationKind.API_THROTTLED,
                terminal=access.terminal_for_request(cast(HttpRequest, request)),
                outcome="failed",
                conditions={"path": request.path},
            )
        super().throttled(request, wait)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # personal data never stays on terminals (§10.2)
        return response

    def lookup(self, request: Request, file: str) -> Response:
        values = lookup_input(request.data)
        outcome = release_lookup(
            operator=cast(Operator, request.user),
            terminal=access.terminal_for_request(cast(HttpRequest, request)),
            file=file,
            affair_code=values["affair"],
            conditions={k: values["conditions"].get(k) for k in CONDITION_KEYS},
            include_individual_number=values["include_individual_number"],
            document_reference=values["document_reference"],
            channel=Channel.API,
        )
        return outcome_response(outcome)


class IdentityLookupView(ProvisionAPIView):
    @extend_schema(
        operation_id="identity_lookup",
        summary="本人確認情報の照会（提供・移転）",
        request=LookupInputSerializer,
        responses=_RESPONSES,
        examples=[_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        return self.lookup(request, "identity")


class FuryoLookupView(ProvisionAPIView):
    @extend_schema(
        operation_id="furyo_lookup",
        summary="附票本人確認情報の照会（個人番号による検索は不可）",
        request=LookupInputSerializer,
        responses=_RESPONSES,
        examples=[_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        return self.lookup(request, "furyo")


class NationalLookupView(ProvisionAPIView):
    @extend_schema(
        operation_id="national_lookup",
        summary="県外の者の照会（別表第3、全国サーバ）",
        request=NationalInputSerializer,
        responses={**_RESPONSES, 503: OpenApiResponse(LookupOutputSerializer, description="全国サーバに接続できない")},
    )
    def post(self, request: Request) -> Response:
        data = NationalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        outcome = national_release(
            operator=cast(Operator, request.user),
            terminal=access.terminal_for_request(cast(HttpRequest, request)),
            file=values["file"],
            affair_code=values["affair"],
            conditions={k: values["conditions"].get(k) for k in CONDITION_KEYS},
            include_individual_number=values["include_individual_number"],
            document_reference=values["document_reference"],
            channel=Channel.API,
        )
        return outcome_response(outcome, national=True)
