"""REST endpoints of the audit app: the operator token (domain.md §9.6)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.access import log_audit_allowed, terminal_from_request
from audit.auditing import LogFilters, operation_log_search
from audit.authentication import api_token_issue, operator_login_check, unauthenticated_call_record
from audit.models import Operator


class TokenApi(APIView):
    """POST /api/v1/auth/token with username, password, otp and the terminal credential."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    class TokenInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=200, trim_whitespace=False)
        otp = serializers.CharField(max_length=16)

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=TokenInputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        terminal = terminal_from_request(request._request)
        if terminal is None:
            unauthenticated_call_record(request=request._request)
            return Response({"detail": "登録されていない端末です。"}, status=status.HTTP_401_UNAUTHORIZED)
        result = operator_login_check(**data.validated_data, terminal=terminal)
        if not result.ok or result.operator is None:
            return Response({"detail": result.error}, status=status.HTTP_401_UNAUTHORIZED)
        token, record = api_token_issue(operator=result.operator, terminal=terminal)
        return Response(self.TokenOutputSerializer({"token": token, "expires_at": record.expires_at}).data)


class LogSearchApi(APIView):
    """POST /api/v1/audit/log/search: the auditor's log search over the API (same rules as the page)."""

    class LogSearchInputSerializer(serializers.Serializer):
        operator = serializers.IntegerField(required=False)
        resident_code = serializers.RegexField(r"^\d{11}$", required=False)
        kind = serializers.IntegerField(required=False)
        affair = serializers.CharField(max_length=20, required=False)
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)

    class LogEntryOutputSerializer(serializers.Serializer):
        sequence = serializers.IntegerField()
        recorded_at = serializers.DateTimeField()
        actor = serializers.CharField()
        kind = serializers.IntegerField()
        kind_label = serializers.CharField()
        targets = serializers.JSONField()
        outcome = serializers.CharField()
        result_count = serializers.IntegerField(allow_null=True)

    @extend_schema(request=LogSearchInputSerializer, responses={200: LogEntryOutputSerializer(many=True)})
    def post(self, request: Request) -> Response:
        if not log_audit_allowed(request):
            return Response({"detail": "この操作は許可されていません。"}, status=status.HTTP_403_FORBIDDEN)
        data = self.LogSearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        operator = Operator.objects.filter(pk=values["operator"]).first() if "operator" in values else None
        filters = LogFilters(
            operator=operator,
            resident_code=values.get("resident_code", ""),
            kind=values.get("kind"),
            affair_code=values.get("affair", ""),
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
        )
        auditor: Operator = request.user  # type: ignore[assignment]
        rows = operation_log_search(auditor=auditor, terminal=terminal_from_request(request), filters=filters)
        response = Response({"results": self.LogEntryOutputSerializer(rows, many=True).data})
        response["Cache-Control"] = "no-store"
        return response
