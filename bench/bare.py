"""Baseline for bench/lookup.py: the same input parsing and the same row, without auth, checks or logging."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jukinet.partitions import SENTINEL_YEAR
from prefserver.models import IdentityVersion
from provision.api import LookupInputSerializer
from provision.selectors import identity_items


class BareLookupView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        data = LookupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["conditions"].get("resident_code")
        version = IdentityVersion.objects.filter(
            person__codes__resident_code=code,
            resident_code=code,
            is_current=True,
            deleted=False,
            removed=False,
            expiry_year=SENTINEL_YEAR,
        ).first()
        if version is None:
            return Response({"result": "not_found"})
        return Response({"result": "released", "record": identity_items(version, with_number=False)})
