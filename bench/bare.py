"""Baseline for bench/lookup.py: the same stack and the same row, without auth, checks, records or logging.

Includes what every API request pays: Django's middleware stack (jukinet settings), DRF's dispatch, content
negotiation and JSON parsing/rendering, the lookup's input validation (provision.api.lookup_input), and the
release's row fetch itself (`provision.selectors.release_match`: the same single prepared statement as the real
path) with the same items.
Leaves out: token + terminal authentication, the per-operator throttle, usage approval and affair checks, the
transaction, the provision record and the operation-log entry.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from provision.api import LOOKUP_PARSERS, LOOKUP_RENDERERS, JSONOnlyNegotiation, lookup_input
from provision.selectors import identity_items, release_match


class BareLookupView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = LOOKUP_PARSERS  # the same negotiation as the real lookup views
    renderer_classes = LOOKUP_RENDERERS
    content_negotiation_class = JSONOnlyNegotiation

    def post(self, request: Request) -> Response:
        values = lookup_input(request.data)
        code = values["conditions"].get("resident_code")
        found, resident_code_release = release_match("identity", {"resident_code": code}, values["affair"])
        if len(found) != 1:
            return Response({"result": "not_found"})
        record = identity_items(found[0], with_number=False, resident_code=resident_code_release)
        return Response({"result": "released", "record": record})
